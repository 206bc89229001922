"""Whatever bytes arrive, decoding either succeeds or raises an OTAError - nothing else."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otaclient._errors import OTAError
from otaclient._models import Page
from otaclient._operations import OPERATIONS
from otaclient._parse import DecodeProblem, load_body

PAGED_JOBS = OPERATIONS["ListOTAJobByFirmware"].result

SAMPLE = {
    "RequestId": "5D58AC86",
    "Success": True,
    "CurrentPage": 1,
    "PageSize": 10,
    "PageCount": 1,
    "Total": 1,
    "Data": {
        "SimpleOTAJobInfo": [
            {
                "JobId": "HvKu",
                "FirmwareId": "FJFx",
                "JobStatus": "IN_PROGRESS",
                "UtcCreate": "2019-12-28T02:43:10.000Z",
                "Tags": {"OtaTagDTO": [{"Key": "k", "Value": "v"}]},
            }
        ]
    },
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=25,
)


def _decode(raw: bytes) -> Any:
    """What the client does with a body: parse, then structure into the action's result."""
    try:
        body = load_body(raw)
        return PAGED_JOBS.decode(body, "r")
    except DecodeProblem:
        return None  # the client wraps this in ResponseError, an OTAError


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_decode_or_raise_a_decode_problem(raw: bytes) -> None:
    _decode(raw)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_arbitrary_json_decodes_or_raises_a_decode_problem(value: Any) -> None:
    _decode(json.dumps(value).encode())


def _mutations() -> st.SearchStrategy[dict[str, Any]]:
    """The sample body with one key's value replaced by anything."""
    paths = [
        ("Total",),
        ("PageCount",),
        ("CurrentPage",),
        ("PageSize",),
        ("Data",),
        ("Data", "SimpleOTAJobInfo"),
        ("Data", "SimpleOTAJobInfo", 0),
        ("Data", "SimpleOTAJobInfo", 0, "JobStatus"),
        ("Data", "SimpleOTAJobInfo", 0, "UtcCreate"),
        ("Data", "SimpleOTAJobInfo", 0, "Tags"),
    ]

    def mutate(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
        body = json.loads(json.dumps(SAMPLE))
        target: Any = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return body

    return st.builds(mutate, st.sampled_from(paths), json_values)


@settings(max_examples=500, deadline=None)
@given(_mutations())
def test_mutated_sample_bodies_decode_or_raise_a_decode_problem(body: dict[str, Any]) -> None:
    result = _decode(json.dumps(body).encode())
    if isinstance(result, Page):
        assert result.total >= 0
        assert result.page_count >= 0
        assert isinstance(result.items, list)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.integers(min_value=0, max_value=400))
def test_truncated_or_spliced_bodies_decode_or_raise(noise: bytes, cut: int) -> None:
    raw = json.dumps(SAMPLE).encode()
    _decode(raw[:cut] + noise)
    xml = (
        b"<ListOTAJobByFirmwareResponse><Total>1</Total><PageSize>10</PageSize>"
        b"<CurrentPage>1</CurrentPage><Data><SimpleOTAJobInfo><JobId>j</JobId>"
        b"</SimpleOTAJobInfo></Data></ListOTAJobByFirmwareResponse>"
    )
    _decode(xml[:cut] + noise)


def test_decode_problem_becomes_an_ota_error_at_the_client() -> None:
    # The property tests above stop at DecodeProblem; the client turns it into ResponseError.
    from otaclient import ResponseError

    assert issubclass(ResponseError, OTAError)
