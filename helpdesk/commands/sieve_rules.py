"""`helpdesk sieve ADDRESS [--json]`, `--deactivate --ticket T`: every Sieve script Dovecot
runs for the mailbox, in order, the customer's rules in plain words (docs/forwards.md,
"Every script of a mailbox")."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import _

if TYPE_CHECKING:
    from helpdesk.forwards.chain import Script


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("sieve", help=_("every Sieve script Dovecot runs for a mailbox"))
    parser.add_argument("address", metavar="ADDRESS", help=_("the mailbox's address"))
    parser.add_argument(
        "--deactivate", action="store_true", help=_("deactivate the customer's own script")
    )
    parser.add_argument("--ticket", metavar="T", help=_("ticket reference (for --deactivate)"))
    parser.add_argument("--reason", metavar="R", help=_("why (goes into the audit log)"))
    json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.forwards.chain import chain, deactivate, doveconf_command
    from helpdesk.i18n import render
    from helpdesk.mailcenter.audit import current_operator
    from helpdesk.mailcenter.mailboxes import get_mailbox
    from helpdesk.plaintext import printable

    if args.deactivate:
        with ctx.db.begin() as conn:
            mailbox = get_mailbox(conn, args.address)
            name = deactivate(conn, ctx.config, mailbox.address, ticket=args.ticket,
                              reason=args.reason, operator=current_operator())  # fmt: skip
        text = _("{address}: script {name} deactivated (kept)").format(
            address=printable(mailbox.address), name=printable(name)
        )
        ctx.emit({"address": mailbox.address, "deactivated": name}, text)
        return 0
    with ctx.db.connect() as conn:
        mailbox = get_mailbox(conn, args.address)
        scripts = chain(conn, ctx.config, mailbox.address)
    globals_read = bool(doveconf_command(ctx.config))
    out = []
    if not scripts:
        out.append(_("{address}: no Sieve script runs").format(address=printable(mailbox.address)))
    for number, script in enumerate(scripts, 1):
        out.append(f"# {number}. {printable(script.name)} ({printable(render(script.note))})")
        out.extend(script_lines(script))
        out.append("")
    if not globals_read:
        out.append(
            _("# sieve_before/sieve_after scripts not read: [sieve] doveconf_command is not set")
        )
    data = {"address": mailbox.address, "scripts": [s.as_json() for s in scripts],
            "global_scripts_read": globals_read}  # fmt: skip
    ctx.emit(data, "\n".join(out).rstrip("\n"))
    return 0


def script_lines(script: Script) -> list[str]:
    """A script's rules in plain words (when it was read), then its text as it is."""
    from helpdesk.plaintext import printable

    reading = script.reading
    out = []
    if reading is not None and reading.understood:
        out.append(_("## In plain words:"))
        out.extend("  " * (depth + 1) + "- " + printable(words) for depth, words in reading.lines())
        out.append(_("## The script:"))
    elif reading is not None:
        out.append(
            _("## Not understood ({error}); the script as it is:").format(
                error=printable(reading.error)[:200]
            )
        )
    out.extend(printable(line) for line in script.text.splitlines())
    return out
