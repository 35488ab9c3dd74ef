"""`helpdesk rspamd status`: each controller's health, thresholds, counters, recent verdicts."""

from __future__ import annotations

import argparse

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import _, english, render
from helpdesk.localtime import time_text


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("rspamd", help=_("rspamd controllers: health and recent verdicts"))
    inner = parser.add_subparsers(dest="rspamd_command", metavar="COMMAND", required=True)
    status = inner.add_parser("status", help=_("health, version, thresholds, counters, history"))
    status.add_argument("--user", metavar="ADDRESS", help=_("history of this login only"))
    status.add_argument("--action", help=_("history with this action only, e.g. reject"))
    status.add_argument("--min-score", type=float, metavar="SCORE")
    status.add_argument("--limit", type=int, default=20, metavar="N", help=_("history rows (20)"))
    json_flag(status)
    status.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.plaintext import clip, printable
    from helpdesk.rspamd.client import Cluster, RspamdError, filter_rows

    with Cluster.from_config(ctx.config) as cluster:
        statuses = cluster.status()
        try:
            rows, failed = cluster.history()
        except RspamdError as exc:
            rows, failed = [], [exc.message]
    rows = filter_rows(rows, user=args.user, action=args.action, min_score=args.min_score)
    rows = rows[: max(args.limit, 0)]
    data = {
        "controllers": [s.as_json() for s in statuses],
        "history": [r.as_json() for r in rows],
        # In English whatever the operator reads: --json never changes with the language.
        "history_errors": [english(f) for f in failed],
    }
    lines = []
    for s in statuses:
        if not s.ok:
            lines.append(
                _("{name}  DOWN  {error}").format(
                    name=printable(s.name), error=printable(render(s.message or s.error))
                )
            )
            continue
        thresholds = ", ".join(f"{printable(a)} {v:g}" for a, v in s.actions if v is not None)
        counted = s.stat.get("actions", {})
        lines.append(
            _("{name}  ok  rspamd {version}  up {uptime}s  {url}").format(
                name=printable(s.name),
                version=printable(s.version),
                uptime=s.uptime,
                url=printable(s.url),
            )
        )
        lines.append(_("    thresholds: {thresholds}").format(thresholds=thresholds))
        lines.append(
            _("    scanned {n}, ").format(n=s.stat.get("scanned", 0))
            + ", ".join(f"{printable(k)} {printable(v)}" for k, v in counted.items())
        )
    if rows:
        lines.append(_("recent verdicts (newest first):"))
    for r in rows:
        score = f"{r.score:.1f}" if r.score is not None else "-"
        lines.append(
            f"  {time_text(r.time, '%m-%d %H:%M:%S', zone=True)} {printable(r.controller)} "
            f"{printable(r.action):<12} "
            f"{score:>6}  {clip(r.user or '-', 60)}  <{clip(r.message_id or '?', 100)}>"
        )
    ctx.emit(data, "\n".join(lines))
    for s in statuses:
        if not s.ok:
            ctx.say(f"helpdesk: {render(s.message or s.error)}")
    # Exit 1 when a controller is down, so monitoring scripts can use it.
    return 0 if all(s.ok for s in statuses) else 1
