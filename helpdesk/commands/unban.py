"""`helpdesk unban IP --ticket T`: lift a fail2ban ban of one client address, audited."""

from __future__ import annotations

import argparse

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import _


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("unban", help=_("lift the fail2ban ban of one client address"))
    parser.add_argument("ip", help=_("the banned client address"))
    parser.add_argument("--ticket", required=True, metavar="T", help=_("ticket reference"))
    parser.add_argument("--reason", metavar="R", help=_("why (goes into the audit log)"))
    json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.logins.bans import lift_ban
    from helpdesk.logins.events import json_time
    from helpdesk.logins.settings import LoginSettings
    from helpdesk.mailcenter.audit import current_operator
    from helpdesk.plaintext import printable

    settings = LoginSettings.from_config(ctx.config)
    jail, since = lift_ban(
        ctx.db,
        settings,
        args.ip,
        ticket=args.ticket,
        reason=args.reason,
        operator=current_operator(),
    )
    ip = args.ip.strip()
    data = {"ip": ip, "jail": jail, "banned_since": json_time(since), "unbanned": True}
    text = _("{ip} may connect again (ban in jail {jail} lifted)").format(
        ip=printable(ip), jail=printable(jail)
    )
    ctx.emit(data, text)
    return 0
