"""A create answered "success" without the new id: the thing may exist, so the outcome is
unknown, never a result with ``None`` for its id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from support.lying_servers import client_for

from otaclient import OTAClient, OutcomeUnknownError

pytestmark = pytest.mark.anyio

Create = Callable[[OTAClient], Awaitable[Any]]

CREATES: dict[str, tuple[Create, str]] = {
    "CreateOTAStaticUpgradeJob": (
        lambda c: c.create_ota_static_upgrade_job(
            firmware_id="f", product_key="p", target_selection="all"
        ),
        "list_ota_job_by_firmware",
    ),
    "CreateOTADynamicUpgradeJob": (
        lambda c: c.create_ota_dynamic_upgrade_job(firmware_id="f", product_key="p"),
        "list_ota_job_by_firmware",
    ),
    "CreateOTAVerifyJob": (
        lambda c: c.create_ota_verify_job(
            firmware_id="f", product_key="p", target_device_names=["d"]
        ),
        "list_ota_job_by_firmware",
    ),
    "CreateOTAFirmware": (
        lambda c: c.create_ota_firmware(
            firmware_name="n", dest_version="1.0", firmware_url="https://oss.test/f.bin"
        ),
        "list_ota_firmware",
    ),
}

ENVELOPE = {"RequestId": "rid-7", "Success": True}


def _answering(body: dict[str, Any]) -> Recorder:
    return Recorder(body)


class Recorder:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return httpx.Response(200, json=self.body)


@pytest.mark.parametrize("action", list(CREATES))
@pytest.mark.parametrize(
    "data",
    [..., {}, None, {"UtcCreate": "2024-01-01T00:00:00.000Z"}, {"JobId": ""}],
    ids=["no-data", "empty-data", "null-data", "data-without-id", "empty-id"],
)
async def test_a_create_answered_without_the_new_id_is_an_unknown_outcome(
    action: str, data: object
) -> None:
    create, check_with = CREATES[action]
    body = dict(ENVELOPE) if data is ... else {**ENVELOPE, "Data": data}
    if isinstance(data, dict) and "JobId" in data and action == "CreateOTAFirmware":
        body["Data"] = {"FirmwareId": ""}
    server = _answering(body)
    async with client_for(server) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await create(client)
    error = caught.value
    assert error.action == action
    assert check_with in error.how_to_check
    assert "rid-7" in str(error)
    assert server.requests == 1  # never sent again: the first one may have created it


@pytest.mark.parametrize("action", list(CREATES))
async def test_a_create_whose_answer_does_not_fit_its_shape_is_an_unknown_outcome(
    action: str,
) -> None:
    create, check_with = CREATES[action]
    server = _answering({**ENVELOPE, "Data": "oops"})
    async with client_for(server) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await create(client)
    assert check_with in caught.value.how_to_check
    assert server.requests == 1


async def test_a_create_answered_with_its_id_returns_it() -> None:
    server = _answering({**ENVELOPE, "Data": {"JobId": "j-1"}})
    async with client_for(server) as client:
        created = await CREATES["CreateOTAStaticUpgradeJob"][0](client)
    assert created.job_id == "j-1"
    assert created.request_id == "rid-7"
