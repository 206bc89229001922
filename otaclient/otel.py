"""OpenTelemetry for otaclient: a span per attempt, counters and a latency histogram.

Needs the ``otaclient[otel]`` extra (``opentelemetry-api``; an SDK and an exporter are the
application's choice). It is built on the client's event hooks, so it adds nothing a hook
of your own could not do:

>>> from otaclient.otel import OpenTelemetryHooks                   # doctest: +SKIP
>>> telemetry = OpenTelemetryHooks()              # the global tracer and meter providers
>>> client = OTAClient(region_id="cn-shanghai", event_hooks=telemetry.event_hooks)  # doctest: +SKIP

What it reports:

* a CLIENT span ``OTA <Action>`` per attempt sent, with ``rpc.system``
  (``alibaba_cloud_pop``), ``rpc.service`` (``Iot``), ``rpc.method`` (the action),
  ``otaclient.attempt``, and once answered ``http.response.status_code``,
  ``otaclient.request_id`` and ``otaclient.throttled``; a failed attempt's span has the
  status ERROR with the error's (secret-free) text;
* counters ``otaclient.requests`` (attempts sent), ``otaclient.retries`` and
  ``otaclient.throttles``, each with the ``rpc.method`` attribute (retries also with
  ``otaclient.retry_reason``);
* a histogram ``otaclient.request.duration`` of each attempt's latency in seconds.

Spans of one attempt are started and ended in the task that sends it; an attempt cancelled
while in flight leaves its span unended (OpenTelemetry drops it).
"""

from __future__ import annotations

import contextvars
from typing import Any

from ._errors import OTAError
from ._events import RequestEvent, ResponseEvent, RetryEvent, ThrottledEvent
from ._version import __version__

__all__ = ["OpenTelemetryHooks"]

_SYSTEM = "alibaba_cloud_pop"


class OpenTelemetryHooks:
    """Event hooks that report every attempt of a client to OpenTelemetry.

    ``tracer_provider`` and ``meter_provider`` default to OpenTelemetry's global ones.
    Pass ``event_hooks`` to ``OTAClient(event_hooks=...)``; one instance may serve many
    clients. Without ``opentelemetry-api`` installed, building one raises ``OTAError``
    saying which extra to install.
    """

    def __init__(self, *, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        try:
            from opentelemetry import metrics, trace
        except ImportError:
            raise OTAError(
                "OpenTelemetryHooks needs opentelemetry-api: pip install 'otaclient[otel]'"
            ) from None
        self._trace = trace
        self._tracer = trace.get_tracer("otaclient", __version__, tracer_provider)
        meter = metrics.get_meter("otaclient", __version__, meter_provider)
        self._requests = meter.create_counter(
            "otaclient.requests", unit="{request}", description="Attempts sent, retries included."
        )
        self._retries = meter.create_counter(
            "otaclient.retries", unit="{retry}", description="Failed attempts tried again."
        )
        self._throttles = meter.create_counter(
            "otaclient.throttles",
            unit="{answer}",
            description="Answers refusing an attempt for flow control.",
        )
        self._duration = meter.create_histogram(
            "otaclient.request.duration",
            unit="s",
            description="Seconds from sending an attempt to the last byte of its answer.",
        )
        self._span: contextvars.ContextVar[Any] = contextvars.ContextVar(
            f"otaclient_otel_span_{id(self)}", default=None
        )

    @property
    def event_hooks(self) -> dict[str, list[Any]]:
        """The hooks, for ``OTAClient(event_hooks=...)``."""
        return {
            "request": [self._on_request],
            "response": [self._on_response],
            "retry": [self._on_retry],
            "throttled": [self._on_throttled],
        }

    def _on_request(self, event: RequestEvent) -> None:
        span = self._tracer.start_span(
            f"OTA {event.action}",
            kind=self._trace.SpanKind.CLIENT,
            attributes={
                "rpc.system": _SYSTEM,
                "rpc.service": "Iot",
                "rpc.method": event.action,
                "otaclient.attempt": event.attempt,
            },
        )
        self._span.set(span)

    def _on_response(self, event: ResponseEvent) -> None:
        method = {"rpc.method": event.action}
        self._requests.add(1, method)
        self._duration.record(event.latency, method)
        span = self._span.get()
        if span is None:
            return
        self._span.set(None)
        if event.http_status is not None:
            span.set_attribute("http.response.status_code", event.http_status)
        if event.request_id is not None:
            span.set_attribute("otaclient.request_id", event.request_id)
        span.set_attribute("otaclient.throttled", event.throttled)
        if event.error is not None:
            span.set_attribute(
                "error.type", getattr(event.error, "code", None) or type(event.error).__name__
            )
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, str(event.error)))
        span.end()

    def _on_retry(self, event: RetryEvent) -> None:
        self._retries.add(1, {"rpc.method": event.action, "otaclient.retry_reason": event.reason})

    def _on_throttled(self, event: ThrottledEvent) -> None:
        self._throttles.add(1, {"rpc.method": event.action})
