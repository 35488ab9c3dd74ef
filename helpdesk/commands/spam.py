"""`helpdesk spam show|set|sieve|preview|regenerate`: a mailbox's spam ladder and sender lists.

ADDRESS is a mailbox (`alice@example.org`), a domain default (`@example.org`) or the site
default (`*`, quoted in the shell).
"""

from __future__ import annotations

import argparse
from typing import Any

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import M, Text, _, ngettext, number, render
from helpdesk.localtime import log_time_text


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "spam",
        help=_("show or tune a mailbox's spam ladder and sender lists"),
        description=_(
            "ADDRESS is a mailbox (alice@example.org), a domain default (@example.org) "
            "or the site default ('*', quoted in the shell)."
        ),
    )
    spam = parser.add_subparsers(dest="spam_command", metavar="ACTION", required=True)
    where = _("a mailbox, @domain for a domain's default, or '*' for the site default")

    show = spam.add_parser("show", help=_("the effective ladder and sender lists"))
    show.add_argument("address", metavar="ADDRESS", help=where)
    json_flag(show)
    show.set_defaults(func=run_show)

    set_ = spam.add_parser(
        "set",
        help=_("replace the ladder and/or sender lists"),
        description=_(
            "Rules replace the whole ladder; --allow/--block replace that list. "
            "Actions: none, mark, junk, forward:ADDRESS, delete. At most 10 rules and 100 "
            "senders (allow and block together), each address at most 100 characters "
            "(docs/spam.md, Limits)."
        ),
    )
    set_.add_argument("address", metavar="ADDRESS", help=where)
    set_.add_argument(
        "--rule", action="append", metavar="SCORE:ACTION[:ARG]", help=_("e.g. 6:junk (repeat)")
    )
    set_.add_argument("--no-rules", action="store_true", help=_("an empty ladder of its own"))
    set_.add_argument("--inherit", action="store_true", help=_("back to the domain's ladder"))
    sender = _("address or @domain (repeat)")
    set_.add_argument("--allow", action="append", metavar="SENDER", help=sender)
    set_.add_argument("--no-allow", action="store_true", help=_("empty the allow list"))
    set_.add_argument("--block", action="append", metavar="SENDER", help=sender)
    set_.add_argument("--no-block", action="store_true", help=_("empty the block list"))
    set_.add_argument("--ticket", required=True, metavar="T", help=_("ticket reference"))
    set_.add_argument("--reason", metavar="R", help=_("why (goes into the audit log)"))
    json_flag(set_)
    set_.set_defaults(func=run_set)

    sieve = spam.add_parser("sieve", help=_("print the Sieve script Dovecot runs for it"))
    sieve.add_argument("address", metavar="ADDRESS", help=where)
    sieve.set_defaults(func=run_sieve)

    preview = spam.add_parser(
        "preview", help=_("what the ladder (or the rules given) would do with recent mail")
    )
    preview.add_argument("address", metavar="ADDRESS", help=_("a mailbox"))
    preview.add_argument(
        "--rule",
        action="append",
        metavar="SCORE:ACTION[:ARG]",
        help=_("a proposed ladder instead of the stored one (repeat)"),
    )
    preview.add_argument("--log", action="append", metavar="PATH", help=_("Exim mainlog (glob)"))
    preview.add_argument("--limit", type=int, metavar="N", help=_("messages to look at"))
    json_flag(preview)
    preview.set_defaults(func=run_preview)

    regen = spam.add_parser(
        "regenerate", help=_("rewrite every stored script after [spam] settings changed")
    )
    regen.add_argument("--ticket", required=True, metavar="T", help=_("ticket reference"))
    json_flag(regen)
    regen.set_defaults(func=run_regenerate)


def _options(ctx: Context):
    from helpdesk.spam.script import SpamOptions

    return SpamOptions.from_config(ctx.config)


def _text(settings) -> str:
    from helpdesk.plaintext import printable

    lines = [printable(settings.scope.target)]
    if settings.inherited:
        if settings.inherited_from:
            source = printable(settings.inherited_from)
        else:
            source = _("nothing (no default set)")
        lines.append(_("  ladder inherited from {source}").format(source=source))
    if not settings.ladder:
        lines.append(_("  no rules: every message is delivered normally"))
    for rule in settings.ladder:
        lines.append(f"  {printable(render(rule.describe()))}")
    if settings.scope.kind == "mailbox":
        allow = ", ".join(map(printable, settings.allow)) or "-"
        block = ", ".join(map(printable, settings.block)) or "-"
        lines.append(_("  allow: {senders}").format(senders=allow))
        lines.append(_("  block: {senders}").format(senders=block))
    return "\n".join(lines)


def _english(text: str | Text) -> str:
    return text.english() if isinstance(text, Text) else text


def _with_warnings(data: dict[str, Any], warnings: list[str | Text]) -> dict[str, Any]:
    """`warnings` in English as before, with their message ids beside them (docs/i18n.md: a
    core text travels as `<field>_message`)."""
    data["warnings"] = [_english(w) for w in warnings]
    data["warnings_message"] = [
        w.as_json() if isinstance(w, Text) else {"id": w, "params": {}, "text": w} for w in warnings
    ]
    return data


def run_show(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.spam.settings import load

    with ctx.db.connect() as conn:
        settings = load(conn, args.address)
    ctx.emit(settings.as_json(), _text(settings))
    return 0


def run_set(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.errors import PolicyError
    from helpdesk.mailcenter.audit import current_operator
    from helpdesk.spam.ladder import parse_rule
    from helpdesk.spam.settings import load, save

    if args.rule and args.no_rules:
        raise PolicyError(M("give either --rule or --no-rules, not both"))
    if args.allow and args.no_allow or args.block and args.no_block:
        raise PolicyError(M("give either a list or its --no- option, not both"))
    ladder = tuple(parse_rule(r) for r in args.rule) if args.rule else None
    if args.no_rules:
        ladder = ()
    allow = [] if args.no_allow else args.allow
    block = [] if args.no_block else args.block
    if ladder is None and not args.inherit and allow is None and block is None:
        raise PolicyError(
            M("nothing to set: give --rule, --no-rules, --inherit, --allow or --block")
        )
    options = _options(ctx)
    with ctx.db.begin() as conn:
        current = load(conn, args.address)
        updated, warnings = save(
            conn,
            current,
            ladder=ladder,
            inherit=args.inherit,
            allow=allow,
            block=block,
            ticket=args.ticket,
            reason=args.reason,
            operator=current_operator(),
            options=options,
        )
    for warning in warnings:
        ctx.say(_("warning: {warning}").format(warning=render(warning)))
    ctx.emit(_with_warnings(updated.as_json(), warnings), _text(updated))
    return 0


def run_sieve(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.spam.settings import stored_script

    with ctx.db.connect() as conn:
        script = stored_script(conn, args.address, _options(ctx))
    # The script quotes what operators typed (sender lists, forward targets): shown, it is
    # made terminal-safe like any other output.
    ctx.emit({"script": script}, script.removesuffix("\n"))
    return 0


def run_preview(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.errors import PolicyError
    from helpdesk.plaintext import clip, printable
    from helpdesk.sendlog.settings import SendlogSettings
    from helpdesk.spam.ladder import parse_rule, validate
    from helpdesk.spam.preview import judge, recent_scores
    from helpdesk.spam.settings import load

    options = _options(ctx)
    with ctx.db.connect() as conn:
        settings = load(conn, args.address)
    if settings.scope.kind != "mailbox":
        raise PolicyError(M("preview needs a mailbox address"))
    ladder = settings.ladder
    if args.rule:
        ladder = tuple(parse_rule(r) for r in args.rule)
        for warning in validate(ladder, settings.scope.target):
            ctx.say(_("warning: {warning}").format(warning=render(warning)))
    patterns = args.log or list(SendlogSettings.from_config(ctx.config).paths)
    limit = args.limit or options.preview_limit
    messages = recent_scores(patterns, settings.scope.target, limit=limit)
    result = judge(
        ladder, messages, allow=settings.allow, block=settings.block,
        block_action=options.block_action,
    )  # fmt: skip
    from helpdesk.commands.labels import place_label

    lines = [render(result.summary())]
    for v in result.verdicts:
        m = v.message
        extra = ""
        if v.forwarded_to:
            extra = _(" + copy to {address}").format(address=printable(v.forwarded_to))
        lines.append(
            f"  {log_time_text(m.time, zone=True)} {m.score:6.1f} {place_label(v.where):<7}"
            f"{extra}  {clip(m.sender or '<>', 60)}  {clip(m.subject or '', 120)}"
        )
    ctx.emit(result.as_json(), "\n".join(lines))
    return 0


def run_regenerate(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.mailcenter.audit import current_operator, record
    from helpdesk.mailcenter.tickets import check_ticket
    from helpdesk.spam.settings import regenerate_all

    options = _options(ctx)
    db = ctx.db
    ticket = check_ticket(args.ticket)
    with db.begin() as conn:
        changed = regenerate_all(conn, options)
        if changed:
            record(
                conn, operator=current_operator(), action="spam.regenerate", target="*",
                ticket=ticket, after={"scripts_changed": changed},
            )  # fmt: skip
    text = ngettext(
        "{n} stored spam script rewritten", "{n} stored spam scripts rewritten", changed
    ).format(n=number(changed))
    ctx.emit({"changed": changed}, text)
    return 0
