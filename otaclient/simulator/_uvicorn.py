"""The uvicorn side of :mod:`otaclient.simulator.server`: its server and its HTTP protocols.

Only this module imports uvicorn, and only :mod:`~otaclient.simulator.server` imports this
module, from inside the functions that serve over HTTP. Importing the simulator for its
in-process transport therefore never loads uvicorn.

Both protocols enforce the request deadline described in :mod:`~otaclient.simulator.server`
(one timer, :class:`_RequestDeadline`): uvicorn's pure-Python h11 one, the default, and
its httptools one (the C parser llhttp), which costs the server about a third less CPU per
request and which the many-accounts benchmark uses, on uvloop.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import Literal

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .app import Simulator
from .cloud import CloudStandIn
from .errors import SimulatedDrop

__all__ = ["HTTP_PARSERS", "LOOPS", "Loop", "Parser", "make_server"]

Parser = Literal["h11", "httptools"]
Loop = Literal["asyncio", "uvloop"]
#: The HTTP parsers and event loops the simulator can serve with.
HTTP_PARSERS: tuple[Parser, ...] = ("h11", "httptools")
LOOPS: tuple[Loop, ...] = ("asyncio", "uvloop")

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


class _RequestDeadline:
    """A timer per connection: armed when a request starts (or the connection opens),
    disarmed once the request has arrived whole; when it fires, the connection is closed."""

    request_timeout: float
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    _deadline: asyncio.TimerHandle | None = None

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


class _DeadlineH11Protocol(_RequestDeadline, H11Protocol):
    """uvicorn's h11 protocol, with a deadline for each request to arrive whole."""

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


def _httptools_protocol() -> type[asyncio.Protocol]:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError as exc:
        raise ImportError(
            "serving with http='httptools' needs the httptools package "
            "(pip install httptools, or otaclient[bench])"
        ) from exc

    class _DeadlineHttpToolsProtocol(_RequestDeadline, HttpToolsProtocol):
        """uvicorn's httptools protocol, with a deadline for each request to arrive whole."""

        _receiving = False  # between the parser's first byte of a request and its end

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._deadline is None and not self._receiving:
                self._arm()  # the first byte of the next request on a kept-alive connection
            super().data_received(data)
            if not self._receiving:
                self._disarm()  # the request is complete (or was refused)

        def on_message_begin(self) -> None:
            self._receiving = True
            super().on_message_begin()

        def on_message_complete(self) -> None:
            self._receiving = False
            super().on_message_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return _DeadlineHttpToolsProtocol


def _protocol(request_timeout: float, http: Parser) -> type[asyncio.Protocol]:
    base = _DeadlineH11Protocol if http == "h11" else _httptools_protocol()
    return type(f"Deadline{base.__name__}", (base,), {"request_timeout": request_timeout})


def make_server(
    app: Simulator | CloudStandIn,
    log_level: str,
    on_start: Callable[[], object] | None,
    request_timeout: float,
    http: Parser = "h11",
    loop: Loop = "asyncio",
) -> uvicorn.Server:
    """A uvicorn server of ``app`` whose requests must arrive within ``request_timeout``,
    parsed by ``http`` on the ``loop`` event loop; ``on_start()`` is called once it listens."""
    if loop == "uvloop":
        try:
            import uvloop  # noqa: F401
        except ImportError as exc:
            raise ImportError(
                "serving with loop='uvloop' needs the uvloop package "
                "(pip install uvloop, or otaclient[bench])"
            ) from exc
    logging.getLogger("uvicorn.error").addFilter(_FILTER)
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        http=_protocol(request_timeout, http),
        # Named, not "auto": installing uvloop must not change what the simulator runs on.
        loop=loop,
        lifespan="off",
        # The simulator answers from the request alone; nothing rewrites its client address.
        proxy_headers=False,
        timeout_graceful_shutdown=2,
    )
    return _Server(config, on_start)
