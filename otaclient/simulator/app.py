"""The simulator as a pure ASGI application.

Request processing (verification, quota, the action itself) is synchronous and runs under
a ``threading.Lock``: it never awaits, so the lock is held for microseconds, and unlike an
event-loop lock it also protects the state when a test thread inspects ``app.fleet`` while
uvicorn serves from another thread. Only the artificial latency is awaited
(``anyio.sleep``), so the app runs under asyncio and trio alike.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import anyio
import attrs
import httpx

from .actions import ACTIONS, ActionContext, Tree
from .config import SimulatorConfig
from .errors import BusinessError, GatewayError, SimulatedDrop
from .faults import Fault, FaultInjector
from .fleet import Fleet
from .gateway import Gateway, IssuedKeys, Verified
from .generate import build_fleet
from .params import Params
from .quota import QuotaGate
from .render import camel_keys, render_json, render_xml
from .stats import Arrival, SimulatorStats

__all__ = ["Simulator"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_FORM = "application/x-www-form-urlencoded"
_THROTTLE_MESSAGE = "Request was denied due to user flow control."
_NOT_FOUND = "Specified api is not found, please check your url and method."
_SYSTEM_ERROR = ("iot.system.SystemException", "A system exception occurred.")
_HTTP_FAULTS = {
    "http_500": (
        500,
        "InternalError",
        "The request processing has failed due to some unknown error, exception or failure.",
    ),
    "http_503": (
        503,
        "ServiceUnavailable",
        "The request has failed due to a temporary failure of the server.",
    ),
}


@attrs.define
class Outcome:
    """A fully decided answer: what to send, and whether to cut it short."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    #: Send this many body bytes, then abort the connection (``None``: send everything).
    drop_at: int | None = None
    #: Seconds to wait before answering.
    delay: float = 0.0


@attrs.define
class _Request:
    method: str
    params: dict[str, str]
    xml: bool
    host: str


class Simulator:
    """An ASGI app that answers the Alibaba Cloud IoT OTA RPC API like the real service.

    ``fleet`` defaults to one generated from ``config.fleet``; pass a prebuilt one to share
    a large fleet between simulators. ``stats`` counts requests, ``fleet`` is the ground
    truth tests compare against.
    """

    def __init__(
        self, config: SimulatorConfig | None = None, *, fleet: Fleet | None = None
    ) -> None:
        self.config = config if config is not None else SimulatorConfig()
        cfg = self.config
        if fleet is None:
            anchor = cfg.fleet.anchor_ms
            if anchor is None:
                hour = 3_600_000
                anchor = int(cfg.wall_clock() * 1000) // hour * hour
            fleet = build_fleet(cfg.fleet, seed=cfg.seed, dialect=cfg.dialect, anchor_ms=anchor)
        elif fleet.dialect != cfg.dialect:
            raise ValueError(f"the fleet was built for the {fleet.dialect} dialect")
        self.fleet = fleet
        self.stats = SimulatorStats()
        self._lock = threading.Lock()
        self._gateway = Gateway(cfg)
        self._quota = QuotaGate(cfg.qps, cfg.per_action_qps)
        self._faults = FaultInjector(cfg.faults, cfg.seed)
        self._rng = random.Random(f"{cfg.seed}:requests")
        self._latency_rng = random.Random(f"{cfg.seed}:latency")

    # ------------------------------------------------------------------ public helpers

    @property
    def issued_keys(self) -> IssuedKeys:
        """Temporary keys issued by cloud stand-ins (``CloudStandIn(simulator=...)``): the
        gateway accepts each with its token until it expires."""
        return self._gateway.issued

    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport that calls this app in-process (dropped connections included)."""
        from .transport import SimulatorTransport

        return SimulatorTransport(self)

    def upload_device_list(self, file_url: str, device_names: list[str]) -> None:
        """Pretend a device-name CSV was uploaded to a GenerateDeviceNameListURL ticket."""
        with self._lock:
            self.fleet.fill_device_list(file_url, device_names)

    def reset_stats(self) -> None:
        """Zero the request counters."""
        with self._lock:
            self.stats.reset()

    # ------------------------------------------------------------------ ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point (``http`` and ``lifespan`` scopes)."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body, too_large = await self._read_body(receive)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        outcome = self.process(
            method=scope["method"],
            path=scope["path"],
            query_string=scope.get("query_string", b""),
            headers=headers,
            body=body,
            body_too_large=too_large,
        )
        if outcome.delay > 0:
            await anyio.sleep(outcome.delay)
        await send(
            {"type": "http.response.start", "status": outcome.status, "headers": outcome.headers}
        )
        if outcome.drop_at is None:
            await send({"type": "http.response.body", "body": outcome.body, "more_body": False})
            return
        await send(
            {
                "type": "http.response.body",
                "body": outcome.body[: outcome.drop_at],
                "more_body": True,
            }
        )
        raise SimulatedDrop("connection dropped by fault injection")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _read_body(self, receive: Receive) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        too_large = False
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.config.max_body_bytes:
                too_large = True
            elif chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks), too_large

    # ------------------------------------------------------------------ processing

    def process(
        self,
        *,
        method: str,
        path: str,
        query_string: bytes,
        headers: dict[str, str],
        body: bytes = b"",
        body_too_large: bool = False,
    ) -> Outcome:
        """Decide the complete answer to one request (synchronous; the ASGI layer sends it)."""
        params = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if method == "POST" and content_type == _FORM and body:
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        request = _Request(
            method=method,
            params=params,
            xml=params.get("Format", "").lower() == "xml",
            host=headers.get("host", "iot.cn-shanghai.aliyuncs.com"),
        )
        with self._lock:
            self.stats.requests += 1
            request_id = self._request_id()
            outcome = self._process_locked(request, request_id, path, body_too_large)
            cfg = self.config
            if cfg.latency or cfg.jitter:
                low = max(0.0, cfg.latency - cfg.jitter)
                outcome.delay = self._latency_rng.uniform(low, cfg.latency + cfg.jitter)
        return outcome

    def _process_locked(
        self, request: _Request, request_id: str, path: str, body_too_large: bool
    ) -> Outcome:
        stats = self.stats
        try:
            verified = self._verify(request, path, body_too_large)
        except GatewayError as error:
            stats.rejected += 1
            return self._gateway_error(request, request_id, error)
        action = verified.action
        throttled = self._throttle(request, request_id, verified)
        if throttled is not None:
            return throttled
        stats.accepted += 1
        stats.per_action[action] += 1
        fault = self._faults.decide(action)
        if fault is not None:
            stats.faults[fault.kind] += 1
            if not fault.after:
                return self._fault_before(request, request_id, action, fault)
        outcome = self._dispatch(request, request_id, action)
        if fault is not None:
            outcome = self._fault_after(request, request_id, action, fault, outcome)
        return outcome

    def _verify(self, request: _Request, path: str, body_too_large: bool) -> Verified:
        """What the gateway checks before an action runs (raises :class:`GatewayError`)."""
        if body_too_large:
            raise GatewayError(413, "RequestEntityTooLarge", "The request body is too large.")
        if request.method not in ("GET", "POST"):
            raise GatewayError(405, "UnsupportedHTTPMethod", "This http method is not supported.")
        if path != "/":
            raise GatewayError(404, "InvalidAction.NotFound", _NOT_FOUND)
        cfg = self.config
        verified = self._gateway.verify(
            request.method, request.params, wall=cfg.wall_clock(), mono=cfg.clock()
        )
        if verified.action not in ACTIONS:
            raise GatewayError(404, "InvalidAction.NotFound", _NOT_FOUND)
        return verified

    def _throttle(self, request: _Request, request_id: str, verified: Verified) -> Outcome | None:
        """The throttling answer when the quota refuses the request, else ``None``.

        Quota is counted on arrival, before any latency; a refused request is not counted.
        """
        cfg, stats, action = self.config, self.stats, verified.action
        now = cfg.clock()
        admitted = self._quota.admit(verified.access_key_id, action, now)
        if cfg.record_arrivals:
            stats.arrivals.append(Arrival(now, action, throttled=not admitted))
        if admitted:
            return None
        stats.throttled += 1
        stats.throttled_per_action[action] += 1
        throttle = GatewayError(503, "Throttling.User", _THROTTLE_MESSAGE)
        outcome = self._gateway_error(request, request_id, throttle)
        if cfg.retry_after_header:
            outcome.headers.append((b"x-acs-retry-after", b"1"))
        return outcome

    def _dispatch(self, request: _Request, request_id: str, action: str) -> Outcome:
        ctx = ActionContext(
            action=action,
            params=Params(request.params),
            fleet=self.fleet,
            dialect=self.config.dialect,
            now_ms=int(self.config.wall_clock() * 1000),
            rng=self._rng,
            odd_enums=self.config.odd_enum_values,
        )
        try:
            data = ACTIONS[action](ctx)
        except GatewayError as error:  # a typed parameter that does not parse
            # Already counted as accepted (it passed the quota); only its code is recorded.
            return self._gateway_error(request, request_id, error)
        except BusinessError as error:
            return self._business_error(request, request_id, action, error.code, error.message)
        return self._success(request, request_id, action, data)

    # ------------------------------------------------------------------ faults

    def _fault_before(
        self, request: _Request, request_id: str, action: str, fault: Fault
    ) -> Outcome:
        if fault.kind in _HTTP_FAULTS:
            return self._gateway_error(request, request_id, GatewayError(*_HTTP_FAULTS[fault.kind]))
        if fault.kind == "system_error":
            return self._business_error(request, request_id, action, *_SYSTEM_ERROR)
        # A drop before processing: whatever was on its way is cut; nothing ran.
        outcome = self._success(request, request_id, action, {})
        outcome.drop_at = int(len(outcome.body) * fault.fraction)
        return outcome

    def _fault_after(
        self, request: _Request, request_id: str, action: str, fault: Fault, outcome: Outcome
    ) -> Outcome:
        if fault.kind in _HTTP_FAULTS:
            return self._gateway_error(request, request_id, GatewayError(*_HTTP_FAULTS[fault.kind]))
        if fault.kind == "system_error":
            return self._business_error(request, request_id, action, *_SYSTEM_ERROR)
        if fault.kind == "drop":
            outcome.drop_at = int(len(outcome.body) * fault.fraction)
            return outcome
        # Truncate: a complete HTTP answer whose document is cut short.
        cut = min(max(1, int(len(outcome.body) * fault.fraction)), len(outcome.body) - 1)
        outcome.body = outcome.body[:cut]
        outcome.headers = [
            (name, str(cut).encode() if name == b"content-length" else value)
            for name, value in outcome.headers
        ]
        return outcome

    # ------------------------------------------------------------------ rendering

    def _request_id(self) -> str:
        text = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        return text if self.config.dialect == "tuya" else text.upper()

    def _render(
        self, request: _Request, root: str, tree: Tree, status: int, request_id: str
    ) -> Outcome:
        if request.xml:
            body = render_xml(root, tree)
            content_type = b"text/xml;charset=utf-8"
        else:
            body = render_json(tree)
            content_type = b"application/json;charset=utf-8"
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            (b"x-acs-request-id", request_id.encode()),
        ]
        return Outcome(status=status, headers=headers, body=body)

    def _success(self, request: _Request, request_id: str, action: str, data: Tree) -> Outcome:
        if self.config.dialect == "tuya":
            # Seeds 000-003: "code": "" on success, camelCase keys.
            tree = camel_keys({"Code": "", "Success": True, **data, "RequestId": request_id})
        else:
            tree = {"RequestId": request_id, "Success": True, **data}
        return self._render(request, f"{action}Response", tree, 200, request_id)

    def _business_error(
        self, request: _Request, request_id: str, action: str, code: str, message: str
    ) -> Outcome:
        self.stats.business_errors += 1
        self.stats.errors_by_code[code] += 1
        tree: Tree = {
            "RequestId": request_id,
            "Success": False,
            "Code": code,
            "ErrorMessage": message,
        }
        if self.config.dialect == "tuya":
            tree = camel_keys(tree)
        return self._render(request, f"{action}Response", tree, 200, request_id)

    def _gateway_error(self, request: _Request, request_id: str, error: GatewayError) -> Outcome:
        self.stats.errors_by_code[error.code] += 1
        tree = {
            "RequestId": request_id,
            "HostId": request.host,
            "Code": error.code,
            "Message": error.message,
            "Recommend": (
                f"https://api.aliyun.com/troubleshoot?q={error.code}&product=Iot"
                f"&requestId={request_id}"
            ),
        }
        return self._render(request, "Error", tree, error.status, request_id)
