"""Reversible, deterministic identifiers.

Tasks (and devices) are never materialised one object per row: a 250,000-task job is a
status byte array. Their IDs therefore have to be computable from a row number *and*
decodable back to it (``ConfirmOTATask`` receives bare task IDs). An affine map modulo a
power of the alphabet size does both and still looks opaque on the wire.
"""

from __future__ import annotations

import random
from typing import Literal

__all__ = ["IdCodec", "Kind"]

Kind = Literal["firmware", "job", "task", "device", "product", "group"]

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_B62_INDEX = {c: i for i, c in enumerate(_B62)}
_OPAQUE_BODY = 24
_OPAQUE_MOD = 62**_OPAQUE_BODY
_NUMERIC_DIGITS = 11
_NUMERIC_MOD = 10**_NUMERIC_DIGITS

# Suffix digits give each kind a recognisable tail, like the real "...03" / "...02" IDs.
_KIND_DIGIT: dict[str, str] = {
    "task": "1",
    "job": "2",
    "firmware": "3",
    "device": "4",
    "product": "5",
    "group": "6",
}
# Tuya-hosted numeric IDs: jobs "1834...", tasks "1833..." (15 digits, as in seeds 000-003).
_NUMERIC_PREFIX: dict[str, int] = {"job": 1834, "task": 1833, "group": 1835}


def _invertible(rng: random.Random, modulus: int, forbidden: tuple[int, ...]) -> int:
    while True:
        candidate = rng.randrange(1, modulus)
        if all(candidate % p for p in forbidden):
            return candidate


class IdCodec:
    """Map non-negative integers to ID strings and back, for one kind of entity.

    ``style="opaque"`` gives 26-character base62 IDs (aliyun shapes such as
    ``HvKuBpuk3rdk6E92CPQN02...``); ``style="numeric"`` gives the tuya-hosted shapes:
    15-digit numbers for jobs and tasks, small numbers for firmware.

    >>> codec = IdCodec("task", "opaque", seed=7)
    >>> codec.decode(codec.encode(12345))
    12345
    """

    def __init__(self, kind: Kind, style: Literal["opaque", "numeric"], seed: int) -> None:
        self.kind = kind
        self.style = style
        rng = random.Random(f"{seed}:{kind}:{style}")
        if style == "opaque":
            self._mul = _invertible(rng, _OPAQUE_MOD, (2, 31))
            self._add = rng.randrange(_OPAQUE_MOD)
            self._inv = pow(self._mul, -1, _OPAQUE_MOD)
            self._suffix = "0" + _KIND_DIGIT[kind]
        else:
            self._mul = _invertible(rng, _NUMERIC_MOD, (2, 5))
            self._add = rng.randrange(_NUMERIC_MOD)
            self._inv = pow(self._mul, -1, _NUMERIC_MOD)
            self._suffix = ""

    def encode(self, number: int) -> str:
        """Return the ID of entity ``number`` (``0 <= number``)."""
        if self.style == "opaque":
            value = (number * self._mul + self._add) % _OPAQUE_MOD
            chars = []
            for _ in range(_OPAQUE_BODY):
                value, digit = divmod(value, 62)
                chars.append(_B62[digit])
            return "".join(reversed(chars)) + self._suffix
        if self.kind == "firmware":
            # Tuya firmware IDs are small decimal numbers ("125", "167").
            return str(100 + number)
        prefix = _NUMERIC_PREFIX.get(self.kind, 1830)
        value = (number * self._mul + self._add) % _NUMERIC_MOD
        return f"{prefix}{value:0{_NUMERIC_DIGITS}d}"

    def decode(self, text: str) -> int | None:
        """Return the entity number of an ID, or ``None`` if it is not one of ours."""
        if self.style == "opaque":
            if len(text) != _OPAQUE_BODY + 2 or not text.endswith(self._suffix):
                return None
            value = 0
            for char in text[:_OPAQUE_BODY]:
                digit = _B62_INDEX.get(char)
                if digit is None:
                    return None
                value = value * 62 + digit
            number: int = ((value - self._add) * self._inv) % _OPAQUE_MOD
            return number
        if not text.isascii() or not text.isdigit():
            return None
        if self.kind == "firmware":
            number = int(text) - 100
            return number if number >= 0 and str(number + 100) == text else None
        prefix = str(_NUMERIC_PREFIX.get(self.kind, 1830))
        if len(text) != len(prefix) + _NUMERIC_DIGITS or not text.startswith(prefix):
            return None
        value = int(text[len(prefix) :])
        decoded: int = ((value - self._add) * self._inv) % _NUMERIC_MOD
        return decoded
