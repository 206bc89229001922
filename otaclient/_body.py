"""One HTTP exchange, read whole: the status, the headers and a body bounded by a byte cap.

Bodies are read from the raw stream and inflated here (gzip or deflate, the only codings
the client asks for), counted against the cap as they come, so that neither a huge body
nor a gzip bomb can take the call's memory: input is inflated in 64 KiB steps to at most
the room left under the cap plus one byte, so a bomb is refused after about ``cap`` bytes
of output, whatever its ratio. Nothing here depends on which transport httpx runs on, as
long as it hands over the body as it came off the wire.

A body that cannot be read whole raises ``BodyProblem``, whose ``kind`` says how the
request loop may retry.
"""

from __future__ import annotations

import zlib

import httpx

from ._retry import FailureKind

__all__ = ["BodyProblem", "exchange"]


async def exchange(
    http: httpx.AsyncClient, request: httpx.Request, max_body_bytes: int
) -> tuple[int, httpx.Headers, bytes]:
    """Send ``request`` and read its answer whole; raise ``BodyProblem`` (with the HTTP
    status set) when the body cannot be, and httpx's own errors as they come."""
    response = await http.send(request, stream=True)
    try:
        content = await _read(response, max_body_bytes)
    except BodyProblem as exc:
        exc.http_status = response.status_code
        raise
    finally:
        await response.aclose()
        # httpx 0.28 leaves the response and its stream pointing at each other
        # (encode/httpx#3733): without this every request leaves garbage for the cycle
        # collector, which pauses every client of the process when it runs.
        response.stream = _EMPTY_STREAM
    return response.status_code, response.headers, content


async def _read(response: httpx.Response, cap: int) -> bytes:
    # The raw stream, decompressed here as it comes: httpx's own decoding inflates a
    # whole chunk before anyone can count it (a gzip bomb peaked at 45x the cap).
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise _TooLarge(f"response body of {declared} bytes exceeds the {cap}-byte cap")
    if response.is_stream_consumed:
        # An in-process transport (a test double, the simulator) handed over a body it
        # had read already, and httpx decoded it then: there is nothing left to stream.
        content = response.content
        if len(content) > cap:
            raise _TooLarge(f"response body exceeds the {cap}-byte cap")
        return content
    encoding = response.headers.get("content-encoding")
    inflater = _Inflater.for_encoding(encoding, cap) if encoding else None
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        size += len(chunk)
        if size > cap:
            raise _TooLarge(f"response body exceeds the {cap}-byte cap")
        if inflater is None:
            chunks.append(chunk)
        else:
            inflater.feed(chunk, chunks)
    if inflater is not None:
        inflater.finish()
    return b"".join(chunks)


_EMPTY_STREAM = httpx.ByteStream(b"")


class BodyProblem(Exception):
    """The body could not be read whole: ``kind`` says how to retry (see ``_retry``)."""

    kind = FailureKind.TRANSIENT
    http_status: int | None = None


class _TooLarge(BodyProblem):
    kind = FailureKind.UNREADABLE


class _Unsupported(BodyProblem):
    kind = FailureKind.UNREADABLE


_GZIP = 16 + zlib.MAX_WBITS
_ZLIB = zlib.MAX_WBITS
_RAW_DEFLATE = -zlib.MAX_WBITS
_STEP = 64 * 1024


class _Inflater:
    """Decompresses a gzip or deflate body as it arrives, never holding more than the cap.

    Input is inflated to at most the room left under the cap plus one byte, so a bomb is
    refused after about ``cap`` bytes of output, whatever its ratio.
    """

    __slots__ = ("_cap", "_coding", "_fed", "_room", "_undecided", "_z")

    def __init__(self, coding: str, cap: int) -> None:
        self._coding = coding
        self._cap = cap
        self._room = cap
        self._fed = False
        self._z = zlib.decompressobj(_GZIP if coding == "gzip" else _ZLIB)
        # "deflate" should be zlib-wrapped (RFC 9110) but some servers send it raw: the
        # first two bytes tell which, so they are held until both are here.
        self._undecided: bytes | None = b"" if coding == "deflate" else None

    @classmethod
    def for_encoding(cls, header: str, cap: int) -> _Inflater | None:
        """The inflater for a ``Content-Encoding`` header, ``None`` for identity."""
        codings = [c for c in (p.strip().lower() for p in header.split(",")) if c]
        codings = [c for c in codings if c != "identity"]
        if not codings:
            return None
        if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
            return cls("deflate" if codings[0] == "deflate" else "gzip", cap)
        # We ask for gzip or deflate only; anything else is a proxy or server gone wrong.
        raise _Unsupported(f"the answer is encoded as {header[:40]!r}, not gzip or deflate")

    def feed(self, data: bytes, out: list[bytes]) -> None:
        """Inflate one piece of the raw body onto ``out``."""
        if not data:
            return
        self._fed = True
        if self._undecided is not None:
            data = self._undecided + data
            if len(data) < 2:
                self._undecided = data
                return
            self._undecided = None
            if not _is_zlib_header(data):
                self._z = zlib.decompressobj(_RAW_DEFLATE)
        while data:
            if self._z.eof:
                if self._coding != "gzip":
                    raise BodyProblem("the deflate body has data after its end")
                self._z = zlib.decompressobj(_GZIP)  # a gzip body may hold several members
            try:
                # In steps: zlib builds each output twice over (blocks, then one bytes).
                piece = self._z.decompress(data, min(self._room + 1, _STEP))
            except zlib.error as exc:
                raise BodyProblem(f"corrupt {self._coding} body ({exc})") from None
            self._room -= len(piece)
            if self._room < 0:
                raise _TooLarge(f"response body exceeds the {self._cap}-byte cap once decompressed")
            out.append(piece)
            data = self._z.unused_data if self._z.eof else self._z.unconsumed_tail

    def finish(self) -> None:
        """Check that the compressed body ended where its own format says it ends."""
        if self._fed and (self._undecided is not None or not self._z.eof):
            raise BodyProblem(f"the {self._coding} body ends early (truncated)")


def _is_zlib_header(data: bytes) -> bool:
    return data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
