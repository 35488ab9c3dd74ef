"""`helpdesk passwd`: set a mailbox's password; `helpdesk passwd campaign`: flag old ones."""

from __future__ import annotations

import argparse
import sys

from helpdesk.cli import Context, json_flag
from helpdesk.errors import HelpdeskError, PolicyError
from helpdesk.i18n import LANGUAGES, M, _, customer_language, ngettext, number
from helpdesk.localtime import DAY, time_text
from helpdesk.plaintext import printable

USAGE = """
  helpdesk passwd ADDRESS (--generate | --password-stdin) [--force-change | --no-force-change]
                  --ticket T [--lang de|en] [--json]
  helpdesk passwd campaign [--domain D] [--before DATE] [--apply --ticket T] [--json]
  helpdesk passwd campaign --progress [--campaign ID] [--json]"""  # i18n: not text

# The spelling alphabets by the names people know them by (names, not text to translate).
ALPHABET_NAMES = {"din5009": "DIN 5009", "din5009-2022": "DIN 5009:2022", "nato": "NATO"}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "passwd",
        help=_("set a new password (generated or from stdin), or run a password campaign"),
        usage=USAGE,
        description=_(
            "Set a mailbox's password: --generate prints a new passphrase once, with "
            "its spelling; --password-stdin reads one line and prints nothing secret. The policy "
            "(zxcvbn score, German words, the customer's own details, the current password) "
            "refuses weak ones and then nothing is written. `passwd campaign` lists mailboxes "
            "whose password was set before a date and, with --apply, makes them change it."
        ),
    )
    parser.add_argument(
        "target",
        metavar="ADDRESS|campaign",
        help=_("the mailbox's address, or the word campaign"),
    )
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--generate", action="store_true", help=_("generate a passphrase"))
    how.add_argument(
        "--password-stdin", action="store_true", help=_("read the new password from stdin")
    )
    force = parser.add_mutually_exclusive_group()
    force.add_argument(
        "--force-change",
        dest="force_change",
        action="store_true",
        default=None,
        help=_("the customer must change it at the next login (the default, see [passwords])"),
    )
    force.add_argument(
        "--no-force-change",
        dest="force_change",
        action="store_false",
        help=_("do not make the customer change it"),
    )
    parser.add_argument("--ticket", metavar="T", help=_("ticket reference (required for changes)"))
    parser.add_argument("--reason", metavar="R", help=_("why (goes into the audit log)"))
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        help=_(
            "the customer's language for the spelling: de (DIN 5009), en (NATO); "
            "default: the language of this program"
        ),
    )
    camp = parser.add_argument_group(_("campaign"))
    camp.add_argument("--domain", metavar="D", help=_("only this domain"))
    camp.add_argument(
        "--before",
        metavar="DATE",
        help=_(
            "password set before this date (2024-01-01) or longer ago than an age (365d); "
            "default [passwords] campaign_age"
        ),
    )
    camp.add_argument("--apply", action="store_true", help=_("set must_change_password on them"))
    camp.add_argument(
        "--progress", action="store_true", help=_("show campaigns and their progress")
    )
    camp.add_argument("--campaign", metavar="ID", help=_("with --progress: only this campaign"))
    json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from helpdesk.passwords.policy import PasswordSettings

    settings = PasswordSettings.from_config(ctx.config)
    if args.target == "campaign":
        if args.generate or args.password_stdin or args.force_change is not None:
            raise HelpdeskError(M("passwd campaign takes --domain, --before, --apply, --progress"))
        if args.lang:
            raise HelpdeskError(M("--lang goes with a new password, not with `passwd campaign`"))
        return _campaign(args, ctx, settings)
    if args.domain or args.before or args.apply or args.progress or args.campaign:
        raise HelpdeskError(M("--domain/--before/--apply/--progress belong to `passwd campaign`"))
    if not (args.generate or args.password_stdin):
        raise HelpdeskError(M("say how: --generate or --password-stdin"))
    password = _read_password(ctx) if args.password_stdin else None
    return _reset(args, ctx, settings, password)


def _read_password(ctx: Context) -> str:
    if sys.stdin is None:
        raise HelpdeskError(M("--password-stdin: no standard input"))
    if sys.stdin.isatty():
        import getpass

        try:
            first = getpass.getpass(_("New password: "))
            again = getpass.getpass(_("Again: "))
        except UnicodeDecodeError:
            raise PolicyError(_NOT_UTF8) from None
        if again != first:
            raise PolicyError(M("the two entries differ; nothing was changed"))
        _refuse_undecodable(first)
        return first
    raw = getattr(sys.stdin, "buffer", None)
    if raw is not None:
        data = raw.readline()
        try:
            line = data.decode("utf-8")
        except UnicodeDecodeError:
            raise PolicyError(_NOT_UTF8) from None
    else:
        line = sys.stdin.readline()
    _refuse_undecodable(line)
    # only the line end is ours to strip: spaces inside or around are the policy's business
    return line[:-1] if line.endswith("\n") else line


# A password in another encoding would be stored as bytes the customer's mail program never
# sends: refuse it rather than guess.
_NOT_UTF8 = M("--password-stdin: the password is not UTF-8 text; nothing was changed")


def _refuse_undecodable(text: str) -> None:
    from helpdesk.cli import has_undecodable

    if has_undecodable(text):
        raise PolicyError(_NOT_UTF8)


def _reset(args, ctx: Context, settings, password: str | None) -> int:
    from helpdesk.mailcenter.audit import current_operator
    from helpdesk.mailcenter.mailboxes import get_mailbox
    from helpdesk.passwords.reset import reset_password
    from helpdesk.passwords.spelling import alphabet_for_language, spell, spell_grouped

    with ctx.db.begin() as conn:
        mailbox = get_mailbox(conn, args.target)
        result = reset_password(
            conn,
            mailbox,
            settings=settings,
            ticket=args.ticket,
            operator=current_operator(),
            password=password,
            force_change=args.force_change,
            reason=args.reason,
        )
    # After the commit: whoever is logged in with the old password loses the session now.
    from dataclasses import replace

    from helpdesk.logins.kick import kick_and_record

    sessions = kick_and_record(
        ctx.db, ctx.config, result.mailbox.address, ticket=args.ticket, operator=current_operator()
    )
    result = replace(result, sessions=sessions)
    password = None
    must = result.mailbox.must_change_password
    if must:
        follow = _("The customer must change it at the next login.")
    else:
        follow = _("The customer is not asked to change it.")
    # The spelling is read out to the customer: in the customer's language (--lang), else the
    # operator's. --json keeps the configured alphabet unless --lang asks for one, so that it
    # never changes with the operator's language.
    alphabet = alphabet_for_language(customer_language(args.lang), settings.spelling)
    if ctx.json:
        data = result.as_json()
        if args.lang and result.generated:
            data["spelling"] = spell(result.password, alphabet)
        ctx.emit(data)
    elif result.generated:
        sep = settings.separator
        joiner = " ".join(spell(sep, alphabet))
        lines = [
            _("New password for {address} (shown once):").format(address=result.mailbox.address),
            "",
            f"    {result.password}",
            "",
            _("Spelling ({alphabet}), the parts joined by {separator} ({spoken}):").format(
                alphabet=ALPHABET_NAMES.get(alphabet, alphabet), separator=sep, spoken=joiner
            ),
            *(f"    {line}" for line in spell_grouped(result.password, alphabet, sep)),
            "",
            follow,
        ]
        ctx.emit(None, "\n".join(lines))
    else:
        ctx.say(
            _("Password of {address} changed. {follow}").format(
                address=result.mailbox.address, follow=follow
            )
        )
    if not ctx.json:
        ctx.say(str(result.sessions.text()))
    return 0


def _campaign(args, ctx: Context, settings) -> int:
    from helpdesk.mailcenter.audit import current_operator, utcnow
    from helpdesk.passwords.campaign import apply_campaign, candidates, parse_before, progress

    if args.progress:
        with ctx.db.connect() as conn:
            rows = progress(conn, args.campaign)
        line = _(
            "{campaign}  before {before}  {changed}/{flagged} changed ({percent}%)  "
            "by {operator}, ticket {ticket}"
        )
        text = "\n".join(
            line.format(
                campaign=printable(p.campaign),
                before=p.before,
                changed=number(p.changed),
                flagged=number(p.flagged),
                percent=f"{p.percent:.0f}",
                operator=printable(p.operator),
                ticket=printable(p.ticket),
            )
            for p in rows
        )
        ctx.emit([p.as_json() for p in rows], text or _("no password campaigns yet"))
        return 0
    if args.campaign:
        raise HelpdeskError(M("--campaign goes with --progress"))
    before = parse_before(args.before, settings, utcnow())
    if args.apply:
        applied = apply_campaign(
            ctx.db,
            before=before,
            settings=settings,
            ticket=args.ticket,
            operator=current_operator(),
            domain=args.domain,
        )
        text = ngettext(
            "campaign {campaign}: {n} mailbox must change its password (already flagged: "
            "{already}, changed meanwhile: {meanwhile})",
            "campaign {campaign}: {n} mailboxes must change their password (already flagged: "
            "{already}, changed meanwhile: {meanwhile})",
            applied.flagged,
        ).format(
            campaign=printable(applied.campaign),
            n=number(applied.flagged),
            already=number(applied.already_flagged),
            meanwhile=number(applied.changed_meanwhile),
        )
        ctx.emit(applied.as_json(), text)
        return 0
    with ctx.db.connect() as conn:
        found = list(candidates(conn, before=before, domain=args.domain))
    data = {
        "before": before.isoformat() + "Z",
        "domain": args.domain,
        "count": len(found),
        "mailboxes": [c.as_json() for c in found],
    }
    if ctx.json:
        ctx.emit(data)
        return 0
    from helpdesk.commands.labels import status_label

    rows = []
    for c in found:
        when = time_text(c.password_changed_at, DAY) if c.password_changed_at else _("never")
        flag = status_label("must-change") if c.must_change_password else ""
        rows.append(f"{printable(c.address)}\t{when}\t{flag}".rstrip())
    if rows:
        ctx.emit(None, "\n".join(rows))
    values = {"n": number(len(found)), "date": time_text(before, DAY)}
    if args.domain:
        summary = ngettext(
            "{n} mailbox with a password set before {date} in {domain}",
            "{n} mailboxes with a password set before {date} in {domain}",
            len(found),
        ).format(domain=args.domain, **values)
    else:
        summary = ngettext(
            "{n} mailbox with a password set before {date}",
            "{n} mailboxes with a password set before {date}",
            len(found),
        ).format(**values)
    if found:
        summary += _("; --apply --ticket T makes them change it")
    ctx.say(summary)
    return 0
