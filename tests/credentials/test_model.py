"""Credentials values: the constructor of old, an aware UTC expiration, a safe repr."""

from __future__ import annotations

import datetime as dt

import pytest

from otaclient import Credentials, ValidationError


def test_the_positional_constructor_of_old_still_works() -> None:
    credentials = Credentials("id", "secret", "token")
    assert (credentials.access_key_id, credentials.access_key_secret) == ("id", "secret")
    assert credentials.security_token == "token"
    assert credentials.expiration is None
    assert credentials.provider_name is None


def test_an_expiration_in_another_zone_is_kept_as_utc() -> None:
    tokyo = dt.timezone(dt.timedelta(hours=9))
    credentials = Credentials("id", "s", expiration=dt.datetime(2030, 1, 1, 9, tzinfo=tokyo))
    assert credentials.expiration == dt.datetime(2030, 1, 1, 0, tzinfo=dt.UTC)
    assert credentials.expiration.tzinfo is dt.UTC


def test_a_naive_expiration_is_refused() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        Credentials("id", "s", expiration=dt.datetime(2030, 1, 1))


def test_the_repr_shows_the_key_id_expiration_and_provider_but_no_secret() -> None:
    credentials = Credentials(
        "STS.id",
        "the-secret",
        "the-token",
        expiration=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        provider_name="ecs_ram_role",
    )
    assert repr(credentials) == (
        "Credentials(access_key_id='STS.id', expiration='2030-01-01T00:00:00+00:00', "
        "provider_name='ecs_ram_role')"
    )


def test_resolve_reads_the_environment_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-id")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret")
    assert Credentials.resolve() == Credentials("env-id", "env-secret")
