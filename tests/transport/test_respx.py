"""respx's ``respx.mock`` (which patches httpcore) still sees every request."""

from __future__ import annotations

import httpx
import pytest
import respx
from support.loopback import refused_port

from otaclient._transport import DefaultTransport

from .conftest import LIMITS

pytestmark = pytest.mark.anyio


async def test_respx_mock_answers_in_place_of_the_network(anyio_backend: str) -> None:
    url = f"http://127.0.0.1:{refused_port()}/?Action=ListOTAFirmware"  # nothing listens there
    transport = DefaultTransport(limits=LIMITS)
    with respx.mock(assert_all_called=True) as router:
        route = router.post(url).respond(json={"Success": True})
        async with httpx.AsyncClient(transport=transport) as client:
            response = await client.post(url)
    assert response.json() == {"Success": True}
    assert route.call_count == 1
    assert transport.backend is None  # the network side was never opened


async def test_requests_go_to_the_network_again_once_respx_stops(anyio_backend: str) -> None:
    url = f"http://127.0.0.1:{refused_port()}/"
    async with httpx.AsyncClient(transport=DefaultTransport(limits=LIMITS)) as client:
        with respx.mock() as router:
            router.get(url).respond(204)
            assert (await client.get(url)).status_code == 204
        with pytest.raises(httpx.ConnectError):
            await client.get(url)
