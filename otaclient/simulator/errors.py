"""The three ways a request can fail inside the simulator.

* :class:`GatewayError` - refused by the API gateway: HTTP 4xx/5xx, body
  ``{RequestId, HostId, Code, Message, Recommend}``.
* :class:`BusinessError` - refused by the IoT service: HTTP 200, ``Success=false``,
  ``Code`` and ``ErrorMessage``.
* :class:`SimulatedDrop` - the connection is cut mid-response (fault injection).
"""

from __future__ import annotations

__all__ = ["BusinessError", "GatewayError", "SimulatedDrop"]


class GatewayError(Exception):
    """An HTTP error answer, as the POP gateway gives it."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    @classmethod
    def missing(cls, name: str) -> GatewayError:
        """A required common parameter is absent (``Missing<Name>``, HTTP 400)."""
        return cls(400, f"Missing{name}", f"{name} is mandatory for this action.")

    @classmethod
    def invalid_parameter(cls, name: str) -> GatewayError:
        """A typed parameter (Integer, Long, Boolean) does not parse (HTTP 400)."""
        return cls(400, "InvalidParameter", f'The specified parameter "{name}" is not valid.')


class BusinessError(Exception):
    """A ``Success=false`` answer from the IoT service (HTTP 200)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @classmethod
    def missing(cls, name: str) -> BusinessError:
        """A required business parameter is absent, as seed 004 shows (``MissingFirmwareId``)."""
        return cls(f"Missing{name}", f"{name} is mandatory for this action")

    @classmethod
    def invalid(cls, name: str, detail: str) -> BusinessError:
        """A business parameter has a value outside its documented range or format."""
        return cls("iot.check.InvalidFormattedParameter", f"{name} is invalid: {detail}")

    @classmethod
    def page_params(cls, detail: str) -> BusinessError:
        """Bad ``PageSize``/``CurrentPage`` (``iot.common.InvalidPageParams``)."""
        return cls("iot.common.InvalidPageParams", f"The page params are invalid: {detail}")


class SimulatedDrop(Exception):
    """Raised by the app after a partial body to make the server abort the connection.

    Under uvicorn this closes the socket mid-body; :meth:`Simulator.transport` turns it into
    ``httpx.RemoteProtocolError`` for in-process clients.
    """
