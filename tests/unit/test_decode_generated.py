"""The generated structuring functions: bounded, exact, and as good as attrs' own __init__.

The converter compiles one function per key shape (``_convert._ModelStructurer``). These
tests pin what the property tests do not reach: the cache's bounds, the path an error
names when it comes from generated code, instances built by setting slots being the same
as attrs builds, and the fallbacks for models that need their ``__init__``.
"""

from __future__ import annotations

import json
import weakref
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from otaclient import _models, _parse
from otaclient._convert import (
    _MAX_FOLDED,
    _MAX_GENERATED_KEYS,
    _MAX_SHAPES,
    _folded,
    _mutable_twin,
    _slots_settable,
    get_key,
    make_converter,
)
from otaclient._models import Firmware, OTAJob, OTATag
from otaclient._operations import OPERATIONS
from otaclient._parse import DecodeProblem, load_body

MODELS = [
    cls
    for name in _models.__all__
    if attrs.has(cls := getattr(_models, name)) and cls is not _models.Page
]


def _structurer(conv: Any, cls: type[Any]) -> Any:
    return conv.get_structure_hook(cls)


def test_one_function_per_key_shape_however_many_items() -> None:
    conv = make_converter()
    items = [{"FirmwareId": str(n), "FirmwareSize": n} for n in range(50)]
    items += [{"firmwareId": "x"}] * 50
    firmware = conv.structure(items, list[Firmware])
    assert [f.firmware_id for f in firmware[:2]] == ["0", "1"]
    assert _structurer(conv, Firmware).builds.keys() == {
        ("FirmwareId", "FirmwareSize"),
        ("firmwareId",),
    }


def test_shapes_past_the_bound_are_interpreted_not_compiled() -> None:
    conv = make_converter()
    items = [{f"Unknown{n}": 1, "FirmwareSize": str(n)} for n in range(_MAX_SHAPES + 5)]
    firmware = conv.structure(items, list[Firmware])
    assert [f.firmware_size for f in firmware] == list(range(_MAX_SHAPES + 5))
    assert len(_structurer(conv, Firmware).builds) == _MAX_SHAPES
    assert len(_structurer(conv, Firmware).plans) == _MAX_SHAPES


def test_a_shape_with_too_many_keys_is_interpreted() -> None:
    conv = make_converter()
    item = {f"Unknown{n}": n for n in range(_MAX_GENERATED_KEYS)} | {"FirmwareId": "f"}
    assert conv.structure(item, Firmware) == Firmware(firmware_id="f")
    assert not _structurer(conv, Firmware).builds


def test_an_error_in_generated_code_names_the_item_and_the_field() -> None:
    conv = make_converter()
    items = [{"FirmwareId": "a", "FirmwareSize": 1}] * 3
    conv.structure(items, list[Firmware])  # the shape is generated now
    items = [*items, {"FirmwareId": "b", "FirmwareSize": "many"}]
    with pytest.raises(DecodeProblem, match=r"^\[3\]\.firmware_size: expected an integer"):
        conv.structure(items, list[Firmware])


def test_a_time_the_inlined_fast_path_cannot_read_is_read_carefully() -> None:
    conv = make_converter()
    # 24 characters ending in Z, as the fast path wants, but with a stray leading space.
    items = [{"UtcCreate": "2019-12-28T02:43:10.000Z"}, {"UtcCreate": " 2019-12-28T02:43:10.0Z"}]
    created = [f.utc_create for f in conv.structure(items, list[Firmware])]
    assert created == [datetime(2019, 12, 28, 2, 43, 10, tzinfo=UTC)] * 2
    with pytest.raises(DecodeProblem, match=r"^\[1\]\.utc_create: expected an ISO 8601 time"):
        conv.structure([items[0], {"UtcCreate": "2019-12-28T02:43:10.000X"}], list[Firmware])


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
def test_every_model_is_built_by_setting_its_slots(cls: type[Any]) -> None:
    # The fast construction is what the benchmark measures; a model that loses it (a
    # validator, a converter, a cached hash) must do so knowingly.
    assert _slots_settable(cls)


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
def test_an_instance_built_by_slots_is_the_one_attrs_builds(cls: type[Any]) -> None:
    conv = make_converter()
    built = conv.structure({}, cls)
    assert type(built) is cls
    assert built == cls()
    if all(f.default is None for f in attrs.fields(cls)):
        assert hash(built) == hash(cls())  # models with list fields are not hashable at all
    assert repr(built) == repr(cls())
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.__setattr__(attrs.fields(cls)[0].name, "changed")


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
def test_every_model_is_built_through_a_mutable_twin(cls: type[Any]) -> None:
    # Plain attribute stores on a twin of the same layout, then __class__ assignment: a
    # model that loses it (a __weakref__ slot of its own, a second base) must do so knowingly.
    assert _structurer(make_converter(), cls).twin is not None


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
def test_an_instance_built_through_the_twin_is_frozen_and_weakly_referable(
    cls: type[Any],
) -> None:
    built = make_converter().structure({attrs.fields(cls)[0].name: None}, cls)
    assert type(built) is cls
    assert weakref.ref(built)() is built
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(built, attrs.fields(cls)[0].name, "changed")


@attrs.frozen
class _OwnWeakref:
    name: str | None = None
    size: int | None = None


def test_a_model_whose_layout_refuses_class_assignment_is_built_by_its_slots() -> None:
    # attrs puts __weakref__ after the fields, where CPython's layout check does not look.
    assert _mutable_twin(_OwnWeakref) is None
    built = make_converter().structure([{"Name": "n", "Size": "3"}] * 2, list[_OwnWeakref])
    assert built == [_OwnWeakref("n", 3)] * 2
    assert type(built[0]) is _OwnWeakref


def test_absent_list_fields_get_a_list_of_their_own() -> None:
    first, second = make_converter().structure([{"JobId": "a"}, {"JobId": "b"}], list[OTAJob])
    assert first.tags == second.tags == []
    assert first.tags is not second.tags


@attrs.frozen
class _Checked:
    size: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.ge(0))
    )
    name: str | None = None


@attrs.frozen
class _PostInit:
    name: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.name == "refused":
            raise DecodeProblem("the model refused it")


@attrs.frozen(cache_hash=True)
class _CachedHash:
    name: str | None = None


def test_a_model_with_hidden_slots_is_built_through_its_init() -> None:
    # cache_hash adds a slot that no field names: setting the fields alone would leave it
    # unset, and hash() would fail.
    conv = make_converter()
    assert not _slots_settable(_CachedHash)
    built = conv.structure({"Name": "n"}, _CachedHash)
    assert hash(built) == hash(_CachedHash("n"))


def test_a_model_with_a_validator_is_built_through_its_init() -> None:
    conv = make_converter()
    assert not _slots_settable(_Checked)
    assert conv.structure({"Size": "3", "Name": "n"}, _Checked) == _Checked(3, "n")
    with pytest.raises(ValueError, match="must be >= 0"):
        conv.structure({"Size": "-1"}, _Checked)


def test_a_model_with_a_post_init_hook_is_built_through_its_init() -> None:
    conv = make_converter()
    assert not _slots_settable(_PostInit)
    assert conv.structure({"Name": "n"}, _PostInit) == _PostInit("n")
    with pytest.raises(DecodeProblem, match="the model refused it"):
        conv.structure({"Name": "refused"}, _PostInit)


def test_shapes_of_one_length_are_told_apart_by_their_keys() -> None:
    conv = make_converter()
    items = [{"FirmwareId": "a", "FirmwareSize": "1"}, {"FirmwareName": "b", "Status": "2"}] * 2
    firmware = conv.structure(items, list[Firmware])
    assert [(f.firmware_id, f.firmware_name, f.firmware_size, f.status) for f in firmware] == [
        ("a", None, 1, None),
        (None, "b", None, 2),
    ] * 2
    structurer = _structurer(conv, Firmware)
    assert structurer.by_length[2] is not structurer.by_shape  # one key tells the two apart

    # The page's fast path: each item decoded by the build for its length, none refused.
    assert [structurer.by_length[2](item) for item in items] == firmware


def test_a_third_shape_of_one_length_is_found_by_its_keys() -> None:
    conv = make_converter()
    items = [
        {"FirmwareId": "a", "FirmwareSize": "1"},
        {"FirmwareName": "b", "Status": "2"},
        {"FirmwareId": "c", "Status": "3"},
    ]
    firmware = conv.structure(items * 2, list[Firmware])
    assert [(f.firmware_id, f.firmware_name, f.firmware_size, f.status) for f in firmware] == [
        ("a", None, 1, None),
        (None, "b", None, 2),
        ("c", None, None, 3),
    ] * 2
    structurer = _structurer(conv, Firmware)
    assert structurer.by_length[2] is structurer.by_shape


@pytest.mark.parametrize(
    "stranger",
    [{"FirmwareId": "x", "Status": "9"}, {"FirmwareName": "x", "FirmwareSize": "9"}],
    ids=["holds-the-telling-key", "lacks-it"],
)
def test_a_new_shape_of_a_length_two_shapes_share_is_decoded_by_its_own_keys(
    stranger: dict[str, str],
) -> None:
    conv = make_converter()
    conv.structure(
        [{"FirmwareId": "a", "FirmwareSize": "1"}, {"FirmwareName": "b", "Status": "2"}],
        list[Firmware],
    )
    (decoded,) = conv.structure([stranger], list[Firmware])
    expected = Firmware(
        firmware_id=stranger.get("FirmwareId"),
        firmware_name=stranger.get("FirmwareName"),
        firmware_size=int(stranger["FirmwareSize"]) if "FirmwareSize" in stranger else None,
        status=int(stranger["Status"]) if "Status" in stranger else None,
    )
    assert decoded == expected


def test_the_same_keys_in_another_order_share_one_build() -> None:
    conv = make_converter()
    items = [{"FirmwareId": "a", "FirmwareSize": "1"}, {"FirmwareSize": "2", "FirmwareId": "b"}]
    firmware = conv.structure(items, list[Firmware])
    assert [(f.firmware_id, f.firmware_size) for f in firmware] == [("a", 1), ("b", 2)]
    structurer = _structurer(conv, Firmware)
    assert structurer.by_length[2] is structurer.builds["FirmwareId", "FirmwareSize"]


def test_a_shape_whose_key_order_matters_is_found_by_its_keys_not_its_length() -> None:
    # Two spellings of one field: the last that is not None wins, in the dict's own order.
    conv = make_converter()
    conv.structure([{"JobId": "first", "jobId": "second"}], list[OTAJob])
    reordered = conv.structure([{"jobId": "second", "JobId": "first"}], list[OTAJob])
    assert reordered[0].job_id == "first"


def test_the_last_of_several_spellings_that_is_not_null_wins() -> None:
    conv = make_converter()
    item = {"JobId": "first", "jobId": "second", "JobID": None}
    assert conv.structure(item, OTAJob).job_id == "second"


def test_a_list_hook_still_takes_a_single_object_for_a_list_of_one() -> None:
    conv = make_converter()
    conv.structure([{"Key": "k"}], list[OTATag])  # warm
    assert conv.structure({"Key": "k", "Value": "v"}, list[OTATag]) == [OTATag("k", "v")]


def test_a_wrapper_key_seen_before_still_unwraps_a_single_item_under_it() -> None:
    conv = make_converter()
    conv.structure({"OtaTagDTO": [{"Key": "a"}]}, list[OTATag])  # OtaTagDTO: a wrapper now
    assert conv.structure({"OtaTagDTO": {"Key": "k"}}, list[OTATag]) == [OTATag("k")]
    assert conv.structure({"OtaTagDTO": [{"Key": "k"}]}, list[OTATag]) == [OTATag("k")]


def test_a_one_key_item_holding_a_list_is_an_item_not_a_wrapper() -> None:
    # {"Tags": [...]} as a list of jobs is one job with tags, not a list of two "jobs".
    conv = make_converter()
    conv.structure({"SimpleOTAJobInfo": [{"JobId": "j"}]}, list[OTAJob])
    tags = [{"Key": "k"}, {"Key": "l"}]
    assert conv.structure({"Tags": tags}, list[OTAJob]) == [OTAJob(tags=[OTATag("k"), OTATag("l")])]


def test_the_standard_library_json_fallback_decodes_the_same_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = {
        "RequestId": "r",
        "Success": True,
        "Total": 2,
        "PageSize": 100,
        "CurrentPage": 1,
        "FirmwareInfo": {
            "SimpleFirmwareInfo": [
                {"FirmwareId": "a", "FirmwareSize": "924", "UtcCreate": "2019-12-28T02:43:10.000Z"},
                {"FirmwareId": "b", "FirmwareSize": 7, "SignMethod": "md5"},
            ]
        },
    }
    raw = json.dumps(body).encode()
    decode = OPERATIONS["ListOTAFirmware"].result.decode
    with_orjson = decode(load_body(raw), "r")
    monkeypatch.setattr(_parse, "_json_loads", json.loads)
    monkeypatch.setattr(_parse, "_JSON_ERRORS", (ValueError,))
    assert decode(load_body(raw), "r") == with_orjson
    assert [f.firmware_size for f in with_orjson.items] == [924, 7]


@pytest.mark.parametrize("text", ["1_000", "924kB", "3.7", "٣"])
def test_text_that_int_would_take_or_refuse_is_judged_by_the_careful_rule(text: str) -> None:
    # The generated fast path hands digit-only text to int(); int() also takes "1_000".
    conv = make_converter()
    conv.structure([{"FirmwareSize": "1"}], list[Firmware])  # the shape is generated now
    items = [{"FirmwareSize": "1"}, {"FirmwareSize": text}]
    if text == "٣":  # an Arabic-Indic digit: a decimal digit to the regex and to int() alike
        assert conv.structure(items, list[Firmware])[1].firmware_size == 3
        return
    with pytest.raises(DecodeProblem, match=r"^\[1\]\.firmware_size: expected an integer"):
        conv.structure(items, list[Firmware])


def test_a_key_folded_before_still_finds_the_first_spelling_in_each_mapping() -> None:
    assert get_key({"total": 1}, "Total") == 1
    assert get_key({"currentPage": 5, "total": 2}, "Total") == 2  # "total" from the cache
    assert get_key({"TOTAL": 3, "total": 4}, "Total") == 3
    assert get_key({"totals": 5}, "Total") is None


def test_a_long_key_is_folded_but_not_kept() -> None:
    key = "K" * 10_000
    assert get_key({key: 1}, "k" * 10_000) == 1
    assert key not in _folded


def test_folded_keys_stay_bounded_however_many_a_body_has() -> None:
    get_key({f"Unknown{n}": n for n in range(_MAX_FOLDED + 10)}, "Absent")
    assert len(_folded) <= _MAX_FOLDED
