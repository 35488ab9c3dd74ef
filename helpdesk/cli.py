"""The `helpdesk` command: the TUI with no arguments, otherwise one subcommand.

Subcommands live in helpdesk/commands/, each with `register(subparsers)` and `run(args, ctx)`.
Module top levels stay light so that `helpdesk --help` answers at once.

The language is chosen before the parser is built (--ui-language, else `[ui] language`, else the
locale), so that help texts, argparse's own texts (through its module-level `_`) and errors all
speak it; `--json` never changes with it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

from helpdesk.errors import ConfigError, HelpdeskError, PolicyError
from helpdesk.i18n import LANGUAGES, M, _, ngettext, resolve_language, set_language
from helpdesk.plaintext import json_text, printable

if TYPE_CHECKING:
    from helpdesk.config import Config
    from helpdesk.mailcenter.db import Database

COMMAND_MODULES = [
    "helpdesk.commands.db",
    "helpdesk.commands.find",
    "helpdesk.commands.show",
    "helpdesk.commands.sending",
    "helpdesk.commands.audit",
    "helpdesk.commands.blocked",
    "helpdesk.commands.release",
    "helpdesk.commands.releases",
    "helpdesk.commands.rspamd_status",
    "helpdesk.commands.passwd",
    "helpdesk.commands.spam",
    "helpdesk.commands.offenders",
    "helpdesk.commands.trail",
    "helpdesk.commands.reputation",
    "helpdesk.commands.logins",
    "helpdesk.commands.client_settings",
    "helpdesk.commands.clients",
    "helpdesk.commands.unban",
    "helpdesk.commands.limits",
    "helpdesk.commands.watch",
    "helpdesk.commands.forward",
    "helpdesk.commands.autoreply",
    "helpdesk.commands.sweep",
    "helpdesk.commands.sieve_rules",
]


class Context:
    """What a subcommand needs, built only when first asked for."""

    def __init__(self, args: argparse.Namespace, config: Config | None = None) -> None:
        self.args = args
        self.json: bool = bool(getattr(args, "json", False))
        # The configuration read already to choose the language, if it could be read then.
        self._preloaded = config
        self._config: Config | None = None
        self._db: Database | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            from helpdesk.config import load_config
            from helpdesk.localtime import use_config

            self._config = self._preloaded or load_config(self.args.config)
            use_config(self._config)
            if getattr(self.args, "ui_language", None) is None:
                set_language(configured_language(self._config))
        return self._config

    @property
    def db(self) -> Database:
        if self._db is None:
            from helpdesk.mailcenter.db import open_database

            self._db = open_database(self.config)
        return self._db

    def emit(self, data: Any, text: str | None = None) -> None:
        """JSON on stdout with --json, else the human text (made terminal-safe line by line)."""
        if self.json:
            sys.stdout.write(json_text(data) + "\n")
        elif text is not None:
            sys.stdout.write(safe_text(text) + "\n")

    def say(self, message: str) -> None:
        """A message for the person, never for the pipe: stderr."""
        sys.stderr.write(safe_text(message) + "\n")

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()


def safe_text(text: str) -> str:
    """The app's own layout (newlines, tabs) kept; every other unsafe character escaped.

    Values are made printable where they are formatted; this is the net under that, so that
    a value someone forgot can still never reach the terminal as a control sequence.
    """
    return "\n".join("\t".join(map(printable, line.split("\t"))) for line in text.split("\n"))


class _Parser(argparse.ArgumentParser):
    """argparse quotes the operator's arguments in its errors: those lines are made safe too."""

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            (file or sys.stderr).write(safe_text(message))


def _argparse_gettext(message: str | None) -> str | None:
    # argparse also asks for None (a group without a description): that stays None.
    return _(message) if message else message


def _argparse_ngettext(singular: str, plural: str, n: int) -> str:
    return ngettext(singular, plural, n)


def speak_to_argparse() -> None:
    """argparse's own texts ("usage:", "options", its errors) in the UI language: argparse
    looks them up through its module-level `_` and `ngettext`, at the moment it writes them.
    Their German is in cli.po (a block of its own: the extractor does not see argparse)."""
    argparse._ = _argparse_gettext  # type: ignore[attr-defined]
    argparse.ngettext = _argparse_ngettext  # type: ignore[attr-defined]


def build_parser() -> argparse.ArgumentParser:
    speak_to_argparse()
    parser = _Parser(
        prog="helpdesk",
        description=_(
            "Mailcenter Helpdesk: find mailboxes, reset passwords, release blocked "
            "mail, tune spam ladders, review send logs. Without a command: the terminal UI."
        ),
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help=_(
            "configuration file (else "
            "$HELPDESK_CONFIG, ./helpdesk.toml, ~/.config/helpdesk/helpdesk.toml)"
        ),
    )
    parser.add_argument("--json", action="store_true", help=_("machine-readable output on stdout"))
    parser.add_argument(
        "--ui-language",
        choices=LANGUAGES,
        help=_("the language of this program's own texts (else [ui] language, else the locale)"),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def json_flag(parser: argparse.ArgumentParser) -> None:
    """--json after the subcommand too, as scripts write it."""
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help=_("machine-readable output"),
    )


def has_undecodable(value: str) -> bool:
    """True for an argument that held bytes which are not UTF-8 (Python keeps them as lone
    surrogates, `surrogateescape`)."""
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def as_latin1(value: str) -> str:
    """An argument that is not UTF-8, read as Latin-1: what a Latin-1 terminal sends."""
    return value.encode("utf-8", "surrogateescape").decode("latin-1")


# Arguments taken as bytes (paths; the id `trail` looks for in a log, which may hold any
# byte) or re-read on purpose (the search text, in `find`).
_BYTES_ARGUMENTS = frozenset({"config", "log", "query", "id"})


def _check_arguments(args: argparse.Namespace) -> None:
    """Text that is stored (ticket, reason) or looked up (an address) is refused when it is
    not UTF-8: guessing would write or match something the operator did not type."""
    for name, value in vars(args).items():
        if name in _BYTES_ARGUMENTS:
            continue
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and has_undecodable(v) for v in values):
            option = name if name in ("address", "target", "message_id") else f"--{name}"
            raise PolicyError(
                M(
                    "{option} is not UTF-8 text; set the terminal to UTF-8 "
                    "and type it again (nothing was changed)",
                    option=option.replace("_", "-"),
                )
            )


def _tolerant_output() -> None:
    """On a terminal that is not UTF-8 (Latin-1), a character it cannot show becomes an
    escape instead of a traceback."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and (stream.errors or "strict") == "strict":
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="backslashreplace")


def _error(message: str) -> None:
    # One line, whatever the message quotes: a newline in it is shown as \x0a.
    sys.stderr.write(printable(f"helpdesk: {message}") + "\n")


def _option(argv: list[str], name: str) -> str | None:
    """The value of a global option, read before argparse (whose texts depend on it)."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def configured_language(config: Config) -> str:
    """`[ui] language` of `config`: de, en, or auto (the locale's). A bad value is one line."""
    setting = config.section("ui").get("language", "auto")
    try:
        return resolve_language(setting if isinstance(setting, str) else repr(setting))
    except ValueError:
        where = str(config.path) if config.path else M("configuration")
        raise ConfigError(M("{where}: [ui] language must be de, en or auto", where=where)) from None


def _choose_language(argv: list[str]) -> Config | None:
    """--ui-language, else `[ui] language` of the configuration (when it can be read), else
    the locale. Chosen before the parser is built, so that --help speaks the language too.
    Returns the configuration when it was read, so that the command does not read it again."""
    chosen = _option(argv, "--ui-language")
    if chosen in LANGUAGES:
        set_language(chosen)
        return None
    from helpdesk.config import load_config

    try:
        config = load_config(_option(argv, "--config"))
        set_language(configured_language(config))
    except HelpdeskError:
        # A missing or broken configuration is reported by the command that needs it.
        set_language(resolve_language("auto"))
        return None
    return config


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    config = _choose_language(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        return _run_tui(args, config)
    _tolerant_output()
    ctx = Context(args, config)
    try:
        _check_arguments(args)
        return int(args.func(args, ctx) or 0)
    except HelpdeskError as exc:
        _error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _error(_("interrupted"))
        return 130
    except BrokenPipeError:
        # The reader (`| head`) has gone: not an error of ours. Point stdout at /dev/null so
        # that the interpreter's final flush does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        ctx.close()


def _run_tui(args: argparse.Namespace, config: Config | None = None) -> int:
    from helpdesk.config import load_config
    from helpdesk.localtime import use_config

    try:
        config = config or load_config(args.config)
        use_config(config)
        if args.ui_language is None:
            set_language(configured_language(config))
    except HelpdeskError as exc:
        _error(str(exc))
        return exc.exit_code
    # The one place the core reaches into the UI, lazily, so no other command loads Textual.
    from screens.app import run_app

    return run_app(config)


if __name__ == "__main__":
    sys.exit(main())
