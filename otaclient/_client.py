"""``OTAClient``: the client object, and the generic call paths the actions use.

Its options are checked and resolved by ``_config.ClientConfig``; its lifetime (new, open,
closed, and what the ``async with`` block owns) is ``_lifetime.Lifetime``'s.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, TypedDict, TypeVar

import httpx

from ._config import ClientConfig, check_credentials, http_client, query_budget
from ._constants import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_PAGES_AHEAD,
    DEFAULT_QPS,
    DEFAULT_TIMEOUT,
)
from ._credentials import Credentials
from ._envelope import Answer
from ._errors import OTAError, OutcomeUnknownError, ResponseError, ValidationError
from ._harvest import Harvest, HarvestSettings
from ._lifetime import Lifetime
from ._limiter import RateLimiter
from ._limits import check_size, shown
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

__all__ = ["ClientStats", "OTAClient"]

log = logging.getLogger("otaclient")

_T = TypeVar("_T")
_R = TypeVar("_R")


class ClientStats(TypedDict):
    """``OTAClient.stats``: what a client has sent so far."""

    attempts: int
    """Requests sent, retries included."""
    retries: int
    """Attempts that were retries of an earlier one."""
    throttled: int
    """Answers refusing a request for flow control."""


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
        check_credentials(credentials)
        # Every spelling these can come back in, known to every OTAError and log record
        # for as long as this client lives.
        self._secrets = Secrets(credentials.access_key_secret)
        self._secrets.add(credentials.security_token, travels=True)
        config = ClientConfig.checked(
            endpoint=endpoint,
            region_id=region_id,
            qps=qps,
            response_format=response_format,
            iot_instance_id=iot_instance_id,
            limiter=limiter,
            per_action_quotas=per_action_quotas,
            retry=retry,
            timeout=timeout,
            max_concurrency=max_concurrency,
            max_body_bytes=max_body_bytes,
            pages_ahead=pages_ahead,
            transport=transport,
            allow_insecure_http=allow_insecure_http,
        )
        self._config = config
        self._base_url = config.base_url
        self._iot_instance_id = config.iot_instance_id
        self._query_budget = query_budget(config.base_url, credentials, config.response_format)
        self._http = http_client(config)
        self._sender = Sender(
            http=self._http,
            base_url=config.base_url,
            credentials=credentials,
            limiter=config.limiter,
            retry=config.retry,
            response_format=config.response_format,
            max_concurrency=config.max_concurrency,
            max_body_bytes=config.max_body_bytes,
            attempt_timeout=config.attempt_timeout,
        )
        self._lifetime = Lifetime(self._http)

    # ------------------------------------------------------------------ lifetime

    async def __aenter__(self) -> OTAClient:
        await self._lifetime.enter()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._lifetime.exit()

    async def aclose(self) -> None:
        """Close the client. Idempotent; the client cannot be used or entered again.

        Calls still under way (waiting for the rate limiter, or in flight) end at once
        with ``OTAError`` ("the client was closed"); a write that may already have been
        sent ends with ``OutcomeUnknownError`` instead. Harvests stop.
        """
        await self._lifetime.close()

    async def _request(
        self, op: Operation[Any], wire: Mapping[str, str], decode: Callable[[Answer], _T]
    ) -> _T:
        # Every call goes through here: closing the client ends it promptly, and what it
        # raises or logs, decoding included, is scrubbed of this client's secrets and of
        # the signature of each of its attempts.
        scope = self._lifetime.start_call()
        with CallScope(self._secrets) as signed:
            try:
                with scope:
                    return decode(await self._sender.request(op, wire))
            finally:
                self._lifetime.end_call(scope)
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
    def endpoint(self) -> str:
        """The base URL every request goes to (``region_id`` resolved)."""
        return self._base_url

    @property
    def limiter(self) -> RateLimiter:
        """The limiter every call of this client goes through."""
        return self._config.limiter

    @property
    def stats(self) -> ClientStats:
        """This client's counters so far (a new dict each time: subtract two for a delta).

        >>> client.stats                                     # doctest: +SKIP
        {'attempts': 14, 'retries': 1, 'throttled': 1}
        """
        s = self._sender
        return {"attempts": s.attempts, "retries": s.retries, "throttled": s.throttled}

    def __repr__(self) -> str:
        return f"OTAClient(endpoint={self._base_url!r}, limiter={self._config.limiter!r})"

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
        self, op: Operation[Page[_T]], arguments: Mapping[str, Any], *, verify: bool = False
    ) -> Harvest[_T]:
        paged = op.paged
        assert paged is not None
        if not isinstance(verify, bool):
            raise ValidationError(f"verify must be True or False, got {verify!r}", action=op.action)
        base = {name: value for name, value in arguments.items() if name != "verify"}
        if base.get("page_size") is None:
            base["page_size"] = paged.max_page_size
        self._encode(op, {**base, "current_page": 1})  # refuse bad arguments up front
        settings = HarvestSettings(
            action=op.action,
            page_size=base["page_size"],
            pages_ahead=self._config.pages_ahead,
            id_field=paged.id_field,
            verify=verify,
            max_pages=None if paged.max_offset is None else paged.max_offset // base["page_size"],
            partition_by=paged.partition_by,
            # A caller who chose one value of the partition filter already narrowed the list.
            partitions=() if base.get(paged.partition_by) is not None else paged.partitions,
        )
        fetch = functools.partial(self._fetch_page, op, base)
        return Harvest(fetch, settings, task_group=lambda: self._lifetime.task_group)

    async def _fetch_page(
        self, op: Operation[Page[_T]], arguments: Mapping[str, Any], part: Any, number: int
    ) -> Page[_T]:
        paged = op.paged
        assert paged is not None
        if part is not None:
            arguments = {**arguments, paged.partition_by: part}
        try:
            page: Page[_T] = await self._invoke(op, {**arguments, "current_page": number})
        except _Miscounted as exc:
            page = exc.answer  # a harvest weighs a miscounted page itself
        return page

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


_ACTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,127}", re.ASCII)


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
