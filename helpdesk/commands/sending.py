"""`helpdesk suspend` and `helpdesk reinstate`: stop or allow a mailbox's sending."""

from __future__ import annotations

import argparse

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import N_, _


def register(sub: argparse._SubParsersAction) -> None:
    for name, text in (
        ("suspend", N_("stop a mailbox from sending (mail still arrives)")),
        ("reinstate", N_("allow a suspended mailbox to send again")),
    ):
        parser = sub.add_parser(name, help=_(text))
        parser.add_argument("address", help=_("the mailbox's address"))
        parser.add_argument("--ticket", required=True, metavar="T", help=_("ticket reference"))
        parser.add_argument("--reason", metavar="R", help=_("why (goes into the audit log)"))
        json_flag(parser)
        parser.set_defaults(func=run, allowed=name == "reinstate")


def run(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.mailcenter.audit import current_operator
    from helpdesk.mailcenter.mailboxes import get_mailbox, set_sending
    from helpdesk.plaintext import printable

    with ctx.db.begin() as conn:
        mailbox = get_mailbox(conn, args.address)
        updated = set_sending(
            conn,
            mailbox,
            args.allowed,
            ticket=args.ticket,
            reason=args.reason,
            operator=current_operator(),
        )
    if updated.smtp_enabled:
        text = _("{address} may send again")
    else:
        # A suspension does not end IMAP/POP3 sessions: say so, the reset is what does.
        text = _(
            "{address} can no longer send (mail still arrives); whoever has the password keeps "
            "IMAP/POP3 access until it is reset"
        )
    ctx.emit(updated.as_json(), text.format(address=printable(updated.address)))
    return 0
