"""How the simulator's HTTP server treats connections: a deadline for each request to arrive
whole (slowloris), and TCP_NODELAY on every accepted socket.

Real sockets on 127.0.0.1 and real time: the server's timeout is half a second and every
bound below leaves seconds of room, so a loaded machine is late but never wrong. Every
deadline test runs with both request parsers the server offers (h11, httptools).
"""

from __future__ import annotations

import asyncio
import socket
import time

import anyio
import httpx
import pytest
from anyio.abc import SocketStream
from simhelpers import ANCHOR_MS, SimClient

from otaclient.simulator import FleetSpec, Simulator, SimulatorConfig, running_server
from otaclient.simulator._uvicorn import HTTP_PARSERS, Parser
from otaclient.simulator.server import _bind

pytestmark = pytest.mark.anyio

TIMEOUT = 0.5
LATE = 5.0  # how late a close may come on a loaded 2-core machine
CONNECTIONS = 1000
LIST = {"CurrentPage": 1, "PageSize": 2}


@pytest.fixture(params=HTTP_PARSERS)
def parser(request: pytest.FixtureRequest) -> Parser:
    """The request parser the server under test uses."""
    chosen: Parser = request.param
    return chosen


def _app() -> Simulator:
    return Simulator(SimulatorConfig(fleet=FleetSpec(anchor_ms=ANCHOR_MS), qps=None))


def _port(base_url: str) -> int:
    return int(base_url.rsplit(":", 1)[1])


async def _trickle(stream: SocketStream, first: bytes = b"") -> None:
    """Send ``first``, then one byte every 50 ms until the server closes the connection."""
    try:
        await stream.send(first)
        while True:
            await anyio.sleep(0.05)
            await stream.send(b"a")
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, ConnectionError):
        return


async def _closed_by_peer(stream: SocketStream) -> None:
    """Return once the server has closed the connection (EOF or reset)."""
    try:
        while await stream.receive():
            pass
    except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionError):
        return


async def test_a_thousand_half_sent_request_lines_are_all_closed_within_the_timeout(
    parser: Parser,
) -> None:
    lifetimes: list[float] = []

    async def slowloris(port: int) -> None:
        # From before connecting: the server's clock for this connection starts later.
        started = time.monotonic()
        async with await anyio.connect_tcp("127.0.0.1", port) as stream:
            await stream.send(b"GET /?Action=ListOTAFirmware HT")
            await _closed_by_peer(stream)
            lifetimes.append(time.monotonic() - started)

    async with running_server(_app(), port=0, request_timeout=TIMEOUT, http=parser) as base_url:
        with anyio.fail_after(TIMEOUT + LATE + 10):  # + 10: opening 1,000 connections
            async with anyio.create_task_group() as tg:
                for _ in range(CONNECTIONS):
                    tg.start_soon(slowloris, _port(base_url))
        # ... and the server still answers a real client afterwards.
        async with httpx.AsyncClient(base_url=base_url, trust_env=False) as http:
            body = await SimClient(http).call("ListOTAFirmware", LIST)
    assert len(lifetimes) == CONNECTIONS
    assert min(lifetimes) >= TIMEOUT  # the timeout, not an immediate refusal
    assert body["Success"] is True


async def test_an_idle_connection_that_sends_nothing_is_closed(parser: Parser) -> None:
    async with running_server(_app(), port=0, request_timeout=TIMEOUT, http=parser) as base_url:
        opened = time.monotonic()
        stream = await anyio.connect_tcp("127.0.0.1", _port(base_url))
        with anyio.fail_after(TIMEOUT + LATE):
            await _closed_by_peer(stream)
        await stream.aclose()
    assert time.monotonic() - opened >= TIMEOUT


async def test_headers_trickled_a_byte_at_a_time_do_not_extend_the_deadline(parser: Parser) -> None:
    # An idle timer reset by every byte would keep this connection open for ever.
    async with running_server(_app(), port=0, request_timeout=TIMEOUT, http=parser) as base_url:
        opened = time.monotonic()
        stream = await anyio.connect_tcp("127.0.0.1", _port(base_url))
        with anyio.fail_after(TIMEOUT + LATE):
            async with anyio.create_task_group() as tg:
                tg.start_soon(_trickle, stream, b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                await _closed_by_peer(stream)
                tg.cancel_scope.cancel()
        await stream.aclose()
    assert time.monotonic() - opened >= TIMEOUT


async def test_a_body_trickled_after_complete_headers_is_cut_off_too(parser: Parser) -> None:
    async with running_server(_app(), port=0, request_timeout=TIMEOUT, http=parser) as base_url:
        opened = time.monotonic()
        stream = await anyio.connect_tcp("127.0.0.1", _port(base_url))
        head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
        head += b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
        with anyio.fail_after(TIMEOUT + LATE):
            async with anyio.create_task_group() as tg:
                tg.start_soon(_trickle, stream, head)
                await _closed_by_peer(stream)
                tg.cancel_scope.cancel()
        await stream.aclose()
    assert time.monotonic() - opened >= TIMEOUT


async def test_a_kept_alive_connection_serves_requests_each_sent_in_time(parser: Parser) -> None:
    # Each request gets the whole timeout from its own first byte: an idle pause between
    # requests (shorter than uvicorn's keep-alive) does not count against the next one.
    app = _app()
    async with (
        running_server(app, port=0, request_timeout=TIMEOUT, http=parser) as base_url,
        httpx.AsyncClient(base_url=base_url, trust_env=False) as http,
    ):
        client = SimClient(http)
        for _ in range(3):
            body = await client.call("ListOTAFirmware", LIST)
            assert body["Success"] is True, body
            await anyio.sleep(TIMEOUT * 0.8)
    assert app.stats.accepted == 3


async def test_a_half_sent_second_request_on_a_kept_alive_connection_is_closed(
    parser: Parser,
) -> None:
    async with running_server(_app(), port=0, request_timeout=TIMEOUT, http=parser) as base_url:
        stream = await anyio.connect_tcp("127.0.0.1", _port(base_url))
        await stream.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # unsigned: a 400, kept alive
        answer = b""
        with anyio.fail_after(LATE):
            while b"MissingAction" not in answer:
                answer += await stream.receive()
        await stream.send(b"GET /?Action=ListOTAFirmware HT")
        sent = time.monotonic()
        with anyio.fail_after(TIMEOUT + LATE):
            await _closed_by_peer(stream)
        await stream.aclose()
    assert time.monotonic() - sent >= TIMEOUT * 0.9


async def test_an_answer_slower_than_the_timeout_is_not_cut_off(parser: Parser) -> None:
    # The deadline is for the request to arrive; the simulator may take longer to answer.
    app = Simulator(
        SimulatorConfig(fleet=FleetSpec(anchor_ms=ANCHOR_MS), qps=None, latency=TIMEOUT * 2)
    )
    async with (
        running_server(app, port=0, request_timeout=TIMEOUT, http=parser) as base_url,
        httpx.AsyncClient(base_url=base_url, trust_env=False) as http,
    ):
        body = await SimClient(http).call("ListOTAFirmware", LIST)
    assert body["Success"] is True


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), float("nan"), "10", True])
async def test_a_request_timeout_that_is_not_a_positive_number_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="request_timeout"):
        async with running_server(_app(), port=0, request_timeout=bad):  # type: ignore[arg-type]
            pass


@pytest.mark.parametrize(("option", "bad"), [("http", "h2"), ("http", None), ("loop", "trio")])
async def test_a_parser_or_loop_the_server_does_not_offer_is_refused(
    option: str, bad: object
) -> None:
    with pytest.raises(ValueError, match=f"{option} must be"):
        async with running_server(_app(), port=0, **{option: bad}):  # type: ignore[arg-type]
            pass


@pytest.mark.backends("asyncio")
async def test_the_listening_socket_makes_asyncio_set_tcp_nodelay_on_accepted_ones(
    anyio_backend: str,
) -> None:
    # Without TCP_NODELAY every answer (headers, then body) waits 40 ms for a delayed ACK;
    # asyncio sets it only on sockets whose proto says TCP, which _bind sees to.
    sock = _bind("127.0.0.1", 0)
    nodelay: list[int] = []
    accepted = anyio.Event()

    class Record(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            conn = transport.get_extra_info("socket")
            nodelay.append(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            accepted.set()

    server = await asyncio.get_running_loop().create_server(Record, sock=sock)
    async with server, await anyio.connect_tcp("127.0.0.1", sock.getsockname()[1]):
        with anyio.fail_after(LATE):
            await accepted.wait()
    assert nodelay == [1]
