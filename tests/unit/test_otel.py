"""otaclient[otel]: spans, counters and the latency histogram, read back from the SDK's
in-memory exporter and metric reader."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from otaclient import APIError
from otaclient.otel import OpenTelemetryHooks

from ._helpers import ACCESS_KEY_SECRET, Recorder, answers, make_client, ok_body

pytestmark = pytest.mark.anyio

THROTTLED = httpx.Response(
    400, json={"RequestId": "req-throttled", "Code": "Throttling.User", "Message": "slow"}
)
PAGE = httpx.Response(200, json=ok_body(Total=0, PageCount=0, PageSize=100, CurrentPage=1))


class Telemetry:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.metrics = InMemoryMetricReader()
        meter_provider = MeterProvider(metric_readers=[self.metrics])
        self.hooks = OpenTelemetryHooks(
            tracer_provider=tracer_provider, meter_provider=meter_provider
        )

    def points(self) -> dict[str, list[Any]]:
        data = self.metrics.get_metrics_data()
        assert data is not None
        return {
            metric.name: list(metric.data.data_points)
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
        }


async def test_a_throttled_then_answered_call_is_two_spans_and_exact_counts() -> None:
    telemetry = Telemetry()
    client = make_client(
        Recorder(answers(THROTTLED, PAGE)), event_hooks=telemetry.hooks.event_hooks
    )
    async with client:
        await client.list_ota_firmware()
    spans = telemetry.spans.get_finished_spans()
    assert [span.name for span in spans] == ["OTA ListOTAFirmware"] * 2
    assert all(span.kind is SpanKind.CLIENT for span in spans)
    first, second = (dict(span.attributes or {}) for span in spans)
    assert first["otaclient.attempt"] == 1 and second["otaclient.attempt"] == 2
    assert first["http.response.status_code"] == 400 and first["otaclient.throttled"] is True
    assert first["otaclient.request_id"] == "req-throttled"
    assert first["error.type"] == "Throttling.User"
    assert spans[0].status.status_code is StatusCode.ERROR
    assert second["otaclient.request_id"] == "req-ok"
    assert spans[1].status.status_code is StatusCode.UNSET
    points = telemetry.points()
    assert [p.value for p in points["otaclient.requests"]] == [2]
    assert [p.value for p in points["otaclient.retries"]] == [1]
    assert [p.value for p in points["otaclient.throttles"]] == [1]
    assert [p.count for p in points["otaclient.request.duration"]] == [2]
    assert dict(points["otaclient.retries"][0].attributes) == {
        "rpc.method": "ListOTAFirmware",
        "otaclient.retry_reason": "throttled",
    }


async def test_spans_carry_no_secret() -> None:
    telemetry = Telemetry()
    echo = httpx.Response(
        400, json={"RequestId": "r", "Code": "SignatureDoesNotMatch", "Message": ACCESS_KEY_SECRET}
    )
    client = make_client(Recorder(answers(echo)), event_hooks=telemetry.hooks.event_hooks)
    async with client:
        with pytest.raises(APIError, match="SignatureDoesNotMatch"):
            await client.list_ota_firmware()
    (span,) = telemetry.spans.get_finished_spans()
    assert span.status.description is not None
    assert ACCESS_KEY_SECRET not in span.status.description
    assert ACCESS_KEY_SECRET not in repr(dict(span.attributes or {}))
