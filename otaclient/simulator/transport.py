"""In-process httpx transport for the simulator, with realistic dropped connections."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from .errors import SimulatedDrop

if TYPE_CHECKING:
    from .app import Simulator

__all__ = ["SimulatorTransport"]


class SimulatorTransport(httpx.AsyncBaseTransport):
    """Wraps ``httpx.ASGITransport``; a simulated drop becomes ``httpx.RemoteProtocolError``.

    That is the exception httpx raises over a real socket when the peer closes the
    connection mid-body, so client code sees the same failure in-process and over HTTP.
    """

    def __init__(self, app: Simulator) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the app."""
        try:
            return await self._inner.handle_async_request(request)
        except SimulatedDrop as exc:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body (simulated drop)",
                request=request,
            ) from exc

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._inner.aclose()
