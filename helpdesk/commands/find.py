"""`helpdesk find QUERY`: ranked mailbox search."""

from __future__ import annotations

import argparse

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import _, ngettext, number


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "find",
        help=_("find mailboxes by address, part of one, name, domain or customer number"),
    )
    parser.add_argument(
        "query", help=_("what the caller says: a name, an address or part of one, a domain")
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=50,
        metavar="N",
        help=_("show at most N mailboxes (default: %(default)s)"),
    )
    json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.cli import as_latin1, has_undecodable
    from helpdesk.commands.labels import match_label, status_label
    from helpdesk.mailcenter.search import find_mailboxes
    from helpdesk.plaintext import clip, printable

    query = args.query
    if has_undecodable(query):
        # A terminal set to Latin-1 sends `müller` as b"m\xfcller"; that is what it meant.
        query = as_latin1(query)
        ctx.say(
            _("note: the search text is not UTF-8; searching for it read as Latin-1: {query}")
            .format(query=query)
        )  # fmt: skip
    limit = max(1, min(args.limit, 1000))
    with ctx.db.connect() as conn:
        result = find_mailboxes(conn, query, limit=limit)
    lines = [
        f"{clip(h.mailbox.address, 45):<45} {clip(h.mailbox.realname, 28):<28} "
        f"{clip(h.mailbox.customer_ref, 10):<10} "
        f"{printable(status_label(h.mailbox.status)):<11} {printable(match_label(h.match))}"
        for h in result.hits
    ]
    if result.total > len(result.hits):
        footer = ngettext("{shown} of {n} match", "{shown} of {n} matches", result.total).format(
            shown=number(len(result.hits)), n=number(result.total)
        )
    else:
        footer = ngettext("{n} match", "{n} matches", result.total).format(n=number(result.total))
    ctx.emit(result.as_json(), "\n".join([*lines, footer]))
    return 0 if result.hits else 1
