"""Every Sieve script Dovecot runs for a mailbox, in order, with the rule that decides whether
the next one runs: the `sieve_before` scripts (among them the helpdesk's script from the
database: spam ladder, sender lists, forwards, auto-reply), the customer's own active script,
read through a least-privilege wrapper (`[sieve] rules_command`), then the `sieve_after`
scripts. Where the global scripts are is read from Dovecot's settings through
`[sieve] doveconf_command` (docs/forwards.md, "Every script of a mailbox").

Pigeonhole runs the next script only when the previous one kept the message in the inbox:
a ladder's `fileinto "Junk"` or a delete means the customer's rules never see that mail.
Every script but the helpdesk's own is also read rule by rule into plain words.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from helpdesk.errors import ConfigError, PolicyError
from helpdesk.forwards.rules_words import Reading, read_rules
from helpdesk.i18n import M, Text

if TYPE_CHECKING:
    from helpdesk.config import Config

DEADLINE = 20.0
OUTPUT_CAP = 1_000_000


@dataclass(frozen=True)
class Script:
    name: str
    source: str  # "helpdesk" | "before" | "personal" | "after"
    text: str
    note: Text
    reading: Reading | None = None  # None: the helpdesk's own script, or not read
    location: str = ""  # Dovecot's location of a global script

    def as_json(self) -> dict[str, Any]:
        out = {"name": self.name, "source": self.source, "text": self.text,
               "note_message": self.note.as_json()}  # fmt: skip
        if self.location:
            out["location"] = self.location
        if self.reading is not None:
            out.update(self.reading.as_json())
        return out


def _command(config: Config | None, key: str) -> tuple[str, ...]:
    raw = config.section("sieve").get(key, []) if config is not None else []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        if key == "rules_command":
            raise ConfigError(M("[sieve] rules_command must be a list of strings"))
        raise ConfigError(M("[sieve] doveconf_command must be a list of strings"))
    return tuple(raw)


def rules_command(config: Config | None) -> tuple[str, ...]:
    return _command(config, "rules_command")


def doveconf_command(config: Config | None) -> tuple[str, ...]:
    return _command(config, "doveconf_command")


def run_rules(command: tuple[str, ...], *args: str) -> str:
    """One verb of `[sieve] rules_command` (list, get, stat, deactivate): its output, capped,
    within the deadline, or one PolicyError line."""
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
    for line in run_rules(command, "list", address).splitlines():
        name, _, flag = line.rstrip().rpartition(" ")
        if flag == "ACTIVE" and name:
            return name.strip(), run_rules(command, "get", address, name.strip())
    return None


HELPDESK_NOTE = (
    "runs first (sieve_before); the next script runs only if this one kept "
    "the message in the inbox: Junk, delete and a forward without a copy end here"
)
SETTING = re.compile(r"^\s*sieve_(before|after)(\d*)\s*=\s*(.*?)\s*$")


def global_locations(command: tuple[str, ...]) -> dict[str, list[str]]:
    """{"before": [...], "after": [...]}: Dovecot's sieve_before/sieve_after locations in the
    order Pigeonhole runs them (sieve_before, sieve_before2, ...), from `doveconf plugin`."""
    try:
        done = subprocess.run([*command, "plugin"], capture_output=True, timeout=DEADLINE,
                              check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PolicyError(M("[sieve] doveconf_command failed: {error}", error=str(exc))) from None
    if done.returncode != 0:
        error = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise PolicyError(
            M("[sieve] doveconf_command failed: {error}", error=(error or ["exit"])[-1][:200])
        )
    found: dict[str, list[tuple[int, str]]] = {"before": [], "after": []}
    for line in done.stdout[:OUTPUT_CAP].decode("utf-8", "replace").splitlines():
        match = SETTING.match(line)
        if match and match.group(3):
            found[match.group(1)].append((int(match.group(2) or 1), match.group(3)))
    return {kind: [value for _, value in sorted(pairs)] for kind, pairs in found.items()}


def is_helpdesk_location(location: str) -> bool:
    # docs/spam.md: the helpdesk's script comes from the dict named helpdesk_spam.
    return location.startswith("dict:") and "helpdesk_spam" in location


def scripts_at(location: str, source: str) -> list[Script]:
    """The scripts of one global location: a file, or every *.sieve of a directory in
    byte order (Pigeonhole's order). Only `file:` locations can be read from here."""
    kind, colon, rest = location.partition(":")
    if colon and kind != "file" and "/" not in kind:
        return [Script(location, source, "", M("not read: only file locations are read"),
                       location=location)]  # fmt: skip
    path = Path((rest if colon and kind == "file" else location).split(";", 1)[0])
    try:
        files = (sorted((p for p in path.iterdir() if p.name.endswith(".sieve")),
                        key=lambda p: p.name.encode()) if path.is_dir() else [path])  # fmt: skip
    except OSError as exc:
        return [_unreadable(location, source, exc)]
    out = []
    for file in files:
        try:
            with file.open("rb") as handle:
                body = handle.read(OUTPUT_CAP).decode("utf-8", "replace")
        except OSError as exc:
            out.append(_unreadable(str(file), source, exc, location))
            continue
        out.append(Script(file.name, source, body, _global_note(source), read_rules(body),
                          location))  # fmt: skip
    return out


def _unreadable(name: str, source: str, exc: OSError, location: str = "") -> Script:
    error = exc.strerror or type(exc).__name__
    return Script(name, source, "", M("cannot be read here: {error}", error=error),
                  location=location or name)  # fmt: skip


def _global_note(source: str) -> Text:
    if source == "before":
        return M(
            "a global script before the customer's (sieve_before); the next script runs only "
            "if this one kept the message in the inbox"
        )
    return M(
        "a global script after the customer's (sieve_after): runs only if every script "
        "before kept the message in the inbox"
    )


def chain(conn: Connection, config: Config | None, address: str) -> list[Script]:
    address = address.strip().lower()
    scripts: list[Script] = []
    own = conn.execute(
        text("SELECT script FROM helpdesk_sieve WHERE username = :u"), {"u": address}
    ).scalar()
    helpdesk = None
    if own is not None:
        helpdesk = Script("helpdesk-spam", "helpdesk", own, M(HELPDESK_NOTE))
    places = global_locations(command) if (command := doveconf_command(config)) else None
    for location in (places or {}).get("before", []):
        if is_helpdesk_location(location):
            if helpdesk is not None:
                scripts.append(helpdesk)
                helpdesk = None
            continue
        scripts.extend(scripts_at(location, "before"))
    if helpdesk is not None:
        scripts.insert(0, helpdesk)
    command = rules_command(config)
    personal = active_personal(command, address) if command else None
    if personal is not None:
        name, body = personal
        scripts.append(
            Script(
                name,
                "personal",
                body,
                M(
                    "the customer's own active script: runs only if every script before kept "
                    "the message in the inbox; the helpdesk does not edit it"
                ),
                read_rules(body),
            )
        )
    for location in (places or {}).get("after", []):
        scripts.extend(scripts_at(location, "after"))
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
    run_rules(command, "deactivate", address)
    return personal[0]
