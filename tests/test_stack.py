"""Every wire of the local mail stack, proven against the real rspamd, Dovecot and Exim."""

from __future__ import annotations

import email
import email.utils
import imaplib
import os
import re
import smtplib
import subprocess
import sys
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from helpdesk.rspamd.history import loads_lenient
from tests.conftest import run_cli

pytestmark = pytest.mark.stack

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
BLOCKED = (
    "The E-Mail you sended has been blocked because it may contain SPAM. Please contact support."
)


def message(sender: str, rcpt: str, subject: str, body: str = "Hello.", **headers) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = rcpt
    msg["Subject"] = subject
    msg["Message-ID"] = headers.pop("message_id", f"<{uuid.uuid4().hex}@stack-test.example>")
    msg["Date"] = email.utils.formatdate()
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def submit(stack, user: str, password: str, msg: EmailMessage, rcpts: list[str] | None = None):
    """Send over the submission port with AUTH; the SMTP error (if any) is returned, not raised."""
    with smtplib.SMTP("127.0.0.1", stack.submission_port, timeout=30) as smtp:
        smtp.login(user, password)
        try:
            smtp.send_message(msg, from_addr=user, to_addrs=rcpts or [msg["To"]])
        except smtplib.SMTPResponseException as exc:
            return exc.smtp_code, exc.smtp_error.decode()
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            return code, text.decode()
    return 250, ""


def one_line(text: str) -> str:
    """Exim wraps long replies over several `550-` lines; smtplib joins them with newlines."""
    return " ".join(text.split())


@pytest.mark.parametrize(
    "scheme,prefix",
    [("SHA512-CRYPT", False), ("SHA512-CRYPT", True), ("BLF-CRYPT", False)],
)
def test_helpdesk_password_logs_in_over_imap_and_smtp(stack, scheme, prefix):
    address = stack.unique_address("login")
    stack.add_mailbox(address, "Right-Pass-91", scheme=scheme, prefix=prefix)
    assert stack.imap_login(address, "Right-Pass-91")
    assert stack.smtp_login(address, "Right-Pass-91")
    assert not stack.imap_login(address, "Wrong-Pass-91")
    assert not stack.smtp_login(address, "Wrong-Pass-91")
    assert stack.wait_for_log(rf"authenticator failed for .*set_id={address}\)")


def test_disabled_mailbox_cannot_log_in(stack):
    address = stack.add_mailbox(stack.unique_address("off"), "Right-Pass-91", enabled=False)
    assert not stack.imap_login(address, "Right-Pass-91")
    assert not stack.smtp_login(address, "Right-Pass-91")


def test_quoted_login_name_cannot_borrow_another_password(stack):
    victim = stack.add_mailbox(stack.unique_address("victim"), "Victim-Pass-91")
    assert not stack.smtp_login(f"x' OR address='{victim}", "Victim-Pass-91")
    assert not stack.imap_login(f"x' OR address='{victim}", "Victim-Pass-91")


def test_submission_requires_auth(stack):
    with smtplib.SMTP("127.0.0.1", stack.submission_port, timeout=30) as smtp:
        smtp.ehlo()
        code, text = smtp.mail("someone@stack-test.example")
    assert code == 550
    assert "Authentication required" in text.decode()


def test_suspended_mailbox_cannot_submit_and_reinstated_can(stack):
    address = stack.add_mailbox(stack.unique_address("susp"), "Right-Pass-91")
    out = run_cli("suspend", address, "--ticket", "T-1", config=stack.config_path)
    assert out.returncode == 0, out.stderr
    code, text = submit(stack, address, "Right-Pass-91", message(address, "x@ext.test", "hi"))
    assert code == 550
    assert text == "Sending is suspended for this mailbox. Please contact support."
    assert stack.wait_for_log(
        rf"rejected MAIL <{address}>: Sending is suspended for this mailbox \(A=\w+:{address}\)"
    )

    out = run_cli("reinstate", address, "--ticket", "T-1", config=stack.config_path)
    assert out.returncode == 0, out.stderr
    code, _ = submit(stack, address, "Right-Pass-91", message(address, "x@ext.test", "hi again"))
    assert code == 250


def test_gtube_is_refused_with_the_customer_text_and_logged_with_the_user(stack):
    address = stack.add_mailbox(stack.unique_address("gtube"), "Right-Pass-91")
    msg = message(address, "x@ext.test", "offer", GTUBE)
    code, text = submit(stack, address, "Right-Pass-91", msg)
    assert code == 550
    assert one_line(text) == BLOCKED
    lines = stack.wait_for_log(rf"A=\w+:{address} rejected after DATA: The E-Mail you sended")
    assert lines and "F=<" + address + ">" in lines[0]


def test_authenticated_scan_is_in_history_with_the_user(stack):
    address = stack.add_mailbox(stack.unique_address("hist"), "Right-Pass-91")
    msg = message(address, "x@ext.test", "quarterly numbers")
    assert submit(stack, address, "Right-Pass-91", msg)[0] == 250
    wanted = msg["Message-ID"].strip("<>")
    reply = httpx.get(f"{stack.controller_url}/history", headers={"Password": stack.password})
    # Other tests scan hostile Message-IDs through the same rspamd; its history then holds
    # bytes that are not UTF-8, which the helpdesk's client reads the same way.
    rows = loads_lenient(reply.content.decode("utf-8", errors="replace"))
    rows = rows["rows"] if isinstance(rows, dict) else rows
    mine = [r for r in rows if r.get("id") == wanted or r.get("message-id") == wanted]
    assert mine, "the scan is not in /history"
    assert mine[-1]["user"] == address[:31]


def test_controller_requires_its_password(stack):
    assert httpx.get(f"{stack.controller_url}/history").status_code == 401
    bad = httpx.get(f"{stack.controller_url}/history", headers={"Password": "wrong"})
    assert bad.status_code == 401


def test_inbound_mail_reaches_the_mailbox_over_lmtp_with_score_headers(stack):
    address = stack.add_mailbox(stack.unique_address("inbox"), "Right-Pass-91")
    msg = message("news@sender.example", address, "your invoice", X_Spam_Score="-99")
    with smtplib.SMTP("127.0.0.1", stack.inbound_port, timeout=30) as smtp:
        smtp.send_message(msg)
    delivered = email.message_from_bytes(stack.wait_for_messages(address)[0])
    scores = delivered.get_all("X-Spam-Score")
    assert len(scores) == 1, "the sender's own X-Spam-Score must be removed"
    score = float(scores[0])
    assert int(delivered["X-Spam-Score-Int"]) == round(score * 10)
    line = stack.wait_for_log(rf"spam-score=\S+ action=.* rcpt={address}$")
    assert line and float(line[0].split("spam-score=")[1].split()[0]) == score
    # the line carries the Exim message id, the same as the arrival line's
    msgid = line[0].split()[2]
    assert stack.wait_for_log(
        rf"{msgid} <= news@sender.example .*I=\[127.0.0.1\]:{stack.inbound_port}"
    )


def test_inbound_test_score_header_sets_the_score(stack):
    address = stack.add_mailbox(stack.unique_address("score"), "Right-Pass-91")
    msg = message("news@sender.example", address, "cheap", X_Stack_Test_Score="7.5")
    with smtplib.SMTP("127.0.0.1", stack.inbound_port, timeout=30) as smtp:
        smtp.send_message(msg)
    delivered = email.message_from_bytes(stack.wait_for_messages(address)[0])
    assert float(delivered["X-Spam-Score"]) >= 7.5


def test_inbound_refuses_unknown_mailboxes_and_relaying(stack):
    with smtplib.SMTP("127.0.0.1", stack.inbound_port, timeout=30) as smtp:
        smtp.ehlo()
        smtp.mail("news@sender.example")
        code, _ = smtp.rcpt(f"nobody-{uuid.uuid4().hex[:6]}@stack-test.example")
        assert code == 550
        code, text = smtp.rcpt("someone@elsewhere.example")
        assert code == 550 and b"Relay not permitted" in text


def test_submission_to_an_unknown_local_mailbox_is_refused(stack):
    address = stack.add_mailbox(stack.unique_address("sub"), "Right-Pass-91")
    rcpt = stack.unique_address("nobody")
    code, _ = submit(stack, address, "Right-Pass-91", message(address, rcpt, "hi"))
    assert code == 550


def test_external_recipients_are_captured_not_sent(stack):
    address = stack.add_mailbox(stack.unique_address("out"), "Right-Pass-91")
    rcpt = f"friend-{uuid.uuid4().hex[:6]}@elsewhere.example"
    assert submit(stack, address, "Right-Pass-91", message(address, rcpt, "hello friend"))[0] == 250
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if any(f"Envelope-to: {rcpt}".encode() in m for m in stack.captured()):
            break
        time.sleep(0.1)
    else:
        pytest.fail("the message was not captured")
    # an accept router to a local transport logs "=> local-part <address> R=... T=..."
    assert stack.wait_for_log(rf"=> \S+ <{rcpt}> R=capture_external T=capture")


def _release_map_id(stack) -> str:
    maps = httpx.get(f"{stack.controller_url}/maps", headers={"Password": stack.password}).json()
    return next(str(m["map"]) for m in maps if m["uri"] == str(stack.release_map))


def test_a_map_line_alone_is_no_release(stack):
    """rspamd's map names account and content digest; Exim still lets the message pass only
    when the database has a release with a use left (docs/rspamd.md): a line written into the
    map by hand, without a release row, passes nothing."""
    alice = stack.add_mailbox(stack.unique_address("alice"), "Right-Pass-91")
    mid = f"<{uuid.uuid4().hex}@stack-test.example>"

    def send(user):
        msg = message(user, "x@ext.test", "HELPDESK-TEST-SPAM monthly report", message_id=mid)
        return submit(stack, user, "Right-Pass-91", msg)

    code, text = send(alice)
    assert code == 550 and one_line(text) == BLOCKED
    (refused,) = stack.wait_for_log(rf"A=\S+:{re.escape(alice)} rejected after DATA: .* -- digest=")
    digest = re.search(r"-- digest=([0-9a-f]{32})", refused).group(1)
    map_id = _release_map_id(stack)
    headers = {"Password": stack.enable_password, "Map": map_id}
    old = httpx.get(f"{stack.controller_url}/getmap", headers=headers).text
    body = old.rstrip("\n") + f"\n{alice}|{digest}\n"
    assert httpx.post(f"{stack.controller_url}/savemap", headers=headers, content=body).is_success
    try:
        time.sleep(0.5)  # rspamd polls file maps every 0.1 s on the stack
        assert send(alice)[0] == 550
        assert stack.wait_for_log(rf"A=\S+:{re.escape(alice)} .*release=used-up")
    finally:
        restored = old if old.strip() else "# user|digest lines written by the helpdesk\n"
        httpx.post(f"{stack.controller_url}/savemap", headers=headers, content=restored)


def _same_settings_env() -> dict[str, str]:
    """The environment that describes the running stack, so `up` must not restart it."""
    from stack.launcher import status
    from stack.settings import PORTS, Settings, read_env

    settings = Settings.from_env()
    running = status(settings)["fingerprint"]
    env = dict(os.environ)
    # The fingerprint keeps the URL without its password; .stack/env (0600) has it whole.
    env["DATABASE_URL"] = read_env(settings.env_path)["DATABASE_URL"]
    env["STACK_EXIM_AUTH"] = running["exim_auth"]
    env["STACK_SUPPORT_CONTACT"] = running["support"]
    for name, var, _default in PORTS:
        env[var] = str(running["ports"][name])
    return env


def test_second_up_finds_the_stack_running(stack):
    out = subprocess.run(
        [sys.executable, "-m", "stack.launcher", "up", "--no-install"],
        cwd=Path(__file__).resolve().parent.parent,
        env=_same_settings_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "already running" in out.stdout


def test_traffic_summary_matches_what_exim_logged(stack):
    from stack.traffic import run

    offset = stack.mainlog.stat().st_size
    summary = run(stack.env, seed=7, size=1)
    time.sleep(1)  # the last rejections are logged when the session ends
    with stack.mainlog.open("rb") as log:
        log.seek(offset)
        # the stack is shared: only this round's sessions (its HELO name) count
        helo = f"({summary['helo']})"
        lines = [line for line in log.read().decode(errors="replace").splitlines() if helo in line]
    for user, tally in summary["users"].items():
        arrivals = [
            line
            for line in lines
            if " <= " in line and re.search(rf" A=\w+:{re.escape(user)} ", line)
        ]
        blocked = [
            line
            for line in lines
            if re.search(rf"A=\w+:{re.escape(user)} rejected after DATA", line)
        ]
        suspended = [
            line for line in lines if f"rejected MAIL <{user}>: Sending is suspended" in line
        ]
        assert len(arrivals) == tally["sent"], user
        assert len(blocked) == tally["refused_by"].get("spam", 0), user
        assert len(suspended) == tally["refused_by"].get("suspended", 0), user
    taken_over = next(t for t in summary["users"].values() if t["role"] == "taken-over")
    assert taken_over["refused"] > taken_over["messages"] / 3
    for ip, failed in summary["failed_logins"].items():
        logged = [line for line in lines if "authenticator failed" in line and f"[{ip}]:" in line]
        assert len(logged) == failed["count"], ip
    assert summary["inbound"]["delivered"] + summary["inbound"]["rejected"] == 20


def _fake_session(stack, conf: Path, client: str, port: int, commands: list[str]) -> list[str]:
    """Exim's -bh test session (no daemon, no delivery): the SMTP replies it would give."""
    out = subprocess.run(
        ["exim", "-C", str(conf), "-bh", client, "-oMi", f"127.0.0.1.{port}"],
        input="".join(f"{c}\r\n" for c in commands),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return [line for line in out.stdout.splitlines() if line[:3].isdigit()]


def test_rspamd_down_defers_mail_instead_of_passing_it_unscanned(stack, tmp_path):
    import base64

    address = stack.add_mailbox(stack.unique_address("down"), "Right-Pass-91")
    conf = tmp_path / "exim.conf"
    text = Path(stack.env["EXIM_CONF"]).read_text()
    conf.write_text(
        re.sub(r"(?m)^spamd_address = .*$", "spamd_address = 127.0.0.1 1 variant=rspamd", text)
    )
    conf.chmod(0o644)
    data = ["DATA", "Subject: t", "", "body", ".", "QUIT"]
    auth = base64.b64encode(f"\0{address}\0Right-Pass-91".encode()).decode()
    outbound = ["EHLO c", f"AUTH PLAIN {auth}", f"MAIL FROM:<{address}>", "RCPT TO:<x@e.example>"]
    out = _fake_session(stack, conf, "127.0.0.5", stack.submission_port, outbound + data)
    assert out[-2].startswith("451 Temporarily unable to scan")
    inbound = ["EHLO c", "MAIL FROM:<a@e.example>", f"RCPT TO:<{address}>"]
    out = _fake_session(stack, conf, "127.0.0.6", stack.inbound_port, inbound + data)
    assert out[-2].startswith("451 Temporarily unable to scan")


def test_starttls_on_submission_and_imap_and_a_junk_folder(stack):
    import ssl

    address = stack.add_mailbox(stack.unique_address("tls"), "Right-Pass-91")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the stack's certificate is self-signed
    with smtplib.SMTP("127.0.0.1", stack.submission_port, timeout=30) as smtp:
        smtp.starttls(context=context)
        assert smtp.sock.version()
        smtp.login(address, "Right-Pass-91")
    with imaplib.IMAP4("127.0.0.1", stack.imap_port) as imap:
        imap.starttls(ssl_context=context)
        imap.login(address, "Right-Pass-91")
        status, folders = imap.list()
        assert status == "OK"
        assert any(b"\\Junk" in f and f.endswith(b"Junk") for f in folders)
        imap.logout()


def test_alias_delivers_to_its_mailbox_and_external_target(stack):
    from sqlalchemy import insert, select

    from helpdesk.mailcenter.schema import aliases, domains

    box = stack.add_mailbox(stack.unique_address("team"), "Right-Pass-91")
    alias = stack.unique_address("info")
    outside = f"partner-{uuid.uuid4().hex[:6]}@elsewhere.example"
    with stack.db.begin() as conn:
        domain_id = conn.execute(
            select(domains.c.id).where(domains.c.name == alias.split("@")[1])
        ).scalar_one()
        for target in (box, outside):
            conn.execute(
                insert(aliases).values(
                    domain_id=domain_id, address=alias, target=target, enabled=True
                )
            )
    with smtplib.SMTP("127.0.0.1", stack.inbound_port, timeout=30) as smtp:
        smtp.send_message(message("news@sender.example", alias, "to the alias"))
    assert stack.wait_for_messages(box)
    # a captured copy is logged by local part, then the address that was sent to
    local = outside.split("@")[0]
    assert stack.wait_for_log(rf"=> {local} <{alias}> R=capture_external")


def test_exim_no_longer_forwards_from_the_table(stack):
    """Forwards are Sieve's now (tests/test_forward_stack.py): a row written straight into the
    table, bypassing the helpdesk, forwards nothing and the mail stays in the mailbox (the sweep
    lists such a row as written by another program)."""
    from datetime import datetime, timedelta

    from sqlalchemy import insert, select

    from helpdesk.mailcenter.schema import forwards, mailboxes

    now = datetime.utcnow()
    holiday = stack.add_mailbox(stack.unique_address("holiday"), "Right-Pass-91")
    deputy = f"deputy-{uuid.uuid4().hex[:6]}@elsewhere.example"
    with stack.db.begin() as conn:
        box = conn.execute(select(mailboxes.c.id).where(mailboxes.c.address == holiday))
        values = dict(target=deputy, keep_copy=False, starts_at=now - timedelta(days=1))
        conn.execute(insert(forwards).values(mailbox_id=box.scalar_one(), **values))
    with smtplib.SMTP("127.0.0.1", stack.inbound_port, timeout=30) as smtp:
        smtp.send_message(message("news@sender.example", holiday, "while away"))
    assert stack.wait_for_messages(holiday)
    local = deputy.split("@")[0]
    assert not stack.wait_for_log(rf"=> {local} <{holiday}>", timeout=1)
