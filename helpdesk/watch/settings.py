"""The `[watch]` section: the hard lines, the automatic ticket, the allow-list, who is told.

Every key has a default, so a config without the section works (then nobody is mailed: set
`notify`). Each wrong value is one line naming the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from helpdesk.errors import ConfigError
from helpdesk.i18n import M

if TYPE_CHECKING:
    from helpdesk.config import Config

_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")
_ALLOW = re.compile(r"^([^@\s]+)?@[^@\s]+$")
_TICKET = re.compile(r"^[\w#-]{1,64}$")
_COUNTS = {
    "spam_messages": (5, 1, 10_000),
    "spam_minutes": (10, 1, 24 * 60),
    "limit_hits": (3, 1, 10_000),
    "limit_minutes": (10, 1, 24 * 60),
    "score": (0, 0, 100),
    "score_minutes": (60, 5, 24 * 60),
}
_KEYS = {*_COUNTS, "ticket", "allow", "notify", "notify_from", "sendmail", "poll_seconds"}


@dataclass(frozen=True)
class WatchSettings:
    # N distinct messages (by digest, else Message-ID) refused as spam within M minutes.
    spam_messages: int = 5
    spam_minutes: int = 10
    # Messages refused by the sending limits within M minutes (each refusal counts).
    limit_hits: int = 3
    limit_minutes: int = 10
    # The send-log ranking's score (0-100, docs/sendlog.md) over the last M minutes; 0 = off.
    score: int = 0
    score_minutes: int = 60
    ticket: str = "AUTO-watch"
    # Addresses or @domains never suspended automatically (limits still apply to them).
    allow: tuple[str, ...] = ()
    notify: str | None = None
    notify_from: str = "helpdesk-watch@localhost"
    # The local MTA's sendmail interface: the notification goes through the local Exim.
    sendmail: tuple[str, ...] = ("/usr/sbin/sendmail", "-t", "-oi")
    poll_seconds: float = 1.0

    def allowed(self, address: str) -> bool:
        address = address.lower()
        domain = "@" + address.rpartition("@")[2]
        return address in self.allow or domain in self.allow


def watch_settings(config: Config) -> WatchSettings:
    section = config.section("watch")
    unknown = sorted(set(section) - _KEYS)
    if unknown:
        raise ConfigError(M("[watch] has no key {key}", key=unknown[0]))
    values: dict[str, Any] = {}
    for key, (_default, low, high) in _COUNTS.items():
        if key in section:
            value = section[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ConfigError(
                    M(
                        "[watch] {key} must be a whole number from {low} to {high}",
                        key=key,
                        low=low,
                        high=high,
                    )
                )
            values[key] = value
    if "ticket" in section:
        if not isinstance(section["ticket"], str) or not _TICKET.match(section["ticket"]):
            raise ConfigError(M("[watch] ticket must be 1 to 64 letters, digits, - or #"))
        values["ticket"] = section["ticket"]
    if "allow" in section:
        allow = section["allow"]
        if not isinstance(allow, list) or not all(
            isinstance(a, str) and (_ADDRESS.match(a) or _ALLOW.match(a)) for a in allow
        ):
            raise ConfigError(M("[watch] allow must be a list of addresses or @domains"))
        values["allow"] = tuple(a.strip().lower() for a in allow)
    for key in ("notify", "notify_from"):
        if key in section:
            if not isinstance(section[key], str) or not _ADDRESS.match(section[key]):
                raise ConfigError(M("[watch] {key} must be one mail address", key=key))
            values[key] = section[key]
    if "sendmail" in section:
        command = section["sendmail"]
        if (
            not isinstance(command, list)
            or not command
            or not all(isinstance(c, str) and c for c in command)
        ):
            raise ConfigError(M("[watch] sendmail must be a command as a list of strings"))
        values["sendmail"] = tuple(command)
    if "poll_seconds" in section:
        value = section["poll_seconds"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.05 <= value <= 60:
            raise ConfigError(M("[watch] poll_seconds must be a number from 0.05 to 60"))
        values["poll_seconds"] = float(value)
    return WatchSettings(**values)
