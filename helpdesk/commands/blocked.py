"""`helpdesk blocked`: outbound mail rspamd refused, merged from its history and Exim's log."""

from __future__ import annotations

import argparse
from typing import Any

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import _, english, render
from helpdesk.localtime import SECOND, time_text


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("blocked", help=_("outbound mail rspamd refused (newest first)"))
    parser.add_argument("--user", metavar="ADDRESS", help=_("only this sender's login"))
    parser.add_argument("--since", metavar="DURATION", help=_("only this recent, e.g. 2h, 1d"))
    parser.add_argument(
        "--log",
        metavar="PATH",
        action="append",
        help=_(
            "Exim mainlog (path or glob) to read as well (repeatable; "
            "default: the newest of [sendlog] paths)"
        ),
    )
    json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.durations import parse_since
    from helpdesk.mailcenter.audit import utcnow
    from helpdesk.rspamd.blocked import collect_blocked
    from helpdesk.rspamd.client import Cluster
    from helpdesk.rspamd.exim_rejects import configured_mainlogs

    since = utcnow() - parse_since(args.since) if args.since else None
    with Cluster.from_config(ctx.config) as cluster:
        report = collect_blocked(
            cluster,
            ctx.db,
            user=args.user,
            since=since,
            logs=args.log or configured_mainlogs(ctx.config),
            # Of the configured rotated set only what the window needs; --log is read whole.
            recent_only=not args.log,
        )
    for warning in report.warnings:
        ctx.say(_("warning: {warning}").format(warning=render(warning)))
    # In English whatever the operator reads: --json never changes with the language.
    warnings = [english(w) for w in report.warnings]
    data = {"blocked": [b.as_json() for b in report.items], "warnings": warnings}
    ctx.emit(data, format_blocked(report.items))
    return 0


def format_blocked(items: list[Any]) -> str:
    from helpdesk.plaintext import printable

    if not items:
        return _("no blocked outbound mail")
    lines = []
    for b in items:
        score = f"{b.score:.1f}/{b.required_score:.1f}" if b.score is not None else "-"
        user = printable(b.user) + ("…" if b.user_truncated else "")
        lines.append(
            f"{time_text(b.time, SECOND, zone=True)}  {user}  {printable(b.action)}  score {score}"
        )
        lines.append(
            f"    Message-ID: <{printable(b.message_id)}>"
            if b.message_id
            else _("    Message-ID: unknown")
        )
        if b.subject:
            lines.append(f"    Subject: {printable(b.subject)}")
        if b.digest:
            lines.append(_("    digest: {digest}").format(digest=b.digest))
        if b.release_used_up:
            lines.append(_("    a release of this message had no use left"))
        if b.ip:
            lines.append(f"    client: {printable(b.ip)}")
        if b.attempts > 1:
            lines.append(f"    attempts: {b.attempts}")
        symbols = ", ".join(
            printable(s.name) if s.score is None else f"{printable(s.name)}({s.score:g})"
            for s in b.symbols
            if s.score is None or s.score > 0
        )
        if symbols:
            lines.append(f"    symbols: {symbols}")
        for reason in b.reasons:
            lines.append(f"    why: {printable(reason)}")
        if b.exim_text:
            lines.append(f"    Exim: {printable(b.exim_text)}")
        if b.release_state:
            lines.append(f"    release #{b.release_id}: {b.release_state}")
    return "\n".join(lines)
