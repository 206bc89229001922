"""Request verification: common parameters, signature, timestamp, nonce, keys, tokens."""

from __future__ import annotations

import pytest
from simhelpers import (
    FakeClock,
    SimClient,
    common_params,
    in_process,
    make_app,
    signed_query,
    xml_root,
)

from otaclient._signing import canonical_query, string_to_sign
from otaclient.simulator import DEMO_ACCESS_KEY_ID, Simulator, SimulatorConfig

pytestmark = pytest.mark.anyio

LIST = {"CurrentPage": 1, "PageSize": 5}


async def test_correctly_signed_post_is_accepted() -> None:
    clock = FakeClock()
    async with in_process(make_app(clock)) as http:
        response = await SimClient(http, clock=clock).send("ListOTAFirmware", LIST)
    assert response.status_code == 200
    assert response.json()["Success"] is True


async def test_correctly_signed_get_is_accepted() -> None:
    clock = FakeClock()
    async with in_process(make_app(clock)) as http:
        response = await SimClient(http, clock=clock).send("ListOTAFirmware", LIST, method="GET")
    assert response.status_code == 200


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_wrong_secret_is_signature_does_not_match(method: str) -> None:
    clock = FakeClock()
    async with in_process(make_app(clock)) as http:
        response = await SimClient(http, clock=clock).send(
            "ListOTAFirmware", LIST, method=method, secret="not-the-secret"
        )
    assert response.status_code == 400
    body = response.json()
    assert body["Code"] == "SignatureDoesNotMatch"
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert body["Message"].startswith("Specified signature is not matched with our calculation.")


async def test_signature_mismatch_message_carries_server_string_to_sign() -> None:
    clock = FakeClock()
    params = {
        **common_params("ListOTAFirmware", wall=clock.time()),
        "CurrentPage": "1",
        "PageSize": "5",
    }
    expected = string_to_sign("POST", canonical_query(params))
    async with in_process(make_app(clock)) as http:
        response = await http.post(f"/?{canonical_query(params)}&Signature=bogus")
    assert response.json()["Message"].endswith(f"server string to sign is:{expected}")


async def test_signature_made_for_get_fails_on_post() -> None:
    clock = FakeClock()
    params = {
        **common_params("ListOTAFirmware", wall=clock.time()),
        "CurrentPage": "1",
        "PageSize": "5",
    }
    async with in_process(make_app(clock)) as http:
        response = await http.post("/?" + signed_query(params, "GET", "demo-access-key-secret"))
    assert response.json()["Code"] == "SignatureDoesNotMatch"


async def test_form_body_parameters_are_covered_by_the_signature() -> None:
    clock = FakeClock()
    async with in_process(make_app(clock)) as http:
        response = await SimClient(http, clock=clock).send("ListOTAFirmware", LIST, in_body=True)
    assert response.status_code == 200
    assert response.json()["PageSize"] == 5


_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_PAGE = {"CurrentPage": "1", "PageSize": "5"}


async def test_every_parameter_and_the_signature_in_a_form_body_is_accepted() -> None:
    # How otaclient sends POST actions: an empty query, the whole signed request in the body.
    clock = FakeClock()
    params = {**common_params("ListOTAFirmware", wall=clock.time()), **_PAGE}
    body = signed_query(params, "POST", "demo-access-key-secret")
    async with in_process(make_app(clock)) as http:
        response = await http.post("/", content=body.encode(), headers=_FORM)
    assert response.status_code == 200
    assert response.json()["PageSize"] == 5


async def test_a_form_body_signed_as_a_get_is_rejected() -> None:
    clock = FakeClock()
    params = {**common_params("ListOTAFirmware", wall=clock.time()), **_PAGE}
    body = signed_query(params, "GET", "demo-access-key-secret")
    async with in_process(make_app(clock)) as http:
        response = await http.post("/", content=body.encode(), headers=_FORM)
    assert response.json()["Code"] == "SignatureDoesNotMatch"


async def test_form_body_parameter_left_out_of_the_signature_is_rejected() -> None:
    clock = FakeClock()
    params = common_params("ListOTAFirmware", wall=clock.time())
    async with in_process(make_app(clock)) as http:
        # Signed over the query only; the body adds PageSize/CurrentPage unsigned.
        response = await http.post(
            "/?" + signed_query(params, "POST", "demo-access-key-secret"),
            data={"CurrentPage": "1", "PageSize": "5"},
        )
    assert response.status_code == 400
    assert response.json()["Code"] == "SignatureDoesNotMatch"


@pytest.mark.parametrize(
    ("method", "signature"),
    [("POST", "F85tnAaU7mwOda%2FFNTtCDrqpVnU%3D"), ("GET", "Yrd0GPpHsYlEcyx0N2lzORtVC5I%3D")],
)
async def test_published_test_vector_signature_is_accepted(method: str, signature: str) -> None:
    # Reference section 3: secret "testsecret", Timestamp 2024-11-19T09:47:43Z.
    clock = FakeClock(wall=1732009663.0)
    app = make_app(clock, access_keys={"testid": "testsecret"})
    query = (
        "AccessKeyId=testid&Action=ListOTAFirmware&CurrentPage=1&Format=JSON&PageSize=10"
        "&ProductKey=a1%20b%2Ac~&SignatureMethod=HMAC-SHA1"
        "&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0"
        "&Timestamp=2024-11-19T09%3A47%3A43Z&Version=2018-01-20"
    )
    async with in_process(app) as http:
        response = await http.request(method, f"/?{query}&Signature={signature}")
    assert response.status_code == 200, response.text
    assert response.json()["Total"] == 0  # there is no product "a1 b*c~"


async def test_reused_nonce_is_rejected() -> None:
    clock = FakeClock()
    async with in_process(make_app(clock)) as http:
        client = SimClient(http, clock=clock)
        first = await client.send("ListOTAFirmware", LIST, nonce="a" * 32)
        second = await client.send("ListOTAFirmware", LIST, nonce="a" * 32)
    assert first.status_code == 200
    assert second.status_code == 400
    assert second.json()["Code"] == "SignatureNonceUsed"


async def test_nonce_is_forgotten_after_the_window() -> None:
    clock = FakeClock()
    async with in_process(make_app(clock)) as http:
        client = SimClient(http, clock=clock)
        await client.send("ListOTAFirmware", LIST, nonce="b" * 32)
        clock.mono += 1801  # monotonic only: the Timestamp stays valid
        again = await client.send("ListOTAFirmware", LIST, nonce="b" * 32)
    assert again.status_code == 200


@pytest.mark.parametrize(
    ("skew", "accepted"), [(-899, True), (899, True), (-901, False), (901, False)]
)
async def test_timestamp_window_is_fifteen_minutes(skew: float, accepted: bool) -> None:
    clock = FakeClock()
    app = make_app(clock)
    async with in_process(app) as http:
        client_clock = FakeClock(wall=clock.wall + skew)
        response = await SimClient(http, clock=client_clock).send("ListOTAFirmware", LIST)
    if accepted:
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert response.json()["Code"] == "InvalidTimeStamp.Expired"


async def test_badly_formatted_timestamp_is_rejected() -> None:
    clock = FakeClock()
    async with in_process(make_app(clock)) as http:
        response = await SimClient(http, clock=clock).send(
            "ListOTAFirmware", LIST, common={"Timestamp": "2024-11-19 09:10:00"}
        )
    assert response.json()["Code"] == "InvalidTimeStamp.Format"


async def test_unknown_access_key_is_not_found() -> None:
    clock = FakeClock()
    async with in_process(make_app(clock)) as http:
        client = SimClient(http, clock=clock, key_id="nobody")
        response = await client.send("ListOTAFirmware", LIST)
    assert response.status_code == 404
    assert response.json()["Code"] == "InvalidAccessKeyId.NotFound"


@pytest.mark.parametrize(
    "name", ["Action", "AccessKeyId", "SignatureMethod", "SignatureNonce", "Timestamp", "Version"]
)
async def test_missing_common_parameter_is_missing_code(name: str) -> None:
    clock = FakeClock()
    async with in_process(make_app(clock)) as http:
        response = await SimClient(http, clock=clock).send(
            "ListOTAFirmware", LIST, common={name: None}
        )
    assert response.status_code == 400
    assert response.json()["Code"] == f"Missing{name}"


async def test_missing_signature_is_missing_signature() -> None:
    clock = FakeClock()
    params = {
        **common_params("ListOTAFirmware", wall=clock.time()),
        "CurrentPage": "1",
        "PageSize": "5",
    }
    async with in_process(make_app(clock)) as http:
        response = await http.post(f"/?{canonical_query(params)}")
    assert response.json()["Code"] == "MissingSignature"


async def test_tuya_dialect_accepts_requests_without_version_format_or_signature_version() -> None:
    clock = FakeClock()
    app = make_app(clock, dialect="tuya")
    async with in_process(app) as http:
        response = await SimClient(http, clock=clock).send(
            "ListOTAFirmware", LIST, fmt=None, common={"Version": None, "SignatureVersion": None}
        )
    assert response.status_code == 200
    assert response.json()["success"] is True


async def test_wrong_version_is_invalid_version() -> None:
    clock = FakeClock()
    async with in_process(make_app(clock)) as http:
        response = await SimClient(http, clock=clock).send(
            "ListOTAFirmware", LIST, common={"Version": "2017-04-20"}
        )
    assert response.status_code == 400
    assert response.json()["Code"] == "InvalidVersion"


async def test_signature_method_other_than_hmac_sha1_is_rejected() -> None:
    clock = FakeClock()
    async with in_process(make_app(clock)) as http:
        response = await SimClient(http, clock=clock).send(
            "ListOTAFirmware", LIST, common={"SignatureMethod": "HMAC-SHA256"}
        )
    assert response.status_code == 400
    assert response.json()["Code"] == "InvalidSignatureMethod"


async def test_unknown_action_is_not_found() -> None:
    clock = FakeClock()
    async with in_process(make_app(clock)) as http:
        response = await SimClient(http, clock=clock).send("ListOTAEverything", LIST)
    assert response.status_code == 404
    assert response.json()["Code"] == "InvalidAction.NotFound"


async def test_gateway_error_is_xml_when_format_is_xml() -> None:
    clock = FakeClock()
    async with in_process(make_app(clock)) as http:
        response = await SimClient(http, clock=clock).send(
            "ListOTAFirmware", LIST, fmt="XML", secret="wrong"
        )
    root = xml_root(response)
    assert response.status_code == 400
    assert root.tag == "Error"
    assert {child.tag for child in root} == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert root.findtext("Code") == "SignatureDoesNotMatch"


def _sts_app(clock: FakeClock) -> Simulator:
    return make_app(
        clock,
        access_keys={DEMO_ACCESS_KEY_ID: "demo-access-key-secret", "sts-key": "sts-secret"},
        security_tokens={"sts-key": {"good-token"}},
    )


@pytest.mark.parametrize(
    ("key_id", "secret", "token", "code"),
    [
        ("sts-key", "sts-secret", "good-token", None),
        ("sts-key", "sts-secret", "stale-token", "InvalidSecurityToken.Expired"),
        ("sts-key", "sts-secret", None, "MissingSecurityToken"),
        (
            DEMO_ACCESS_KEY_ID,
            "demo-access-key-secret",
            "good-token",
            "InvalidSecurityToken.MismatchWithAccessKey",
        ),
    ],
)
async def test_security_token_must_match_the_key(
    key_id: str, secret: str, token: str | None, code: str | None
) -> None:
    clock = FakeClock()
    app = _sts_app(clock)
    async with in_process(app) as http:
        client = SimClient(http, clock=clock, key_id=key_id, secret=secret)
        response = await client.send("ListOTAFirmware", LIST, common={"SecurityToken": token})
    if code is None:
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert response.json()["Code"] == code


async def test_rejections_are_counted() -> None:
    clock = FakeClock()
    app = make_app(clock)
    async with in_process(app) as http:
        client = SimClient(http, clock=clock)
        await client.send("ListOTAFirmware", LIST)
        await client.send("ListOTAFirmware", LIST, secret="wrong")
    assert app.stats.requests == 2
    assert app.stats.accepted == 1
    assert app.stats.rejected == 1
    assert app.stats.errors_by_code["SignatureDoesNotMatch"] == 1


def test_config_rejects_tokens_for_unknown_keys() -> None:
    with pytest.raises(ValueError, match="unknown access keys"):
        SimulatorConfig(security_tokens={"ghost": {"t"}})
