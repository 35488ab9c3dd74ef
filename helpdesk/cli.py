"""The `helpdesk` command: the TUI with no arguments, otherwise one subcommand.

Subcommands live in helpdesk/commands/, each with `register(subparsers)` and `run(args, ctx)`.
Module top levels stay light so that `helpdesk --help` answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from helpdesk.errors import HelpdeskError

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.db import Database

COMMAND_MODULES = [
    "helpdesk.commands.db",
    "helpdesk.commands.find",
    "helpdesk.commands.show",
    "helpdesk.commands.sending",
    "helpdesk.commands.audit",
    "helpdesk.commands.blocked",
    "helpdesk.commands.release",
    "helpdesk.commands.rspamd_status",
    "helpdesk.commands.passwd",
    "helpdesk.commands.spam",
    "helpdesk.commands.offenders",
    "helpdesk.commands.trail",
]


class Context:
    """What a subcommand needs, built only when first asked for."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.json: bool = bool(getattr(args, "json", False))
        self._config: Config | None = None
        self._db: Database | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            from helpdesk.config import load_config

            self._config = load_config(self.args.config)
        return self._config

    @property
    def db(self) -> Database:
        if self._db is None:
            from helpdesk.db import open_database

            self._db = open_database(self.config)
        return self._db

    def emit(self, data: Any, text: str | None = None) -> None:
        """JSON on stdout with --json, else the human text."""
        if self.json:
            json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
            sys.stdout.write("\n")
        elif text is not None:
            print(text)

    def say(self, message: str) -> None:
        """A message for the person, never for the pipe: stderr."""
        print(message, file=sys.stderr)

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="helpdesk",
        description="Mailcenter Helpdesk: find mailboxes, reset passwords, release blocked "
        "mail, tune spam ladders, review send logs. Without a command: the terminal UI.",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="configuration file (else "
        "$HELPDESK_CONFIG, ./helpdesk.toml, ~/.config/helpdesk/helpdesk.toml)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def json_flag(parser: argparse.ArgumentParser) -> None:
    """--json after the subcommand too, as scripts write it."""
    parser.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        return _run_tui(args)
    ctx = Context(args)
    try:
        return int(args.func(args, ctx) or 0)
    except HelpdeskError as exc:
        print(f"helpdesk: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("helpdesk: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (`| head`) has gone: not an error of ours. Point stdout at /dev/null so
        # that the interpreter's final flush does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        ctx.close()


def _run_tui(args: argparse.Namespace) -> int:
    from helpdesk.config import load_config

    try:
        config = load_config(args.config)
    except HelpdeskError as exc:
        print(f"helpdesk: {exc}", file=sys.stderr)
        return exc.exit_code
    # The one place the core reaches into the UI, lazily, so no other command loads Textual.
    from screens.app import run_app

    return run_app(config)


if __name__ == "__main__":
    sys.exit(main())
