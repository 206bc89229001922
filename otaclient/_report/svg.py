"""The colours of task statuses and the inline SVG bars every chart of the page is made of.

A bar is an ``<svg>`` as wide as its box and a fixed height, drawn in a 1000-unit wide
``viewBox`` stretched to fit (``preserveAspectRatio="none"``), so it scales with the page,
on a phone or on paper, and carries no text to distort: labels and numbers are HTML beside
it. Every segment has a ``<title>`` (a tooltip, no script needed).

The colours differ in lightness as well as in hue (CIE L* from about 30 to 93, in
steps of at least 8), so the statuses still read apart printed in greyscale, and
neighbours in a bar differ the most: FAILED is the darkest, QUEUED the lightest.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._models import TaskStatus
from .markup import Html, element, join, void

__all__ = ["BAR_ORDER", "bar", "colour", "legend", "stacked_bar", "swatch"]

#: Order of statuses in a bar: the finished ones, then the unfinished, furthest along first.
BAR_ORDER: tuple[str, ...] = (
    TaskStatus.SUCCEEDED,
    TaskStatus.FAILED,
    TaskStatus.CANCELED,
    TaskStatus.IN_PROGRESS,
    TaskStatus.NOTIFIED,
    TaskStatus.CONFIRM,
    TaskStatus.QUEUED,
)

_COLOURS: dict[str, str] = {
    TaskStatus.FAILED: "#8f1616",  # L* 30
    TaskStatus.IN_PROGRESS: "#2f62c4",  # L* 43
    TaskStatus.CANCELED: "#7d7d7d",  # L* 52
    TaskStatus.SUCCEEDED: "#5cb868",  # L* 68
    TaskStatus.NOTIFIED: "#8ec0f5",  # L* 76
    TaskStatus.CONFIRM: "#f0cf5a",  # L* 84
    TaskStatus.QUEUED: "#e1e7f0",  # L* 92
}
_OTHER = "#8a5fb8"  # a status the library does not know
_EMPTY = "#ffffff"
_OUTLINE = "#9aa3ae"
_WIDTH = 1000


def colour(status: str) -> str:
    """The fill of a task status."""
    return _COLOURS.get(status, _OTHER)


def _frame(*shapes: str, label: str) -> Html:
    return element(
        "svg",
        *shapes,
        void(
            "rect",
            width=_WIDTH,
            height=10,
            fill="none",
            stroke=_OUTLINE,
            stroke_width=1,
            vector_effect="non-scaling-stroke",
        ),
        class_="bar",
        viewBox=f"0 0 {_WIDTH} 10",
        preserveAspectRatio="none",
        role="img",
        aria_label=label,
    )


def stacked_bar(parts: Sequence[tuple[str, int]], *, label: str) -> Html:
    """One bar split by status in proportion to the counts (statuses as given, zero
    counts left out); an empty outline when they add up to nothing."""
    total = sum(count for _, count in parts)
    shapes: list[str] = []
    start = 0
    for status, count in parts:
        if count <= 0:
            continue
        # Whole units, the last segment ending exactly at the edge, so nothing is lost
        # to rounding and segments never overlap.
        end = start + count
        x0, x1 = start * _WIDTH // total, end * _WIDTH // total
        start = end
        if x1 <= x0:
            continue
        shapes.append(
            element(
                "rect",
                element("title", f"{status}: {count:,} ({count / total:.1%})"),
                x=x0,
                width=x1 - x0,
                height=10,
                fill=colour(status),
            )
        )
    if not shapes:
        shapes.append(void("rect", width=_WIDTH, height=10, fill=_EMPTY))
    return _frame(*shapes, label=label)


def bar(value: int, most: int, *, fill: str, label: str) -> Html:
    """One bar filled ``value / most`` of its width (a histogram's or a ranking's)."""
    width = value * _WIDTH // most if most > 0 else 0
    shapes = [element("title", label)]
    if width:
        shapes.append(void("rect", width=width, height=10, fill=fill))
    return _frame(*shapes, label=label)


def swatch(status: str) -> Html:
    """A small square of a status's colour, for legends."""
    return element(
        "svg",
        void("rect", width=10, height=10, fill=colour(status), stroke=_OUTLINE),
        class_="swatch",
        viewBox="0 0 10 10",
        aria_hidden="true",
    )


def legend(statuses: Sequence[str], counts: dict[str, int] | None = None) -> Html:
    """A legend of statuses, with their counts when given."""
    items = []
    for status in statuses:
        text = f"{status} {counts.get(status, 0):,}" if counts is not None else status
        items.append(element("li", swatch(status), element("span", text)))
    return element("ul", join(items), class_="legend")
