"""Dovecot's login lines (2.3) as LoginEvents.

One login is spread over several lines of one session (`session=<…>`), in this order:

    imap-login: ID sent: name=iPhone Mail, vendor=Apple Inc., ...: user=<>, rip=…, TLS, session=<S>
    auth-worker(123): conn …: sql(kunde@example.org,127.0.0.9,<S>): Password mismatch
    imap-login: Login failed: Plaintext authentication disabled: user=<>, rip=…, session=<S>
    imap-login: Authenticate CRAM-MD5 failed: Unsupported authentication mechanism.: user=<>, …
    imap-login: Login: user=<u>, method=PLAIN, rip=…, lip=…, mpid=…, TLS, session=<S>
    imap-login: Disconnected: Aborted login by logging out (auth failed, 1 attempts in 0 secs):
        user=<u>, method=PLAIN, rip=…, lip=…, TLS, session=<S>

`Login:` and `Disconnected … (…)` end a session's login; what came before (the client's IMAP ID,
the auth worker's reason) is kept per session until then, in a bounded table (a session that
never ends cannot grow memory). `auth_verbose = yes` gives the reasons and `imap_id_log` the
client program; without them a failure is "login failed" and the program unknown.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from helpdesk.logins.events import LoginEvent

MAX_SESSIONS = 20_000

_LOGIN_PROCESS = re.compile(rb"([a-z0-9]+)-login: ")
_FIELDS = re.compile(rb"user=<(?P<user>[^>]*)>(?P<rest>.*)$")
_FIELD = re.compile(rb"(\w+)=([^,]*)")
_SESSION = re.compile(rb"session=<([^>]*)>")
_AUTH = re.compile(
    rb"\b[a-z-]+\((?P<user>[^,()]*),(?P<ip>[^,()]*)(?:,<(?P<session>[^>]*)>)?\): (?P<why>.*)$"
)
_DISCONNECTED = re.compile(rb"Disconnected(?:: [^(]*)? \((?P<why>[^)]*)\)")
_ID = re.compile(rb"ID sent: (?P<id>.*?): user=<")
_ID_FIELD = re.compile(rb"(name|vendor|version|os|os-version)=([^,]*)")
_MAXCONN = b"Maximum number of connections from user+IP exceeded"

_AUTH_REASONS = (
    (b"Password mismatch", "wrong_password"),
    (b"unknown user", "unknown_user"),
    (b"Password expired", "wrong_password"),
)


@dataclass(slots=True)
class _Session:
    client: str = ""
    reason: str = ""


def _program(fields: dict[bytes, bytes]) -> str:
    name = fields.get(b"name", b"").decode("utf-8", "replace").strip()
    os_name = fields.get(b"os", b"").decode("utf-8", "replace").strip()
    if name and os_name:
        return f"{name} ({os_name})"
    return name or os_name


class DovecotParser:
    """Feed it (time, text) pairs; each line that ends a login returns its event. It keeps no
    events itself (the caller keeps what it wants), only bounded tables of open sessions and of
    the client program last named from each address."""

    def __init__(self) -> None:
        self.sessions: OrderedDict[bytes, _Session] = OrderedDict()
        # client program last named from an address: a client that sent its ID in one session
        # and logs in again without one (POP3, a second connection) is still recognised
        self.programs: OrderedDict[str, str] = OrderedDict()

    def _session(self, key: bytes) -> _Session:
        found = self.sessions.get(key)
        if found is None:
            found = self.sessions[key] = _Session()
            if len(self.sessions) > MAX_SESSIONS:
                self.sessions.popitem(last=False)
        return found

    def feed(self, when: datetime, text: bytes) -> LoginEvent | None:
        """The event this line ends, if any."""
        login = _LOGIN_PROCESS.match(text)
        if login is None:
            if b"): " in text and (b"mismatch" in text or b"unknown user" in text):
                self._auth_line(text)
            return None
        body = text[login.end() :]
        session_m = _SESSION.search(body)
        session = session_m.group(1) if session_m else b""
        if body.startswith(b"ID sent: "):
            m = _ID.match(body)
            if m is not None and session:
                program = _program(dict(_ID_FIELD.findall(m.group("id"))))
                self._session(session).client = program
                rip = _field_value(body, b"rip")
                if rip and program:
                    self.programs[rip] = program
                    self.programs.move_to_end(rip)
                    if len(self.programs) > MAX_SESSIONS:
                        self.programs.popitem(last=False)
            return None
        if body.startswith(b"Login failed: Plaintext authentication disabled"):
            if session:
                self._session(session).reason = "plaintext_refused"
            return None
        if body.startswith(b"Authenticate ") and b"Unsupported authentication mechanism" in body:
            if session:
                self._session(session).reason = "mechanism_not_offered"
            return None
        if body.startswith(b"Login: "):
            return self._end(when, login.group(1), body, session, ok=True)
        if _MAXCONN in body[:80]:  # `Disconnected: Maximum number of connections …` (or bare)
            return self._end(when, login.group(1), body, session, ok=False, why=b"max")
        if body.startswith(b"Disconnected"):
            m = _DISCONNECTED.match(body)
            why = m.group("why") if m else b""
            if b"auth failed" in why or b"tried to use" in why or b"temporary failure" in why:
                return self._end(when, login.group(1), body, session, ok=False, why=why)
            if session:  # closed before any login: forget it
                self.sessions.pop(session, None)
        return None

    def _auth_line(self, text: bytes) -> None:
        m = _AUTH.search(text)
        if m is None or not m.group("session"):
            return
        why = m.group("why")
        for needle, code in _AUTH_REASONS:
            if needle in why:
                self._session(m.group("session")).reason = code
                return

    def _end(
        self,
        when: datetime,
        protocol: bytes,
        body: bytes,
        session: bytes,
        *,
        ok: bool,
        why: bytes = b"",
    ) -> LoginEvent | None:
        m = _FIELDS.search(body)
        if m is None:
            return None
        fields = dict(_FIELD.findall(m.group("rest")))
        flags = {part.strip() for part in m.group("rest").split(b",")}
        state = self.sessions.pop(session, None) if session else None
        ip = fields.get(b"rip", b"").decode("ascii", "replace")
        reason = ""
        if not ok:
            if why == b"max":
                reason = "too_many_connections"
            elif b"unsupported auth mechanism" in why:
                reason = "mechanism_not_offered"
            elif b"disallowed plaintext" in why:
                reason = "plaintext_refused"
            elif b"temporary failure" in why:
                reason = "temporary_failure"
            else:
                reason = (state.reason if state else "") or "failed"
        client = (state.client if state else "") or self.programs.get(ip, "")
        event = LoginEvent(
            time=when,
            source="dovecot",
            protocol=protocol.decode("ascii", "replace"),
            ok=ok,
            user=m.group("user").decode("utf-8", "replace"),
            ip=ip,
            tls=b"TLS" in flags or any(f.startswith(b"TLS ") for f in flags),
            mechanism=fields.get(b"method", b"").decode("ascii", "replace").upper(),
            client=client,
            reason=reason,
        )
        if reason == "plaintext_refused":
            event.tls = False
        return event


def _field_value(body: bytes, name: bytes) -> str:
    m = re.search(rb"\b" + name + rb"=([^,\s]*)", body)
    return m.group(1).decode("ascii", "replace") if m else ""
