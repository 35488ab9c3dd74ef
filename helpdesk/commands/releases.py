"""`helpdesk releases [--sync]`, `helpdesk revoke`: the recorded releases, rspamd's maps
brought to the database (for a timer, every minute), and ending a release early."""

from __future__ import annotations

import argparse

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import M, Mn, _, ngettext
from helpdesk.localtime import time_text


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("releases", help=_("recorded releases, newest first"))
    parser.add_argument("--user", metavar="ADDRESS")
    parser.add_argument("--active", action="store_true", help=_("only those in force now"))
    parser.add_argument(
        "--sync",
        action="store_true",
        help=_(
            "first bring every controller's map to the database: expired, used and revoked "
            "releases leave it (run every minute from a timer; docs/rspamd.md)"
        ),
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help=_(
            "with --sync: print nothing when all went well, no list (for cron, which mails "
            "any output); failures and withdrawn releases are still said"
        ),
    )
    json_flag(parser)
    parser.set_defaults(func=run_list)

    parser = sub.add_parser("revoke", help=_("withdraw a release before it expires"))
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
        _("release #{id} revoked: {what} from {address} is judged normally again").format(
            id=release.id, what=release.what, address=release.address
        ),
    )
    return 0


def run_list(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.errors import PolicyError
    from helpdesk.mailcenter.audit import current_operator
    from helpdesk.plaintext import clip, printable
    from helpdesk.rspamd.client import RspamdError
    from helpdesk.rspamd.releases import list_releases

    if args.quiet and not args.sync:
        raise PolicyError(M("--quiet is for --sync"))
    service = _service(ctx)
    with service.cluster:
        if args.sync:
            outcome = service.sync(current_operator())
            for r in outcome.withdrawn:
                ctx.say(
                    _(
                        "release #{id} withdrawn from every controller: it was never confirmed "
                        "({what} from {address} stays blocked)"
                    ).format(id=r.id, what=r.what, address=r.address)
                )
            if outcome.errors:
                if outcome.pending:
                    raise RspamdError(
                        Mn(
                            "{error}; the map there is not current; {n} release still pending",
                            "{error}; the map there is not current; {n} releases still pending",
                            len(outcome.pending),
                            error=outcome.errors[0],
                        )
                    )
                raise RspamdError(
                    M("{error}; the map there is not current", error=outcome.errors[0])
                )
            if args.quiet:
                return 0
            ctx.say(
                ngettext(
                    "rspamd map rewritten: {n} active release",
                    "rspamd map rewritten: {n} active releases",
                    outcome.lines,
                ).format(n=outcome.lines)
            )
    with ctx.db.connect() as conn:
        releases = list_releases(conn, address=args.user, include_inactive=not args.active)
    text = "\n".join(
        _("#{id} {state} {address}  {what}  until {until}  {ticket}  by {operator}").format(
            id=f"{r.id:<5}",
            state=f"{r.label():<20}",
            address=printable(r.address),
            what=clip(printable(str(r.what)), 80),
            until=time_text(r.expires_at, zone=True),
            ticket=printable(r.ticket),
            operator=printable(r.operator),
        )
        for r in releases
    )
    ctx.emit({"releases": [r.as_json() for r in releases]}, text or _("no releases"))
    return 0
