"""`helpdesk logins ADDRESS`: the mailbox's logins and failed attempts, why, and what to tell
the customer."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import _, ngettext, number, render
from helpdesk.localtime import log_time_text
from helpdesk.plaintext import clip, printable

if TYPE_CHECKING:
    from helpdesk.logins.events import LoginEvent
    from helpdesk.logins.timeline import Timeline


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "logins", help=_("a mailbox's logins and failed attempts, with reasons and diagnoses")
    )
    parser.add_argument("address")
    parser.add_argument(
        "--since", metavar="DURATION", help=_("window, e.g. 24h, 7d (default: [logins] since)")
    )
    json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.durations import parse_since
    from helpdesk.logins.bans import current_bans
    from helpdesk.logins.lastlogin import read_last_login
    from helpdesk.logins.settings import LoginSettings
    from helpdesk.logins.timeline import build
    from helpdesk.mailcenter.mailboxes import get_mailbox, normalize_address

    since = parse_since(args.since) if args.since else None
    address = normalize_address(args.address)
    settings = LoginSettings.from_config(ctx.config)
    with ctx.db.connect() as conn:
        mailbox = get_mailbox(conn, address)
    last, missing = read_last_login(ctx.db, mailbox.address)
    timeline = build(
        settings,
        mailbox.address,
        mailbox=mailbox,
        since=since,
        bans=current_bans(settings),
        last_login=last,
    )
    if missing is not None:
        timeline.warnings.append(missing)
    for warning in timeline.warnings:
        ctx.say(_("warning: {text}").format(text=render(warning)))
    ctx.emit(timeline.as_json(), format_timeline(timeline))
    return 0


def yes_no(value: bool | None) -> str:
    return _("TLS") if value else _("no TLS") if value is False else _("TLS unknown")


def event_line(e: LoginEvent) -> str:
    outcome = _("ok") if e.ok else _("FAILED")
    parts = [
        log_time_text(e.time),
        f"{e.protocol.upper():<5}",
        f"{outcome:<6}",
        f"{printable(e.ip):<15}",
        yes_no(e.tls),
        printable(e.mechanism or "—"),
        clip(e.client or _("unknown program"), 24),
    ]
    if e.attempts > 1:
        parts.append(ngettext("×{n}", "×{n}", e.attempts).format(n=number(e.attempts)))
    text = "  ".join(parts)
    if not e.ok and e.reason_text is not None:
        text += " — " + render(e.reason_text)
    if e.banned:
        text += " — " + _("led to a ban")
    if e.match == "attributed":
        text += " — " + _("probably this mailbox's device (same address)")
    elif e.match == "near_miss":
        text += " — " + _("login name “{user}”").format(user=printable(e.user))
    return text


def format_timeline(t: Timeline) -> str:
    out = [
        _("Logins of {address} from {start} to {end}").format(
            address=printable(t.address),
            start=log_time_text(t.start),
            end=log_time_text(t.end, zone=True),
        )
    ]
    if t.diagnoses:
        out.append("")
        out.append(_("What to tell the customer:"))
        out.extend(f"  • {printable(render(d.text))}" for d in t.diagnoses)
    out.append("")
    out.append(_("Last success per protocol:"))
    if not t.last_success:
        out.append("  " + _("none in the window"))
    for protocol, e in sorted(t.last_success.items()):
        out.append(
            f"  {protocol.upper():<5} {log_time_text(e.last or e.time)}  {printable(e.ip)}  "
            f"{clip(e.client or _('unknown program'), 30)}"
        )
    if t.last_login:
        out.append(
            "  "
            + _("Recorded by Dovecot: {logins}").format(
                logins=", ".join(
                    f"{p.upper()} {log_time_text(w)}" for p, w in sorted(t.last_login.items())
                )
            )
        )
        out.append("  " + _("(SMTP only from Exim's arrivals: Dovecot never sees it)"))
    out.append("")
    out.append(_("By client program, protocol and mechanism:"))
    if not t.groups:
        out.append("  " + _("no login in the window"))
    for g in t.groups:
        ips = ", ".join(printable(ip) for ip, _n in g.ips.most_common(5))
        more = len(g.ips) - 5
        if more > 0:
            ips += " " + _("and {n} more").format(n=number(more))
        out.append(
            "  "
            + _("{program} · {protocol} · {mechanism}: {ok} ok, {failed} failed").format(
                program=clip(g.client or _("unknown program"), 30),
                protocol=g.protocol.upper(),
                mechanism=printable(g.mechanism or "—"),
                ok=number(g.ok),
                failed=number(g.failed),
            )
        )
        out.append("      " + _("addresses: {ips}").format(ips=ips))
    out.append("")
    out.append(_("Timeline:"))
    if not t.events:
        out.append("  " + _("no login in the window"))
    out.extend("  " + event_line(e) for e in t.events)
    return "\n".join(out)
