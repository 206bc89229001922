"""Options are checked when the client or the policy is built, not at the first request
or the first retry: each refusal is a ValidationError naming the option."""

from __future__ import annotations

import math
from typing import Any

import attrs
import httpx
import pytest

from otaclient import OTAClient, RetryPolicy, TokenBucket, ValidationError

from ._helpers import Recorder, make_client

NOT_A_POSITIVE_NUMBER = [math.nan, math.inf, -math.inf, 0, 0.0, -1, -0.5, True, False, "10", 1j]
NOT_A_POSITIVE_INT = [0, -1, True, 1.5, 2.0, "4", None, math.nan]


@pytest.mark.parametrize("qps", NOT_A_POSITIVE_NUMBER, ids=repr)
def test_qps_must_be_a_positive_finite_number(qps: Any) -> None:
    with pytest.raises(ValidationError, match="qps"):
        make_client(Recorder(), qps=qps)


@pytest.mark.parametrize("qps", NOT_A_POSITIVE_NUMBER, ids=repr)
def test_qps_is_checked_for_per_action_quotas_too(qps: Any) -> None:
    with pytest.raises(ValidationError, match="qps"):
        make_client(Recorder(), qps=qps, per_action_quotas=True)


@pytest.mark.parametrize("qps", [None, 5, 0.25, 1000.0])
def test_qps_accepts_none_and_positive_numbers(qps: Any) -> None:
    make_client(Recorder(), qps=qps)


@pytest.mark.parametrize("option", ["max_concurrency", "pages_ahead", "max_body_bytes"])
@pytest.mark.parametrize("value", NOT_A_POSITIVE_INT, ids=repr)
def test_sizes_must_be_positive_integers(option: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=option):
        make_client(Recorder(), **{option: value})


def test_per_action_quotas_must_be_a_bool() -> None:
    with pytest.raises(ValidationError, match="per_action_quotas"):
        make_client(Recorder(), per_action_quotas="yes")


def test_per_action_quotas_with_a_limiter_is_refused() -> None:
    # One of them would be ignored without a word.
    with pytest.raises(ValidationError, match="not both"):
        make_client(Recorder(), limiter=TokenBucket(5.0), per_action_quotas=True)


@pytest.mark.parametrize("limiter", [5.0, object(), "redis://127.0.0.1"], ids=repr)
def test_a_limiter_must_be_a_rate_limiter(limiter: Any) -> None:
    with pytest.raises(ValidationError, match="limiter"):
        make_client(Recorder(), limiter=limiter)


def test_a_limiter_without_what_callers_read_is_refused_naming_what_it_lacks() -> None:
    class PacesOnly:
        async def acquire(self, action: str | None = None) -> None: ...

        def report_throttled(self, retry_after: float | None = None) -> None: ...

    with pytest.raises(ValidationError, match="lacks rate, current_rate, granted, throttled"):
        make_client(Recorder(), limiter=PacesOnly())


@pytest.mark.parametrize("retry", [3, {"max_attempts": 3}, "retry"], ids=repr)
def test_retry_must_be_a_retry_policy(retry: Any) -> None:
    with pytest.raises(ValidationError, match="retry"):
        make_client(Recorder(), retry=retry)


@pytest.mark.parametrize("response_format", [b"json", 5, None, "yaml"], ids=repr)
def test_response_format_must_be_json_or_xml(response_format: Any) -> None:
    with pytest.raises(ValidationError, match="response_format"):
        make_client(Recorder(), response_format=response_format)


def test_transport_must_be_an_httpx_async_transport() -> None:
    with pytest.raises(ValidationError, match="transport"):
        OTAClient(
            access_key_id="id",
            access_key_secret="secret",
            endpoint="http://127.0.0.1:8686",
            transport=lambda request: httpx.Response(200),  # type: ignore[arg-type]
        )


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("access_key_id", 12345),
        ("access_key_secret", b"secret"),
        ("security_token", 7),
        ("access_key_secret", "secret-\ud800"),
    ],
)
def test_credentials_must_be_strings_of_valid_unicode(option: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=option):
        make_client(Recorder(), **{option: value})


@pytest.mark.parametrize("iot_instance_id", [5, "", "iot-\ud800"], ids=repr)
def test_iot_instance_id_must_be_a_non_empty_string(iot_instance_id: Any) -> None:
    with pytest.raises(ValidationError, match="iot_instance_id"):
        make_client(Recorder(), iot_instance_id=iot_instance_id)


def test_a_security_token_that_leaves_no_room_for_parameters_is_refused() -> None:
    with pytest.raises(ValidationError, match="security token"):
        make_client(Recorder(), security_token="t" * 70_000)


# --------------------------------------------------------------------------- RetryPolicy

NOT_A_DURATION = [-1, -0.001, math.nan, math.inf, -math.inf, True, "0.5", None]


@pytest.mark.parametrize("option", ["backoff_base", "backoff_cap", "retry_after_cap"])
@pytest.mark.parametrize("value", NOT_A_DURATION, ids=repr)
def test_retry_waits_must_be_finite_non_negative_seconds(option: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=option):
        RetryPolicy(**{option: value})


@pytest.mark.parametrize("option", ["backoff_base", "backoff_cap", "retry_after_cap"])
def test_retry_waits_of_zero_are_allowed(option: str) -> None:
    RetryPolicy(**{option: 0})


@pytest.mark.parametrize(
    "value", [0, -3, True, 2.0, "3", 1001, 10**5000, None], ids=lambda v: type(v).__name__
)
def test_max_attempts_must_be_an_integer_from_1_to_1000(value: Any) -> None:
    with pytest.raises(ValidationError, match="max_attempts"):
        RetryPolicy(max_attempts=value)


@pytest.mark.parametrize("value", [0, True, 2.0, 1001], ids=repr)
def test_max_throttled_attempts_must_be_an_integer_from_1_to_1000(value: Any) -> None:
    with pytest.raises(ValidationError, match="max_throttled_attempts"):
        RetryPolicy(max_throttled_attempts=value)


@pytest.mark.parametrize("value", [0, -1, math.nan, math.inf, True, "60"], ids=repr)
def test_deadline_must_be_positive_finite_seconds_or_none(value: Any) -> None:
    with pytest.raises(ValidationError, match="deadline"):
        RetryPolicy(deadline=value)


def test_random_must_be_callable() -> None:
    with pytest.raises(ValidationError, match="random"):
        RetryPolicy(random=0.5)  # type: ignore[arg-type]


def test_an_evolved_policy_is_checked_again() -> None:
    with pytest.raises(ValidationError, match="backoff_base"):
        attrs.evolve(RetryPolicy(), backoff_base=-1)


def test_the_longest_allowed_policy_computes_every_wait() -> None:
    policy = RetryPolicy(max_attempts=1000, backoff_base=1e300, backoff_cap=8.0)
    assert all(0 <= policy.backoff(attempt) <= 8.0 for attempt in range(1, 1000))
