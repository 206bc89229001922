"""Test doubles and an independent implementation of the v1 signature.

Nothing here imports the library's signing code: the tests check the library against
``reference_signature``, written from the provider's description (RFC 3986 encoding by hand,
sort by name, ``METHOD&%2F&encode(query)``, base64 HMAC-SHA1 keyed with ``secret + "&"``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx
from support.wire import signed_pairs

from otaclient import OTAClient, RetryPolicy

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ACCESS_KEY_ID = "testid"
ACCESS_KEY_SECRET = "testsecret"  # the secret of the provider's published examples
ENDPOINT = "http://ota.test"

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def rfc3986(text: str) -> str:
    """Percent-encode ``text`` byte by byte: unreserved bytes stay, the rest become ``%XX``."""
    return "".join(
        chr(byte) if byte in _UNRESERVED else f"%{byte:02X}" for byte in text.encode("utf-8")
    )


def reference_canonical_query(params: Mapping[str, str]) -> str:
    """Sort by parameter name (code points), encode each name and value, join with ``&``."""
    return "&".join(f"{rfc3986(name)}={rfc3986(params[name])}" for name in sorted(params))


def reference_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    return f"{method}&{rfc3986('/')}&{rfc3986(reference_canonical_query(params))}"


def reference_signature(method: str, params: Mapping[str, str], secret: str) -> str:
    digest = hmac.new(
        (secret + "&").encode("utf-8"),
        reference_string_to_sign(method, params).encode("utf-8"),
        hashlib.sha1,
    ).digest()
    return base64.b64encode(digest).decode("ascii")


# --------------------------------------------------------------------------- requests


def query_pairs(request: httpx.Request) -> list[tuple[str, str]]:
    """The request's signed parameters as sent, in order, percent-decoded: its query for a
    GET, its form body for a POST (``+`` is not a space here)."""
    return signed_pairs(request)


def query_of(request: httpx.Request) -> dict[str, str]:
    """The request's query as a dict; fails the test when a name is sent twice."""
    pairs = query_pairs(request)
    names = [name for name, _ in pairs]
    assert len(names) == len(set(names)), f"a parameter is sent twice: {names}"
    return dict(pairs)


def signature_verifies(request: httpx.Request, secret: str = ACCESS_KEY_SECRET) -> bool:
    """Recompute the request's signature from what arrived, with the test's own signer."""
    params = query_of(request)
    sent = params.pop("Signature")
    return hmac.compare_digest(sent, reference_signature(request.method, params, secret))


# --------------------------------------------------------------------------- server doubles

Responder = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


def ok_body(**fields: Any) -> dict[str, Any]:
    return {"RequestId": "req-ok", "Success": True, **fields}


def empty_page(request: httpx.Request) -> httpx.Response:
    """An empty page of whatever page was asked for, a new id for a create, or a bare
    envelope for the other unpaged actions."""
    query = query_of(request)
    if query["Action"].startswith("Create"):
        # A create's answer carries the new id; one without it is an unknown outcome.
        return httpx.Response(200, json=ok_body(Data={"JobId": "j-new", "FirmwareId": "f-new"}))
    if "PageSize" not in query:
        return httpx.Response(200, json=ok_body(Data={}))
    return httpx.Response(
        200,
        json=ok_body(
            Total=0,
            PageCount=0,
            PageSize=int(query["PageSize"]),
            CurrentPage=int(query["CurrentPage"]),
            Data={},
        ),
    )


class Recorder:
    """A MockTransport handler that keeps every request and answers with ``respond``."""

    def __init__(self, respond: Responder = empty_page) -> None:
        self.respond = respond
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.respond(request)
        if isinstance(answer, Awaitable):
            answer = await answer
        return answer

    @property
    def queries(self) -> list[dict[str, str]]:
        return [query_of(r) for r in self.requests]

    @property
    def last(self) -> dict[str, str]:
        assert self.requests, "no request was sent"
        return query_of(self.requests[-1])


def answers(*responses: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
    """A responder that gives ``responses`` in turn, repeating the last one."""
    remaining = list(responses)

    def respond(request: httpx.Request) -> httpx.Response:
        return remaining.pop(0) if len(remaining) > 1 else remaining[0]

    return respond


def make_client(handler: Recorder | Responder, **options: Any) -> OTAClient:
    """An OTAClient on a MockTransport: test credentials, no rate limit, no backoff waits."""
    settings: dict[str, Any] = {
        "access_key_id": ACCESS_KEY_ID,
        "access_key_secret": ACCESS_KEY_SECRET,
        "endpoint": ENDPOINT,
        "qps": None,
        "retry": RetryPolicy(max_attempts=3, backoff_base=0.0),
    }
    settings.update(options)
    return OTAClient(transport=httpx.MockTransport(handler), **settings)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- fixtures


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fixture_bytes(name))
    return data


def serve(body: bytes | Mapping[str, Any], status: int = 200) -> Recorder:
    """A Recorder that answers every request with ``body`` (JSON for a mapping)."""
    if isinstance(body, bytes):
        content_type = "application/xml" if body.lstrip().startswith(b"<") else "application/json"
        return Recorder(
            lambda request: httpx.Response(
                status, content=body, headers={"Content-Type": content_type}
            )
        )
    return Recorder(lambda request: httpx.Response(status, json=dict(body)))


def names(items: Iterable[Any], field: str) -> list[Any]:
    return [getattr(item, field) for item in items]


class RecordingLimiter:
    """A limiter that never waits and records what the client tells it."""

    def __init__(self) -> None:
        self.acquired: list[str | None] = []
        self.reports: list[float | None] = []
        self.rate: float | None = None
        self.current_rate: float | None = None

    @property
    def granted(self) -> int:
        return len(self.acquired)

    @property
    def throttled(self) -> int:
        return len(self.reports)

    async def acquire(self, action: str | None = None) -> None:
        self.acquired.append(action)

    def report_throttled(self, retry_after: float | None = None) -> None:
        self.reports.append(retry_after)
