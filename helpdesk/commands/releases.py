"""`helpdesk releases [--sync]`, `helpdesk revoke`: the recorded releases, rspamd's maps
brought to the database (for a timer, every minute), and ending a release early."""

from __future__ import annotations

import argparse

from helpdesk.cli import Context, json_flag
from helpdesk.localtime import time_text


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("releases", help="recorded releases, newest first")
    parser.add_argument("--user", metavar="ADDRESS")
    parser.add_argument("--active", action="store_true", help="only those in force now")
    parser.add_argument(
        "--sync",
        action="store_true",
        help="first bring every controller's map to the database: expired, used and revoked "
        "releases leave it (run every minute from a timer; docs/rspamd.md)",
    )
    json_flag(parser)
    parser.set_defaults(func=run_list)

    parser = sub.add_parser("revoke", help="withdraw a release before it expires")
    parser.add_argument("release_id", metavar="ID", type=int)
    parser.add_argument("--ticket", required=True, metavar="T")
    parser.add_argument("--reason", metavar="R")
    json_flag(parser)
    parser.set_defaults(func=run_revoke)


def _service(ctx: Context):
    from helpdesk.rspamd.client import Cluster
    from helpdesk.rspamd.releases import ReleaseService

    return ReleaseService(ctx.db, Cluster.from_config(ctx.config))


def run_revoke(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.mailcenter.audit import current_operator

    service = _service(ctx)
    with service.cluster:
        release = service.revoke(
            args.release_id, ticket=args.ticket, reason=args.reason, operator=current_operator()
        )
    ctx.emit(
        release.as_json(),
        f"release #{release.id} revoked: {release.what} from {release.address} "
        "is judged normally again",
    )
    return 0


def run_list(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.mailcenter.audit import current_operator
    from helpdesk.plaintext import clip, printable
    from helpdesk.rspamd.client import RspamdError
    from helpdesk.rspamd.releases import list_releases

    service = _service(ctx)
    with service.cluster:
        if args.sync:
            outcome = service.sync(current_operator())
            for r in outcome.withdrawn:
                ctx.say(
                    f"release #{r.id} withdrawn from every controller: it was never confirmed "
                    f"({r.what} from {r.address} stays blocked)"
                )
            if outcome.errors:
                still = f"; {len(outcome.pending)} release(s) still pending" * bool(outcome.pending)
                raise RspamdError(f"{outcome.errors[0]}; the map there is not current{still}")
            ctx.say(f"rspamd map rewritten: {outcome.lines} active release(s)")
    with ctx.db.connect() as conn:
        releases = list_releases(conn, address=args.user, include_inactive=not args.active)
    text = "\n".join(
        f"#{r.id:<5} {r.label():<20} {printable(r.address)}  {clip(printable(r.what), 80)}  "
        f"until {time_text(r.expires_at, zone=True)}  {printable(r.ticket)}  "
        f"by {printable(r.operator)}"
        for r in releases
    )
    ctx.emit({"releases": [r.as_json() for r in releases]}, text or "no releases")
    return 0
