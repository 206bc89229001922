"""``client.call``: any action by wire name, parameters as the wire spells them."""

from __future__ import annotations

import httpx
import pytest

from otaclient import ValidationError

from ._helpers import Recorder, make_client, ok_body

pytestmark = pytest.mark.anyio


def _recorder() -> Recorder:
    return Recorder(lambda request: httpx.Response(200, json=ok_body(Data={"JobId": "j1"})))


async def test_call_returns_the_decoded_body() -> None:
    async with make_client(_recorder()) as client:
        body = await client.call("QueryOTAJob", {"JobId": "j1"}, idempotent=True)
    assert body == ok_body(Data={"JobId": "j1"})


async def test_call_sends_scalars_lists_and_structs_in_wire_form() -> None:
    recorder = _recorder()
    params = {
        "Skipped": None,
        "JobId": "j1",
        "NeedPush": True,
        "NeedConfirm": False,
        "MaximumPerMinute": 100,
        "SrcVersion": ["1.0", "1.1"],
        "Tag": [{"Key": "team", "Value": "a"}],
    }
    async with make_client(recorder) as client:
        await client.call("UpdateOTAJob", params)
    sent = recorder.last
    assert "Skipped" not in sent
    assert sent["JobId"] == "j1"
    assert (sent["NeedPush"], sent["NeedConfirm"]) == ("true", "false")
    assert sent["MaximumPerMinute"] == "100"
    assert (sent["SrcVersion.1"], sent["SrcVersion.2"]) == ("1.0", "1.1")
    assert (sent["Tag.1.Key"], sent["Tag.1.Value"]) == ("team", "a")


@pytest.mark.parametrize(
    "params",
    [{"JobId": object()}, {"SrcVersion": [b"bytes"]}, {"Tag": [{"Key": object()}]}],
    ids=["scalar", "list-item", "struct-field"],
)
async def test_call_refuses_a_value_it_cannot_send(params: dict[str, object]) -> None:
    recorder = _recorder()
    async with make_client(recorder) as client:
        with pytest.raises(ValidationError, match="UpdateOTAJob") as caught:
            await client.call("UpdateOTAJob", params)
    name = next(iter(params))
    assert f"{name}: cannot send a" in str(caught.value)
    assert recorder.requests == []


@pytest.mark.parametrize("action", ["", "List OTA", "../QueryOTAJob", 42])
async def test_call_refuses_what_is_not_an_action_name(action: object) -> None:
    recorder = _recorder()
    async with make_client(recorder) as client:
        with pytest.raises(ValidationError, match="action must be an API action name"):
            await client.call(action, {})  # type: ignore[arg-type]
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("action", "method"),
    [("ListOTAModuleByProduct", "GET"), ("QueryOTAJob", "POST"), ("SomeFutureAction", "POST")],
)
async def test_call_uses_the_known_actions_http_method(action: str, method: str) -> None:
    recorder = _recorder()
    async with make_client(recorder) as client:
        await client.call(action, {"ProductKey": "pk"}, idempotent=True)
    assert recorder.requests[0].method == method
    assert recorder.last["Action"] == action
