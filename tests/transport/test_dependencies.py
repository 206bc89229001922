"""A plain ``pip install`` gets everything the transport needs, and requests import nothing.

httpcore asks ``import sniffio`` every time it builds a lock or an event (several per
request); without sniffio installed, each ask is a failed import that searches every path
entry again. sniffio is a runtime dependency, so that import is a dictionary lookup.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from importlib.metadata import requires
from types import ModuleType

import httpx
import pytest
from packaging.requirements import Requirement
from support.loopback import LoopbackServer, firmware_page, ok

from otaclient import OTAClient
from otaclient._transport import DefaultTransport

from .conftest import LIMITS


def _runtime_requirements() -> set[str]:
    # Requirements without a marker: the ones every install gets, whatever its extras.
    lines = (line for line in requires("otaclient") or [] if ";" not in line)
    return {re.split(r"[\s\[<>=!~]", line, maxsplit=1)[0].lower() for line in lines}


@pytest.mark.parametrize("name", ["aiohttp", "httpcore2", "httpx", "sniffio", "yarl"])
def test_the_transport_needs_no_extra(name: str) -> None:
    assert name in _runtime_requirements()


def test_orjson_comes_with_a_plain_install_on_cpython() -> None:
    # The one requirement with a marker: where orjson has no wheel, json takes over.
    [orjson] = [r for r in map(Requirement, requires("otaclient") or []) if r.name == "orjson"]
    assert orjson.extras == set()
    assert orjson.marker is not None
    assert orjson.marker.evaluate({"platform_python_implementation": "CPython", "extra": ""})
    assert not orjson.marker.evaluate({"platform_python_implementation": "PyPy", "extra": ""})


_WITHOUT_ORJSON = """
import sys
sys.modules["orjson"] = None  # what an install without orjson looks like to `import`
from otaclient import _parse
from otaclient.operations import OPERATIONS
body = _parse.load_body(sys.stdin.buffer.read())
page = OPERATIONS["ListOTAFirmware"].result.decode(body, "r", None)
print(_parse._json_loads.__module__, [f.firmware_id for f in page.items])
"""


def test_without_orjson_bodies_are_decoded_with_the_standard_library() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_ORJSON],
        input=firmware_page(2),
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.decode().split() == ["json", "['fw-0000',", "'fw-0001']"]


class _ImportRecorder(importlib.abc.MetaPathFinder):
    """Sees every import that misses ``sys.modules``: the ones that search the path."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        self.asked.append(fullname)
        return None


@pytest.fixture
def imports() -> Iterator[_ImportRecorder]:
    recorder = _ImportRecorder()
    sys.meta_path.insert(0, recorder)
    try:
        yield recorder
    finally:
        sys.meta_path.remove(recorder)


@pytest.mark.anyio
async def test_requests_search_for_no_module(anyio_backend: str, imports: _ImportRecorder) -> None:
    async with (
        LoopbackServer() as server,
        httpx.AsyncClient(transport=DefaultTransport(limits=LIMITS)) as client,
    ):
        await client.get(server.url)  # the first request may import what it needs
        imports.asked.clear()
        for _ in range(20):
            await client.get(server.url)
    assert imports.asked == []


@pytest.mark.anyio
async def test_calls_of_a_client_search_for_no_module(
    anyio_backend: str, imports: _ImportRecorder
) -> None:
    async with (
        LoopbackServer(ok(firmware_page(3))) as server,
        OTAClient(
            endpoint=server.url, access_key_id="id", access_key_secret="s", qps=None
        ) as client,
    ):
        await client.list_ota_firmware(page_size=3)  # the first call may import what it needs
        imports.asked.clear()
        for _ in range(20):
            await client.list_ota_firmware(page_size=3)
    assert imports.asked == []
