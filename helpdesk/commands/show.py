"""`helpdesk show ADDRESS`: everything about one mailbox but its hash."""

from __future__ import annotations

import argparse
from datetime import datetime

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import N_, _
from helpdesk.localtime import SECOND, time_text

# The detail lines' labels: in English the field names --json has, in German words.
FIELDS = {
    "id": N_("id"),
    "domain_id": N_("domain_id"),
    "domain": N_("domain"),
    "local_part": N_("local_part"),
    "address": N_("address"),
    "realname": N_("realname"),
    "password_changed_at": N_("password_changed_at"),
    "must_change_password": N_("must_change_password"),
    "enabled": N_("enabled"),
    "smtp_enabled": N_("smtp_enabled"),
    "quota_mb": N_("quota_mb"),
    "customer_ref": N_("customer_ref"),
    "version": N_("version"),
    "created_at": N_("created_at"),
    "domain_enabled": N_("domain_enabled"),
    "status": N_("status"),
    "alias": N_("alias"),
    "forward": N_("forward"),
    "audit": N_("audit"),
    "last_login": N_("last_login"),
}
WIDTH = 22


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("show", help=_("everything about one mailbox"))
    parser.add_argument("address", help=_("the mailbox's address"))
    json_flag(parser)
    parser.set_defaults(func=run)


def _label(key: str) -> str:
    return f"{_(FIELDS[key]) if key in FIELDS else key:<{WIDTH}}"


def run(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.commands.labels import status_label
    from helpdesk.logins.lastlogin import as_json as last_login_json
    from helpdesk.logins.lastlogin import read_last_login
    from helpdesk.mailcenter.audit import read
    from helpdesk.mailcenter.mailboxes import get_mailbox, mailbox_aliases, mailbox_forwards
    from helpdesk.plaintext import printable

    with ctx.db.connect() as conn:
        mailbox = get_mailbox(conn, args.address)
        alias_rows = mailbox_aliases(conn, mailbox)
        forward_rows = mailbox_forwards(conn, mailbox)
        recent = read(conn, target=mailbox.address, limit=10)
    # Dovecot's last_login plugin: IMAP and POP3 only (SMTP logins are in Exim's log).
    last_logins, last_warning = read_last_login(ctx.db, mailbox.address)
    data = {
        **mailbox.as_json(),
        "status": mailbox.status,
        "aliases": alias_rows,
        "forwards": forward_rows,
        "recent_audit": [e.as_json() for e in recent],
        "last_login": last_login_json(last_logins),
    }
    # A detail view: values whole, but every one made terminal-safe.
    lines = [
        f"{_label(k)} {_human(getattr(mailbox, k, v), v)}" for k, v in mailbox.as_json().items()
    ]
    lines.append(f"{_label('status')} {printable(status_label(mailbox.status))}")
    for a in alias_rows:
        lines.append(f"{_label('alias')} {printable(a['address'])} → {printable(a['target'])}")
    for f in forward_rows:
        lines.append(f"{_label('forward')} → {printable(f['target'])}")
    for service, when in sorted(last_logins.items()):
        lines.append(
            _("{label} {service} {when} (SMTP logins: helpdesk logins)").format(
                label=_label("last_login"),
                service=printable(service.upper()),
                when=time_text(when.astimezone(), SECOND, zone=True),
            )
        )
    if last_warning is not None:
        lines.append(f"{_label('last_login')} {last_warning}")
    for e in recent:
        lines.append(
            f"{_label('audit')} {time_text(e.at, zone=True)} {printable(e.operator)} "
            f"{printable(e.action)} {printable(e.ticket or '')}"
        )
    ctx.emit(data, "\n".join(lines))
    return 0


def _human(value: object, as_json: object) -> str:
    """A stored time in the operator's zone, a yes or no in words, anything else as --json
    has it."""
    if isinstance(value, datetime):
        return time_text(value, SECOND, zone=True)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    from helpdesk.plaintext import printable

    return printable(as_json)
