"""`helpdesk trail ID`: every log line of one message, by Exim id or Message-ID (like exigrep)."""

from __future__ import annotations

import argparse

from helpdesk.cli import Context, json_flag
from helpdesk.commands.offenders import add_log_option
from helpdesk.i18n import M, _


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "trail", help=_("every log line of one message, by Exim id or Message-ID")
    )
    parser.add_argument(
        "id",
        metavar="ID",
        help=_(
            "Exim message id or Message-ID (<...> optional); HOST:ID for the id on one of "
            "[[sendlog.hosts]]"
        ),
    )
    add_log_option(parser)
    json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.commands.offenders import log_files
    from helpdesk.errors import NotFound
    from helpdesk.plaintext import printable
    from helpdesk.sendlog.trails import trail

    files, _settings = log_files(ctx, args.log)
    lines = trail(files, args.id)
    if not lines:
        raise NotFound(M("no log line mentions {ident}", ident=printable(args.id)))
    text: list[str] = []
    current = None
    many = len({t.file for t in lines}) > 1
    hosts = {t.host for t in lines if t.host is not None}
    for t in lines:
        if many and t.file != current:
            current = t.file
            where = f"{t.host} {t.file}" if t.host is not None else t.file  # i18n: not text
            text.append(f"== {printable(where)}")
        # a line says its host when the log is that of several hosts (ids repeat across them)
        text.append(printable(f"{t.host} {t.text}" if len(hosts) > 1 else t.text))
    ctx.emit([t.as_dict() for t in lines], "\n".join(text))
    return 0
