"""``to_plain``: the one converter for everything that leaves as JSON or CSV."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

from otaclient import JobStatus, OTAJob, OTATag, TaskStatus, to_plain
from otaclient.audit import DeviceIssue, JobReport, TaskSummary, job_to_dict, summary_to_dict
from otaclient.simulator.stats import Arrival, SimulatorStats

SHANGHAI = timezone(timedelta(hours=8))


def test_a_model_becomes_a_dict_of_its_fields_with_times_in_utc_and_enums_as_values() -> None:
    job = OTAJob(
        job_id="j1",
        job_status=JobStatus.IN_PROGRESS,
        utc_create=datetime(2024, 9, 12, 16, 14, 42, 214000, SHANGHAI),
        utc_modified=datetime(2024, 9, 12, 8, 0, tzinfo=UTC),
        tags=[OTATag("k", "v")],
    )
    plain = to_plain(job)
    assert plain["job_status"] == "IN_PROGRESS" and type(plain["job_status"]) is str
    assert plain["utc_create"] == "2024-09-12T08:14:42.214Z"
    assert plain["utc_modified"] == "2024-09-12T08:00:00Z"
    assert plain["tags"] == [{"key": "k", "value": "v"}]
    assert list(plain)[:3] == ["job_id", "firmware_id", "job_status"]  # field order


def test_an_enum_in_a_field_declared_str_still_leaves_as_its_value() -> None:
    issue = DeviceIssue("d", "pk", None, "t", TaskStatus.FAILED, None)  # type: ignore[arg-type]
    assert type(to_plain(issue)["task_status"]) is str


def test_collections_become_lists_and_dicts_with_string_keys() -> None:
    plain = to_plain({"a": (1, 2), "b": frozenset({3}), "c": Counter({"x": 2}), 4: None})
    assert plain == {"a": [1, 2], "b": [3], "c": {"x": 2}, "4": None}
    assert type(plain["c"]) is dict


def test_simulator_stats_leave_out_their_arrivals() -> None:
    stats = SimulatorStats(requests=2, arrivals=[Arrival(0.5, "ListOTAFirmware", False)])
    stats.per_action["ListOTAFirmware"] += 2
    snapshot = stats.snapshot()
    assert "arrivals" not in snapshot
    assert snapshot["per_action"] == {"ListOTAFirmware": 2}
    assert json.loads(json.dumps(snapshot)) == snapshot


def test_a_summary_gives_its_counts_then_its_rates_rounded_to_four_places() -> None:
    summary = TaskSummary({"SUCCEEDED": 2, "FAILED": 1}, stuck=0)
    plain = summary_to_dict(summary)
    assert list(plain) == [
        "total",
        "task_counts",
        "finished",
        "unfinished",
        "succeeded",
        "failed",
        "stuck",
        "success_rate",
        "completion_rate",
    ]
    assert (plain["success_rate"], plain["completion_rate"]) == (0.6667, 1.0)


def test_a_job_report_spells_its_counts_the_way_the_contract_names_them() -> None:
    issue = DeviceIssue("dev", "pk", "iot", "t1", "FAILED", datetime(2024, 1, 2, tzinfo=UTC))
    job = JobReport(
        job_id="j1",
        firmware_id="f1",
        product_key="pk",
        job_status="IN_PROGRESS",
        job_type="UPGRADE_FIRMWARE",
        selection_type="STATIC",
        target_selection="ALL",
        utc_create=None,
        utc_start_time=None,
        utc_end_time=None,
        tasks=TaskSummary({"SUCCEEDED": 1, "FAILED": 1, "IN_PROGRESS": 1}, stuck=1),
        failed_devices=(issue,),
    )
    plain = job_to_dict(job)
    assert list(plain) == [
        "job_id",
        "firmware_id",
        "product_key",
        "job_status",
        "job_type",
        "selection_type",
        "target_selection",
        "running",
        "utc_create",
        "utc_start_time",
        "utc_end_time",
        "task_counts",
        "total_tasks",
        "finished",
        "success_rate",
        "completion_rate",
        "failed_count",
        "failed_devices",
        "stuck_count",
        "stuck_devices",
        "complete",
    ]
    assert (plain["failed_count"], plain["stuck_count"], plain["total_tasks"]) == (1, 1, 3)
    assert (plain["running"], plain["success_rate"], plain["completion_rate"]) == (
        True,
        0.5,
        0.6667,
    )
    assert plain["failed_devices"][0]["utc_modified"] == "2024-01-02T00:00:00Z"
    assert plain["task_counts"]["FAILED"] == 1
