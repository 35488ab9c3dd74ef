"""How the stack's helpdesk ends a mailbox's IMAP/POP3 sessions after a password reset
(`[dovecot] kick_command`): through `stack/wrappers/helpdesk-doveadm-kick`, the same wrapper
docs/logins.md gives a production admin, pointed at the stack's Dovecot by
HELPDESK_DOVECOT_CONF. It accepts one mail address and runs only `doveadm who` (whose lines the
helpdesk counts) and `doveadm kick` for it; the helpdesk itself never touches a doveadm socket
or API key, which could read every mailbox.

    python3 stack/kick.py ADDRESS      runs the wrapper for this checkout's stack
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stack.settings import Settings

WRAPPER = Path(__file__).resolve().parent / "wrappers" / "helpdesk-doveadm-kick"


def _conf(state: Path) -> Path:
    return state / "dovecot" / "dovecot.conf"


def config_lines(settings: Settings) -> list[str]:
    """The [dovecot] section of the stack's helpdesk.toml."""
    conf = _conf(settings.state)
    return [
        "[dovecot]",
        'hosts = ["localhost"]',
        f'kick_command = ["/usr/bin/env", "HELPDESK_DOVECOT_CONF={conf}", "{WRAPPER}"]',
        "",
    ]


def main(argv: list[str]) -> int:
    state = Path(os.environ.get("STACK_DIR") or Path(__file__).resolve().parent.parent / ".stack")
    env = {**os.environ, "HELPDESK_DOVECOT_CONF": str(_conf(state))}
    os.execve(WRAPPER, [str(WRAPPER), *argv], env)
    return 127  # not reached: execve replaces this process or raises


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
