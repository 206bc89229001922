"""The generated typed methods and README table are what the operation table makes them.

``tools/generate.py`` renders otaclient/_methods.py and the README's "Every action" table
from otaclient/_operations.py; ``--check`` is how CI keeps them in line (it replaces the
test that compared hand-written stubs with the table). The generator runs in a
subprocess: it loads the table without the package's ``__init__``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _generate(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(root / "tools" / "generate.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The generator, the package and the README, copied: a tree the test may make stale."""
    for name in ("tools", "otaclient"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    return tmp_path


def test_the_committed_generated_files_are_current() -> None:
    result = _generate(ROOT, "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_shows_a_diff_and_fails_when_the_methods_are_stale(copy: Path) -> None:
    methods = copy / "otaclient" / "_methods.py"
    stale = methods.read_text().replace("-> Page[Firmware]:", "-> Page[Any]:", 1)
    methods.write_text(stale)
    result = _generate(copy, "--check")
    assert result.returncode == 1
    assert "-    ) -> Page[Any]:" in result.stdout
    assert "+    ) -> Page[Firmware]:" in result.stdout
    assert "run `python tools/generate.py`" in result.stderr
    assert methods.read_text() == stale, "--check wrote the file"


def test_check_fails_when_the_readme_table_is_stale(copy: Path) -> None:
    readme = copy / "README.md"
    readme.write_text(readme.read_text().replace("| `DeleteOTAModule` |", "| `DropOTAModule` |"))
    result = _generate(copy, "--check")
    assert result.returncode == 1
    assert "+| `DeleteOTAModule` |" in result.stdout


def test_generating_brings_stale_files_back_to_what_the_table_says(copy: Path) -> None:
    methods = copy / "otaclient" / "_methods.py"
    methods.unlink()  # even a missing module: the package imports it, the generator must not
    readme = copy / "README.md"
    readme.write_text(readme.read_text().replace("| `DeleteOTAModule` |", "| `DropOTAModule` |"))
    assert _generate(copy).returncode == 0
    assert methods.read_text() == (ROOT / "otaclient" / "_methods.py").read_text()
    assert readme.read_text() == (ROOT / "README.md").read_text()
    assert _generate(copy, "--check").returncode == 0


def test_the_generator_reads_the_table_beside_it(copy: Path) -> None:
    table = copy / "otaclient" / "_operations.py"
    old = 'doc="Delete a custom module that has no packages."'
    table.write_text(table.read_text().replace(old, 'doc="Remove a module nobody uses."'))
    assert _generate(copy).returncode == 0
    methods = (copy / "otaclient" / "_methods.py").read_text()
    assert '"""Remove a module nobody uses (DeleteOTAModule).' in methods
    assert "| Remove a module nobody uses. |" in (copy / "README.md").read_text()
