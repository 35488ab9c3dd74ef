"""Ending a mailbox's open IMAP/POP3 sessions after a password reset (`doveadm kick`), so that
an attacker logged in with the old password loses access at once.

The helpdesk runs one command per IMAP host of `[dovecot] hosts`: `[dovecot] kick_command`
with `{host}` replaced and the address appended, e.g. `ssh {host} sudo -n
/usr/local/sbin/helpdesk-doveadm-kick` (docs/logins.md has the wrapper). The wrapper prints
`doveadm who ADDRESS` before kicking: its lines say how many sessions were ended. Every host
has a deadline; a host that fails is named and the others are still asked.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from helpdesk.i18n import M, Mn, Text

if TYPE_CHECKING:
    from helpdesk.config import Config

DEADLINE = 20.0


@dataclass(frozen=True)
class DovecotSettings:
    hosts: tuple[str, ...] = ("localhost",)
    kick_command: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Config | None) -> DovecotSettings:
        from helpdesk.errors import ConfigError

        table = config.section("dovecot") if config is not None else {}
        where = f"{config.path}: [dovecot]" if config is not None and config.path else "[dovecot]"
        values: dict[str, Any] = {}
        for key, raw in table.items():
            if key not in ("hosts", "kick_command"):
                raise ConfigError(M("{where}: unknown key {key!r}", where=where, key=key))
            if isinstance(raw, str):
                raw = [raw]
            if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
                raise ConfigError(
                    M("{where}: {key} must be a list of strings", where=where, key=key)
                )
            values[key] = tuple(raw)
        return cls(**values)


@dataclass
class KickResult:
    sessions: int = 0
    hosts: list[str] = field(default_factory=list)  # asked successfully
    failed: dict[str, str] = field(default_factory=dict)  # host -> why
    configured: bool = True

    def text(self) -> Text:
        if not self.configured:
            return M(
                "open IMAP/POP3 sessions were not ended: no [dovecot] kick_command is configured"
            )
        text = Mn(
            "{n} open IMAP/POP3 session ended",
            "{n} open IMAP/POP3 sessions ended",
            self.sessions,
        )
        if self.failed:
            hosts = ", ".join(f"{h} ({why})" for h, why in self.failed.items())
            return M("{done}; not asked: {hosts}", done=text, hosts=hosts)
        return text

    def as_json(self) -> dict[str, Any]:
        return {
            "sessions": self.sessions,
            "hosts": self.hosts,
            "failed": self.failed,
            "configured": self.configured,
            "text": self.text().english(),
            "text_message": self.text().as_json(),
        }


def _sessions(output: str, address: str) -> int:
    """The session count `doveadm who` gives for address: `user  N proto (pids) (ips)`."""
    pattern = re.compile(r"^" + re.escape(address) + r"\s+(\d+)\s", re.IGNORECASE)
    return sum(int(m.group(1)) for line in output.splitlines() if (m := pattern.match(line)))


def kick_sessions(settings: DovecotSettings, address: str) -> KickResult:
    """Run the kick command for `address` on every host."""
    if not settings.kick_command:
        return KickResult(configured=False)
    result = KickResult()
    for host in settings.hosts:
        argv = [part.replace("{host}", host) for part in settings.kick_command] + [address]
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=DEADLINE, check=False
            )
        except subprocess.TimeoutExpired:
            result.failed[host] = f"no answer within {DEADLINE:.0f} s"
            continue
        except OSError as exc:
            result.failed[host] = exc.strerror or type(exc).__name__
            continue
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines()
            result.failed[host] = f"exit {done.returncode}" + (
                f": {said[-1][:120]}" if said else ""
            )
            continue
        result.hosts.append(host)
        result.sessions += _sessions(done.stdout, address)
    return result


def kick_and_record(
    db: Any, config: Config | None, address: str, *, ticket: str, operator: Any
) -> KickResult:
    """After a password reset has been committed: end the sessions and write an audit row
    (`kick_sessions`) saying how many were ended and where. Called by the reset."""
    from helpdesk.mailcenter.audit import record

    result = kick_sessions(DovecotSettings.from_config(config), address)
    if not result.configured:
        # Nothing was asked: the reset's own audit row is the whole story.
        return result
    with db.begin() as conn:
        record(
            conn,
            operator=operator,
            action="kick_sessions",
            target=address,
            ticket=ticket,
            after={
                "sessions": result.sessions,
                "hosts": ",".join(result.hosts),
                "failed": ",".join(result.failed),
                "configured": result.configured,
            },
        )
    return result
