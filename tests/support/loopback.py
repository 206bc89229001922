"""A loopback HTTP/1.1 server that answers as a test tells it to, on either backend.

It runs in the test's own event loop (anyio), so it serves asyncio and trio tests alike, over
plain TCP or TLS. It counts what a transport cannot hide from it: TCP connections accepted,
connections still open, and every request head and body received, in order.

An ``Answer`` replies to one request; returning ``False`` closes the connection. The ready
ones cover the ways a server can fail a client: hang up before answering or in the middle
of a body, reset the connection, stall, or send a malformed status line. Beside the server:
a port where nothing listens (connection refused), a listener whose accept queue is full
(the connect times out), and a clock to stand in for ``time.monotonic`` in the pools.
"""

from __future__ import annotations

import json
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from types import TracebackType
from typing import Self

import anyio
import anyio.abc
from anyio.streams.tls import TLSListener

Answer = Callable[[anyio.abc.ByteStream, bytes], Awaitable[bool]]
"""``await answer(stream, head) -> keep the connection open``."""

_END = b"\r\n\r\n"


def head(status: str = "200 OK", length: int | None = 0, *extra: str) -> bytes:
    """A response head: status line, ``Content-Length`` (unless ``None``), ``extra`` lines."""
    lines = [f"HTTP/1.1 {status}", *extra]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def ok(body: bytes = b"{}", *extra: str) -> Answer:
    """Answer 200 with ``body`` and keep the connection open for the next request."""
    reply = head("200 OK", len(body), *extra) + body

    async def answer(stream: anyio.abc.ByteStream, request: bytes) -> bool:
        await stream.send(reply)
        return True

    return answer


def raw(reply: bytes) -> Answer:
    """Answer with ``reply`` exactly as given, then close."""

    async def answer(stream: anyio.abc.ByteStream, request: bytes) -> bool:
        await stream.send(reply)
        return False

    return answer


def ok_then_close(body: bytes = b"{}") -> Answer:
    """Answer 200 as if keeping the connection, then close it (an idle-timeout close)."""
    answer_ok = ok(body)

    async def answer(stream: anyio.abc.ByteStream, request: bytes) -> bool:
        await answer_ok(stream, request)
        return False

    return answer


async def hang_up(stream: anyio.abc.ByteStream, request: bytes) -> bool:
    """Read the request whole, then close without a byte of answer."""
    return False


def hang_up_mid_body(declared: int = 1000, sent: int = 100) -> Answer:
    """Announce ``declared`` body bytes, send ``sent`` of them, close."""

    async def answer(stream: anyio.abc.ByteStream, request: bytes) -> bool:
        await stream.send(head("200 OK", declared) + b"x" * sent)
        return False

    return answer


async def reset(stream: anyio.abc.ByteStream, request: bytes) -> bool:
    """Abort the connection with a TCP reset (``SO_LINGER`` 0) instead of a clean close."""
    sock = stream.extra(anyio.abc.SocketAttribute.raw_socket)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return False


async def stall(stream: anyio.abc.ByteStream, request: bytes) -> bool:
    """Never answer; the connection ends when the client closes it."""
    await _until_client_closes(stream)
    return False


def stall_mid_body(declared: int = 1000, sent: int = 10) -> Answer:
    """Send the head and ``sent`` body bytes, then nothing more."""

    async def answer(stream: anyio.abc.ByteStream, request: bytes) -> bool:
        await stream.send(head("200 OK", declared) + b"x" * sent)
        await _until_client_closes(stream)
        return False

    return answer


async def _until_client_closes(stream: anyio.abc.ByteStream) -> None:
    while True:
        await stream.receive()  # EndOfStream (or a broken stream) once the client closes


class ServedOnLoopback:
    """What every loopback test server shares: a listener on 127.0.0.1 (TLS when ``tls`` is
    set), serving ``_handle`` for each connection in a task group of its own while the
    ``async with`` block runs; leaving the block stops it and closes the listener."""

    tls: ssl.SSLContext | None = None

    def __init__(self) -> None:
        self._group: anyio.abc.TaskGroup | None = None
        self._listener: anyio.abc.Listener[anyio.abc.ByteStream] | None = None
        self._port = 0

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self._port}"

    async def __aenter__(self) -> Self:
        tcp = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        self._port = tcp.extra(anyio.abc.SocketAttribute.local_port)
        listener: anyio.abc.Listener[anyio.abc.ByteStream] = tcp
        if self.tls is not None:
            listener = TLSListener(tcp, self.tls, standard_compatible=False)
        self._listener = listener
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        self._group.start_soon(listener.serve, self._handle)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._group is not None and self._listener is not None
        self._group.cancel_scope.cancel()
        await self._group.__aexit__(None, None, None)
        await self._listener.aclose()

    async def _handle(self, stream: anyio.abc.ByteStream) -> None:
        raise NotImplementedError


class LoopbackServer(ServedOnLoopback):
    """``async with LoopbackServer(ok(b"..."), tls=context) as server:`` then ``server.url``."""

    def __init__(self, answer: Answer | None = None, *, tls: ssl.SSLContext | None = None) -> None:
        super().__init__()
        self.answer = answer or ok()
        self.tls = tls
        self.connections = 0
        """TCP connections accepted (after the TLS handshake, over TLS)."""
        self.open = 0
        """Connections open now."""
        self.heads: list[bytes] = []
        """Every request head received, in order, without the final blank line."""
        self.bodies: list[bytes] = []
        self._closed_one: anyio.Event | None = None

    @property
    def requests(self) -> int:
        return len(self.heads)

    async def wait_open(self, count: int = 0) -> None:
        """Return once the client has closed all but ``count`` of the connections."""
        with anyio.fail_after(10):
            while self.open > count:
                self._closed_one = anyio.Event()
                await self._closed_one.wait()

    async def _handle(self, stream: anyio.abc.ByteStream) -> None:
        self.connections += 1
        self.open += 1
        try:
            async with stream:
                buffer = b""
                while True:
                    while _END not in buffer:
                        buffer += await stream.receive()
                    request, buffer = buffer.split(_END, 1)
                    length = _content_length(request)
                    while len(buffer) < length:
                        buffer += await stream.receive()
                    self.heads.append(request)
                    self.bodies.append(buffer[:length])
                    buffer = buffer[length:]
                    if not await self.answer(stream, request):
                        return
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # the client went away
        finally:
            self.open -= 1
            if self._closed_one is not None:
                self._closed_one.set()


def _content_length(request: bytes) -> int:
    for line in request.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def refused_port() -> int:
    """A loopback port nothing listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def full_backlog() -> Iterator[int]:
    """A loopback port whose accept queue is full: a new connection's SYN goes unanswered,
    so connecting to it never completes (nothing is ever sent)."""
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = int(listener.getsockname()[1])
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            fillers.append(filler)
            with suppress(BlockingIOError):  # the handshake goes on in the kernel
                filler.connect(("127.0.0.1", port))
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


class ManualClock:
    """A stand-in for ``time.monotonic`` that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def firmware_page(items: int = 10) -> bytes:
    """A ``ListOTAFirmware`` answer of ``items`` packages, all on page 1 of 1."""
    firmware = [
        {
            "FirmwareId": f"fw-{n:04d}",
            "FirmwareName": f"firmware {n}",
            "DestVersion": f"1.{n}.0",
            "ProductKey": "pk",
            "FirmwareSize": "1024",
            "Status": "1",
            "Type": "0",
            "UtcCreate": "2026-11-01T10:00:00.000Z",
            "UtcModified": "2026-11-02T10:00:00.000Z",
        }
        for n in range(items)
    ]
    body = {
        "RequestId": "req-loopback",
        "Success": True,
        "CurrentPage": 1,
        "PageSize": items,
        "PageCount": 1,
        "Total": items,
        "FirmwareInfo": {"SimpleFirmwareInfo": firmware},
    }
    return json.dumps(body).encode()
