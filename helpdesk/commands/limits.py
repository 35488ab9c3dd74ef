"""`helpdesk limits show|set ADDRESS`: a mailbox's (or `@domain`'s) sending limits, as Exim
applies them, and the audited change."""

from __future__ import annotations

import argparse
from typing import Any

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import N_, _

_LABELS = {
    "messages_per_hour": N_("messages"),
    "recipients_per_hour": N_("recipients"),
    "recipients_per_message": N_("per message"),
}


def _limit(text: str) -> int | None:
    """A limit on the command line: a whole number (0 = none), or `inherit`."""
    if text.strip().lower() == "inherit":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("{value} is not a whole number or 'inherit'").format(value=text)
        ) from None


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("limits", help=_("sending limits of a mailbox or domain (Exim)"))
    inner = parser.add_subparsers(dest="limits_command", required=True, metavar="show|set")
    show = inner.add_parser("show", help=_("the limits as Exim applies them, and the usage"))
    show.add_argument("address", help=_("the mailbox's address, @domain, or global"))
    json_flag(show)
    show.set_defaults(func=run_show)

    change = inner.add_parser("set", help=_("change limits (0 = no limit, inherit = the default)"))
    change.add_argument("address", help=_("the mailbox's address, @domain, or global"))
    change.add_argument(
        "--messages",
        type=_limit,
        default=argparse.SUPPRESS,
        metavar="N",
        help=_("messages per hour"),
    )
    change.add_argument(
        "--recipients",
        type=_limit,
        default=argparse.SUPPRESS,
        metavar="N",
        help=_("recipients per hour"),
    )
    change.add_argument(
        "--per-message",
        type=_limit,
        default=argparse.SUPPRESS,
        metavar="N",
        help=_("recipients per message"),
    )
    change.add_argument(
        "--over",
        choices=("refuse", "defer", "inherit"),
        help=_("over a limit: refuse (550) or defer (451)"),
    )
    change.add_argument("--ticket", required=True, metavar="T", help=_("ticket reference"))
    change.add_argument("--reason", metavar="R", help=_("why (goes into the audit log)"))
    json_flag(change)
    change.set_defaults(func=run_set)


def _scope(conn, target: str) -> tuple[str, str, dict[str, Any], Any]:
    """(scope key, shown target, ids for a new row, the mailbox or None) of ADDRESS/@domain."""
    from helpdesk.limits.store import GLOBAL, domain_id_of, domain_key, mailbox_key
    from helpdesk.mailcenter.mailboxes import get_mailbox

    target = target.strip().lower()
    if target == GLOBAL:
        return GLOBAL, GLOBAL, {}, None
    if target.startswith("@"):
        domain_id = domain_id_of(conn, target)
        return domain_key(domain_id), target, {"domain_id": domain_id}, None
    mailbox = get_mailbox(conn, target)
    return mailbox_key(mailbox), mailbox.address, {"mailbox_id": mailbox.id}, mailbox


def run_show(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.limits.settings import limit_settings
    from helpdesk.limits.store import GLOBAL, KINDS, effective_limits, own_limits
    from helpdesk.limits.usage import usage
    from helpdesk.limits.wording import describe, over_text, source_text
    from helpdesk.plaintext import printable
    from helpdesk.sendlog.settings import SendlogSettings

    settings = limit_settings(ctx.config)
    with ctx.db.connect() as conn:
        key, target, _ids, mailbox = _scope(conn, args.address)
        own = own_limits(conn, key)
        effective = effective_limits(conn, mailbox) if mailbox is not None else None
    lines = [printable(target)]
    data: dict[str, Any] = {"target": target, "own": own}
    if effective is None:
        for kind in KINDS:
            value = own[kind]
            if value is not None:
                shown = str(describe(kind, value))
            elif key == GLOBAL:
                shown = _("not set: no limit")
            else:
                shown = _("inherits the global default")
            lines.append(f"  {_(_LABELS[kind])}: {shown}")
    else:
        data["limits"] = {}
        for kind in KINDS:
            eff = effective[kind]
            text = describe(kind, int(eff.value))
            data["limits"][kind] = {**eff.as_json(), "text": text.english()}
            lines.append(f"  {_(_LABELS[kind])}: {text} ({source_text(eff.source)})")
        data["over_limit"] = effective["over_limit"].as_json()
        lines.append(f"  {over_text(str(effective['over_limit'].value))}")
        paths = SendlogSettings.from_config(ctx.config).paths
        used = usage(settings, paths, mailbox.address)
        data["usage"] = used.as_json()
        if used.source == "none":
            lines.append(f"  {used.label()}")
        else:
            lines.append(
                "  "
                + _("usage: {messages} messages and {recipients} recipients per hour").format(
                    messages=f"{used.messages or 0:.1f}", recipients=f"{used.recipients or 0:.1f}"
                )
                + f" ({used.label()})"
            )
    lines.append(
        "  " + _("Limits count per Exim host unless the hosts share a counter (docs/limits.md).")
    )
    ctx.emit(data, "\n".join(lines))
    return 0


def run_set(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.errors import PolicyError
    from helpdesk.i18n import M
    from helpdesk.limits.store import set_limits
    from helpdesk.mailcenter.audit import current_operator
    from helpdesk.plaintext import printable

    changes: dict[str, Any] = {}
    for option, column in (
        ("messages", "messages_per_hour"),
        ("recipients", "recipients_per_hour"),
        ("per_message", "recipients_per_message"),
    ):
        # Absent when not given (SUPPRESS); None when given as `inherit`.
        if hasattr(args, option):
            changes[column] = getattr(args, option)
    if args.over is not None:
        changes["over_limit"] = None if args.over == "inherit" else args.over
    if not changes:
        raise PolicyError(M("no limit given; nothing changed"))
    with ctx.db.begin() as conn:
        key, target, ids, _mailbox = _scope(conn, args.address)
        after = set_limits(
            conn,
            key,
            target,
            changes,
            ticket=args.ticket,
            reason=args.reason,
            operator=current_operator(),
            **ids,
        )
    text = _("{target}: limits changed; Exim applies them from the next message").format(
        target=printable(target)
    )
    ctx.emit({"target": target, "own": after, "changed": sorted(changes)}, text)
    return 0
