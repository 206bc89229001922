"""Every action of the OTA family, end to end against the simulator, in both dialects and XML.

Each test changes or reads the simulated platform through the client, then checks the
platform's ground truth (``sim.fleet``) or a later read through the client.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from otaclient import (
    Acknowledged,
    APIError,
    JobStatus,
    OTAClient,
    OTATag,
    TaskStatus,
)
from otaclient.simulator import Simulator

pytestmark = pytest.mark.anyio


def _verified(sim: Simulator) -> list:  # type: ignore[type-arg]
    return [f for f in sim.fleet.firmware_sorted() if f.status == 1]


def _product(sim: Simulator, product_key: str):  # type: ignore[no-untyped-def]
    return next(p for p in sim.fleet.products if p.key == product_key)


# ------------------------------------------------------------------ firmware


async def test_firmware_lists_match_the_platform(sim: Simulator, client: OTAClient) -> None:
    listed = [f.firmware_id async for f in client.iter_ota_firmware()]
    assert sorted(listed) == sorted(sim.fleet.firmware_ids())
    page = await client.list_ota_firmware(page_size=5)
    assert page.total == len(listed)
    assert page.page_count == -(-len(listed) // 5)
    assert len(page.items) == 5


async def test_firmware_detail_comes_from_query(sim: Simulator, client: OTAClient) -> None:
    truth = _verified(sim)[0]
    detail = await client.query_ota_firmware(firmware_id=truth.firmware_id)
    assert detail.firmware_id == truth.firmware_id
    assert detail.dest_version == truth.dest_version
    assert detail.status == 1
    assert isinstance(detail.utc_create, datetime)
    assert detail.utc_create.tzinfo is not None


async def test_a_package_is_uploaded_created_modified_and_deleted(
    sim: Simulator, client: OTAClient
) -> None:
    ticket = await client.generate_ota_upload_url(file_suffix="bin")
    assert ticket.firmware_url and ticket.host and ticket.key
    product = sim.fleet.products[0]
    created = await client.create_ota_firmware(
        firmware_name="e2e-package",
        dest_version="9.9.9",
        firmware_url=ticket.firmware_url,
        product_key=product.key,
        need_to_verify=False,
    )
    assert created.firmware_id in sim.fleet.firmware_ids()
    await client.modify_ota_firmware(
        firmware_id=created.firmware_id, product_key=product.key, firmware_desc="renamed"
    )
    detail = await client.query_ota_firmware(firmware_id=created.firmware_id)
    assert detail.firmware_desc == "renamed"
    assert isinstance(
        await client.delete_ota_firmware(firmware_id=created.firmware_id), Acknowledged
    )
    assert created.firmware_id not in sim.fleet.firmware_ids()
    with pytest.raises(APIError) as caught:
        await client.query_ota_firmware(firmware_id=created.firmware_id)
    assert caught.value.http_status == 200  # a business error, Success=false


# ------------------------------------------------------------------ jobs


async def test_a_static_job_for_specific_devices_creates_their_tasks(
    sim: Simulator, client: OTAClient
) -> None:
    firmware = _verified(sim)[0]
    product = _product(sim, firmware.product_key)
    devices = [product.device_name(i) for i in range(product.n_devices - 3, product.n_devices)]
    job = await client.create_ota_static_upgrade_job(
        firmware_id=firmware.firmware_id,
        product_key=product.key,
        target_selection="specific",
        target_device_names=devices,
        tags=[OTATag("team", "e2e"), ("run", "1")],
        need_confirm=False,
        overwrite_mode=2,
        schedule_time=datetime.now(UTC) + timedelta(hours=1),
        schedule_finish_time=datetime.now(UTC) + timedelta(hours=3),
    )
    assert job.job_id in sim.fleet.job_ids()
    tasks = [t async for t in client.iter_ota_task_by_job(job_id=job.job_id)]
    assert sorted(t.device_name for t in tasks) == sorted(devices)
    detail = await client.query_ota_job(job_id=job.job_id)
    assert detail.job_status == JobStatus.PLANNED
    assert {(t.key, t.value) for t in detail.tags} == {("team", "e2e"), ("run", "1")}
    assert detail.utc_schedule_time is not None
    listed = [j async for j in client.iter_ota_job_by_firmware(firmware_id=firmware.firmware_id)]
    assert job.job_id in {j.job_id for j in listed}


async def test_a_verify_job_is_created_and_queried(sim: Simulator, client: OTAClient) -> None:
    unverified = next(f for f in sim.fleet.firmware_sorted() if f.status == 0)
    product = _product(sim, unverified.product_key)
    job = await client.create_ota_verify_job(
        firmware_id=unverified.firmware_id,
        product_key=product.key,
        target_device_names=[product.device_name(product.n_devices - 1)],
        timeout_in_minutes=60,
    )
    detail = await client.query_ota_job(job_id=job.job_id)
    # The provider spells it VERFIY_FIRMWARE; the library keeps an unknown spelling raw.
    assert detail.job_type in ("VERIFY_FIRMWARE", "VERFIY_FIRMWARE")


async def test_a_dynamic_job_is_updated_and_its_strategy_cancelled(
    sim: Simulator, client: OTAClient
) -> None:
    firmware = _verified(sim)[-1]
    product = _product(sim, firmware.product_key)
    versions = product.versions[firmware.module_key]
    job = await client.create_ota_dynamic_upgrade_job(
        firmware_id=firmware.firmware_id,
        product_key=product.key,
        src_versions=[v for v in versions if v != firmware.dest_version][:2],
        retry_interval=60,
        retry_count=2,
        timeout_in_minutes=1440,
        overwrite_mode=2,
    )
    await client.update_ota_job(
        job_id=job.job_id,
        target_selection="ALL",
        upgrade_type="DYNAMIC",
        maximum_per_minute=500,
        tags=[("k", "v")],
    )
    assert (await client.query_ota_job(job_id=job.job_id)).maximum_per_minute == 500
    await client.cancel_ota_strategy_by_job(job_id=job.job_id)
    assert (await client.query_ota_job(job_id=job.job_id)).job_status == JobStatus.CANCELED


async def test_jobs_by_device_list_the_devices_jobs(sim: Simulator, client: OTAClient) -> None:
    job = next(j for j in sim.fleet.jobs if len(j.tasks) > 0)
    task = (await client.list_ota_task_by_job(job_id=job.job_id, page_size=1)).items[0]
    assert task.device_name is not None
    jobs = [
        j
        async for j in client.iter_ota_job_by_device(
            firmware_id=job.firmware_id, product_key=job.product_key, device_name=task.device_name
        )
    ]
    assert job.job_id in {j.job_id for j in jobs}


# ------------------------------------------------------------------ tasks


def _job_with(sim: Simulator, status: str):  # type: ignore[no-untyped-def]
    return next(
        j
        for j in sim.fleet.jobs
        if j.status in ("IN_PROGRESS", "COMPLETED") and sim.fleet.task_ids(j.job_id, status)
    )


async def test_task_lists_match_the_platform_and_filter_by_status(
    sim: Simulator, client: OTAClient
) -> None:
    job = _job_with(sim, "FAILED")
    every = [t.task_id async for t in client.iter_ota_task_by_job(job_id=job.job_id)]
    assert every == sim.fleet.task_ids(job.job_id)
    failed = [t async for t in client.iter_ota_task_by_job(job_id=job.job_id, task_status="failed")]
    assert [t.task_id for t in failed] == sim.fleet.task_ids(job.job_id, "FAILED")
    assert all(t.task_status == TaskStatus.FAILED for t in failed)


async def test_confirming_tasks_moves_them_on(sim: Simulator, client: OTAClient) -> None:
    job = _job_with(sim, "CONFIRM")
    waiting = sim.fleet.task_ids(job.job_id, "CONFIRM")[:3]
    await client.confirm_ota_task(task_ids=waiting)
    after = set(sim.fleet.task_ids(job.job_id, "CONFIRM"))
    assert not after & set(waiting)


async def test_reupgrading_failed_tasks_moves_them_on(sim: Simulator, client: OTAClient) -> None:
    job = _job_with(sim, "FAILED")
    failed = sim.fleet.task_ids(job.job_id, "FAILED")[:2]
    await client.reupgrade_ota_task(job_id=job.job_id, task_ids=failed)
    assert not set(sim.fleet.task_ids(job.job_id, "FAILED")) & set(failed)


async def test_cancelling_a_jobs_queued_tasks(sim: Simulator, client: OTAClient) -> None:
    job = _job_with(sim, "QUEUED")
    await client.cancel_ota_task_by_job(job_id=job.job_id, cancel_queued_task=True)
    assert sim.fleet.task_ids(job.job_id, "QUEUED") == []


async def test_unfinished_tasks_of_a_device_and_cancelling_them(
    sim: Simulator, client: OTAClient
) -> None:
    job = _job_with(sim, "QUEUED")
    (task,) = (
        await client.list_ota_task_by_job(job_id=job.job_id, task_status="QUEUED", page_size=1)
    ).items
    assert task.device_name and task.product_key
    unfinished = await client.list_ota_unfinished_task_by_device(
        product_key=task.product_key,
        device_name=task.device_name,
        task_status_list=["queued", TaskStatus.NOTIFIED],
    )
    assert task.task_id in {t.task_id for t in unfinished}
    await client.cancel_ota_task_by_device(
        product_key=task.product_key,
        firmware_id=job.firmware_id,
        device_names=[task.device_name],
        job_id=job.job_id,
    )
    assert task.task_id not in sim.fleet.task_ids(job.job_id, "QUEUED")


# ------------------------------------------------------------------ modules and devices


async def test_a_module_is_created_listed_updated_and_deleted(
    sim: Simulator, client: OTAClient
) -> None:
    product = sim.fleet.products[0]
    await client.create_ota_module(
        product_key=product.key, module_name="e2e-mod", alias_name="E2E", desc="first"
    )
    await client.update_ota_module(product_key=product.key, module_name="e2e-mod", desc="second")
    modules = await client.list_ota_module_by_product(product_key=product.key)
    mine = next(m for m in modules if m.module_name == "e2e-mod")
    assert (mine.alias_name, mine.desc) == ("E2E", "second")
    assert mine.gmt_create is not None
    await client.delete_ota_module(product_key=product.key, module_name="e2e-mod")
    modules = await client.list_ota_module_by_product(product_key=product.key)
    assert "e2e-mod" not in {m.module_name for m in modules}


async def test_module_versions_of_a_device(sim: Simulator, client: OTAClient) -> None:
    product = sim.fleet.products[0]
    device = product.device_name(0)
    versions = [
        v
        async for v in client.iter_ota_module_versions_by_device(
            product_key=product.key, device_name=device
        )
    ]
    assert {v.module_name for v in versions} >= {"default"}
    assert all(v.device_name == device and v.module_version for v in versions)


async def test_a_device_list_ticket(client: OTAClient) -> None:
    ticket = await client.generate_device_name_list_url()
    assert ticket.file_url and ticket.host
    assert ticket.signature is not None
    assert ticket.signature not in repr(ticket)  # an upload credential: kept out of repr


async def test_the_raw_escape_hatch_returns_the_body(sim: Simulator, client: OTAClient) -> None:
    job_id = sim.fleet.job_ids()[0]
    body = await client.call("QueryOTAJob", {"JobId": job_id}, idempotent=True)
    data = next(v for k, v in body.items() if k.lower() == "data")
    assert next(v for k, v in data.items() if k.lower() == "jobid") == job_id
    with pytest.raises(APIError):
        await client.call("QueryOTAJob", {"JobId": "no-such-job"}, idempotent=True)
