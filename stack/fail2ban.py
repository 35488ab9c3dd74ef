"""The stack's own fail2ban: jails on the stack's Dovecot and Exim logs only, bans recorded by
the `dummy` action under .stack/ (a sandbox may not change the firewall, and a test must never
cut off the machine), its socket and log under .stack/.

It runs as `fail2ban-server -f -x -c .stack/fail2ban` under the supervisor. The config folder
holds only this stack's fail2ban.conf and jail.conf; the packaged filters and actions are used
through links (filter.d, action.d), and /etc/fail2ban/jail.d (where Debian enables an sshd jail
with iptables bans) is never read. `ignoreip` is empty and `ignoreself = false`, so loopback
addresses are banned like any other (guessing tests use 127.0.0.x with x ≥ 2).

The stack's helpdesk lifts a ban (`[logins] unban_command`) through
`stack/wrappers/helpdesk-fail2ban-unban`, the same wrapper docs/logins.md gives a production
admin, pointed at this fail2ban's socket by HELPDESK_FAIL2BAN_SOCKET. It accepts only a jail of
the helpdesk and an IP address, and runs only `fail2ban-client set JAIL unbanip IP`; the
helpdesk never touches the socket itself.

    python3 stack/fail2ban.py unban JAIL IP    runs the wrapper for this checkout's stack
    python3 stack/fail2ban.py status JAIL      fail2ban's own view (for tests and people)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stack.services import Service
    from stack.settings import Settings

JAILS = ("dovecot", "exim")
MAXRETRY = 5
FINDTIME = "10m"
BANTIME = "1h"
CLIENT_DEADLINE = 20.0
WRAPPER = Path(__file__).resolve().parent / "wrappers" / "helpdesk-fail2ban-unban"


def available() -> bool:
    return shutil.which("fail2ban-server") is not None and Path("/etc/fail2ban/filter.d").is_dir()


def keep_system_service_off() -> None:
    """After apt-get installed the package: policy-rc.d kept Debian's fail2ban service from
    starting, but its postinst enabled it for the next boot, where it would run an sshd jail
    that bans with iptables. The stack runs its own server; the system's stays disabled."""
    for command in (
        ["systemctl", "disable", "fail2ban.service"],
        ["update-rc.d", "fail2ban", "disable"],  # a system without systemd
    ):
        if shutil.which(command[0]) is not None:
            subprocess.run(command, capture_output=True, timeout=60, check=False)
            return


def folder(state: Path) -> Path:
    return state / "fail2ban"


def socket_path(state: Path) -> Path:
    return folder(state) / "fail2ban.sock"


def log_path(state: Path) -> Path:
    return state / "log" / "fail2ban.log"


def bans_path(state: Path) -> Path:
    return folder(state) / "bans"


def jail_text(state: Path) -> str:
    dovecot_log = state / "log" / "dovecot.log"
    mainlog = state / "log" / "mainlog"
    lines = [
        "# Written by stack/fail2ban.py on every start of the stack.",
        "[DEFAULT]",
        "ignoreip =",
        "ignoreself = false",
        "backend = polling",
        f"maxretry = {MAXRETRY}",
        f"findtime = {FINDTIME}",
        f"bantime = {BANTIME}",
        f'banaction = dummy[target="{bans_path(state)}"]',
        "action = %(banaction)s",
        "",
        "[dovecot]",
        "enabled = true",
        "filter = dovecot",
        f"logpath = {dovecot_log}",
        "",
        "[exim]",
        "enabled = true",
        "filter = exim",
        f"logpath = {mainlog}",
        "",
    ]
    return "\n".join(lines)


def server_text(state: Path) -> str:
    return "\n".join(
        [
            "# Written by stack/fail2ban.py on every start of the stack.",
            "[Definition]",
            "loglevel = INFO",
            f"logtarget = {log_path(state)}",
            f"socket = {socket_path(state)}",
            f"pidfile = {folder(state) / 'fail2ban.pid'}",
            "dbfile = :memory:",
            "dbpurgeage = 1d",
            "syslogsocket = auto",
            "allowipv6 = auto",
            "",
        ]
    )


def service(settings: Settings) -> Service | None:
    """Write the config under .stack/fail2ban/ and say how to start it (None: not installed)."""
    from stack.services import Service

    if not available():
        return None
    state = settings.state
    conf = folder(state)
    conf.mkdir(parents=True, exist_ok=True)
    os.chmod(conf, 0o700)
    for name in ("filter.d", "action.d"):
        link = conf / name
        if not link.is_symlink():
            if link.exists():
                shutil.rmtree(link)
            link.symlink_to(Path("/etc/fail2ban") / name)
    (conf / "fail2ban.conf").write_text(server_text(state))
    (conf / "jail.conf").write_text(jail_text(state))
    bans_path(state).touch()
    log = log_path(state)
    log.touch()
    os.chmod(log, 0o644)  # like /var/log/fail2ban.log for group adm: the helpdesk reads bans here
    return Service(
        name="fail2ban",
        argv=["fail2ban-server", "-f", "-x", "-c", str(conf), "-s", str(socket_path(state))],
        ports=[],
        log=str(state / "log" / "fail2ban.out"),
    )


def config_lines(settings: Settings) -> list[str]:
    """The [logins] section of the stack's helpdesk.toml."""
    state = settings.state
    lines = [
        "[logins]",
        f'dovecot_paths = ["{state / "log" / "dovecot.log"}"]',
        f'fail2ban_log = "{log_path(state)}"',
        f"jails = [{', '.join(f'{j!r}' for j in JAILS)}]".replace("'", '"'),
    ]
    if available():
        socket = socket_path(state)
        lines.append(
            f'unban_command = ["/usr/bin/env", "HELPDESK_FAIL2BAN_SOCKET={socket}", "{WRAPPER}"]'
        )
    return [*lines, ""]


def fingerprint(settings: Settings) -> dict[str, object]:
    """What a running stack must match: whether fail2ban runs, and its jails."""
    import hashlib

    data = jail_text(settings.state) + server_text(settings.state)
    return {
        "fail2ban": available(),
        "fail2ban_jails": hashlib.sha256(data.encode()).hexdigest()[:16],
    }


def client(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["fail2ban-client", "-s", str(socket_path(state)), *args],
        capture_output=True,
        text=True,
        timeout=CLIENT_DEADLINE,
        check=False,
    )


def main(argv: list[str]) -> int:
    """`unban JAIL IP` (the wrapper) or `status JAIL`: nothing else."""
    state = Path(os.environ.get("STACK_DIR") or Path(__file__).resolve().parent.parent / ".stack")
    if len(argv) == 3 and argv[0] == "unban":
        env = {**os.environ, "HELPDESK_FAIL2BAN_SOCKET": str(socket_path(state))}
        os.execve(WRAPPER, [str(WRAPPER), *argv[1:]], env)
    if len(argv) == 2 and argv[0] == "status" and argv[1] in JAILS:
        done = client(state, "status", argv[1])
    else:
        print("usage: fail2ban.py unban JAIL IP | status JAIL", file=sys.stderr)
        return 2
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
