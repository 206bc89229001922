"""The v1 RPC signature: published vectors, and agreement with an independent signer."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otaclient._signing import canonical_query, percent_encode, sign, string_to_sign

from ._helpers import reference_signature, rfc3986

try:
    from alibabacloud_openapi_util.client import Client as OfficialSDK  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - the official SDK is a test extra
    OfficialSDK = None

# reference/ota-api.md §3: the vector both official Python SDKs reproduce.
VECTOR = {
    "AccessKeyId": "testid",
    "Action": "ListOTAFirmware",
    "CurrentPage": "1",
    "Format": "JSON",
    "PageSize": "10",
    "ProductKey": "a1 b*c~",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
    "SignatureVersion": "1.0",
    "Timestamp": "2024-11-19T09:47:43Z",
    "Version": "2018-01-20",
}
VECTOR_CANONICAL = (
    "AccessKeyId=testid&Action=ListOTAFirmware&CurrentPage=1&Format=JSON&PageSize=10"
    "&ProductKey=a1%20b%2Ac~&SignatureMethod=HMAC-SHA1"
    "&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0"
    "&Timestamp=2024-11-19T09%3A47%3A43Z&Version=2018-01-20"
)
VECTOR_STRING_TO_SIGN = (
    "POST&%2F&AccessKeyId%3Dtestid%26Action%3DListOTAFirmware%26CurrentPage%3D1"
    "%26Format%3DJSON%26PageSize%3D10%26ProductKey%3Da1%2520b%252Ac~"
    "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"
    "%26SignatureVersion%3D1.0%26Timestamp%3D2024-11-19T09%253A47%253A43Z"
    "%26Version%3D2018-01-20"
)
VECTOR_POST_SIGNATURE = "F85tnAaU7mwOda/FNTtCDrqpVnU="
VECTOR_GET_SIGNATURE = "Yrd0GPpHsYlEcyx0N2lzORtVC5I="

# The provider's own worked example (ECS "API 签名机制(示例)", developer.aliyun.com/ask/210168):
# DescribeRegions signed as GET with the secret "testsecret". It spells the time "TimeStamp".
ECS_EXAMPLE = {
    "TimeStamp": "2016-02-23T12:46:24Z",
    "Format": "XML",
    "AccessKeyId": "testid",
    "Action": "DescribeRegions",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
    "Version": "2014-05-26",
    "SignatureVersion": "1.0",
}
ECS_EXAMPLE_SIGNATURE = "CT9X0VtwR86fNWSnsc6v8YGOjuE="


# --------------------------------------------------------------------------- published vectors


def test_published_vector_canonical_query() -> None:
    assert canonical_query(VECTOR) == VECTOR_CANONICAL


def test_published_vector_string_to_sign_for_post() -> None:
    assert string_to_sign("POST", VECTOR_CANONICAL) == VECTOR_STRING_TO_SIGN


def test_published_vector_post_signature() -> None:
    assert sign("POST", canonical_query(VECTOR), "testsecret") == VECTOR_POST_SIGNATURE


def test_published_vector_get_signature() -> None:
    assert sign("GET", canonical_query(VECTOR), "testsecret") == VECTOR_GET_SIGNATURE


def test_canonical_query_does_not_depend_on_parameter_order() -> None:
    shuffled = dict(reversed(list(VECTOR.items())))
    assert canonical_query(shuffled) == VECTOR_CANONICAL
    assert canonical_query(list(shuffled.items())) == VECTOR_CANONICAL


def test_provider_ecs_example_signature() -> None:
    assert sign("GET", canonical_query(ECS_EXAMPLE), "testsecret") == ECS_EXAMPLE_SIGNATURE


def test_reference_signer_reproduces_both_published_vectors() -> None:
    # The wire tests trust reference_signature; it must agree with the provider first.
    assert reference_signature("POST", VECTOR, "testsecret") == VECTOR_POST_SIGNATURE
    assert reference_signature("GET", VECTOR, "testsecret") == VECTOR_GET_SIGNATURE
    assert reference_signature("GET", ECS_EXAMPLE, "testsecret") == ECS_EXAMPLE_SIGNATURE


# --------------------------------------------------------------------------- percent-encoding


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("AZaz09-_.~", "AZaz09-_.~"),
        ("a b", "a%20b"),
        ("a*b", "a%2Ab"),
        ("a+b", "a%2Bb"),
        ("/", "%2F"),
        ("2024-11-19T09:47:43Z", "2024-11-19T09%3A47%3A43Z"),
        ("k=v&x", "k%3Dv%26x"),
        ("100%", "100%25"),
        ("ü", "%C3%BC"),
        ("固件", "%E5%9B%BA%E4%BB%B6"),
        ("😀", "%F0%9F%98%80"),
    ],
)
def test_percent_encode_follows_rfc3986_with_upper_case_hex(text: str, encoded: str) -> None:
    assert percent_encode(text) == encoded


# --------------------------------------------------------------------------- sorting


def test_repeat_list_names_sort_as_text_so_ten_comes_before_two() -> None:
    params = {f"SrcVersion.{n}": f"v{n}" for n in range(1, 12)}
    names = [pair.split("=")[0] for pair in canonical_query(params).split("&")]
    assert names[:4] == ["SrcVersion.1", "SrcVersion.10", "SrcVersion.11", "SrcVersion.2"]


def test_names_are_sorted_as_given_then_encoded() -> None:
    # "{" encodes to "%7B": sorting the encoded names would put it before "0".
    assert canonical_query({"{": "x", "0": "y"}) == "0=y&%7B=x"


def test_upper_case_names_sort_before_lower_case_names() -> None:
    names = [
        pair.split("=")[0] for pair in canonical_query({"b": "1", "Z": "2", "a": "3"}).split("&")
    ]
    assert names == ["Z", "a", "b"]


# --------------------------------------------------------------------------- independent signer

TRICKY = {
    "Action": "CreateOTAStaticUpgradeJob",
    "AccessKeyId": "testid",
    "DeviceName": "light 1*~/ü",
    "GrayPercent": "33.5",
    "ProductKey": "a1B2c3/+=&",
    "Tag.1.Key": "team",
    "Tag.1.Value": "机房 A",
    "Timestamp": "2024-11-19T09:47:43Z",
    **{f"SrcVersion.{n}": f"1.{n} beta*" for n in range(1, 12)},
}


def test_step_by_step_signature_of_tricky_parameters() -> None:
    secret = "s3cr*t ~/ü"
    # 1. encode every name and value, 2. sort by name, 3. join.
    pairs = sorted((name, value) for name, value in TRICKY.items())
    canonical = "&".join(f"{rfc3986(name)}={rfc3986(value)}" for name, value in pairs)
    assert "DeviceName=light%201%2A~%2F%C3%BC" in canonical
    assert canonical.index("SrcVersion.10=") < canonical.index("SrcVersion.2=")
    assert canonical_query(TRICKY) == canonical
    # 4. string to sign.
    to_sign = "POST&%2F&" + rfc3986(canonical)
    assert string_to_sign("POST", canonical) == to_sign
    # 5. base64(HMAC-SHA1(secret + "&", string to sign)).
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    assert sign("POST", canonical, secret) == base64.b64encode(digest).decode()


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_signature_of_tricky_parameters_matches_reference_signer(method: str) -> None:
    assert sign(method, canonical_query(TRICKY), "testsecret") == reference_signature(
        method, TRICKY, "testsecret"
    )


def test_the_method_is_part_of_what_is_signed() -> None:
    query = canonical_query(TRICKY)
    assert sign("GET", query, "testsecret") != sign("POST", query, "testsecret")


def test_the_secret_is_part_of_what_is_signed() -> None:
    query = canonical_query(TRICKY)
    assert sign("POST", query, "testsecret") != sign("POST", query, "testsecret2")


@given(
    st.dictionaries(
        st.text(st.characters(codec="utf-8"), min_size=1, max_size=12),
        st.text(st.characters(codec="utf-8"), max_size=24),
        max_size=8,
    ),
    st.sampled_from(["GET", "POST"]),
)
def test_any_parameters_sign_like_the_reference_signer(params: dict[str, str], method: str) -> None:
    assert sign(method, canonical_query(params), "testsecret") == reference_signature(
        method, params, "testsecret"
    )


@pytest.mark.skipif(OfficialSDK is None, reason="alibabacloud_openapi_util not installed")
@given(
    st.dictionaries(
        st.text(st.characters(codec="utf-8"), min_size=1, max_size=12),
        st.text(st.characters(codec="utf-8"), max_size=24),
        max_size=8,
    ),
    st.sampled_from(["GET", "POST"]),
)
def test_any_parameters_sign_like_the_official_sdk(params: dict[str, str], method: str) -> None:
    # alibabacloud_openapi_util comes with the `test` extra (alibabacloud-iot20180120).
    assert sign(method, canonical_query(params), "testsecret") == OfficialSDK.get_rpcsignature(
        params, method, "testsecret"
    )


@given(st.text(alphabet="AZaz09-_.~%=&+/:", max_size=400))
def test_percent_encode_of_a_query_a_signature_or_a_timestamp_is_rfc3986(text: str) -> None:
    # The string to sign encodes a whole canonical query, and the URL a base64 signature
    # and a Timestamp, on every request: the shortcut for their alphabet must write what
    # RFC 3986 says.
    assert percent_encode(text) == rfc3986(text)
