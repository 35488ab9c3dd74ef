"""`helpdesk reputation`: the outbound addresses against DNS blocklists, and which big providers
refuse our mail (docs/reputation.md)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import N_, _, ngettext, render
from helpdesk.localtime import log_time_text, time_text
from helpdesk.plaintext import clip, printable

if TYPE_CHECKING:
    from helpdesk.reputation.dnsbl import Answer
    from helpdesk.reputation.report import Picture

STATES = {
    "listed": N_("LISTED"),
    "clear": N_("not listed"),
    "refused": N_("no answer: the list refused the query"),
    "unexpected": N_("no answer: not a blocklist answer"),
    "error": N_("no answer"),
    "skipped": N_("not checked"),
}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "reputation",
        help=_("the outbound addresses against DNS blocklists; the big providers' refusals"),
    )
    parser.add_argument(
        "--no-history",
        action="store_true",
        help=_("do not record the listings in the database (nor read since when they are seen)"),
    )
    json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.errors import HelpdeskError, Unreachable
    from helpdesk.reputation.report import gather
    from helpdesk.reputation.settings import ReputationSettings

    config = ctx.config
    settings = ReputationSettings.from_config(config)
    db = None
    if not args.no_history and settings.addresses and config.section("database"):
        try:
            db = ctx.db
        except HelpdeskError as exc:
            ctx.say(_("warning: history not kept: {reason}").format(reason=exc))
    picture = gather(config, db, settings=settings)
    if picture.check is None and picture.check_error is not None and picture.refusals is None:
        # Nothing to show at all: the one line says why.
        raise Unreachable(picture.check_error)
    ctx.emit(picture.as_json(), format_picture(picture))
    for problem in (picture.check_error, picture.history_error, picture.senders_error):
        if problem is not None:
            ctx.say(_("warning: {reason}").format(reason=render(problem)))
    if picture.refusals_error is not None:
        ctx.say(
            _("warning: provider refusals not read: {reason}").format(
                reason=render(picture.refusals_error)
            )
        )
    return 1 if picture.check_error is not None else 0


def format_picture(picture: Picture) -> str:
    out: list[str] = []
    settings = picture.settings
    if not settings.addresses:
        out.append(_("Blocklists: no outbound addresses configured ([reputation] addresses)"))
    elif picture.check is None:
        out.append(_("Blocklists: {reason}").format(reason=render(picture.check_error or "?")))
    else:
        out.append(
            _("Blocklists, asked through {resolver} at {when}").format(
                resolver=picture.check.resolver,
                when=time_text(picture.check.checked_at, zone=True),
            )
        )
        width = max((len(a.address) for a in picture.check.answers), default=0)
        zone_width = max((len(a.shown) for a in picture.check.answers), default=0)
        for answer in picture.check.answers:
            out.extend(_answer_lines(answer, width, zone_width))
        for when, senders in sorted(picture.senders.items(), reverse=True):
            out.append(
                _("Accounts that sent most in the hour before {when}:").format(
                    when=time_text(when, zone=True)
                )
            )
            if not senders:
                out.append("  " + _("none in the send log"))
            for s in senders:
                detail = ngettext("{n} message", "{n} messages", s.messages).format(n=s.messages)
                if s.rejected:
                    detail += ", " + _("{n} refused as spam").format(n=s.rejected)
                detail += ", " + _("score {score}").format(score=s.score)
                out.append(f"  {clip(s.user, 50)}  {detail}")
    out.append("")
    refusals = picture.refusals
    if refusals is None:
        out.append(
            _("Provider refusals: {reason}").format(reason=render(picture.refusals_error or "?"))
        )
        return "\n".join(out)
    out.append(
        _("Refusals by the big providers, {start} to {end}").format(
            start=log_time_text(refusals.start), end=log_time_text(refusals.end, zone=True)
        )
    )
    if not refusals.providers:
        out.append("  " + _("no delivery to a big provider in this time"))
    name_width = max(len(p.name) for p in refusals.providers) if refusals.providers else 0
    for p in refusals.providers:
        if p.blocked:
            summary = _(
                "{blocked} of {total} deliveries blocked ({share}%): "
                "{refused} refused, {deferred} deferred"
            ).format(
                blocked=p.blocked,
                total=p.deliveries,
                share=round(p.share * 100),
                refused=p.refused,
                deferred=p.deferred,
            )
        else:
            summary = ngettext(
                "{n} delivery, none blocked", "{n} deliveries, none blocked", p.deliveries
            ).format(n=p.deliveries)
        out.append(f"  {p.name:<{name_width}}  {summary}")
        for code, n in p.codes.most_common():
            out.append(
                f"  {'':<{name_width}}    {printable(code)} ×{n}: {render(p.meanings[code])}"
            )
        if p.example:
            out.append(
                f"  {'':<{name_width}}    " + _("reply: {reply}").format(reply=clip(p.example, 200))
            )
    return "\n".join(out)


def _answer_lines(answer: Answer, width: int, zone_width: int) -> list[str]:
    state = _(STATES.get(answer.state, answer.state))
    if answer.listed and answer.since is not None:
        state = _("LISTED since {when}").format(when=time_text(answer.since, zone=True))
    elif answer.state == "refused" and answer.meanings:
        state = render(answer.meanings[0])
    elif answer.error is not None:
        state = f"{state}: {render(answer.error)}"
    lines = [f"  {answer.address:<{width}}  {answer.shown:<{zone_width}}  {state}"]
    pad = " " * (width + 4)
    if answer.listed:
        for code, meaning in zip(answer.codes, answer.meanings, strict=False):
            lines.append(f"{pad}{code} {render(meaning)}")
        if answer.note:
            lines.append(f"{pad}{clip(answer.note, 200)}")
    return lines
