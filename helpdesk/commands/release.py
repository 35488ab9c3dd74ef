"""`helpdesk release`, `helpdesk releases`, `helpdesk revoke`: let one blocked message through."""

from __future__ import annotations

import argparse

from helpdesk.cli import Context, json_flag
from helpdesk.localtime import time_text


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "release", help="let exactly one message from one sender through rspamd's outbound check"
    )
    parser.add_argument("message_id", metavar="MESSAGE-ID", help="with or without <>")
    parser.add_argument("--user", required=True, metavar="ADDRESS", help="the sender's login")
    parser.add_argument("--ttl", metavar="DURATION", help="how long (default [rspamd] release_ttl)")
    parser.add_argument("--ticket", required=True, metavar="T")
    parser.add_argument("--reason", metavar="R")
    json_flag(parser)
    parser.set_defaults(func=run_release)

    parser = sub.add_parser("releases", help="recorded releases, newest first")
    parser.add_argument("--user", metavar="ADDRESS")
    parser.add_argument("--active", action="store_true", help="only those in force now")
    parser.add_argument(
        "--sync",
        action="store_true",
        help="first rewrite rspamd's map from the database (drops expired releases; for cron)",
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


def run_release(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.durations import format_duration, parse_duration
    from helpdesk.mailcenter.audit import current_operator

    service = _service(ctx)
    with service.cluster:
        ttl = parse_duration(args.ttl) if args.ttl else None
        release = service.release(
            args.message_id,
            args.user,
            ticket=args.ticket,
            reason=args.reason,
            ttl=ttl,
            operator=current_operator(),
        )
        seen = _seen_blocked(service.cluster, release.address, release.message_id)
    if seen is False:
        # A Message-ID read out over the phone is easily misheard: say when rspamd never
        # refused it, but keep the release (the history may have rolled over).
        ctx.say(
            f"note: rspamd's history shows no blocked message <{release.message_id}> "
            f"from {release.address}; check the Message-ID"
        )
    lasts = format_duration(release.expires_at - release.created_at)
    ctx.emit(
        {**release.as_json(), "seen_blocked": seen},
        f"release #{release.id}: <{release.message_id}> from {release.address} may pass "
        f"for {lasts} (until {time_text(release.expires_at, zone=True)}); "
        "the customer can send it again now",
    )
    return 0


def _seen_blocked(cluster, address: str, message_id: str) -> bool | None:
    """True/False whether the history shows this message refused; None if it cannot be read."""
    from helpdesk.rspamd.client import RspamdError

    try:
        rows, _ = cluster.history()
    except RspamdError:
        return None
    mid = message_id.casefold()
    return any(
        r.rejected and r.message_id.casefold() == mid and r.user_matches(address) for r in rows
    )


def run_revoke(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.mailcenter.audit import current_operator

    service = _service(ctx)
    with service.cluster:
        release = service.revoke(
            args.release_id, ticket=args.ticket, reason=args.reason, operator=current_operator()
        )
    ctx.emit(
        release.as_json(),
        f"release #{release.id} revoked: <{release.message_id}> from {release.address} "
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
                    f"(<{r.message_id}> from {r.address} stays blocked)"
                )
            if outcome.errors:
                still = f"; {len(outcome.pending)} release(s) still pending" * bool(outcome.pending)
                raise RspamdError(f"{outcome.errors[0]}; the map there is not current{still}")
            ctx.say(f"rspamd map rewritten: {outcome.lines} active release(s)")
        try:
            rows, failed = service.cluster.history()
            service.refresh_used(rows)
        except RspamdError as exc:
            failed = [str(exc)]
        for warning in failed:
            ctx.say(f"warning: cannot tell which releases were used: {warning}")
    with ctx.db.connect() as conn:
        releases = list_releases(conn, address=args.user, include_inactive=not args.active)
    text = "\n".join(
        f"#{r.id:<5} {r.label():<14} {printable(r.address)}  <{clip(r.message_id, 80)}>  "
        f"until {time_text(r.expires_at, zone=True)}  {printable(r.ticket)}  "
        f"by {printable(r.operator)}"
        for r in releases
    )
    ctx.emit({"releases": [r.as_json() for r in releases]}, text or "no releases")
    return 0
