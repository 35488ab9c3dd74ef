"""`helpdesk client-settings ADDRESS`: the settings card for the customer's mail program."""

from __future__ import annotations

import argparse

from helpdesk.cli import Context, json_flag
from helpdesk.i18n import LANGUAGES, _


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "client-settings",
        help=_("the settings card for the customer's mail program, to read out or send"),
    )
    parser.add_argument("address")
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        help=_("the customer's language (default: the language of this program)"),
    )
    json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.i18n import customer_language
    from helpdesk.logins.card import card_json, card_text
    from helpdesk.logins.settings import ClientSettings
    from helpdesk.mailcenter.mailboxes import get_mailbox, normalize_address

    address = normalize_address(args.address)
    settings = ClientSettings.from_config(ctx.config)
    with ctx.db.connect() as conn:
        mailbox = get_mailbox(conn, address)
    lang = customer_language(args.lang)
    ctx.emit(card_json(settings, mailbox.address, lang), card_text(settings, mailbox.address, lang))
    return 0
