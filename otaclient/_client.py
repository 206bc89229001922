"""``OTAClient``: configuration, lifetime, and the generic call paths the actions use."""

from __future__ import annotations

import functools
import logging
import math
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
from ._errors import OTAError, ResponseError, ValidationError
from ._harvest import harvest, partitioned_harvest
from ._limiter import PerActionLimiter, RateLimiter, TokenBucket, Unlimited
from ._models import Page
from ._operations import MUTATE, OPERATIONS, READ, EnvelopeOnly, Operation
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
    from the rate. ``timeout`` (seconds, default 10) bounds each attempt as a whole, from
    connecting to the last byte of the answer; ``retry=RetryPolicy(deadline=...)`` bounds
    the whole call. Use it as ``async with OTAClient(...) as client`` (or call ``aclose()``):
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
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
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
        attempt_timeout, phases = _timeouts(timeout)
        self._base_url = _base_url(endpoint, region_id)
        self._iot_instance_id = iot_instance_id
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
    ) -> AsyncIterator[Any]:
        # `on_page` sees every page as it arrives (the audit's progress display uses it).
        op = OPERATIONS[action]
        paged = op.paged
        assert paged is not None
        base = dict(arguments)
        if base.get("page_size") is None:
            base["page_size"] = paged.max_page_size
        self._encode(op, {**base, "current_page": 1})  # refuse bad arguments up front

        def fetch_for(part: Any = None) -> Callable[[int], Awaitable[Page[Any]]]:
            arguments = base if part is None else {**base, paged.partition_by: part}

            async def fetch(number: int) -> Page[Any]:
                page: Page[Any] = await self._invoke(action, {**arguments, "current_page": number})
                if on_page is not None:
                    on_page(page)
                return page

            return fetch

        if paged.max_offset is None:
            return harvest(
                fetch_for(),
                action=action,
                id_field=paged.id_field,
                pages_ahead=self._pages_ahead,
                task_group=self._task_group,
            )
        # A list deeper than paging reaches is split by the partition filter, unless the
        # caller already chose one value of it.
        split = () if base.get(paged.partition_by) is not None else paged.partitions
        return partitioned_harvest(
            fetch_for,
            split,
            partition_name=paged.partition_by,
            max_pages=paged.max_offset // base["page_size"],
            action=action,
            id_field=paged.id_field,
            pages_ahead=self._pages_ahead,
            task_group=self._task_group,
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
        default_size = paged.max_page_size if paged is not None else 0
        asked = (arguments.get("current_page") or 1, arguments.get("page_size") or default_size)
        try:
            result = op.result.decode(answer.body, answer.request_id, asked)
        except DecodeProblem as exc:
            raise ResponseError(
                f"the answer does not fit {op.action}'s documented shape: {exc}",
                action=op.action,
                request_id=answer.request_id,
                http_status=answer.http_status,
            ) from None
        past_the_end = isinstance(result, Page) and asked[0] > result.page_count
        if isinstance(result, Page) and result.current_page != asked[0] and not past_the_end:
            # A proxy or cache serving another page would silently skip items: refuse it.
            # (A page past the end may echo any page number: it has no items to lose.)
            raise ResponseError(
                f"asked for page {asked[0]}, the answer is page {result.current_page}",
                action=op.action,
                request_id=answer.request_id,
                http_status=answer.http_status,
            )
        return result


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
