"""`helpdesk autoreply show|set|clear|example ADDRESS`: a mailbox's auto-reply
(docs/forwards.md)."""

from __future__ import annotations

import argparse
import sys

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import _


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("autoreply", help=_("show, set or remove a mailbox's auto-reply"))
    reply = parser.add_subparsers(dest="autoreply_command", metavar="ACTION", required=True)

    show = reply.add_parser("show", help=_("the auto-reply and whether it is active now"))
    show.add_argument("address", metavar="ADDRESS", help=_("the mailbox's address"))
    json_flag(show)
    show.set_defaults(func=run_show)

    set_ = reply.add_parser(
        "set",
        help=_("answer mail automatically, optionally only for a period"),
        description=_(
            "Times are in [ui] timezone: 2026-12-15 or '2026-12-15 08:00'. A date alone for "
            "--until means the end of that day. Without --text or --text-stdin the example "
            "text in --lang is used. Mail to the mailbox's aliases is answered too; lists and "
            "bulk mail never."
        ),
    )
    set_.add_argument("address", metavar="ADDRESS", help=_("the mailbox's address"))
    set_.add_argument("--subject", metavar="S", help=_("subject of the reply"))
    text = set_.add_mutually_exclusive_group()
    text.add_argument("--text", metavar="TEXT", help=_("the reply text"))
    text.add_argument("--text-stdin", action="store_true", help=_("read the reply text from stdin"))
    set_.add_argument(
        "--lang", choices=("de", "en"), help=_("language of the example text (the customer's)")
    )
    set_.add_argument(
        "--days", type=int, default=7, metavar="N", help=_("answer a sender once per N days (1–30)")
    )
    set_.add_argument("--from", dest="starts", metavar="TIME", help=_("active from"))
    set_.add_argument("--until", dest="ends", metavar="TIME", help=_("active until"))
    set_.add_argument("--ticket", required=True, metavar="T", help=_("ticket reference"))
    set_.add_argument("--reason", metavar="R", help=_("why (goes into the audit log)"))
    json_flag(set_)
    set_.set_defaults(func=run_set)

    clear = reply.add_parser("clear", help=_("remove the mailbox's auto-reply"))
    clear.add_argument("address", metavar="ADDRESS", help=_("the mailbox's address"))
    clear.add_argument("--ticket", required=True, metavar="T", help=_("ticket reference"))
    clear.add_argument("--reason", metavar="R", help=_("why (goes into the audit log)"))
    json_flag(clear)
    clear.set_defaults(func=run_clear)

    example = reply.add_parser("example", help=_("print the example text for the customer"))
    example.add_argument("--lang", choices=("de", "en"), help=_("language of the text"))
    example.add_argument("--until", metavar="DATE", help=_("the last day of absence it names"))
    example.set_defaults(func=run_example)


def run_show(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.commands.forward import window_text
    from helpdesk.forwards.store import active, load_autoreply
    from helpdesk.forwards.times import utcnow
    from helpdesk.mailcenter.mailboxes import get_mailbox
    from helpdesk.plaintext import printable

    with ctx.db.connect() as conn:
        mailbox = get_mailbox(conn, args.address)
        reply = load_autoreply(conn, mailbox)
    now = utcnow()
    data = {
        "address": mailbox.address,
        "autoreply": reply.as_json() if reply else None,
        "active": active(reply, now),
    }
    if reply is None:
        text = _("{address}: no auto-reply").format(address=printable(mailbox.address))
    else:
        state = _("active now") if active(reply, now) else _("not active now")
        head = _("{address}: auto-reply {window}, once per sender per {days} days: {state}")
        text = "\n".join(
            [
                head.format(
                    address=printable(mailbox.address),
                    window=window_text(reply.starts_at, reply.ends_at),
                    days=reply.days,
                    state=state,
                ),
                _("Subject: {subject}").format(subject=printable(reply.subject)),
                "",
                *(printable(line) for line in reply.body.split("\n")),
            ]
        )
    ctx.emit(data, text)
    return 0


def run_set(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.commands.forward import window_text
    from helpdesk.forwards.model import AutoReply
    from helpdesk.forwards.store import set_autoreply
    from helpdesk.forwards.texts import example
    from helpdesk.forwards.times import parse_local
    from helpdesk.i18n import customer_language
    from helpdesk.localtime import DAY, time_text
    from helpdesk.mailcenter.audit import current_operator
    from helpdesk.mailcenter.mailboxes import get_mailbox
    from helpdesk.plaintext import printable

    _config = ctx.config  # [ui] timezone before any time is read
    starts = parse_local(args.starts) if args.starts else None
    ends = parse_local(args.ends, end_of_day=True) if args.ends else None
    until = time_text(ends, DAY) if ends is not None else None
    subject, body = example(customer_language(args.lang), until)
    if args.text_stdin:
        body = sys.stdin.read(20_000)
    elif args.text is not None:
        body = args.text
    with ctx.db.begin() as conn:
        mailbox = get_mailbox(conn, args.address)
        reply = set_autoreply(
            conn,
            mailbox,
            AutoReply(args.subject or subject, body, args.days, starts, ends),
            ticket=args.ticket,
            reason=args.reason,
            operator=current_operator(),
        )
    text = _("{address} answers automatically, {window}").format(
        address=printable(mailbox.address), window=window_text(reply.starts_at, reply.ends_at)
    )
    ctx.emit({"address": mailbox.address, "autoreply": reply.as_json()}, text)
    return 0


def run_clear(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.forwards.store import clear_autoreply
    from helpdesk.mailcenter.audit import current_operator
    from helpdesk.mailcenter.mailboxes import get_mailbox
    from helpdesk.plaintext import printable

    with ctx.db.begin() as conn:
        mailbox = get_mailbox(conn, args.address)
        before = clear_autoreply(
            conn, mailbox, ticket=args.ticket, reason=args.reason, operator=current_operator()
        )
    text = _("{address}: auto-reply removed").format(address=printable(mailbox.address))
    ctx.emit({"address": mailbox.address, "removed": before.as_json()}, text)
    return 0


def run_example(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.forwards.texts import example
    from helpdesk.i18n import customer_language
    from helpdesk.plaintext import printable

    until = printable(args.until) if args.until else None
    subject, body = example(customer_language(args.lang), until)
    ctx.emit(
        {"subject": subject, "body": body},
        _("Subject: {subject}").format(subject=subject) + "\n\n" + body,
    )
    return 0
