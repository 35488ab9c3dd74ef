"""One HTTP exchange with a deadline for the whole of it and a cap on the reply's size.

httpx's `timeout` bounds each network operation, not the request: a server that sends a byte
every second never times out, and one that sends 400 MB is read into memory. Here every
connect, write and read of a call gets at most the time left until the call's deadline (the
network backend below shortens each operation's timeout), and the body is streamed and
counted. Everything runs in the calling thread: when a call has failed, its socket is closed
and nothing of it is still running.
"""

from __future__ import annotations

import contextvars
import functools
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

# The deadline of the call running in this thread (a context variable: each thread of the UI
# that talks to rspamd has its own).
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "rspamd_deadline", default=None
)


class TooLarge(Exception):
    """The reply grew past the cap."""


class Compressed(Exception):
    """The reply came compressed although it was asked for without."""


class DeadlinePassed(Exception):
    """The call's deadline passed between two reads (a trickling reply)."""


def _bounded(timeout: float | None, expired: type[Exception]) -> float | None:
    ends = _deadline.get()
    if ends is None:
        return timeout
    left = ends - time.monotonic()
    if left <= 0:
        raise expired("deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout=None):
        stream = self._inner.start_tls(
            ssl_context, server_hostname, _bounded(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(stream)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = self._inner.connect_tcp(
            host, port, _bounded(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        stream = self._inner.connect_unix_socket(
            path, _bounded(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs milliseconds; every controller can share one context.
    return httpx.create_ssl_context(trust_env=False)


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's own transport over a network backend that honours the call's deadline."""

    def __init__(self) -> None:
        super().__init__(trust_env=False)
        # httpx offers no argument for the network backend; its pool takes one.
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            # One connection per call: a reused keep-alive socket could carry a late answer.
            max_keepalive_connections=0,
            network_backend=_DeadlineBackend(),
        )


@dataclass(frozen=True)
class Reply:
    """A whole reply, read within the deadline and the size cap."""

    status_code: int
    headers: httpx.Headers
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def fetch(
    client: httpx.Client,
    method: str,
    path: str,
    *,
    seconds: float,
    max_bytes: int,
    headers: dict[str, str],
    content: bytes | None = None,
) -> Reply:
    """The whole reply, or TooLarge / Compressed / DeadlinePassed / an httpx error; in every
    case the connection is closed when this returns."""
    ends = time.monotonic() + seconds
    # identity: a compressed reply would be decoded into far more than arrived; one that comes
    # compressed all the same is refused unread (rspamd itself never compresses).
    sent = {"Accept-Encoding": "identity", **headers}
    timeout = httpx.Timeout(seconds)
    with (
        deadline(seconds),
        client.stream(method, path, headers=sent, content=content, timeout=timeout) as response,
    ):
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise TooLarge(declared)
        if response.headers.get("content-encoding", "identity").lower() != "identity":
            raise Compressed()
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise TooLarge(str(len(body)))
            if time.monotonic() > ends:
                raise DeadlinePassed()
        return Reply(response.status_code, response.headers, bytes(body))
