"""`helpdesk watch` on the stack, only with STACK_WATCH=1 (issue 17): by default the demo's
taken-over account stays for the operator to stop by hand (F6, `s`).

It gets a config of its own, .stack/helpdesk-watch.toml: the stack's helpdesk.toml with a
[watch] policy whose notification goes through the stack's Exim (captured, never sent out).
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from stack.settings import REPO, write_private

if TYPE_CHECKING:
    from stack.services import Service
    from stack.settings import Settings

SUPPORT = "support@hoster.example"


def enabled() -> bool:
    return os.environ.get("STACK_WATCH") == "1"


def config_text(settings: Settings) -> str:
    sendmail = ["exim", "-C", str(settings.exim_conf), "-t", "-oi"]
    return (
        settings.config_path.read_text()
        + "\n\n# helpdesk watch on the stack (stack/watcher.py)\n[watch]\n"
        + f"notify = {json.dumps(SUPPORT)}\n"
        + 'notify_from = "helpdesk-watch@stack.test"\n'
        + f"sendmail = {json.dumps(sendmail)}\n"
        + "poll_seconds = 0.5\n"
    )


def service(settings: Settings) -> Service | None:
    """The watcher as a stack service (no port: ready once started), or None without
    STACK_WATCH=1."""
    from stack.services import Service

    if not enabled():
        return None
    config = settings.state / "helpdesk-watch.toml"
    write_private(config, config_text(settings))
    return Service(
        name="watch",
        argv=[str(REPO / ".venv" / "bin" / "helpdesk"), "--config", str(config), "watch"],
        ports=[],
        log=str(settings.log_dir / "watch.out"),
    )
