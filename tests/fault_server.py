"""Small HTTP servers on 127.0.0.1 that behave like broken rspamd controllers.

Each one is a thread; every handler loop is bounded (at most `LIMIT` seconds) and ends as soon
as the client closes its side, so nothing outlives a test by more than that. A server is
either a fake controller that keeps its map in memory like a real one (/maps, /getmap,
/savemap), or a proxy in front of a real controller; `rules` makes chosen paths misbehave.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

LIMIT = 30.0  # no handler runs longer than this
MAP_ID = "7"

# What a rule does to a request:
#   ok            answer normally (fake controller) or forward (proxy)
#   trickle       headers, then one body byte per second
#   trickle-head  the status line and headers one byte per second
#   hang          headers, then nothing
#   silent        accept the request, send nothing at all
#   huge          a 200 MB reply in 1 MiB chunks, no Content-Length
#   garbage       bytes that are not HTTP
#   junk          HTTP 200 with a body that is not JSON
#   500           HTTP 500
#   late          do the request (apply a /savemap), answer after `late_seconds`
#   drop          swallow the request without applying it, then hang (a lost write)
RULES = ("ok", "trickle", "trickle-head", "hang", "silent", "huge", "garbage", "junk", "500")


class FaultServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, upstream: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        self.upstream_headers = headers or {}
        self.rules: dict[str, str] = {}
        self.default_rule = "ok"
        self.late_seconds = 3.0
        self.map_text = "# empty\n"
        self.map_uri = "/var/lib/rspamd/helpdesk_release.map"
        self.seen: list[str] = []  # paths, in arrival order
        self.arrived = {path: threading.Event() for path in ("/savemap", "/getmap", "/maps")}
        self.client_gone = threading.Event()  # a misbehaving handler saw the client close
        self.after_save: dict[str, str] = {}  # rules that apply once a /savemap was applied
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def rule(self, path: str) -> str:
        return self.rules.get(path, self.default_rule)


@contextmanager
def fault_server(upstream: str | None = None, **kwargs) -> Iterator[FaultServer]:
    server = FaultServer(upstream, **kwargs)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class _Handler(BaseHTTPRequestHandler):
    server: FaultServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    # ------------------------------------------------------------------ dispatch

    def _serve(self) -> None:
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        server = self.server
        with server.lock:
            server.seen.append(path)
        if path in server.arrived:
            server.arrived[path].set()
        rule = server.rule(path)
        if rule == "late":
            status, reply = self._apply(path, body)
            self._wait_gone(server.late_seconds)
            self._send(status, reply)
        elif rule == "drop":
            self._wait_gone(LIMIT)
        elif rule == "ok":
            self._send(*self._apply(path, body))
        else:
            getattr(self, "_" + rule.replace("-", "_").replace("500", "error"))()

    def _apply(self, path: str, body: bytes) -> tuple[int, bytes]:
        server = self.server
        if server.upstream:
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("password", "map")}
            reply = httpx.request(
                self.command, server.upstream + self.path, headers=headers, content=body, timeout=10
            )
            status, content = reply.status_code, reply.content
        else:
            status, content = self._fake(path, body)
        if path == "/savemap" and status == 200:
            server.rules.update(server.after_save)
        return status, content

    def _fake(self, path: str, body: bytes) -> tuple[int, bytes]:
        server = self.server
        if path == "/maps":
            maps = [
                {
                    "map": int(MAP_ID),
                    "uri": server.map_uri,
                    "description": "helpdesk releases",
                    "editable": True,
                }
            ]
            return 200, json.dumps(maps).encode()
        if path == "/getmap":
            return 200, server.map_text.encode()
        if path == "/savemap":
            if not body.strip():
                return 400, b'{"error":"empty body"}'
            server.map_text = body.decode()
            return 200, b'{"success":true}'
        if path in ("/history", "/actions", "/symbols", "/maps"):
            return 200, b"[]"
        if path == "/stat":
            return 200, b'{"version":"3.4","uptime":1,"scanned":0,"actions":{}}'
        return 404, b'{"error":"Not found"}'

    # ------------------------------------------------------------------ behaviours

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self._write(body)

    def _write(self, data: bytes) -> bool:
        try:
            self.wfile.write(data)
            self.wfile.flush()
            return True
        except OSError:
            self.server.client_gone.set()
            return False

    def _gone(self, wait: float) -> bool:
        """Whether the client closed its side (readable with nothing to read)."""
        sock = self.connection
        readable, _, _ = select.select([sock], [], [], wait)
        if not readable:
            return False
        try:
            gone = sock.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            gone = True
        if gone:
            self.server.client_gone.set()
        return gone

    def _wait_gone(self, seconds: float) -> None:
        ends = time.monotonic() + min(seconds, LIMIT)
        while time.monotonic() < ends:
            if self._gone(min(0.1, max(ends - time.monotonic(), 0))):
                return

    def _headers_only(self, length: int = 1_000_000) -> bool:
        return self._write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {length}\r\n\r\n".encode()
        )

    def _trickle(self) -> None:
        if not self._headers_only():
            return
        ends = time.monotonic() + LIMIT
        while time.monotonic() < ends and self._write(b"["):
            if self._gone(1.0):
                return

    def _trickle_head(self) -> None:
        ends = time.monotonic() + LIMIT
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
            if time.monotonic() > ends or not self._write(bytes([byte])) or self._gone(1.0):
                return

    def _hang(self) -> None:
        if self._headers_only():
            self._wait_gone(LIMIT)

    def _silent(self) -> None:
        self._wait_gone(LIMIT)

    def _huge(self) -> None:
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        if not self._write(head):
            return
        chunk = b"[" + b"0," * (512 * 1024 - 1)  # 1 MiB of a JSON list that never ends
        framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        for _ in range(200):
            if not self._write(framed):
                return
        self._write(b"0\r\n\r\n")

    def _garbage(self) -> None:
        self._write(b"\x00\xff\xfe SSH-2.0-OpenSSH\r\n\x1b[2J" * 20)
        self.close_connection = True

    def _junk(self) -> None:
        self._send(200, b"<html><body>Gateway login</body></html>")

    def _error(self) -> None:
        self._send(500, b'{"error":"internal error"}')
