"""Where a command's output goes: checked before the first request, written whole or not at all.

``check_output`` runs before a command sends anything, so that an ``--output`` that cannot
be written (a missing folder, a directory, no permission, a full disk, ``/dev/full``) or a
stdout that refuses bytes costs nothing: one line, exit status 2, no request made. It
writes nothing: a folder is probed with a temporary file removed at once, a device or
stdout with a write of zero bytes (which ``/dev/full`` refuses and every other target
accepts). A FIFO is not opened: opening and closing it would end its reader's input.

``open_output`` writes a regular file through a temporary file in the same folder, renamed
over the target once everything is written: a command that fails half-way leaves the
previous file as it was. A write that fails anyway (the disk fills up as it writes) ends
in one line and exit status 1. A reader that closed stdout is left to ``GuardedGroup``
(quiet, 141).
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .failures import CliFailure

__all__ = ["EXIT_OUTPUT_REFUSED", "check_output", "open_output"]

EXIT_OUTPUT_REFUSED = 2
"""Exit status when the output cannot be written, found before any request was sent."""


def check_output(path: Path | None) -> None:
    """Refuse, before any request, an output that cannot be written (``None``: stdout)."""
    if path is None:
        _probe_stdout()
        return
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise _refused(path, exc) from None
    if mode is not None and stat.S_ISDIR(mode):
        raise _refused(path, IsADirectoryError(21, "it is a directory"))
    if mode is not None and stat.S_ISFIFO(mode):
        if not os.access(path, os.W_OK):
            raise _refused(path, PermissionError(13, "Permission denied"))
        return
    if mode is not None and not stat.S_ISREG(mode):
        _probe_device(path)
        return
    if mode is not None and not os.access(path, os.W_OK):
        raise _refused(path, PermissionError(13, "Permission denied"))
    _probe_folder(path)


def _probe_stdout() -> None:
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (a test harness): nothing to probe
    try:
        os.write(descriptor, b"")
    except BrokenPipeError:
        raise  # the reader is gone already: GuardedGroup ends quietly
    except OSError as exc:
        raise CliFailure(
            f"cannot write the output to stdout: {_reason(exc)}; nothing was sent",
            exit_code=EXIT_OUTPUT_REFUSED,
        ) from None


def _probe_device(path: Path) -> None:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise _refused(path, exc) from None
    try:
        os.write(descriptor, b"")
    except OSError as exc:
        raise _refused(path, exc) from None
    finally:
        os.close(descriptor)


def _probe_folder(path: Path) -> None:
    folder = path.parent
    if not folder.is_dir():
        missing = FileNotFoundError(2, f"the folder {folder} does not exist")
        raise _refused(path, missing)
    try:
        descriptor, name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".probe")
    except OSError as exc:
        raise _refused(path, exc) from None
    try:
        if os.fstatvfs(descriptor).f_bavail == 0:
            raise _refused(path, OSError(28, "No space left on device"))
    finally:
        os.close(descriptor)
        os.unlink(name)


def _reason(exc: OSError) -> str:
    return str(exc.strerror or exc)


def _refused(path: Path, exc: OSError) -> CliFailure:
    return CliFailure(
        f"cannot write the output to {path}: {_reason(exc)}; nothing was sent",
        exit_code=EXIT_OUTPUT_REFUSED,
    )


def _failed(name: str, exc: OSError) -> CliFailure:
    return CliFailure(f"writing the output to {name} failed: {_reason(exc)}")


@contextlib.contextmanager
def open_output(path: Path | None) -> Iterator[IO[str]]:
    """``path`` opened for writing (UTF-8, CSV-safe newlines), or stdout.

    A regular file appears only once the block has finished without an error; a write
    error becomes one ``CliFailure`` line (exit status 1) naming the output.
    """
    if path is None:
        try:
            yield sys.stdout
            sys.stdout.flush()  # a full disk shows here, for output that fits the buffer
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _failed("stdout", exc) from None
        return
    try:
        regular = not path.exists() or path.is_file()
        if regular:
            with _replacing(path) as handle:
                yield handle
        else:
            with path.open("w", encoding="utf-8", newline="") as handle:
                yield handle
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise _failed(str(path), exc) from None


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[IO[str]]:
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        # The permissions the file would have got from `>`: mkstemp's are 0600.
        os.fchmod(descriptor, _mode_for(path))
        with open(descriptor, "w", encoding="utf-8", newline="") as handle:
            yield handle
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
