"""Fixtures of the scale tests: redis-servers on free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """One redis-server for the session (skipped when none is installed)."""
    server = RedisServer()
    yield server.url
    server.stop()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server for this test alone, so that it can be paused (SIGSTOP)."""
    server = RedisServer()
    yield server
    server.stop()
