"""Two reports compared job by job: added, removed, changed, counts and newly failed devices."""

from __future__ import annotations

from typing import Any

from support.audit_reports import device, job, report

from otaclient.report import ReportDiff, diff_reports, read_report


def _diff(old: dict[str, Any], new: dict[str, Any]) -> ReportDiff:
    return diff_reports(read_report(old, source="old"), read_report(new, source="new"))


def _only(result: ReportDiff) -> Any:
    assert len(result["jobs"]) == 1, result["jobs"]
    return result["jobs"][0]


def test_identical_reports_have_an_empty_diff() -> None:
    same = report(job("J1", counts={"SUCCEEDED": 5, "FAILED": 1}, failed=[device("d1")]))
    result = _diff(same, same)
    assert result["jobs"] == []
    assert result["summary"] == {"added": 0, "removed": 0, "changed": 0, "unchanged": 1}
    assert result["task_count_changes"] == {}


def test_a_job_only_in_new_is_added_with_its_counts_as_changes() -> None:
    new_job = job("J2", counts={"QUEUED": 4, "FAILED": 2}, failed=[device("a"), device("b")])
    found = _only(_diff(report(), report(new_job)))
    assert found["change"] == "added"
    assert found["task_count_changes"] == {"QUEUED": 4, "FAILED": 2}
    assert found["job_status"] == {"old": None, "new": "IN_PROGRESS"}
    assert found["newly_failed"] == {"count": 2, "exact": True, "devices": ["a", "b"]}


def test_a_job_only_in_old_is_removed_with_negative_changes() -> None:
    old_job = job("J1", counts={"SUCCEEDED": 7, "CANCELED": 1}, status="COMPLETED")
    found = _only(_diff(report(old_job), report()))
    assert found["change"] == "removed"
    assert found["task_count_changes"] == {"SUCCEEDED": -7, "CANCELED": -1}
    assert found["newly_failed"] == {"count": 0, "exact": True, "devices": []}


def test_task_count_changes_leave_out_the_statuses_that_did_not_change() -> None:
    old = report(job("J1", counts={"QUEUED": 10, "SUCCEEDED": 5, "CANCELED": 1}))
    new = report(job("J1", counts={"QUEUED": 4, "SUCCEEDED": 11, "CANCELED": 1}))
    found = _only(_diff(old, new))
    assert found["change"] == "changed"
    assert found["task_count_changes"] == {"QUEUED": -6, "SUCCEEDED": 6}
    assert found["total_tasks"] == {"old": 16, "new": 16}
    assert found["success_rate"] == {"old": round(5 / 6, 4), "new": round(11 / 12, 4)}


def test_a_job_status_change_alone_is_a_change() -> None:
    counts = {"SUCCEEDED": 3}
    old = report(job("J1", counts=counts, status="IN_PROGRESS"))
    new = report(job("J1", counts=counts, status="COMPLETED"))
    found = _only(_diff(old, new))
    assert found["job_status"] == {"old": "IN_PROGRESS", "new": "COMPLETED"}
    assert found["task_count_changes"] == {}


def test_more_stuck_devices_alone_is_a_change() -> None:
    counts = {"IN_PROGRESS": 3}
    old = report(job("J1", counts=counts, stuck_count=0))
    new = report(job("J1", counts=counts, stuck_count=2))
    assert _only(_diff(old, new))["stuck_count"] == {"old": 0, "new": 2}


def test_newly_failed_devices_are_exact_when_both_lists_are_whole() -> None:
    old = report(job("J1", counts={"FAILED": 1}, failed=[device("a")]))
    new = report(job("J1", counts={"FAILED": 3}, failed=[device(n) for n in ("c", "a", "b")]))
    newly = _only(_diff(old, new))["newly_failed"]
    assert newly == {"count": 2, "exact": True, "devices": ["c", "b"]}


def test_a_device_failed_in_both_reports_is_not_newly_failed() -> None:
    old = report(job("J1", counts={"FAILED": 1, "SUCCEEDED": 1}, failed=[device("a")]))
    new = report(job("J1", counts={"FAILED": 1, "SUCCEEDED": 2}, failed=[device("a")]))
    assert _only(_diff(old, new))["newly_failed"] == {"count": 0, "exact": True, "devices": []}


def test_a_cut_new_list_gives_at_least_the_growth_of_the_failed_count() -> None:
    # NEW lists 2 of its 9 failures (max_devices_per_job=2); OLD had 3, all listed.
    old_failed = [device(n) for n in ("a", "b", "c")]
    old = report(job("J1", counts={"FAILED": 3}, failed=old_failed))
    new = report(job("J1", counts={"FAILED": 9}, failed=[device("x"), device("a")]))
    newly = _only(_diff(old, new))["newly_failed"]
    assert newly == {"count": 6, "exact": False, "devices": ["x"]}


def test_with_old_cut_a_device_counts_as_new_only_if_modified_after_old() -> None:
    # OLD lists 1 of its 5 failures: "early" may have been one of the other 4, "late"
    # changed after OLD was generated, so it failed since.
    old = report(
        job("J1", counts={"FAILED": 5}, failed=[device("a")]), generated_at="2026-03-10T12:00:00Z"
    )
    early = device("early", modified="2026-03-10T11:00:00Z")
    late = device("late", modified="2026-03-10T13:00:00Z")
    new = report(job("J1", counts={"FAILED": 6}, failed=[late, early, device("a")]))
    newly = _only(_diff(old, new))["newly_failed"]
    assert newly == {"count": 1, "exact": False, "devices": ["late"]}


def test_a_partial_old_job_does_not_claim_its_list_was_whole() -> None:
    old = report(job("J1", counts={"FAILED": 1}, failed=[device("a")], complete=False))
    new = report(
        job(
            "J1",
            counts={"FAILED": 2},
            failed=[device("b", modified="2026-03-01T00:00:00Z"), device("a")],
        )
    )
    newly = _only(_diff(old, new))["newly_failed"]
    assert newly["exact"] is False
    assert newly["devices"] == []
    assert newly["count"] == 1


def test_fleet_task_count_changes_add_up_every_job() -> None:
    old = report(job("J1", counts={"QUEUED": 5}), job("J2", counts={"FAILED": 1}))
    new = report(job("J1", counts={"QUEUED": 2, "CANCELED": 3}), job("J3", counts={"QUEUED": 1}))
    assert _diff(old, new)["task_count_changes"] == {"QUEUED": -2, "FAILED": -1, "CANCELED": 3}


def test_jobs_come_in_new_order_then_the_removed_ones_in_old_order() -> None:
    old = report(job("R1"), job("C1", counts={"QUEUED": 1}), job("R2"))
    new = report(job("A1"), job("C1", counts={"QUEUED": 2}))
    result = _diff(old, new)
    assert [(j["job_id"], j["change"]) for j in result["jobs"]] == [
        ("A1", "added"),
        ("C1", "changed"),
        ("R1", "removed"),
        ("R2", "removed"),
    ]
    assert result["summary"] == {"added": 1, "removed": 2, "changed": 1, "unchanged": 0}


def test_different_scopes_are_noted() -> None:
    old = report(product_keys=["a1PK"])
    new = report(product_keys=None)
    (note,) = _diff(old, new)["notes"]
    assert "different products" in note and "a1PK" in note and "all products" in note


def test_the_package_is_named_by_name_and_version_not_id() -> None:
    new = report(job("J1", counts={"QUEUED": 1}))
    assert _only(_diff(report(), new))["package"] == "fw-main (2.0.0)"


def test_both_generation_times_are_given() -> None:
    result = _diff(report(generated_at="2026-03-01T00:00:00Z"), report())
    assert result["old"]["generated_at"] == "2026-03-01T00:00:00Z"
    assert result["new"]["generated_at"] == "2026-03-10T12:00:00Z"
