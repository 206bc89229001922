"""A plain ``pip install`` gets everything the transport needs, and requests import nothing.

httpcore asks ``import sniffio`` every time it builds a lock or an event (several per
request); without sniffio installed, each ask is a failed import that searches every path
entry again. sniffio is a runtime dependency, so that import is a dictionary lookup.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import re
import sys
from collections.abc import Iterator, Sequence
from importlib.metadata import requires
from types import ModuleType

import httpx
import pytest

from otaclient._transport import DefaultTransport

from ._loopback import LoopbackServer
from .conftest import LIMITS


def _runtime_requirements() -> set[str]:
    # Requirements without a marker: the ones every install gets, whatever its extras.
    lines = (line for line in requires("otaclient") or [] if ";" not in line)
    return {re.split(r"[\s\[<>=!~]", line, maxsplit=1)[0].lower() for line in lines}


@pytest.mark.parametrize("name", ["aiohttp", "httpcore2", "httpx", "sniffio", "yarl"])
def test_the_transport_needs_no_extra(name: str) -> None:
    assert name in _runtime_requirements()


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
