"""The v1 RPC signature (HMAC-SHA1) of the Alibaba Cloud POP API.

The algorithm, as the provider documents it:

1. Take every request parameter except ``Signature`` (query and form body alike).
2. Sort by name (code-point order of the names as given, as both official SDKs do).
3. Percent-encode names and values per RFC 3986 (UTF-8; ``A-Z a-z 0-9 - _ . ~`` stay,
   everything else becomes ``%XX`` with upper-case hex, so space is ``%20`` and ``*`` is ``%2A``)
   and join as ``name=value`` with ``&``.
4. String to sign: ``METHOD + "&" + encode("/") + "&" + encode(canonical query)``.
5. ``Signature = base64(HMAC-SHA1(key=secret + "&", string_to_sign))``.

The functions here are pure so that the client, the simulator and the tests share one
implementation, and so that signing can be checked against the provider's published vectors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote

__all__ = ["canonical_query", "percent_encode", "sign", "string_to_sign"]


_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")
_EVERY_REQUEST = re.compile(r"[A-Za-z0-9_.~%=&+/:-]*")
"""The alphabet of what is encoded on every request: a canonical query (unreserved
characters, ``%XX``, ``=``, ``&``), a base64 signature (``+``, ``/``, ``=``) and a
``Timestamp`` (``:``)."""


def percent_encode(text: str) -> str:
    """Encode ``text`` the way the v1 signature wants it (RFC 3986, ``~`` kept).

    >>> percent_encode("a1 b*c~/")
    'a1%20b%2Ac~%2F'
    """
    if _UNRESERVED.fullmatch(text):
        return text  # most names and values need no encoding: skip quote()'s work
    if _EVERY_REQUEST.fullmatch(text):
        # The same bytes quote() writes, 20x faster on a 300-character query ("%" first).
        return (
            text.replace("%", "%25")
            .replace("=", "%3D")
            .replace("&", "%26")
            .replace("+", "%2B")
            .replace("/", "%2F")
            .replace(":", "%3A")
        )
    # quote() already keeps "_.-~" and the alphanumerics; safe="" makes it encode "/" too.
    return quote(text, safe="")


def canonical_query(params: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    """Return the sorted, percent-encoded ``name=value&...`` string of ``params``.

    The result doubles as the request's query string: the signature is computed over
    exactly the bytes that go on the wire.
    """
    items = params.items() if isinstance(params, Mapping) else params
    # Sort the names as given, then encode: sorting encoded names misorders a name whose
    # encoding starts with "%" (e.g. "{" -> "%7B" would sort before "0").
    encoded = [(percent_encode(k), percent_encode(v)) for k, v in sorted(items)]
    return "&".join(f"{k}={v}" for k, v in encoded)


def string_to_sign(method: str, canonical: str) -> str:
    """Return ``METHOD&%2F&encode(canonical)`` for an already canonicalised query."""
    return f"{method.upper()}&%2F&{percent_encode(canonical)}"


def sign(method: str, canonical: str, secret: str) -> str:
    """Return the base64 HMAC-SHA1 signature of a canonical query under ``secret``.

    >>> q = canonical_query({"Action": "ListOTAFirmware"})
    >>> len(sign("POST", q, "testsecret"))
    28
    """
    digest = hmac.new(
        f"{secret}&".encode(), string_to_sign(method, canonical).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode("ascii")
