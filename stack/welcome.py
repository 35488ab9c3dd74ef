"""What `make demo` says before the TUI opens: what was set up, how to use the command line on
it, and three calls to try. `python -m stack.welcome --config .demo/helpdesk.toml [--stack]`.

A few lines only: the demo's exercise (who is sending spam) is for the operator to find.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path

if __package__ in (None, ""):  # run as a file: python stack/welcome.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpdesk.i18n import _, number, resolve_language, set_language
from stack.traffic import CUSTOMERS, address

# Where the make targets put things, relative to the checkout.
TRAFFIC_SUMMARY = Path(".demo/traffic.txt")
WIDTH = 80
COPY = "\0"  # marks the line to copy: printed whole, indented, never wrapped
NUMBERS = ("1.", "2.", "3.")


def _counts(config: Path) -> tuple[int, int] | None:
    """(mailboxes, domains) of the demo database, or None if it cannot be read."""
    try:
        from sqlalchemy import func, select

        from helpdesk.config import load_config
        from helpdesk.mailcenter.db import open_database
        from helpdesk.mailcenter.schema import domains, mailboxes

        db = open_database(load_config(config))
        try:
            with db.connect() as conn:
                boxes = conn.execute(select(func.count()).select_from(mailboxes)).scalar_one()
                names = conn.execute(select(func.count()).select_from(domains)).scalar_one()
        finally:
            db.dispose()
    except Exception:  # noqa: BLE001 - a greeting never stops the demo
        return None
    return int(boxes), int(names)


def _language(config: Path) -> str:
    """The language the TUI will speak next: `[ui] language` of the demo's configuration, else
    the locale's, so that `LANG=de_DE.UTF-8 make demo` greets in German too."""
    try:
        from helpdesk.cli import configured_language
        from helpdesk.config import load_config

        return configured_language(load_config(config))
    except Exception:  # noqa: BLE001 - a greeting never stops the demo
        return resolve_language("auto")


def welcome_lines(
    config: Path, *, stack: bool, counts: tuple[int, int] | None, watch: bool = False
) -> list[str]:
    """At most 80 columns each; the command line is one line to copy, run in the checkout.
    `watch`: the stack runs `helpdesk watch`, which has already stopped the spam account."""
    if counts:
        held = _("{mailboxes} mailboxes on {domains} domains").format(
            mailboxes=number(counts[0]), domains=number(counts[1])
        )
    else:
        held = _("the demo data")
    where = config.parent / "mailcenter.sqlite"
    text = [_("Demo ready: {held} in {where}").format(held=held, where=where)]
    if stack:
        text += [
            _(
                "  rspamd, Dovecot and Exim run on 127.0.0.1 on it (.stack/; `make stack-down`"
                " stops them); one round of mail went through them ({summary})."
            ).format(summary=TRAFFIC_SUMMARY),
            _("The command line on the demo, in this shell:"),
            f'{COPY}. .stack/env && export PATH="$PWD/.venv/bin:$PATH" && helpdesk find mueller',
            _("Three calls to try (? shows the keys of every screen):"),
            (
                _(
                    "  1. One customer account was sending spam: its sending limit refused it"
                    " and the watcher suspended it. F6 shows it (v: the watcher's actions); its"
                    " Audit tab says why."
                )
                if watch
                else _(
                    "  1. One customer account is sending spam: F6 ranks the senders; stop the"
                    " first one by hand with s, a ticket such as T-1, then F2."
                )
            ),
            _(
                "  2. {name} ({address}) says an order never left: Ctrl+B lists blocked mail,"
                " Enter shows why, l releases it."
            ).format(name=CUSTOMERS[0][2], address=address(CUSTOMERS[0])),
            _("  3. Jürgen Müller forgot his password: type j.mueller, Enter, then p."),
        ]
    else:
        text += [
            _(
                "  without the mail stack (see above why), so rspamd's verdicts and Exim's log"
                " are not there to show."
            ),
            _("The command line on the demo, in this shell:"),
            f'{COPY}export HELPDESK_CONFIG="$PWD/{config}" PATH="$PWD/.venv/bin:$PATH"',
            _("Two calls to try (? shows the keys of every screen):"),
            _("  1. A customer forgot the password: type a name, Enter, then p."),
            _("  2. Stop a mailbox's sending by hand: open it, s, a ticket such as T-1, F2."),
        ]
    lines: list[str] = []
    for item in text:
        if item.startswith(COPY):
            lines.append("  " + item.removeprefix(COPY))
            continue
        indent = " " * (len(item) - len(item.lstrip()) + (3 if item.lstrip()[:2] in NUMBERS else 0))
        # `make stack-down` stays whole: a command broken at its hyphen cannot be copied.
        wrapped = textwrap.wrap(item, WIDTH, subsequent_indent=indent, break_on_hyphens=False)
        lines += wrapped or [""]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stack.welcome", description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, type=Path, help="the demo's helpdesk.toml")
    parser.add_argument("--stack", action="store_true", help="the mail stack runs")
    args = parser.parse_args(argv)
    # The same switch that made the stack start its watcher (stack/watcher.py).
    watch = args.stack and os.environ.get("STACK_WATCH") == "1"
    set_language(_language(args.config))
    lines = welcome_lines(args.config, stack=args.stack, counts=_counts(args.config), watch=watch)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
