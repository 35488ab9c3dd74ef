"""The least-privilege wrapper with which the stack's helpdesk ends a mailbox's IMAP/POP3
sessions after a password reset (`[dovecot] kick_command`), the same kind docs/logins.md gives a
production admin:

    python3 stack/kick.py ADDRESS

It accepts one mail address and runs only `doveadm who ADDRESS` (whose lines the helpdesk
counts) and `doveadm kick ADDRESS`, against the stack's Dovecot; the helpdesk itself never
touches a doveadm socket or API key, which could read every mailbox.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stack.settings import Settings

ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}")
DEADLINE = 20.0


def config_lines(settings: Settings) -> list[str]:
    """The [dovecot] section of the stack's helpdesk.toml."""
    wrapper = Path(__file__).resolve()
    return [
        "[dovecot]",
        'hosts = ["localhost"]',
        f'kick_command = ["{sys.executable}", "{wrapper}"]',
        "",
    ]


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not ADDRESS.fullmatch(argv[0]):
        print("usage: kick.py ADDRESS (one mail address)", file=sys.stderr)
        return 2
    address = argv[0]
    state = Path(os.environ.get("STACK_DIR") or Path(__file__).resolve().parent.parent / ".stack")
    conf = str(state / "dovecot" / "dovecot.conf")
    for command in ("who", "kick"):
        done = subprocess.run(
            ["doveadm", "-c", conf, command, address],
            capture_output=True,
            text=True,
            timeout=DEADLINE,
            check=False,
        )
        if done.returncode not in (0, 68):  # 68: nobody to list or kick
            sys.stderr.write(done.stderr)
            return done.returncode
        sys.stdout.write(done.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
