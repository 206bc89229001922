"""What a client tells the outside about each attempt: a DEBUG record and the event hooks.

The request loop reports four moments (as httpx's ``event_hooks`` do for requests and
responses, and botocore's events for retries):

* ``"request"``: an attempt is about to be sent (``RequestEvent``);
* ``"response"``: an attempt ended, with an answer or without one (``ResponseEvent``); the
  same moment writes one DEBUG record on the ``otaclient`` logger;
* ``"retry"``: a failed attempt will be tried again after ``wait`` seconds (``RetryEvent``);
* ``"throttled"``: the service refused an attempt for flow control (``ThrottledEvent``).

A hook is any callable taking the event; when it returns an awaitable, that is awaited
(bounded by the attempt timeout). Hooks observe: a hook that raises is logged at WARNING
with its traceback and the call carries on, since a broken metrics exporter must not fail
OTA calls (httpx lets a hook's exception end the request because its response hooks do
``raise_for_status``; here errors are raised by the library itself). Cancellation is never
swallowed. Events carry no secret: the access key id is there, never the secret or token.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias

import anyio
import attrs

from ._errors import OTAError, ValidationError

__all__ = [
    "EVENT_NAMES",
    "EventHook",
    "EventHooks",
    "Hooks",
    "RequestEvent",
    "ResponseEvent",
    "RetryEvent",
    "ThrottledEvent",
]

log = logging.getLogger("otaclient")


@attrs.frozen
class RequestEvent:
    """An attempt is about to be sent: ``attempt`` counts from 1 within the call."""

    action: str
    attempt: int
    access_key_id: str
    """The AccessKeyId the attempt is signed with (temporary keys change over time)."""


@attrs.frozen
class ResponseEvent:
    """An attempt ended.

    ``http_status`` and ``request_id`` are ``None`` when no answer (or no id) came;
    ``error`` is what the attempt failed with (``None``: a success); ``latency`` is the
    seconds from sending to the last byte of the answer (or to the failure).
    """

    action: str
    attempt: int
    http_status: int | None
    request_id: str | None
    latency: float
    throttled: bool
    error: OTAError | None


@attrs.frozen
class RetryEvent:
    """Attempt ``attempt`` failed with ``error``; the next one starts in ``wait`` seconds.

    ``reason`` is ``"throttled"``, ``"transient"`` or ``"credentials"`` (the service refused
    the security token; the provider handed out new keys and the call is tried once more).
    """

    action: str
    attempt: int
    wait: float
    reason: str
    error: OTAError


@attrs.frozen
class ThrottledEvent:
    """The service refused attempt ``attempt`` for flow control.

    ``retry_after`` is its hint in seconds, when it gave one.
    """

    action: str
    attempt: int
    request_id: str | None
    retry_after: float | None


Event: TypeAlias = RequestEvent | ResponseEvent | RetryEvent | ThrottledEvent
EventName = Literal["request", "response", "retry", "throttled"]
EVENT_NAMES: tuple[EventName, ...] = ("request", "response", "retry", "throttled")
"""The events a hook can be registered for, in the order they happen."""

EventHook: TypeAlias = Callable[[Any], Awaitable[None] | None]
"""A callable taking one event; sync, or async (its awaitable is awaited)."""
EventHooks: TypeAlias = Mapping[str, Sequence[EventHook]]
"""``OTAClient(event_hooks=...)``: event name -> the hooks to call, in order."""


class Hooks:
    """The checked hooks of one client; ``emit`` calls them, never raising their errors."""

    __slots__ = ("_bound", "request", "response", "retry", "throttled")

    def __init__(self, hooks: object, *, bound: float) -> None:
        self._bound = bound
        by_name = _checked(hooks)
        self.request = by_name["request"]
        self.response = by_name["response"]
        self.retry = by_name["retry"]
        self.throttled = by_name["throttled"]

    async def emit(self, hooks: tuple[EventHook, ...], event: Event) -> None:
        """Call each of ``hooks`` with ``event``; log what any of them raises."""
        for hook in hooks:
            try:
                result = hook(event)
                if inspect.isawaitable(result):
                    with anyio.move_on_after(self._bound) as scope:
                        await result
                    if scope.cancelled_caught:
                        log.warning(
                            "event hook %r for %s did not finish within %g s; it was cut off",
                            hook,
                            type(event).__name__,
                            self._bound,
                        )
            except Exception:
                log.warning(
                    "event hook %r raised on %s; the call goes on",
                    hook,
                    type(event).__name__,
                    exc_info=True,
                )


def _checked(hooks: object) -> dict[str, tuple[EventHook, ...]]:
    chosen: dict[str, tuple[EventHook, ...]] = {name: () for name in EVENT_NAMES}
    if hooks is None:
        return chosen
    if not isinstance(hooks, Mapping):
        raise ValidationError(
            f"event_hooks must be a mapping of event name to a list of callables, "
            f"got {type(hooks).__name__}"
        )
    for name, listed in hooks.items():
        if name not in chosen:
            raise ValidationError(
                f"event_hooks has an unknown event {name!r}; the events are "
                + ", ".join(repr(known) for known in EVENT_NAMES)
            )
        if callable(listed) or isinstance(listed, str | bytes) or not isinstance(listed, Sequence):
            raise ValidationError(
                f"event_hooks[{name!r}] must be a list of callables, got {type(listed).__name__}"
            )
        for hook in listed:
            if not callable(hook):
                raise ValidationError(
                    f"event_hooks[{name!r}] holds {type(hook).__name__}, which is not callable"
                )
        chosen[name] = tuple(listed)
    return chosen
