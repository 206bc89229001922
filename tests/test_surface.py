"""The public surface matches the operation table and the contract."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import otaclient
from otaclient import OTAClient
from otaclient._naming import snake_case
from otaclient._operations import OPERATIONS

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize("action", sorted(OPERATIONS))
def test_every_action_has_a_method_taking_exactly_its_parameters(action: str) -> None:
    op = OPERATIONS[action]
    method = getattr(OTAClient, snake_case(action))
    parameters = inspect.signature(method).parameters
    keywords = {name for name, p in parameters.items() if p.kind is p.KEYWORD_ONLY}
    assert keywords == op.argument_names


@pytest.mark.parametrize("action", sorted(a for a, op in OPERATIONS.items() if op.paged))
def test_every_paged_action_has_an_iterator_without_current_page(action: str) -> None:
    op = OPERATIONS[action]
    iterator = getattr(OTAClient, "iter_" + snake_case(action).removeprefix("list_"))
    # `verify` is the harvest's own switch, not a wire parameter.
    keywords = set(inspect.signature(iterator).parameters) - {"self", "verify"}
    assert keywords == op.argument_names - {"current_page"} - _ignored_by_iterators(action)


def _ignored_by_iterators(action: str) -> set[str]:
    # DeviceNames.N makes ListOTATaskByJob ignore paging: it belongs to list_, not iter_.
    return {"device_names"} if action == "ListOTATaskByJob" else set()


def test_the_contract_names_are_importable() -> None:
    for name in (
        "OTAClient",
        "Page",
        "Firmware",
        "OTAJob",
        "OTATask",
        "OTATag",
        "CreatedJob",
        "OTAError",
        "APIError",
        "ThrottlingError",
        "ValidationError",
        "RedisRateLimiter",
    ):
        assert hasattr(otaclient, name), name
    assert issubclass(otaclient.ValidationError, otaclient.OTAError)
    assert issubclass(otaclient.ValidationError, ValueError)
    assert issubclass(otaclient.ThrottlingError, otaclient.APIError)


def test_every_public_name_has_a_docstring() -> None:
    for name in otaclient.__all__:
        assert inspect.getdoc(getattr(otaclient, name)), name
    for name, member in inspect.getmembers(OTAClient):
        if not name.startswith("_") and callable(member):
            assert inspect.getdoc(member), name


def test_the_readme_lists_every_action() -> None:
    text = README.read_text()
    listed = set(re.findall(r"^\| `(\w+)` \| `(\w+)`", text, flags=re.MULTILINE))
    assert listed == {(action, snake_case(action)) for action in OPERATIONS}


def test_the_readme_quickstart_runs() -> None:
    import subprocess
    import sys

    quickstart = README.read_text().split("## Quickstart", 1)[1]
    code = quickstart.split("```python\n", 1)[1].split("```", 1)[0]
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "packages; first page:" in result.stdout
