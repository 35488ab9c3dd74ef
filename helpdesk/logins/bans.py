"""fail2ban's bans as the helpdesk sees them, without its socket (which amounts to root).

Current bans come from fail2ban's own log (`… fail2ban.actions [123]: NOTICE [dovecot] Ban
198.51.100.9`, then `… Unban …`), readable by group adm like the mail logs. Lifting a ban goes
through the one command an admin allows (`[logins] unban_command`: a root-owned wrapper or a
sudoers entry that runs only `fail2ban-client set <jail> unbanip <ip>`); see docs/logins.md.
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helpdesk.errors import HelpdeskError, PolicyError, Unreachable
from helpdesk.i18n import M

if TYPE_CHECKING:
    from helpdesk.logins.settings import LoginSettings

UNBAN_DEADLINE = 30.0
_LINE = re.compile(
    rb"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)[,.]\d+ fail2ban\.actions\s*\[\d+\]: "
    rb"NOTICE\s+\[([\w.-]+)\] (Ban|Unban|Restore Ban) (\S+)"
)


def read_bans(path: str, jails: tuple[str, ...] = ()) -> dict[str, tuple[str, datetime]]:
    """ip -> (jail, banned since) for every ban the log has not lifted since."""
    from helpdesk.logs.files import expand, iter_lines

    try:
        files = expand([path])
    except HelpdeskError:
        return {}
    bans: dict[str, tuple[str, datetime]] = {}
    for _lf, _n, line in iter_lines(files):
        if b"fail2ban.actions" not in line:
            continue
        m = _LINE.match(line)
        if m is None:
            continue
        jail = m.group(2).decode("ascii", "replace")
        if jails and jail not in jails:
            continue
        ip = m.group(4).decode("ascii", "replace")
        if m.group(3) == b"Unban":
            bans.pop(ip, None)
        else:
            when = datetime.strptime(m.group(1).decode(), "%Y-%m-%d %H:%M:%S")
            bans.setdefault(ip, (jail, when))
    return bans


def current_bans(settings: LoginSettings) -> dict[str, datetime]:
    """ip -> since, for the configured jails."""
    return {
        ip: when for ip, (_jail, when) in read_bans(settings.fail2ban_log, settings.jails).items()
    }


def check_ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise PolicyError(M("not an IP address: {value!r}", value=text)) from None


def unban(settings: LoginSettings, ip: str, jail: str) -> None:
    """Run the configured unban command: `<command…> <jail> <ip>`, with a deadline."""
    if not settings.unban_command:
        raise HelpdeskError(
            M("no unban command is configured: set [logins] unban_command (docs/logins.md)")
        )
    argv = [*settings.unban_command, jail, check_ip(ip)]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=UNBAN_DEADLINE, check=False
        )
    except subprocess.TimeoutExpired:
        raise Unreachable(
            M("the unban command did not answer within {n} seconds", n=int(UNBAN_DEADLINE))
        ) from None
    except OSError as exc:
        raise Unreachable(
            M(
                "cannot run the unban command {command}: {error}",
                command=argv[0],
                error=str(exc),
            )
        ) from None
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        last = said[-1][:200] if said else "-"
        raise HelpdeskError(
            M("the unban command failed (exit {code}): {text}", code=done.returncode, text=last)
        )


def lift_ban(
    db: Any,
    settings: LoginSettings,
    ip: str,
    *,
    ticket: str | None,
    reason: str | None,
    operator: Any,
) -> tuple[str, datetime]:
    """Lift the ban of `ip` through the unban command, with its audit row: (jail, since).

    The row is written in a transaction that commits only after the command succeeded, so a
    failed unban leaves no row, and no unban happens without one.
    """
    from helpdesk.logins.events import json_time
    from helpdesk.mailcenter.audit import record
    from helpdesk.mailcenter.tickets import check_ticket

    ticket = check_ticket(ticket)
    ip = check_ip(ip)
    banned = read_bans(settings.fail2ban_log, settings.jails).get(ip)
    if banned is None:
        raise PolicyError(M("{ip} is not banned: nothing changed", ip=ip))
    jail, since = banned
    with db.begin() as conn:
        record(
            conn,
            operator=operator,
            action="unban",
            target=ip,
            ticket=ticket,
            reason=reason,
            before={"jail": jail, "banned_since": json_time(since)},
            after={"banned": False},
        )
        unban(settings, ip, jail)
    return jail, since
