"""The network transport an ``OTAClient`` uses when no ``transport=`` is injected.

``httpx.AsyncClient`` stays the client (auth flows, ``MockTransport``, respx and the
simulator's in-process transport plug in as always); only the layer under it changes:

* on **asyncio**, aiohttp's connection pool and C HTTP parser (``_AiohttpTransport``). Its
  cost per request does not grow with the number of connections, where httpcore 1.0's pool
  re-scans every connection for every queued request (encode/httpx#3215);
* under **trio** (aiohttp runs only on asyncio), the trio backend of httpcore2
  (``_Httpcore2Transport``): pydantic's fork of httpcore, the pool under httpx2, where the
  pool fixes httpcore 1.0 lacks have landed. ``benchmarks/transports.py`` measured it at a
  third of httpcore's CPU per call at 32 in flight, under trio.

respx's ``respx.mock`` works by patching httpcore's pool, which neither path above uses:
while that patch is in place, requests go through httpx's own transport instead, so respx
sees them exactly as it did before this transport existed (and nothing leaves).

A client is built outside any event loop, so ``DefaultTransport`` picks at its first
request and then belongs to that event loop: a request from another one (the other
library, or a second ``asyncio.run``) is refused with ``OTAError``, because pooled
connections cannot move between loops.

Both paths keep what the request loop relies on: connections reused, idle ones dropped
after ``keepalive_expiry`` (before the server's own idle timeout closes them under a
request), bodies handed over raw (``aiter_raw()`` yields the bytes as they came off the
wire: the request loop inflates them itself, with a cap), certificates verified through
one shared ``ssl.SSLContext``, httpx's per-phase timeouts, and httpx's exception types,
chosen so that "nothing was sent" (``ConnectError``, ``ConnectTimeout``) is never said of a
request that may have reached the server (``RemoteProtocolError``, ``ReadError``,
``ReadTimeout``). Neither path retries anything: the request loop owns retries.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import aiohttp
import httpcore
import httpcore2
import httpx
import sniffio
import yarl

from ._errors import OTAError

__all__ = ["DefaultTransport", "shared_tls_context"]

_HTTPCORE_SEND = httpcore.AsyncConnectionPool.handle_async_request
"""httpcore's own, unpatched: respx replaces it while ``respx.mock`` is active."""


@functools.cache
def shared_tls_context() -> ssl.SSLContext:
    """The one ``ssl.SSLContext`` every default transport verifies certificates with.

    Building a context loads the CA bundle (about 19 ms and 0.8 MB each), so a process
    of many clients shares this one instead of building one per client or per request.
    """
    return httpx.create_ssl_context()


class DefaultTransport(httpx.AsyncBaseTransport):
    """aiohttp's pool on asyncio, httpcore2's under trio, chosen at the first request.

    ``limits`` sizes the pool (``max_connections``) and sets how long an idle connection
    is kept (``keepalive_expiry``); ``verify`` is the context certificates are checked
    with (default: ``shared_tls_context()``). Nothing is opened before the first request.

    >>> limits = httpx.Limits(max_connections=32, keepalive_expiry=4.0)
    >>> client = httpx.AsyncClient(transport=DefaultTransport(limits=limits))
    >>> client.is_closed
    False
    """

    def __init__(self, *, limits: httpx.Limits, verify: ssl.SSLContext | None = None) -> None:
        self._limits = limits
        self._tls = shared_tls_context() if verify is None else verify
        self._inner: httpx.AsyncBaseTransport | None = None
        self._mocked: httpx.AsyncHTTPTransport | None = None
        self._owner: object = None
        self._library: str | None = None
        self._closed = False

    @property
    def backend(self) -> str | None:
        """``"asyncio"`` or ``"trio"`` once the first request chose; ``None`` before."""
        return self._library

    @property
    def tls_context(self) -> ssl.SSLContext:
        """The context every HTTPS connection of this transport is verified with."""
        return self._tls

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if httpcore.AsyncConnectionPool.handle_async_request is not _HTTPCORE_SEND:
            return await self._through_respx().handle_async_request(request)
        library, owner = _current_loop()
        inner = self._inner
        if inner is None or owner is not self._owner:
            inner = self._open(library, owner)
        return await inner.handle_async_request(request)

    async def aclose(self) -> None:
        self._closed = True
        for inner in (self._inner, self._mocked):
            if inner is not None:
                await inner.aclose()
        self._inner = self._mocked = None

    def _through_respx(self) -> httpx.AsyncHTTPTransport:
        if self._closed:
            raise OTAError("the HTTP transport was closed; nothing was sent")
        if self._mocked is None:
            self._mocked = httpx.AsyncHTTPTransport(verify=self._tls, limits=self._limits)
        return self._mocked

    def _open(self, library: str, owner: object) -> httpx.AsyncBaseTransport:
        if self._closed:
            raise OTAError("the HTTP transport was closed; nothing was sent")
        if self._inner is not None:
            raise OTAError(
                f"this client's connections were opened under {self._library} in another "
                f"event loop and cannot be used from {library} here; nothing was sent "
                "(use one client per event loop)"
            )
        if library == "asyncio":
            self._inner = _AiohttpTransport(self._limits, self._tls)
        elif library == "trio":
            self._inner = _Httpcore2Transport(self._limits, self._tls)
        else:
            raise OTAError(f"otaclient runs under asyncio or trio, not {library}")
        self._library, self._owner = library, owner
        return self._inner


def _current_loop() -> tuple[str, object]:
    # The running loop (asyncio) or run (trio): what pooled connections are tied to.
    try:
        library = sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        raise OTAError("otaclient must be called from a running asyncio or trio loop") from None
    if library == "asyncio":
        return library, asyncio.get_running_loop()
    if library == "trio":
        import trio

        return library, trio.lowlevel.current_root_task()
    return library, None


# --------------------------------------------------------------------------- asyncio


class _AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx requests over one ``aiohttp.ClientSession``, answers as httpx responses.

    After ``httpx-aiohttp``'s ``AiohttpTransport`` (karpetrosyan/httpx-aiohttp), whose
    exception map this cannot use: it turns ``ServerDisconnectedError`` (the server hung
    up after the request went out) into ``httpx.ConnectTimeout``, which says nothing was
    sent and would let a write be sent twice.
    """

    def __init__(self, limits: httpx.Limits, tls: ssl.SSLContext) -> None:
        connector = aiohttp.TCPConnector(
            limit=limits.max_connections or 0,
            keepalive_timeout=limits.keepalive_expiry,
            ssl=tls,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # httpx keeps the cookies, builds every header and leaves bodies to the caller.
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=None),
        )
        # aiohttp resends an idempotent request once when its connection drops; that
        # second copy would be invisible to the request loop's retry count and policy.
        self._session._retry_connection = False
        self._timeouts: tuple[object, aiohttp.ClientTimeout] | None = None
        self._header_forms: dict[tuple[tuple[bytes, bytes], ...], list[tuple[str, str]]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self._session.request(
                request.method,
                # Sent as httpx encoded it: the signature covers the query byte for byte.
                yarl.URL(str(request.url), encoded=True),
                headers=self._headers(request.headers),
                data=_body(request),
                allow_redirects=False,
                compress=None,
                timeout=self._timeout(request.extensions.get("timeout")),
                server_hostname=request.extensions.get("sni_hostname"),
            )
        except aiohttp.ClientError as exc:
            failure: httpx.TransportError = _httpx_error(exc, request)
        except ValueError as exc:  # a header aiohttp refuses to write: nothing went out
            failure = httpx.LocalProtocolError(str(exc), request=request)
        else:
            return _httpx_response(response, request)
        # Raised outside the handler, so aiohttp's error (whose text may quote the URL,
        # token and signature included) is not chained to it.
        raise failure

    def _headers(self, headers: httpx.Headers) -> list[tuple[str, str]]:
        # A client sends the same few header sets again and again: decode each once.
        raw = tuple(headers.raw)
        forms = self._header_forms
        form = forms.get(raw)
        if form is None:
            if len(forms) >= _HEADER_FORMS:
                forms.clear()
            form = forms[raw] = _headers(headers)
        return form

    def _timeout(self, phases: dict[str, float | None] | None) -> aiohttp.ClientTimeout:
        # Every request of a client carries the same phases: build their aiohttp form once.
        key = (phases or {}).get("connect"), (phases or {}).get("read"), (phases or {}).get("pool")
        cached = self._timeouts
        if cached is not None and cached[0] == key:
            return cached[1]
        connect, read, pool = key
        timeout = aiohttp.ClientTimeout(
            total=None,
            # aiohttp's `connect` spans the wait for a pooled connection and the connect.
            connect=None if pool is None or connect is None else pool + connect,
            sock_connect=connect,
            sock_read=read,
        )
        self._timeouts = (key, timeout)
        return timeout

    async def aclose(self) -> None:
        await self._session.close()


_HEADER_FORMS = 64
"""Header sets a transport keeps decoded (one per host and method, for a client)."""


def _httpx_response(response: aiohttp.ClientResponse, request: httpx.Request) -> httpx.Response:
    extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
    if response.reason:
        extensions["reason_phrase"] = response.reason.encode("ascii", "replace")
    return httpx.Response(
        status_code=response.status,
        headers=response.raw_headers,
        stream=_AiohttpStream(response, request),
        extensions=extensions,
    )


def _headers(headers: httpx.Headers) -> list[tuple[str, str]]:
    # httpx's names as it spelled them (httpcore sends them so), values as it encoded them.
    encoding = headers.encoding
    return [(name.decode("ascii"), value.decode(encoding)) for name, value in headers.raw]


def _body(request: httpx.Request) -> bytes | AsyncIterable[bytes] | None:
    try:
        content = request.content
    except httpx.RequestNotRead:
        stream = request.stream
        if not isinstance(stream, AsyncIterable):
            raise httpx.LocalProtocolError(
                "a synchronous request body cannot be sent by an async transport",
                request=request,
            ) from None
        return stream
    return content or None


class _AiohttpStream(httpx.AsyncByteStream):
    """The body as aiohttp reads it off the socket: de-chunked, never decompressed."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        while True:
            try:
                chunk = await content.readany()
            except aiohttp.ClientError as exc:
                failure = _httpx_error(exc, self._request)
            else:
                if not chunk:
                    return
                yield chunk
                continue
            raise failure  # outside the handler: see _AiohttpTransport

    async def aclose(self) -> None:
        # A body not read to its end closes its connection instead of pooling it.
        self._response.release()


# Most specific first: the first class that matches decides. aiohttp's messages for
# timeouts and bad answers quote the URL (signature and token included), so the text
# kept is only that of errors whose messages name the host at most.
_ERRORS: tuple[tuple[type[aiohttp.ClientError], type[httpx.TransportError], str | None], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout, "timed out connecting"),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout, "timed out waiting for the server"),
    (aiohttp.ClientProxyConnectionError, httpx.ProxyError, None),
    (aiohttp.ClientConnectorError, httpx.ConnectError, None),
    (
        aiohttp.ServerDisconnectedError,
        httpx.RemoteProtocolError,
        "server disconnected without sending a complete response",
    ),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError, None),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError, "malformed HTTP response"),
    (aiohttp.ClientOSError, httpx.ReadError, None),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol, "the URL cannot be sent"),
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol, "the URL is not http(s)"),
)


def _httpx_error(exc: aiohttp.ClientError, request: httpx.Request) -> httpx.TransportError:
    # Unknown: it may have been sent, so nothing that reads as "not sent".
    target, text = next(
        ((target, text) for source, target, text in _ERRORS if isinstance(exc, source)),
        (httpx.NetworkError, None),
    )
    return target(f"{text or exc} ({type(exc).__name__})", request=request)


# --------------------------------------------------------------------------- trio


class _Httpcore2Transport(httpx.AsyncBaseTransport):
    """httpx requests over an ``httpcore2.AsyncConnectionPool`` (httpx's own transport,
    ``httpx.AsyncHTTPTransport``, with httpcore2's pool in place of httpcore's)."""

    def __init__(self, limits: httpx.Limits, tls: ssl.SSLContext) -> None:
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=tls,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core = httpcore2.Request(
            method=request.method,
            url=httpcore2.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = await self._pool.handle_async_request(core)
        except _HTTPCORE2_ERRORS as exc:
            raise _from_httpcore2(exc, request) from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Httpcore2Stream(response.stream, request),  # type: ignore[arg-type]
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


class _Httpcore2Stream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes], request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except _HTTPCORE2_ERRORS as exc:
            raise _from_httpcore2(exc, self._request) from exc

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            try:
                await close()
            except _HTTPCORE2_ERRORS as exc:
                raise _from_httpcore2(exc, self._request) from exc


# httpcore2 names its exceptions as httpx does; the most specific class in the MRO wins.
_HTTPCORE2_TO_HTTPX: dict[type[Exception], type[httpx.TransportError]] = {
    getattr(httpcore2, name): getattr(httpx, name)
    for name in (
        "ConnectError",
        "ConnectTimeout",
        "LocalProtocolError",
        "NetworkError",
        "PoolTimeout",
        "ProtocolError",
        "ProxyError",
        "ReadError",
        "ReadTimeout",
        "RemoteProtocolError",
        "TimeoutException",
        "UnsupportedProtocol",
        "WriteError",
        "WriteTimeout",
    )
}
_HTTPCORE2_ERRORS = tuple(_HTTPCORE2_TO_HTTPX)


def _from_httpcore2(exc: Exception, request: httpx.Request) -> httpx.TransportError:
    target = next(_HTTPCORE2_TO_HTTPX[c] for c in type(exc).__mro__ if c in _HTTPCORE2_TO_HTTPX)
    return target(str(exc), request=request)
