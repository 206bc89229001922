"""Cross-field rules: what the reference requires of several arguments together.

A parameter's own limits (required, range, choices, length) live on the ``Param``; the rules
here tie arguments to each other ("GRAY needs gray_percent", "give iot_id, or product_key
and device_name"). Each rule is a ``Check``: a function of the keyword arguments (by
Python name) that returns what is wrong, or ``None``. ``Operation.encode`` runs an action's
checks after its parameters, and raises ``ValidationError`` with the first problem.

>>> gray = requires("gray_percent", when="target_selection", is_="GRAY")
>>> gray({"target_selection": "gray"}), gray({"target_selection": "gray", "gray_percent": "5"})
('GRAY needs gray_percent', None)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "Check",
    "delta_needs_source",
    "max_offset",
    "names_a_device",
    "one_of",
    "requires",
    "specific_targets",
    "together",
]

Check = Callable[[Mapping[str, Any]], str | None]
"""A cross-field rule: the problem with the arguments, or ``None``."""


def _chosen(values: Mapping[str, Any], name: str, value: str) -> bool:
    # An enum argument as the wire will see it: a member or a string in any case.
    given = values.get(name)
    return given is not None and str(getattr(given, "value", given)).upper() == value


def requires(field: str, *, when: str, is_: str) -> Check:
    """``field`` must be given when the enum argument ``when`` is ``is_``."""
    message = f"{is_} needs {field}"

    def check(values: Mapping[str, Any]) -> str | None:
        missing = values.get(field) in (None, "", [])
        return message if missing and _chosen(values, when, is_) else None

    return check


def together(first: str, second: str) -> Check:
    """``second`` must be given whenever ``first`` is."""

    def check(values: Mapping[str, Any]) -> str | None:
        if values.get(first) is not None and values.get(second) is None:
            return f"{second} is required when {first} is given"
        return None

    return check


def one_of(*names: str, at_most_one: bool = False) -> Check:
    """At least one of ``names`` must be given (``at_most_one``: and no more than one)."""

    def check(values: Mapping[str, Any]) -> str | None:
        given = [n for n in names if values.get(n) not in (None, False, [], "")]
        if not given:
            return f"at least one of {', '.join(names)} is required"
        if at_most_one and len(given) > 1:
            return f"give only one of {', '.join(names)}"
        return None

    return check


def max_offset(limit: int) -> Check:
    """``current_page * page_size`` must stay within ``limit`` (how deep paging reaches)."""

    def check(values: Mapping[str, Any]) -> str | None:
        page, size = values.get("current_page"), values.get("page_size")
        if isinstance(page, int) and isinstance(size, int) and page * size > limit:
            return f"current_page * page_size must be at most {limit}, got {page * size}"
        return None

    return check


def specific_targets(values: Mapping[str, Any]) -> str | None:
    """A ``SPECIFIC`` batch names its devices one way: a list, or a list file's URL."""
    if not _chosen(values, "target_selection", "SPECIFIC"):
        return None
    names, file_url = values.get("target_device_names"), values.get("dn_list_file_url")
    if not names and not file_url:
        return "SPECIFIC needs target_device_names or dn_list_file_url"
    if names and file_url:
        return "give target_device_names or dn_list_file_url, not both"
    return None


def names_a_device(values: Mapping[str, Any]) -> str | None:
    """A device is named by ``iot_id``, or by ``product_key`` and ``device_name``."""
    if values.get("iot_id"):
        return None
    if values.get("product_key") and values.get("device_name"):
        return None
    return "give iot_id, or product_key and device_name"


def delta_needs_source(values: Mapping[str, Any]) -> str | None:
    """A delta package (``type=1``) says which version it upgrades from."""
    if values.get("type") == 1 and not values.get("src_version"):
        return "src_version is required when type is 1 (a delta package)"
    return None
