"""Secret scrubbing: mask credentials and signatures in any text that leaves the library.

Requests carry the security token in the query string (as the provider's SDKs send it) and
a ``Signature`` computed from the access key secret. A server, a proxy or a gateway may
echo either back in an error body (a ``SignatureDoesNotMatch`` message quotes the whole
string to sign, where the token is percent-encoded twice), in a malformed header that the
HTTP parser quotes, or in a value of the wrong type that the decoder previews; and httpx
logs each request's URL. Three pieces keep them out, and one function joins them:

* ``Secrets``: the secret and the token of one client, in every spelling an echo could
  take: raw; percent-encoded once and twice, with upper- or lower-case hex; form-encoded
  (``+`` for space) once and twice; with ``+`` read back as a space; with JSON's ``\\/``;
  each as ``repr()`` quotes it; and, for the token (which travels), base64 at each of the
  three byte alignments. Every live client's ``Secrets`` is registered (weakly: it goes
  when its client goes).
* the call scope (``CallScope``, ``remember_signature``): which client's call the task is
  running, and the ``Signature`` of each of its attempts, added just before it is sent.
* ``scrub(text)`` masks these with ``***``: inside a call, that client's secrets and the
  call's signatures; elsewhere, every live client's secrets. ``OTAError`` passes its message,
  every attribute and every note through it as they are set, and the exception being handled
  where it is built (its future ``__context__``/``__cause__``) through ``scrub_exception``,
  which does the same in place for a chain of foreign exceptions (httpx's, with their
  request's URL); the logging filter (``_logging.RedactSecrets``) does it for every record
  of the loggers the library and httpx write to, after ``redact`` has masked the values of
  ``Signature=`` and ``SecurityToken=`` in any URL.

Values shorter than 8 characters are not masked: they cannot be told apart from ordinary
words, and no real credential is that short (an AccessKey secret has 30 characters, an STS
token hundreds).
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import functools
import re
import threading
import weakref
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote_plus

import httpx

from ._signing import percent_encode

__all__ = [
    "MASK",
    "CallScope",
    "Secrets",
    "redact",
    "remember_signature",
    "scrub",
    "scrub_exception",
    "scrub_value",
]

MASK = "***"
_MIN_SECRET = 8
_SECRET_PARAM = re.compile(r"((?:^|[?&])(?:Signature|SecurityToken)=)[^&\s\"']*")
_UNRESERVED_RUN = re.compile(r"[A-Za-z0-9_.~-]+")
_HEX_ESCAPE = re.compile(r"%[0-9A-F]{2}")
_URLSAFE = str.maketrans("+/", "-_")


def redact(text: str) -> str:
    """Mask secret query parameters in ``text``.

    >>> redact("GET http://h/?A=1&Signature=abc%3D&SecurityToken=t&B=2")
    'GET http://h/?A=1&Signature=***&SecurityToken=***&B=2'
    """
    return _SECRET_PARAM.sub(r"\1***", text)


# --------------------------------------------------------------------------- spellings


def _anchor(form: str) -> str:
    # Every spelling below keeps the unreserved characters of the value as they are, so
    # the longest run of them is in each: one `in` test rules the whole set out.
    return max(_UNRESERVED_RUN.findall(form), key=len, default="")


def _lower_hex(text: str) -> str:
    return _HEX_ESCAPE.sub(lambda m: m.group().lower(), text)


def _text_forms(value: str) -> set[str]:
    once, plus = percent_encode(value), quote_plus(value, safe="")
    twice, plus_twice = percent_encode(once), quote_plus(plus, safe="")
    forms = {value, once, twice, plus, plus_twice}
    forms |= {_lower_hex(form) for form in (once, twice, plus, plus_twice)}
    forms |= {value.replace("+", " "), value.replace("/", "\\/")}
    # ... and each as Python's repr() writes it, the way exceptions quote a value.
    forms |= {repr(form)[1:-1] for form in forms}
    return forms


def _base64_forms(value: str) -> set[str]:
    # The value may sit anywhere inside a longer base64-encoded text: at each of the three
    # alignments, keep the characters that depend on the value's bytes alone.
    data = value.encode("utf-8")
    forms: set[str] = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data).decode("ascii")
        core = encoded[-(-8 * shift // 6) : 8 * (shift + len(data)) // 6]
        if len(core) >= _MIN_SECRET:
            forms |= {core, core.translate(_URLSAFE)}
    return forms


def _by_length(forms: Iterable[str]) -> tuple[str, ...]:
    # Longest first: a short spelling must not break up a longer one before it is seen.
    return tuple(sorted(forms, key=len, reverse=True))


class Secrets:
    """The secret values of one client, in every spelling a server or proxy could echo.

    >>> secrets = Secrets("very/secret+value")
    >>> secrets.scrub("echo: very%2Fsecret%2Bvalue, very%252Fsecret%252Bvalue")
    'echo: ***, ***'
    """

    __slots__ = ("__weakref__", "_groups", "_values")

    def __init__(self, *values: str | None) -> None:
        self._groups: list[tuple[str, tuple[str, ...]]] = []
        self._values: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for value in values:
            self.add(value)
        _register(self)

    def add(self, value: str | None, *, travels: bool = False) -> None:
        """Mask ``value`` too; ``travels``: it is sent on the wire (base64 spellings too)."""
        if not isinstance(value, str) or len(value) < _MIN_SECRET or value in self._values:
            return
        groups = [(_anchor(value), _by_length(_text_forms(value)))]
        if travels:
            groups += [(_anchor(form), (form,)) for form in _base64_forms(value)]
        self._values[value] = groups
        self._groups = self._groups + groups  # a new list: a scrub under way keeps its own

    def discard(self, value: str | None) -> None:
        """Stop masking ``value`` (a temporary credential long replaced); unknown: nothing."""
        groups = self._values.pop(value, None) if isinstance(value, str) else None
        if groups:
            self._groups = [group for group in self._groups if group not in groups]

    def __repr__(self) -> str:
        return f"<Secrets: {len(self._groups)} groups of spellings, masked>"

    def scrub(self, text: str) -> str:
        """``text`` with every spelling of these values masked."""
        for anchor, forms in self._groups:
            if anchor in text:
                for form in forms:
                    if form in text:
                        text = text.replace(form, MASK)
        return text


_LOCK = threading.RLock()  # re-entrant: a collection inside it may run forget()
_LIVE: dict[int, weakref.ref[Secrets]] = {}
_SNAPSHOT: tuple[weakref.ref[Secrets], ...] = ()


def _register(secrets: Secrets) -> None:
    global _SNAPSHOT
    key = id(secrets)

    def forget(ref: weakref.ref[Secrets]) -> None:
        global _SNAPSHOT
        with _LOCK:
            if _LIVE.get(key) is ref:
                del _LIVE[key]
                _SNAPSHOT = _refs()

    with _LOCK:
        _LIVE[key] = weakref.ref(secrets, forget)
        _SNAPSHOT = _refs()


def _refs() -> tuple[weakref.ref[Secrets], ...]:
    # Copied before it is iterated: building the tuple can start a garbage collection,
    # whose weakref callbacks (forget) delete from _LIVE in this very thread.
    return tuple(_LIVE.copy().values())


def _live() -> Iterator[Secrets]:
    for ref in _SNAPSHOT:  # a tuple, replaced whole: safe to read without the lock
        secrets = ref()
        if secrets is not None:
            yield secrets


# --------------------------------------------------------------------------- call record

_SIGNATURES_KEPT = 32


class _Call:
    __slots__ = ("secrets", "signatures")

    def __init__(self, secrets: Secrets) -> None:
        self.secrets = secrets
        self.signatures: deque[str] = deque(maxlen=_SIGNATURES_KEPT)


_CALL: contextvars.ContextVar[_Call | None] = contextvars.ContextVar("otaclient_call", default=None)


class CallScope:
    """Mark the running task as inside one call of the client that ``secrets`` belongs to.

    Inside, texts are scrubbed of that client's secrets (not every live client's: one
    client's errors cost the same however many clients the process holds) and of the
    signature of each attempt of the call. Entering returns the signatures' record: an
    attempt adds its signature just before it is sent, so an empty record means nothing
    went out. (A class rather than a generator: it runs on every call.)
    """

    __slots__ = ("_record", "_token")

    def __init__(self, secrets: Secrets) -> None:
        self._record = _Call(secrets)

    def __enter__(self) -> deque[str]:
        self._token = _CALL.set(self._record)
        return self._record.signatures

    def __exit__(self, *exc_info: object) -> None:
        _CALL.reset(self._token)


def remember_signature(signature: str) -> None:
    """Add an attempt's signature to the running call's record (outside a call: nothing)."""
    record = _CALL.get()
    if record is not None:
        record.signatures.append(signature)


@functools.lru_cache(maxsize=1024)
def _signature_forms(signature: str) -> tuple[str, tuple[str, ...]]:
    return _anchor(signature), _by_length(_text_forms(signature))


def _scrub_signatures(text: str, signatures: Iterable[str]) -> str:
    for signature in signatures:
        anchor, forms = _signature_forms(signature)
        if anchor in text:
            for form in forms:
                if form in text:
                    text = text.replace(form, MASK)
    return text


# --------------------------------------------------------------------------- scrubbing


def scrub(text: str) -> str:
    """``text`` without any secrets: inside a call, its client's and its signatures;
    elsewhere, those of every live client.

    >>> keep = Secrets("T0K3N-example-token")
    >>> scrub("SecurityToken%3DT0K3N-example-token%26")
    'SecurityToken%3D***%26'
    """
    if len(text) < _MIN_SECRET:
        return text  # too short to hold any value this masks
    record = _CALL.get()
    if record is not None:
        if record.signatures:
            text = _scrub_signatures(text, tuple(record.signatures))
        return record.secrets.scrub(text)
    for secrets in _live():
        text = secrets.scrub(text)
    return text


def scrub_value(value: Any, _depth: int = 0) -> Any:
    """``value`` with the text in it scrubbed: strings, and lists, tuples and dicts of them
    (lists and dicts in place, so that whoever holds them sees the change), and httpx
    requests and URLs (a new one, with the secrets of its query masked)."""
    if isinstance(value, str):
        return scrub(value)
    if _depth > 4:
        return value
    if isinstance(value, list):
        value[:] = [scrub_value(item, _depth + 1) for item in value]
    elif isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(scrub_value(item, _depth + 1) for item in value)
    elif isinstance(value, dict):
        for key in list(value):
            value[key] = scrub_value(value[key], _depth + 1)
    elif isinstance(value, httpx.URL):
        return httpx.URL(scrub(redact(str(value))))
    elif isinstance(value, httpx.Request):
        return httpx.Request(value.method, scrub_value(value.url, _depth + 1))
    return value


def scrub_exception(exc: BaseException) -> None:
    """Scrub ``exc`` and every exception chained to it, in place: arguments, notes and
    attributes (an httpx error's request among them)."""
    pending, seen = [exc], set[int]()
    while pending and len(seen) < 64:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        current.args = scrub_value(current.args)
        for name, value in list(vars(current).items()):
            if name in ("__cause__", "__context__", "__traceback__"):
                continue
            with contextlib.suppress(AttributeError, TypeError):  # a read-only attribute
                setattr(current, name, scrub_value(value))
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
        if isinstance(current, BaseExceptionGroup):
            pending += current.exceptions
