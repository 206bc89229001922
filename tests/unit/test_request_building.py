"""How each attempt's request is built: the URL httpx would parse from the same text, the
client's own headers and nothing else (no cookies), and httpx's URL limit still kept.

The request loop builds the ``httpx.Request`` itself instead of asking
``AsyncClient.build_request`` to parse the URL it just wrote (``_sender._with_query``); these
tests pin that nothing on the wire changed for it.
"""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from otaclient import Credentials, ValidationError, __version__
from otaclient._sender import _with_query
from otaclient._signing import canonical_query, percent_encode, sign

from ._helpers import ENDPOINT, Recorder, make_client, ok_body

pytestmark = pytest.mark.anyio

_NAMES = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1)
_VALUES = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]))
_BASES = st.sampled_from(
    ["http://ota.test/", "https://iot.cn-shanghai.aliyuncs.com/", "http://127.0.0.1:8686/api/"]
)


@given(base=_BASES, params=st.dictionaries(_NAMES, _VALUES, max_size=8))
def test_the_request_url_is_the_one_httpx_parses_from_its_text(
    base: str, params: dict[str, str]
) -> None:
    query = canonical_query(params)
    query = f"{query}&Signature={percent_encode(sign('POST', query, 'secret'))}"
    built = _with_query(httpx.URL(base), query)
    parsed = httpx.URL(f"{base}?{query}")
    assert (str(built), built.raw_path, built.query) == (str(parsed), parsed.raw_path, parsed.query)
    assert built == parsed


_PAGE = ok_body(Data=[], Total=0, PageCount=0, PageSize=100, CurrentPage=1)
_CLIENTS_HEADERS = [
    (b"Accept", b"*/*"),
    (b"Connection", b"keep-alive"),
    (b"User-Agent", f"otaclient/{__version__}".encode()),
    (b"Accept-Encoding", b"gzip, deflate"),
]


async def test_a_request_carries_the_clients_headers_and_nothing_else() -> None:
    # As AsyncClient.build_request made them: Host first, Content-Length of a bodiless POST.
    recorder = Recorder(lambda request: httpx.Response(200, json=_PAGE))
    async with make_client(recorder) as client:
        await client.list_ota_module_by_product(product_key="pk")  # a GET action
        await client.list_ota_firmware()  # a POST action
    host = (b"Host", httpx.URL(ENDPOINT).host.encode())
    assert [r.headers.raw for r in recorder.requests] == [
        [host, *_CLIENTS_HEADERS],
        [host, (b"Content-Length", b"0"), *_CLIENTS_HEADERS],
    ]


def _sets_a_cookie(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=ok_body(Data=[]), headers={"Set-Cookie": "acw_tc=abc; Path=/"})


async def test_a_cookie_the_server_sets_is_not_sent_back() -> None:
    recorder = Recorder(_sets_a_cookie)
    async with make_client(recorder) as client:
        await client.list_ota_module_by_product(product_key="pk")
        await client.list_ota_module_by_product(product_key="pk")
    assert "cookie" not in recorder.requests[1].headers


async def test_a_cookie_the_server_sets_is_not_kept() -> None:
    async with make_client(Recorder(_sets_a_cookie)) as client:
        await client.list_ota_module_by_product(product_key="pk")
        assert len(client._http.cookies) == 0  # type: ignore[attr-defined]


class _GrowingToken:
    """A provider whose token, once the client is built, outgrows what one URL carries."""

    async def get_credentials(self) -> Credentials:
        return Credentials("STS.id", "secret", "t" * 70_000)

    async def refresh(self, rejected: Credentials | None = None) -> Credentials:
        return await self.get_credentials()


async def test_credentials_too_long_for_one_url_are_refused_before_anything_is_sent() -> None:
    recorder = Recorder()
    growing = {"credentials": _GrowingToken(), "access_key_id": None, "access_key_secret": None}
    async with make_client(recorder, **growing) as client:
        with pytest.raises(ValidationError, match="URL too long"):
            await client.list_ota_module_by_product(product_key="pk")
    assert recorder.requests == []
