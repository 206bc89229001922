"""Wall-clock formatting and parsing in the service's two timestamp formats.

Responses carry millisecond UTC strings (``2019-12-28T02:43:10.000Z``); requests carry the
second-precision ``Timestamp`` common parameter (``2024-11-19T09:47:43Z``).
"""

from __future__ import annotations

import calendar
import re
import time

__all__ = ["DAY_MS", "HOUR_MS", "MINUTE_MS", "format_utc_ms", "parse_request_timestamp"]

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS

# Strict on purpose: the gateway refuses anything but second precision with a literal "Z".
_REQUEST_TS = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$")


def format_utc_ms(epoch_ms: int) -> str:
    """Format epoch milliseconds as ``YYYY-MM-DDThh:mm:ss.mmmZ`` (UTC).

    >>> format_utc_ms(1577500990000)
    '2019-12-28T02:43:10.000Z'
    """
    seconds, millis = divmod(epoch_ms, 1000)
    # time.gmtime + strftime is several times cheaper than datetime for page rendering.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def parse_request_timestamp(text: str) -> float | None:
    """Return epoch seconds of a ``Timestamp`` parameter, or ``None`` if it is malformed.

    >>> parse_request_timestamp("2024-11-19T09:47:43Z")
    1732009663.0
    >>> parse_request_timestamp("2024-11-19 09:47:43") is None
    True
    """
    match = _REQUEST_TS.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        return None
    try:
        return float(calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)))
    except (OverflowError, ValueError):
        return None
