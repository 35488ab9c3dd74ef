"""`helpdesk sweep ADDRESS [--days N] [--json]`, `--undo ID --ticket T`: the changes attackers
make after a takeover (the customer's new or changed Sieve scripts among them), who made them,
and undoing one (docs/forwards.md, "The sweep")."""

from __future__ import annotations

import argparse

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import _, ngettext, number


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "sweep",
        help=_(
            "recent forwards, auto-replies, aliases, rules, password and sending changes, with undo"
        ),
    )
    parser.add_argument("address", metavar="ADDRESS", help=_("the mailbox's address"))
    parser.add_argument("--days", type=int, default=30, metavar="N", help=_("look back N days"))
    parser.add_argument("--undo", type=int, metavar="ID", help=_("undo the change with this id"))
    parser.add_argument("--ticket", metavar="T", help=_("ticket reference (for --undo)"))
    parser.add_argument("--reason", metavar="R", help=_("why (goes into the audit log)"))
    json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from datetime import timedelta

    from helpdesk.forwards.times import utcnow
    from helpdesk.i18n import render
    from helpdesk.localtime import time_text
    from helpdesk.mailcenter.audit import current_operator
    from helpdesk.mailcenter.mailboxes import get_mailbox
    from helpdesk.plaintext import printable
    from helpdesk.sweep.changes import list_changes
    from helpdesk.sweep.rules import refresh
    from helpdesk.sweep.undo import undo

    _config = ctx.config  # [ui] timezone before any time is shown
    if args.undo is not None:
        with ctx.db.begin() as conn:
            before = undo(
                conn,
                args.undo,
                ticket=args.ticket,
                reason=args.reason,
                operator=current_operator(),
                config=ctx.config,
            )
        text = _("Change {id} undone.").format(id=args.undo)
        ctx.emit({"undone": args.undo, "before": before}, text)
        return 0
    with ctx.db.connect() as conn:
        mailbox = get_mailbox(conn, args.address)
    rules_note = refresh(ctx.db, ctx.config, mailbox)
    with ctx.db.connect() as conn:
        changes = list_changes(conn, mailbox.address, utcnow() - timedelta(days=max(args.days, 1)))
    out = [
        ngettext(
            "{n} change to {address} in the last {days} days",
            "{n} changes to {address} in the last {days} days",
            len(changes),
        ).format(n=number(len(changes)), address=printable(mailbox.address), days=args.days)
    ]
    for c in changes:
        flags = []
        if c.external:
            flags.append(_("EXTERNAL"))
        if c.kind == "password":
            flags.append(_("cannot be undone: reset the password"))
        elif c.undoable:
            flags.append(_("undo: --undo {id}").format(id=c.id))
        out.append(
            "{id:>6}  {when}  {what}  {who}{flags}".format(
                id=c.id,
                when=time_text(c.at, zone=True),
                what=printable(render(c.what())),
                who=render(c.who()),
                flags=("  [" + "; ".join(flags) + "]") if flags else "",
            )
        )
    if rules_note is not None:
        out.append(printable(render(rules_note)))
    data = {
        "address": mailbox.address,
        "changes": [c.as_json() for c in changes],
        "rules_message": rules_note.as_json() if rules_note is not None else None,
    }
    ctx.emit(data, "\n".join(out))
    return 0
