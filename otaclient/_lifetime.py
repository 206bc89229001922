"""A client's lifetime: one state (new, open, closed) and what the ``async with`` block owns.

It follows httpx's ``ClientState`` (UNOPENED, OPENED, CLOSED) with one difference: httpx
counts a client as opened by its first request and then refuses ``async with``; here a
client used before entering can still be entered once, since entering is what gives its
harvests a task group to fetch pages in. A second entry, or entering a closed client, is
refused with ``OTAError`` before anything is touched (a second ``__aenter__`` of one task
group is what crashed trio).

What the block owns lives on one ``AsyncExitStack``, unwound in reverse when the block
ends: the task group's tasks (harvest producers nobody finished reading) are cancelled
first, the group is exited in the task that entered it (trio insists), and the connection
pool is closed last.
Every call runs in a cancel scope registered here (``start_call``), so closing ends the calls
under way at once.
"""

from __future__ import annotations

import contextlib
import enum

import anyio
import httpx
from anyio.abc import TaskGroup

from ._errors import OTAError

__all__ = ["Lifetime"]

_CLOSE_GRACE = 5.0
"""Seconds closing the connection pool may take, even when the caller is being cancelled."""


class _State(enum.Enum):
    NEW = "new"  # calls work, one page at a time for iter_*; not entered yet
    OPEN = "open"  # entered with `async with`: harvests fetch pages concurrently
    CLOSED = "closed"  # every call refused; cannot be entered again


_REFUSED = {
    _State.OPEN: "this OTAClient is already open: enter it with `async with` only once",
    _State.CLOSED: "this OTAClient is closed; create a new one",
}


class Lifetime:
    """The state of one client and the resources its ``async with`` block holds.

    It holds the client's connection pool (``http``), not the client: a client in a
    reference cycle would outlive its last reference until a garbage collection, and its
    secrets with it.
    """

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http
        self._state = _State.NEW
        self._stack: contextlib.AsyncExitStack | None = None
        self._calls: set[anyio.CancelScope] = set()
        self.task_group: TaskGroup | None = None
        """The open block's task group (``None`` outside it): where harvests fetch."""

    @property
    def closed(self) -> bool:
        """Whether the client was closed (every call is refused)."""
        return self._state is _State.CLOSED

    async def enter(self) -> None:
        """Open the block: a task group, and the pool closed at the end."""
        if self._state is not _State.NEW:
            raise OTAError(_REFUSED[self._state])
        self._state = _State.OPEN  # before any await: a concurrent second entry is refused
        try:
            async with contextlib.AsyncExitStack() as stack:
                stack.push_async_callback(self._close_pool)
                self.task_group = await stack.enter_async_context(anyio.create_task_group())
                self._stack = stack.pop_all()
        except BaseException:
            self._state = _State.CLOSED
            raise

    async def exit(self) -> None:
        """Close the block, in the task that entered it."""
        self._shut()
        stack, self._stack = self._stack, None
        self.task_group = None
        if stack is None:
            await self._close_pool()
        else:
            # Unwound with no exception: the block's own is not the task group's business.
            await stack.aclose()

    async def close(self) -> None:
        """Close now, from inside the block or outside it; idempotent."""
        if self._state is _State.CLOSED:
            return
        self._shut()
        await self._close_pool()

    def start_call(self) -> anyio.CancelScope:
        """Refuse a call on a closed client; else a cancel scope for it, cancelled if the
        client closes while it runs (the caller enters it, and ``end_call``s it after)."""
        if self._state is _State.CLOSED:
            raise OTAError(_REFUSED[_State.CLOSED])
        scope = anyio.CancelScope()
        self._calls.add(scope)
        return scope

    def end_call(self, scope: anyio.CancelScope) -> None:
        """The call of ``scope`` is over."""
        self._calls.discard(scope)

    async def _close_pool(self) -> None:
        # Shielded, so that a caller being cancelled still releases its sockets; bounded,
        # so that closing never hangs.
        with anyio.move_on_after(_CLOSE_GRACE, shield=True):
            await self._http.aclose()

    def _shut(self) -> None:
        self._state = _State.CLOSED
        for scope in list(self._calls):
            scope.cancel()
        if self.task_group is not None:
            self.task_group.cancel_scope.cancel()  # stop harvests nobody finished reading
