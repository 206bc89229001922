"""The one request loop: pace -> sign -> send -> read -> open the envelope -> retry.

Every call of every action goes through ``Sender.request``. Each attempt takes a token from
the limiter, gets a fresh ``SignatureNonce`` and ``Timestamp``, and is signed anew; its
answer is read whole within ``max_body_bytes`` (``_body``), parsed (``_parse``) and opened
(``_envelope``). What to do with a failure is decided in one place (``_attempt`` names its
``FailureKind``, ``_retrying`` acts on it with the operation's ``RetryClass``, both from
``_retry``).

Credentials come from the client's provider on every attempt (``_signing_keys``), so a
retry or a page late in a long harvest is signed with the keys current at that moment.
When the service refuses the security token (``InvalidSecurityToken.Expired``,
``.Malformed``, ``.MismatchWithAccessKey``) the provider is asked to refresh once, and the
call is tried once more if that brought other keys: the service refused to authenticate
it, so even a write can be sent again.

Time is bounded twice: each attempt as a whole, from asking for credentials and connecting
to the last byte, by the client's ``timeout``; the whole call (limiter waits, attempts,
backoff) by ``RetryPolicy.deadline``. Neither a slow server, a hung credentials provider
nor a gzip bomb can hold a call or its memory.

Each attempt ends with one DEBUG record on the ``otaclient`` logger and the client's event
hooks (``_events``).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from typing import Any

import anyio
import attrs
import httpx

from ._body import BodyProblem, exchange
from ._config import URL_LIMIT
from ._constants import API_VERSION
from ._credentials import Credentials, same_keys
from ._envelope import Answer, open_envelope
from ._errors import (
    APIError,
    CredentialsError,
    NoAnswerError,
    OTAError,
    OutcomeUnknownError,
    ResponseError,
    ThrottlingError,
    ValidationError,
)
from ._events import Hooks, RequestEvent, ResponseEvent, RetryEvent, ThrottledEvent
from ._limiter import RateLimiter
from ._operation import Operation
from ._parse import DecodeProblem, RefusedBody, load_body
from ._redact import remember_signature
from ._retry import (
    FailureKind,
    RetryPolicy,
    is_rejected_token_code,
    is_transient_code,
    kind_of_transport_error,
)
from ._signing import canonical_query, percent_encode, sign
from ._signing_keys import SigningKeys

__all__ = ["Sender"]

log = logging.getLogger("otaclient")


@attrs.frozen
class _Failure:
    kind: FailureKind
    error: OTAError
    retry_after: float | None = None
    signed_with: Credentials | None = None
    """The credentials of the attempt, when it was signed."""


_WAITING, _CREDENTIALS, _SENDING = "waiting", "credentials", "sending"


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
        keys: SigningKeys,
        hooks: Hooks,
        limiter: RateLimiter,
        retry: RetryPolicy,
        response_format: str,
        max_concurrency: int,
        max_body_bytes: int,
        attempt_timeout: float,
    ) -> None:
        self._http = http
        # Parsed once: each request's URL is this one with its query (see _with_query).
        self._base_url = httpx.URL(base_url.rstrip("/") + "/")
        self._query_room = URL_LIMIT - len(str(self._base_url)) - 1
        self._hooks = hooks
        self._limiter = limiter
        self._retry = retry
        # fast_acquire: an uncontended slot costs no trip through the event loop (the request
        # itself yields soon enough); anyio's CapacityLimiter adds a shielded checkpoint.
        self._inflight = anyio.Semaphore(max_concurrency, fast_acquire=True)
        self._max_body_bytes = max_body_bytes
        self._attempt_timeout = attempt_timeout
        # AccessKeyId and SecurityToken are per attempt: temporary keys change over time.
        self._common = {
            "Format": response_format.upper(),
            "Version": API_VERSION,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
        }
        self._stamp: tuple[time.struct_time | None, str] = (None, "")
        self.keys = keys
        """Where each attempt's credentials come from."""
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
        renewed: Credentials | None = None  # for the one attempt after a refused token
        token_refreshed = False
        while True:
            attempt += 1
            outcome = await self._attempt(op, wire, progress, attempt, renewed)
            if isinstance(outcome, Answer):
                return outcome
            failure = outcome
            if not token_refreshed and _token_refused(failure):
                # The service refused to authenticate the attempt, so nothing happened:
                # with new keys even a write may go again, once.
                token_refreshed = True
                renewed = await self._renewed(failure)
                if renewed is None:
                    raise failure.error
                await self._retrying_after(op, attempt, 0.0, "credentials", failure, progress)
                continue
            renewed = None
            if failure.kind.is_ambiguous and not op.is_read:
                # The write may have happened: sending it again could do it twice.
                raise OutcomeUnknownError(
                    str(failure.error),
                    action=op.action,
                    how_to_check=op.how_to_check,
                    message=failure.error.message,
                ) from failure.error
            if failure.kind.is_final or attempt >= self._retry.attempts_allowed(failure.kind):
                raise failure.error
            wait = self._retry.backoff(attempt, failure.retry_after)
            deadline = self._retry.deadline
            if deadline is not None and anyio.current_time() - started + wait > deadline:
                failure.error.add_note(
                    f"gave up after {attempt} attempts: the next one would start "
                    f"past the call's deadline of {deadline:g} s"
                )
                raise failure.error
            reason = "throttled" if failure.kind is FailureKind.THROTTLED else "transient"
            await self._retrying_after(op, attempt, wait, reason, failure, progress)
            await anyio.sleep(wait)

    async def _retrying_after(
        self,
        op: Operation[Any],
        attempt: int,
        wait: float,
        reason: str,
        failure: _Failure,
        progress: _Progress | None,
    ) -> None:
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
        if self._hooks.retry:
            event = RetryEvent(op.action, attempt, wait, reason, failure.error)
            await self._hooks.emit(self._hooks.retry, event)

    async def _renewed(self, failure: _Failure) -> Credentials | None:
        """Other credentials than the refused ones, or ``None`` (with a note saying why)."""
        rejected = failure.signed_with
        assert rejected is not None
        keys = self.keys
        try:
            with anyio.fail_after(self._attempt_timeout):
                fresh = await keys.renewed(rejected)
        except TimeoutError:
            failure.error.add_note(
                f"refreshing the credentials from {keys.name} took longer than the attempt "
                f"timeout of {self._attempt_timeout:g} s"
            )
            return None
        except OTAError as exc:
            failure.error.add_note(f"refreshing the credentials from {keys.name} failed: {exc}")
            return None
        if same_keys(fresh, rejected):
            if not isinstance(keys.provider, Credentials):
                failure.error.add_note(f"{keys.name} had no other credentials to try")
            return None
        return fresh

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
        if progress.phase == _CREDENTIALS:
            name = self.keys.name
            return CredentialsError(
                f"{op.action}: the call's deadline of {deadline:g} s passed while it waited "
                f"for credentials from {name}; nothing was sent",
                provider=name,
            )
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
        self,
        op: Operation[Any],
        wire: Mapping[str, str],
        progress: _Progress | None,
        number: int,
        credentials: Credentials | None,
    ) -> Answer | _Failure:
        if progress is not None:
            progress.phase = _WAITING
        await self._limiter.acquire(op.action)
        sent_at: float | None = None
        outcome: Answer | _Failure
        async with self._inflight:
            # One bound for the whole attempt: asking the provider (which may have to
            # refresh), the request hooks and the exchange. (A bare scope: fail_after is
            # two generator context managers more, on every attempt.)
            bound = anyio.CancelScope(deadline=anyio.current_time() + self._attempt_timeout)
            try:
                with bound:
                    if credentials is None:
                        if progress is not None:
                            progress.phase = _CREDENTIALS
                        credentials = await self.keys.current()
                    try:
                        # Signed once a slot is free, so the Timestamp is the moment it leaves.
                        request = self._build(op, wire, credentials)
                    except (httpx.InvalidURL, UnicodeEncodeError) as exc:
                        return _Failure(FailureKind.FATAL, _request_refused(op, exc))
                    if progress is not None:
                        progress.phase = _SENDING
                    self.attempts += 1
                    if self._hooks.request:
                        event = RequestEvent(op.action, number, credentials.access_key_id)
                        await self._hooks.emit(self._hooks.request, event)
                    sent_at = time.perf_counter()
                    status, headers, content = await exchange(
                        self._http, request, self._max_body_bytes
                    )
                if bound.cancelled_caught:
                    raise TimeoutError
            except TimeoutError:
                outcome = self._timed_out(op, credentials, sent_at)
            except CredentialsError as exc:
                return _Failure(FailureKind.FATAL, exc)
            except BodyProblem as exc:
                outcome = _Failure(
                    exc.kind,
                    ResponseError(
                        f"HTTP {exc.http_status}: {exc}",
                        action=op.action,
                        http_status=exc.http_status,
                    ),
                )
            except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
                outcome = _Failure(kind_of_transport_error(exc), _httpx_failure(op, exc))
            else:
                outcome = self._opened(op, status, headers, content)
        if sent_at is None:
            return outcome  # nothing was sent: no attempt to report
        if isinstance(outcome, _Failure):
            outcome = attrs.evolve(outcome, signed_with=credentials)
        await self._report(op, number, outcome, time.perf_counter() - sent_at)
        return outcome

    def _timed_out(
        self, op: Operation[Any], credentials: Credentials | None, sent_at: float | None
    ) -> _Failure:
        timeout = self._attempt_timeout
        if credentials is None:
            name = self.keys.name
            return _Failure(
                FailureKind.NOT_SENT,
                CredentialsError(
                    f"{op.action}: credentials provider {name} gave no credentials within "
                    f"the attempt timeout of {timeout:g} s; nothing was sent",
                    provider=name,
                ),
            )
        if sent_at is None:
            return _Failure(
                FailureKind.NOT_SENT,
                NoAnswerError(
                    f"the request hooks took the attempt timeout of {timeout:g} s; "
                    "nothing was sent",
                    action=op.action,
                ),
            )
        return _Failure(
            FailureKind.TRANSIENT,
            NoAnswerError(
                f"no complete answer within the attempt timeout of {timeout:g} s",
                action=op.action,
            ),
        )

    async def _report(
        self, op: Operation[Any], number: int, outcome: Answer | _Failure, latency: float
    ) -> None:
        """One DEBUG record and the response (and throttled) hooks for a sent attempt."""
        status: int | None
        error: OTAError | None
        if isinstance(outcome, Answer):
            status, request_id = outcome.http_status, outcome.request_id
            error, throttled = None, False
        else:
            error = outcome.error
            status = getattr(error, "http_status", None)
            request_id = getattr(error, "request_id", None)
            throttled = outcome.kind is FailureKind.THROTTLED
        if log.isEnabledFor(logging.DEBUG):
            failed = (
                ""
                if error is None
                else f", failed: {getattr(error, 'code', None) or type(error).__name__}"
            )
            log.debug(
                "%s attempt %d: %s, request id %s, %.1f ms%s%s",
                op.action,
                number,
                f"HTTP {status}" if status is not None else "no answer",
                request_id or "none",
                latency * 1000,
                ", throttled" if throttled else "",
                failed,
                extra={
                    "otaclient_attempt": {
                        "action": op.action,
                        "attempt": number,
                        "http_status": status,
                        "request_id": request_id,
                        "latency_ms": round(latency * 1000, 3),
                        "throttled": throttled,
                    }
                },
            )
        hooks = self._hooks
        if hooks.response:
            event = ResponseEvent(op.action, number, status, request_id, latency, throttled, error)
            await hooks.emit(hooks.response, event)
        if throttled and hooks.throttled:
            assert isinstance(outcome, _Failure)
            event_t = ThrottledEvent(op.action, number, request_id, outcome.retry_after)
            await hooks.emit(hooks.throttled, event_t)

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

    def _build(
        self, op: Operation[Any], wire: Mapping[str, str], credentials: Credentials
    ) -> httpx.Request:
        params = dict(self._common)
        params["AccessKeyId"] = credentials.access_key_id
        if credentials.security_token:
            params["SecurityToken"] = credentials.security_token
        params["Action"] = op.action
        params.update(wire)
        params["SignatureNonce"] = secrets.token_hex(16)
        params["Timestamp"] = self._timestamp()
        query = canonical_query(params)
        signature = sign(op.http_method, query, credentials.access_key_secret)
        remember_signature(signature)
        query = f"{query}&Signature={percent_encode(signature)}"
        if len(query) > self._query_room:
            # Checked before the call (_limits.check_size) for the credentials of then;
            # longer ones since may not fit. What httpx says of such a URL:
            raise httpx.InvalidURL("URL too long")
        url = _with_query(self._base_url, query)
        # What build_request would make of it (the client's headers; send() adds the
        # timeouts), minus its URL parse and cookie merge: this client keeps no cookies.
        return httpx.Request(op.http_method, url, headers=self._http.headers)

    def _timestamp(self) -> str:
        """The ``Timestamp`` of a request sent now (formatted once per second)."""
        now = time.gmtime()
        stamped, text = self._stamp
        if now != stamped:
            text = time.strftime("%Y-%m-%dT%H:%M:%SZ", now)
            self._stamp = (now, text)
        return text


def _with_query(base: httpx.URL, query: str) -> httpx.URL:
    """``base`` with ``query``, which holds percent-encoded names and values only.

    ``httpx.URL(text)`` parses and re-checks the whole URL character by character (60-100
    us of a call's 2 ms): nothing here needs it, since every character of ``query`` is
    one ``percent_encode`` wrote, which httpx would keep as it is. It relies on httpx's
    private ``URL._uri_reference`` (a NamedTuple since httpx 0.23; pyproject caps httpx
    below 1): tests/unit/test_request_building.py checks it against httpx's own parse.
    """
    url = httpx.URL.__new__(httpx.URL)
    url._uri_reference = base._uri_reference._replace(query=query)
    return url


def _what_failed(error: OTAError) -> str:
    return getattr(error, "code", None) or type(error).__name__


def _token_refused(failure: _Failure) -> bool:
    error = failure.error
    return (
        failure.signed_with is not None
        and isinstance(error, APIError)
        and is_rejected_token_code(error.code)
    )


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
