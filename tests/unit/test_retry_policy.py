"""RetryPolicy refuses nonsense when it is built, not at the first retry."""

from __future__ import annotations

import math

import pytest

from otaclient import RetryPolicy, ValidationError


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_attempts", 0),
        ("max_attempts", True),
        ("max_attempts", 2.5),
        ("deadline", 0),
        ("deadline", -1.0),
        ("deadline", math.nan),
        ("deadline", math.inf),
        ("backoff_base", -1.0),
        ("backoff_base", math.nan),
        ("backoff_base", math.inf),
        ("backoff_cap", -0.5),
        ("backoff_cap", "8"),
        ("retry_after_cap", -1.0),
        ("retry_after_cap", math.inf),
        ("retry_after_cap", None),
    ],
)
def test_an_option_that_is_not_a_sensible_number_is_refused_at_construction(
    option: str, value: object
) -> None:
    with pytest.raises(ValidationError, match=option):
        RetryPolicy(**{option: value})  # type: ignore[arg-type]


def test_zero_backoff_and_zero_caps_are_allowed() -> None:
    policy = RetryPolicy(backoff_base=0.0, backoff_cap=0.0, retry_after_cap=0.0)
    assert policy.backoff(3, retry_after=5.0) == 0.0


def test_backoff_of_a_huge_attempt_number_is_the_cap() -> None:
    policy = RetryPolicy(max_attempts=1000, random=lambda: 1.0)
    assert policy.backoff(4000) == policy.backoff_cap
