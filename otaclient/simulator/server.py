"""Serving the simulator over real HTTP with uvicorn.

* :func:`running_server` - async context manager for tests. uvicorn runs in a **thread with
  its own asyncio loop**, so it works whatever the caller's event loop is (asyncio or trio)
  and a test's blocking client code cannot stall the server. Yields the base URL.
* :func:`serve` - run in the *current* asyncio loop until cancelled (uvicorn is
  asyncio-only).
* :func:`run` - blocking, for the command line: serves until Ctrl-C, prints nothing itself
  and calls ``on_start(base_url)`` once the socket listens.

The listening socket is bound before uvicorn starts, so ``port=0`` works and the actual
port is known at once.

Every request must arrive whole (request line, headers and body) within ``request_timeout``
seconds (default 10) of its first byte, and a new connection must send one that soon: a
connection that sends nothing, half a request line, or trickles bytes to keep itself alive
(slowloris) is closed. uvicorn by itself only times out idle kept-alive connections.

``http="h11"`` (the default) parses requests with uvicorn's pure-Python h11 protocol;
``http="httptools"`` with its C parser, about a third less server CPU per request (the
``httptools`` package; ``loop="uvloop"`` runs :func:`run` and :func:`running_server` on
uvloop, which needs ``uvloop``; both are in ``otaclient[bench]``). The answers are the same.

uvicorn is imported only when one of these functions serves (see
:mod:`otaclient.simulator._uvicorn`): the in-process transport never needs it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

from .app import Simulator
from .cloud import CloudStandIn
from .config import SimulatorConfig

if TYPE_CHECKING:
    import uvicorn

    from ._uvicorn import Loop, Parser

__all__ = ["run", "running_server", "serve"]

OnStart = Callable[[str], object]
App = Simulator | CloudStandIn
"""What these helpers serve: the simulator, or the cloud stand-ins (STS, metadata, URI)."""


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on sockets whose proto says TCP, and
    # without it every response (headers, then body) waits 40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    # Bound to every interface: this machine reaches it on loopback, the one address a
    # client accepts over cleartext http without being told to.
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


# Seconds a client has to send a whole request, from its first byte (or from connecting).
_REQUEST_TIMEOUT = 10.0


def _check_options(request_timeout: float, http: str, loop: str) -> None:
    # Before the socket is bound, so that a bad value leaks nothing.
    if isinstance(request_timeout, bool) or not (
        isinstance(request_timeout, int | float) and 0 < request_timeout < float("inf")
    ):
        raise ValueError(f"request_timeout must be a positive number, got {request_timeout!r}")
    if http not in ("h11", "httptools"):
        raise ValueError(f"http must be 'h11' or 'httptools', got {http!r}")
    if loop not in ("asyncio", "uvloop"):
        raise ValueError(f"loop must be 'asyncio' or 'uvloop', got {loop!r}")


def _prepare(
    app: App,
    host: str,
    port: int,
    log_level: str,
    request_timeout: float,
    on_start: OnStart | None,
    http: Parser = "h11",
    loop: Loop = "asyncio",
) -> tuple[socket.socket, str, uvicorn.Server]:
    """The listening socket, its base URL and the server to run on it: every way to serve
    starts here."""
    from ._uvicorn import make_server  # uvicorn only for the functions that serve

    _check_options(request_timeout, http, loop)
    sock = _bind(host, port)
    url = _base_url(sock)
    notify = None if on_start is None else (lambda: on_start(url))
    try:
        server = make_server(app, log_level, notify, request_timeout, http, loop)
    except BaseException:
        sock.close()
        raise
    return sock, url, server


def _as_app(target: App | SimulatorConfig | None) -> App:
    if isinstance(target, Simulator | CloudStandIn):
        return target
    return Simulator(target)


async def serve(
    app: App,
    host: str = "127.0.0.1",
    port: int = 8686,
    *,
    on_start: OnStart | None = None,
    log_level: str = "warning",
    request_timeout: float = _REQUEST_TIMEOUT,
    http: Parser = "h11",
) -> None:
    """Serve ``app`` in the running asyncio loop until cancelled or told to exit.

    ``on_start`` receives the base URL (with the real port when ``port=0``).
    ``request_timeout``: seconds a client has to send each request whole; ``http``: the
    request parser (see above).
    """
    sock, _, server = _prepare(app, host, port, log_level, request_timeout, on_start, http)
    try:
        await server.serve(sockets=[sock])
    finally:
        sock.close()


def run(
    host: str = "127.0.0.1",
    port: int = 8686,
    config: SimulatorConfig | App | None = None,
    *,
    on_start: OnStart | None = None,
    log_level: str = "warning",
    request_timeout: float = _REQUEST_TIMEOUT,
    http: Parser = "h11",
    loop: Loop = "asyncio",
) -> None:
    """Serve a simulator (built from ``config``, or the given app) until interrupted.

    Blocks; returns normally after Ctrl-C / SIGTERM once uvicorn has shut down. Prints
    nothing itself: ``on_start(base_url)`` is called once the socket listens, so the
    command line can print the endpoint and credentials. ``request_timeout``: seconds a
    client has to send each request whole; ``http`` and ``loop``: the request parser and
    the event loop (see above).
    """
    app = _as_app(config)
    sock, _, server = _prepare(app, host, port, log_level, request_timeout, on_start, http, loop)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()


class _ThreadedServer:
    def __init__(
        self,
        app: App,
        host: str,
        port: int,
        log_level: str,
        request_timeout: float,
        http: Parser,
        loop: Loop,
    ) -> None:
        self.sock, self.base_url, self.server = _prepare(
            app, host, port, log_level, request_timeout, None, http, loop
        )
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name="otaclient-simulator", daemon=True)

    def _main(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        except BaseException as exc:  # reported to the starting thread
            self.error = exc

    def start(self, timeout: float = 10.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f"simulator server failed to start: {self.error!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("simulator server did not start in time")
            time.sleep(0.005)

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()


@contextlib.asynccontextmanager
async def running_server(
    app: App | SimulatorConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    log_level: str = "warning",
    request_timeout: float = _REQUEST_TIMEOUT,
    http: Parser = "h11",
    loop: Loop = "asyncio",
) -> AsyncIterator[str]:
    """Run a simulator over HTTP in a background thread; yield its base URL.

    >>> async def demo() -> None:                      # doctest: +SKIP
    ...     async with running_server(Simulator(), port=0) as base_url:
    ...         print(base_url)                        # http://127.0.0.1:54321

    Works under asyncio and trio: uvicorn gets its own thread and asyncio loop.
    ``request_timeout``: seconds a client has to send each request whole; ``http`` and
    ``loop``: the request parser and the server thread's event loop (see above).
    """
    runner = _ThreadedServer(_as_app(app), host, port, log_level, request_timeout, http, loop)
    await anyio.to_thread.run_sync(runner.start)
    try:
        yield runner.base_url
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(runner.stop)
