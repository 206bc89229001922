"""Every logger of the HTTP stack under the client masks signatures and tokens.

A logger's filters apply only to the records it creates, not to its children's, so each
logger that may quote a request (httpx, httpcore and httpcore2 and their children, aiohttp's
loggers, and asyncio's, through which aiohttp reports unclosed sessions) carries the filter.
"""

from __future__ import annotations

import logging

import pytest

import otaclient  # noqa: F401  (importing it installs the filter)

SIGNATURE = "c2lnbmF0dXJlLW9mLWEtcmVxdWVzdA=="
TOKEN = "CAIS-token-of-a-request"

TRANSPORT_LOGGERS = [
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore2",
    "httpcore2.connection",
    "httpcore2.http11",
    "httpcore2.http2",
    "httpcore2.proxy",
    "httpcore2.socks",
    "aiohttp",
    "aiohttp.client",
    "aiohttp.internal",
    "aiohttp.access",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.websocket",
    "asyncio",
]


@pytest.mark.parametrize("name", TRANSPORT_LOGGERS)
def test_a_debug_record_quoting_a_signed_url_is_masked(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"https://iot.cn-shanghai.aliyuncs.com/?Signature={SIGNATURE}&SecurityToken={TOKEN}"
    with caplog.at_level(logging.DEBUG, logger=name):
        logging.getLogger(name).debug("sending %s", url)
    [record] = [r for r in caplog.records if r.name == name]
    assert SIGNATURE not in record.getMessage()
    assert TOKEN not in record.getMessage()
    assert "Signature=***" in record.getMessage()
