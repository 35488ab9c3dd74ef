"""`helpdesk watch`: follows the mainlog and suspends per the `[watch]` policy (docs/watch.md)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import _


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "watch", help=_("follow the mainlog and suspend accounts per the [watch] policy")
    )
    parser.add_argument("--once", action="store_true", help=_("read what is new once, then stop"))
    json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.limits.settings import limit_settings
    from helpdesk.plaintext import json_text, printable
    from helpdesk.sendlog.settings import SendlogSettings
    from helpdesk.watch.runner import Event, Watcher
    from helpdesk.watch.settings import watch_settings

    settings = watch_settings(ctx.config)
    limit_settings(ctx.config)  # a wrong [limits] is said now, not when it first matters
    sendlog = SendlogSettings.from_config(ctx.config)
    paths = sendlog.paths
    stop = threading.Event()

    def report(event: Event) -> None:
        if ctx.json:
            line = json_text(
                {
                    "event": event.kind,
                    "address": event.address,
                    "text": event.text.english(),
                    **event.data,
                }  # fmt: skip
            ).replace("\n", " ")
        else:
            line = printable(str(event.text))
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: stop.set())
    watcher = Watcher(ctx.db, settings, paths, report=report, sendlog=sendlog)
    while True:
        watcher.poll()
        if args.once or stop.wait(settings.poll_seconds):
            return 0
