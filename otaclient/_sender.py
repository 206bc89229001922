"""The one request loop: pace -> sign -> send -> read -> classify -> retry.

Every call of every action goes through ``Sender.request``. Each attempt takes a token from
the limiter, gets a fresh ``SignatureNonce`` and ``Timestamp``, and is signed anew. What to do
with a failure is decided in one place (``_attempt`` names its kind, ``_retrying`` acts on
it, with the tables in ``_retry``).

Time is bounded twice: each attempt as a whole, from connecting to the last byte, by the
client's ``timeout``; the whole call (limiter waits, attempts, backoff) by
``RetryPolicy.deadline``. Bodies are read from the raw stream and inflated here, counted
against ``max_body_bytes`` as they come, so neither a slow server nor a gzip bomb can hold
a call or its memory; nothing here depends on which transport httpx runs on, as long as
it hands over the body as it came off the wire.
"""

from __future__ import annotations

import logging
import reprlib
import time
import uuid
import zlib
from collections.abc import Mapping
from typing import Any

import anyio
import attrs
import httpx

from ._constants import API_VERSION
from ._credentials import Credentials
from ._decode import DecodeProblem, RefusedBody, get_key, load_body
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
from ._operations import Operation
from ._redact import remember_signature, scrub
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
    kind: str  # not_sent | throttled | transient | unreadable | fatal (see _retry)
    error: OTAError
    retry_after: float | None = None


_AMBIGUOUS = frozenset({"transient", "unreadable"})
"""Failures after which a write may or may not have happened."""
_FINAL = frozenset({"fatal", "unreadable"})
"""Failures no retry can mend."""
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

    async def request(self, op: Operation, wire: Mapping[str, str]) -> Answer:
        """Call ``op`` with ``wire`` parameters, retrying as its retry class allows."""
        deadline = self._retry.deadline
        if deadline is None:
            return await self._retrying(op, wire, None)
        progress = _Progress()
        with anyio.move_on_after(deadline):
            return await self._retrying(op, wire, progress)
        raise self._past_deadline(op, progress, deadline)

    async def _retrying(
        self, op: Operation, wire: Mapping[str, str], progress: _Progress | None
    ) -> Answer:
        started = anyio.current_time()
        attempt = 0
        while True:
            attempt += 1
            failure = await self._attempt(op, wire, progress)
            if isinstance(failure, Answer):
                return failure
            if failure.kind in _AMBIGUOUS and not op.is_read:
                # The write may have happened: sending it again could do it twice.
                raise OutcomeUnknownError(
                    str(failure.error),
                    action=op.action,
                    how_to_check=op.how_to_check,
                    message=failure.error.message,
                ) from failure.error
            if failure.kind in _FINAL or attempt >= self._retry.max_attempts:
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

    def _past_deadline(self, op: Operation, progress: _Progress, deadline: float) -> OTAError:
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
        self, op: Operation, wire: Mapping[str, str], progress: _Progress | None
    ) -> Answer | _Failure:
        if progress is not None:
            progress.phase = _WAITING
        await self._limiter.acquire(op.action)
        async with self._inflight:
            try:
                # Signed once a slot is free, so the Timestamp is the moment it leaves.
                request = self._build(op, wire)
            except (httpx.InvalidURL, UnicodeEncodeError) as exc:
                return _Failure("fatal", _request_refused(op, exc))
            if progress is not None:
                progress.phase = _SENDING
            self.attempts += 1
            try:
                with anyio.fail_after(self._attempt_timeout):
                    status, headers, content = await self._exchange(request)
            except TimeoutError:
                timeout = self._attempt_timeout
                return _Failure(
                    "transient",
                    NoAnswerError(
                        f"no complete answer within the attempt timeout of {timeout:g} s",
                        action=op.action,
                    ),
                )
            except _BodyProblem as exc:
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
        try:
            body = load_body(content)
        except DecodeProblem as exc:
            if status != 429:
                # A truncated or garbled body (or a proxy's page) is worth another read;
                # a refused one (hostile or absurdly deep) will not get better.
                kind = "unreadable" if isinstance(exc, RefusedBody) else "transient"
                return _Failure(
                    kind,
                    ResponseError(f"HTTP {status}: {exc}", action=op.action, http_status=status),
                )
            body = {}  # a 429 is throttling whatever its body is
        try:
            return self._interpret(op, status, headers, body)
        except APIError as exc:
            return self._api_failure(exc)
        except ResponseError as exc:
            return _Failure("transient", exc)

    def _api_failure(self, exc: APIError) -> _Failure:
        if isinstance(exc, ThrottlingError):
            self.throttled += 1
            self._limiter.report_throttled(exc.retry_after)
            return _Failure("throttled", exc, exc.retry_after)
        if is_transient_code(exc.code, exc.http_status):
            return _Failure("transient", exc, exc.retry_after)
        return _Failure("fatal", exc)

    def _build(self, op: Operation, wire: Mapping[str, str]) -> httpx.Request:
        params = dict(self._common)
        params["Action"] = op.action
        params.update(wire)
        params["SignatureNonce"] = uuid.uuid4().hex
        params["Timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        query = canonical_query(params)
        signature = sign(op.method, query, self._credentials.access_key_secret)
        remember_signature(signature)
        url = f"{self._base_url}?{query}&Signature={percent_encode(signature)}"
        return self._http.build_request(op.method, url)

    async def _exchange(self, request: httpx.Request) -> tuple[int, httpx.Headers, bytes]:
        response = await self._http.send(request, stream=True)
        try:
            content = await self._read(response)
        except _BodyProblem as exc:
            exc.http_status = response.status_code
            raise
        finally:
            await response.aclose()
            # httpx 0.28 leaves the response and its stream pointing at each other
            # (encode/httpx#3733): without this every request leaves garbage for the cycle
            # collector, which pauses every client of the process when it runs.
            response.stream = _EMPTY_STREAM
        return response.status_code, response.headers, content

    async def _read(self, response: httpx.Response) -> bytes:
        # The raw stream, decompressed here as it comes: httpx's own decoding inflates a
        # whole chunk before anyone can count it (a gzip bomb peaked at 45x the cap).
        cap = self._max_body_bytes
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

    def _interpret(
        self, op: Operation, status: int, headers: httpx.Headers, body: dict[str, Any]
    ) -> Answer:
        request_id = _text(get_key(body, "RequestId"))
        success = get_key(body, "Success")
        code = _text(get_key(body, "Code"))
        # Only an explicit true is a success: 0, "no" or "False " are not.
        failed = status >= 400 or not (success is True or _is_true_text(success))
        if failed and status < 400 and not code:
            # Both dialects always send the flag; a body that says neither yes nor no, and
            # names no error, cannot be trusted either way (for a write: outcome unknown).
            flag = "no Success flag" if success is None else f"Success={_preview(success)}"
            raise ResponseError(
                f"HTTP {status}: the answer has {flag} and no error Code, so it is not a success",
                action=op.action,
                request_id=request_id,
                http_status=status,
            )
        if failed:
            message = _text(get_key(body, "Message")) or _text(get_key(body, "ErrorMessage"))
            if message:
                message = self._scrub(message)
            throttled = status == 429 or is_throttling_code(code)
            error_type = ThrottlingError if throttled else APIError
            raise error_type(
                action=op.action,
                code=code or f"HTTP{status}",
                message=message or None,
                request_id=request_id,
                http_status=status,
                host_id=_text(get_key(body, "HostId")),
                recommend=_text(get_key(body, "Recommend")),
                retry_after=self._retry.retry_hint(headers),
            )
        return Answer(body, request_id, status)

    def _scrub(self, text: str) -> str:
        return scrub(text)


_EMPTY_STREAM = httpx.ByteStream(b"")


class _BodyProblem(Exception):
    """The body could not be read whole: ``kind`` says how to retry (see ``_retry``)."""

    kind = "transient"
    http_status: int | None = None


class _TooLarge(_BodyProblem):
    kind = "unreadable"


class _Unsupported(_BodyProblem):
    kind = "unreadable"


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
                    raise _BodyProblem("the deflate body has data after its end")
                self._z = zlib.decompressobj(_GZIP)  # a gzip body may hold several members
            try:
                # In steps: zlib builds each output twice over (blocks, then one bytes).
                piece = self._z.decompress(data, min(self._room + 1, _STEP))
            except zlib.error as exc:
                raise _BodyProblem(f"corrupt {self._coding} body ({exc})") from None
            self._room -= len(piece)
            if self._room < 0:
                raise _TooLarge(f"response body exceeds the {self._cap}-byte cap once decompressed")
            out.append(piece)
            data = self._z.unused_data if self._z.eof else self._z.unconsumed_tail

    def finish(self) -> None:
        """Check that the compressed body ended where its own format says it ends."""
        if self._fed and (self._undecided is not None or not self._z.eof):
            raise _BodyProblem(f"the {self._coding} body ends early (truncated)")


def _is_zlib_header(data: bytes) -> bool:
    return data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def _is_true_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() == "true"


def _preview(value: Any) -> str:
    text = reprlib.repr(value)  # depth-limited: a hostile body may nest 1,000 levels
    return text if len(text) <= 40 else text[:37] + "..."


def _request_refused(op: Operation, exc: Exception) -> OTAError:
    # Raised while building the request, before anything is sent: the arguments are at fault.
    return ValidationError(
        f"the request cannot be sent: {type(exc).__name__}: {exc}", action=op.action
    )


def _httpx_failure(op: Operation, exc: Exception) -> OTAError:
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
