"""`helpdesk offenders`: which authenticated senders look like taken-over accounts."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from helpdesk.cli import Context, json_flag
from helpdesk.localtime import log_time_text
from helpdesk.plaintext import clip, printable

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.logs.files import LogFile
    from helpdesk.sendlog.offenders import Report
    from helpdesk.sendlog.settings import SendlogSettings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "offenders",
        help="rank authenticated senders by how much they look like a taken-over account",
    )
    add_log_option(parser)
    parser.add_argument(
        "--since", metavar="DURATION", help="window, e.g. 2h, 24h (default: config)"
    )
    parser.add_argument(
        "--guessing",
        action="store_true",
        help="list the client addresses with the most failed logins instead",
    )
    parser.add_argument(
        "--limit", type=int, default=20, metavar="N", help="senders shown without --json (20)"
    )
    json_flag(parser)
    parser.set_defaults(func=run)


def add_log_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log",
        metavar="PATH",
        action="append",
        help="Exim mainlog, plain or .gz; globs work; repeatable (default: [sendlog] paths)",
    )


def optional_config(ctx: Context) -> Config | None:
    """The config if there is one: reading a log needs none."""
    from helpdesk.config import default_config_path

    if ctx.args.config or default_config_path() is not None:
        return ctx.config
    return None


def log_files(ctx: Context, given: list[str] | None) -> tuple[list[LogFile], SendlogSettings]:
    from helpdesk.logs.files import expand
    from helpdesk.sendlog.settings import SendlogSettings

    settings = SendlogSettings.from_config(optional_config(ctx))
    return expand(given or settings.paths), settings


def local_domains(ctx: Context) -> list[str] | None:
    """The hoster's domains from the database, or None (then the log decides)."""
    from helpdesk.errors import HelpdeskError
    from helpdesk.sendlog.settings import database_domains

    config = optional_config(ctx)
    if config is None or not config.section("database"):
        return None
    try:
        db = ctx.db
    except HelpdeskError as exc:
        ctx.say(f"warning: local domains taken from the log: {exc}")
        return None
    names, warning = database_domains(db)
    if warning:
        ctx.say(f"warning: {warning}")
    return names


def run(args: argparse.Namespace, ctx: Context) -> int:
    import time

    from helpdesk.durations import parse_since
    from helpdesk.sendlog.offenders import analyze

    since = parse_since(args.since) if args.since else None
    files, settings = log_files(ctx, args.log)
    since = since or settings.since
    domains = None if settings.local_domains else local_domains(ctx)
    t0 = time.perf_counter()
    report = analyze(files, settings, since=since, local_domains=domains)
    took = time.perf_counter() - t0
    ctx.say(summary_line(report, took))
    if args.guessing:
        ctx.emit(report.guessing_json(), format_guessing(report, limit=max(args.limit, 1)))
    else:
        ctx.emit(
            report.offenders_json(),
            format_report(report, limit=args.limit, top=settings.guessing_top),
        )
    return 0


def summary_line(report: Report, took: float) -> str:
    parts = [
        f"read {report.lines:,} lines from {len(report.files)} file"
        f"{'s' if len(report.files) != 1 else ''} in {took:.1f} s"
    ]
    if report.unreadable or report.too_long:
        parts.append(f"{report.unreadable + report.too_long:,} unreadable lines skipped")
    for path in report.broken_files:
        parts.append(f"{printable(path)} cut short ({report.damage.get(path, 'damaged')})")
    return "; ".join(parts)


def format_report(report: Report, *, limit: int, top: int) -> str:
    out = [
        f"Senders from {log_time_text(report.start)} to {log_time_text(report.end, zone=True)}, "
        "worst first"
        f" (local domains from the {report.local_domains_source}"
        + ("" if report.baseline_covered else "; no earlier log to tell new client addresses")
        + ")"
    ]
    if not report.users:
        out.append("  no authenticated sender in this window")
    else:
        out.append(
            f"  {'score':>5}  {'user':<36} {'msgs':>6} {'refused':>7} {'rcpts':>7} "
            f"{'peak/5m':>7} {'new IPs':>7} {'failed':>6}"
        )
        shown = report.users[:limit]
        for u in shown:
            out.append(
                f"  {u.score:>5}  {clip(u.user, 36):<36} {u.messages:>6,} {u.rejected:>7,} "
                f"{u.recipients:>7,} {u.peak_5min:>7,} {len(u.new_ips):>7} {u.auth_failures:>6,}"
            )
            if u.reasons:
                out.append(f"         {printable(', '.join(u.reasons))}")
        rest = len(report.users) - len(shown)
        if rest > 0:
            out.append(f"  … {rest:,} more senders (--limit, or --json for all)")
    if report.guessers:
        out.append("")
        out.append("Client addresses with the most failed logins (password guessing):")
        out.extend(_guess_lines(report, top))
    return "\n".join(out)


def _guess_lines(report: Report, limit: int) -> list[str]:
    lines = []
    for g in report.guessers[:limit]:
        d = g.as_dict()
        lines.append(
            f"  {printable(g.ip):<39} {g.failures:>6,} failed logins on {d['users']:,} "
            f"account{'s' if d['users'] != 1 else ''}, {d['first'][:16]} to {d['last'][:16]}"
        )
    return lines


def format_guessing(report: Report, *, limit: int) -> str:
    if not report.guessers:
        return "no failed logins in this window"
    return "\n".join(
        ["Client addresses with the most failed logins:", *_guess_lines(report, limit)]
    )
