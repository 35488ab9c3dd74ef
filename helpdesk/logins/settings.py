"""The `[logins]` and `[client]` sections of the config.

Every key has a default (helpdesk.toml.example and docs/logins.md describe them). Exim's
mainlog is read from the `[sendlog] paths`, so both readers always see the same files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpdesk.durations import parse_since
from helpdesk.errors import ConfigError, HelpdeskError
from helpdesk.i18n import M

if TYPE_CHECKING:
    from helpdesk.config import Config

# Debian's Dovecot logs through syslog into mail.log unless log_path is set.
DEFAULT_DOVECOT_PATHS = ("/var/log/mail.log*",)
# An attempt without a user name belongs to a mailbox when the same client address logged in
# (or failed) as it this close in time.
ATTRIBUTION = timedelta(minutes=10)


def _where(config: Config | None, section: str) -> str:
    if config is not None and config.path:
        return f"{config.path}: [{section}]"
    return f"[{section}]"


def _paths(raw: Any, where: str, key: str, base: Path | None) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw or not all(isinstance(x, str) and x for x in raw):
        raise ConfigError(
            M("{where}: {key} must name at least one file or glob", where=where, key=key)
        )
    out = []
    for value in raw:
        text = os.path.expanduser(value)
        if base is not None and not os.path.isabs(text):
            text = str(base / text)
        out.append(text)
    return tuple(out)


@dataclass(frozen=True)
class LoginSettings:
    dovecot_paths: tuple[str, ...] = DEFAULT_DOVECOT_PATHS
    exim_paths: tuple[str, ...] = ()
    journal: bool = False
    since: timedelta = timedelta(days=2)
    # fail2ban jails whose bans the timeline shows ([] = none)
    jails: tuple[str, ...] = ("dovecot", "exim")
    # fail2ban's log (readable by group adm): who is banned since when
    fail2ban_log: str = "/var/log/fail2ban.log"
    # the one command allowed to lift a ban, called as `<command…> <jail> <ip>`
    unban_command: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Config | None) -> LoginSettings:
        from helpdesk.sendlog.settings import SendlogSettings

        table = config.section("logins") if config is not None else {}
        where = _where(config, "logins")
        base = config.path.parent if config is not None and config.path is not None else None
        values: dict[str, Any] = {"exim_paths": SendlogSettings.from_config(config).paths}
        for key, raw in table.items():
            if key == "dovecot_paths":
                # [] where Dovecot logs only to the journal (journal = true)
                values[key] = () if raw == [] else _paths(raw, where, key, base)
            elif key == "journal":
                if not isinstance(raw, bool):
                    raise ConfigError(M("{where}: journal must be true or false", where=where))
                values[key] = raw
            elif key == "since":
                try:
                    values[key] = parse_since(str(raw), key)
                except HelpdeskError:
                    raise ConfigError(
                        M("{where}: since has a wrong value: {value!r}", where=where, value=raw)
                    ) from None
            elif key == "fail2ban_log":
                values[key] = _paths(raw, where, key, base)[0]
            elif key == "unban_command":
                if isinstance(raw, str):
                    raw = [raw]
                if (
                    not isinstance(raw, list)
                    or not raw
                    or not all(isinstance(x, str) and x for x in raw)
                ):
                    raise ConfigError(
                        M("{where}: unban_command must be a command and its arguments", where=where)
                    )
                values[key] = tuple(raw)
            elif key == "jails":
                if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
                    raise ConfigError(M("{where}: jails must be a list of names", where=where))
                values[key] = tuple(raw)
            else:
                raise ConfigError(M("{where}: unknown key {key!r}", where=where, key=key))
        if values.get("dovecot_paths") == () and not values.get("journal"):
            raise ConfigError(
                M("{where}: dovecot_paths may be empty only with journal = true", where=where)
            )
        return cls(**values)


@dataclass(frozen=True)
class ClientSettings:
    """What the customer's mail program must use, as the hoster's letter says it."""

    imap_host: str = "imap.example.net"
    imap_port: int = 993
    imap_security: str = "ssl"  # ssl | starttls
    smtp_host: str = "smtp.example.net"
    smtp_port: int = 465
    smtp_security: str = "ssl"
    # login name: "address" (the full address, the only choice the stack's Dovecot accepts)
    login: str = "address"
    support: str = ""

    @classmethod
    def from_config(cls, config: Config | None) -> ClientSettings:
        table = config.section("client") if config is not None else {}
        where = _where(config, "client")
        values: dict[str, Any] = {}
        for key, raw in table.items():
            if key in ("imap_host", "smtp_host", "support"):
                if not isinstance(raw, str) or len(raw) > 200 or "\n" in raw:
                    raise ConfigError(
                        M("{where}: {key} must be one line of text", where=where, key=key)
                    )
                values[key] = raw.strip()
            elif key in ("imap_port", "smtp_port"):
                if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw < 65536:
                    raise ConfigError(
                        M("{where}: {key} must be a port number", where=where, key=key)
                    )
                values[key] = raw
            elif key in ("imap_security", "smtp_security"):
                if raw not in ("ssl", "starttls"):
                    raise ConfigError(
                        M('{where}: {key} must be "ssl" or "starttls"', where=where, key=key)
                    )
                values[key] = raw
            elif key == "login":
                if raw != "address":
                    raise ConfigError(M('{where}: login must be "address"', where=where))
                values[key] = raw
            else:
                raise ConfigError(M("{where}: unknown key {key!r}", where=where, key=key))
        return cls(**values)
