"""``OTAClient``: configuration, lifetime, and the generic call paths the actions use."""

from __future__ import annotations

import contextlib
import enum
import functools
import ipaddress
import logging
import math
import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar

import anyio
import httpx
from anyio.abc import TaskGroup

from ._constants import (
    API_VERSION,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_PAGES_AHEAD,
    DEFAULT_QPS,
    DEFAULT_TIMEOUT,
    KEEPALIVE_EXPIRY,
    REGION_ENDPOINT,
    USER_AGENT,
)
from ._credentials import Credentials
from ._envelope import Answer
from ._errors import OTAError, OutcomeUnknownError, ResponseError, ValidationError
from ._harvest import harvest, partitioned_harvest
from ._limiter import PerActionLimiter, RateLimiter, TokenBucket, Unlimited
from ._limits import check_size, check_text, shown
from ._methods import ActionMethods
from ._models import Page
from ._operation import Operation
from ._operations import OPERATIONS
from ._params import encode_raw
from ._parse import DecodeProblem
from ._redact import CallScope, Secrets
from ._retry import RetryClass, RetryPolicy
from ._sender import Sender
from ._shapes import Asked, EnvelopeOnly, count_problem
from ._signing import canonical_query

__all__ = ["OTAClient"]

log = logging.getLogger("otaclient")

_T = TypeVar("_T")
_R = TypeVar("_R")

_CLOSE_GRACE = 5.0
"""Seconds closing the connection pool may take, even when the caller is being cancelled."""


class _State(enum.Enum):
    """Where a client is in its life (the way httpx's ``ClientState`` works)."""

    NEW = "new"  # calls work, one page at a time for iter_*; not entered yet
    OPEN = "open"  # entered with `async with`: harvests fetch pages concurrently
    CLOSED = "closed"  # every call refused; cannot be entered again


_ENTRY_REFUSED = {
    _State.OPEN: "this OTAClient is already open: enter it with `async with` only once",
    _State.CLOSED: "this OTAClient is closed; create a new one",
}


class OTAClient(ActionMethods):
    """An async client for the IoT Platform OTA API (RPC, version 2018-01-20).

    >>> async def main():                                         # doctest: +SKIP
    ...     async with OTAClient(region_id="cn-shanghai") as client:
    ...         async for firmware in client.iter_ota_firmware(product_key="a1B2c3"):
    ...             print(firmware.firmware_id, firmware.dest_version)

    Credentials default to ``ALIBABA_CLOUD_ACCESS_KEY_ID``, ``ALIBABA_CLOUD_ACCESS_KEY_SECRET``
    and ``ALIBABA_CLOUD_SECURITY_TOKEN``. Every call made through the client shares one
    token bucket of ``qps`` requests per second (``qps=None``: no client-side limit); pass
    ``limiter=`` to share one bucket between clients of one account, or across processes
    with a ``RedisRateLimiter``. ``per_action_quotas=True`` paces each action at its own
    documented quota (5, 10 or 20/s) with ``qps`` as the overall cap (``None``: no cap).
    ``max_concurrency`` bounds requests in flight, separately
    from the rate. ``timeout`` (seconds, default 10) bounds each attempt as a whole, from
    connecting to the last byte of the answer; ``retry=RetryPolicy(deadline=...)`` bounds
    the whole call. Use it as ``async with OTAClient(...) as client`` (or call ``aclose()``):
    the ``iter_*`` methods fetch pages concurrently only inside that block.

    ``endpoint`` is a base URL. Cleartext ``http://`` is accepted for loopback hosts
    (127.0.0.0/8, ::1, ``localhost``) and with an injected ``transport=`` (the in-process
    simulator); to any other host it is refused, since the security token travels in the
    query string, unless ``allow_insecure_http=True``. A ``user:password@`` in the
    endpoint is refused (without echoing it): requests are authenticated by their
    signature, and a password in a URL would end up in reprs and logs.
    """

    def __init__(
        self,
        *,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
        endpoint: str | None = None,
        region_id: str | None = None,
        security_token: str | None = None,
        qps: float | None = DEFAULT_QPS,
        response_format: str = "json",
        iot_instance_id: str | None = None,
        limiter: RateLimiter | None = None,
        per_action_quotas: bool = False,
        retry: RetryPolicy | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        pages_ahead: int = DEFAULT_PAGES_AHEAD,
        transport: httpx.AsyncBaseTransport | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        credentials = Credentials.resolve(access_key_id, access_key_secret, security_token)
        _check_credentials(credentials)
        # Every spelling these can come back in, known to every OTAError and log record
        # for as long as this client lives.
        self._secrets = Secrets(credentials.access_key_secret)
        self._secrets.add(credentials.security_token, travels=True)
        fmt = _check_options(
            qps=qps,
            response_format=response_format,
            limiter=limiter,
            per_action_quotas=per_action_quotas,
            retry=retry,
            max_concurrency=max_concurrency,
            max_body_bytes=max_body_bytes,
            pages_ahead=pages_ahead,
            transport=transport,
            allow_insecure_http=allow_insecure_http,
        )
        if limiter is None and per_action_quotas:
            quotas = {name: op.quota for name, op in OPERATIONS.items()}
            limiter = PerActionLimiter(quotas, overall=qps)
        elif limiter is None:
            limiter = Unlimited() if qps is None else TokenBucket(qps)
        # An injected transport (the in-process simulator, a test double) decides itself
        # where bytes go; only the default network transport is held to https.
        self._base_url = _base_url(
            endpoint, region_id, cleartext_ok=allow_insecure_http or transport is not None
        )
        if iot_instance_id is not None and not (
            isinstance(iot_instance_id, str) and iot_instance_id and not check_text(iot_instance_id)
        ):
            raise ValidationError(
                f"iot_instance_id must be a non-empty string of valid Unicode, got "
                f"{shown(iot_instance_id)}"
            )
        attempt_timeout, phases = _timeouts(timeout)
        self._iot_instance_id = iot_instance_id
        self._query_budget = _query_budget(self._base_url, credentials, fmt)
        self._limiter = limiter
        self._pages_ahead = pages_ahead
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=phases,
            limits=httpx.Limits(
                max_connections=max_concurrency,
                max_keepalive_connections=max_concurrency,
                keepalive_expiry=KEEPALIVE_EXPIRY,
            ),
            # Only what the sender can inflate as it reads, with a cap (see Sender._read).
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
            verify=_tls_context(),
            follow_redirects=False,
        )
        self._sender = Sender(
            http=self._http,
            base_url=self._base_url,
            credentials=credentials,
            limiter=limiter,
            retry=retry or RetryPolicy(),
            response_format=fmt,
            max_concurrency=max_concurrency,
            max_body_bytes=max_body_bytes,
            attempt_timeout=attempt_timeout,
        )
        self._state = _State.NEW
        self._exit_stack: contextlib.AsyncExitStack | None = None
        self._task_group: TaskGroup | None = None
        self._pending: set[anyio.CancelScope] = set()  # calls under way, ended by a close

    # ------------------------------------------------------------------ lifetime

    async def __aenter__(self) -> OTAClient:
        if self._state is not _State.NEW:
            raise OTAError(_ENTRY_REFUSED[self._state])
        self._state = _State.OPEN  # before any await: a concurrent second entry is refused
        try:
            async with contextlib.AsyncExitStack() as stack:
                stack.push_async_callback(self._close_pool)
                task_group = anyio.create_task_group()
                await task_group.__aenter__()
                stack.push_async_callback(_stop_task_group, task_group)
                self._task_group = task_group
                self._exit_stack = stack.pop_all()
        except BaseException:
            self._state = _State.CLOSED
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._shut()
        stack, self._exit_stack = self._exit_stack, None
        self._task_group = None
        if stack is not None:
            # The task group is exited here, in the task that entered it (trio insists).
            await stack.aclose()
        else:
            await self._close_pool()

    async def aclose(self) -> None:
        """Close the client. Idempotent; the client cannot be used or entered again.

        Calls still under way (waiting for the rate limiter, or in flight) end at once
        with ``OTAError`` ("the client was closed"); a write that may already have been
        sent ends with ``OutcomeUnknownError`` instead. Harvests stop.
        """
        if self._state is _State.CLOSED:
            return
        self._shut()
        await self._close_pool()

    def _shut(self) -> None:
        self._state = _State.CLOSED
        for scope in list(self._pending):
            scope.cancel()
        if self._task_group is not None:
            self._task_group.cancel_scope.cancel()  # stop harvests nobody finished reading

    async def _close_pool(self) -> None:
        # Shielded, so that a caller being cancelled still releases its sockets; bounded,
        # so that closing never hangs.
        with anyio.move_on_after(_CLOSE_GRACE, shield=True):
            await self._http.aclose()

    def _check_open(self) -> None:
        if self._state is _State.CLOSED:
            raise OTAError(_ENTRY_REFUSED[_State.CLOSED])

    async def _request(
        self, op: Operation[Any], wire: Mapping[str, str], decode: Callable[[Answer], _T]
    ) -> _T:
        # Every call goes through here: closing the client ends it promptly, and what it
        # raises or logs, decoding included, is scrubbed of this client's secrets and of
        # the signature of each of its attempts.
        self._check_open()
        scope = anyio.CancelScope()
        self._pending.add(scope)
        with CallScope(self._secrets) as signed:
            try:
                with scope:
                    return decode(await self._sender.request(op, wire))
            finally:
                self._pending.discard(scope)
        # Reached only when a close cancelled the call (any other cancellation propagates).
        if signed and not op.is_read:
            raise OutcomeUnknownError(
                "the client was closed while the request was in flight",
                action=op.action,
                how_to_check=op.how_to_check,
            )
        when = "while the call was in flight" if signed else "before the call was sent"
        raise OTAError(f"{op.action}: the client was closed {when}", action=op.action)

    @property
    def limiter(self) -> RateLimiter:
        """The limiter every call of this client goes through."""
        return self._limiter

    @property
    def stats(self) -> dict[str, int]:
        """Counters: requests sent (``attempts``), ``retries``, ``throttled`` answers."""
        s = self._sender
        return {"attempts": s.attempts, "retries": s.retries, "throttled": s.throttled}

    def __repr__(self) -> str:
        return f"OTAClient(endpoint={self._base_url!r}, limiter={self._limiter!r})"

    # ------------------------------------------------------------------ generic paths

    async def call(
        self, action: str, params: Mapping[str, Any] | None = None, *, idempotent: bool = False
    ) -> dict[str, Any]:
        """Call any action by name with wire-named parameters; return the decoded body.

        The escape hatch for what the library does not model yet. It signs, paces and
        raises ``APIError`` like every other call; it retries after ambiguous failures only
        when ``idempotent=True`` (a read). Lists are sent as ``Name.1``, ``Name.2``, ...

        >>> body = await client.call(                                  # doctest: +SKIP
        ...     "QueryOTAJob", {"JobId": "j1"}, idempotent=True)
        """
        _check_call(action, params, idempotent)
        known = OPERATIONS.get(action)
        op = Operation(
            action,
            RetryClass.READ if idempotent else RetryClass.MUTATE,
            EnvelopeOnly(),
            how_to_check="Read the resource back to see whether the call took effect.",
            http_method=known.http_method if known else "POST",
        )
        wire = encode_raw(action, params or {})
        if self._iot_instance_id and "IotInstanceId" not in wire:
            wire["IotInstanceId"] = self._iot_instance_id
        check_size(wire, self._query_budget, action=action)
        return await self._request(op, wire, lambda answer: answer.body)

    async def _invoke(self, op: Operation[_R], arguments: Mapping[str, Any]) -> _R:
        wire = self._encode(op, arguments)
        return await self._request(op, wire, lambda answer: self._decode(op, answer, arguments))

    def _iterate(
        self,
        op: Operation[Page[_T]],
        arguments: Mapping[str, Any],
        on_page: Callable[[Page[Any]], None] | None = None,
        *,
        verify: bool = False,
        on_plan: Callable[[int], None] | None = None,
    ) -> AsyncIterator[_T]:
        # For the audit's progress display: `on_page` sees every page as it arrives,
        # re-reads included; `on_plan(n)` hears of every n page reads the harvest commits
        # to, so the two add up to the same count.
        action = op.action
        paged = op.paged
        assert paged is not None
        if not isinstance(verify, bool):
            raise ValidationError(f"verify must be True or False, got {verify!r}", action=action)
        base = {name: value for name, value in arguments.items() if name != "verify"}
        if base.get("page_size") is None:
            base["page_size"] = paged.max_page_size
        self._encode(op, {**base, "current_page": 1})  # refuse bad arguments up front

        def fetch_for(part: Any = None) -> Callable[[int], Awaitable[Page[Any]]]:
            arguments = base if part is None else {**base, paged.partition_by: part}

            async def fetch(number: int) -> Page[Any]:
                try:
                    page: Page[Any] = await self._invoke(op, {**arguments, "current_page": number})
                except _Miscounted as exc:
                    page = exc.answer  # a harvest weighs a miscounted page itself
                if on_page is not None:
                    on_page(page)
                return page

            return fetch

        shared = {
            "action": action,
            "id_field": paged.id_field,
            "page_size": base["page_size"],
            "pages_ahead": self._pages_ahead,
            "task_group": self._task_group,
            "verify": verify,
            "on_plan": on_plan,
        }
        if paged.max_offset is None:
            return harvest(fetch_for(), **shared)
        # A list deeper than paging reaches is split by the partition filter, unless the
        # caller already chose one value of it.
        split = () if base.get(paged.partition_by) is not None else paged.partitions
        return partitioned_harvest(
            fetch_for,
            split,
            partition_name=paged.partition_by,
            max_pages=paged.max_offset // base["page_size"],
            **shared,
        )

    def _encode(self, op: Operation[Any], arguments: Mapping[str, Any]) -> dict[str, str]:
        values = dict(arguments)
        for name, default in op.defaults.items():
            if values.get(name) is None:  # None: the default, as the methods document
                values[name] = default
        if values.get("iot_instance_id") is None:
            values["iot_instance_id"] = self._iot_instance_id
        wire = op.encode(values)
        check_size(wire, self._query_budget, action=op.action, names=op.python_names)
        return wire

    def _decode(self, op: Operation[_R], answer: Answer, arguments: Mapping[str, Any]) -> _R:
        paged = op.paged
        asked = None
        if paged is not None:
            asked = Asked(
                arguments.get("current_page") or 1,
                arguments.get("page_size") or paged.max_page_size,
                paging_ignored=bool(paged.unpaged_by and arguments.get(paged.unpaged_by)),
            )
        try:
            result = op.result.decode(answer.body, answer.request_id, asked)
        except DecodeProblem as exc:
            problem = f"the answer does not fit {op.action}'s documented shape: {exc}"
            if not op.is_read:
                # The write went through as far as anyone can tell: it may have happened.
                raise OutcomeUnknownError(
                    f"{problem} (request id {answer.request_id or 'unknown'})",
                    action=op.action,
                    how_to_check=op.how_to_check,
                ) from None
            raise ResponseError(
                problem,
                action=op.action,
                request_id=answer.request_id,
                http_status=answer.http_status,
            ) from None
        if isinstance(result, Page) and asked is not None and not asked.paging_ignored:
            miscount = count_problem(result)
            if miscount is not None:
                raise _Miscounted(
                    miscount,
                    action=op.action,
                    request_id=answer.request_id,
                    http_status=answer.http_status,
                    answer=result,
                )
        identity = getattr(op.result, "identity", "")
        if identity and not op.is_read and not getattr(result, identity, None):
            raise OutcomeUnknownError(
                f"the answer reports success but carries no {identity} "
                f"(request id {answer.request_id or 'unknown'})",
                action=op.action,
                how_to_check=op.how_to_check,
            )
        return result


async def _stop_task_group(task_group: TaskGroup) -> None:
    task_group.cancel_scope.cancel()
    # Exited with no exception: the block's own exception is not the task group's business.
    await task_group.__aexit__(None, None, None)


class _Miscounted(ResponseError):
    """A page holding more or fewer items than its ``Total`` says it should.

    For ``list_*`` that is an answer that cannot be trusted; a harvest takes ``answer``
    and treats the miscount as a sign that the list moved while it was read.
    """

    def __init__(
        self,
        message: str,
        *,
        action: str,
        request_id: str | None,
        http_status: int,
        answer: Page[Any],
    ) -> None:
        super().__init__(message, action=action, request_id=request_id, http_status=http_status)
        self.answer = answer


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Certificate verification on, with one context for every client: building one loads
    # the CA bundle (about 19 ms and 0.8 MB each, which adds up for a process of 100 clients).
    return httpx.create_ssl_context()


def _timeouts(timeout: object) -> tuple[float, httpx.Timeout]:
    # (whole-attempt bound, httpx's per-phase limits).
    if isinstance(timeout, httpx.Timeout):
        # Kept for compatibility: its phases go to httpx as given, and the attempt as a whole
        # gets the phases it runs through one after the other (an unset one: the default).
        phases = (timeout.connect, timeout.write, timeout.read)
        return sum(DEFAULT_TIMEOUT if p is None else p for p in phases), timeout
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not (math.isfinite(timeout) and timeout > 0)
    ):
        raise ValidationError(f"timeout must be a positive number of seconds, got {timeout!r}")
    seconds = float(timeout)
    # Connecting gets half the attempt: a connect that times out surely sent nothing, so
    # httpx's ConnectTimeout lets even a write be retried, where the whole-attempt bound
    # firing first would have left its outcome unknown.
    return seconds, httpx.Timeout(seconds, connect=seconds / 2)


def _base_url(endpoint: object, region_id: object, *, cleartext_ok: bool) -> str:
    if endpoint is not None and region_id is not None:
        raise ValidationError("give endpoint= or region_id=, not both")
    if endpoint is not None:
        return _checked_endpoint(endpoint, cleartext_ok)
    if region_id is not None:
        if not (
            isinstance(region_id, str) and len(region_id) <= 64 and _REGION.fullmatch(region_id)
        ):
            raise ValidationError(
                f"region_id must be a region such as 'cn-shanghai', got {region_id!r:.80}"
            )
        return REGION_ENDPOINT.format(region=region_id)
    raise ValidationError("give endpoint= (a base URL) or region_id= (e.g. 'cn-shanghai')")


_REGION = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*", re.ASCII)
_HOST = re.compile(r"[A-Za-z0-9._:-]+")  # a name, an IPv4 or an IPv6 address (no brackets)
_USERINFO = re.compile(r"^([^:/?#]*://)[^/?#]*@")


def _checked_endpoint(endpoint: object, cleartext_ok: bool) -> str:
    if not isinstance(endpoint, str):
        raise ValidationError(f"endpoint must be a URL string, got {type(endpoint).__name__}")
    # Never echo a password: every message shows the endpoint without its user:password@.
    shown = _USERINFO.sub(r"\1***@", endpoint)[:200]
    try:
        url = httpx.URL(endpoint)
    except (httpx.InvalidURL, ValueError):
        raise ValidationError(f"endpoint is not a valid URL: {shown!r}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValidationError(f"endpoint must be an http(s) URL, got {shown!r}")
    if not _HOST.fullmatch(url.raw_host.decode("ascii", "replace")):
        raise ValidationError(f"endpoint has no valid host name: {shown!r}")
    if url.port is not None and not 0 < url.port < 65536:
        raise ValidationError(f"endpoint has no valid port (1-65535): {shown!r}")
    if url.userinfo:
        raise ValidationError(
            f"endpoint must not carry user:password@ ({shown!r}): the API authenticates "
            "by the signature, and a password in a URL ends up in logs; remove it"
        )
    if url.query or url.fragment or "?" in endpoint or "#" in endpoint:
        raise ValidationError(
            f"endpoint must be a base URL without a query or fragment, got {shown!r}"
        )
    if url.scheme == "http" and not cleartext_ok and not _is_loopback(url.host):
        raise ValidationError(
            f"endpoint {shown!r} is cleartext http:// to a host that is not loopback: the "
            "security token and every request would cross the network readable by anyone "
            "on the way. Use https://, or pass allow_insecure_http=True (command line: "
            "--allow-insecure-http) to accept that risk."
        )
    return endpoint.rstrip("/")


def _is_loopback(host: str) -> bool:
    name = host.rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False  # a name: it may resolve anywhere
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


_URL_LIMIT = 65_536
"""The longest URL httpx builds (``httpx._urlparse.MAX_URL_LENGTH``); ours carry every
parameter in the query string, as the provider's SDKs do."""
_SIGNED_RESERVE = 512
"""Room kept for ``Action``, ``SignatureNonce``, ``Timestamp``, ``Signature`` and separators."""
_MIN_BUDGET = 4096
_ACTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,127}", re.ASCII)


def _check_options(
    *,
    qps: object,
    response_format: object,
    limiter: object,
    per_action_quotas: object,
    retry: object,
    max_concurrency: object,
    max_body_bytes: object,
    pages_ahead: object,
    transport: object,
    allow_insecure_http: object,
) -> str:
    """Refuse what the constructor cannot use; return the response format, lower-cased."""
    if not (isinstance(response_format, str) and response_format.lower() in ("json", "xml")):
        raise ValidationError(
            f"response_format must be 'json' or 'xml', got {shown(response_format)}"
        )
    if qps is not None and not (
        isinstance(qps, int | float)
        and not isinstance(qps, bool)
        and math.isfinite(qps)
        and qps > 0
    ):
        raise ValidationError(
            f"qps must be a positive number of requests per second, or None for no "
            f"client-side limit; got {shown(qps)}"
        )
    for name, flag in (
        ("per_action_quotas", per_action_quotas),
        ("allow_insecure_http", allow_insecure_http),
    ):
        if not isinstance(flag, bool):
            raise ValidationError(f"{name} must be True or False, got {shown(flag)}")
    if limiter is not None:
        if per_action_quotas:
            raise ValidationError(
                "give limiter= or per_action_quotas=True, not both: the limiter would "
                "replace the per-action quotas"
            )
        if not all(callable(getattr(limiter, m, None)) for m in ("acquire", "report_throttled")):
            raise ValidationError(
                f"limiter must be a RateLimiter (acquire() and report_throttled()), got "
                f"{type(limiter).__name__}"
            )
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise ValidationError(f"retry must be a RetryPolicy or None, got {type(retry).__name__}")
    for name, value in (
        ("max_concurrency", max_concurrency),
        ("pages_ahead", pages_ahead),
        ("max_body_bytes", max_body_bytes),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError(f"{name} must be a positive integer, got {shown(value)}")
    if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
        raise ValidationError(
            f"transport must be an httpx.AsyncBaseTransport (e.g. httpx.MockTransport), "
            f"got {type(transport).__name__}"
        )
    return response_format.lower()


def _check_credentials(credentials: Credentials) -> None:
    for name, value in (
        ("access_key_id", credentials.access_key_id),
        ("access_key_secret", credentials.access_key_secret),
        ("security_token", credentials.security_token),
    ):
        if value is None and name == "security_token":
            continue
        # Never echo the value: these messages may end up in logs.
        if not isinstance(value, str):
            raise ValidationError(f"{name} must be a string, got {type(value).__name__}")
        problem = check_text(value)
        if problem:
            raise ValidationError(f"{name} {problem}")


def _query_budget(base_url: str, credentials: Credentials, fmt: str) -> int:
    common = {
        "Format": fmt.upper(),
        "Version": API_VERSION,
        "AccessKeyId": credentials.access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SecurityToken": credentials.security_token or "",
    }
    budget = _URL_LIMIT - len(base_url) - 2 - len(canonical_query(common)) - _SIGNED_RESERVE
    if budget < _MIN_BUDGET:
        raise ValidationError(
            f"the endpoint ({len(base_url):,} characters) and the credentials (security "
            f"token: {len(credentials.security_token or ''):,}) leave {max(budget, 0):,} of a "
            f"request's {_URL_LIMIT:,} characters for parameters; at least {_MIN_BUDGET:,} "
            "are needed"
        )
    return budget


def _check_call(action: object, params: object, idempotent: object) -> None:
    if not (isinstance(action, str) and _ACTION_NAME.fullmatch(action)):
        raise ValidationError(
            f"action must be an API action name such as 'QueryOTAJob', got {shown(action)}"
        )
    if params is not None and not isinstance(params, Mapping):
        raise ValidationError(
            f"params must be a mapping of wire names to values, got {type(params).__name__}",
            action=action,
        )
    if not isinstance(idempotent, bool):
        raise ValidationError(f"idempotent must be True or False, got {shown(idempotent)}")
