"""`helpdesk find QUERY`: ranked mailbox search."""

from __future__ import annotations

import argparse

from helpdesk.cli import Context, json_flag


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "find",
        help="find mailboxes by address, part of one, name, domain or customer number",
    )
    parser.add_argument("query")
    parser.add_argument("--limit", type=int, default=50, metavar="N")
    json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.cli import as_latin1, has_undecodable
    from helpdesk.mailcenter.search import find_mailboxes
    from helpdesk.plaintext import clip, printable

    query = args.query
    if has_undecodable(query):
        # A terminal set to Latin-1 sends `müller` as b"m\xfcller"; that is what it meant.
        query = as_latin1(query)
        ctx.say(f"note: the search text is not UTF-8; searching for it read as Latin-1: {query}")
    limit = max(1, min(args.limit, 1000))
    with ctx.db.connect() as conn:
        result = find_mailboxes(conn, query, limit=limit)
    lines = [
        f"{clip(h.mailbox.address, 45):<45} {clip(h.mailbox.realname, 28):<28} "
        f"{clip(h.mailbox.customer_ref, 10):<10} {printable(h.mailbox.status):<11} {h.match}"
        for h in result.hits
    ]
    shown = f"{len(result.hits)} of {result.total}" if result.total > len(result.hits) else ""
    footer = f"{shown} matches" if shown else f"{result.total} matches"
    ctx.emit(result.as_json(), "\n".join([*lines, footer]))
    return 0 if result.hits else 1
