"""`helpdesk audit`: who did what, newest first."""

from __future__ import annotations

import argparse

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import _
from helpdesk.localtime import SECOND, time_text


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("audit", help=_("read the audit log"))
    parser.add_argument("--target", metavar="ADDRESS", help=_("only this mailbox"))
    parser.add_argument(
        "--since", metavar="DURATION", help=_("only this recent: 24h, 7d (newest first)")
    )
    parser.add_argument(
        "--action", metavar="ACTION", help=_("only this action (suspend, passwd, spam.set, …)")
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=200,
        metavar="N",
        help=_("at most N entries (default: %(default)s)"),
    )
    json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.durations import parse_since
    from helpdesk.mailcenter.audit import read, utcnow
    from helpdesk.plaintext import clip, printable

    since = utcnow() - parse_since(args.since) if args.since else None
    with ctx.db.connect() as conn:
        entries = read(conn, target=args.target, since=since, action=args.action, limit=args.limit)
    lines = [
        f"{time_text(e.at, SECOND, zone=True)} {printable(e.operator):<12} "
        f"{printable(e.action):<16} "
        f"{printable(e.target):<40} {printable(e.ticket or '-'):<12} {printable(e.summary())}"
        + (_("  why: {reason}").format(reason=clip(e.reason, 200)) if e.reason else "")
        for e in entries
    ]
    text = "\n".join(lines) if lines else _("no audit entries")
    ctx.emit([e.as_json() for e in entries], text)
    return 0
