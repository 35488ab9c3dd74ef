"""`helpdesk show ADDRESS`: everything about one mailbox but its hash."""

from __future__ import annotations

import argparse
from datetime import datetime

from helpdesk.cli import Context, json_flag
from helpdesk.localtime import SECOND, time_text


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("show", help="everything about one mailbox")
    parser.add_argument("address")
    json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.mailcenter.audit import read
    from helpdesk.mailcenter.mailboxes import get_mailbox, mailbox_aliases, mailbox_forwards
    from helpdesk.plaintext import printable

    with ctx.db.connect() as conn:
        mailbox = get_mailbox(conn, args.address)
        alias_rows = mailbox_aliases(conn, mailbox)
        forward_rows = mailbox_forwards(conn, mailbox)
        recent = read(conn, target=mailbox.address, limit=10)
    data = {
        **mailbox.as_json(),
        "status": mailbox.status,
        "aliases": alias_rows,
        "forwards": forward_rows,
        "recent_audit": [e.as_json() for e in recent],
    }
    # A detail view: values whole, but every one made terminal-safe.
    lines = [f"{k:<22} {_human(getattr(mailbox, k, v), v)}" for k, v in mailbox.as_json().items()]
    lines.append(f"{'status':<22} {printable(mailbox.status)}")
    for a in alias_rows:
        lines.append(f"{'alias':<22} {printable(a['address'])} → {printable(a['target'])}")
    for f in forward_rows:
        lines.append(f"{'forward':<22} → {printable(f['target'])}")
    for e in recent:
        lines.append(
            f"{'audit':<22} {time_text(e.at, zone=True)} {printable(e.operator)} "
            f"{printable(e.action)} {printable(e.ticket or '')}"
        )
    ctx.emit(data, "\n".join(lines))
    return 0


def _human(value: object, as_json: object) -> str:
    """A stored time in the operator's zone, anything else as --json has it."""
    if isinstance(value, datetime):
        return time_text(value, SECOND, zone=True)
    from helpdesk.plaintext import printable

    return printable(as_json)
