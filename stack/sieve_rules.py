"""The least-privilege wrapper with which the stack's helpdesk reads (and may deactivate) a
customer's own Sieve scripts (`[sieve] rules_command`), the kind docs/forwards.md gives a
production admin:

    python3 stack/sieve_rules.py list ADDRESS         doveadm sieve list -u ADDRESS
    python3 stack/sieve_rules.py get ADDRESS NAME     doveadm sieve get -u ADDRESS NAME
    python3 stack/sieve_rules.py deactivate ADDRESS   doveadm sieve deactivate -u ADDRESS
    python3 stack/sieve_rules.py stat ADDRESS NAME    the script file's modification time

`stat` prints the seconds since the epoch: `doveadm sieve list` gives no time, so it expands
the user's `sieve` location (`doveadm user -e`) and reads the file's mtime; a location that is
not a directory of files (`file:`) prints nothing. It accepts nothing else; the helpdesk never
touches a doveadm socket, which could read every mailbox.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stack.settings import Settings

ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}")
NAME = re.compile(r"[A-Za-z0-9._ -]{1,64}")
DEADLINE = 20.0


def config_lines(settings: Settings) -> list[str]:
    """The [sieve] section of the stack's helpdesk.toml."""
    wrapper = Path(__file__).resolve()
    return [
        "[sieve]",
        f'rules_command = ["{sys.executable}", "{wrapper}"]',
        # The stack's own dovecot.conf, readable by whoever started the stack: no sudo needed.
        f'doveconf_command = ["doveconf", "-c", "{settings.dovecot_conf}"]',
        "",
    ]


def main(argv: list[str]) -> int:
    shapes = {"list": 2, "get": 3, "deactivate": 2, "stat": 3}
    if not argv or shapes.get(argv[0]) != len(argv) or not ADDRESS.fullmatch(argv[1]):
        print("usage: sieve_rules.py list|get|deactivate|stat ADDRESS [NAME]", file=sys.stderr)
        return 2
    if argv[0] in ("get", "stat") and not NAME.fullmatch(argv[2]):
        print("sieve_rules.py: not a script name", file=sys.stderr)
        return 2
    state = Path(os.environ.get("STACK_DIR") or Path(__file__).resolve().parent.parent / ".stack")
    conf = str(state / "dovecot" / "dovecot.conf")
    if argv[0] == "stat":
        return stat(conf, argv[1], argv[2])
    command = ["doveadm", "-c", conf, "sieve", argv[0], "-u", argv[1], *argv[2:]]
    done = subprocess.run(command, capture_output=True, text=True, timeout=DEADLINE, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        return done.returncode
    out = done.stdout
    if argv[0] == "get" and out.startswith("sieve script:"):
        out = out.split("\n", 1)[1] if "\n" in out else ""
    sys.stdout.write(out)
    return 0


def _doveadm(conf: str, *args: str, deadline: float) -> str:
    command = ["doveadm", "-c", conf, *args]
    timeout = max(0.1, deadline - time.monotonic())
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise OSError((done.stderr.strip().splitlines() or ["doveadm failed"])[-1])
    return done.stdout.strip()


def stat(conf: str, address: str, name: str) -> int:
    deadline = time.monotonic() + DEADLINE
    try:
        location = _doveadm(conf, "config", "-h", "plugin/sieve", deadline=deadline)
        # "file:PATH;active=..." (or a bare PATH): the directory that holds NAME.sieve.
        expanded = _doveadm(conf, "user", "-e", location, address, deadline=deadline)
        driver, _, rest = expanded.partition(":") if ":" in expanded else ("file", "", expanded)
        if driver != "file":
            return 0
        path = rest.split(";", 1)[0]
        if path.startswith("~/"):
            home = _doveadm(conf, "user", "-f", "home", address, deadline=deadline)
            path = home + path[1:]
        folder = Path(path)
        script = folder / f"{name}.sieve" if folder.is_dir() else folder
        print(int(script.stat().st_mtime))
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"sieve_rules.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
