"""Every default in one place."""

from __future__ import annotations

from ._version import __version__

API_VERSION = "2018-01-20"
"""The API version every request names (``Version``)."""
DEFAULT_QPS = 10.0
"""The service's documented quota: 10 requests per second per account, for every action
the operation table gives no other quota."""
DEFAULT_BURST = 1
"""Even spacing: a strict server-side "10 in any 1-second window" never sees an 11th."""
DEFAULT_MAX_CONCURRENCY = 32
"""Requests in flight at once, per client; bounds sockets, independent of the rate."""
DEFAULT_TIMEOUT = 10.0
"""Seconds per attempt, from connecting to the last byte of the answer."""
KEEPALIVE_EXPIRY = 4.0
"""Idle pooled connections are dropped before common server idle timeouts (5 s and up):
reusing one the server just closed fails a request, and a failed write is ambiguous."""
DEFAULT_MAX_ATTEMPTS = 6
DEFAULT_BACKOFF_BASE = 0.5
DEFAULT_BACKOFF_CAP = 8.0
DEFAULT_RETRY_AFTER_CAP = 30.0
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_PAGES_AHEAD = 8
"""Pages a harvest fetches ahead of the caller: the memory bound of an ``iter_*``."""
REGION_ENDPOINT = "https://iot.{region}.aliyuncs.com"
ENV_ACCESS_KEY_ID = "ALIBABA_CLOUD_ACCESS_KEY_ID"
ENV_ACCESS_KEY_SECRET = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
ENV_SECURITY_TOKEN = "ALIBABA_CLOUD_SECURITY_TOKEN"
USER_AGENT = f"otaclient/{__version__}"
