"""`helpdesk offenders`: which authenticated senders look like taken-over accounts."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import N_, _, ngettext, number
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
        help=_("rank authenticated senders by how much they look like a taken-over account"),
    )
    add_log_option(parser)
    parser.add_argument(
        "--since", metavar="DURATION", help=_("window, e.g. 2h, 24h (default: config)")
    )
    parser.add_argument(
        "--guessing",
        action="store_true",
        help=_("list the client addresses with the most failed logins instead"),
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=20,
        metavar="N",
        help=_("senders shown without --json (20)"),
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help=_("read every log file again instead of taking unchanged rotated ones from the cache"),
    )
    json_flag(parser)
    parser.set_defaults(func=run)


def add_log_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log",
        metavar="PATH",
        action="append",
        help=_("Exim mainlog, plain or .gz; globs work; repeatable (default: [sendlog] paths)"),
    )


def optional_config(ctx: Context) -> Config | None:
    """The config if there is one: reading a log needs none."""
    from helpdesk.config import default_config_path

    if ctx.args.config or default_config_path() is not None:
        return ctx.config
    return None


def log_files(ctx: Context, given: list[str] | None) -> tuple[list[LogFile], SendlogSettings]:
    """--log as one host, else `[sendlog]`: its paths, or its hosts' files, each labelled."""
    from helpdesk.sendlog.host_files import host_files
    from helpdesk.sendlog.settings import SendlogSettings

    settings = SendlogSettings.from_config(optional_config(ctx))
    return host_files(settings, given), settings


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
        ctx.say(_("warning: local domains taken from the log: {error}").format(error=exc))
        return None
    names, warning = database_domains(db)
    if warning:
        ctx.say(_("warning: {warning}").format(warning=warning))
    return names


def run(args: argparse.Namespace, ctx: Context) -> int:
    import time

    from helpdesk.durations import parse_since
    from helpdesk.sendlog.offenders import Analysis
    from helpdesk.sendlog.parallel import PARALLEL_MIN_BYTES, LogWorkers

    since = parse_since(args.since) if args.since else None
    files, settings = log_files(ctx, args.log)
    since = since or settings.since
    domains = None if settings.local_domains else local_domains(ctx)
    t0 = time.perf_counter()
    workers = None
    if sum(f.size for f in files) >= PARALLEL_MIN_BYTES:
        workers = LogWorkers(keep=False)
    analysis = Analysis(settings, since=since, local_domains=domains)
    if settings.cache and not args.no_cache:
        from helpdesk.sendlog.cache import default_cache

        analysis.cache = default_cache()
    try:
        analysis.read(files, workers=workers)
    finally:
        if workers is not None:
            workers.stop()  # before ranking: their memory is not needed any more
    report = analysis.report()
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


# Where the local domains came from (Report.local_domains_source), as the summary says it.
_SOURCES = {"config": N_("config"), "database": N_("database"), "log": N_("log")}


def summary_line(report: Report, took: float) -> str:
    files = ngettext("{n} file", "{n} files", len(report.files)).format(n=len(report.files))
    parts = [
        _("read {lines} lines from {files} in {seconds} s").format(
            lines=number(report.lines), files=files, seconds=f"{took:.1f}"
        )
    ]
    skipped = report.unreadable + report.too_long
    if skipped:
        parts.append(
            ngettext("{n} unreadable line skipped", "{n} unreadable lines skipped", skipped).format(
                n=number(skipped)
            )
        )
    for path in report.broken_files:
        damage = report.damage.get(path)
        parts.append(
            _("{path} cut short ({damage})").format(
                path=printable(path), damage=damage if damage is not None else _("damaged")
            )
        )
    return "; ".join(parts)


def format_report(report: Report, *, limit: int, top: int) -> str:
    source = report.local_domains_source
    title = _("Senders from {start} to {end}, worst first (local domains from the {source})")
    if not report.baseline_covered:
        title = _(
            "Senders from {start} to {end}, worst first (local domains from the {source}; "
            "no earlier log to tell new client addresses)"
        )
    out = [
        title.format(
            start=log_time_text(report.start),
            end=log_time_text(report.end, zone=True),
            source=_(_SOURCES[source]) if source in _SOURCES else source,
        )
    ]
    if not report.users:
        out.append(_("  no authenticated sender in this window"))
    else:
        # Column titles as wide as the English ones: the rows below are laid out for those.
        heads = (_("score"), _("user"), _("msgs"), _("refused"), _("rcpts"), _("peak/5m"))
        heads += (_("new IPs"), _("failed"))
        out.append(
            f"  {heads[0]:>5}  {heads[1]:<36} {heads[2]:>6} {heads[3]:>7} {heads[4]:>7} "
            f"{heads[5]:>7} {heads[6]:>7} {heads[7]:>6}"
        )
        shown = report.users[:limit]
        several_hosts = len({h for u in report.users for h in u.hosts}) > 1
        for u in shown:
            out.append(
                f"  {u.score:>5}  {clip(u.user, 36):<36} {u.messages:>6,} {u.rejected:>7,} "
                f"{u.recipients:>7,} {u.peak_5min:>7,} {len(u.new_ips):>7} {u.auth_failures:>6,}"
            )
            if u.reasons:
                out.append("         " + printable(", ".join(str(r) for r in u.reasons)))
            if several_hosts:
                hosts = printable(", ".join(sorted(u.hosts)))
                out.append("         " + _("on {hosts}").format(hosts=hosts))
        rest = len(report.users) - len(shown)
        if rest > 0:
            out.append(
                ngettext(
                    "  … {n} more sender (--limit, or --json for all)",
                    "  … {n} more senders (--limit, or --json for all)",
                    rest,
                ).format(n=number(rest))
            )
    if report.guessers:
        out.append("")
        out.append(_("Client addresses with the most failed logins (password guessing):"))
        out.extend(_guess_lines(report, top))
    return "\n".join(out)


def _guess_lines(report: Report, limit: int) -> list[str]:
    lines = []
    for g in report.guessers[:limit]:
        d = g.as_dict()
        accounts = ngettext("{n} account", "{n} accounts", d["users"]).format(n=number(d["users"]))
        text = ngettext(
            "{failures} failed login on {accounts}, {first} to {last}",
            "{failures} failed logins on {accounts}, {first} to {last}",
            g.failures,
        ).format(
            failures=f"{number(g.failures):>6}",
            accounts=accounts,
            first=d["first"][:16],
            last=d["last"][:16],
        )
        lines.append(f"  {printable(g.ip):<39} {text}")
    return lines


def format_guessing(report: Report, *, limit: int) -> str:
    if not report.guessers:
        return _("no failed logins in this window")
    return "\n".join(
        [_("Client addresses with the most failed logins:"), *_guess_lines(report, limit)]
    )
