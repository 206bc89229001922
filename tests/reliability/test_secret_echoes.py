"""A server, proxy or parser that echoes a secret back: it never reaches a reader.

The security token travels in every request's query string and the ``Signature`` is
derived from the access key secret; an answer may quote either (a ``SignatureDoesNotMatch``
message quotes the string to sign, a gateway its request line, an HTTP parser a malformed
header, the decoder a value of the wrong type). Whatever spelling the echo takes, it must
not show in ``str(exc)``, ``repr(exc)``, the exception's attributes, notes and chained
causes, the log records (DEBUG included, ``exc_info`` included) or the CLI's output.

The spellings are computed here independently of the library (``urllib`` and ``base64``).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

import httpx
import pytest
from support.wire import signed_params

from otaclient import APIError, OTAClient, OTAError, ResponseError, RetryPolicy, TransportError

pytestmark = pytest.mark.anyio

SECRET = "S3CR3T-never-show-me-0123456789"
TOKEN = "T0K3N+never show/me%41=="  # '+', '/', '=', '%' and a space: every encoding differs
TELLTALES = ("S3CR3T", "T0K3N")  # in every spelling but base64: a fragment would show


def _lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), text)


def _base64_core(prefix: bytes, value: str, suffix: bytes, alphabet: bytes | None) -> str:
    """``value`` base64-encoded inside ``prefix + value + suffix``: the encoded text and
    the characters of it that depend on ``value``'s bytes alone."""
    data = value.encode()
    encoded = base64.b64encode(prefix + data + suffix, altchars=alphabet).decode()
    start = -(-8 * len(prefix) // 6)
    end = 8 * (len(prefix) + len(data)) // 6
    return encoded[start:end]


def spellings(value: str) -> dict[str, str]:
    """Every way a server or proxy could write ``value`` back."""
    once = quote(value, safe="~")
    twice = quote(once, safe="~")
    form = quote_plus(value, safe="")
    return {
        "raw": value,
        "percent-encoded": once,
        "percent-encoded twice": twice,
        "lower-case hex": _lower_hex(once),
        "lower-case hex twice": _lower_hex(twice),
        "form-encoded": form,
        "form-encoded twice": quote_plus(form, safe=""),
        "plus read as space": value.replace("+", " "),
        "JSON-escaped slash": value.replace("/", "\\/"),
        "base64": base64.b64encode(value.encode()).decode(),
        "base64 at offset 1": _base64_core(b"k", value, b"!", None),
        "base64 at offset 2": _base64_core(b"k:", value, b"!", None),
        "url-safe base64": base64.urlsafe_b64encode(value.encode()).decode(),
    }


ECHOES = sorted(spellings(TOKEN))


def _echo(name: str, value: str = TOKEN) -> str:
    spelled = spellings(value)[name]
    if name.startswith("base64 at offset"):
        # As a proxy would log it: the whole "key:value" blob, base64-encoded.
        prefix = b"k" if name.endswith("1") else b"k:"
        return base64.b64encode(prefix + value.encode() + b"!").decode()
    return spelled


def _forbidden(signatures: list[str]) -> list[str]:
    found = [*TELLTALES]
    for value in (SECRET, TOKEN, *signatures):
        found += [s for s in spellings(value).values() if len(s) >= 8]
    return found


def _texts_of(exc: BaseException) -> Iterator[str]:
    """Every text an exception offers a reader, along its whole chain."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield repr(current.args)
        yield repr(vars(current))
        yield repr(getattr(current, "__notes__", None))
        request = getattr(current, "_request", None)
        if request is not None:
            yield str(request.url)
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]


def assert_hidden(texts: list[str], signatures: list[str] = ()) -> None:  # type: ignore[assignment]
    text = "\n".join(texts)
    for forbidden in _forbidden(list(signatures)):
        assert forbidden not in text, f"{forbidden!r} leaked"


class Server:
    """A MockTransport handler answering with ``respond`` and keeping each Signature."""

    def __init__(self, respond: Callable[[httpx.Request], httpx.Response]) -> None:
        self.respond = respond
        self.signatures: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.signatures.append(signed_params(request)["Signature"])
        return self.respond(request)


def _client(server: Server, **options: Any) -> OTAClient:
    settings: dict[str, Any] = {
        "access_key_id": "visible-id",
        "access_key_secret": SECRET,
        "security_token": TOKEN,
        "endpoint": "http://ota.test",
        "qps": None,
        "retry": RetryPolicy(max_attempts=2, backoff_base=0.0),
        "transport": httpx.MockTransport(server),
    }
    settings.update(options)
    return OTAClient(**settings)


async def _failure(server: Server, call: Callable[[OTAClient], Any], **options: Any) -> OTAError:
    async with _client(server, **options) as client:
        with pytest.raises(OTAError) as caught:
            await call(client)
    return caught.value


def _query_job(client: OTAClient) -> Any:
    return client.query_ota_job(job_id="j1")


# --------------------------------------------------------------------------- error answers


@pytest.mark.parametrize("spelling", ECHOES)
async def test_an_error_answer_echoing_the_token_hides_it_everywhere(spelling: str) -> None:
    echo = f"before {_echo(spelling)} after"
    server = Server(
        lambda r: httpx.Response(
            400,
            json={
                "RequestId": echo,
                "Code": echo,
                "Message": echo,
                "HostId": echo,
                "Recommend": echo,
            },
        )
    )
    error = await _failure(server, _query_job)
    assert isinstance(error, APIError)
    assert error.code.startswith("before ***") or error.code.startswith("before ")
    assert_hidden(list(_texts_of(error)), server.signatures)


@pytest.mark.parametrize("spelling", ECHOES)
async def test_a_business_error_echoing_the_token_hides_it(spelling: str) -> None:
    echo = _echo(spelling)
    body = {"RequestId": "r1", "Success": False, "Code": echo, "ErrorMessage": f"bad {echo}"}
    server = Server(lambda r: httpx.Response(200, json=body))
    error = await _failure(server, _query_job)
    assert isinstance(error, APIError) and error.http_status == 200
    assert_hidden(list(_texts_of(error)), server.signatures)


def test_an_answer_without_an_echo_is_reported_unchanged() -> None:
    # The scrubbing masks secrets, nothing else: an ordinary message keeps every word.
    error = APIError(
        action="QueryOTAJob",
        code="InvalidParameter",
        message="the secret/token of job 'j+1' is 100% wrong",
        request_id="r1",
        http_status=400,
    )
    assert error.message == "the secret/token of job 'j+1' is 100% wrong"


@pytest.mark.parametrize("spelling", ECHOES)
async def test_a_mistyped_field_echoing_the_token_hides_it(spelling: str) -> None:
    # The decoder previews the wrong value, cut to 40 characters: a cut secret is no
    # longer the secret, so it must be masked before the cut.
    body = {
        "RequestId": "r1",
        "Success": True,
        "Data": {"JobId": "j1", "UtcCreate": _echo(spelling)},
    }
    server = Server(lambda r: httpx.Response(200, json=body))
    error = await _failure(server, _query_job)
    assert isinstance(error, ResponseError)
    assert_hidden(list(_texts_of(error)), server.signatures)


async def test_a_mistyped_paging_key_echoing_the_token_hides_it() -> None:
    body = {"RequestId": "r1", "Success": True, "Total": TOKEN, "PageSize": 10, "CurrentPage": 1}
    server = Server(lambda r: httpx.Response(200, json=body))
    error = await _failure(server, lambda c: c.list_ota_firmware(page_size=10))
    assert isinstance(error, ResponseError)
    assert_hidden(list(_texts_of(error)), server.signatures)


# --------------------------------------------------------------------------- signatures


def _signature_echo(spelling: str) -> Callable[[httpx.Request], httpx.Response]:
    def respond(request: httpx.Request) -> httpx.Response:
        echo = _echo(spelling, signed_params(request)["Signature"])
        return httpx.Response(
            400,
            json={"RequestId": "r1", "Code": f"Bad.{echo}", "Message": echo, "HostId": echo},
        )

    return respond


@pytest.mark.parametrize(
    "spelling",
    ["raw", "percent-encoded", "percent-encoded twice", "lower-case hex", "plus read as space"],
)
async def test_the_signature_echoed_back_is_hidden(spelling: str) -> None:
    server = Server(_signature_echo(spelling))
    error = await _failure(server, _query_job)
    assert len(server.signatures) == 1
    assert_hidden(list(_texts_of(error)), server.signatures)
    assert "***" in error.message


async def test_the_signature_echoed_in_a_mistyped_field_is_hidden() -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        data = {"JobId": "j1", "UtcCreate": signed_params(request)["Signature"]}
        return httpx.Response(200, json={"RequestId": "r1", "Success": True, "Data": data})

    server = Server(respond)
    error = await _failure(server, _query_job)
    assert isinstance(error, ResponseError)
    assert_hidden(list(_texts_of(error)), server.signatures)


async def test_each_attempts_signature_is_hidden_after_retries() -> None:
    # A read retried after a 503: the final error may quote any attempt's signature.
    first: list[str] = []

    def respond(request: httpx.Request) -> httpx.Response:
        first.append(signed_params(request)["Signature"])
        return httpx.Response(
            503, json={"RequestId": "r", "Code": "ServiceUnavailable", "Message": " ".join(first)}
        )

    server = Server(respond)
    error = await _failure(server, _query_job, retry=RetryPolicy(max_attempts=3, backoff_base=0))
    assert len(server.signatures) == 3
    assert_hidden(list(_texts_of(error)), server.signatures)


# --------------------------------------------------------------------------- transport


@pytest.mark.parametrize("spelling", ["raw", "percent-encoded twice", "base64"])
async def test_a_transport_error_quoting_the_token_hides_it_in_the_error_and_its_cause(
    spelling: str,
) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        # What h11 says of a malformed header line a proxy made from our request.
        raise httpx.RemoteProtocolError(
            f"illegal header line: bytearray(b'X-Echo: {_echo(spelling)}')", request=request
        )

    server = Server(respond)
    error = await _failure(server, _query_job)
    assert isinstance(error, TransportError)
    assert isinstance(error.__cause__, httpx.RemoteProtocolError)
    assert error.__cause__.request.url.host == "ota.test"  # still usable, without secrets
    assert_hidden(list(_texts_of(error)), server.signatures)


# --------------------------------------------------------------------------- notes, fields


async def test_notes_and_fields_added_later_are_scrubbed() -> None:
    server = Server(lambda r: httpx.Response(200, json={"RequestId": "r", "Success": True}))
    async with _client(server):
        error = OTAError("harvest stopped")
        error.add_note(f"page 3 said {TOKEN}")
        error.detail = {"echo": [TOKEN]}  # type: ignore[attr-defined]
        error.__cause__ = ValueError(f"while reading {quote(TOKEN, safe='')}")
    assert_hidden(list(_texts_of(error)))


async def test_an_argument_holding_the_token_is_not_echoed_by_its_validation_error() -> None:
    server = Server(lambda r: httpx.Response(200, json={"RequestId": "r", "Success": True}))
    async with _client(server) as client:
        with pytest.raises(OTAError) as caught:
            await client.create_ota_static_upgrade_job(
                firmware_id="f", product_key="p", target_selection=TOKEN
            )
    assert_hidden(list(_texts_of(caught.value)))


# --------------------------------------------------------------------------- logs


async def test_logs_at_debug_hide_every_echo_of_a_retried_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    def respond(request: httpx.Request) -> httpx.Response:
        signature = signed_params(request)["Signature"]
        message = f"{TOKEN} {quote(quote(TOKEN, safe=''), safe='')} {signature}"
        return httpx.Response(
            503, json={"RequestId": TOKEN, "Code": "ServiceUnavailable", "Message": message}
        )

    server = Server(respond)
    error = await _failure(server, _query_job)
    logging.getLogger("otaclient").error("the call failed: %s", error, exc_info=error)
    records = caplog.records
    assert any("retrying" in r.getMessage() for r in records), "no retry line was logged"
    formatter = logging.Formatter()
    texts = [caplog.text] + [formatter.format(r) for r in records] + [repr(r.args) for r in records]
    assert_hidden(texts, server.signatures)


@pytest.mark.parametrize("logger", ["otaclient", "httpx", "httpcore", "httpcore.http11"])
async def test_foreign_exceptions_logged_with_exc_info_are_scrubbed(
    caplog: pytest.LogCaptureFixture, logger: str
) -> None:
    # httpcore logs its failures at DEBUG with the exception in the arguments; a handler
    # formats exc_info into a traceback: both are texts that leave the library.
    caplog.set_level(logging.DEBUG)
    server = Server(lambda r: httpx.Response(200, json={"RequestId": "r", "Success": True}))
    async with _client(server):
        failure = httpx.RemoteProtocolError(f"illegal header line: {TOKEN}")
        logging.getLogger(logger).debug("failed exception=%r", failure, exc_info=failure)
    formatter = logging.Formatter()
    assert caplog.records, "nothing was logged"
    assert_hidden([caplog.text] + [formatter.format(r) for r in caplog.records])


# --------------------------------------------------------------------------- command line


class _EchoHandler(BaseHTTPRequestHandler):
    """Answers every request with an error quoting its token and signature back."""

    received: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        query = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        # A POST carries its signed parameters in a form body.
        length = int(self.headers.get("Content-Length") or 0)
        query.update(parse_qsl(self.rfile.read(length).decode("ascii"), keep_blank_values=True))
        self.received.append(query)
        token, signature = query.get("SecurityToken", ""), query.get("Signature", "")
        echo = f"{token} {quote(quote(token, safe=''), safe='')} {signature}"
        body = json.dumps(
            {"RequestId": echo, "Code": f"Echo {token}", "Message": echo, "HostId": echo}
        ).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def echo_server() -> Iterator[tuple[str, list[dict[str, str]]]]:
    received: list[dict[str, str]] = []
    handler = type("Handler", (_EchoHandler,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.backends("asyncio")
def test_the_command_line_never_prints_an_echoed_secret(
    echo_server: tuple[str, list[dict[str, str]]], anyio_backend: str
) -> None:
    url, received = echo_server
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD", "OTACLIENT"))},
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "visible-id",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
        "ALIBABA_CLOUD_SECURITY_TOKEN": TOKEN,
    }
    done = subprocess.run(
        [sys.executable, "-m", "otaclient.cli", "firmware", "list", "--endpoint", url],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert received and received[0]["SecurityToken"] == TOKEN  # the echo had it to echo
    assert "Error:" in done.stderr and "Traceback" not in done.stderr
    assert_hidden([done.stdout, done.stderr], [q["Signature"] for q in received])
