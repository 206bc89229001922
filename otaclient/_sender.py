"""The one request loop: pace -> sign -> send -> read -> open the envelope -> retry.

Every call of every action goes through ``Sender.request``. Each attempt takes a token from
the limiter, gets a fresh ``SignatureNonce`` and ``Timestamp``, and is signed anew; its
answer is read whole within ``max_body_bytes`` (``_body``), parsed (``_parse``) and opened
(``_envelope``). What to do with a failure is decided in one place (``_attempt`` names its
``FailureKind``, ``_retrying`` acts on it with the operation's ``RetryClass``, both from
``_retry``).

Time is bounded twice: each attempt as a whole, from connecting to the last byte, by the
client's ``timeout``; the whole call (limiter waits, attempts, backoff) by
``RetryPolicy.deadline``. Neither a slow server nor a gzip bomb can hold a call or its
memory.
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

from ._body import BodyProblem, exchange
from ._constants import API_VERSION
from ._credentials import Credentials
from ._envelope import Answer, open_envelope
from ._errors import (
    APIError,
    NoAnswerError,
    OTAError,
    OutcomeUnknownError,
    ResponseError,
    ThrottlingError,
    ValidationError,
)
from ._limiter import RateLimiter
from ._operation import Operation
from ._parse import DecodeProblem, RefusedBody, load_body
from ._redact import remember_signature
from ._retry import FailureKind, RetryPolicy, is_transient_code, kind_of_transport_error
from ._signing import canonical_query, percent_encode, sign

__all__ = ["Sender"]

log = logging.getLogger("otaclient")


@attrs.frozen
class _Failure:
    kind: FailureKind
    error: OTAError
    retry_after: float | None = None


_WAITING, _SENDING = "waiting", "sending"


class _Progress:
    """Where a call with a deadline is, so the deadline can say what it interrupted."""

    __slots__ = ("last", "phase")

    def __init__(self) -> None:
        self.phase = _WAITING
        self.last: _Failure | None = None


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
        attempt_timeout: float,
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
        self._attempt_timeout = attempt_timeout
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

    async def request(self, op: Operation[Any], wire: Mapping[str, str]) -> Answer:
        """Call ``op`` with ``wire`` parameters, retrying as its retry class allows."""
        deadline = self._retry.deadline
        if deadline is None:
            return await self._retrying(op, wire, None)
        progress = _Progress()
        with anyio.move_on_after(deadline):
            return await self._retrying(op, wire, progress)
        raise self._past_deadline(op, progress, deadline)

    async def _retrying(
        self, op: Operation[Any], wire: Mapping[str, str], progress: _Progress | None
    ) -> Answer:
        started = anyio.current_time()
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._attempt(op, wire, progress)
            if isinstance(outcome, Answer):
                return outcome
            failure = outcome
            if failure.kind.is_ambiguous and not op.is_read:
                # The write may have happened: sending it again could do it twice.
                raise OutcomeUnknownError(
                    str(failure.error),
                    action=op.action,
                    how_to_check=op.how_to_check,
                    message=failure.error.message,
                ) from failure.error
            if failure.kind.is_final or attempt >= self._retry.max_attempts:
                raise failure.error
            wait = self._retry.backoff(attempt, failure.retry_after)
            deadline = self._retry.deadline
            if deadline is not None and anyio.current_time() - started + wait > deadline:
                failure.error.add_note(
                    f"gave up after {attempt} attempts: the next one would start "
                    f"past the call's deadline of {deadline:g} s"
                )
                raise failure.error
            log.info(
                "%s attempt %d failed (%s), retrying in %.2fs",
                op.action,
                attempt,
                failure.error,
                wait,
            )
            self.retries += 1
            if progress is not None:
                progress.last = failure
                progress.phase = _WAITING
            await anyio.sleep(wait)

    def _past_deadline(self, op: Operation[Any], progress: _Progress, deadline: float) -> OTAError:
        if progress.phase == _SENDING:
            error: OTAError = NoAnswerError(
                f"no complete answer before the call's deadline of {deadline:g} s",
                action=op.action,
            )
            if op.is_read:
                return error
            outcome = OutcomeUnknownError(
                str(error), action=op.action, how_to_check=op.how_to_check
            )
            outcome.__cause__ = error
            return outcome
        if progress.last is not None:
            error = progress.last.error
            error.add_note(f"gave up: the call's deadline of {deadline:g} s passed")
            return error
        return NoAnswerError(
            f"the call's deadline of {deadline:g} s passed while it waited for the rate "
            "limiter; nothing was sent",
            action=op.action,
        )

    async def _attempt(
        self, op: Operation[Any], wire: Mapping[str, str], progress: _Progress | None
    ) -> Answer | _Failure:
        if progress is not None:
            progress.phase = _WAITING
        await self._limiter.acquire(op.action)
        async with self._inflight:
            try:
                # Signed once a slot is free, so the Timestamp is the moment it leaves.
                request = self._build(op, wire)
            except (httpx.InvalidURL, UnicodeEncodeError) as exc:
                return _Failure(FailureKind.FATAL, _request_refused(op, exc))
            if progress is not None:
                progress.phase = _SENDING
            self.attempts += 1
            try:
                with anyio.fail_after(self._attempt_timeout):
                    status, headers, content = await exchange(
                        self._http, request, self._max_body_bytes
                    )
            except TimeoutError:
                timeout = self._attempt_timeout
                return _Failure(
                    FailureKind.TRANSIENT,
                    NoAnswerError(
                        f"no complete answer within the attempt timeout of {timeout:g} s",
                        action=op.action,
                    ),
                )
            except BodyProblem as exc:
                return _Failure(
                    exc.kind,
                    ResponseError(
                        f"HTTP {exc.http_status}: {exc}",
                        action=op.action,
                        http_status=exc.http_status,
                    ),
                )
            except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
                return _Failure(kind_of_transport_error(exc), _httpx_failure(op, exc))
        return self._opened(op, status, headers, content)

    def _opened(
        self, op: Operation[Any], status: int, headers: httpx.Headers, content: bytes
    ) -> Answer | _Failure:
        try:
            body = load_body(content)
        except DecodeProblem as exc:
            if status != 429:
                # A truncated or garbled body (or a proxy's page) is worth another read;
                # a refused one (hostile or absurdly deep) will not get better.
                refused = isinstance(exc, RefusedBody)
                return _Failure(
                    FailureKind.UNREADABLE if refused else FailureKind.TRANSIENT,
                    ResponseError(f"HTTP {status}: {exc}", action=op.action, http_status=status),
                )
            body = {}  # a 429 is throttling whatever its body is
        try:
            return open_envelope(op.action, status, headers, body, self._retry)
        except APIError as exc:
            return self._api_failure(exc)
        except ResponseError as exc:
            return _Failure(FailureKind.TRANSIENT, exc)

    def _api_failure(self, exc: APIError) -> _Failure:
        if isinstance(exc, ThrottlingError):
            self.throttled += 1
            self._limiter.report_throttled(exc.retry_after)
            return _Failure(FailureKind.THROTTLED, exc, exc.retry_after)
        if is_transient_code(exc.code, exc.http_status):
            return _Failure(FailureKind.TRANSIENT, exc, exc.retry_after)
        return _Failure(FailureKind.FATAL, exc)

    def _build(self, op: Operation[Any], wire: Mapping[str, str]) -> httpx.Request:
        params = dict(self._common)
        params["Action"] = op.action
        params.update(wire)
        params["SignatureNonce"] = uuid.uuid4().hex
        params["Timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        query = canonical_query(params)
        signature = sign(op.http_method, query, self._credentials.access_key_secret)
        remember_signature(signature)
        url = f"{self._base_url}?{query}&Signature={percent_encode(signature)}"
        return self._http.build_request(op.http_method, url)


def _request_refused(op: Operation[Any], exc: Exception) -> OTAError:
    # Raised while building the request, before anything is sent: the arguments are at fault.
    return ValidationError(
        f"the request cannot be sent: {type(exc).__name__}: {exc}", action=op.action
    )


def _httpx_failure(op: Operation[Any], exc: Exception) -> OTAError:
    text = f"{type(exc).__name__}: {exc}"
    error: OTAError
    if isinstance(exc, httpx.DecodingError | httpx.TooManyRedirects):
        error = ResponseError(text, action=op.action)  # an answer came, but not a usable one
    elif isinstance(exc, httpx.InvalidURL):
        error = _request_refused(op, exc)
    else:
        error = NoAnswerError(text, action=op.action)
    error.__cause__ = exc
    return error
