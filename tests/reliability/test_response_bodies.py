"""Compressed, oversized, deep and hostile bodies, and every httpx failure: an OTAError each.

Streamed bodies come from ``httpx.MockTransport`` with an async iterator (so httpx does not
read them ahead of the client), and a few from a real loopback server, compressed on the wire.
Reads retry what may get better and fail at once on what will not; a write never retries
after the service may have acted: its outcome is unknown.
"""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import anyio
import httpx
import pytest
from support.slow_server import RawServer, chunked

from otaclient import (
    OTAClient,
    OTAError,
    OutcomeUnknownError,
    ResponseError,
    RetryPolicy,
    TransportError,
    ValidationError,
    _parse,
)

pytestmark = pytest.mark.anyio

ATTEMPTS = 3
MODULES = {"RequestId": "rid-1", "Success": True, "Data": [{"ModuleName": "default"}]}
MODULES_BYTES = json.dumps(MODULES).encode()
CREATED = {"RequestId": "rid-2", "Success": True, "Data": {"JobId": "job-1"}}


class Server:
    """A MockTransport handler streaming ``chunks`` with ``headers``; counts what it sent."""

    def __init__(self, chunks: Iterable[bytes], headers: dict[str, str] | None = None) -> None:
        self.chunks = list(chunks)
        self.headers = headers or {}
        self.requests = 0
        self.sent_chunks = 0

    async def _stream(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.sent_chunks += 1
            yield chunk

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return httpx.Response(200, headers=self.headers, content=self._stream())


def _client(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> OTAClient:
    return OTAClient(
        access_key_id="id",
        access_key_secret="secret",
        endpoint="http://ota.test",
        qps=None,
        retry=RetryPolicy(max_attempts=ATTEMPTS, backoff_base=0.0),
        transport=httpx.MockTransport(handler),
        **options,
    )


async def _modules(client: OTAClient) -> Any:
    return await client.list_ota_module_by_product(product_key="pk")


async def _create(client: OTAClient) -> Any:
    return await client.create_ota_static_upgrade_job(
        firmware_id="f1", product_key="pk", target_selection="ALL"
    )


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


# --------------------------------------------------------------------------- decoding


@pytest.mark.parametrize(
    ("encoding", "encoded"),
    [
        ("gzip", gzip.compress(MODULES_BYTES)),
        ("x-gzip", gzip.compress(MODULES_BYTES)),
        ("GZIP", gzip.compress(MODULES_BYTES)),
        ("deflate", zlib.compress(MODULES_BYTES)),
        ("deflate", _raw_deflate(MODULES_BYTES)),
        ("gzip", gzip.compress(MODULES_BYTES[:40]) + gzip.compress(MODULES_BYTES[40:])),
        ("identity", MODULES_BYTES),
        ("gzip, identity", gzip.compress(MODULES_BYTES)),
    ],
    ids=["gzip", "x-gzip", "upper", "zlib", "raw-deflate", "two-members", "identity", "listed"],
)
@pytest.mark.parametrize("piece", [1, 7, 65536], ids=["1-byte", "7-byte", "whole"])
async def test_a_compressed_body_is_decoded_in_pieces_of_any_size(
    encoding: str, encoded: bytes, piece: int
) -> None:
    server = Server(_pieces(encoded, piece), {"Content-Encoding": encoding})
    async with _client(server) as client:
        modules = await _modules(client)
    assert [m.module_name for m in modules] == ["default"]


async def test_the_client_asks_only_for_gzip_and_deflate(monkeypatch: pytest.MonkeyPatch) -> None:
    # httpx asks for br and zstd too when brotli or zstandard happen to be installed.
    monkeypatch.setattr(httpx._client, "ACCEPT_ENCODING", "gzip, deflate, br, zstd")
    seen: list[str] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["accept-encoding"])
        return httpx.Response(200, json=MODULES)

    async with _client(respond) as client:
        await _modules(client)
    assert seen == ["gzip, deflate"]


@pytest.mark.parametrize(
    "encoded",
    [b"\x1f\x8b\x08\x00garbage-garbage", gzip.compress(MODULES_BYTES)[:-12]],
    ids=["corrupt", "truncated"],
)
async def test_a_corrupt_or_truncated_gzip_body_is_a_response_error_retried_for_a_read(
    encoded: bytes,
) -> None:
    server = Server([encoded], {"Content-Encoding": "gzip"})
    async with _client(server) as client:
        with pytest.raises(ResponseError, match="gzip body"):
            await _modules(client)
    assert server.requests == ATTEMPTS


async def test_a_create_answered_with_corrupt_gzip_has_an_unknown_outcome() -> None:
    server = Server([b"\x1f\x8b\x08\x00garbage-garbage"], {"Content-Encoding": "gzip"})
    async with _client(server) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await _create(client)
    assert server.requests == 1
    assert "list_ota_job_by_firmware" in caught.value.how_to_check
    assert isinstance(caught.value.__cause__, ResponseError)


async def test_corrupt_gzip_decoded_by_httpx_itself_is_mapped_too() -> None:
    # A bytes body makes httpx decode it while the response is built: httpx.DecodingError.
    requests = 0

    def respond(request: httpx.Request) -> httpx.Response:
        nonlocal requests
        requests += 1
        return httpx.Response(200, content=b"\x1f\x8bnope", headers={"Content-Encoding": "gzip"})

    async with _client(respond) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await _create(client)
    assert requests == 1
    assert isinstance(caught.value.__cause__, ResponseError)
    assert "DecodingError" in str(caught.value)


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress", "gzip, gzip", "gzip, br"])
async def test_an_encoding_we_did_not_ask_for_is_refused_without_a_retry(encoding: str) -> None:
    server = Server([gzip.compress(MODULES_BYTES)], {"Content-Encoding": encoding})
    async with _client(server) as client:
        with pytest.raises(ResponseError, match="not gzip or deflate"):
            await _modules(client)
    assert server.requests == 1


async def test_a_create_answered_in_an_unknown_encoding_has_an_unknown_outcome() -> None:
    server = Server([b"\x00"], {"Content-Encoding": "br"})
    async with _client(server) as client:
        with pytest.raises(OutcomeUnknownError):
            await _create(client)
    assert server.requests == 1


# --------------------------------------------------------------------------- size caps

CAP = 1 << 20


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """64 MiB of zeros in about 64 KiB."""
    return gzip.compress(b"\0" * (64 << 20), compresslevel=9)


async def test_a_gzip_bomb_is_refused_once_the_decompressed_bytes_pass_the_cap(
    gzip_bomb: bytes,
) -> None:
    server = Server(_pieces(gzip_bomb, 16384), {"Content-Encoding": "gzip"})
    async with _client(server, max_body_bytes=CAP) as client:
        with pytest.raises(ResponseError, match="once decompressed"):
            await _modules(client)
    assert server.requests == 1  # it will not get smaller: no retry


async def test_a_gzip_bomb_never_holds_much_more_than_the_cap_in_memory(gzip_bomb: bytes) -> None:
    server = Server(_pieces(gzip_bomb, 16384), {"Content-Encoding": "gzip"})
    async with _client(server, max_body_bytes=CAP) as client:
        tracemalloc.start()
        try:
            with pytest.raises(ResponseError):
                await _modules(client)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 1.5 * CAP, f"peak {peak / CAP:.2f}x the cap"


async def test_a_chunked_body_over_the_cap_is_cut_off_without_reading_it_all() -> None:
    # No Content-Length: only counting the bytes as they come can stop it.
    server = Server([b" " * 1024] * 100)
    async with _client(server, max_body_bytes=10 * 1024) as client:
        with pytest.raises(ResponseError, match="exceeds the 10240-byte cap"):
            await _modules(client)
    assert server.requests == 1
    assert server.sent_chunks == 11


async def test_a_body_just_under_the_cap_is_read() -> None:
    body = MODULES_BYTES + b" " * (4096 - len(MODULES_BYTES))
    server = Server(_pieces(body, 100))
    async with _client(server, max_body_bytes=4096) as client:
        assert len(await _modules(client)) == 1


async def test_a_gzip_body_whose_decompressed_size_is_the_cap_is_read() -> None:
    body = MODULES_BYTES + b" " * (4096 - len(MODULES_BYTES))
    server = Server([gzip.compress(body)], {"Content-Encoding": "gzip"})
    async with _client(server, max_body_bytes=4096) as client:
        assert len(await _modules(client)) == 1
    server = Server([gzip.compress(body + b" ")], {"Content-Encoding": "gzip"})
    async with _client(server, max_body_bytes=4096) as client:
        with pytest.raises(ResponseError, match="once decompressed"):
            await _modules(client)


async def test_a_gzip_bomb_over_real_http_is_refused_near_the_cap(gzip_bomb: bytes) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
    async with RawServer(head + chunked(gzip_bomb)) as server:
        client = OTAClient(
            access_key_id="id",
            access_key_secret="secret",
            endpoint=server.url,
            qps=None,
            max_body_bytes=CAP,
            timeout=20.0,
        )
        async with client:
            tracemalloc.start()
            try:
                with anyio.fail_after(60), pytest.raises(ResponseError, match="once decompressed"):
                    await _modules(client)
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
        assert server.requests == 1
    assert peak < 1.5 * CAP, f"peak {peak / CAP:.2f}x the cap"


async def test_a_gzip_body_over_real_http_is_decoded() -> None:
    body = gzip.compress(MODULES_BYTES)
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body)
    async with RawServer(head + body) as server:
        client = OTAClient(
            access_key_id="id", access_key_secret="secret", endpoint=server.url, qps=None
        )
        async with client:
            with anyio.fail_after(60):
                modules = await _modules(client)
    assert [m.module_name for m in modules] == ["default"]


# --------------------------------------------------------------------------- depth


def _deep_xml(depth: int) -> bytes:
    return b"<R><Success>true</Success>" + b"<a>" * depth + b"x" + b"</a>" * depth + b"</R>"


async def test_a_3000_deep_xml_body_is_refused_without_a_retry() -> None:
    server = Server([_deep_xml(3000)])
    async with _client(server, response_format="xml") as client:
        with pytest.raises(ResponseError, match="nests deeper than 64 levels"):
            await _modules(client)
    assert server.requests == 1


async def test_an_xml_body_nested_as_deep_as_the_limit_is_accepted() -> None:
    server = Server([_deep_xml(62)])
    async with _client(server, response_format="xml") as client:
        body = await client.call("ListOTAModuleByProduct", {"ProductKey": "pk"}, idempotent=True)
    assert "a" in body


@pytest.mark.parametrize("use_orjson", [True, False], ids=["orjson", "stdlib-json"])
async def test_a_3000_deep_json_body_is_refused_without_a_retry(
    use_orjson: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not use_orjson:
        monkeypatch.setattr(_parse, "_json_loads", json.loads)
        monkeypatch.setattr(_parse, "_JSON_ERRORS", (ValueError,))
    server = Server([b'{"Success": true, "Data": ' + b"[" * 3000 + b"]" * 3000 + b"}"])
    async with _client(server) as client:
        with pytest.raises(ResponseError, match="nests too deeply"):
            await _modules(client)
    assert server.requests == 1


async def test_a_deep_value_where_a_number_belongs_is_a_response_error() -> None:
    # Parsed fine (under orjson's 1,024 levels), but repr() of it would overflow the stack.
    deep = "[" * 990 + "]" * 990
    body = '{"RequestId": "r", "Success": true, "Total": ' + deep + ', "PageSize": 10}'
    server = Server([body.encode()])
    async with _client(server) as client:
        with pytest.raises(ResponseError, match="expected an integer"):
            await client.list_ota_firmware()


# --------------------------------------------------------------------------- hostile XML

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<R><RequestId>&lol2;</RequestId><Success>true</Success></R>"""


async def test_hostile_xml_is_refused_without_a_retry() -> None:
    server = Server([BILLION_LAUGHS])
    async with _client(server, response_format="xml") as client:
        with pytest.raises(ResponseError, match="XML body refused"):
            await _modules(client)
    assert server.requests == 1


async def test_a_create_answered_with_hostile_xml_has_an_unknown_outcome() -> None:
    server = Server([BILLION_LAUGHS])
    async with _client(server, response_format="xml") as client:
        with pytest.raises(OutcomeUnknownError):
            await _create(client)
    assert server.requests == 1


# --------------------------------------------------------------------------- httpx failures


def _raises(exc: Callable[[httpx.Request], Exception]) -> Callable[[httpx.Request], Any]:
    def respond(request: httpx.Request) -> Any:
        raise exc(request)

    return respond


AMBIGUOUS = [
    (lambda r: httpx.DecodingError("bad gzip", request=r), ResponseError),
    (lambda r: httpx.TooManyRedirects("loop", request=r), ResponseError),
    (lambda r: httpx.StreamClosed(), TransportError),
    (lambda r: httpx.ProxyError("proxy said no", request=r), TransportError),
    (lambda r: httpx.RemoteProtocolError("peer closed", request=r), TransportError),
    (lambda r: httpx.WriteTimeout("slow", request=r), TransportError),
    (lambda r: httpx.HTTPError("anything else"), TransportError),
]
NEVER_SENT = [
    (lambda r: httpx.InvalidURL("URL too long"), ValidationError),
    (lambda r: httpx.UnsupportedProtocol("ftp", request=r), TransportError),
    (lambda r: httpx.LocalProtocolError("bad header", request=r), TransportError),
]
_IDS_AMBIGUOUS = ["decoding", "redirects", "stream", "proxy", "remote", "write-timeout", "http"]
_IDS_NEVER_SENT = ["invalid-url", "protocol", "local-protocol"]


@pytest.mark.parametrize(("make", "kind"), AMBIGUOUS, ids=_IDS_AMBIGUOUS)
async def test_an_ambiguous_httpx_failure_of_a_read_is_an_ota_error_after_retries(
    make: Callable[[httpx.Request], Exception], kind: type[OTAError]
) -> None:
    calls: list[httpx.Request] = []
    async with _client(_raises(lambda r: calls.append(r) or make(r))) as client:
        with pytest.raises(kind) as caught:
            await _modules(client)
    assert len(calls) == ATTEMPTS
    assert isinstance(caught.value.__cause__, Exception)


@pytest.mark.parametrize(("make", "kind"), AMBIGUOUS, ids=_IDS_AMBIGUOUS)
async def test_an_ambiguous_httpx_failure_of_a_create_has_an_unknown_outcome(
    make: Callable[[httpx.Request], Exception], kind: type[OTAError]
) -> None:
    calls: list[httpx.Request] = []
    async with _client(_raises(lambda r: calls.append(r) or make(r))) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await _create(client)
    assert len(calls) == 1
    assert isinstance(caught.value.__cause__, kind)


@pytest.mark.parametrize(("make", "kind"), NEVER_SENT, ids=_IDS_NEVER_SENT)
async def test_a_request_that_could_not_be_sent_fails_at_once_as_itself(
    make: Callable[[httpx.Request], Exception], kind: type[OTAError]
) -> None:
    calls: list[httpx.Request] = []
    async with _client(_raises(lambda r: calls.append(r) or make(r))) as client:
        with pytest.raises(kind):
            await _create(client)  # not OutcomeUnknownError: nothing reached the service
    assert len(calls) == 1


async def test_a_url_httpx_refuses_to_build_is_a_validation_error() -> None:
    calls: list[httpx.Request] = []
    async with _client(_raises(lambda r: calls.append(r) or AssertionError())) as client:
        # Refused before httpx builds it (the client knows what one URL carries); the
        # sender's InvalidURL mapping is the safety net behind that check.
        with pytest.raises(ValidationError, match="JobId"):
            await client.call("QueryOTAJob", {"JobId": "j" * 70000}, idempotent=True)
    assert calls == []
