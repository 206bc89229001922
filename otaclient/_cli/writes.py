"""What every write command shares: plan the calls, show or confirm them, send each once.

A write command builds a ``Plan``: the calls it would make (action and keyword arguments,
checked by the operation table exactly as the client checks them), a one-line summary for
the confirmation prompt, and the command that tells whether an ambiguous call took effect.
Then ``--dry-run`` prints each call as one JSON line (``{"action": ..., "parameters":
{wire name: value}}``) and sends no write; otherwise the operator confirms (unless
``--yes``) and the calls go out in order, each once: after an ambiguous failure
(``OutcomeUnknownError``) nothing more is sent and the error names the command to check
with. Reads a plan needs (the tasks to re-upgrade) are made in dry runs too.
"""

from __future__ import annotations

import json
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import anyio
import attrs
import click

from .. import APIError, OTAError, OutcomeUnknownError, ThrottlingError
from ..operations import OPERATIONS
from .connect import Session, open_session
from .failures import CliFailure, describe, run_async
from .options import Connection

__all__ = ["Call", "Done", "Plan", "carry_out", "in_batches", "write_options"]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


@attrs.frozen
class Call:
    """One write: the API action and its keyword arguments (snake_case, as the client takes).

    ``split``/``split_on``: when the service refuses the whole call with one of the codes
    ``split_on`` for the sake of one item of the list argument ``split`` (one busy device
    among ten tasks), the call is sent again as two halves, down to the items refused
    alone. A refused call did nothing, so its halves are new calls, not a resend.
    """

    action: str
    arguments: Mapping[str, Any]
    split: str | None = None
    split_on: frozenset[str] = frozenset()

    def halves(self, refusal: APIError) -> list[Call]:
        """The two calls to send instead after ``refusal``; empty when it cannot be split."""
        name = self.split
        items = self.arguments.get(name) or () if name is not None else ()
        if name is None or refusal.code not in self.split_on or len(items) < 2:
            return []
        middle = len(items) // 2
        return [
            attrs.evolve(self, arguments={**self.arguments, name: list(part)})
            for part in (items[:middle], items[middle:])
        ]

    def parameters(self, iot_instance_id: str | None) -> dict[str, str]:
        """The wire parameters the client sends (``ValidationError`` when it would refuse)."""
        values = {**self.arguments, "iot_instance_id": iot_instance_id}
        return OPERATIONS[self.action].encode(values)

    async def send(self, session: Session) -> Any:
        """Make the call through the client's typed method (never retried if ambiguous)."""
        method = getattr(session.client, OPERATIONS[self.action].name)
        return await method(**self.arguments)


@attrs.frozen
class Plan:
    """The writes of one command, what the prompt says, and how to check an unknown outcome.

    ``check_with`` is a command line (``otaclient tasks list --job-id J``); ``nothing``
    is printed on stderr when there is nothing to do (the command then exits 0).
    """

    calls: Sequence[Call]
    summary: str
    check_with: str
    nothing: str = "nothing to do"


def write_options(func: F) -> F:
    """Add ``--yes`` and ``--dry-run`` to a write command."""
    func = click.option(
        "--dry-run",
        is_flag=True,
        help="Print the calls it would make (one JSON line each: action and parameters) "
        "and send no write.",
    )(func)
    return click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")(func)


def in_batches(items: Sequence[T], size: int) -> list[list[T]]:
    """``items`` in lists of at most ``size``, in order."""
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


Done = Callable[[Sequence[tuple[Call, Any]]], None]
"""What a command prints once its calls are made: the accepted calls and their results."""


def carry_out(
    conn: Connection,
    plan: Plan | Callable[[Session], Awaitable[Plan]],
    *,
    yes: bool,
    dry_run: bool,
    done: Done,
    keep_going: bool = False,
) -> None:
    """Run ``plan`` (built from reads when it is a function of the session), then call
    ``done`` with the calls the service accepted (not for a dry run or an empty plan).

    ``keep_going``: a call the service refused (it answered: nothing was done) does not
    stop the calls after it; the refusals are reported once ``done`` has printed.
    """
    if isinstance(plan, Plan):
        # Nothing to read: refused arguments and a dry run need no session, no credentials.
        _check(plan, conn)
        if dry_run:
            _print_dry_run(plan, conn)
            return

    async def main() -> list[str]:
        async with open_session(conn) as session:
            chosen = plan if isinstance(plan, Plan) else await plan(session)
            if not chosen.calls:
                click.echo(chosen.nothing, err=True)
                return []
            if dry_run:
                _print_dry_run(chosen, conn)
                return []
            _check(chosen, conn)
            if not yes:
                _confirm(chosen, conn, session)
            accepted, refused = await _send(chosen, session, keep_going=keep_going)
            if accepted:
                _report_done(done, accepted)
            return refused

    refused = run_async(main)
    if refused:
        raise CliFailure(
            f"{len(refused)} call{'s' if len(refused) > 1 else ''} refused; the first: {refused[0]}"
        )


def _report_done(done: Done, accepted: Sequence[tuple[Call, Any]]) -> None:
    # The service has acted by now: a full disk or a closed terminal must not read as a
    # failure of the calls (they would be made again), only of what was to be printed.
    try:
        done(accepted)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        count = len(accepted)
        first = accepted[0][0].action + (", ..." if count > 1 else "")
        raise CliFailure(
            f"{count} call{'s' if count > 1 else ''} made ({first}), but writing the output "
            f"to stdout failed: {exc.strerror or exc}; do not run the command again"
        ) from None


def _check(plan: Plan, conn: Connection) -> list[dict[str, str]]:
    try:
        return [call.parameters(conn.iot_instance_id) for call in plan.calls]
    except OTAError as exc:
        raise describe(exc) from None


def _print_dry_run(plan: Plan, conn: Connection) -> None:
    for call, parameters in zip(plan.calls, _check(plan, conn), strict=True):
        click.echo(json.dumps({"action": call.action, "parameters": parameters}))
    count = len(plan.calls)
    click.echo(f"dry run: {count} call{'s' if count != 1 else ''} shown, none sent", err=True)


def _confirm(plan: Plan, conn: Connection, session: Session) -> None:
    where = "the built-in simulator" if conn.demo else session.endpoint
    try:
        agreed = click.confirm(f"{plan.summary} on {where}?", err=True)
    except click.Abort as exc:
        if isinstance(exc.__context__, EOFError):
            raise CliFailure(
                "no answer to the confirmation prompt (stdin is closed or not a terminal); "
                "pass --yes to go ahead without asking"
            ) from None
        raise
    if not agreed:
        raise CliFailure("not confirmed; nothing was sent")


async def _send(
    plan: Plan, session: Session, *, keep_going: bool
) -> tuple[list[tuple[Call, Any]], list[str]]:
    accepted: list[tuple[Call, Any]] = []
    refused: list[str] = []
    pending = deque(plan.calls)
    index, total = 0, len(plan.calls)
    while pending:
        call = pending.popleft()
        try:
            accepted.append((call, await call.send(session)))
        except OutcomeUnknownError as exc:
            # The library's hint names a Python method; an operator needs a command.
            text = str(exc).removesuffix(exc.how_to_check).rstrip()
            raise CliFailure(
                f"{_progress(index, total)}{text} Check with: {plan.check_with}"
                f"{_unsent(index, total)}"
            ) from None
        except APIError as exc:
            halves = call.halves(exc)
            if halves:
                pending.extendleft(reversed(halves))
                total += 1
                index += 1
                continue
            failure = describe(exc, session.endpoint).format_message()
            # An item refused alone, once its call was split, is that item's refusal only.
            alone = call.split is not None and exc.code in call.split_on
            if (keep_going or alone) and not isinstance(exc, ThrottlingError):
                refused.append(failure)
                index += 1
                continue
            if total == 1:
                raise
            hint = " (--keep-going sends the others)" if not keep_going else ""
            raise CliFailure(
                f"{_progress(index, total)}{failure}{_unsent(index, total)}{hint}"
            ) from None
        except (KeyboardInterrupt, anyio.get_cancelled_exc_class()):
            # Ctrl-C with a write in flight: it may have taken effect. Say so, then stop.
            click.echo(
                f"interrupted: {_progress(index, total)}{call.action} was in flight and may "
                f"or may not have taken effect{_unsent(index, total)}. "
                f"Check with: {plan.check_with}",
                err=True,
            )
            raise
        index += 1
    return accepted, refused


def _progress(index: int, total: int) -> str:
    return f"{index} of {total} calls done; then " if total > 1 else ""


def _unsent(index: int, total: int) -> str:
    rest = total - index - 1
    return f" ({rest} more not sent)" if rest > 0 else ""
