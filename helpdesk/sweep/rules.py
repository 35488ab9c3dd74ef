"""The customer's personal Sieve scripts in the sweep: a script that is new, whose content
changed (sha256) or that was activated since the helpdesk last saw it (`sieve_seen`) becomes a
`rule` row in `mailbox_changes`, at the file's modification time when the rules command gives
one (`stat`), else when the helpdesk first saw it. Undoing it deactivates the script (kept, not
deleted) with a ticket and an audit row. The scripts are read through `[sieve] rules_command`
(docs/forwards.md, "The customer's own rules").
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from helpdesk.errors import HelpdeskError, PolicyError
from helpdesk.forwards.chain import rules_command, run_rules
from helpdesk.i18n import M, Text
from helpdesk.mailcenter.audit import utcnow
from helpdesk.mailcenter.mailboxes import Mailbox
from helpdesk.mailcenter.schema import mailbox_changes
from helpdesk.mailcenter.sieve_seen import sieve_seen

if TYPE_CHECKING:
    from helpdesk.config import Config

MAX_SCRIPTS = 20
# For a script the parser cannot read: redirect "target" (with :copy or not) anywhere in it.
_REDIRECT = re.compile(r'\bredirect\s+(?::copy\s+)?"((?:[^"\\]|\\.)*)"', re.IGNORECASE)


@dataclass(frozen=True)
class Personal:
    """One of the customer's scripts as the rules command shows it now."""

    name: str
    active: bool
    sha256: str
    modified_at: datetime | None
    redirects: tuple[str, ...]


def listing(command: tuple[str, ...], address: str) -> list[tuple[str, bool]]:
    """(name, active) of each of the customer's scripts, as `doveadm sieve list` prints them."""
    out = []
    # One name a line; not splitlines(), which also breaks at NEL and other separators.
    for line in run_rules(command, "list", address).split("\n"):
        line = line.rstrip()
        name, _, flag = line.rpartition(" ")
        if flag == "ACTIVE" and name.strip():
            out.append((name.strip(), True))
        elif line.strip():
            out.append((line.strip(), False))
    return out[:MAX_SCRIPTS]


def redirects(script: str) -> tuple[str, ...]:
    """The addresses the script redirects to, in order, each once."""
    from sievelib.parser import Parser

    found: list[str] = []
    parser = Parser()
    try:
        parsed = parser.parse(script.encode("utf-8", "replace"))
    except (RecursionError, ValueError, IndexError, KeyError, AttributeError, TypeError):
        parsed = False
    if parsed:
        stack = list(parser.result)
        while stack:
            command = stack.pop(0)
            if command.name == "redirect":
                found.append(str(command.arguments.get("address", "")).strip('"'))
            stack[:0] = list(command.children)
    else:
        found = [m.group(1) for m in _REDIRECT.finditer(script)]
    return tuple(dict.fromkeys(t.strip().lower() for t in found if t.strip()))


def _modified(command: tuple[str, ...], address: str, name: str) -> datetime | None:
    try:
        seconds = run_rules(command, "stat", address, name).strip()
    except PolicyError:
        return None  # a wrapper without `stat`: the time the helpdesk first sees it
    if not seconds.isdigit():
        return None
    return datetime.fromtimestamp(int(seconds), UTC).replace(tzinfo=None)


def read_scripts(config: Config | None, address: str) -> list[Personal]:
    """Every script of the customer now; PolicyError when the rules command fails or is unset."""
    command = rules_command(config)
    if not command:
        raise PolicyError(
            M("[sieve] rules_command is not set: the customer's scripts are not read")
        )
    out = []
    for name, active in listing(command, address):
        try:
            text = run_rules(command, "get", address, name)
        except PolicyError:
            # A name the command refuses (or cannot find) must not hide the script: it is
            # listed all the same, by its name, with what it does unknown.
            text = ""
        out.append(
            Personal(
                name=name,
                active=active,
                sha256=hashlib.sha256(text.encode("utf-8", "replace")).hexdigest(),
                modified_at=_modified(command, address, name),
                redirects=redirects(text),
            )
        )
    return out


def record_scripts(conn: Connection, mailbox: Mailbox, scripts: list[Personal]) -> int:
    """Note every script that is new, changed or newly active as a `rule` change; how many."""
    seen = {
        row.name: row
        for row in conn.execute(select(sieve_seen).where(sieve_seen.c.mailbox_id == mailbox.id))
    }
    now = utcnow()
    noted = 0
    for script in scripts:
        old = seen.pop(script.name, None)
        changed = old is None or old.sha256 != script.sha256
        if not changed and not (script.active and not old.active):
            if old.active != script.active:
                conn.execute(
                    update(sieve_seen).where(sieve_seen.c.id == old.id).values(active=False)
                )
            continue
        # An activation leaves the file's time as it was: it happened now, as far as anyone knows.
        at = (script.modified_at if changed else None) or now
        change_id = conn.execute(
            insert(mailbox_changes).values(
                at=at,
                address=mailbox.address,
                kind="rule",
                op="insert" if old is None else "update",
                detail=script.name[:320],
            )
        ).inserted_primary_key[0]
        values = {
            "sha256": script.sha256,
            "active": script.active,
            "modified_at": script.modified_at,
            "seen_at": now,
            "redirects": " ".join(script.redirects)[:1000],
            "change_id": change_id,
        }
        if old is None:
            conn.execute(
                insert(sieve_seen).values(mailbox_id=mailbox.id, name=script.name, **values)
            )
        else:
            conn.execute(update(sieve_seen).where(sieve_seen.c.id == old.id).values(**values))
        noted += 1
    for gone in seen.values():
        # Removed: adding it again is new again.
        conn.execute(delete(sieve_seen).where(sieve_seen.c.id == gone.id))
    return noted


def refresh(db: Any, config: Config | None, mailbox: Mailbox) -> Text | None:
    """Read the customer's scripts and note the changes; a note when they cannot be read."""
    try:
        scripts = read_scripts(config, mailbox.address)
    except PolicyError as exc:
        return M("rules not read: {reason}", reason=exc.message)
    try:
        with db.begin() as conn:
            record_scripts(conn, mailbox, scripts)
    except HelpdeskError:
        # Another operator's sweep of the same mailbox noted the same script first (its
        # unique row): read what it wrote and note the rest.
        with db.begin() as conn:
            record_scripts(conn, mailbox, scripts)
    return None


def deactivate(config: Config | None, address: str, name: str) -> None:
    """Deactivate `name` if it is the active script; the caller writes the audit row first, in
    the same transaction, so that a failure here leaves none."""
    command = rules_command(config)
    if not command:
        raise PolicyError(M("[sieve] rules_command is not set: scripts cannot be deactivated"))
    if (name, True) not in listing(command, address):
        raise PolicyError(
            M("the script {name} is not active: it does not run; nothing changed", name=name)
        )
    run_rules(command, "deactivate", address)
