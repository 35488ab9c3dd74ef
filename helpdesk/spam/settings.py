"""Spam ladders and sender lists in the database: read, inherit, and write with an audit row.

Three scopes: a mailbox (`alice@example.org`), a domain default (`@example.org`) and the site
default (`*`). A mailbox without a ladder of its own uses its domain's, a domain without one the
site's. Each scope's row holds its effective Sieve script; Dovecot reads it through the
`spam_sieve` view (docs/spam.md). Writes that change an inherited ladder regenerate the
scripts of every mailbox row that inherits it, in the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from helpdesk.errors import Conflict, HelpdeskError, NotFound, PolicyError
from helpdesk.i18n import M, Text
from helpdesk.mailcenter.audit import Operator, record, utcnow
from helpdesk.mailcenter.mailboxes import Mailbox, get_mailbox, update_mailbox
from helpdesk.mailcenter.schema import domains, mailboxes, spam_senders, spam_settings
from helpdesk.mailcenter.tickets import check_ticket
from helpdesk.sieve.limits import script_id
from helpdesk.spam.ladder import (
    MAX_ENTRY_LENGTH,
    MAX_SENDERS,
    Ladder,
    ladder_from_json,
    ladder_to_json,
    parse_senders,
    validate,
    validate_senders,
)
from helpdesk.spam.script import SpamOptions, generate

SITE = "*"


class ScriptNotStored(HelpdeskError):
    """The database gave back another script than was written; the transaction rolls back."""


def _read_back(conn: Connection, where: Any, script: str, target: str) -> None:
    """Compare the stored script with the one written, inside the writing transaction.

    A MariaDB with a non-strict sql_mode cuts text at the column's size with only a warning,
    and a column charset without a character replaces it: Dovecot would then fail to compile
    the script (or run another one) while the write looked successful.
    """
    stored = conn.execute(select(spam_settings.c.script).where(where)).scalar()
    if stored == script:
        return
    size = len(script.encode("utf-8"))
    if stored is None:
        raise ScriptNotStored(
            M(
                "{target}: the database gave back no spam script after writing it; "
                "nothing was written",
                target=target,
            )
        )
    if script.startswith(stored):
        raise ScriptNotStored(
            M(
                "{target}: the database kept only {kept} of the {size} bytes of the spam "
                "script (a non-strict MariaDB sql_mode cuts long text); nothing was written",
                target=target,
                kept=str(len(stored.encode("utf-8"))),
                size=str(size),
            )
        )
    pairs = enumerate(zip(stored, script, strict=False))
    same = next((i for i, (a, b) in pairs if a != b), min(len(stored), len(script)))
    raise ScriptNotStored(
        M(
            "{target}: the database changed the spam script from character {position} on "
            "(its column's character set lacks a character of it); nothing was written",
            target=target,
            position=str(same + 1),
        )
    )


@dataclass(frozen=True)
class Scope:
    kind: str  # "mailbox" | "domain" | "site"
    target: str  # alice@example.org | @example.org | *
    key: str  # spam_settings.scope_key
    domain_id: int | None = None
    mailbox: Mailbox | None = None


@dataclass(frozen=True)
class SpamSettings:
    scope: Scope
    ladder: Ladder
    inherited: bool
    inherited_from: str | None
    allow: tuple[str, ...] = ()
    block: tuple[str, ...] = ()
    version: int = 0  # the scope row's version; 0 when it has no row
    own_ladder: bool = field(default=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "address": self.scope.target,
            "scope": self.scope.kind,
            "inherited": self.inherited,
            "inherited_from": self.inherited_from,
            "ladder": ladder_to_json(self.ladder),
            "allow": list(self.allow),
            "block": list(self.block),
        }

    def audit_view(self) -> dict[str, Any]:
        return {
            "ladder": [rule.spec() for rule in self.ladder],
            "inherited": self.inherited,
            "allow": list(self.allow),
            "block": list(self.block),
        }


def read_back_rows(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """`_read_back` for rows inserted in bulk (`helpdesk db demo`): one query for all."""
    stored = dict(conn.execute(select(spam_settings.c.scope_key, spam_settings.c.script)).all())
    for row in rows:
        if stored.get(row["scope_key"]) != row["script"]:
            _read_back(conn, spam_settings.c.scope_key == row["scope_key"], row["script"],
                       row["scope_key"])  # fmt: skip


def _for_audit(view: dict[str, Any]) -> dict[str, Any]:
    """The audit row's copy of a view, bounded so that it fits a MariaDB TEXT column.

    A list within the limits is kept exactly. One from before them (5,000 entries made a
    125 kB row that MariaDB refused, or cut without a word when not strict) is recorded as
    its first MAX_SENDERS entries, each cut to MAX_ENTRY_LENGTH characters, and its total.
    """
    out = dict(view)
    for key in ("allow", "block"):
        entries = view[key]
        if len(entries) > MAX_SENDERS or any(len(e) > MAX_ENTRY_LENGTH for e in entries):
            out[key] = [e[:MAX_ENTRY_LENGTH] for e in entries[:MAX_SENDERS]]
            out[f"{key}_total"] = len(entries)
    return out


def resolve_scope(conn: Connection, target: str) -> Scope:
    target = target.strip().lower()
    if target in (SITE, "site"):
        return Scope("site", SITE, "site")
    if target.startswith("@"):
        name = target[1:]
        domain_id = conn.execute(select(domains.c.id).where(domains.c.name == name)).scalar()
        if domain_id is None:
            raise NotFound(M("no domain {name}", name=name))
        return Scope("domain", target, f"domain:{domain_id}", domain_id=domain_id)
    mailbox = get_mailbox(conn, target)
    return Scope("mailbox", mailbox.address, f"mailbox:{mailbox.id}", mailbox.domain_id, mailbox)


def _row(conn: Connection, key: str):
    return conn.execute(select(spam_settings).where(spam_settings.c.scope_key == key)).first()


def _own_ladder(row) -> Ladder | None:
    if row is None or row.ladder is None:
        return None
    return ladder_from_json(json.loads(row.ladder))


def _inherited(conn: Connection, scope: Scope) -> tuple[Ladder, str | None]:
    """The ladder a scope gets when it has none of its own, and where it comes from."""
    if scope.kind == "mailbox":
        ladder = _own_ladder(_row(conn, f"domain:{scope.domain_id}"))
        if ladder is not None:
            return ladder, f"@{scope.mailbox.domain}" if scope.mailbox else "domain"
    if scope.kind in ("mailbox", "domain"):
        ladder = _own_ladder(_row(conn, "site"))
        if ladder is not None:
            return ladder, SITE
    return (), None


def inherited_ladder(conn: Connection, settings: SpamSettings) -> tuple[Ladder, str | None]:
    """What the scope would get with `--inherit`, for showing it before saving."""
    return _inherited(conn, settings.scope)


def _senders(conn: Connection, mailbox_id: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    rows = conn.execute(
        select(spam_senders.c.list, spam_senders.c.sender)
        .where(spam_senders.c.mailbox_id == mailbox_id)
        .order_by(spam_senders.c.sender)
    ).all()
    allow = tuple(r.sender for r in rows if r.list == "allow")
    block = tuple(r.sender for r in rows if r.list == "block")
    return allow, block


def load(conn: Connection, target: str) -> SpamSettings:
    scope = resolve_scope(conn, target)
    return load_scope(conn, scope)


def load_scope(conn: Connection, scope: Scope) -> SpamSettings:
    row = _row(conn, scope.key)
    own = _own_ladder(row)
    allow: tuple[str, ...] = ()
    block: tuple[str, ...] = ()
    if scope.mailbox is not None:
        allow, block = _senders(conn, scope.mailbox.id)
    if own is not None:
        ladder, inherited, source = own, False, None
    else:
        ladder, source = _inherited(conn, scope)
        inherited = scope.kind != "site"
    return SpamSettings(
        scope=scope,
        ladder=ladder,
        inherited=inherited,
        inherited_from=source if inherited else None,
        allow=allow,
        block=block,
        version=row.version if row is not None else 0,
        own_ladder=own is not None,
    )


def stored_script(conn: Connection, target: str, options: SpamOptions) -> str:
    """What Dovecot runs for this scope: the stored script, else the one it would get."""
    settings = load(conn, target)
    if settings.scope.kind == "mailbox":
        from helpdesk.mailcenter.schema import metadata

        view = metadata.tables.get("spam_sieve")
        if view is None:
            from sqlalchemy import column, table

            view = table("spam_sieve", column("username"), column("script"))
        script = conn.execute(
            select(view.c.script).where(view.c.username == settings.scope.target)
        ).scalar()
    else:
        row = _row(conn, settings.scope.key)
        script = row.script if row is not None else None
    if script is None:
        script = render(settings, options)
    return script


def render(settings: SpamSettings, options: SpamOptions) -> str:
    return generate(
        settings.ladder,
        settings.allow,
        settings.block,
        options=options,
        label=settings.scope.target,
    )


def check(
    settings: SpamSettings, ladder: Ladder | None, allow: list[str] | None, block: list[str] | None
) -> tuple[Ladder | None, tuple[str, ...], tuple[str, ...], list[Text]]:
    """Validate a proposed change without writing: (ladder, allow, block, warnings)."""
    address = settings.scope.mailbox.address if settings.scope.mailbox else None
    warnings = validate(ladder, address) if ladder is not None else []
    new_allow = parse_senders(allow) if allow is not None else settings.allow
    new_block = parse_senders(block) if block is not None else settings.block
    if (new_allow or new_block) and settings.scope.kind != "mailbox":
        raise PolicyError(M("sender lists belong to a mailbox, not to a domain or site default"))
    validate_senders(new_allow, new_block)
    return ladder, new_allow, new_block, warnings


def save(
    conn: Connection,
    current: SpamSettings,
    *,
    ladder: Ladder | None,
    inherit: bool = False,
    allow: list[str] | None = None,
    block: list[str] | None = None,
    ticket: str | None,
    reason: str | None = None,
    operator: Operator,
    options: SpamOptions,
) -> tuple[SpamSettings, list[Text]]:
    """Write a change made on top of `current` (as loaded), with its audit row.

    `ladder=None` keeps the ladder as it is; `inherit=True` drops the scope's own ladder.
    Raises Conflict if the scope changed since `current` was loaded; nothing is written then.
    """
    ticket = check_ticket(ticket)
    if inherit and ladder is not None:
        raise PolicyError(M("give either rules or --inherit, not both"))
    scope = current.scope
    if inherit and scope.kind == "site":
        raise PolicyError(M("the site default has nothing to inherit from; set an empty ladder"))
    ladder, new_allow, new_block, warnings = check(current, ladder, allow, block)
    if ladder is not None:
        own: Ladder | None = ladder
    elif inherit:
        own = None
    else:
        own = current.ladder if current.own_ladder else None
    if scope.kind == "site" and own is None:
        own = ()
    before = current.audit_view()
    effective = own if own is not None else _inherited(conn, scope)[0]
    after = {
        "ladder": [rule.spec() for rule in effective],
        "inherited": own is None,
        "allow": list(new_allow),
        "block": list(new_block),
    }
    if after == before:
        raise PolicyError(
            M("{target}: spam settings unchanged; nothing written", target=scope.target)
        )

    # Conflict = the spam settings this edit started from are no longer what is stored (their
    # row version or what they amount to, inherited ladder included). Other changes to the
    # mailbox meanwhile (a suspension, a password) do not conflict with a spam edit.
    fresh_scope = _reload_scope(conn, scope)
    fresh = load_scope(conn, fresh_scope)
    if fresh.version != current.version or fresh.audit_view() != before:
        raise Conflict(
            M(
                "the spam settings of {target} were changed by someone else since you "
                "opened them; nothing was written. Reload and try again.",
                target=scope.target,
            )
        )
    scope = fresh_scope
    if scope.mailbox is not None:
        # The write goes through the mailbox's version-checked update (as suspend does), so
        # it bumps mailboxes.version; the audit row carries the spam settings before/after.
        update_mailbox(
            conn, scope.mailbox, {}, action="spam.set", audit_before=_for_audit(before),
            audit_after=_for_audit(after), ticket=ticket, reason=reason, operator=operator,
        )  # fmt: skip
    else:
        record(conn, action="spam.set", target=scope.target, before=_for_audit(before),
               after=_for_audit(after), ticket=ticket, reason=reason,
               operator=operator)  # fmt: skip
    _write_scope(conn, scope, own, new_allow, new_block, current.version, options)
    if scope.kind in ("domain", "site"):
        _refresh_inheritors(conn, scope, options)
    return load_scope(conn, _reload_scope(conn, scope)), warnings


def _reload_scope(conn: Connection, scope: Scope) -> Scope:
    if scope.mailbox is None:
        return scope
    mailbox = get_mailbox(conn, scope.mailbox.address)
    return Scope(scope.kind, scope.target, scope.key, scope.domain_id, mailbox)


def _write_scope(
    conn: Connection,
    scope: Scope,
    own: Ladder | None,
    allow: tuple[str, ...],
    block: tuple[str, ...],
    version: int,
    options: SpamOptions,
) -> None:
    if scope.mailbox is not None:
        conn.execute(delete(spam_senders).where(spam_senders.c.mailbox_id == scope.mailbox.id))
        rows = [
            {"mailbox_id": scope.mailbox.id, "list": kind, "sender": sender}
            for kind, senders in (("allow", allow), ("block", block))
            for sender in senders
        ]
        if rows:
            conn.execute(insert(spam_senders), rows)
    keep_row = own is not None or bool(allow or block)
    if not keep_row:
        conn.execute(delete(spam_settings).where(spam_settings.c.scope_key == scope.key))
        return
    effective = own if own is not None else _inherited(conn, scope)[0]
    script = generate(effective, allow, block, options=options, label=scope.target)
    values = {
        "ladder": json.dumps(ladder_to_json(own)) if own is not None else None,
        "script": script,
        "script_id": script_id(script),
        "updated_at": utcnow(),
    }
    if version:
        result = conn.execute(
            update(spam_settings)
            .where(and_(spam_settings.c.scope_key == scope.key, spam_settings.c.version == version))
            .values(version=version + 1, **values)
        )
        if result.rowcount != 1:
            raise Conflict(
                M(
                    "the spam settings of {target} were changed by someone else meanwhile; "
                    "nothing was written. Reload and try again.",
                    target=scope.target,
                )
            )
        _read_back(conn, spam_settings.c.scope_key == scope.key, script, scope.target)
        return
    try:
        conn.execute(
            insert(spam_settings).values(
                scope_key=scope.key,
                domain_id=scope.domain_id if scope.kind == "domain" else None,
                mailbox_id=scope.mailbox.id if scope.mailbox is not None else None,
                version=1,
                **values,
            )
        )
    except IntegrityError:
        raise Conflict(
            M(
                "the spam settings of {target} were created by someone else meanwhile; "
                "nothing was written. Reload and try again.",
                target=scope.target,
            )
        ) from None
    _read_back(conn, spam_settings.c.scope_key == scope.key, script, scope.target)


def _refresh_inheritors(conn: Connection, scope: Scope, options: SpamOptions) -> None:
    """New scripts for mailbox rows (sender lists, inherited ladder) under a changed default."""
    query = (
        select(spam_settings.c.id, mailboxes.c.id.label("mailbox_id"), mailboxes.c.address)
        .join(mailboxes, mailboxes.c.id == spam_settings.c.mailbox_id)
        .where(spam_settings.c.ladder.is_(None))
    )
    if scope.kind == "domain":
        query = query.where(mailboxes.c.domain_id == scope.domain_id)
    else:
        with_default = select(spam_settings.c.domain_id).where(
            and_(spam_settings.c.domain_id.is_not(None), spam_settings.c.ladder.is_not(None))
        )
        query = query.where(mailboxes.c.domain_id.not_in(with_default))
    for row in conn.execute(query).all():
        target = load(conn, row.address)
        script = render(target, options)
        conn.execute(
            update(spam_settings)
            .where(spam_settings.c.id == row.id)
            .values(script=script, script_id=script_id(script), updated_at=utcnow())
        )
        _read_back(conn, spam_settings.c.id == row.id, script, row.address)


def regenerate_all(conn: Connection, options: SpamOptions) -> int:
    """Rewrite every stored script (after [spam] options changed); returns how many changed."""
    changed = 0
    rows = conn.execute(
        select(spam_settings.c.id, spam_settings.c.scope_key, spam_settings.c.script_id)
    ).all()
    for row in rows:
        kind, _, ident = row.scope_key.partition(":")
        if kind == "mailbox":
            address = conn.execute(
                select(mailboxes.c.address).where(mailboxes.c.id == int(ident))
            ).scalar_one()
            settings = load(conn, address)
        elif kind == "domain":
            name = conn.execute(
                select(domains.c.name).where(domains.c.id == int(ident))
            ).scalar_one()
            settings = load(conn, "@" + name)
        else:
            settings = load(conn, SITE)
        script = render(settings, options)
        if script_id(script) != row.script_id:
            conn.execute(
                update(spam_settings)
                .where(spam_settings.c.id == row.id)
                .values(script=script, script_id=script_id(script), updated_at=utcnow())
            )
            _read_back(conn, spam_settings.c.id == row.id, script, settings.scope.target)
            changed += 1
    return changed
