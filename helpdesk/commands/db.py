"""`helpdesk db init` and `helpdesk db demo`."""

from __future__ import annotations

import argparse

from helpdesk.cli import Context, json_flag


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("db", help="create the schema, fill demo data")
    inner = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    init = inner.add_parser("init", help="create the tables and search indexes (idempotent)")
    json_flag(init)
    init.set_defaults(func=run_init)
    reindex = inner.add_parser(
        "reindex", help="rebuild the name search index (after another program wrote mailboxes)"
    )
    reindex.add_argument(
        "--all",
        action="store_true",
        help="every mailbox, not only new ones; the address parts are rebuilt too",
    )
    json_flag(reindex)
    reindex.set_defaults(func=run_reindex)
    demo = inner.add_parser("demo", help="fill an empty database with realistic demo data")
    demo.add_argument("--mailboxes", type=int, default=3000, metavar="N")
    demo.add_argument("--domains", type=int, default=260, metavar="M")
    demo.add_argument("--seed", type=int, default=1, metavar="S")
    json_flag(demo)
    demo.set_defaults(func=run_demo)


def run_init(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.mailcenter.reindex import pairs_missing, reindex_names, words_missing

    ctx.db.create_schema()
    indexed = 0
    if words_missing(ctx.db):
        indexed = reindex_names(ctx.db)
    elif pairs_missing(ctx.db):
        indexed = reindex_names(ctx.db, only_missing=False)
    text = f"schema ready in {ctx.db.display_url}"
    if indexed:
        text += f"; indexed the names of {indexed} existing mailboxes"
    ctx.emit({"database": ctx.db.display_url, "schema": "ok", "indexed": indexed}, text)
    return 0


def run_reindex(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.mailcenter.db import refill_address_parts
    from helpdesk.mailcenter.reindex import reindex_names

    count = reindex_names(ctx.db, only_missing=not args.all)
    text = f"indexed the names of {count} mailboxes"
    if args.all:
        # Triggers keep the parts; this repairs a table that someone emptied or edited.
        with ctx.db.begin() as conn:
            refill_address_parts(conn)
        text += "; rebuilt the address parts"
    ctx.emit({"indexed": count, "address_parts_rebuilt": args.all}, text)
    return 0


def run_demo(args: argparse.Namespace, ctx: Context) -> int:
    from dataclasses import asdict

    from helpdesk.mailcenter.demo import fill
    from helpdesk.spam.demo import insert_demo_rows

    ctx.db.create_schema()

    def progress(done: int) -> None:
        if not ctx.json and args.mailboxes >= 100000 and done % 100000 == 0:
            ctx.say(f"  {done:,} mailboxes …")

    summary = fill(
        ctx.db,
        mailboxes_count=args.mailboxes,
        domains_count=args.domains,
        seed=args.seed,
        progress=progress,
        more=insert_demo_rows,
    )
    ctx.emit(
        asdict(summary),
        f"demo data: {summary.mailboxes} mailboxes on {summary.domains} domains, "
        f"{summary.aliases} aliases, {summary.suspended} suspended, "
        f"{summary.must_change} must change their password, {summary.disabled} disabled",
    )
    return 0
