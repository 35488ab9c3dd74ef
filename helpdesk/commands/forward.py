"""`helpdesk forward show|set|clear ADDRESS`: a mailbox's forward (docs/forwards.md)."""

from __future__ import annotations

import argparse
from typing import Any

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import _


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("forward", help=_("show, set or remove a mailbox's forward"))
    forward = parser.add_subparsers(dest="forward_command", metavar="ACTION", required=True)

    show = forward.add_parser("show", help=_("the forward and whether it is active now"))
    show.add_argument("address", metavar="ADDRESS", help=_("the mailbox's address"))
    json_flag(show)
    show.set_defaults(func=run_show)

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
    set_.add_argument("--from", dest="starts", metavar="TIME", help=_("active from"))
    set_.add_argument("--until", dest="ends", metavar="TIME", help=_("active until"))
    set_.add_argument("--ticket", required=True, metavar="T", help=_("ticket reference"))
    set_.add_argument("--reason", metavar="R", help=_("why (goes into the audit log)"))
    json_flag(set_)
    set_.set_defaults(func=run_set)

    clear = forward.add_parser("clear", help=_("remove the mailbox's forward"))
    clear.add_argument("address", metavar="ADDRESS", help=_("the mailbox's address"))
    clear.add_argument("--ticket", required=True, metavar="T", help=_("ticket reference"))
    clear.add_argument("--reason", metavar="R", help=_("why (goes into the audit log)"))
    json_flag(clear)
    clear.set_defaults(func=run_clear)


def window_text(starts_at: Any, ends_at: Any) -> str:
    from helpdesk.localtime import time_text

    if starts_at is None and ends_at is None:
        return _("always")
    start = time_text(starts_at, zone=True) if starts_at is not None else "…"
    end = time_text(ends_at, zone=True) if ends_at is not None else "…"
    return _("{start} to {end}").format(start=start, end=end)


def run_show(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.forwards.store import active, load_forward
    from helpdesk.forwards.times import utcnow
    from helpdesk.mailcenter.mailboxes import get_mailbox
    from helpdesk.plaintext import printable

    with ctx.db.connect() as conn:
        mailbox = get_mailbox(conn, args.address)
        forward = load_forward(conn, mailbox)
    now = utcnow()
    data = {
        "address": mailbox.address,
        "forward": forward.as_json() if forward else None,
        "active": active(forward, now),
    }
    if forward is None:
        text = _("{address}: no forward").format(address=printable(mailbox.address))
    else:
        state = _("active now") if active(forward, now) else _("not active now")
        copy = _("keeps a copy") if forward.keep_copy else _("keeps no copy")
        text = _("{address} forwards to {targets} ({copy}), {window}: {state}").format(
            address=printable(mailbox.address),
            targets=", ".join(printable(t) for t in forward.targets),
            copy=copy,
            window=window_text(forward.starts_at, forward.ends_at),
            state=state,
        )
    ctx.emit(data, text)
    return 0


def run_set(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.forwards.model import Forward
    from helpdesk.forwards.store import set_forward
    from helpdesk.forwards.times import parse_local
    from helpdesk.mailcenter.audit import current_operator
    from helpdesk.mailcenter.mailboxes import get_mailbox
    from helpdesk.plaintext import printable

    _config = ctx.config  # [ui] timezone before any time is read
    starts = parse_local(args.starts) if args.starts else None
    ends = parse_local(args.ends, end_of_day=True) if args.ends else None
    with ctx.db.begin() as conn:
        mailbox = get_mailbox(conn, args.address)
        forward = set_forward(
            conn,
            mailbox,
            Forward(tuple(args.to), not args.no_copy, starts, ends),
            ticket=args.ticket,
            reason=args.reason,
            operator=current_operator(),
        )
    text = _("{address} forwards to {targets}, {window}").format(
        address=printable(mailbox.address),
        targets=", ".join(printable(t) for t in forward.targets),
        window=window_text(forward.starts_at, forward.ends_at),
    )
    ctx.emit({"address": mailbox.address, "forward": forward.as_json()}, text)
    return 0


def run_clear(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.forwards.store import clear_forward
    from helpdesk.mailcenter.audit import current_operator
    from helpdesk.mailcenter.mailboxes import get_mailbox
    from helpdesk.plaintext import printable

    with ctx.db.begin() as conn:
        mailbox = get_mailbox(conn, args.address)
        before = clear_forward(
            conn, mailbox, ticket=args.ticket, reason=args.reason, operator=current_operator()
        )
    text = _("{address}: forward removed").format(address=printable(mailbox.address))
    ctx.emit({"address": mailbox.address, "removed": before.as_json()}, text)
    return 0
