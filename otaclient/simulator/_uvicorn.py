"""The uvicorn side of :mod:`otaclient.simulator.server`: its server and its h11 protocol.

Only this module imports uvicorn, and only :mod:`~otaclient.simulator.server` imports this
module, from inside the functions that serve over HTTP. Importing the simulator for its
in-process transport therefore never loads uvicorn.

The protocol enforces the request deadline described in :mod:`~otaclient.simulator.server`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .app import Simulator
from .cloud import CloudStandIn
from .errors import SimulatedDrop

__all__ = ["make_server"]

# The client's states in which a request is still on its way to us.
_RECEIVING = (h11.IDLE, h11.SEND_BODY)


class _HideSimulatedDrops(logging.Filter):
    """uvicorn logs an app exception with a traceback; a simulated drop is not news."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, SimulatedDrop)


_FILTER = _HideSimulatedDrops()


class _Server(uvicorn.Server):
    """uvicorn.Server that reports once it listens."""

    def __init__(self, config: uvicorn.Config, on_start: Callable[[], object] | None) -> None:
        super().__init__(config)
        self._on_start = on_start

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._on_start is not None:
            self._on_start()


class _DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with a deadline for each request to arrive whole."""

    request_timeout: float
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self.conn.their_state is h11.IDLE:
            self._arm()  # the first byte of the next request on a kept-alive connection
        super().data_received(data)
        if self.conn.their_state not in _RECEIVING:
            self._disarm()  # the request is complete (or the connection is done)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self.request_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def _protocol(request_timeout: float) -> type[asyncio.Protocol]:
    return type(
        "DeadlineH11Protocol", (_DeadlineH11Protocol,), {"request_timeout": request_timeout}
    )


def make_server(
    app: Simulator | CloudStandIn,
    log_level: str,
    on_start: Callable[[], object] | None,
    request_timeout: float,
) -> uvicorn.Server:
    """A uvicorn server of ``app`` whose requests must arrive within ``request_timeout``;
    ``on_start()`` is called once it listens."""
    logging.getLogger("uvicorn.error").addFilter(_FILTER)
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        http=_protocol(request_timeout),
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    return _Server(config, on_start)
