"""`helpdesk forward show|set|clear ADDRESS`: a mailbox's forward (docs/forwards.md)."""

from __future__ import annotations

import argparse

from helpdesk.cli import Context
from helpdesk.commands.windowed import add_clear, add_period_and_ticket, add_show
from helpdesk.i18n import _


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("forward", help=_("show, set or remove a mailbox's forward"))
    forward = parser.add_subparsers(dest="forward_command", metavar="ACTION", required=True)
    add_show(forward, _("the forward and whether it is active now"), run_show)

    set_ = forward.add_parser(
        "set",
        help=_("forward to up to 3 addresses, optionally only for a period"),
        description=_(
            "Times are in [ui] timezone: 2026-12-15 or '2026-12-15 08:00'. A date alone for "
            "--until means the end of that day. Replaces the mailbox's forward."
        ),
    )
    set_.add_argument("address", metavar="ADDRESS", help=_("the mailbox's address"))
    set_.add_argument(
        "--to", action="append", required=True, metavar="TARGET", help=_("target (repeat, ≤ 3)")
    )
    set_.add_argument(
        "--no-copy", action="store_true", help=_("keep no copy in the mailbox while forwarding")
    )
    add_period_and_ticket(set_)
    set_.set_defaults(func=run_set)

    add_clear(forward, _("remove the mailbox's forward"), run_clear)


def run_show(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.commands.windowed import load_shown, state_text, window_text
    from helpdesk.forwards.store import load_forward
    from helpdesk.plaintext import printable

    mailbox, forward, active, data = load_shown(args, ctx, load_forward, "forward")
    if forward is None:
        text = _("{address}: no forward").format(address=printable(mailbox.address))
    else:
        copy = _("keeps a copy") if forward.keep_copy else _("keeps no copy")
        text = _("{address} forwards to {targets} ({copy}), {window}: {state}").format(
            address=printable(mailbox.address),
            targets=", ".join(printable(t) for t in forward.targets),
            copy=copy,
            window=window_text(forward.starts_at, forward.ends_at),
            state=state_text(active),
        )
    ctx.emit(data, text)
    return 0


def run_set(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.commands.windowed import read_period, save, window_text
    from helpdesk.forwards.model import Forward
    from helpdesk.forwards.store import set_forward
    from helpdesk.plaintext import printable

    starts, ends = read_period(args, ctx)
    wanted = Forward(tuple(args.to), not args.no_copy, starts, ends)
    mailbox, forward = save(args, ctx, set_forward, wanted)
    text = _("{address} forwards to {targets}, {window}").format(
        address=printable(mailbox.address),
        targets=", ".join(printable(t) for t in forward.targets),
        window=window_text(forward.starts_at, forward.ends_at),
    )
    ctx.emit({"address": mailbox.address, "forward": forward.as_json()}, text)
    return 0


def run_clear(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.commands.windowed import clear
    from helpdesk.forwards.store import clear_forward

    return clear(args, ctx, clear_forward, _("{address}: forward removed"))
