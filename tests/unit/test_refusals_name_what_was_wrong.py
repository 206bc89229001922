"""Every refused argument of every action: a ValidationError naming the action, the argument
and what was wrong, before anything is sent. Driven by the operation table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from otaclient import OTATag, TaskStatus, ValidationError
from otaclient._operations import OPERATIONS
from otaclient._params import Param

from ._table_samples import minimal_arguments, sample_value


def _refusals(param: Param) -> list[tuple[Any, str]]:
    """(bad value, what the message must say) for each rule ``param`` has."""
    kind = param.kind.value
    if kind == "str":
        bad = [(123, "must be a string, got int")]
        if param.required:
            bad.append(("", "must not be empty"))
        if param.max_len is not None:
            too_long = param.max_len + 1
            bad.append(("x" * too_long, f"at most {param.max_len} characters, got {too_long:,}"))
        return bad
    if kind == "int":
        bad = [("5", "must be an integer, got str"), (True, "must be an integer, got bool")]
        if param.low is not None:
            bad.append((param.low - 1, f"must be at least {param.low}, got {param.low - 1}"))
        if param.high is not None:
            bad.append((param.high + 1, f"must be at most {param.high}, got {param.high + 1}"))
        if param.choices is not None:
            allowed = ", ".join(map(str, param.choices))
            bad.append((max(param.choices) + 7, f"must be one of {allowed}, got"))
        return bad
    if kind == "bool":
        return [("yes", "must be True or False, got 'yes'"), (1, "must be True or False, got 1")]
    if kind == "enum":
        assert param.enum is not None
        allowed = ", ".join(member.value for member in param.enum)
        return [(v, f"must be one of {allowed}, got") for v in ("nope", " ", 5)]
    if kind == "millis":
        naive = datetime(2024, 1, 1)
        return [
            (naive, "must be a timezone-aware datetime"),
            ("tomorrow", "must be an aware datetime or epoch milliseconds, got 'tomorrow'"),
            (10**12 - 1, "13-digit epoch-milliseconds time, got 999999999999"),
            (10**13, "13-digit epoch-milliseconds time, got 10000000000000"),
        ]
    if kind == "repeat":
        bad = [("abc", "must be a list, got str")]
        if param.enum is not None:
            bad.append((["nope"], "must be one of"))
        else:
            bad.append(([""], "item 1 must be a non-empty string"))
            bad.append((["ok", 5], "item 2 must be a non-empty string, got 5"))
        if param.required:
            bad.append(([], "must not be empty"))
        if param.max_items is not None:
            many = param.max_items + 1
            bad.append((["x"] * many, f"takes at most {param.max_items} items, got {many}"))
        return bad
    if kind == "structs":
        first = param.struct_fields[0]
        bad = [
            ("abc", "must be a list, got str"),
            ([5], f"item 1 must be a {'/'.join(param.struct_fields)} object or tuple"),
            ([tuple("x" * (len(param.struct_fields) + 1))], "object or tuple"),
            ([{first: object()}], f"item 1 {first} must be a string"),
        ]
        for needed in param.struct_required:
            given = {f: "v" for f in param.struct_fields if f != needed}
            bad.append(([given], f"item 1 needs a {needed}"))
        return bad
    raise AssertionError(f"no refusals for a {kind!r} parameter")


# What an argument's cross-field rules need beside it.
_COMPANIONS: dict[str, dict[str, Any]] = {
    "retry_interval": {"retry_count": 1},
    "multi_files": {"firmware_url": None},
}

CASES = [
    (action, param.name) for action, op in sorted(OPERATIONS.items()) for param in op.all_params
]


@pytest.mark.parametrize(("action", "name"), CASES)
def test_every_refusal_names_the_action_the_argument_and_the_problem(
    action: str, name: str
) -> None:
    op = OPERATIONS[action]
    param = next(p for p in op.all_params if p.name == name)
    for value, problem in _refusals(param):
        with pytest.raises(ValidationError) as caught:
            op.encode({**minimal_arguments(op), name: value})
        message = str(caught.value)
        assert message.startswith(f"{action}: {name} "), (value, message)
        assert problem in message, (value, message)


@pytest.mark.parametrize(("action", "name"), CASES)
def test_every_argument_takes_its_sample_value(action: str, name: str) -> None:
    op = OPERATIONS[action]
    param = next(p for p in op.all_params if p.name == name)
    arguments = {**minimal_arguments(op), **_COMPANIONS.get(name, {}), name: sample_value(param)}
    wire = op.encode(arguments)
    assert any(key == param.wire or key.startswith(param.wire + ".") for key in wire)


@pytest.mark.parametrize(
    "tags",
    [
        [OTATag("team", "a")],
        [("team", "a")],
        [["team", "a"]],
        [{"key": "team", "value": "a"}],
        [{"Key": "team", "Value": "a"}],
    ],
    ids=["OTATag", "tuple", "list", "snake-dict", "wire-dict"],
)
def test_tags_take_every_documented_form(tags: list[Any]) -> None:
    op = OPERATIONS["CreateOTAStaticUpgradeJob"]
    wire = op.encode({**minimal_arguments(op), "tags": tags})
    assert (wire["Tag.1.Key"], wire["Tag.1.Value"]) == ("team", "a")


def test_a_struct_field_left_empty_is_left_out() -> None:
    op = OPERATIONS["CreateOTAFirmware"]
    files = [
        {
            "name": "a.bin",
            "url": "https://oss.test/a",
            "size": "",
            "sign_value": None,
            "file_md5": "m",
        }
    ]
    arguments = {**minimal_arguments(op), "firmware_url": None, "multi_files": files}
    wire = op.encode(arguments)
    assert wire["MultiFiles.1.Name"] == "a.bin"
    assert wire["MultiFiles.1.FileMd5"] == "m"
    assert "MultiFiles.1.Size" not in wire
    assert "MultiFiles.1.SignValue" not in wire


def test_epoch_milliseconds_at_both_ends_of_the_13_digit_range_are_sent() -> None:
    op = OPERATIONS["CreateOTAStaticUpgradeJob"]
    for millis in (10**12, 10**13 - 1):
        wire = op.encode({**minimal_arguments(op), "schedule_time": millis})
        assert wire["ScheduleTime"] == str(millis)
    aware = datetime(2024, 11, 19, 9, 0, tzinfo=UTC)
    wire = op.encode({**minimal_arguments(op), "schedule_time": aware})
    assert wire["ScheduleTime"] == "1732006800000"


def test_a_string_at_its_maximum_length_is_sent() -> None:
    op = OPERATIONS["CreateOTAFirmware"]
    wire = op.encode({**minimal_arguments(op), "firmware_name": "n" * 40})
    assert wire["FirmwareName"] == "n" * 40


def test_a_string_parameter_takes_an_enum_members_value() -> None:
    op = OPERATIONS["UpdateOTAJob"]
    wire = op.encode({**minimal_arguments(op), "upgrade_type": TaskStatus.FAILED})
    assert wire["UpgradeType"] == "FAILED"


@pytest.mark.parametrize(
    ("targets", "accepted"),
    [
        ({"target_device_names": ["d1"]}, True),
        ({"dn_list_file_url": "https://oss.test/names.txt"}, True),
        ({}, False),
        ({"target_device_names": ["d1"], "dn_list_file_url": "https://oss.test/n.txt"}, False),
    ],
    ids=["names", "file", "neither", "both"],
)
def test_specific_targets_take_names_or_a_file_not_both(
    targets: dict[str, Any], accepted: bool
) -> None:
    op = OPERATIONS["CreateOTAStaticUpgradeJob"]
    arguments = {**minimal_arguments(op), "target_selection": "specific", **targets}
    if accepted:
        assert op.encode(arguments)["TargetSelection"] == "SPECIFIC"
    else:
        with pytest.raises(ValidationError, match="target_device_names or dn_list_file_url"):
            op.encode(arguments)


@pytest.mark.parametrize(
    ("action", "name"),
    [(a, p.name) for a, op in sorted(OPERATIONS.items()) for p in op.params if p.required],
)
def test_a_missing_required_argument_names_the_action_and_the_argument(
    action: str, name: str
) -> None:
    op = OPERATIONS[action]
    with pytest.raises(ValidationError) as caught:
        op.encode({**minimal_arguments(op), name: None})
    assert str(caught.value) == f"{action}: {name} is required"


def test_a_cross_field_rule_names_the_action() -> None:
    op = OPERATIONS["CreateOTAStaticUpgradeJob"]
    with pytest.raises(ValidationError) as caught:
        op.encode({**minimal_arguments(op), "target_selection": "GRAY"})
    assert str(caught.value) == "CreateOTAStaticUpgradeJob: GRAY needs gray_percent"
