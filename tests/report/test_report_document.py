"""A document that is not an audit report is refused with a message naming it and the field."""

from __future__ import annotations

import json

import pytest
from support.audit_reports import device, job, report

from otaclient import OTAError, ReportError
from otaclient.report import parse_report, read_report


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("", "is empty"),
        ("   \n", "is empty"),
        ("{not json", "is not JSON"),
        (b"\xff\xfe{}", "not"),
        ("[1, 2]", "is a JSON array, not an object"),
        ('{"firmware": []}', 'has no "jobs" list'),
        ('{"jobs": {}}', '"jobs" that is not a list'),
        ('{"jobs": [1]}', "jobs[0] is a JSON number"),
        ('{"jobs": [{"job_status": "X"}]}', 'jobs[0] has no "job_id"'),
        ('{"jobs": [{"job_id": ""}]}', 'jobs[0] has no "job_id"'),
        ('{"jobs": [{"job_id": 7}]}', 'jobs[0] has no "job_id"'),
        ('{"jobs": [{"job_id": "J"}, {"job_id": "J"}]}', "job J appears twice"),
        ('{"jobs": [{"job_id": "J", "task_counts": []}]}', '"task_counts" is not an object'),
        ('{"jobs": [{"job_id": "J", "task_counts": {"FAILED": -1}}]}', "task_counts.FAILED"),
        ('{"jobs": [{"job_id": "J", "task_counts": {"FAILED": 1.5}}]}', "whole number"),
        ('{"jobs": [{"job_id": "J", "task_counts": {"FAILED": true}}]}', "whole number"),
        ('{"jobs": [{"job_id": "J", "failed_devices": "x"}]}', '"failed_devices" that is not'),
        ('{"jobs": [{"job_id": "J", "stuck_devices": [3]}]}', "stuck_devices[0] is a JSON"),
        ('{"jobs": [{"job_id": "J", "job_status": 3}]}', '"job_status" that is not text'),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_a_document_that_is_not_a_report_is_refused_naming_the_problem(
    text: str | bytes, names: str
) -> None:
    with pytest.raises(ReportError) as raised:
        parse_report(text, source="monday.json")
    message = str(raised.value)
    assert message.startswith("monday.json ")
    assert names in message
    assert "\n" not in message


def test_the_refusal_is_an_ota_error_and_a_value_error() -> None:
    with pytest.raises(ReportError) as raised:
        read_report({"nope": 1})
    assert isinstance(raised.value, OTAError)
    assert isinstance(raised.value, ValueError)


def test_a_report_round_trips_through_json() -> None:
    data = report(job("J1", counts={"FAILED": 1}, failed=[device("d1")]))
    checked = parse_report(json.dumps(data), source="r.json")
    (only,) = checked.jobs
    assert (only.job_id, only.failed_count, only.failed_devices[0].name) == ("J1", 1, "d1")
    assert checked.generated_at is not None and checked.generated_at.tzinfo is not None


def test_missing_optional_fields_get_neutral_defaults() -> None:
    checked = read_report({"jobs": [{"job_id": "J1", "task_counts": {"FAILED": 2}}]})
    (only,) = checked.jobs
    assert only.failed_count == 2
    assert only.stuck_count == 0
    assert only.complete is True
    assert checked.generated_at is None and checked.packages == {}
