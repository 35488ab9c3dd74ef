"""Every Sieve script Dovecot runs for a mailbox, in order, with the rule that decides whether
the next one runs: the helpdesk's script from the database (spam ladder, sender lists,
forwards, auto-reply), then the customer's own active script, read through a least-privilege
wrapper (`[sieve] rules_command`, docs/forwards.md).

Pigeonhole runs the next script only when the previous one kept the message in the inbox:
a ladder's `fileinto "Junk"` or a delete means the customer's rules never see that mail.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from helpdesk.errors import ConfigError, PolicyError
from helpdesk.i18n import M, Text

if TYPE_CHECKING:
    from helpdesk.config import Config

DEADLINE = 20.0
OUTPUT_CAP = 1_000_000


@dataclass(frozen=True)
class Script:
    name: str
    source: str  # "helpdesk" | "personal"
    text: str
    note: Text

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "text": self.text,
                "note_message": self.note.as_json()}  # fmt: skip


def rules_command(config: Config | None) -> tuple[str, ...]:
    raw = config.section("sieve").get("rules_command", []) if config is not None else []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        raise ConfigError(M("[sieve] rules_command must be a list of strings"))
    return tuple(raw)


def _run(command: tuple[str, ...], *args: str) -> str:
    try:
        done = subprocess.run([*command, *args], capture_output=True, timeout=DEADLINE, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PolicyError(M("[sieve] rules_command failed: {error}", error=str(exc))) from None
    if done.returncode != 0:
        error = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise PolicyError(
            M("[sieve] rules_command failed: {error}", error=(error or ["exit"])[-1][:200])
        )
    return done.stdout[:OUTPUT_CAP].decode("utf-8", "replace")


def active_personal(command: tuple[str, ...], address: str) -> tuple[str, str] | None:
    """(name, text) of the customer's active script, or None."""
    for line in _run(command, "list", address).splitlines():
        name, _, flag = line.rstrip().rpartition(" ")
        if flag == "ACTIVE" and name:
            return name.strip(), _run(command, "get", address, name.strip())
    return None


def chain(conn: Connection, config: Config | None, address: str) -> list[Script]:
    address = address.strip().lower()
    scripts = []
    own = conn.execute(
        text("SELECT script FROM helpdesk_sieve WHERE username = :u"), {"u": address}
    ).scalar()
    if own is not None:
        scripts.append(
            Script(
                "helpdesk-spam",
                "helpdesk",
                own,
                M(
                    "runs first (sieve_before); the next script runs only if this one kept "
                    "the message in the inbox: Junk, delete and a forward without a copy end here"
                ),
            )
        )
    command = rules_command(config)
    if not command:
        return scripts
    personal = active_personal(command, address)
    if personal is not None:
        name, body = personal
        scripts.append(
            Script(
                name,
                "personal",
                body,
                M(
                    "the customer's own active script (not understood: shown as text; "
                    "the helpdesk does not edit it)"
                ),
            )
        )
    return scripts


def deactivate(conn: Connection, config: Config | None, address: str, *, ticket: str | None,
               reason: str | None, operator: Any) -> str:  # fmt: skip
    """Deactivate the customer's active script (kept, not deleted), with an audit row."""
    from helpdesk.mailcenter.audit import record
    from helpdesk.mailcenter.tickets import check_ticket

    ticket = check_ticket(ticket)
    command = rules_command(config)
    if not command:
        raise PolicyError(M("[sieve] rules_command is not set: scripts cannot be deactivated"))
    personal = active_personal(command, address)
    if personal is None:
        raise PolicyError(M("{address} has no active script; nothing changed", address=address))
    # The audit row first, in the caller's transaction: if the command fails, it rolls back.
    record(conn, operator=operator, action="sieve.deactivate", target=address, ticket=ticket,
           reason=reason, before={"active": personal[0]}, after={"active": None})  # fmt: skip
    _run(command, "deactivate", address)
    return personal[0]
