"""Paging that does not play fair: a harvest gets every item once or raises, never less.

Servers here lie about paging (``PageCount``, ``PageSize``, the page served, the list
container) or change the list between requests. Every test counts requests exactly: a
stable list of P > 1 pages costs P + 1 requests (the extra one re-reads page 1 at the end
to see whether the list moved), a one-page list costs one. Virtual time, asyncio and trio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import attrs
import httpx
import pytest
from support.lying_servers import (
    PagedList,
    StatusSwap,
    append,
    client_for,
    delete,
    ids,
    insert_at_head,
    overlapping_pages,
    page_items,
    repeat_page_one_as_page_two,
    replace,
    serve_page_one_always,
    together,
    with_keys,
)

from otaclient import APIError, HarvestError, OTAClient, ResponseError
from otaclient import _harvest as harvest_module

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]


async def _drain(iterator: AsyncIterator[Any], into: list[Any] | None = None) -> list[Any]:
    out = [] if into is None else into
    async for item in iterator:
        out.append(item.firmware_id)
    return out


async def _harvest(server: PagedList, **arguments: Any) -> list[str]:
    async with client_for(server) as client:
        return await _drain(client.iter_ota_firmware(**arguments))


async def _harvest_error(
    server: PagedList, error: type[Exception], **arguments: Any
) -> tuple[Exception, list[str]]:
    got: list[str] = []
    async with client_for(server) as client:
        with pytest.raises(error) as caught:
            await _drain(client.iter_ota_firmware(**arguments), got)
    return caught.value, got


async def _list_error(server: PagedList, **arguments: Any) -> ResponseError:
    async with client_for(server) as client:
        with pytest.raises(ResponseError) as caught:
            await client.list_ota_firmware(**arguments)
    return caught.value


# --------------------------------------------------------------------------- 1. past the end


async def test_a_page_inside_the_total_answered_as_page_1_is_refused_whatever_page_count_says() -> (
    None
):
    items = ids("f", 1000)
    server = PagedList(items, lie=serve_page_one_always(items, page_count=0))
    error = await _list_error(server, current_page=5)
    assert "asked for page 5, the answer is page 1" in str(error)


async def test_a_harvest_of_a_server_that_serves_page_1_for_every_page_raises() -> None:
    items = ids("f", 1000)
    server = PagedList(items, lie=serve_page_one_always(items, page_count=0))
    error, got = await _harvest_error(server, ResponseError)
    assert "the answer is page 1" in str(error)
    assert got == items[:100]  # page 1, then the error: never 100 items and a clean end


async def test_a_page_past_the_end_that_holds_items_is_refused() -> None:
    items = ids("f", 300)  # 3 pages; page 5 lies past the end and must be empty
    server = PagedList(items, lie=serve_page_one_always(items, page_count=3))
    error = await _list_error(server, current_page=5)
    assert "past the end" in str(error)


async def test_an_empty_page_past_the_end_may_echo_any_page_number() -> None:
    server = PagedList(ids("f", 300), lie=with_keys(CurrentPage=3))
    async with client_for(server) as client:
        page = await client.list_ota_firmware(current_page=9)
    assert (page.items, page.total, page.current_page, page.page_count) == ([], 300, 9, 3)


async def test_an_under_reported_page_count_does_not_cut_a_harvest_short() -> None:
    items = ids("f", 1000)
    server = PagedList(items, lie=with_keys(PageCount=0))
    assert await _harvest(server) == items
    assert server.requests == 10 + 1


async def test_the_page_count_a_page_reports_comes_from_total_not_from_the_body() -> None:
    server = PagedList(ids("f", 1000), lie=with_keys(PageCount=0))
    async with client_for(server) as client:
        page = await client.list_ota_firmware()
    assert page.page_count == 10


@pytest.mark.parametrize("page_size", [100, 0])
async def test_a_page_count_of_a_billion_neither_runs_forever_nor_ends_short(
    page_size: int,
) -> None:
    server = PagedList(ids("f", 500), lie=with_keys(PageCount=10**9, PageSize=page_size))
    await _harvest_error(server, ResponseError)
    assert server.requests == 1


# --------------------------------------------------------------------------- 2. the list container


async def test_a_total_with_no_list_in_the_body_is_refused_by_list() -> None:
    server = PagedList(ids("f", 5), lie=with_keys(FirmwareInfo=...))
    error = await _list_error(server)
    assert "FirmwareInfo" in str(error) and "Total 5" in str(error)


async def test_a_total_with_no_list_in_the_body_ends_a_harvest_with_an_error() -> None:
    server = PagedList(ids("f", 5), lie=with_keys(FirmwareInfo=...))
    _, got = await _harvest_error(server, ResponseError)
    assert got == []


@pytest.mark.parametrize("count", [0, 5])
@pytest.mark.parametrize("container", ["oops", 7, True], ids=["string", "number", "bool"])
async def test_a_scalar_where_the_list_container_belongs_is_refused(
    count: int, container: object
) -> None:
    server = PagedList(ids("f", count), lie=with_keys(FirmwareInfo=container))
    error = await _list_error(server)
    assert "FirmwareInfo" in str(error)
    await _harvest_error(server, ResponseError)


async def test_an_empty_wrapper_with_items_counted_is_refused_by_list() -> None:
    server = PagedList(ids("f", 5), lie=with_keys(FirmwareInfo={}))
    error = await _list_error(server)
    assert "holds 0 items" in str(error)


@pytest.mark.parametrize(
    "container",
    [..., {}, "", None, {"SimpleFirmwareInfo": None}, {"SimpleFirmwareInfo": []}],
    ids=["absent", "empty-object", "empty-string", "null", "null-list", "empty-list"],
)
async def test_an_empty_list_may_leave_out_or_empty_its_container(container: object) -> None:
    server = PagedList([], lie=with_keys(FirmwareInfo=container))
    async with client_for(server) as client:
        page = await client.list_ota_firmware()
        harvested = await _drain(client.iter_ota_firmware())
    assert (page.items, page.total, page.page_count) == ([], 0, 0)
    assert harvested == []
    assert server.requests == 2


async def test_an_xml_list_of_one_item_is_a_list_in_list_and_iter() -> None:
    body = (
        b"<ListOTAFirmwareResponse><RequestId>r1</RequestId><Success>true</Success>"
        b"<Total>1</Total><PageSize>100</PageSize><CurrentPage>1</CurrentPage>"
        b"<PageCount>1</PageCount><FirmwareInfo><SimpleFirmwareInfo>"
        b"<FirmwareId>f1</FirmwareId></SimpleFirmwareInfo></FirmwareInfo>"
        b"</ListOTAFirmwareResponse>"
    )
    client = client_for(lambda request: httpx.Response(200, content=body), response_format="xml")
    async with client:
        page = await client.list_ota_firmware()
        harvested = await _drain(client.iter_ota_firmware())
    assert [f.firmware_id for f in page.items] == harvested == ["f1"]


async def test_an_empty_job_list_may_answer_data_as_an_empty_object() -> None:
    body = {"RequestId": "r", "Success": True, "Total": 0, "PageSize": 200, "CurrentPage": 1}
    client = client_for(lambda request: httpx.Response(200, json={**body, "Data": {}}))
    async with client:
        page = await client.list_ota_job_by_firmware(firmware_id="f")
        jobs = [job async for job in client.iter_ota_job_by_firmware(firmware_id="f")]
    assert page.items == jobs == []


# --------------------------------------------------------------------------- 3. inconsistent pages

# A pass of a 3-page list is 4 requests; a harvest gives up after 3 passes that never settle.
UNSETTLED_3_PAGES = 3 * (3 + 1)


async def test_page_two_carrying_page_ones_items_is_not_a_clean_end() -> None:
    items = ids("f", 300)
    server = PagedList(items, lie=repeat_page_one_as_page_two(items))
    error, got = await _harvest_error(server, HarvestError)
    assert "seen twice" in str(error)
    assert len(got) == len(set(got))
    assert server.requests == UNSETTLED_3_PAGES


async def test_overlapping_pages_with_a_stable_total_are_not_a_clean_end() -> None:
    items = ids("f", 300)
    server = PagedList(items, lie=overlapping_pages(items, overlap=10))
    _, got = await _harvest_error(server, HarvestError)
    assert len(got) == len(set(got))
    assert server.requests == UNSETTLED_3_PAGES


async def test_a_short_page_in_the_middle_is_not_a_clean_end() -> None:
    server = PagedList(ids("f", 500), lie=page_items(3, lambda listed: listed[:10]))
    error, _ = await _harvest_error(server, HarvestError)
    assert "page 3 holds 10 items" in str(error)
    assert server.requests == 3 * (5 + 1)


async def test_a_short_page_in_the_middle_is_refused_by_list() -> None:
    server = PagedList(ids("f", 500), lie=page_items(3, lambda listed: listed[:10]))
    error = await _list_error(server, current_page=3)
    assert "holds 10 items" in str(error)


@pytest.mark.parametrize("page_size", [0, 50, 200])
async def test_a_page_size_other_than_the_one_asked_is_refused(page_size: int) -> None:
    server = PagedList(ids("f", 500), lie=with_keys(PageSize=page_size, PageCount=...))
    error, got = await _harvest_error(server, ResponseError)
    assert f"PageSize {page_size}" in str(error)
    assert got == []
    assert server.requests == 1


async def test_a_page_holding_more_items_than_asked_for_is_refused() -> None:
    server = PagedList(ids("f", 500), lie=page_items(1, lambda listed: listed + listed[:1]))
    error = await _list_error(server)
    assert "holds 101 items" in str(error)


async def test_an_item_without_its_id_ends_a_harvest() -> None:
    server = PagedList(ids("f", 300), lie=page_items(2, lambda listed: [{}, *listed[1:]]))
    error, _ = await _harvest_error(server, ResponseError)
    assert "firmware_id" in str(error)


# --------------------------------------------------------------------------- 4. changing lists


@pytest.mark.parametrize(("count", "requests"), [(0, 1), (80, 1), (100, 1), (101, 3), (300, 4)])
async def test_a_stable_list_costs_its_pages_plus_one_closing_read(
    count: int, requests: int
) -> None:
    server = PagedList(ids("f", count))
    assert await _harvest(server) == server.items
    assert server.requests == requests
    assert server.pages[-1] == 1 or requests == 1  # the closing read is of page 1


async def test_a_closing_read_that_fails_raises_after_the_items_instead_of_ending_clean() -> None:
    server = PagedList(ids("f", 300), failing=frozenset({4, 5}))  # both attempts at it
    error, got = await _harvest_error(server, APIError)
    assert got == server.items
    assert error.page == 1
    assert any("reading page 1 again" in note for note in error.__notes__)


async def test_inserts_and_deletes_at_the_head_mid_harvest_yield_the_final_list_once() -> None:
    # Newest first: after page 1, two items are created at the head (page 2 repeats the last
    # two of page 1), then one of them is deleted before page 3 (which slides back by one:
    # f-00198 would fall between pages 2 and 3, f-00299 onto a page 4 the first pass never
    # planned). The harvest must drop the repeats and read again for what it missed.
    server = PagedList(
        ids("f", 300), before={2: insert_at_head("new-1", "new-2"), 3: delete("new-1")}
    )
    got = await _harvest(server)
    assert len(got) == len(set(got))
    assert set(got) == set(server.items)
    assert server.requests == (3 + 1) + (4 + 1)


async def test_a_deletion_at_the_head_with_total_unchanged_is_caught_by_the_closing_read() -> None:
    # Oldest first: after page 1, f-00000 is deleted and "new" created at the end. Every
    # page after it slides back by one, so f-00100 (listed the whole time) falls into the
    # page already read; Total, page sizes and ids show nothing. Only page 1 read again does.
    server = PagedList(ids("f", 300), before={2: together(delete("f-00000"), append("new"))})
    got = await _harvest(server)
    assert "f-00100" in got
    assert len(got) == len(set(got))
    assert set(got) == set(server.items) | {"f-00000"}  # deleted after it was yielded
    assert server.requests == 4 + 4


async def test_an_item_created_at_the_head_with_total_unchanged_is_yielded() -> None:
    server = PagedList(
        ids("f", 300), before={2: together(delete("f-00000"), insert_at_head("new"))}
    )
    got = await _harvest(server)
    assert "new" in got
    assert set(got) == set(server.items) | {"f-00000"}
    assert server.requests == 4 + 4


async def test_read_page_by_page_a_second_pass_gives_only_pages_with_unseen_items() -> None:
    # The list above: pass 1 reads pages 1-3 whole; page 1 read again shows "new", so pass 2
    # reads the list again, and only its page 1 holds an item not yet yielded.
    server = PagedList(
        ids("f", 300), before={2: together(delete("f-00000"), insert_at_head("new"))}
    )
    async with client_for(server) as client:
        harvest = client.iter_ota_firmware()
        pages = [page async for page in harvest.pages]
    assert [page.current_page for page in pages] == [1, 2, 3, 1]
    assert [len(page.items) for page in pages] == [100, 100, 100, 1]
    assert [f.firmware_id for f in pages[-1].items] == ["new"]
    assert (pages[-1].total, pages[-1].request_id) == (300, "req-5")  # the fifth request
    progress = harvest.progress
    assert (progress.passes, progress.items, progress.total, progress.finished) == (
        2,
        301,
        300,
        True,
    )
    assert progress.pages_done == progress.pages_planned == progress.requests == 4 + 4
    assert server.requests == 4 + 4


async def test_a_total_that_moves_and_comes_back_within_a_pass_is_not_a_quiet_pass() -> None:
    # f-00150 is deleted before page 3 (which then starts at f-00201 and, by its own Total
    # of 399, holds the right count) and "new" is created at the end before page 4: only
    # page 3's Total tells that f-00200 slid onto a page already read.
    server = PagedList(ids("f", 400), before={3: delete("f-00150"), 4: append("new")})
    got = await _harvest(server)
    assert "f-00200" in got
    assert set(got) == set(server.items) | {"f-00150"}
    assert len(got) == len(set(got))
    assert server.requests == 5 + 5


async def test_a_list_that_keeps_changing_raises_after_three_passes() -> None:
    server = PagedList(ids("f", 300), before={n: append(f"new-{n}") for n in range(1, 30)})
    error, got = await _harvest_error(server, HarvestError)
    assert "kept changing" in str(error)
    assert len(got) == len(set(got))
    assert server.requests == 3 * (4 + 1)


async def test_without_verify_a_deletion_behind_the_reader_balanced_by_an_addition_can_hide_an_item() -> (  # noqa: E501
    None
):
    # The residual limit the README states: f-00150 (page 2, already read) is deleted and
    # "new" created at the end before page 3 is read; f-00200 slides onto page 2. Total,
    # page 1, page sizes and ids are all as expected: one offset pass cannot see it.
    server = PagedList(ids("f", 300), before={3: together(delete("f-00150"), append("new"))})
    got = await _harvest(server)
    assert "f-00200" not in got
    assert server.requests == 4


# --------------------------------------------------------------------------- verify=True


async def test_verify_reads_a_stable_list_twice_and_yields_each_item_once() -> None:
    server = PagedList(ids("f", 300))
    assert await _harvest(server, verify=True) == server.items
    assert server.requests == 2 * 4


async def test_verify_finds_an_item_the_first_pass_could_not_see() -> None:
    server = PagedList(ids("f", 300), before={3: together(delete("f-00150"), append("new"))})
    got = await _harvest(server, verify=True)
    assert "f-00200" in got
    assert set(got) == set(server.items) | {"f-00150"}
    assert len(got) == len(set(got))
    # Pass 2 lacks f-00150 while Total did not drop: a third pass must agree with it.
    assert server.requests == 3 * 4


async def test_verify_accepts_an_item_deleted_between_the_passes() -> None:
    server = PagedList(ids("f", 300), before={5: delete("f-00150")})
    got = await _harvest(server, verify=True)
    assert got == ids("f", 300)
    assert server.requests == 2 * 4


async def test_verify_yields_an_item_created_between_the_passes() -> None:
    server = PagedList(ids("f", 300), before={5: append("new")})
    got = await _harvest(server, verify=True)
    assert got == [*ids("f", 300), "new"]
    assert server.requests == 4 + 5


async def test_verify_raises_when_every_pass_disagrees_with_the_one_before() -> None:
    replacements = {5: replace("f-00010", "x-1"), 9: replace("f-00020", "x-2")}
    replacements[13] = replace("f-00030", "x-3")
    server = PagedList(ids("f", 300), before=replacements)
    error, got = await _harvest_error(server, HarvestError, verify=True)
    assert "disagree" in str(error)
    assert len(got) == len(set(got))
    assert server.requests == 4 * 4


async def test_verify_needs_two_quiet_passes_in_a_row() -> None:
    # Pass 2 sees the list grow under it: pass 3 is quiet, but the pass before it was not,
    # so a fourth must agree with the third.
    server = PagedList(ids("f", 300), before={6: append("new")})
    got = await _harvest(server, verify=True)
    assert got == [*ids("f", 300), "new"]
    assert server.requests == 4 + 4 + 5 + 5


async def test_verify_refuses_a_list_longer_than_the_ids_it_can_remember(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(harvest_module, "DEFAULT_MAX_TRACKED", 250)
    server = PagedList(ids("f", 300))
    error, got = await _harvest_error(server, HarvestError, verify=True)
    assert "250" in str(error)
    assert got == []
    assert server.requests == 1


async def test_past_the_id_cap_a_stable_list_is_still_harvested_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(harvest_module, "DEFAULT_MAX_TRACKED", 250)
    server = PagedList(ids("f", 1000))
    assert await _harvest(server) == server.items


async def test_past_the_id_cap_the_newest_ids_still_catch_repeated_items(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The cap is reached on the last item of page 3; page 4 starts with page 3's last 10.
    monkeypatch.setattr(harvest_module, "DEFAULT_MAX_TRACKED", 299)
    items = ids("f", 1000)
    server = PagedList(items, lie=page_items(4, lambda listed: [*_page_3_tail(), *listed[10:]]))
    _, got = await _harvest_error(server, HarvestError)
    assert len(got) == len(set(got))
    assert server.requests == 10 + 1


def _page_3_tail() -> list[dict[str, str]]:
    return [{"FirmwareId": i} for i in ids("f", 10, start=290)]


async def test_past_the_id_cap_a_changing_list_raises_instead_of_reading_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(harvest_module, "DEFAULT_MAX_TRACKED", 250)
    server = PagedList(ids("f", 1000), before={5: together(delete("f-00000"), append("new"))})
    error, got = await _harvest_error(server, HarvestError)
    assert "too large" in str(error)
    assert len(got) == len(set(got))
    assert server.requests == 10 + 1


@pytest.mark.parametrize("value", [1, "yes", None])
async def test_verify_must_be_a_bool(value: object) -> None:
    server = PagedList(ids("f", 10))
    async with client_for(server) as client:
        with pytest.raises(ValueError, match="verify"):
            client.iter_ota_firmware(verify=value)  # type: ignore[arg-type]
    assert server.requests == 0


# --------------------------------------------------------------------------- the simulator


async def test_a_task_changing_status_under_a_status_split_harvest_is_yielded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from otaclient import _operations
    from otaclient.simulator import (
        DEMO_ACCESS_KEY_ID,
        DEMO_ACCESS_KEY_SECRET,
        FleetSpec,
        Simulator,
        SimulatorConfig,
    )

    # The API's depth limit (CurrentPage * PageSize <= 100,000) scaled down to 1,000, so a
    # job of 1,500 tasks is split by status the way a job of 150,000 is.
    op = _operations.LIST_OTA_TASK_BY_JOB
    shallow = attrs.evolve(op, result=attrs.evolve(op.result, max_offset=1000))
    monkeypatch.setattr(_operations, "LIST_OTA_TASK_BY_JOB", shallow)
    sim = Simulator(SimulatorConfig(qps=None, fleet=FleetSpec.single_job(1500)))
    (job_id,) = sim.fleet.job_ids()
    # A CANCELED task (read last) trades places with a QUEUED one (read second) once the
    # harvest reaches SUCCEEDED: QUEUED and CANCELED keep their Totals.
    moving_in = sim.fleet.task_ids(job_id, "CANCELED")[10]
    moving_out = sim.fleet.task_ids(job_id, "QUEUED")[20]
    transport = StatusSwap(sim, job_id, moving_in, moving_out, when_status="SUCCEEDED")
    async with OTAClient(
        endpoint="http://sim",
        access_key_id=DEMO_ACCESS_KEY_ID,
        access_key_secret=DEMO_ACCESS_KEY_SECRET,
        qps=None,
        transport=transport,
    ) as client:
        got = [task.task_id async for task in client.iter_ota_task_by_job(job_id=job_id)]
    assert transport.swapped
    assert transport.status_of(moving_in) == "QUEUED"
    assert len(got) == len(set(got))
    assert set(got) == set(sim.fleet.task_ids(job_id))
    assert {"CANCELED", "QUEUED", None} <= set(transport.statuses)
