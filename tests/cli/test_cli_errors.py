"""Failures: one line on stderr, a non-zero exit status, never a traceback or a secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import Served, assert_one_line_failure, run

from otaclient import OTAClient, RetryPolicy, ThrottlingError
from otaclient._cli import connect
from otaclient._cli.failures import describe


def test_missing_credentials_suggests_demo() -> None:
    line = assert_one_line_failure(run("audit"))
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in line and "--demo" in line


def test_missing_endpoint_names_the_options() -> None:
    env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "secret"}
    line = assert_one_line_failure(run("audit", env=env))
    assert "--endpoint" in line and "--region-id" in line


def test_bad_credentials_show_the_api_error_code(served_http: Served) -> None:
    env = {**served_http.env, "ALIBABA_CLOUD_ACCESS_KEY_ID": "nobody"}
    line = assert_one_line_failure(run("audit", env=env))
    assert "InvalidAccessKeyId.NotFound" in line


def test_a_wrong_secret_is_one_line_and_never_echoed(served: Served) -> None:
    secret = "wrong-secret-value-1234"
    result = run("audit", env={**served.env, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret})
    line = assert_one_line_failure(result)
    assert "SignatureDoesNotMatch" in line
    assert secret not in result.stdout + result.stderr


def test_secret_file_is_read_and_never_echoed(served: Served, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("another-wrong-secret\n")
    env = {**served.env, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": None}
    result = run("audit", "--access-key-secret-file", str(secret_file), env=env)
    assert "SignatureDoesNotMatch" in assert_one_line_failure(result)
    assert "another-wrong-secret" not in result.stdout + result.stderr


def test_unreachable_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    # One attempt only: the default policy would back off for seconds before giving up.
    def once(**options: object) -> OTAClient:
        return OTAClient(**{**options, "retry": RetryPolicy(max_attempts=1)})  # type: ignore[arg-type]

    monkeypatch.setattr(connect, "OTAClient", once)
    env = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "id",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "secret",
        "OTACLIENT_ENDPOINT": "http://127.0.0.1:9",
    }
    line = assert_one_line_failure(run("audit", env=env))
    assert "cannot reach http://127.0.0.1:9" in line


def test_invalid_endpoint_is_a_usage_error() -> None:
    env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "secret"}
    line = assert_one_line_failure(run("audit", "--endpoint", "ftp://x", env=env), exit_code=2)
    assert "http(s) URL" in line


def test_a_validation_error_from_the_library(served: Served) -> None:
    line = assert_one_line_failure(run("jobs", "show", "", env=served.env), exit_code=2)
    assert "JobId" in line or "job_id" in line


def test_throttled_beyond_retries_says_so() -> None:
    error = ThrottlingError(
        action="ListOTAFirmware",
        code="Throttling.User",
        message="Request was denied due to user flow control.",
        request_id="r1",
        http_status=400,
    )
    text = describe(error).format_message()
    assert "Throttling.User" in text and "--qps" in text and "\n" not in text


def test_an_api_error_from_a_subcommand(served: Served) -> None:
    line = assert_one_line_failure(run("jobs", "list", "--firmware-id", "nope", env=served.env))
    assert "ListOTAJobByFirmware failed" in line
