"""`helpdesk autoreply show|set|clear|example ADDRESS`: a mailbox's auto-reply
(docs/forwards.md)."""

from __future__ import annotations

import argparse
import sys

from helpdesk.cli import Context
from helpdesk.commands.windowed import add_clear, add_period_and_ticket, add_show
from helpdesk.i18n import _


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("autoreply", help=_("show, set or remove a mailbox's auto-reply"))
    reply = parser.add_subparsers(dest="autoreply_command", metavar="ACTION", required=True)

    add_show(reply, _("the auto-reply and whether it is active now"), run_show)

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
    add_period_and_ticket(set_)
    set_.set_defaults(func=run_set)

    add_clear(reply, _("remove the mailbox's auto-reply"), run_clear)

    example = reply.add_parser("example", help=_("print the example text for the customer"))
    example.add_argument("--lang", choices=("de", "en"), help=_("language of the text"))
    example.add_argument("--until", metavar="DATE", help=_("the last day of absence it names"))
    example.set_defaults(func=run_example)


def run_show(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.commands.windowed import load_shown, state_text, window_text
    from helpdesk.forwards.store import load_autoreply
    from helpdesk.plaintext import printable

    mailbox, reply, active, data = load_shown(args, ctx, load_autoreply, "autoreply")
    if reply is None:
        text = _("{address}: no auto-reply").format(address=printable(mailbox.address))
    else:
        head = _("{address}: auto-reply {window}, once per sender per {days} days: {state}")
        text = "\n".join(
            [
                head.format(
                    address=printable(mailbox.address),
                    window=window_text(reply.starts_at, reply.ends_at),
                    days=reply.days,
                    state=state_text(active),
                ),
                _("Subject: {subject}").format(subject=printable(reply.subject)),
                "",
                *(printable(line) for line in reply.body.split("\n")),
            ]
        )
    ctx.emit(data, text)
    return 0


def run_set(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.commands.windowed import read_period, save, window_text
    from helpdesk.forwards.model import AutoReply
    from helpdesk.forwards.store import set_autoreply
    from helpdesk.forwards.texts import example
    from helpdesk.i18n import customer_language
    from helpdesk.localtime import DAY, time_text
    from helpdesk.plaintext import printable

    starts, ends = read_period(args, ctx)
    until = time_text(ends, DAY) if ends is not None else None
    subject, body = example(customer_language(args.lang), until)
    if args.text_stdin:
        body = sys.stdin.read(20_000)
    elif args.text is not None:
        body = args.text
    wanted = AutoReply(args.subject or subject, body, args.days, starts, ends)
    mailbox, reply = save(args, ctx, set_autoreply, wanted)
    text = _("{address} answers automatically, {window}").format(
        address=printable(mailbox.address), window=window_text(reply.starts_at, reply.ends_at)
    )
    ctx.emit({"address": mailbox.address, "autoreply": reply.as_json()}, text)
    return 0


def run_clear(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.commands.windowed import clear
    from helpdesk.forwards.store import clear_autoreply

    return clear(args, ctx, clear_autoreply, _("{address}: auto-reply removed"))


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
