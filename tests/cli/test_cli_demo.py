"""``--demo`` works for every command that talks to the service, with no endpoint and no
credentials: each runs against the in-process simulator's sample fleet."""

from __future__ import annotations

import pytest
from cli_helpers import NO_ENV, run

from otaclient.simulator import Simulator, SimulatorConfig
from otaclient.simulator.model import Job

FAILED, CONFIRM, QUEUED = 5, 0, 1


def _demo_fleet_commands() -> dict[str, tuple[str, ...]]:
    """One invocation of each service command, with IDs of the demo's own fleet."""
    sim = Simulator(SimulatorConfig())  # what --demo builds: same seed, same IDs
    fleet = sim.fleet

    def free(job: Job) -> bool:
        product = fleet.products[job.product_index]
        rows = job.tasks.rows_with_status(FAILED)
        return bool(rows) and all(
            fleet.busy_owner(product, job.tasks.devices[row], job.module_key) is None
            for row in rows
        )

    job = fleet.jobs[0]
    product = fleet.products[job.product_index]
    device = product.device_name(job.tasks.devices[0])
    failing = next(j for j in fleet.jobs if j.status != "CANCELED" and free(j))
    confirming = next(j for j in fleet.jobs if len(j.tasks.rows_with_status(CONFIRM)))
    queued = next(j for j in fleet.jobs if len(j.tasks.rows_with_status(QUEUED)))
    verified = next(f for f in fleet.firmware_sorted() if f.status == 1)
    dynamic = {j.firmware_id for j in fleet.jobs if j.selection_type == "DYNAMIC"}
    full = next(
        f
        for f in fleet.firmware_sorted()
        if f.status == 1 and f.src_version is None and f.firmware_id not in dynamic
    )
    unverified = next(f for f in fleet.firmware_sorted() if f.status == 0)
    verify_product = fleet.product(unverified.product_key)
    assert verify_product is not None
    package = ("--firmware-id", verified.firmware_id, "--product-key", str(verified.product_key))
    return {
        "firmware list": ("firmware", "list"),
        "jobs list": ("jobs", "list", "--firmware-id", job.firmware_id),
        "jobs list of a device": (
            "jobs", "list", "--product-key", product.key, "--device-name", device,
        ),
        "jobs show": ("jobs", "show", job.job_id),
        "tasks list": ("tasks", "list", "--job-id", job.job_id),
        "tasks unfinished": (
            "tasks", "unfinished", "--product-key", product.key, "--device-name", device,
        ),
        "tasks reupgrade": ("tasks", "reupgrade", "--job-id", failing.job_id, "--yes"),
        "tasks confirm": ("tasks", "confirm", "--job-id", confirming.job_id, "--yes"),
        "jobs cancel": ("jobs", "cancel", queued.job_id, "--queued", "--yes"),
        "jobs create-static": ("jobs", "create-static", *package, "--target-selection", "all",
                               "--yes"),
        "jobs create-dynamic": (
            "jobs", "create-dynamic", "--firmware-id", full.firmware_id,
            "--product-key", str(full.product_key), "--src-version", "0.1", "--yes",
        ),
        "jobs create-verify": (
            "jobs", "create-verify", "--firmware-id", unverified.firmware_id,
            "--product-key", verify_product.key, "--device-name",
            verify_product.device_name(0), "--yes",
        ),
    }  # fmt: skip


COMMANDS = _demo_fleet_commands()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_service_command_runs_with_demo_and_no_credentials(name: str) -> None:
    result = run(*COMMANDS[name], "--demo", env=NO_ENV)
    assert result.exit_code == 0, result.stderr
    assert "Error" not in result.stderr


def test_demo_before_the_subcommand_works_as_well() -> None:
    result = run("--demo", *COMMANDS["tasks reupgrade"], env=NO_ENV)
    assert result.exit_code == 0, result.stderr
    assert "queued again" in result.stdout
