"""Sending limits through the stack's real Exim (issue 17, item 1): every test sends through the
submission port as a mail program does and reads the reply it would show."""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.smtp_tools import message

pytestmark = pytest.mark.stack
PASSWORD = "Limit-Passwort-17!"


def _domain() -> str:
    return f"lim-{os.urandom(4).hex()}.test"


def _send(
    stack, login: str, msg: EmailMessage, rcpts: list[str] | None = None, sender: str | None = None
) -> tuple[int, str]:
    """(code, reply text) of one message, as smtplib hands it to a mail program."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", stack.submission_port, timeout=30) as smtp:
        smtp.starttls(context=context)
        smtp.login(login, PASSWORD)
        try:
            smtp.send_message(msg, from_addr=sender, to_addrs=rcpts)
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
            return exc.smtp_code, exc.smtp_error.decode()
    return 250, ""


def _cli(stack, *args: str):
    out = run_cli(*args, config=stack.config_path)
    assert out.returncode == 0, out.stderr
    return out


def _limit(stack, target: str, *options: str) -> None:
    _cli(stack, "limits", "set", target, *options, "--ticket", "T-17")


def test_a_burst_beyond_the_limit_is_refused_with_one_short_line(stack):
    domain = _domain()
    anna = stack.add_mailbox(f"anna@{domain}", PASSWORD)
    bernd = stack.add_mailbox(f"bernd@{domain}", PASSWORD)
    _limit(stack, anna, "--messages", "10")

    codes = [_send(stack, anna, message(anna, None, f"Angebot {i}"))[0] for i in range(10)]
    assert codes == [250] * 10
    code, text = _send(stack, anna, message(anna, None, "Angebot 11"))
    assert code == 550
    assert text == "Sending limit reached: 10 messages per hour. Contact support"
    assert "\n" not in text and len(text) <= 75
    # Every spelling of the login is the same account with the same budget.
    for login in (anna.upper(), anna.capitalize(), "ANNA@" + domain):
        assert _send(stack, login, message(anna, None, "noch eins"))[0] == 550
    # Another mailbox on the same domain has its own budget.
    assert _send(stack, bernd, message(bernd, None, "Rechnung"))[0] == 250

    # Raising the limit lets the next message through at once (Exim reads it per message).
    _limit(stack, anna, "--messages", "20")
    assert _send(stack, anna, message(anna, None, "jetzt wieder"))[0] == 250
    log = stack.wait_for_log(r"helpdesk limit: 10 messages per hour A=" + anna)
    assert log, "the refusal names the account as the database has it"


def test_recipients_per_message_refuse_or_defer_the_whole_message(stack):
    domain = _domain()
    carla = stack.add_mailbox(f"carla@{domain}", PASSWORD)
    _limit(stack, f"@{domain}", "--per-message", "2")  # the domain's default applies
    rcpts = ["a@example.net", "b@example.net", "c@example.net"]
    code, text = _send(stack, carla, message(carla, None, "Rundmail"), rcpts)
    assert (code, text) == (550, "Sending limit reached: 2 recipients per message. Contact support")
    assert _send(stack, carla, message(carla, None, "zwei"), rcpts[:2])[0] == 250

    _limit(stack, carla, "--over", "defer")  # the mailbox's own row overrides only this
    code, text = _send(stack, carla, message(carla, None, "Rundmail"), rcpts)
    assert code == 451 and "2 recipients per message" in text


def test_recipients_per_hour_count_every_recipient(stack):
    domain = _domain()
    dora = stack.add_mailbox(f"dora@{domain}", PASSWORD)
    _limit(stack, dora, "--recipients", "5")
    rcpts = [f"r{i}@example.net" for i in range(3)]
    assert _send(stack, dora, message(dora, None, "eins"), rcpts)[0] == 250
    assert _send(stack, dora, message(dora, None, "zwei"), rcpts[:2])[0] == 250
    code, text = _send(stack, dora, message(dora, None, "drei"), rcpts[:1])
    assert (code, text) == (550, "Sending limit reached: 5 recipients per hour. Contact support")


def test_a_crafted_login_cannot_steer_the_lookup(stack):
    """Unquoted, `x'or'b'>'a@…` would match every mailbox and take another one's limits (or
    none). Quoted, it is one address with its own row and its own counter."""
    domain = _domain()
    stack.add_mailbox(f"aaa-first@{domain}", PASSWORD)
    crafted = stack.add_mailbox(f"x'or'b'>'a@{domain}", PASSWORD)
    _limit(stack, crafted, "--messages", "2")
    # The envelope sender is a plain address: a `>` would end SMTP's <...> early.
    shop = f"shop@{domain}"
    codes = [_send(stack, crafted, message(shop, None, f"m{i}"), sender=shop)[0] for i in range(3)]
    assert codes == [250, 250, 550]


def _with_spool(config: str, spool: Path) -> str:
    """The stack's config with `[limits] exim_spool = spool` (the stack's may have a [limits])."""
    line = f"exim_spool = {json.dumps(str(spool))}\n"
    lines = config.splitlines(keepends=True)
    kept = "".join(x for x in lines if not x.startswith("exim_spool"))
    if "\n[limits]\n" in kept:
        return kept.replace("\n[limits]\n", "\n[limits]\n" + line, 1)
    return kept + "\n[limits]\n" + line


def test_usage_is_exims_own_rate_where_the_spool_is_readable(stack, tmp_path):
    domain = _domain()
    emil = stack.add_mailbox(f"emil@{domain}", PASSWORD)
    _limit(stack, emil, "--messages", "10")
    for i in range(3):
        assert _send(stack, emil, message(emil, None, f"m{i}"))[0] == 250

    config = tmp_path / "helpdesk.toml"
    spool = Path(stack.env["STACK_DIR"]) / "exim" / "spool"
    config.write_text(_with_spool(stack.config_path.read_text(), spool))
    shown = json.loads(run_cli("limits", "show", emil, "--json", config=config).stdout)
    assert shown["usage"]["source"] == "exim"
    assert 2.9 <= shown["usage"]["messages"] <= 3.1
    assert shown["limits"]["messages_per_hour"] == {
        "value": 10,
        "source": "mailbox",
        "text": "a burst of 10 messages, then about 10 per hour",
    }
    # Without the spool: the same rate from the log, labelled as recomputed.
    config.write_text(_with_spool(stack.config_path.read_text(), tmp_path))
    text = run_cli("limits", "show", emil, config=config).stdout
    assert "usage: 3.0 messages" in text and "recomputed from the mainlog" in text


def test_forwards_count_against_the_forwarding_mailbox(stack):
    """Dovecot's redirects reach Exim's Sieve relay port with the mailbox as envelope sender:
    they use its recipients per hour. Over the limit the redirect is refused and the message
    stays in the mailbox."""
    domain = _domain()
    fiona = stack.add_mailbox(f"fiona@{domain}", PASSWORD)
    _limit(stack, fiona, "--recipients", "2")
    _cli(stack, "forward", "set", fiona, "--to", "weiter@extern.example", "--ticket", "T-17")
    for i in range(4):
        with smtplib.SMTP("127.0.0.1", stack.inbound_port, timeout=30) as smtp:
            msg = message("kunde@example.net", None, f"Anfrage {i}")
            msg.replace_header("To", fiona)
            smtp.send_message(msg, from_addr="kunde@example.net", to_addrs=[fiona])
    assert len(stack.wait_for_messages(fiona, 4)) == 4
    refused = stack.wait_for_log(r"helpdesk limit: 2 recipients per hour A=" + fiona)
    deadline = time.monotonic() + 10
    while len(refused) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
        refused = stack.wait_for_log(r"helpdesk limit: 2 recipients per hour A=" + fiona)
    assert len(refused) == 2
    forwarded = stack.wait_for_log(rf"<= {fiona} .* for weiter@extern\.example")
    assert len(forwarded) == 2
