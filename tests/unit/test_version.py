"""The package version is written once (otaclient/_version.py) and read everywhere else."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import pytest

import otaclient

from ._helpers import Recorder, make_client

pytestmark = pytest.mark.anyio

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_pyproject_takes_the_version_from_the_package() -> None:
    project = tomllib.loads(PYPROJECT.read_text())
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["hatch"]["version"]["path"] == "otaclient/_version.py"


def test_the_installed_distribution_has_the_packages_version() -> None:
    assert importlib.metadata.version("otaclient") == otaclient.__version__


async def test_every_request_names_the_packages_version() -> None:
    server = Recorder()
    async with make_client(server) as client:
        await client.list_ota_module_by_product(product_key="p1")
    assert server.requests[0].headers["User-Agent"] == f"otaclient/{otaclient.__version__}"
