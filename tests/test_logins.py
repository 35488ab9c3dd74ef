"""The login timeline on real Dovecot and Exim lines captured from the stack
(tests/data/dovecot/README.md), in every format it reads."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from helpdesk.logins.formats import detect
from helpdesk.logins.settings import LoginSettings
from helpdesk.logins.timeline import Target, build

DATA = Path(__file__).parent / "data" / "dovecot"
ADDRESS = "kunde@capture.example"
FORMATS = {
    "dovecot.log": "dovecot",
    "syslog-traditional.log": "syslog",
    "syslog-rfc3339.log": "rfc3339",
    "journal.json": "journal",
}


def _copy(tmp_path: Path, name: str, *, gz: bool = False) -> Path:
    """A copy whose last change is the day after the capture (the year of syslog times)."""
    target = tmp_path / (name + (".gz" if gz else ""))
    if gz:
        target.write_bytes(gzip.compress((DATA / name).read_bytes()))
    else:
        shutil.copy(DATA / name, target)
    first = (DATA / "mainlog").read_text().split(" ", 1)[0]
    when = datetime.strptime(first, "%Y-%m-%d") + timedelta(days=1)
    os.utime(target, (when.timestamp(), when.timestamp()))
    return target


def _timeline(tmp_path: Path, name: str, **kwargs):
    settings = LoginSettings(
        dovecot_paths=(str(_copy(tmp_path, name, **kwargs)),),
        exim_paths=(str(_copy(tmp_path, "mainlog")),),
    )
    return build(settings, ADDRESS, since=timedelta(days=3650))


@pytest.mark.parametrize("name", FORMATS)
def test_format_detected_from_the_first_line(name):
    first = (DATA / name).read_bytes().splitlines()[0]
    assert detect(first) == FORMATS[name]


@pytest.mark.parametrize("name", FORMATS)
def test_every_case_in_every_format(tmp_path, name):
    t = _timeline(tmp_path, name)
    assert t.warnings == []
    seen = {(e.protocol, e.ip, e.ok, e.reason) for e in t.events}
    assert ("imap", "127.0.0.10", True, "") in seen
    assert ("pop3", "127.0.0.11", True, "") in seen
    assert ("pop3", "127.0.0.11", False, "wrong_password") in seen
    assert ("imap", "127.0.0.66", False, "plaintext_refused") in seen
    assert ("imap", "127.0.0.9", False, "wrong_password") in seen
    assert ("imap", "127.0.0.12", False, "mechanism_not_offered") in seen
    assert ("imap", "127.0.0.13", False, "unknown_user") in seen
    assert ("smtp", "127.0.0.15", False, "wrong_password_or_user") in seen
    assert ("smtp", "127.0.0.16", True, "") in seen
    assert ("smtp", "127.0.0.16", False, "mechanism_not_offered") in seen
    assert ("imap", "127.0.0.17", False, "too_many_connections") in seen
    # the disabled mailbox's attempt is another mailbox's event
    assert not any(e.ip == "127.0.0.14" for e in t.events)


def test_fields_of_each_event(tmp_path):
    t = _timeline(tmp_path, "dovecot.log")
    by = {(e.protocol, e.ip, e.ok): e for e in t.events}
    iphone = by[("imap", "127.0.0.10", True)]
    assert (iphone.tls, iphone.mechanism, iphone.client) == (True, "PLAIN", "iPhone Mail (iOS)")
    pop = by[("pop3", "127.0.0.11", True)]
    assert (pop.tls, pop.mechanism) == (False, "PLAIN")
    plain = by[("imap", "127.0.0.66", False)]
    assert plain.tls is False and plain.user == ADDRESS
    guess = by[("imap", "127.0.0.9", False)]
    assert guess.attempts == 3 and guess.tls is True
    smtp_fail = [e for e in t.events if e.protocol == "smtp" and e.ip == "127.0.0.15"]
    assert {e.mechanism for e in smtp_fail} == {"PLAIN", "LOGIN"}
    assert all(e.tls is None and e.client == "outlook-pc" for e in smtp_fail)
    sent = by[("smtp", "127.0.0.16", True)]
    assert (sent.tls, sent.client, sent.mechanism) == (True, "iphone", "PLAIN")


def test_attempts_without_a_user_are_attributed_by_address(tmp_path):
    t = _timeline(tmp_path, "dovecot.log")
    cram = [e for e in t.events if e.mechanism == "CRAM-MD5"]
    assert {(e.protocol, e.ip) for e in cram} == {("imap", "127.0.0.12"), ("smtp", "127.0.0.16")}
    assert all(e.user == "" and e.match == "attributed" for e in cram)
    bare = [e for e in t.events if e.match == "near_miss"]
    assert [(e.user, e.ip) for e in bare] == [("kunde", "127.0.0.13")]


def test_a_userless_attempt_far_from_the_mailbox_is_not_attributed(tmp_path):
    line = (DATA / "dovecot.log").read_text().splitlines()
    cram = next(x for x in line if "method=CRAM-MD5" in x and "Disconnected" in x)
    later = "Dec  1 09:00:00" + cram[15:]
    path = tmp_path / "late.log"
    path.write_text("\n".join([*line, later]) + "\n")
    os.utime(path, (datetime(2026, 12, 2).timestamp(),) * 2)
    settings = LoginSettings(dovecot_paths=(str(path),), exim_paths=(str(path),))
    t = build(settings, ADDRESS, since=timedelta(days=3650))
    assert sum(e.mechanism == "CRAM-MD5" for e in t.events) == 1


def test_diagnoses_name_each_problem(tmp_path):
    t = _timeline(tmp_path, "syslog-rfc3339.log")
    codes = [d.code for d in t.diagnoses]
    assert {"cram_md5", "no_tls", "pop3", "old_password", "login_name"} <= set(codes)
    text = {d.code: d.text.english() for d in t.diagnoses}
    assert "password transfer" in text["cram_md5"]
    assert "SSL/TLS or STARTTLS" in text["no_tls"] and "127.0.0.66" in text["no_tls"]
    assert "switch to IMAP" in text["pop3"]
    assert "127.0.0.9" in text["old_password"]
    assert "full address" in text["login_name"] and "kunde" in text["login_name"]


def test_groups_and_last_success(tmp_path):
    t = _timeline(tmp_path, "journal.json")
    assert set(t.last_success) == {"imap", "pop3", "smtp"}
    iphone = next(g for g in t.groups if g.client == "iPhone Mail (iOS)")
    assert (iphone.protocol, iphone.mechanism, set(iphone.ips)) == ("imap", "PLAIN", {"127.0.0.10"})
    assert any(g.protocol == "imap" and g.mechanism == "CRAM-MD5" for g in t.groups)


def test_compressed_and_rotated(tmp_path):
    t = _timeline(tmp_path, "dovecot.log", gz=True)
    assert any(e.client == "iPhone Mail (iOS)" for e in t.events)


def test_unknown_format_is_one_line_naming_the_file(tmp_path):
    odd = tmp_path / "odd.log"
    odd.write_text("<13>1 weird line\nmore\n")
    settings = LoginSettings(
        dovecot_paths=(str(odd),), exim_paths=(str(_copy(tmp_path, "mainlog")),)
    )
    t = build(settings, ADDRESS, since=timedelta(days=3650))
    assert len(t.warnings) == 1
    text = t.warnings[0].english()
    assert str(odd) in text and "<13>1 weird line" in text
    assert any(e.protocol == "smtp" for e in t.events)  # the Exim log is still read


def test_missing_log_is_a_warning_not_a_crash(tmp_path):
    settings = LoginSettings(
        dovecot_paths=(str(tmp_path / "nope.log"),), exim_paths=(str(_copy(tmp_path, "mainlog")),)
    )
    t = build(settings, ADDRESS, since=timedelta(days=3650))
    assert "nope.log" in t.warnings[0].english()


def test_hostile_lines_do_not_break_the_reader(tmp_path):
    from tests.hostile import VALUES

    lines = (DATA / "dovecot.log").read_text().splitlines()
    bad = [
        f"Nov 30 22:30:20 imap-login: ID sent: name={h}: user=<>, rip=127.0.0.10, lip=127.0.0.1, "
        f"TLS, session=<hostile{i}>"
        for i, h in enumerate(VALUES.values())
    ] + ["\x00\xff garbage", "Nov 99 99:99:99 imap-login: Login: user=<x>"]
    path = tmp_path / "hostile.log"
    path.write_bytes(
        ("\n".join([lines[0], *bad, *lines[1:]]) + "\n").encode("utf-8", "surrogateescape")
    )
    os.utime(path, (datetime(2026, 12, 1).timestamp(),) * 2)
    settings = LoginSettings(dovecot_paths=(str(path),), exim_paths=(str(path),))
    t = build(settings, ADDRESS, since=timedelta(days=3650))
    assert any(e.client == "iPhone Mail (iOS)" for e in t.events)
    json.dumps(t.as_json())


def test_near_miss_rules():
    target = Target.of("Erika.Kunde@Capture.example", "Erika Kunde")
    assert target.own("erika.kunde@capture.example")
    assert target.near_miss("erika.kunde")
    assert target.near_miss("Erika Kunde")
    assert target.near_miss("erika.kunde@capture.exmaple")
    assert not target.near_miss("erika.kunde@other.example")
    assert not target.near_miss("someone@capture.example")


def test_reading_can_be_cancelled_and_reports_progress(tmp_path):
    from helpdesk.logs.files import Cancelled

    settings = LoginSettings(
        dovecot_paths=(str(_copy(tmp_path, "dovecot.log")),),
        exim_paths=(str(_copy(tmp_path, "mainlog")),),
    )
    seen: list[tuple[int, int]] = []
    build(settings, ADDRESS, since=timedelta(days=3650), progress=lambda d, t: seen.append((d, t)))
    total = (tmp_path / "dovecot.log").stat().st_size + (tmp_path / "mainlog").stat().st_size
    assert seen and seen[-1] == (total, total)
    with pytest.raises(Cancelled):
        build(settings, ADDRESS, since=timedelta(days=3650), cancelled=lambda: True)


def test_only_the_failures_before_a_ban_are_marked(tmp_path):
    settings = LoginSettings(
        dovecot_paths=(str(_copy(tmp_path, "dovecot.log")),),
        exim_paths=(str(_copy(tmp_path, "mainlog")),),
    )
    plain = build(settings, ADDRESS, since=timedelta(days=3650))
    guess = next(e for e in plain.events if e.ip == "127.0.0.9")
    for ban, marked in (
        (guess.time + timedelta(seconds=5), True),
        (guess.time + timedelta(hours=1), False),
    ):
        t = build(settings, ADDRESS, since=timedelta(days=3650), bans={"127.0.0.9": ban})
        assert [e.banned for e in t.events if e.ip == "127.0.0.9"] == [marked]
        assert not any(e.banned for e in t.events if e.ip != "127.0.0.9")
        assert "banned" in {d.code for d in t.diagnoses}


@pytest.mark.skipif(shutil.which("journalctl") is None, reason="no journalctl on this machine")
def test_journal_is_read_with_the_files(tmp_path):
    settings = LoginSettings(
        dovecot_paths=(str(_copy(tmp_path, "dovecot.log")),),
        exim_paths=(str(_copy(tmp_path, "mainlog")),),
        journal=True,
    )
    t = build(settings, ADDRESS, since=timedelta(days=3650))
    assert "journal" in t.files
    assert any(e.client == "iPhone Mail (iOS)" for e in t.events)


def _mailbox(address: str, *, enabled: bool = True):
    from helpdesk.mailcenter.mailboxes import Mailbox

    local, _, domain = address.partition("@")
    return Mailbox(
        id=1,
        domain_id=1,
        domain=domain,
        local_part=local,
        address=address,
        realname="",
        password_changed_at=None,
        must_change_password=False,
        enabled=enabled,
        smtp_enabled=True,
        quota_mb=0,
        customer_ref="",
        version=1,
        created_at=None,
    )


def test_a_disabled_mailbox_fails_as_login_disabled_not_unknown_user(tmp_path):
    # Dovecot's query finds no enabled mailbox and logs "unknown user" (captured line).
    address = "gesperrt@capture.example"
    settings = LoginSettings(
        dovecot_paths=(str(_copy(tmp_path, "dovecot.log")),),
        exim_paths=(str(_copy(tmp_path, "mainlog")),),
    )
    window = timedelta(days=3650)
    enabled = build(settings, address, mailbox=_mailbox(address), since=window)
    assert [e.reason for e in enabled.events] == ["unknown_user"]
    t = build(settings, address, mailbox=_mailbox(address, enabled=False), since=window)
    [event] = t.events
    assert (event.ip, event.reason) == ("127.0.0.14", "login_disabled")
    assert event.reason_text.english() == "login disabled"
    assert [d.code for d in t.diagnoses] == ["login_disabled"]


def test_the_address_in_other_case_refused_as_unknown_user_is_a_login_name_problem(tmp_path):
    # A server without `auth_username_format = %Lu` compares the name exactly: the captured
    # "kunde" failure, as if the client had typed the address with capitals, from an address
    # the mailbox never used.
    lines = (DATA / "dovecot.log").read_text().splitlines()
    upper = "Kunde@Capture.example"
    failed = [
        x.replace("kunde,", upper + ",")
        .replace("user=<kunde>", f"user=<{upper}>")
        .replace("127.0.0.13", "127.0.0.40")
        for x in lines[19:21]
    ]
    path = tmp_path / "case.log"
    path.write_text("\n".join([*lines, *failed]) + "\n")
    os.utime(path, (datetime(2026, 12, 2).timestamp(),) * 2)
    settings = LoginSettings(dovecot_paths=(str(path),), exim_paths=())
    t = build(settings, ADDRESS, since=timedelta(days=3650))
    [case] = [e for e in t.events if e.ip == "127.0.0.40"]
    assert (case.user, case.match, case.reason) == (upper, "near_miss", "unknown_user")
    text = {d.code: d.text.english() for d in t.diagnoses}
    assert "full address" in text["login_name"] and upper in text["login_name"]


def test_a_traditional_syslog_time_takes_its_year_from_the_files_last_change(tmp_path):
    # The captured line, in a file rotated in January: December's lines are last year's.
    line = next(
        x
        for x in (DATA / "syslog-traditional.log").read_text().splitlines()
        if "Login: " in x and "127.0.0.10" in x
    )
    december = "Dec 31 12:00:00" + line[15:]
    path = tmp_path / "mail.log"
    path.write_text(december + "\n" + "Jan  1 13:00:00" + line[15:] + "\n")
    settings = LoginSettings(dovecot_paths=(str(path),), exim_paths=())
    for mtime, years in (
        (datetime(2027, 1, 1, 8), [(2026, 12), (2027, 1)]),
        (datetime(2026, 5, 1), [(2025, 12), (2026, 1)]),
    ):
        os.utime(path, (mtime.timestamp(),) * 2)
        t = build(settings, ADDRESS, since=timedelta(days=3650))
        assert [(e.time.year, e.time.month) for e in t.events] == years


def test_the_ban_time_is_said_in_the_operators_zone(tmp_path):
    # fail2ban's log, like the mail logs, is in this machine's time; the operator reads
    # [ui] timezone with its name.
    from zoneinfo import ZoneInfo

    from helpdesk.localtime import log_time_text, use_zone

    settings = LoginSettings(
        dovecot_paths=(str(_copy(tmp_path, "dovecot.log")),),
        exim_paths=(str(_copy(tmp_path, "mainlog")),),
    )
    guess = next(e for e in _timeline(tmp_path, "dovecot.log").events if e.ip == "127.0.0.9")
    ban = guess.time + timedelta(seconds=5)
    use_zone(ZoneInfo("Asia/Tokyo"))
    try:
        t = build(settings, ADDRESS, since=timedelta(days=3650), bans={"127.0.0.9": ban})
        shown = log_time_text(ban, zone=True)
    finally:
        use_zone(None)
    assert shown.endswith(" JST")
    [text] = [d.text.english() for d in t.diagnoses if d.code == "banned"]
    assert f"the address 127.0.0.9 is banned since {shown}:" in text


@pytest.mark.parametrize(
    ("minutes", "attributed"), [(-9, True), (9, True), (-11, False), (11, False)]
)
def test_attribution_window_is_ten_minutes_either_side(tmp_path, minutes, attributed):
    # The captured CRAM-MD5 attempt from 127.0.0.12, moved away from the mailbox's only login
    # from that address (22:46:31); the real attempt (same second) is dropped.
    lines = (DATA / "dovecot.log").read_text().splitlines()
    cram = [x for x in lines if "rip=127.0.0.12" in x and "CRAM-MD5" in x]
    rest = [x for x in lines if x not in cram]
    when = (datetime(2026, 11, 30, 22, 46, 31) + timedelta(minutes=minutes)).strftime(
        "%b %d %H:%M:%S"
    )
    moved = [when + x[15:] for x in cram]
    path = tmp_path / "moved.log"
    path.write_text("\n".join(sorted([*rest, *moved], key=lambda x: x[:15])) + "\n")
    os.utime(path, (datetime(2026, 12, 2).timestamp(),) * 2)
    t = build(
        LoginSettings(dovecot_paths=(str(path),), exim_paths=()),
        ADDRESS,
        since=timedelta(days=3650),
    )
    found = [e for e in t.events if e.ip == "127.0.0.12" and e.mechanism == "CRAM-MD5"]
    assert [e.match for e in found] == (["attributed"] if attributed else [])


def test_dovecot_log_path_with_an_iso_log_timestamp(tmp_path):
    # `log_timestamp = "%Y-%m-%d %H:%M:%S "` instead of Dovecot's default: the same events.
    year = (DATA / "mainlog").read_text()[:4]  # the capture's year
    iso = tmp_path / "dovecot-iso.log"
    iso.write_text(
        "".join(
            datetime.strptime(f"{year} {x[:15]}", "%Y %b %d %H:%M:%S").strftime("%Y-%m-%d %H:%M:%S")
            + x[15:]
            + "\n"
            for x in (DATA / "dovecot.log").read_text().splitlines()
        )
    )
    assert detect(iso.read_bytes().splitlines()[0]) == "dovecot"
    plain = _timeline(tmp_path, "dovecot.log")
    settings = LoginSettings(dovecot_paths=(str(iso),), exim_paths=(str(tmp_path / "mainlog"),))
    t = build(settings, ADDRESS, since=timedelta(days=3650))
    assert t.warnings == []
    assert [e.as_json() for e in t.events] == [e.as_json() for e in plain.events]


def test_many_bot_attempts_do_not_crowd_out_the_customers_device(tmp_path, monkeypatch):
    # More refused CRAM-MD5 attempts from bots than are held (the limit made small to keep
    # the test fast), then the customer's device, six minutes before the mailbox's login from
    # its address: the newest are looked at.
    from helpdesk.logins import timeline

    monkeypatch.setattr(timeline, "MAX_USERLESS", 1_000)
    lines = (DATA / "dovecot.log").read_text().splitlines()
    cram = [x for x in lines if "rip=127.0.0.12" in x and "CRAM-MD5" in x]
    rest = [x for x in lines if x not in cram]
    bot = cram[-1][15:].replace("rip=127.0.0.12", "rip=10.{a}.{b}.{c}")
    bots = [
        "Nov 30 22:00:00" + bot.format(a=i >> 16, b=(i >> 8) & 255, c=i & 255) for i in range(1_500)
    ]
    moved = ["Nov 30 22:40:31" + x[15:] for x in cram]
    path = tmp_path / "busy.log"
    path.write_text("\n".join([*bots, *moved, *rest]) + "\n")
    os.utime(path, (datetime(2026, 12, 2).timestamp(),) * 2)
    t = build(
        LoginSettings(dovecot_paths=(str(path),), exim_paths=()),
        ADDRESS,
        since=timedelta(days=3650),
    )
    found = [e for e in t.events if e.ip == "127.0.0.12" and e.mechanism == "CRAM-MD5"]
    assert [e.match for e in found] == ["attributed"]
    assert not any(e.ip.startswith("10.") for e in t.events)
    assert any(
        "older attempts without a user name were not looked at" in w.english() for w in t.warnings
    )
