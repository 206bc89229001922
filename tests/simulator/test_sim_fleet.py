"""The generated fleet: deterministic, complete, realistic, and cheap at scale."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from simhelpers import ANCHOR_MS

from otaclient.simulator import (
    TASK_STATUSES,
    Fleet,
    FleetSpec,
    Simulator,
    SimulatorConfig,
    build_fleet,
)
from otaclient.simulator.ids import IdCodec

DAY_MS = 86_400_000


def _build(seed: int = 3, dialect: str = "aliyun", spec: FleetSpec | None = None) -> Fleet:
    return build_fleet(spec or FleetSpec.demo(), seed=seed, dialect=dialect, anchor_ms=ANCHOR_MS)  # type: ignore[arg-type]


def _fingerprint(fleet: Fleet) -> list[Any]:
    out: list[Any] = [(p.key, p.name, p.n_devices, sorted(p.modules)) for p in fleet.products]
    out += [
        (f.firmware_id, f.name, f.status, f.dest_version, f.src_version)
        for f in fleet.firmware.values()
    ]
    for job in fleet.jobs:
        out.append((job.job_id, job.status, job.target_selection, bytes(job.tasks.status)))
        out.append(fleet.task_fields(job, len(job.tasks) // 2))
    return out


def test_same_seed_builds_the_same_fleet() -> None:
    assert _fingerprint(_build(seed=11)) == _fingerprint(_build(seed=11))


def test_different_seeds_build_different_fleets() -> None:
    assert _fingerprint(_build(seed=11)) != _fingerprint(_build(seed=12))


def test_simulators_with_the_same_config_agree() -> None:
    config = SimulatorConfig(seed=5, fleet=FleetSpec(anchor_ms=ANCHOR_MS))
    assert _fingerprint(Simulator(config).fleet) == _fingerprint(Simulator(config).fleet)


def test_default_anchor_is_the_wall_clock_hour() -> None:
    app = Simulator(SimulatorConfig(wall_clock=lambda: 1_732_009_663.5))
    assert app.fleet.anchor_ms == 1_732_006_800_000


def test_demo_fleet_has_the_documented_size() -> None:
    fleet = _build()
    assert len(fleet.products) == 3
    assert len(fleet.firmware) == 12
    assert 30 <= len(fleet.jobs) <= 55
    assert 3_500 <= fleet.total_tasks <= 7_500


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_demo_fleet_covers_every_status_and_kind(seed: int) -> None:
    fleet = _build(seed=seed)
    task_statuses = {name for job in fleet.jobs for name, n in job.tasks.counts().items() if n}
    assert task_statuses == set(TASK_STATUSES)
    assert {job.status for job in fleet.jobs} == {"PLANNED", "IN_PROGRESS", "COMPLETED", "CANCELED"}
    assert {job.job_type for job in fleet.jobs} == {"UPGRADE_FIRMWARE", "VERIFY_FIRMWARE"}
    assert {job.selection_type for job in fleet.jobs} == {"STATIC", "DYNAMIC"}
    assert {f.status for f in fleet.firmware.values()} >= {0, 1, 2, 3}
    assert {f.type for f in fleet.firmware.values()} == {0, 1}


def test_some_unfinished_tasks_are_stuck_for_days() -> None:
    fleet = _build()
    stuck = 0
    for job in fleet.jobs:
        for row, code in enumerate(job.tasks.status):
            if TASK_STATUSES[code] in ("NOTIFIED", "IN_PROGRESS"):
                fields = fleet.task_fields(job, row)
                stuck += fields.utc_modified_ms <= ANCHOR_MS - 2 * DAY_MS
    assert stuck > 20


def test_task_times_are_ordered() -> None:
    fleet = _build()
    for job in fleet.jobs:
        for row in range(0, len(job.tasks), 7):
            fields = fleet.task_fields(job, row)
            assert (
                job.utc_create_ms
                <= fields.utc_create_ms
                <= fields.utc_modified_ms
                <= ANCHOR_MS + DAY_MS
            )


def test_task_ids_locate_their_task() -> None:
    fleet = _build()
    for job in fleet.jobs[::5]:
        for row in (0, len(job.tasks) - 1):
            assert fleet.locate_task(fleet.task_id(job, row)) == (job, row)
    assert fleet.locate_task("not-a-task") is None


@pytest.mark.parametrize(
    ("kind", "style"), [("task", "opaque"), ("job", "numeric"), ("firmware", "numeric")]
)
def test_id_codec_round_trips(kind: str, style: str) -> None:
    codec = IdCodec(kind, style, seed=9)  # type: ignore[arg-type]
    ids = [codec.encode(n) for n in (0, 1, 2, 999_999, 10**7)]
    assert [codec.decode(i) for i in ids] == [0, 1, 2, 999_999, 10**7]
    assert len(set(ids)) == len(ids)


def test_tuya_ids_look_like_the_seeds() -> None:
    fleet = _build(dialect="tuya")
    job = fleet.jobs[0]
    assert job.job_id.isdigit() and len(job.job_id) == 15
    assert fleet.task_id(job, 0).isdigit() and len(fleet.task_id(job, 0)) == 15
    assert next(iter(fleet.firmware)).isdigit()
    assert fleet.products[0].key.startswith("k1")


def test_single_job_fleet_has_exactly_the_requested_tasks() -> None:
    fleet = _build(spec=FleetSpec.single_job(250_000, anchor_ms=ANCHOR_MS))
    (job,) = fleet.jobs
    assert len(job.tasks) == 250_000
    assert job.status == "IN_PROGRESS"
    assert all(job.tasks.counts()[status] for status in TASK_STATUSES)


# VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child of a large pytest process
# would report the parent's size.
_MILLION = """
import json, re, time
from otaclient.simulator import FleetSpec, build_fleet
spec = FleetSpec(products=4, devices_per_product=60_000, tasks_per_job=(15_000, 40_000))
started = time.perf_counter()
fleet = build_fleet(spec, seed=3, dialect="aliyun", anchor_ms=1_732_006_800_000)
elapsed = time.perf_counter() - started
status = open("/proc/self/status").read()
peak_kb = int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1))
print(json.dumps({"tasks": fleet.total_tasks, "seconds": elapsed, "peak_mb": peak_kb / 1024}))
"""


def test_a_million_tasks_build_fast_and_small() -> None:
    # A fresh interpreter, so the peak RSS is the fleet's and not the test session's.
    result = subprocess.run(
        [sys.executable, "-c", _MILLION], capture_output=True, text=True, check=True, timeout=120
    )
    report = json.loads(result.stdout)
    assert report["tasks"] >= 1_000_000
    assert report["seconds"] < 5  # typically ~0.3 s
    assert report["peak_mb"] < 300  # typically ~60 MB, interpreter included
