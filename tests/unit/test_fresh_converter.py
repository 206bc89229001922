"""A converter made afresh with ``make_converter()`` decodes like the shared one.

The shared converter builds its hooks once, on first use; a new one builds them again, so
this also checks the hook factories themselves (mutation testing cannot reach them through
the shared converter, whose hooks exist before any mutant is switched on).
"""

from __future__ import annotations

from typing import Any

import pytest

from otaclient._convert import make_converter, structure
from otaclient._models import OTAJobDetail
from otaclient._operations import OPERATIONS
from otaclient._parse import DecodeProblem, load_body
from otaclient._shapes import _dig

from ._helpers import fixture_bytes

SAMPLES = [
    ("seed000_list_ota_job_by_firmware.json", "ListOTAJobByFirmware"),
    ("seed001_list_ota_firmware.json", "ListOTAFirmware"),
    ("seed002_list_ota_unfinished_task_by_device.json", "ListOTAUnfinishedTaskByDevice"),
    ("seed003_create_ota_static_upgrade_job.json", "CreateOTAStaticUpgradeJob"),
    ("seed004_list_ota_job_by_device.json", "ListOTAJobByDevice"),
    ("seed004_list_ota_job_by_device.xml", "ListOTAJobByDevice"),
    ("aliyun_list_ota_job_by_device_tags.json", "ListOTAJobByDevice"),
    ("aliyun_list_ota_job_by_device_tags.xml", "ListOTAJobByDevice"),
]

DETAIL = {
    "JobId": "job-1",
    "JobStatus": "in_progress",
    "JobType": "A_NEW_TYPE",
    "SrcVersions": {"SrcVersion": ["1.0", "1.1"]},
    "Tags": {"OtaTagDTO": [{"Key": "team", "Value": "a"}]},
    "MaximumPerMinute": "100",
    "NeedPush": "false",
    "NeedConfirm": True,
    "UtcCreate": "2019-12-28T02:43:10.000Z",
    "UtcScheduleTime": 1_577_500_990_000,
    "GrayPercent": None,
    "Unknown": {"deep": [1, 2]},
}


def _target(action: str) -> tuple[tuple[str, ...], Any]:
    result = OPERATIONS[action].result
    if hasattr(result, "item"):
        return result.path, list[result.item]  # type: ignore[name-defined]
    return result.path, result.model


@pytest.mark.parametrize(("name", "action"), SAMPLES, ids=[name for name, _ in SAMPLES])
def test_a_fresh_converter_decodes_every_sample_like_the_shared_one(name: str, action: str) -> None:
    path, target = _target(action)
    data = _dig(load_body(fixture_bytes(name)), path)
    shared = structure(data, target)
    assert shared  # the sample holds something to compare
    assert make_converter().structure(data, target) == shared


@pytest.mark.parametrize("dialect", ["pascal", "camel"])
def test_a_fresh_converter_decodes_every_kind_of_field_like_the_shared_one(dialect: str) -> None:
    body = DETAIL if dialect == "pascal" else {k[0].lower() + k[1:]: v for k, v in DETAIL.items()}
    shared = structure(body, OTAJobDetail)
    assert shared.need_push is False
    assert shared.job_status == "IN_PROGRESS"
    assert shared.src_versions == ["1.0", "1.1"]
    assert make_converter().structure(body, OTAJobDetail) == shared


@pytest.mark.parametrize(
    "body",
    [
        {"NeedPush": "yes"},
        {"MaximumPerMinute": True},
        {"Tags": "oops"},
        {"UtcCreate": "yesterday"},
        {"SrcVersions": {"A": 1, "B": 2}},
    ],
    ids=["bool", "int", "list", "time", "list-wrapper"],
)
def test_a_fresh_converter_refuses_what_the_shared_one_refuses(body: dict[str, Any]) -> None:
    with pytest.raises(DecodeProblem) as shared:
        structure(body, OTAJobDetail)
    with pytest.raises(DecodeProblem) as fresh:
        make_converter().structure(body, OTAJobDetail)
    assert str(fresh.value) == str(shared.value)
