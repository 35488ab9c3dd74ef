"""rspamd's verdict history as rows: both /history shapes, lenient JSON, the 31-byte user.

The built-in history answers a list, oldest first, with symbol scores all 0 and the user cut
at 31 bytes; history_redis answers {version: 2, rows}, newest first, with sender, recipients,
subject and real scores. Both become the same `HistoryRow`s, newest first.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, NamedTuple

# rspamd's built-in history keeps the authenticated user in a fixed 32-byte buffer.
USER_FIELD_BYTES = 31
REJECT_ACTIONS = ("reject", "soft reject")

# rspamd writes non-finite doubles as bare nan/inf, which json.loads refuses. Strings are
# matched first so that a subject reading "inf" is left alone.
_NONFINITE = re.compile(r'("(?:[^"\\]|\\.)*")|(?<![\w."])-?(?:nan|inf(?:inity)?)(?![\w."])', re.I)


def loads_lenient(text: str) -> Any:
    """json.loads that reads bare nan/inf (as None) and never returns NaN or infinity."""
    try:
        return json.loads(text, parse_constant=_no_constant)
    except ValueError:
        pass
    cleaned = _NONFINITE.sub(lambda m: m.group(1) or "null", text)
    return json.loads(cleaned, parse_constant=_no_constant)


def _no_constant(_: str) -> None:
    return None


def finite_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class Symbol(NamedTuple):
    # A tuple, not a dataclass: a history holds tens of thousands of them.
    name: str
    score: float | None
    options: tuple[str, ...] = ()
    description: str = ""
    # True when the score is the symbol's configured weight, not what this scan gave it.
    estimated: bool = False


@dataclass(frozen=True)
class HistoryRow:
    """One scan as a controller remembers it; fields the history shape lacks stay empty."""

    controller: str
    time: datetime  # naive UTC, like every time in the database
    message_id: str  # without angle brackets; "" when the message had none
    user: str  # authenticated user, possibly cut at 31 bytes; "" when not authenticated
    action: str
    score: float | None
    required_score: float | None
    symbols: tuple[Symbol, ...] = ()
    ip: str = ""
    sender: str = ""
    recipients: tuple[str, ...] = ()
    subject: str = ""
    size: int | None = None
    digest: str = ""  # content digest named by the HELPDESK_DIGEST rule, where it fired

    @property
    def user_truncated(self) -> bool:
        return user_may_be_truncated(self.user)

    @property
    def authenticated(self) -> bool:
        return bool(self.user)

    @property
    def rejected(self) -> bool:
        return self.action in REJECT_ACTIONS

    def user_matches(self, address: str) -> bool:
        return user_matches(self.user, address)

    def as_json(self) -> dict[str, Any]:
        return {
            "controller": self.controller,
            "time": self.time.isoformat() + "Z",
            "message_id": self.message_id,
            "user": self.user,
            "user_truncated": self.user_truncated,
            "action": self.action,
            "score": self.score,
            "required_score": self.required_score,
            "symbols": [
                {
                    "name": s.name,
                    "score": s.score,
                    "estimated": s.estimated,
                    "options": list(s.options),
                }
                for s in self.symbols
            ],
            "ip": self.ip,
            "sender": self.sender,
            "recipients": list(self.recipients),
            "subject": self.subject,
        }


def user_may_be_truncated(user: str) -> bool:
    # A cut inside a multi-byte character may leave a replacement char or a shorter string.
    return _bytes(user.rstrip("\ufffd")) >= USER_FIELD_BYTES - 3


def _bytes(text: str) -> int:
    # A JSON reply may carry a lone surrogate (`"\udcfc"`): counted, never a traceback.
    return len(text.encode("utf-8", "surrogatepass"))


def user_matches(reported: str, address: str) -> bool:
    """Does the user rspamd reported stand for this full address? Case-insensitive."""
    if not reported or not address:
        return False
    reported, address = reported.casefold(), address.strip().casefold()
    if reported == address:
        return True
    if not user_may_be_truncated(reported):
        return False
    stem = reported.rstrip("\ufffd")
    return _bytes(address) > _bytes(stem) and address.startswith(stem)


def as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _no_unknown(value: Any) -> str:
    text = as_text(value)
    return "" if text in ("unknown", "undef") else text


def _symbols(raw: Any) -> tuple[Symbol, ...]:
    if not isinstance(raw, dict):
        return ()
    parsed = []
    for name, data in raw.items():
        data = data if isinstance(data, dict) else {}
        score = finite_number(data.get("metric_score", data.get("score")))
        options = data.get("options") or ()
        parsed.append(
            (
                str(name),
                score,
                tuple(str(o) for o in options) if isinstance(options, list) else (),
                as_text(data.get("description")),
            )
        )
    # The built-in history (rspamd 3.4) stores every symbol's score as 0: unknown, not zero.
    unknown = bool(parsed) and all(not p[1] for p in parsed)
    out = [Symbol(n, None if unknown else sc, o, d) for n, sc, o, d in parsed]
    out.sort(key=_symbol_order)
    return tuple(out)


# stack/rspamd/helpdesk_release.lua: HELPDESK_DIGEST (options: digest, full user) and
# HELPDESK_DIGEST_<hex> (the digest in the name, for Exim and for the built-in history, which
# keeps symbol names but no options).
DIGEST_SYMBOL = "HELPDESK_DIGEST"
_DIGEST_NAME = re.compile(r"HELPDESK_DIGEST_([0-9a-f]{32,64})")


def _digest_and_user(symbols: tuple[Symbol, ...]) -> tuple[str, str]:
    digest = user = ""
    for s in symbols:
        named = _DIGEST_NAME.fullmatch(s.name)
        if named:
            digest = digest or named.group(1)
        elif s.name == DIGEST_SYMBOL and s.options:
            digest = digest or s.options[0].lower()
            user = s.options[1] if len(s.options) > 1 else ""
    return digest, user


def _symbol_order(s: Symbol) -> tuple[float, str]:
    return (-(abs(s.score) if s.score is not None else 0.0), s.name)


def _row(controller: str, raw: dict[str, Any]) -> HistoryRow:
    unix = finite_number(raw.get("unix_time"))
    if unix is None:
        raise ValueError("row without unix_time")
    recipients = raw.get("rcpt_smtp") or raw.get("rcpt") or ()
    if isinstance(recipients, str):
        recipients = [recipients]
    size = finite_number(raw.get("size"))
    symbols = _symbols(raw.get("symbols"))
    digest, full_user = _digest_and_user(symbols)
    user = _no_unknown(raw.get("user"))
    if full_user and user_matches(user, full_user):
        user = full_user  # the rule's option has the login the history may have cut
    return HistoryRow(
        controller=controller,
        time=datetime.fromtimestamp(unix, UTC).replace(tzinfo=None),
        message_id=_no_unknown(raw.get("message-id", raw.get("id"))).strip("<>"),
        user=user,
        action=as_text(raw.get("action")) or "no action",
        score=finite_number(raw.get("score")),
        required_score=finite_number(raw.get("required_score")),
        # The digest rule's symbols carry data, not a verdict: not listed among the symbols.
        symbols=tuple(s for s in symbols if not s.name.startswith(DIGEST_SYMBOL)),
        digest=digest,
        ip=_no_unknown(raw.get("ip")),
        sender=_no_unknown(raw.get("sender_smtp")),
        recipients=tuple(str(r) for r in recipients if r and r != "unknown"),
        subject=_no_unknown(raw.get("subject")),
        size=int(size) if size is not None else None,
    )


def parse_history(controller: str, data: Any) -> list[HistoryRow]:
    """Both shapes: the built-in list (oldest first) and history_redis's {version: 2, rows}."""
    if isinstance(data, dict) and "rows" in data:
        rows = data["rows"]
    elif isinstance(data, list):
        rows = data
    else:
        raise ValueError("history is neither a list nor {version, rows}")
    if not isinstance(rows, list):
        raise ValueError("history rows is not a list")
    parsed = [_row(controller, r) for r in rows if isinstance(r, dict)]
    parsed.sort(key=lambda r: r.time, reverse=True)
    return parsed


def with_weights(row: HistoryRow, weights: dict[str, tuple[float | None, str]]) -> HistoryRow:
    """Fill symbols without a score with their configured weight (marked `estimated`)."""
    if not any(s.score is None for s in row.symbols):
        return row
    symbols = []
    for s in row.symbols:
        if s.score is None and s.name in weights:
            weight, description = weights[s.name]
            s = s._replace(score=weight, description=s.description or description, estimated=True)
        symbols.append(s)
    symbols.sort(key=_symbol_order)
    return replace(row, symbols=tuple(symbols))


def filter_rows(
    rows: Iterable[HistoryRow],
    *,
    user: str | None = None,
    action: str | None = None,
    min_score: float | None = None,
    since: datetime | None = None,
) -> list[HistoryRow]:
    out = []
    for row in rows:
        if user and not row.user_matches(user):
            continue
        if action and row.action != action:
            continue
        if min_score is not None and (row.score is None or row.score < min_score):
            continue
        if since and row.time < since:
            continue
        out.append(row)
    return out
