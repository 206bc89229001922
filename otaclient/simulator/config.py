"""Configuration of the simulator: who may call it, how fast, how it misbehaves, what it holds.

Everything is an immutable attrs class so that one config can build several identical
simulators (same seed -> same fleet, same request IDs, same injected faults).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Literal

import attrs

__all__ = [
    "DEMO_ACCESS_KEY_ID",
    "DEMO_ACCESS_KEY_SECRET",
    "Dialect",
    "FaultPhase",
    "FaultSpec",
    "FleetSpec",
    "SimulatorConfig",
]

#: Access key ID the simulator accepts unless configured otherwise.
DEMO_ACCESS_KEY_ID = "demo-access-key-id"
#: Secret of :data:`DEMO_ACCESS_KEY_ID`.
DEMO_ACCESS_KEY_SECRET = "demo-access-key-secret"

Dialect = Literal["aliyun", "tuya"]
FaultPhase = Literal["before", "after", "either"]


def _positive_int(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be >= 1, got {value}")


def _probability(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be within [0, 1], got {value}")


def _range_pair(
    _: object, attribute: attrs.Attribute[tuple[int, int]], value: tuple[int, int]
) -> None:
    low, high = value
    if low < 0 or high < low:
        raise ValueError(f"{attribute.name} must be (low, high) with 0 <= low <= high, got {value}")


@attrs.frozen
class FleetSpec:
    """Shape of the generated fleet (products, packages, batches, devices, device tasks).

    Sizes are drawn from ``random.Random(seed)`` within the given ranges, so a spec plus a
    seed fully determines the fleet. Tasks are stored as one status byte per device task,
    so 10**6 tasks cost a few megabytes.

    ``anchor_ms`` is "now" for the fleet's history (epoch ms): job and task times lie before
    it and stuck tasks are stuck *relative to it*. ``None`` uses the simulator's wall clock
    at build time, truncated to the hour; pass a value to compare fleets across runs.
    """

    products: int = attrs.field(default=3, validator=_positive_int)
    firmware_per_product: int = attrs.field(default=4, validator=_positive_int)
    jobs_per_firmware: tuple[int, int] = attrs.field(default=(2, 5), validator=_range_pair)
    devices_per_product: int = attrs.field(default=400, validator=_positive_int)
    tasks_per_job: tuple[int, int] = attrs.field(default=(30, 260), validator=_range_pair)
    #: Custom modules per product besides ``default`` (at most 10, as the service allows).
    modules_per_product: int = attrs.field(default=2)
    #: Percentage of unfinished (NOTIFIED / IN_PROGRESS) tasks left stuck for days.
    stuck_percent: int = attrs.field(default=20)
    #: When set, generated upgrade jobs take these statuses in turn instead of a random mix.
    job_statuses: tuple[str, ...] | None = None
    #: Whether to generate verify jobs (and unverified / verifying packages).
    verify_jobs: bool = True
    anchor_ms: int | None = None

    @classmethod
    def demo(cls) -> FleetSpec:
        """The small default fleet: 3 products, 12 packages, ~40 jobs, ~5,000 tasks."""
        return cls()

    @classmethod
    def single_job(cls, tasks: int, *, anchor_ms: int | None = None) -> FleetSpec:
        """One product, one verified package, one IN_PROGRESS static job with ``tasks`` tasks.

        Meant for deep-pagination tests (e.g. 250,000 tasks); the tasks still cover every
        TaskStatus.
        """
        return cls(
            products=1,
            firmware_per_product=1,
            jobs_per_firmware=(1, 1),
            devices_per_product=max(tasks, 1),
            tasks_per_job=(tasks, tasks),
            modules_per_product=0,
            job_statuses=("IN_PROGRESS",),
            verify_jobs=False,
            anchor_ms=anchor_ms,
        )


def _action_set(value: Iterable[str] | None) -> frozenset[str] | None:
    if isinstance(value, str):  # one action name, not a set of letters
        return frozenset([value])
    return None if value is None else frozenset(value)


@attrs.frozen
class FaultSpec:
    """Seeded fault injection, decided per accepted request (after verification and quota).

    Probabilities are per request and must sum to at most 1:

    * ``http_500`` - HTTP 500 ``InternalError`` gateway body;
    * ``http_503`` - HTTP 503 ``ServiceUnavailable`` gateway body;
    * ``system_error`` - HTTP 200 business error ``iot.system.SystemException``;
    * ``drop`` - the connection dies mid-body (status line and Content-Length sent, part of
      the body, then the connection is aborted; in-process: ``httpx.RemoteProtocolError``);
    * ``truncate`` - a complete HTTP response whose JSON/XML text is cut short
      (Content-Length matches the cut body).

    ``phase`` says whether an error or drop happens ``"before"`` the action runs (no state
    change), ``"after"`` it ran (a create *did* create: the outcome is ambiguous to the
    client), or ``"either"`` (coin flip per fault). Truncation is always after processing.
    ``actions`` restricts injection to those action names (``None`` = every action).
    ``seed`` defaults to the simulator seed.
    """

    http_500: float = attrs.field(default=0.0, validator=_probability)
    http_503: float = attrs.field(default=0.0, validator=_probability)
    system_error: float = attrs.field(default=0.0, validator=_probability)
    drop: float = attrs.field(default=0.0, validator=_probability)
    truncate: float = attrs.field(default=0.0, validator=_probability)
    phase: FaultPhase = "before"
    actions: frozenset[str] | None = attrs.field(default=None, converter=_action_set)
    seed: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.total > 1.0 + 1e-9:
            raise ValueError(f"fault probabilities sum to {self.total}, more than 1")
        if self.phase not in ("before", "after", "either"):
            raise ValueError(f"phase must be 'before', 'after' or 'either', got {self.phase!r}")

    @property
    def total(self) -> float:
        """Probability that a request gets some fault."""
        return self.http_500 + self.http_503 + self.system_error + self.drop + self.truncate

    @property
    def enabled(self) -> bool:
        """Whether any fault can happen."""
        return self.total > 0.0


def _default_keys() -> dict[str, str]:
    return {DEMO_ACCESS_KEY_ID: DEMO_ACCESS_KEY_SECRET}


def _freeze_tokens(value: Mapping[str, str | Iterable[str]]) -> dict[str, frozenset[str]]:
    # A bare string is one token, not a set of one-character tokens.
    return {
        key_id: frozenset([tokens] if isinstance(tokens, str) else tokens)
        for key_id, tokens in value.items()
    }


@attrs.frozen
class SimulatorConfig:
    """Everything a :class:`~otaclient.simulator.Simulator` needs.

    * ``access_keys``: ``{AccessKeyId: AccessKeySecret}`` accepted by the gateway.
    * ``security_tokens``: ``{AccessKeyId: {token, ...}}``; a key listed here is an STS key
      and must send one of its tokens as ``SecurityToken``; a key not listed must not send one.
    * ``qps``: accepted requests per access key in any 1-second sliding window
      (``None`` = unlimited). ``per_action_qps`` adds one window per (key, action) at the
      action's documented QPS (10 unless documented as 5 or 20); the account window still
      applies unless ``qps`` is ``None``.
    * ``latency`` / ``jitter``: seconds added to every response (uniform in
      ``latency +/- jitter``, never negative), slept with ``anyio.sleep``.
    * ``clock``: monotonic seconds for quota windows and nonce expiry; ``wall_clock``: epoch
      seconds for the ``Timestamp`` window and for times written by mutations. Tests inject
      fakes; the defaults are ``time.monotonic`` / ``time.time`` because they are valid in
      any thread and under any event loop (``anyio.current_time`` is per-loop, and trio's
      clock has a random offset).
    * ``odd_enum_values``: emit the documented oddities in the aliyun dialect (``COMPLETE`` for
      some completed jobs in job lists, ``VERFIY_FIRMWARE``).
    * ``retry_after_header``: add ``x-acs-retry-after: 1`` to throttling answers (the tea SDK
      then raises its ThrottlingException instead of a ServerException).
    * ``record_arrivals``: keep every request's arrival at the quota check in
      ``stats.arrivals`` (time, action, throttled), to measure rates from the server's side.
    """

    seed: int = 0
    dialect: Dialect = "aliyun"
    access_keys: Mapping[str, str] = attrs.field(factory=_default_keys, converter=dict)
    security_tokens: Mapping[str, frozenset[str]] = attrs.field(
        factory=dict, converter=_freeze_tokens
    )
    qps: int | None = 10
    per_action_qps: bool = False
    latency: float = 0.0
    jitter: float = 0.0
    faults: FaultSpec = attrs.field(factory=FaultSpec)
    fleet: FleetSpec = attrs.field(factory=FleetSpec.demo)
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    timestamp_window: float = 900.0
    odd_enum_values: bool = True
    retry_after_header: bool = False
    max_body_bytes: int = 1 << 20
    record_arrivals: bool = False

    def __attrs_post_init__(self) -> None:
        if self.dialect not in ("aliyun", "tuya"):
            raise ValueError(f"dialect must be 'aliyun' or 'tuya', got {self.dialect!r}")
        if self.qps is not None and self.qps < 1:
            raise ValueError(f"qps must be >= 1 or None, got {self.qps}")
        if self.latency < 0 or self.jitter < 0:
            raise ValueError("latency and jitter must not be negative")
        unknown = set(self.security_tokens) - set(self.access_keys)
        if unknown:
            raise ValueError(f"security_tokens for unknown access keys: {sorted(unknown)}")
