"""The client's lifetime: new, open, closed; one entry, an idempotent close, calls refused after.

Every test runs under asyncio and trio, on a virtual clock (calls that wait in the limiter
wait in virtual time, so "promptly" is exact: no virtual second passes).
"""

from __future__ import annotations

import gc
import weakref

import anyio
import httpx
import pytest

from otaclient import OTAClient, OTAError, OutcomeUnknownError

from ._helpers import Recorder, empty_page, make_client, ok_body, query_of

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]


def _pages(total: int, size: int = 10) -> Recorder:
    """A server of ``total`` firmware in pages of ``size`` that counts requests in flight."""

    async def respond(request: httpx.Request) -> httpx.Response:
        recorder.in_flight += 1
        recorder.peak = max(recorder.peak, recorder.in_flight)
        try:
            await anyio.sleep(0.1)
        finally:
            recorder.in_flight -= 1
        page = int(query_of(request)["CurrentPage"])
        first = (page - 1) * size
        items = [{"FirmwareId": f"f{n}"} for n in range(first, min(first + size, total))]
        return httpx.Response(
            200,
            json=ok_body(
                CurrentPage=page,
                PageSize=size,
                Total=total,
                FirmwareInfo={"SimpleFirmwareInfo": items},
            ),
        )

    recorder = Recorder(respond)
    recorder.in_flight = 0  # type: ignore[attr-defined]
    recorder.peak = 0  # type: ignore[attr-defined]
    return recorder


async def test_entering_a_client_twice_is_refused_and_the_first_entry_still_works() -> None:
    server = Recorder()
    client = make_client(server)
    async with client:
        with pytest.raises(OTAError, match="already open"):
            async with client:
                pass  # pragma: no cover - never entered
        await client.list_ota_firmware()
    assert len(server.requests) == 1


async def test_entering_a_closed_client_is_refused() -> None:
    client = make_client(Recorder())
    async with client:
        pass
    with pytest.raises(OTAError, match="closed"):
        async with client:
            pass  # pragma: no cover - never entered


async def test_entering_after_aclose_is_refused() -> None:
    client = make_client(Recorder())
    await client.aclose()
    with pytest.raises(OTAError, match="closed"):
        async with client:
            pass  # pragma: no cover - never entered


async def test_aclose_is_idempotent_inside_and_after_the_block() -> None:
    client = make_client(Recorder())
    async with client:
        await client.aclose()
        await client.aclose()
    await client.aclose()


async def test_calls_after_close_raise_ota_error_and_send_nothing() -> None:
    server = Recorder()
    client = make_client(server)
    async with client:
        pass
    with pytest.raises(OTAError, match="closed"):
        await client.list_ota_firmware()
    with pytest.raises(OTAError, match="closed"):
        await client.call("QueryOTAJob", {"JobId": "j"}, idempotent=True)
    with pytest.raises(OTAError, match="closed"):
        async for _ in client.iter_ota_firmware():
            pass  # pragma: no cover - nothing to yield
    assert server.requests == []


async def test_an_iterator_made_inside_the_block_and_read_after_it_raises_ota_error() -> None:
    server = _pages(30)
    client = make_client(server)
    async with client:
        items = client.iter_ota_firmware(page_size=10)
    with pytest.raises(OTAError, match="closed"):
        async for _ in items:
            pass  # pragma: no cover - nothing to yield
    assert server.requests == []


async def test_a_never_entered_client_works_and_harvests_one_page_at_a_time() -> None:
    server = _pages(30)
    client = make_client(server)
    ids = [f.firmware_id async for f in client.iter_ota_firmware(page_size=10)]
    assert ids == [f"f{n}" for n in range(30)]
    assert server.peak == 1  # type: ignore[attr-defined]
    await client.aclose()
    with pytest.raises(OTAError, match="closed"):
        await client.list_ota_firmware()


async def test_an_entered_client_harvests_pages_concurrently() -> None:
    # The counterpart of the test above: inside the block, pages are fetched ahead.
    server = _pages(30)
    async with make_client(server) as client:
        ids = [f.firmware_id async for f in client.iter_ota_firmware(page_size=10)]
    assert ids == [f"f{n}" for n in range(30)]
    assert server.peak > 1  # type: ignore[attr-defined]


async def test_closing_while_calls_wait_in_the_limiter_ends_each_with_ota_error() -> None:
    server = Recorder()
    client = make_client(server, qps=1.0)
    outcomes: list[BaseException | None] = []

    async def one() -> None:
        try:
            await client.list_ota_firmware()
        except Exception as exc:
            outcomes.append(exc)
        else:
            outcomes.append(None)

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(one)
        await anyio.sleep(2.5)  # three tokens granted (t = 0, 1, 2), seventeen waiting
        closed_at = anyio.current_time()
        await client.aclose()
    assert anyio.current_time() == closed_at  # nobody waited for a token after the close
    assert len(server.requests) == 3
    assert outcomes.count(None) == 3
    failures = [o for o in outcomes if o is not None]
    assert len(failures) == 17
    for failure in failures:
        assert type(failure) is OTAError, repr(failure)
        assert "the client was closed" in str(failure)


async def test_calls_waiting_in_the_limiter_when_the_block_exits_end_with_ota_error() -> None:
    server = Recorder()
    errors: list[BaseException] = []
    async with anyio.create_task_group() as tg, make_client(server, qps=1.0) as client:

        async def one() -> None:
            try:
                await client.list_ota_firmware()
            except OTAError as exc:
                errors.append(exc)

        for _ in range(5):
            tg.start_soon(one)
        await anyio.sleep(0.5)
    assert len(server.requests) == 1
    assert len(errors) == 4
    assert all("the client was closed" in str(e) for e in errors)


async def test_a_read_in_flight_when_the_client_closes_ends_with_ota_error() -> None:
    arrived = anyio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        arrived.set()
        await anyio.sleep(3600)
        return empty_page(request)  # pragma: no cover - cancelled first

    client = make_client(Recorder(hang))
    caught: list[BaseException] = []

    async def read() -> None:
        try:
            await client.query_ota_job(job_id="j")
        except OTAError as exc:
            caught.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        await arrived.wait()
        await client.aclose()
    assert anyio.current_time() < 3600
    assert len(caught) == 1
    assert type(caught[0]) is OTAError
    assert "the client was closed" in str(caught[0])


async def test_a_write_in_flight_when_the_client_closes_is_outcome_unknown() -> None:
    arrived = anyio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        arrived.set()
        await anyio.sleep(3600)
        return empty_page(request)  # pragma: no cover - cancelled first

    server = Recorder(hang)
    client = make_client(server)
    caught: list[BaseException] = []

    async def write() -> None:
        try:
            await client.create_ota_static_upgrade_job(
                firmware_id="f", product_key="p", target_selection="ALL"
            )
        except OTAError as exc:
            caught.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(write)
        await arrived.wait()
        await client.aclose()
    assert len(server.requests) == 1
    assert len(caught) == 1
    assert isinstance(caught[0], OutcomeUnknownError)
    assert "list_ota_job_by_firmware" in caught[0].how_to_check


async def test_cancelling_a_call_from_outside_is_still_a_cancellation() -> None:
    # The close-check must not swallow a caller's own cancellation.
    client = make_client(Recorder(), qps=1.0)
    async with client:
        await client.list_ota_firmware()  # takes the first token
        with anyio.move_on_after(0.5) as scope:
            await client.list_ota_firmware()
        assert scope.cancelled_caught
        await client.list_ota_firmware()


async def test_a_client_used_before_entering_can_still_be_entered_and_closed() -> None:
    client = make_client(Recorder())
    await client.list_ota_firmware()
    async with client:
        await client.list_ota_firmware()
    with pytest.raises(OTAError, match="closed"):
        await client.list_ota_firmware()


class _PoolWatch(httpx.MockTransport):
    """A MockTransport that notes when the client closes its pool."""

    def __init__(self, server: Recorder) -> None:
        super().__init__(server)
        self.closed = False

    async def aclose(self) -> None:
        self.closed = True


async def test_leaving_the_block_closes_the_connection_pool_once_the_harvests_stop() -> None:
    server = _pages(300)
    transport = _PoolWatch(server)
    client = OTAClient(
        access_key_id="id",
        access_key_secret="secret",
        endpoint="http://ota.test",
        qps=None,
        transport=transport,
    )
    async with client:
        harvest = client.iter_ota_firmware(page_size=10)
        await anext(harvest)  # its producer runs in the client's task group
        assert not transport.closed
    assert transport.closed
    assert server.in_flight == 0  # type: ignore[attr-defined]


async def test_aclose_of_a_client_never_entered_closes_the_connection_pool() -> None:
    transport = _PoolWatch(Recorder())
    client = OTAClient(
        access_key_id="id",
        access_key_secret="secret",
        endpoint="http://ota.test",
        transport=transport,
    )
    await client.aclose()
    assert transport.closed


def test_a_client_let_go_is_freed_at_once_with_its_secrets() -> None:
    # No reference cycle through the client: its secrets stop being masked (and scanned
    # by every scrub) when its last reference goes, not at some later garbage collection.
    async def use() -> tuple[weakref.ref[OTAClient], weakref.ref[object]]:
        client = make_client(_pages(30))
        async with client:
            [f async for f in client.iter_ota_firmware(page_size=10)]
        return weakref.ref(client), weakref.ref(client._secrets)

    gc.disable()
    try:
        client, secrets = anyio.run(use)
        assert client() is None
        assert secrets() is None
    finally:
        gc.enable()
