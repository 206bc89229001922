"""The one request loop: pace -> sign -> send -> read -> classify -> retry.

Every call of every action goes through ``Sender.request``. Each attempt takes a token from
the limiter, gets a fresh ``SignatureNonce`` and ``Timestamp``, and is signed anew. What to do
with a failure is decided in one place (``_failure``, with the tables in ``_retry``).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

import anyio
import attrs
import httpx

from ._constants import API_VERSION
from ._credentials import Credentials
from ._decode import DecodeProblem, get_key, load_body
from ._errors import (
    APIError,
    OTAError,
    OutcomeUnknownError,
    ResponseError,
    ThrottlingError,
    TransportError,
)
from ._limiter import RateLimiter
from ._logging import remember_signature, scrub
from ._operations import Operation
from ._retry import RetryPolicy, is_throttling_code, is_transient_code, kind_of_transport_error
from ._signing import canonical_query, percent_encode, sign

__all__ = ["Answer", "Sender"]

log = logging.getLogger("otaclient")


@attrs.frozen
class Answer:
    """A successful, parsed answer."""

    body: dict[str, Any]
    request_id: str | None
    http_status: int


@attrs.frozen
class _Failure:
    kind: str  # not_sent | throttled | transient | fatal
    error: OTAError
    retry_after: float | None = None


class Sender:
    """Signs and sends requests for one client, with its limiter, pool and retry policy."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        base_url: str,
        credentials: Credentials,
        limiter: RateLimiter,
        retry: RetryPolicy,
        response_format: str,
        max_concurrency: int,
        max_body_bytes: int,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/") + "/"
        self._credentials = credentials
        self._limiter = limiter
        self._retry = retry
        # fast_acquire: an uncontended slot costs no trip through the event loop (the request
        # itself yields soon enough); anyio's CapacityLimiter adds a shielded checkpoint.
        self._inflight = anyio.Semaphore(max_concurrency, fast_acquire=True)
        self._max_body_bytes = max_body_bytes
        common = {
            "Format": response_format.upper(),
            "Version": API_VERSION,
            "AccessKeyId": credentials.access_key_id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
        }
        if credentials.security_token:
            common["SecurityToken"] = credentials.security_token
        self._common = common
        self.attempts = 0
        """Requests sent so far (retries included)."""
        self.retries = 0
        """Attempts that were retries of an earlier one."""
        self.throttled = 0
        """Throttling answers received so far."""

    async def request(self, op: Operation, wire: Mapping[str, str]) -> Answer:
        """Call ``op`` with ``wire`` parameters, retrying as its retry class allows."""
        started = anyio.current_time()
        attempt = 0
        while True:
            attempt += 1
            failure = await self._attempt(op, wire)
            if isinstance(failure, Answer):
                return failure
            if failure.kind == "transient" and not op.is_read:
                # The write may have happened: sending it again could do it twice.
                raise OutcomeUnknownError(
                    str(failure.error), action=op.action, how_to_check=op.how_to_check
                ) from failure.error
            if failure.kind == "fatal" or attempt >= self._retry.max_attempts:
                raise failure.error
            wait = self._retry.backoff(attempt, failure.retry_after)
            deadline = self._retry.deadline
            if deadline is not None and anyio.current_time() - started + wait > deadline:
                raise failure.error
            log.info(
                "%s attempt %d failed (%s), retrying in %.2fs",
                op.action,
                attempt,
                failure.error,
                wait,
            )
            self.retries += 1
            await anyio.sleep(wait)

    async def _attempt(self, op: Operation, wire: Mapping[str, str]) -> Answer | _Failure:
        await self._limiter.acquire(op.action)
        self.attempts += 1
        try:
            async with self._inflight:
                status, headers, content = await self._send(op, wire)
        except httpx.TransportError as exc:
            error = TransportError(f"{type(exc).__name__}: {exc}", action=op.action)
            error.__cause__ = exc
            return _Failure(kind_of_transport_error(exc), error)
        except _TooLarge as exc:
            return _Failure("fatal", ResponseError(str(exc), action=op.action))
        try:
            return self._interpret(op, status, headers, content)
        except APIError as exc:
            return self._api_failure(exc)
        except ResponseError as exc:
            # A truncated or garbled body (or a proxy's page) is worth another read.
            return _Failure("transient", exc)

    def _api_failure(self, exc: APIError) -> _Failure:
        if isinstance(exc, ThrottlingError):
            self.throttled += 1
            self._limiter.report_throttled(exc.retry_after)
            return _Failure("throttled", exc, exc.retry_after)
        if is_transient_code(exc.code, exc.http_status):
            return _Failure("transient", exc, exc.retry_after)
        return _Failure("fatal", exc)

    async def _send(
        self, op: Operation, wire: Mapping[str, str]
    ) -> tuple[int, httpx.Headers, bytes]:
        params = dict(self._common)
        params["Action"] = op.action
        params.update(wire)
        params["SignatureNonce"] = uuid.uuid4().hex
        params["Timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        query = canonical_query(params)
        signature = sign(op.method, query, self._credentials.access_key_secret)
        remember_signature(signature)
        url = f"{self._base_url}?{query}&Signature={percent_encode(signature)}"
        request = self._http.build_request(op.method, url)
        response = await self._http.send(request, stream=True)
        try:
            content = await self._read(response)
        finally:
            await response.aclose()
            # httpx 0.28 leaves the response and its stream pointing at each other
            # (encode/httpx#3733): without this every request leaves garbage for the cycle
            # collector, which pauses every client of the process when it runs.
            response.stream = _EMPTY_STREAM
        return response.status_code, response.headers, content

    async def _read(self, response: httpx.Response) -> bytes:
        cap = self._max_body_bytes
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise _TooLarge(f"response body of {declared} bytes exceeds the {cap}-byte cap")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise _TooLarge(f"response body exceeds the {cap}-byte cap")
            chunks.append(chunk)
        return b"".join(chunks)

    def _interpret(
        self, op: Operation, status: int, headers: httpx.Headers, content: bytes
    ) -> Answer:
        try:
            body = load_body(content)
        except DecodeProblem as exc:
            raise ResponseError(
                f"HTTP {status}: {exc}", action=op.action, http_status=status
            ) from None
        request_id = _text(get_key(body, "RequestId"))
        success = get_key(body, "Success")
        code = _text(get_key(body, "Code"))
        failed = status >= 400 or success is False or str(success).lower() == "false"
        if not failed and success is None and code:
            failed = True  # no Success flag but an error code: an error body after all
        if failed:
            message = _text(get_key(body, "Message")) or _text(get_key(body, "ErrorMessage"))
            if message:
                message = self._scrub(message)
            error_type = ThrottlingError if is_throttling_code(code) else APIError
            raise error_type(
                action=op.action,
                code=code or f"HTTP{status}",
                message=message or "",
                request_id=request_id,
                http_status=status,
                host_id=_text(get_key(body, "HostId")),
                recommend=_text(get_key(body, "Recommend")),
                retry_after=_retry_after(headers),
            )
        return Answer(body, request_id, status)

    def _scrub(self, text: str) -> str:
        return scrub(text)


_EMPTY_STREAM = httpx.ByteStream(b"")


class _TooLarge(Exception):
    pass


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def _retry_after(headers: httpx.Headers) -> float | None:
    for name in ("x-acs-retry-after", "retry-after"):
        raw = headers.get(name)
        if raw is not None:
            try:
                value = float(raw)
            except ValueError:
                continue
            if value <= 0:
                continue
            # The gateway's x-acs-retry-after is in milliseconds; HTTP's Retry-After in seconds.
            return value / 1000 if name == "x-acs-retry-after" else value
    return None
