"""`helpdesk clients`: mailboxes whose mail programs still use POP3, log in without TLS, or try
CRAM-MD5: the list to work through after the move to hashed passwords and forced TLS."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import _, number, render
from helpdesk.localtime import log_time_text
from helpdesk.plaintext import clip, printable

if TYPE_CHECKING:
    from helpdesk.logins.fleet import Fleet


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "clients",
        help=_("mailboxes whose mail programs use POP3, no TLS, or CRAM-MD5"),
    )
    parser.add_argument(
        "--since", metavar="DURATION", help=_("window, e.g. 24h, 7d (default: [logins] since)")
    )
    parser.add_argument(
        "--csv",
        action="store_true",
        help=_("CSV on stdout: address, real name, customer number, finding"),
    )
    json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.durations import parse_since
    from helpdesk.logins.fleet import fleet
    from helpdesk.logins.settings import LoginSettings

    since = parse_since(args.since) if args.since else None
    settings = LoginSettings.from_config(ctx.config)
    result = fleet(settings, ctx.db, since=since)
    for warning in result.warnings:
        ctx.say(_("warning: {text}").format(text=render(warning)))
    if args.csv and not ctx.json:
        sys.stdout.write(result.csv())
        return 0
    ctx.emit(result.as_json(), format_fleet(result))
    return 0


def format_fleet(result: Fleet) -> str:
    from helpdesk.logins.fleet import FINDINGS

    out = [
        _("Mailboxes with old client settings, {start} to {end}").format(
            start=log_time_text(result.start), end=log_time_text(result.end, zone=True)
        )
    ]
    if not result.findings:
        out.append("  " + _("none: every client uses IMAP or SMTP with TLS and a normal password"))
    for f in result.findings:
        what = ", ".join(f"{render(FINDINGS[k])} ({number(n)})" for k, n in sorted(f.kinds.items()))
        out.append(
            f"  {clip(f.address, 40):<40} {clip(f.realname, 20):<20} {clip(f.customer_ref, 12)}"
        )
        out.append(f"      {printable(what)}")
    return "\n".join(out)
