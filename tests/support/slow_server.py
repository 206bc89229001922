"""A loopback HTTP/1.1 server that answers as slowly as a slowloris, on either backend.

It runs in the test's own event loop (anyio), so it works under asyncio and trio alike.
``mode="body"`` sends the status line and headers at once and then the body one byte per
``interval``; ``mode="headers"`` sends the status line one byte at a time, then a header
line that never ends. Neither ever finishes, so only the client's whole-attempt bound ends
an attempt: each byte arrives well inside any per-read timeout.

``RawServer`` answers with bytes given verbatim (a compressed body, chunked or not).
"""

from __future__ import annotations

import anyio
import anyio.abc

from .loopback import ServedOnLoopback

_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    b"Content-Length: 1000000\r\nConnection: close\r\n\r\n"
)


class SlowServer(ServedOnLoopback):
    """``async with SlowServer("body", 0.02) as server:`` then ``server.url``."""

    def __init__(self, mode: str, interval: float) -> None:
        super().__init__()
        assert mode in ("body", "headers")
        self.mode = mode
        self.interval = interval
        self.requests = 0
        """Complete requests received (one per attempt)."""
        self.open = 0
        """Connections open now."""

    async def _handle(self, stream: anyio.abc.ByteStream) -> None:
        self.open += 1
        try:
            async with stream:
                received = b""
                while b"\r\n\r\n" not in received:
                    received += await stream.receive()
                self.requests += 1
                if self.mode == "body":
                    await stream.send(_HEAD)
                    while True:
                        await anyio.sleep(self.interval)
                        await stream.send(b" ")
                for byte in _HEAD[: _HEAD.index(b"\r\n") + 2] + b"X-Pad: ":
                    await anyio.sleep(self.interval)
                    await stream.send(bytes([byte]))
                while True:  # a header line that never ends
                    await anyio.sleep(self.interval)
                    await stream.send(b"x")
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # the client gave up and closed the connection
        finally:
            self.open -= 1


class RawServer(ServedOnLoopback):
    """Answers every request with ``payload``, written as given (status line to body end).

    ``async with RawServer(payload) as server:`` then ``server.url``; ``server.requests``
    counts the requests received. The connection is closed after each answer.
    """

    def __init__(self, payload: bytes) -> None:
        super().__init__()
        self.payload = payload
        self.requests = 0

    async def _handle(self, stream: anyio.abc.ByteStream) -> None:
        try:
            async with stream:
                received = b""
                while b"\r\n\r\n" not in received:
                    received += await stream.receive()
                self.requests += 1
                for start in range(0, len(self.payload), 16384):
                    await stream.send(self.payload[start : start + 16384])
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass


def chunked(body: bytes, size: int = 16384) -> bytes:
    """``body`` in HTTP/1.1 chunked transfer coding."""
    parts = [
        b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size])
        for i in range(0, len(body), size)
    ]
    return b"".join(parts) + b"0\r\n\r\n"
