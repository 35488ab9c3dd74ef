"""Blocked outbound mail: Exim's reject lines, rspamd's history, merged; and the whole way
through the stack: SMTP submission, rejection, `helpdesk blocked`, release, send again."""

from __future__ import annotations

import json
import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage

import pytest

from helpdesk.rspamd.blocked import attach_releases, merge_blocked
from helpdesk.rspamd.client import HistoryRow, Symbol
from helpdesk.rspamd.exim_rejects import parse_reject_line, read_exim_rejects
from helpdesk.rspamd.releases import Release
from helpdesk.rspamd.symbols import explain, explanations
from tests.conftest import run_cli
from tests.rspamd_tools import new_message_id

# The shapes the stack's Exim 4.96 writes (+incoming_interface, A= on authenticated sessions).
SUBMISSION_REJECT = (
    "2026-11-27 21:58:02 1xX3xC-0004Ox-1p H=([127.0.0.1]) [127.0.0.1]:51378 "
    "I=[127.0.0.1]:2587 F=<alice@example.org> A=sql_plain:alice@example.org rejected after DATA: "
    "The E-Mail you sended has been blocked because it may contain SPAM. Please contact support."
)
# The stack's ACL also logs the content digest, Message-ID and subject (stack/exim/exim.conf.in).
DIGEST = "0123456789abcdef0123456789abcdef"
SUBMISSION_REJECT_DIGEST = (
    SUBMISSION_REJECT + f' -- digest={DIGEST} release=none id="<m1@x>" '
    'T="Rechnung \\"Q4\\" f\\\\303\\\\274r Sie HELPDESK-TEST-SPAM"'
)
INBOUND_REJECT = (
    "2026-11-27 21:58:02 1xX3xC-0004P1-2A H=([127.0.0.1]) [127.0.0.1]:35452 I=[127.0.0.1]:2525 "
    "F=<ext@sender.test> rejected after DATA: Message rejected as spam"
)


def test_submission_reject_line_is_parsed():
    entry = parse_reject_line(SUBMISSION_REJECT)
    assert entry is not None
    assert entry.user == "alice@example.org" and entry.sender == "alice@example.org"
    assert entry.ip == "127.0.0.1" and entry.exim_id == "1xX3xC-0004Ox-1p"
    assert entry.text.startswith("The E-Mail you sended has been blocked")
    assert not entry.temporary and entry.message_id == ""


def test_digest_message_id_and_subject_come_from_the_tail():
    entry = parse_reject_line(SUBMISSION_REJECT_DIGEST)
    assert entry is not None and entry.digest == DIGEST and not entry.release_used_up
    assert entry.message_id == "m1@x"
    assert entry.subject == 'Rechnung "Q4" für Sie HELPDESK-TEST-SPAM'
    assert entry.text == (
        "The E-Mail you sended has been blocked because it may contain SPAM. "
        "Please contact support."
    )
    bare = parse_reject_line(SUBMISSION_REJECT + " -- digest=- release=used-up id=<m2@x> T=Hallo")
    assert bare is not None and bare.digest == "" and bare.release_used_up
    assert (bare.message_id, bare.subject) == ("m2@x", "Hallo")


def test_the_tail_is_read_as_the_acl_writes_it_quoted_and_escaped():
    """`${quote:${escape:...}}`: Exim's \\ooo for control bytes and UTF-8, quoted again; a
    folded subject unfolded; lines from before `escape` (raw bytes in quotes) read the same."""
    escaped = parse_reject_line(
        SUBMISSION_REJECT + ' -- digest=- release=none id="<m3@x>" '
        'T="a\\\\033]52;c;eA==\\\\007 f\\\\303\\\\274r [b]x[/b]\\\\n und C:\\\\ \\"q\\""'
    )
    assert escaped is not None
    assert escaped.subject == 'a\x1b]52;c;eA==\x07 für [b]x[/b] und C:\\ "q"'
    before = parse_reject_line(
        SUBMISSION_REJECT + ' -- digest=- release=none id=<m4@x> T="a\x1b b\\n c \\\\ f\u00fcr"'
    )
    assert before is not None and before.subject == "a\x1b b c \\ für"


def test_an_exim_line_with_a_digest_is_releasable_without_a_scan():
    """The Exim line has the whole login and the digest: rspamd's history may have rolled
    over (or cut the user at 31 bytes) and the message can still be released."""
    long_user = "verylongname.with.dots.ueberall@some-long-domain.example.org"
    exim = parse_reject_line(SUBMISSION_REJECT_DIGEST.replace("alice@example.org", long_user))
    (item,) = merge_blocked([], [exim])
    assert item.user == long_user and item.releasable and item.digest == DIGEST
    assert item.subject.startswith('Rechnung "Q4"')


def test_other_reject_lines():
    assert parse_reject_line(INBOUND_REJECT) is None  # not a customer's outbound mail
    assert parse_reject_line("2026-11-27 21:58:02 Start queue run: pid=1") is None
    old = parse_reject_line(
        "2026-11-27 22:58:02.123 +0100 [4711] 10HmaX-0005vi-00 H=(helo) [192.0.2.1] "
        "F=<b@example.org> A=dovecot_plain:b@example.org temporarily rejected after DATA: "
        "Temporarily unable to scan for spam <m-1@example.org>"
    )
    assert old is not None and old.temporary and old.exim_id == "10HmaX-0005vi-00"
    assert old.time == datetime(2026, 11, 27, 21, 58, 2)  # the +0100 stamp in UTC
    assert old.message_id == "m-1@example.org"


def test_mainlog_reading_skips_everything_else(tmp_path):
    log = tmp_path / "mainlog"
    log.write_text(
        "\n".join(
            [
                "2026-11-27 21:58:01 1xX3xC-0004Ow-1a <= alice@example.org H=(x) [127.0.0.1] "
                "P=esmtpa A=sql_plain:alice@example.org S=400",
                SUBMISSION_REJECT,
                INBOUND_REJECT,
                "garbage \xff line rejected after DATA A=",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    entries = read_exim_rejects([log])
    assert [e.user for e in entries] == ["alice@example.org"]
    assert read_exim_rejects([log], since=datetime(2026, 11, 28)) == []


def test_rotated_gzip_logs_and_recent_only(tmp_path):
    import gzip

    old = SUBMISSION_REJECT.replace("2026-11-27 21:58:02", "2026-11-20 10:00:00")
    with gzip.open(tmp_path / "mainlog.1.gz", "wt") as f:
        f.write(old.replace("alice@", "old@") + "\n")
    (tmp_path / "mainlog").write_text(SUBMISSION_REJECT + "\n")
    pattern = str(tmp_path / "mainlog*")
    assert [e.user for e in read_exim_rejects([pattern])] == [
        "old@example.org",
        "alice@example.org",
    ]
    assert [e.user for e in read_exim_rejects([pattern], recent_only=True)] == ["alice@example.org"]
    week = datetime(2026, 11, 19)
    users = [e.user for e in read_exim_rejects([pattern], week, recent_only=True)]
    assert users == ["old@example.org", "alice@example.org"]


def _row(user, mid, *, action="reject", seconds=0, controller="mx1", score=20.0):
    return HistoryRow(
        controller=controller,
        time=datetime(2026, 11, 27, 21, 58, 2) + timedelta(seconds=seconds),
        message_id=mid,
        user=user,
        action=action,
        score=score,
        required_score=15.0,
        symbols=(Symbol("HELPDESK_TEST_SPAM", 50.0), Symbol("MIME_GOOD", -0.1)),
        ip="127.0.0.1",
    )


def test_merge_joins_exim_and_rspamd_and_collapses_repeats():
    long_user = "verylongname.with.dots.ueberall@some-long-domain.example.org"
    cut = long_user.encode()[:31].decode()
    exim = parse_reject_line(SUBMISSION_REJECT_DIGEST.replace("alice@example.org", long_user))
    rows = [
        _row(cut, "m1@x", seconds=1),  # the scan behind the Exim line
        _row(cut, "m1@x", seconds=-300),  # the same message, sent five minutes earlier
        _row("alice@example.org", "m2@x", action="no action"),
        _row("", "m3@x"),  # inbound: not ours to release
        _row("bob@example.org", "m4@x", seconds=-5),
    ]
    merged = merge_blocked(rows, [exim])
    assert [m.message_id for m in merged] == ["m1@x", "m4@x"]
    first = merged[0]
    assert first.user == long_user and not first.user_truncated and first.releasable
    assert first.attempts == 2 and set(first.sources) == {"rspamd", "exim"}
    assert first.exim_text.startswith("The E-Mail") and first.exim_id == "1xX3xC-0004Ox-1p"
    assert first.reasons == ("test rule: the subject contains HELPDESK-TEST-SPAM",)
    only_bob = merge_blocked(rows, [exim], user="BOB@example.org")
    assert [m.user for m in only_bob] == ["bob@example.org"]
    since = datetime(2026, 11, 27, 21, 58, 0)
    assert [m.message_id for m in merge_blocked(rows, [], since=since)] == ["m1@x"]


def test_exim_line_without_a_scan_is_shown_but_not_releasable():
    exim = parse_reject_line(SUBMISSION_REJECT)
    (only,) = merge_blocked([_row("alice@example.org", "m9@x", seconds=600)], [exim])[1:]
    assert only.sources == ("exim",) and only.message_id == "" and not only.releasable
    assert only.score is None


def test_truncated_user_from_rspamd_alone_is_not_releasable():
    (item,) = merge_blocked([_row("a" * 20 + "@example-domain", "m@x")], [])
    assert item.user_truncated and not item.releasable


def test_plain_language():
    assert "blocklist" in explain("RBL_SPAMHAUS_XBL")
    assert explain("SOMETHING_NOBODY_KNOWS") == ""
    symbols = [
        Symbol("BAYES_SPAM", 5.0),
        Symbol("BAYES_SPAM_X", 4.0),  # same text: said once
        Symbol("SUBJ_ALL_CAPS", None),  # unknown score: still worth saying
        Symbol("R_SPF_FAIL", -1.0),  # lowered the score: not a reason
    ]
    assert explanations(symbols) == [
        "the wording looks like spam the filter has learned",
        "the subject is written in capitals",
    ]


def test_release_state_is_attached():
    now = datetime.utcnow()
    release = Release(
        id=7,
        address="alice@example.org",
        message_id="M1@X",
        created_at=now,
        operator="anna",
        client_addr=None,
        ticket="T-1",
        reason=None,
        expires_at=now + timedelta(hours=1),
        used_at=now,
    )
    items = merge_blocked([_row("alice@example.org", "m1@x"), _row("alice@example.org", "m2@x")])
    marked = {
        i.message_id: (i.release_state, i.release_id) for i in attach_releases(items, [release])
    }
    assert marked == {"m1@x": ("active, used", 7), "m2@x": ("", None)}


@pytest.mark.parametrize("state", ["pending", "withdrawn"])
def test_a_release_that_is_not_in_force_says_so(state):
    """The operator sees that a release is pending or was withdrawn, and `l` may try again."""
    from dataclasses import replace

    from helpdesk.commands.blocked import format_blocked

    now = datetime.utcnow()
    release = Release(
        id=8,
        address="alice@example.org",
        message_id="m1@x",
        created_at=now,
        operator="anna",
        client_addr=None,
        ticket="T-1",
        reason=None,
        expires_at=now + timedelta(hours=1),
        map_state=state,
    )
    (item,) = attach_releases(merge_blocked([_row("alice@example.org", "m1@x")]), [release])
    assert (item.release_state, item.release_id) == (state, 8)
    assert item.as_json()["release"] == state
    assert f"release #8: {state}" in format_blocked([item])
    assert release.as_json()["state"] == state
    assert replace(release, map_state="confirmed").as_json()["state"] == "active"


# --------------------------------------------------------------------------- through Exim


def _submit(stack, user: str, password: str, mid: str, subject: str) -> None:
    msg = EmailMessage()
    msg["From"] = user
    msg["To"] = "kunde@example.net"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{mid}>"
    msg.set_content("Guten Tag,\nanbei die Unterlagen.\n")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", stack.submission_port, timeout=30) as smtp:
        smtp.starttls(context=context)
        smtp.login(user, password)
        smtp.send_message(msg)


@pytest.mark.stack
def test_blocked_and_released_through_exim(stack):
    import os

    user = f"ella.{os.urandom(4).hex()}@firma.test"
    password = "Ella-Kundin-2026!"
    stack.add_mailbox(user, password)
    mid = new_message_id("smtp")
    with pytest.raises(smtplib.SMTPDataError) as info:
        _submit(stack, user, password, mid, "Rechnung HELPDESK-TEST-SPAM")
    assert info.value.smtp_code == 550

    listed = run_cli("blocked", "--user", user, "--json", config=stack.config_path)
    assert listed.returncode == 0, listed.stderr
    (entry,) = json.loads(listed.stdout)["blocked"]
    assert entry["message_id"] == mid and entry["user"] == user
    assert set(entry["sources"]) == {"rspamd", "exim"}
    assert "blocked" in entry["exim_text"]

    done = run_cli("release", mid, "--user", user, "--ticket", "T-55", config=stack.config_path)
    assert done.returncode == 0, done.stderr
    _submit(stack, user, password, mid, "Rechnung HELPDESK-TEST-SPAM")  # goes out now
    with pytest.raises(smtplib.SMTPDataError):
        _submit(stack, user, password, new_message_id("smtp2"), "Noch mal HELPDESK-TEST-SPAM")

    releases = json.loads(
        run_cli("releases", "--user", user, "--json", config=stack.config_path).stdout
    )["releases"]
    assert releases[0]["used"] is True
    revoked = run_cli(
        "revoke", str(releases[0]["id"]), "--ticket", "T-56", config=stack.config_path
    )
    assert revoked.returncode == 0, revoked.stderr
    with pytest.raises(smtplib.SMTPDataError):
        _submit(stack, user, password, mid, "Rechnung HELPDESK-TEST-SPAM")
