"""The examples in the core modules' docstrings run and show what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

CORE = (
    "_checks",
    "_convert",
    "_errors",
    "_limits",
    "_methods",
    "_naming",
    "_operation",
    "_params",
    "_parse",
    "_redact",
    "_retry",
    "_shapes",
    "_signing",
)


@pytest.mark.parametrize("name", CORE)
def test_the_examples_of_a_core_module_hold(name: str) -> None:
    module = importlib.import_module(f"otaclient.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
