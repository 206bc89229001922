"""A minimal HTTP/1.1 server that answers every request with one fixed 100-firmware page.

    python -m benchmarks._page_server CERT.pem KEY.pem

It listens on two loopback ports, plain HTTP and HTTPS (the certificate and key given), and
prints ``http://127.0.0.1:P https://127.0.0.1:Q`` on one line once both listen, then serves
until SIGTERM. Built for measuring clients, so it does as little as a server can: an
``asyncio.Protocol`` that finds the end of each request head, skips a declared body and
writes a response prepared at start (keep-alive, ``Content-Length``), with no routing, no
signature check and no JSON encoding per request. That keeps the server's CPU per request
far below any client's, so requests/s reflects the client being measured.

``GET /__stats__`` answers with the connections accepted, the requests answered and this
process's CPU seconds, as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import ssl
import sys

_END = b"\r\n\r\n"
_STATS = b"GET /__stats__ "


def page_body(items: int = 100) -> bytes:
    """A ListOTAFirmware answer with ``items`` firmware packages (about 40 KB for 100)."""
    firmware = [
        {
            "FirmwareId": f"fw-{n:08d}-0123456789abcdef",
            "FirmwareName": f"firmware-{n}",
            "FirmwareDesc": "bench package",
            "FirmwareSign": "2e2b6b7fd09de3d9a0b7e35d0c9b1f53",
            "FirmwareSize": 1048576 + n,
            "SignMethod": "MD5",
            "SrcVersion": "1.0.0",
            "DestVersion": f"1.0.{n + 1}",
            "ModuleName": "default",
            "ProductKey": "a1BwAGV****",
            "ProductName": "bench product",
            "Status": 1,
            "Type": 0,
            "UtcCreate": "2026-11-20T08:00:00.000Z",
            "UtcModified": "2026-11-21T08:00:00.000Z",
        }
        for n in range(items)
    ]
    return json.dumps(
        {
            "RequestId": "57b144cf-09dc-4916-a946-5a2ab6b9d7a4",
            "Success": True,
            "Total": items,
            "PageSize": items,
            "PageCount": 1,
            "CurrentPage": 1,
            "FirmwareInfo": {"SimpleFirmwareInfo": firmware},
        },
        separators=(",", ":"),
    ).encode()


def _response(body: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=utf-8\r\n"
        b"Content-Length: %d\r\nConnection: keep-alive\r\n\r\n" % len(body)
    ) + body


class _Counters:
    connections = 0
    requests = 0


class _PageProtocol(asyncio.Protocol):
    def __init__(self, answer: bytes) -> None:
        self._answer = answer
        self._buffer = b""
        self._skip = 0
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        _Counters.connections += 1
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data
        while True:
            if self._skip:
                taken = min(self._skip, len(buffer))
                self._skip -= taken
                buffer = buffer[taken:]
            end = buffer.find(_END)
            if end < 0:
                break
            head, buffer = buffer[:end], buffer[end + len(_END) :]
            self._skip = _content_length(head)
            self._answer_one(head)
        self._buffer = buffer

    def _answer_one(self, head: bytes) -> None:
        assert self._transport is not None
        if head.startswith(_STATS):
            times = os.times()
            stats = {
                "connections": _Counters.connections,
                "requests": _Counters.requests,
                "cpu": times.user + times.system,
            }
            self._transport.write(_response(json.dumps(stats).encode()))
            return
        _Counters.requests += 1
        self._transport.write(self._answer)


def _content_length(head: bytes) -> int:
    lowered = head.lower()
    at = lowered.find(b"\r\ncontent-length:")
    if at < 0:
        return 0
    value = lowered[at + 17 :].split(b"\r\n", 1)[0]
    return int(value.strip() or 0)


async def _main(cert: str, key: str) -> None:
    loop = asyncio.get_running_loop()
    answer = _response(page_body())
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    plain = await loop.create_server(lambda: _PageProtocol(answer), "127.0.0.1", 0, backlog=512)
    secure = await loop.create_server(
        lambda: _PageProtocol(answer), "127.0.0.1", 0, ssl=tls, backlog=512
    )
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    ports = [server.sockets[0].getsockname()[1] for server in (plain, secure)]
    print(f"http://127.0.0.1:{ports[0]} https://127.0.0.1:{ports[1]}", flush=True)
    await stop.wait()
    for server in (plain, secure):
        server.close()


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], sys.argv[2]))
