"""What `helpdesk forward` and `helpdesk autoreply` share: a mailbox setting that may be active
only for a period, shown with whether it is active now, set and removed with a ticket.

The commands keep their own texts (each names its setting); this holds the options, the period
read in [ui] timezone and the reads and writes that have the same shape for both.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import Any

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import _

Run = Callable[[argparse.Namespace, Context], int]


def add_show(actions: argparse._SubParsersAction, help: str, run: Run) -> None:
    show = actions.add_parser("show", help=help)
    show.add_argument("address", metavar="ADDRESS", help=_("the mailbox's address"))
    json_flag(show)
    show.set_defaults(func=run)


def add_period_and_ticket(parser: argparse.ArgumentParser) -> None:
    """The options that end `set`: the period, the ticket and reason, --json."""
    parser.add_argument("--from", dest="starts", metavar="TIME", help=_("active from"))
    parser.add_argument("--until", dest="ends", metavar="TIME", help=_("active until"))
    _ticket_and_reason(parser)


def add_clear(actions: argparse._SubParsersAction, help: str, run: Run) -> None:
    clear = actions.add_parser("clear", help=help)
    clear.add_argument("address", metavar="ADDRESS", help=_("the mailbox's address"))
    _ticket_and_reason(clear)
    clear.set_defaults(func=run)


def _ticket_and_reason(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ticket", required=True, metavar="T", help=_("ticket reference"))
    parser.add_argument("--reason", metavar="R", help=_("why (goes into the audit log)"))
    json_flag(parser)


def window_text(starts_at: datetime | None, ends_at: datetime | None) -> str:
    from helpdesk.localtime import time_text

    if starts_at is None and ends_at is None:
        return _("always")
    start = time_text(starts_at, zone=True) if starts_at is not None else "…"
    end = time_text(ends_at, zone=True) if ends_at is not None else "…"
    return _("{start} to {end}").format(start=start, end=end)


def state_text(active: bool) -> str:
    return _("active now") if active else _("not active now")


def read_period(args: argparse.Namespace, ctx: Context) -> tuple[datetime | None, datetime | None]:
    """--from and --until read in [ui] timezone; a date alone for --until is the day's end."""
    from helpdesk.forwards.times import parse_local

    _config = ctx.config  # [ui] timezone before any time is read
    starts = parse_local(args.starts) if args.starts else None
    ends = parse_local(args.ends, end_of_day=True) if args.ends else None
    return starts, ends


def load_shown(
    args: argparse.Namespace, ctx: Context, load: Callable[..., Any], key: str
) -> tuple[Any, Any, bool, dict[str, Any]]:
    """The mailbox, its setting (or None), whether it is active now, and the --json data."""
    from helpdesk.forwards.store import active
    from helpdesk.forwards.times import utcnow
    from helpdesk.mailcenter.mailboxes import get_mailbox

    with ctx.db.connect() as conn:
        mailbox = get_mailbox(conn, args.address)
        setting = load(conn, mailbox)
    now_active = active(setting, utcnow())
    data = {
        "address": mailbox.address,
        key: setting.as_json() if setting else None,
        "active": now_active,
    }
    return mailbox, setting, now_active, data


def save(
    args: argparse.Namespace, ctx: Context, write: Callable[..., Any], setting: Any
) -> tuple[Any, Any]:
    """Write `setting` for the mailbox with the ticket; the mailbox and what was stored."""
    from helpdesk.mailcenter.audit import current_operator
    from helpdesk.mailcenter.mailboxes import get_mailbox

    with ctx.db.begin() as conn:
        mailbox = get_mailbox(conn, args.address)
        stored = write(
            conn,
            mailbox,
            setting,
            ticket=args.ticket,
            reason=args.reason,
            operator=current_operator(),
        )
    return mailbox, stored


def clear(args: argparse.Namespace, ctx: Context, remove: Callable[..., Any], removed: str) -> int:
    """Remove the setting with the ticket; `removed` names it, with {address}."""
    from helpdesk.mailcenter.audit import current_operator
    from helpdesk.mailcenter.mailboxes import get_mailbox
    from helpdesk.plaintext import printable

    with ctx.db.begin() as conn:
        mailbox = get_mailbox(conn, args.address)
        before = remove(
            conn, mailbox, ticket=args.ticket, reason=args.reason, operator=current_operator()
        )
    text = removed.format(address=printable(mailbox.address))
    ctx.emit({"address": mailbox.address, "removed": before.as_json()}, text)
    return 0
