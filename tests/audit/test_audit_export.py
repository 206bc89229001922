"""``report_to_dict``: the JSON shape ``otaclient audit --format json`` writes."""

from __future__ import annotations

import json

import pytest
from audit_helpers import ANCHOR

from otaclient import OTAClient
from otaclient.audit import SUCCESS_RATE_DEFINITION, audit_fleet, report_to_dict
from otaclient.simulator import Simulator

pytestmark = pytest.mark.anyio


async def test_report_dict_is_json_and_has_the_contract_keys(
    sim: Simulator, client: OTAClient
) -> None:
    data = json.loads(json.dumps(report_to_dict(await audit_fleet(client, now=ANCHOR))))
    assert data["generated_at"] == "2024-11-19T09:00:00Z"
    assert data["success_rate_definition"] == SUCCESS_RATE_DEFINITION
    assert len(data["jobs"]) == len(sim.fleet.jobs)
    for job in data["jobs"]:
        assert {"job_id", "firmware_id", "product_key", "job_status", "task_counts"} <= set(job)
        assert sum(job["task_counts"].values()) == job["total_tasks"]
        assert all(isinstance(count, int) for count in job["task_counts"].values())
    assert data["totals"]["total"] == sim.fleet.total_tasks
    assert {f["firmware_id"] for f in data["firmware"]} == set(sim.fleet.firmware_ids())
