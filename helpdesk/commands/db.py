"""`helpdesk db init` and `helpdesk db demo`."""

from __future__ import annotations

import argparse

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import _, ngettext, number


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("db", help=_("create the schema, fill demo data"))
    inner = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    init = inner.add_parser("init", help=_("create the tables and search indexes (idempotent)"))
    json_flag(init)
    init.set_defaults(func=run_init)
    reindex = inner.add_parser(
        "reindex",
        help=_("rebuild the name search index (after another program wrote mailboxes)"),
    )
    reindex.add_argument(
        "--all",
        action="store_true",
        help=_("every mailbox, not only new ones; the address parts are rebuilt too"),
    )
    json_flag(reindex)
    reindex.set_defaults(func=run_reindex)
    demo = inner.add_parser("demo", help=_("fill an empty database with realistic demo data"))
    demo.add_argument(
        "--mailboxes",
        type=int,
        default=3000,
        metavar="N",
        help=_("how many mailboxes (default: %(default)s)"),
    )
    demo.add_argument(
        "--domains",
        type=int,
        default=260,
        metavar="M",
        help=_("on how many domains (default: %(default)s)"),
    )
    demo.add_argument(
        "--seed",
        type=int,
        default=1,
        metavar="S",
        help=_("the same seed gives the same data (default: %(default)s)"),
    )
    json_flag(demo)
    demo.set_defaults(func=run_demo)


def run_init(args: argparse.Namespace, ctx: Context) -> int:
    import helpdesk.reputation.schema  # noqa: F401  (adds reputation_listings to the schema)
    from helpdesk.mailcenter.reindex import pairs_missing, reindex_names, words_missing

    ctx.db.create_schema()
    _global_limits(ctx)
    indexed = 0
    if words_missing(ctx.db):
        indexed = reindex_names(ctx.db)
    elif pairs_missing(ctx.db):
        indexed = reindex_names(ctx.db, only_missing=False)
    text = _("schema ready in {database}").format(database=ctx.db.display_url)
    if indexed:
        text += ngettext(
            "; indexed the name of {n} existing mailbox",
            "; indexed the names of {n} existing mailboxes",
            indexed,
        ).format(n=number(indexed))
    ctx.emit({"database": ctx.db.display_url, "schema": "ok", "indexed": indexed}, text)
    return 0


def _global_limits(ctx: Context) -> None:
    """The global sending limit from `[limits]`, written once, when the configuration names a
    limit: without one, no mailbox is limited until an operator sets a limit (the demo's
    offender keeps sending, so that stopping it by hand can be tried)."""
    from helpdesk.limits.settings import DEFAULTS, limit_settings
    from helpdesk.limits.store import ensure_global_default

    settings = limit_settings(ctx.config)
    if not any(key in ctx.config.section("limits") for key in DEFAULTS):
        return
    with ctx.db.begin() as conn:
        ensure_global_default(conn, settings)


def run_reindex(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.mailcenter.db import refill_address_parts
    from helpdesk.mailcenter.reindex import reindex_names

    count = reindex_names(ctx.db, only_missing=not args.all)
    text = ngettext(
        "indexed the name of {n} mailbox", "indexed the names of {n} mailboxes", count
    ).format(n=number(count))
    if args.all:
        # Triggers keep the parts; this repairs a table that someone emptied or edited.
        with ctx.db.begin() as conn:
            refill_address_parts(conn)
        text += _("; rebuilt the address parts")
    ctx.emit({"indexed": count, "address_parts_rebuilt": args.all}, text)
    return 0


def run_demo(args: argparse.Namespace, ctx: Context) -> int:
    from dataclasses import asdict

    from helpdesk.mailcenter.demo import fill
    from helpdesk.spam.demo import insert_demo_rows

    ctx.db.create_schema()

    def progress(done: int) -> None:
        if not ctx.json and args.mailboxes >= 100000 and done % 100000 == 0:
            ctx.say(_("  {n} mailboxes …").format(n=number(done)))

    summary = fill(
        ctx.db,
        mailboxes_count=args.mailboxes,
        domains_count=args.domains,
        seed=args.seed,
        progress=progress,
        more=insert_demo_rows,
    )
    counts = {
        "mailboxes": ngettext("{n} mailbox", "{n} mailboxes", summary.mailboxes),
        "domains": ngettext("{n} domain", "{n} domains", summary.domains),
        "aliases": ngettext("{n} alias", "{n} aliases", summary.aliases),
        "suspended": ngettext("{n} suspended", "{n} suspended", summary.suspended),
        "must_change": ngettext(
            "{n} must change its password", "{n} must change their password", summary.must_change
        ),
        "disabled": ngettext("{n} disabled", "{n} disabled", summary.disabled),
    }
    parts = {k: v.format(n=number(getattr(summary, k))) for k, v in counts.items()}
    ctx.emit(
        asdict(summary),
        _(
            "demo data: {mailboxes} on {domains}, {aliases}, {suspended}, {must_change}, {disabled}"
        ).format(**parts),
    )
    return 0
