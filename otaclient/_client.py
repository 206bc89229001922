"""``OTAClient``: configuration, lifetime, and the generic call paths the actions use."""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any

import anyio
import httpx
from anyio.abc import TaskGroup

from ._actions import Actions
from ._constants import (
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
from ._decode import DecodeProblem
from ._errors import OTAError, OutcomeUnknownError, ResponseError, ValidationError
from ._harvest import harvest, partitioned_harvest
from ._limiter import PerActionLimiter, RateLimiter, TokenBucket, Unlimited
from ._models import Page
from ._operations import MUTATE, OPERATIONS, READ, EnvelopeOnly, Operation, count_problem
from ._retry import RetryPolicy
from ._sender import Answer, Sender

__all__ = ["OTAClient"]

log = logging.getLogger("otaclient")


class OTAClient(Actions):
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
    from the rate. Use it as ``async with OTAClient(...) as client`` (or call ``aclose()``):
    the ``iter_*`` methods fetch pages concurrently only inside that block.
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
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        pages_ahead: int = DEFAULT_PAGES_AHEAD,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        credentials = Credentials.resolve(access_key_id, access_key_secret, security_token)
        fmt = str(response_format).lower()
        if fmt not in ("json", "xml"):
            raise ValidationError(f"response_format must be 'json' or 'xml', got {fmt!r}")
        if limiter is None and per_action_quotas:
            quotas = {name: op.quota for name, op in OPERATIONS.items()}
            limiter = PerActionLimiter(quotas, overall=qps)
        elif limiter is None:
            limiter = Unlimited() if qps is None else TokenBucket(qps)
        for name, value in (
            ("max_concurrency", max_concurrency),
            ("pages_ahead", pages_ahead),
            ("max_body_bytes", max_body_bytes),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValidationError(f"{name} must be a positive integer, got {value!r}")
        self._base_url = _base_url(endpoint, region_id)
        self._iot_instance_id = iot_instance_id
        self._limiter = limiter
        self._pages_ahead = pages_ahead
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=max_concurrency,
                max_keepalive_connections=max_concurrency,
                keepalive_expiry=KEEPALIVE_EXPIRY,
            ),
            headers={"User-Agent": USER_AGENT},
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
        )
        self._task_group: TaskGroup | None = None
        self._closed = False

    # ------------------------------------------------------------------ lifetime

    async def __aenter__(self) -> OTAClient:
        if self._closed:
            raise OTAError("this OTAClient is closed; create a new one")
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        task_group, self._task_group = self._task_group, None
        try:
            if task_group is not None:
                task_group.cancel_scope.cancel()  # stop harvests nobody finished reading
                await task_group.__aexit__(None, None, None)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool. Idempotent."""
        self._closed = True
        await self._http.aclose()

    def _check_open(self) -> None:
        if self._closed:
            raise OTAError("this OTAClient is closed; create a new one")

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
        if not isinstance(action, str) or not action.isalnum():
            raise ValidationError(f"action must be an API action name, got {action!r}")
        known = OPERATIONS.get(action)
        op = Operation(
            action,
            READ if idempotent else MUTATE,
            EnvelopeOnly(),
            method=known.method if known else "POST",
            how_to_check="Read the resource back to see whether the call took effect.",
        )
        wire = _raw_wire(action, params or {})
        if self._iot_instance_id and "IotInstanceId" not in wire:
            wire["IotInstanceId"] = self._iot_instance_id
        self._check_open()
        answer = await self._sender.request(op, wire)
        return answer.body

    async def _invoke(self, action: str, arguments: Mapping[str, Any]) -> Any:
        op = OPERATIONS[action]
        wire = self._encode(op, arguments)
        self._check_open()
        answer = await self._sender.request(op, wire)
        return self._decode(op, answer, arguments)

    def _iterate(
        self,
        action: str,
        arguments: Mapping[str, Any],
        on_page: Callable[[Page[Any]], None] | None = None,
        *,
        verify: bool = False,
        on_plan: Callable[[int], None] | None = None,
    ) -> AsyncIterator[Any]:
        # For the audit's progress display: `on_page` sees every page as it arrives,
        # re-reads included; `on_plan(n)` hears of every n page reads the harvest commits
        # to, so the two add up to the same count. `verify` may also come in `arguments`
        # (the iter_* methods pass their locals).
        op = OPERATIONS[action]
        paged = op.paged
        assert paged is not None
        verify = arguments.get("verify", verify)
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
                    page: Page[Any] = await self._invoke(
                        action, {**arguments, "current_page": number}
                    )
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

    def _encode(self, op: Operation, arguments: Mapping[str, Any]) -> dict[str, str]:
        values = dict(arguments)
        paged = op.paged
        if paged is not None:
            if values.get("current_page") is None:
                values["current_page"] = 1
            if values.get("page_size") is None:
                values["page_size"] = paged.max_page_size
        if values.get("iot_instance_id") is None:
            values["iot_instance_id"] = self._iot_instance_id
        return op.encode(values)

    def _decode(self, op: Operation, answer: Answer, arguments: Mapping[str, Any]) -> Any:
        paged = op.paged
        page: Page[Any] | None = None
        try:
            if paged is None:
                result = op.result.decode(answer.body, answer.request_id)
            else:
                asked = (
                    arguments.get("current_page") or 1,
                    arguments.get("page_size") or paged.max_page_size,
                )
                ignored = bool(paged.unpaged_by and arguments.get(paged.unpaged_by))
                result = paged.decode(answer.body, answer.request_id, asked, paging_ignored=ignored)
                page = None if ignored else result
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
        miscount = None if page is None else count_problem(page)
        if page is not None and miscount is not None:
            raise _Miscounted(
                miscount,
                action=op.action,
                request_id=answer.request_id,
                http_status=answer.http_status,
                answer=page,
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


def _base_url(endpoint: str | None, region_id: str | None) -> str:
    if endpoint:
        url = httpx.URL(endpoint)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValidationError(f"endpoint must be an http(s) URL, got {endpoint!r}")
        return str(endpoint).rstrip("/")
    if region_id:
        if not region_id.replace("-", "").isalnum():
            raise ValidationError(f"region_id looks wrong: {region_id!r}")
        return REGION_ENDPOINT.format(region=region_id)
    raise ValidationError("give endpoint= (a base URL) or region_id= (e.g. 'cn-shanghai')")


def _raw_wire(action: str, params: Mapping[str, Any]) -> dict[str, str]:
    wire: dict[str, str] = {}
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            for index, item in enumerate(value, start=1):
                if isinstance(item, Mapping):
                    for key, sub in item.items():
                        wire[f"{name}.{index}.{key}"] = _raw_scalar(action, name, sub)
                else:
                    wire[f"{name}.{index}"] = _raw_scalar(action, name, item)
        else:
            wire[str(name)] = _raw_scalar(action, name, value)
    return wire


def _raw_scalar(action: str, name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ValidationError(f"{name}: cannot send a {type(value).__name__}", action=action)
