"""The harvest's ledger of ids: what it remembers, and that the collector never walks it."""

from __future__ import annotations

import gc

from otaclient._harvest import HarvestSettings
from otaclient._reading import Ledger, Pass

SETTINGS = HarvestSettings(action="ListOTATaskByJob", page_size=3, pages_ahead=1, id_field="x")


def _pass(ledger: Ledger, number: int = 1) -> Pass:
    return Pass(SETTINGS, ledger, number, compared_to=None)


def test_a_ledger_of_string_ids_is_not_tracked_by_the_garbage_collector() -> None:
    ledger = Ledger(limit=1_000)
    first, second = _pass(ledger), _pass(ledger, 2)
    ledger.mark_page(["a", "b", "c"], [1, 2, 3], first)
    ledger.mark_page(["b", "d"], [2, 4], second)
    assert len(ledger) == 4
    assert not gc.is_tracked(ledger._seen)


def test_ids_seen_by_an_earlier_pass_are_not_fresh_and_move_to_the_later_pass() -> None:
    ledger = Ledger(limit=1_000)
    first, second = _pass(ledger), _pass(ledger, 2)
    ledger.mark_page(["a", "b"], [1, 2], first)
    fresh, repeated = ledger.mark_page(["b", "c"], [2, 3], second)
    assert (fresh, repeated) == ([3], [])
    assert (first.live, second.live) == (1, 2)


def test_an_id_the_same_pass_saw_before_is_repeated() -> None:
    ledger = Ledger(limit=1_000)
    only = _pass(ledger)
    ledger.mark_page(["a", "b"], [1, 2], only)
    fresh, repeated = ledger.mark_page(["b", "c"], [2, 3], only)
    assert (fresh, repeated) == ([3], ["b"])
    assert only.live == 3


def test_passes_of_two_parts_sharing_a_ledger_are_told_apart() -> None:
    # The parts of a split harvest number their passes from 1 each, over one ledger.
    ledger = Ledger(limit=1_000)
    part_one, part_two = _pass(ledger, 1), _pass(ledger, 1)
    ledger.mark_page(["a"], [1], part_one)
    fresh, repeated = ledger.mark_page(["a"], [1], part_two)
    assert (fresh, repeated) == ([], [])
    assert (part_one.live, part_two.live) == (0, 1)
