"""`helpdesk release`: let one blocked message from one account through, a few times at most."""

from __future__ import annotations

import argparse

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import M, _, ngettext
from helpdesk.localtime import time_text


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "release",
        help=_("let exactly one blocked message (its content) from one account through rspamd"),
    )
    parser.add_argument(
        "message_id",
        metavar="MESSAGE-ID",
        nargs="?",
        help=_("with or without <>; finds the message's content digest in Exim's log"),
    )
    parser.add_argument("--user", required=True, metavar="ADDRESS", help=_("the sender's login"))
    parser.add_argument(
        "--digest", metavar="HEX", help=_("the content digest (`helpdesk blocked` shows it)")
    )
    parser.add_argument(
        "--uses",
        type=int,
        default=1,
        metavar="N",
        help=_("how many copies may pass (1-10, default 1)"),
    )
    parser.add_argument(
        "--ttl",
        metavar="DURATION",
        help=_("how long (default [rspamd] release_ttl, at most 3 days)"),
    )
    parser.add_argument("--ticket", required=True, metavar="T")
    parser.add_argument("--reason", metavar="R")
    parser.add_argument(
        "--log", metavar="PATH", action="append", help=_("Exim mainlog to find the digest in")
    )
    parser.add_argument(
        "--lang",
        choices=("de", "en"),
        help=_("language of the text for the customer (default: the language of this program)"),
    )
    json_flag(parser)
    parser.set_defaults(func=run_release)


def _service(ctx: Context):
    from helpdesk.rspamd.client import Cluster
    from helpdesk.rspamd.releases import ReleaseService

    return ReleaseService(ctx.db, Cluster.from_config(ctx.config))


def run_release(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.durations import format_duration, parse_duration
    from helpdesk.errors import PolicyError
    from helpdesk.mailcenter.audit import current_operator
    from helpdesk.mailcenter.tickets import check_ticket
    from helpdesk.rspamd.releases import check_uses, normalize_message_id

    if not args.message_id and not args.digest:
        raise PolicyError(M("give the MESSAGE-ID or --digest of the blocked message"))
    check_uses(args.uses)
    message_id = normalize_message_id(args.message_id) if args.message_id else ""
    ttl = parse_duration(args.ttl) if args.ttl else None
    service = _service(ctx)
    # A ticket that is not one is refused before any controller is asked (it may be down).
    check_ticket(args.ticket)
    subject = ""
    with service.cluster:
        digest = args.digest
        if not digest:
            digest, subject = find_digest(ctx, service.cluster, args.user, message_id, args.log)
        release = service.release(
            message_id,
            args.user,
            digest=digest,
            ticket=args.ticket,
            reason=args.reason,
            ttl=ttl,
            uses=args.uses,
            operator=current_operator(),
        )
    lasts = format_duration(release.expires_at - release.created_at)
    text = ngettext(
        "release #{id}: {what} (this content) from {address} may pass once within {lasts} "
        "(until {until}); the customer can send it again now",
        "release #{id}: {what} (this content) from {address} may pass {n} times within "
        "{lasts} (until {until}); the customer can send it again now",
        release.uses,
    ).format(
        id=release.id,
        what=release.what,
        address=release.address,
        lasts=lasts,
        until=time_text(release.expires_at, zone=True),
        n=release.uses,
    )
    ctx.emit(release.as_json(), text + "\n\n" + customer_text(release, subject, args.lang))
    return 0


def customer_text(release, subject: str, choice: str | None) -> str:
    """What the operator reads out, in the customer's language (--lang, else the UI's)."""
    from helpdesk.i18n import customer_language
    from helpdesk.rspamd.explain import LANGUAGE_NAMES, release_explanation

    lang = customer_language(choice)
    explanation = release_explanation(
        subject=subject,
        lasts=release.expires_at - release.created_at,
        until=time_text(release.expires_at, zone=True),
        uses=release.uses,
    )
    heading = _("For the customer ({language}):").format(language=LANGUAGE_NAMES[lang])
    return heading + "\n" + explanation.render(lang)


def find_digest(
    ctx: Context, cluster, user: str, message_id: str, logs: list[str] | None
) -> tuple[str, str]:
    """The content digest and subject of the newest refusal of this Message-ID from this
    account."""
    from helpdesk.errors import PolicyError
    from helpdesk.rspamd.blocked import collect_blocked
    from helpdesk.rspamd.exim_rejects import configured_mainlogs

    report = collect_blocked(
        cluster, None, user=user, logs=logs or configured_mainlogs(ctx.config), recent_only=False
    )
    wanted = message_id.casefold()
    for item in report.items:
        if item.digest and item.message_id.casefold() == wanted:
            return item.digest, item.subject
    raise PolicyError(
        M(
            "no refusal of <{message_id}> from {user} with a content digest in rspamd's "
            "history or Exim's log: check the Message-ID, or give --digest; nothing changed",
            message_id=message_id,
            user=user.strip().lower(),
        )
    )
