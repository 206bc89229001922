"""The command line's last line of defence: even an unexpected exception's text is
scrubbed of the credentials the command read."""

from __future__ import annotations

from typing import Any

import pytest
from cli_helpers import Served, assert_one_line_failure, run

from otaclient import OTAClient

SECRET = "cli-secret-never-printed-42"
TOKEN = "cli+token/never=printed"


@pytest.mark.parametrize("leaked", [SECRET, TOKEN])
def test_an_unexpected_error_quoting_a_credential_is_scrubbed(
    monkeypatch: pytest.MonkeyPatch, served: Served, leaked: str
) -> None:
    def broken(self: OTAClient, **filters: Any) -> Any:
        raise RuntimeError(f"a bug that quotes {leaked}")

    monkeypatch.setattr(OTAClient, "iter_ota_firmware", broken)
    env = {
        **served.env,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
        "ALIBABA_CLOUD_SECURITY_TOKEN": TOKEN,
    }
    result = run("firmware", "list", env=env)
    line = assert_one_line_failure(result)
    assert "unexpected RuntimeError: a bug that quotes ***" in line
    assert leaked not in result.stdout + result.stderr
