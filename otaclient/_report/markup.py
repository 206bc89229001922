"""HTML (and SVG) built from pieces that escape every text by default.

A plain ``str`` is always text: ``element`` escapes it, as it escapes every attribute
value. Only :class:`Html`, which ``element``, ``escape`` and ``join`` return, goes in as
markup, so text from a report cannot become markup by forgetting a call.

>>> element("td", "<b>&", class_="id", title='say "hi"')
'<td class="id" title="say &quot;hi&quot;">&lt;b&gt;&amp;</td>'
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import NoReturn

__all__ = ["Html", "element", "escape", "join", "void"]


class Html(str):
    """Text that already is markup: inserted as it is.

    ``+`` is refused: ``str + Html`` would be a plain ``str``, escaped again where it goes
    (a page shown as its own source). Use :func:`join`.
    """

    __slots__ = ()

    def __add__(self, other: object) -> NoReturn:
        raise TypeError("Html + text loses the markup: use join()")

    def __radd__(self, other: object) -> NoReturn:
        raise TypeError("text + Html loses the markup: use join()")


def escape(value: object) -> Html:
    """``value`` as text, with ``&``, ``<``, ``>`` and both quotes escaped."""
    return value if isinstance(value, Html) else Html(html.escape(str(value), quote=True))


def join(parts: Iterable[str | None], separator: str = "") -> Html:
    """The parts one after another (plain strings escaped, ``None`` left out)."""
    return Html(escape(separator).join(escape(part) for part in parts if part is not None))


def _attributes(attributes: dict[str, object]) -> str:
    # `class_` -> class, `aria_label` -> aria-label; camelCase SVG names stay as given.
    words = []
    for name, value in attributes.items():
        if value is None or value is False:
            continue
        name = name.rstrip("_").replace("_", "-")
        words.append(f" {name}" if value is True else f' {name}="{escape(value)}"')
    return "".join(words)


def element(tag: str, *children: str | None, **attributes: object) -> Html:
    """``<tag ...>children</tag>``: plain-string children and attribute values escaped."""
    return Html(f"<{tag}{_attributes(attributes)}>{join(children)}</{tag}>")


def void(tag: str, **attributes: object) -> Html:
    """An element without content (``meta``, ``rect``...), self-closed: inside inline
    SVG an element left open would swallow the ones after it."""
    return Html(f"<{tag}{_attributes(attributes)}/>")
