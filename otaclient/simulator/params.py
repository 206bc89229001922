"""Typed access to a request's business parameters.

The wire carries only strings. Type errors (an Integer that is not a number, a Boolean that
is not true/false) are refused by the gateway (HTTP 400 ``InvalidParameter``); a missing
required parameter or an out-of-range value is the IoT service's business error
(``Missing<Name>`` / ``iot.check.InvalidFormattedParameter``, HTTP 200).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from .errors import BusinessError, GatewayError

__all__ = ["Params"]

_INT = re.compile(r"^[+-]?\d{1,19}$")


class Params:
    """The merged query/form parameters of one request, with typed getters."""

    def __init__(self, raw: Mapping[str, str]) -> None:
        self.raw = raw

    def __contains__(self, name: str) -> bool:
        return bool(self.raw.get(name))

    def text(self, name: str, *, required: bool = False, max_len: int | None = None) -> str | None:
        """A String parameter; an empty value counts as absent (SDKs omit unset values)."""
        value = self.raw.get(name)
        if not value:
            if required:
                raise BusinessError.missing(name)
            return None
        if max_len is not None and len(value) > max_len:
            raise BusinessError.invalid(name, f"longer than {max_len} characters")
        return value

    def required(self, name: str, *, max_len: int | None = None) -> str:
        """A required String parameter."""
        value = self.text(name, required=True, max_len=max_len)
        assert value is not None
        return value

    def choice(
        self,
        name: str,
        allowed: Collection[str],
        *,
        required: bool = False,
        case_insensitive: bool = False,
    ) -> str | None:
        """A String parameter restricted to ``allowed`` (returned in its canonical spelling)."""
        value = self.text(name, required=required)
        if value is None:
            return None
        if value in allowed:
            return value
        if case_insensitive:
            for candidate in allowed:
                if candidate.lower() == value.lower():
                    return candidate
        raise BusinessError.invalid(name, f"must be one of {', '.join(sorted(allowed))}")

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        low: int | None = None,
        high: int | None = None,
        allowed: Collection[int] | None = None,
    ) -> int | None:
        """An Integer/Long parameter, optionally range- or set-checked."""
        text = self.raw.get(name)
        if not text:
            if required:
                raise BusinessError.missing(name)
            return None
        if not _INT.match(text):
            raise GatewayError.invalid_parameter(name)
        value = int(text)
        if allowed is not None and value not in allowed:
            raise BusinessError.invalid(name, f"must be one of {sorted(allowed)}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise BusinessError.invalid(name, f"must be within [{low}, {high}]")
        return value

    def boolean(self, name: str) -> bool | None:
        """A Boolean parameter: ``true``/``false`` in any letter case (SDKs send ``True``)."""
        text = self.raw.get(name)
        if not text:
            return None
        lowered = text.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
        raise GatewayError.invalid_parameter(name)

    def _indexed(self, prefix: str) -> dict[int, dict[str, str]]:
        """Group ``Prefix.N`` / ``Prefix.N.Field`` keys by N (1-based)."""
        groups: dict[int, dict[str, str]] = {}
        dotted = prefix + "."
        for key, value in self.raw.items():
            if not key.startswith(dotted):
                continue
            rest = key[len(dotted) :]
            index_text, _, field = rest.partition(".")
            if not index_text.isdigit() or index_text.startswith("0"):
                raise GatewayError.invalid_parameter(key)
            groups.setdefault(int(index_text), {})[field] = value
        return groups

    def repeat(
        self, name: str, *, required: bool = False, max_items: int | None = None
    ) -> list[str]:
        """A RepeatList (``Name.1``, ``Name.2``, ...), in index order, empty values dropped."""
        groups = self._indexed(name)
        values = [groups[i][""] for i in sorted(groups) if groups[i].get("")]
        if required and not values:
            raise BusinessError.missing(name)
        if max_items is not None and len(values) > max_items:
            raise BusinessError.invalid(name, f"at most {max_items} items are allowed")
        return values

    def structs(
        self, name: str, fields: Collection[str], *, max_items: int | None = None
    ) -> list[dict[str, str]]:
        """A RepeatList of structs (``Name.1.Key``, ``Name.1.Value``, ...), in index order."""
        groups = self._indexed(name)
        items: list[dict[str, str]] = []
        for index in sorted(groups):
            group = groups[index]
            unknown = set(group) - set(fields)
            if unknown:
                raise GatewayError.invalid_parameter(f"{name}.{index}.{sorted(unknown)[0]}")
            items.append(group)
        if max_items is not None and len(items) > max_items:
            raise BusinessError.invalid(name, f"at most {max_items} items are allowed")
        return items
