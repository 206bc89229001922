"""Rendering: orjson writes the standard library's bytes, and a kept list renders as a list.

orjson is a runtime dependency on CPython; ``render._stdlib_json`` is the fallback elsewhere.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from simhelpers import ANCHOR_MS, FakeClock, common_params, make_app, signed_query

from otaclient.simulator import DEMO_ACCESS_KEY_SECRET, render
from otaclient.simulator import app as app_module
from otaclient.simulator.render import KeptList, camel_keys, render_json, render_xml


def _trees_of_every_read_action(dialect: str, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The response trees the app renders for the read actions and two kinds of error."""
    clock = FakeClock()
    app = make_app(clock, qps=None, dialect=dialect)
    trees: list[Any] = []

    def keep(tree: Any) -> bytes:
        trees.append(tree)
        return render._stdlib_json(tree)

    monkeypatch.setattr(app_module, "render_json", keep)
    job = app.fleet.jobs[0]
    product = app.fleet.products[job.product_index]
    device = product.device_name(job.tasks.devices[0])
    requests: list[tuple[str, dict[str, str]]] = [
        ("ListOTAFirmware", {"CurrentPage": "1", "PageSize": "100"}),
        ("QueryOTAFirmware", {"FirmwareId": job.firmware_id}),
        ("ListOTAJobByFirmware", {"FirmwareId": job.firmware_id, "PageSize": "200"}),
        ("QueryOTAJob", {"JobId": job.job_id}),
        ("ListOTATaskByJob", {"JobId": job.job_id, "PageSize": "100"}),
        ("ListOTATaskByJob", {"JobId": job.job_id, "PageSize": "100"}),  # the kept page
        ("ListOTAUnfinishedTaskByDevice", {"ProductKey": product.key, "DeviceName": device}),
        ("ListOTAModuleByProduct", {"ProductKey": product.key}),
        ("QueryOTAJob", {"JobId": "no-such-job"}),  # a business error
    ]
    for action, business in requests:
        signed = {**common_params(action, wall=clock.time()), **business}
        query = signed_query(signed, "POST", DEMO_ACCESS_KEY_SECRET)
        app.process(method="POST", path="/", query_string=query.encode(), headers={})
    query = signed_query(common_params("QueryOTAJob", wall=clock.time()), "POST", "wrong")
    app.process(method="POST", path="/", query_string=query.encode(), headers={})
    assert len(trees) == len(requests) + 1
    return trees


@pytest.mark.parametrize("dialect", ["aliyun", "tuya"])
def test_orjson_writes_the_bytes_the_standard_library_writes(
    dialect: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for tree in _trees_of_every_read_action(dialect, monkeypatch):
        assert render._orjson(tree) == render._stdlib_json(tree)


def test_orjson_writes_unicode_escapes_and_nulls_as_the_standard_library_does() -> None:
    tree = {
        "FirmwareName": '固件 "v2"\n\t\\ \u2028 😀',
        "SrcVersion": None,
        "Big": 2**63 - 1,
        "Nested": [{"A": True, "B": False, "C": []}, {}],
    }
    assert render._orjson(tree) == render._stdlib_json(tree)


@pytest.mark.parametrize("encode", ["_orjson", "_stdlib_json"])
def test_a_kept_list_renders_as_the_list_it_holds_in_json(encode: str) -> None:
    items = [{"TaskId": "1", "Progress": "5"}, {"TaskId": "2", "SrcVersion": None}]
    to_json = getattr(render, encode)
    assert to_json({"Data": KeptList(items), "N": 2}) == to_json({"Data": items, "N": 2})


def test_a_kept_list_renders_as_the_list_it_holds_in_xml_and_camel_case() -> None:
    items = [{"TaskId": "1", "IotId": "x"}, {"TaskId": "2", "IotId": "y"}]
    kept = KeptList(items)
    assert render_xml("R", {"Data": {"Item": kept}}) == render_xml("R", {"Data": {"Item": items}})
    camel = camel_keys({"Data": kept})
    assert render_json(camel) == render_json(camel_keys({"Data": items}))
    assert camel_keys({"Data": kept})["data"] is camel["data"]  # computed once


def test_a_kept_list_encodes_its_items_once() -> None:
    kept = KeptList([{"TaskId": "1"}])
    first = kept.json()
    kept.items.append({"TaskId": "2"})  # forbidden; shows that the bytes are reused
    assert render_json({"D": kept}) == b'{"D":' + first + b"}"


def test_something_that_is_not_part_of_a_response_tree_is_refused() -> None:
    with pytest.raises(TypeError, match="not JSON serializable: object"):
        render._orjson({"X": object()})
    with pytest.raises(TypeError, match="object is not part of a response tree"):
        render._stdlib_json({"X": object()})


def test_the_page_bytes_do_not_depend_on_which_encoder_ran(monkeypatch: pytest.MonkeyPatch) -> None:
    bodies = []
    for encode in (render._orjson, render._stdlib_json):
        monkeypatch.setattr(render, "_encode", encode)
        clock = FakeClock(wall=ANCHOR_MS / 1000 + 600)
        app = make_app(clock, qps=None, seed=3)
        business = {"JobId": app.fleet.jobs[0].job_id, "PageSize": "100"}
        for nonce in ("n1", "n2"):  # built, then kept
            signed = {**common_params("ListOTATaskByJob", wall=clock.time(), nonce=nonce)}
            query = signed_query({**signed, **business}, "POST", DEMO_ACCESS_KEY_SECRET)
            outcome = app.process(method="POST", path="/", query_string=query.encode(), headers={})
            bodies.append(outcome.body)
    assert json.loads(bodies[0])["Success"] is True
    assert bodies[0] != bodies[1]  # the request ids differ
    assert bodies[:2] == bodies[2:]  # the encoders do not
