"""Headless Chromium (Debian's ``chromium``) that renders a local page and nothing else.

Network: the page is a ``file://`` URL and the flags switch off every background service
(sync, updates, metrics, safe browsing, QUIC); every host name resolves to nothing; and
where the machine allows it (root on Linux) Chromium runs in a network namespace of its
own whose only interface, loopback, is down, so it cannot reach anything at all.

Absent Chromium, a test is skipped with the reason, except under ``CI=true``, where CI
installs it (``.ci/run``) and its absence fails the test.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

_TIMEOUT = 90.0
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    # Exact colours in the screenshot: the test looks for the page's own fills.
    "--force-color-profile=srgb",
)


def chromium() -> str:
    """The path of Chromium; skips the test where it is absent (fails it under CI)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = "Chromium is not installed (apt-get install -y chromium): the page is not rendered"
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


@functools.cache
def _isolation() -> tuple[str, ...]:
    """``unshare --net`` where a network namespace can be made, else nothing."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    try:
        done = subprocess.run([unshare, "--net", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return (unshare, "--net") if done.returncode == 0 else ()


def run_chromium(page: Path, *flags: str) -> str:
    """Run Chromium on ``page`` with ``flags``; returns its stdout. Bounded in time."""
    with tempfile.TemporaryDirectory(prefix="otaclient-chromium-") as profile:
        command = [
            *_isolation(),
            chromium(),
            *_FLAGS,
            f"--user-data-dir={profile}",
            *flags,
            page.resolve().as_uri(),
        ]
        with subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its helpers form one group, ended together below
        ) as process:
            try:
                out, err = process.communicate(timeout=_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
                pytest.fail(f"Chromium did not finish within {_TIMEOUT:.0f} s")
            finally:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
        assert process.returncode == 0, err[-2000:]
        return out


def screenshot(page: Path, png: Path, *, width: int, height: int) -> Path:
    """``page`` rendered at ``width`` x ``height`` CSS pixels to ``png``."""
    run_chromium(page, f"--window-size={width},{height}", f"--screenshot={png}")
    assert png.is_file(), "Chromium wrote no screenshot"
    return png


def dom(page: Path) -> str:
    """The page's DOM as Chromium parsed it, serialised."""
    return run_chromium(page, "--dump-dom")


def print_to_pdf(page: Path, pdf: Path) -> Path:
    """``page`` printed (print stylesheet, A4 by default) to ``pdf``."""
    run_chromium(page, "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    assert pdf.is_file(), "Chromium wrote no PDF"
    return pdf
