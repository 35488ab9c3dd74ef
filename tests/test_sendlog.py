"""The Exim mainlog reader on real public log samples and on the edge cases of real files."""

from __future__ import annotations

import gzip
import os
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from helpdesk.errors import NotFound
from helpdesk.logs.files import MAX_LINE, ReadState, expand, iter_lines, line_batches
from helpdesk.sendlog.parser import (
    ARRIVAL,
    AUTH_FAIL,
    BOUNCE,
    COMPLETED,
    DEFER,
    DELIVERY,
    OTHER,
    REJECT,
    SPAM_SCORE,
    parse_line,
)

SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "testdata" / "exim"
if not SAMPLES.is_dir():  # the samples live next to the working tree
    SAMPLES = Path("/work/shared/testdata/exim")

# Kinds per sample file, checked line by line against the files (and against MANIFEST.txt,
# whose grep counts include comment lines and text inside other lines).
EXPECTED_KINDS = {
    "exim_exporter/mainlog": {ARRIVAL: 14, DELIVERY: 4, DEFER: 2, BOUNCE: 7, COMPLETED: 7},
    "exim_exporter/rejectlog": {REJECT: 2},
    "fail2ban/exim.log": {AUTH_FAIL: 12, REJECT: 7},
    "fail2ban/exim-spam.log": {REJECT: 5},
    "crowdsec-hub/exim-bf.log": {AUTH_FAIL: 5, REJECT: 1},
    "crowdsec-hub/exim-logs.log": {AUTH_FAIL: 6, REJECT: 5},
    "crowdsec-hub/exim-syslog-logs.log": {AUTH_FAIL: 5, REJECT: 5},
    "exim-testsuite/exim-4.96/0098": {ARRIVAL: 17, DEFER: 45, COMPLETED: 17, REJECT: 1},
    "exim-testsuite/exim-4.96/0217": {BOUNCE: 216, DELIVERY: 107, DEFER: 16, ARRIVAL: 20},
    "exim-testsuite/exim-4.96/0227": {REJECT: 19},
    "exim-testsuite/exim-4.96/3400": {AUTH_FAIL: 27, ARRIVAL: 9},
    "exim-testsuite/exim-4.96/4011": {ARRIVAL: 3, REJECT: 4},
    "exim-testsuite/HEAD/3451": {ARRIVAL: 6, DELIVERY: 6, COMPLETED: 6},
}


def sample_files() -> list[Path]:
    return sorted(
        p
        for p in SAMPLES.rglob("*")
        if p.is_file() and p.name not in ("MANIFEST.txt", "SOURCES.md")
    )


def events_of(path: Path, now: datetime | None = None):
    return [ev for ev in (parse_line(line, now) for line in path.read_bytes().splitlines()) if ev]


def test_the_samples_are_there():
    assert len(sample_files()) >= 27


@pytest.mark.parametrize("path", sample_files(), ids=lambda p: str(p.relative_to(SAMPLES)))
def test_every_sample_file_reads_without_error(path):
    files = expand([path])
    state = ReadState()
    lines = 0
    for _lf, _no, batch in line_batches(files, state=state):
        for line in batch:
            parse_line(line)
            lines += 1
    assert lines == len(path.read_bytes().splitlines())
    assert state.broken == []


@pytest.mark.parametrize("name", sorted(EXPECTED_KINDS))
def test_kinds_per_sample_file(name):
    kinds = Counter(ev.kind for ev in events_of(SAMPLES / name, now=datetime(2026, 11, 27)))
    for kind, count in EXPECTED_KINDS[name].items():
        assert kinds[kind] == count, (name, kind, dict(kinds))


def test_arrival_fields_with_pid():
    ev = events_of(SAMPLES / "exim_exporter/mainlog")[0]
    assert ev.kind == ARRIVAL
    assert ev.time == datetime(2020, 6, 19, 4, 51, 49)
    assert (ev.pid, ev.exim_id, ev.sender) == (123, "1jmFYj-00039V-QX", "noreply@test.corp")
    assert (ev.helo, ev.ip, ev.protocol, ev.size) == ("test.corp", "2.2.2.2", "smtp", 7386)
    assert ev.user is None and ev.tls is None


def test_arrival_with_message_id_and_bounce_reason():
    evs = events_of(SAMPLES / "exim_exporter/mainlog")
    tom = next(e for e in evs if e.sender == "tom@test.corp")
    assert tom.message_id == "28f524f604c24d70a519a32fcbdf01d9@test.corp"
    assert (tom.host, tom.helo, tom.ip, tom.protocol) == (
        None,
        "relay.test.corp",
        "4.4.4.4",
        "esmtp",
    )
    bounce = next(e for e in evs if e.kind == BOUNCE and e.address == "rudy@foo.corp")
    assert bounce.mark == "**" and "540 5.7.1" in bounce.reason
    added = next(e for e in evs if e.kind == DELIVERY and e.mark == "->")
    assert added.address == "sally@dummy.corp" and added.transport == "remote_smtp_smarthost"


def test_a_printed_zone_is_converted_to_local_time():
    line = (
        "2020-06-20 01:32:57 +0200 [789] 1jmKso-0009d4-Uf ** molly@zee.corp R=dnslookup "
        "T=remote_smtp H=mail.zee.corp [3.3.3.3]: SMTP error"
    )
    ev = parse_line(line)
    want = datetime(2020, 6, 20, 1, 32, 57, tzinfo=timezone(timedelta(hours=2)))
    assert ev.time == want.astimezone().replace(tzinfo=None)
    assert (ev.kind, ev.pid, ev.exim_id, ev.address) == (
        BOUNCE,
        789,
        "1jmKso-0009d4-Uf",
        "molly@zee.corp",
    )
    utc = parse_line("2020-06-20T01:32:57Z host exim[1]: 1jmKso-0009d4-Uf Completed")
    assert utc.time == datetime(2020, 6, 20, 1, 32, 57, tzinfo=UTC).astimezone().replace(
        tzinfo=None
    )


def test_authenticated_submission_new_and_old_id_format():
    new = events_of(SAMPLES / "exim-testsuite/HEAD/3451")
    arrivals = [e for e in new if e.kind == ARRIVAL and e.user]
    assert [e.exim_id for e in arrivals][:2] == [
        "10HmaZ-000000005vi-0000",
        "10HmbA-000000005vi-0000",
    ]
    a = arrivals[0]
    assert (a.authenticator, a.user, a.protocol) == ("plain", "userx", "esmtpsa")
    assert a.tls == "TLS1.x:ke-RSA-AES256-SHAnnn:xxx"
    assert (a.host, a.helo, a.ip) == ("localhost", "myhost.test.ex", "127.0.0.1")
    assert a.message_id == "E10HmaX-000000005vi-0000@myhost.test.ex"
    old = [e for e in events_of(SAMPLES / "exim-testsuite/exim-4.96/3451") if e.kind == ARRIVAL]
    assert old[2].exim_id == "10HmaZ-0005vi-00" and old[2].user == "userx"


def test_client_side_auth_on_deliveries_is_not_a_user():
    # A=login:userx:... on a `=>` line is Exim authenticating to the next server.
    evs = events_of(SAMPLES / "exim-testsuite/exim-4.96/3401")
    assert all(e.user is None for e in evs)
    assert not any(e.kind == AUTH_FAIL for e in evs)


def test_failed_logins_from_the_exim_testsuite():
    fails = [e for e in events_of(SAMPLES / "exim-testsuite/exim-4.96/3400") if e.kind == AUTH_FAIL]
    assert fails[0].code == "435" and fails[0].user == "userx"
    assert fails[1].code == "535" and fails[1].user is None
    assert sum(1 for f in fails if f.code == "535" and f.user == "userx") == 21
    assert {f.ip for f in fails} == {"10.0.0.1"}


def test_failed_logins_in_their_many_shapes():
    evs = events_of(SAMPLES / "crowdsec-hub/exim-bf.log")
    first, second = evs[0], evs[1]
    assert (first.authenticator, first.helo, first.ip, first.port) == (
        "dovecot_login",
        "[1.2.3.5]",
        "1.2.3.4",
        55379,
    )
    assert first.user == "info@test.com" and first.code == "535"
    assert (second.host, second.helo, second.user) == (
        "ppp-1-2-3-4.test.test.co.th",
        "[1.2.3.5]",
        "info1@test.com",
    )
    logs = events_of(SAMPLES / "crowdsec-hub/exim-logs.log")
    millis = next(e for e in logs if e.host == "millis.example.org")
    assert millis.time == datetime(2023, 5, 30, 6, 10, 13) and millis.ip == "192.0.2.12"
    noport = next(e for e in logs if e.host == "no-port.example.org")
    assert noport.port is None and noport.ip == "192.0.2.13"
    f2b = {e.ip: e for e in events_of(SAMPLES / "fail2ban/exim.log") if e.kind == AUTH_FAIL}
    assert f2b["192.0.2.37"].user == "test@domain.com"  # `host exim[pid]:` after the time
    assert f2b["192.0.2.37"].time == datetime(2019, 10, 22, 3, 39, 17)
    assert f2b["192.0.2.27"].time == datetime(2021, 7, 17, 23, 20, 49)  # journald shape
    assert f2b["193.254.202.35"].user == "webmaster" and f2b["193.254.202.35"].port == 41556


def test_syslog_lines_get_a_year():
    evs = events_of(SAMPLES / "crowdsec-hub/exim-syslog-logs.log", now=datetime(2022, 7, 1))
    assert evs[0].time == datetime(2022, 6, 29, 16, 4, 19)
    assert evs[0].kind == AUTH_FAIL and evs[0].user == "abuse@test.com"
    # A December line read in January is from last year.
    ev = parse_line(
        "Dec 31 23:59:59 mx exim[7]: 1abcDe-000123-Ab Completed", now=datetime(2027, 1, 1, 0, 5)
    )
    assert ev.time == datetime(2026, 12, 31, 23, 59, 59) and ev.kind == COMPLETED


def test_rejections():
    r = events_of(SAMPLES / "exim-testsuite/exim-4.96/0227")
    data = [e for e in r if e.kind == REJECT and e.stage == "DATA"]
    assert [e.exim_id for e in data] == ["10HmaX-0005vi-00", "10HmaY-0005vi-00"]
    assert data[0].sender == "uncheckable@localhost1"
    assert data[0].reason == "there is no valid sender in any header line"
    rcpt = next(e for e in r if e.kind == REJECT and e.stage == "RCPT")
    assert (rcpt.address, rcpt.sender, rcpt.reason) == (
        "z@test.ex",
        "bad@localhost",
        "Sender verify failed",
    )
    temp = [e for e in events_of(SAMPLES / "exim-testsuite/exim-4.96/4011") if e.kind == REJECT]
    assert [e.temporary for e in temp] == [True, False, True, False]


def test_the_stacks_rejection_and_score_lines():
    rej = parse_line(
        "2026-11-27 22:05:25 1xX44L-0006Kq-0A H=([127.0.0.1]) [127.0.0.201]:51401 "
        "I=[127.0.0.1]:2587 F=<kontakt@gartenbau-schulz.example> "
        "A=sql_plain:kontakt@gartenbau-schulz.example rejected after DATA: The E-Mail you "
        "sended has been blocked because it may contain SPAM. Please contact support."
    )
    assert (rej.kind, rej.stage, rej.temporary) == (REJECT, "DATA", False)
    assert (rej.user, rej.ip, rej.port) == (
        "kontakt@gartenbau-schulz.example",
        "127.0.0.201",
        51401,
    )
    assert rej.reason.startswith("The E-Mail you sended")
    score = parse_line(
        "2026-11-27 22:05:26 1xX44M-0006TK-0H spam-score=13.1 action=add header "
        "rcpt=t.nguyen@kanzlei-weber.example,a@b.example"
    )
    assert (score.kind, score.score, score.action) == (SPAM_SCORE, 13.1, "add header")
    assert score.recipients == ("t.nguyen@kanzlei-weber.example", "a@b.example")
    neg = parse_line("2026-11-27 22:05:26 1xX44M-0006TK-0H spam-score=-2.5 action=no action")
    assert neg.score == -2.5 and neg.recipients == ()


def test_subject_with_escaped_quotes_and_for_inside():
    ev = parse_line(
        "2026-11-27 10:00:00 1abcDe-000123-Ab <= a@x.example H=(pc) [192.0.2.1]:1234 P=esmtpa "
        'A=plain:a@x.example S=100 id=m@x T="Offer \\"for you\\" for b@y.example" '
        "for c@z.example d@w.example"
    )
    assert ev.subject == 'Offer "for you" for b@y.example'
    assert ev.recipients == ("c@z.example", "d@w.example")
    assert ev.tls is None and ev.user == "a@x.example"


def test_tls_from_protocol_when_cipher_not_logged():
    ev = parse_line(
        "2026-11-27 10:00:00 1abcDe-000123-Ab <= a@x.example H=(pc) [192.0.2.1] P=esmtpsa "
        "A=plain:a@x.example S=100"
    )
    assert ev.tls == "TLS"


def test_a_forged_helo_does_not_pose_as_the_login():
    ev = parse_line(
        "2026-11-27 10:00:00 1abcDe-000123-Ab <= a@x.example H=(A=plain:victim@x.example) "
        "[192.0.2.1]:1 P=esmtpa A=plain:a@x.example S=1"
    )
    assert ev.user == "a@x.example" and ev.helo == "A=plain:victim@x.example"


def test_unreadable_lines_are_none_not_errors():
    for junk in [
        b"",
        b"******** SERVER ********",
        b"\x00\xff\xfe garbage \x80",
        b"2026-13-45 99:99:99 x",
        # times that cannot be true: impossible dates, a zone past year 9999, far future or past
        b"2026-11-31 10:00:00 1abcDe-000001-Ab Completed",
        b"2026-02-29 10:00:00 1abcDe-000001-Ab Completed",
        b"2026-11-27 24:00:00 1abcDe-000001-Ab Completed",
        b"9999-12-31 23:59:59 -1200 1abcDe-000001-Ab Completed",
        b"2026-11-27 10:00:00 +9959 1abcDe-000001-Ab Completed",
        b"9999-12-31 23:59:59 1abcDe-000001-Ab Completed",
        b"0001-01-01 00:00:00 1abcDe-000001-Ab Completed",
        b"1969-12-31 23:59:59 1abcDe-000001-Ab Completed",
        b"Feb 30 10:00:00 mx exim[1]: 1abcDe-000001-Ab Completed",
    ]:
        assert parse_line(junk) is None, junk
    assert parse_line(b"2026-11-27 10:00:00 something Exim said").kind == OTHER


def write(path: Path, lines: list[str], *, end: str = "\n") -> Path:
    path.write_bytes(("\n".join(lines) + end).encode())
    return path


def test_gzip_rotated_files_read_in_time_order(tmp_path):
    day = ["2026-11-2{d} 10:00:00 1abcD{d}-000123-Ab Completed"]
    write(tmp_path / "mainlog", [day[0].format(d=7)])
    write(tmp_path / "mainlog.1", [day[0].format(d=6)])
    with gzip.open(tmp_path / "mainlog.2.gz", "wb") as f:
        f.write((day[0].format(d=5) + "\n").encode())
    # mtimes lie (copied files): the first time in each file decides
    os.utime(tmp_path / "mainlog.2.gz", (2_000_000_000, 2_000_000_000))
    files = expand([tmp_path / "mainlog*"])
    assert [f.path.name for f in files] == ["mainlog.2.gz", "mainlog.1", "mainlog"]
    assert [f.compressed for f in files] == [True, False, False]
    times = [parse_line(line).time.day for _lf, _n, line in iter_lines(files)]
    assert times == [25, 26, 27]


def test_missing_logs_are_a_clear_error(tmp_path):
    with pytest.raises(NotFound, match="log file not found"):
        expand([tmp_path / "nope"])
    with pytest.raises(NotFound, match="no log file matches"):
        expand([tmp_path / "nope*"])


def test_truncated_gzip_is_read_as_far_as_it_goes(tmp_path):
    lines = [f"2026-11-27 10:00:{i:02d} 1abcDe-0001{i:02d}-Ab Completed" for i in range(50)]
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    (tmp_path / "mainlog.1.gz").write_bytes(data[: len(data) - 20])
    write(tmp_path / "mainlog", ["2026-11-27 11:00:00 1abcDe-000999-Ab Completed"])
    state = ReadState()
    got = [line for _lf, _n, line in iter_lines(expand([tmp_path / "mainlog*"]), state=state)]
    assert state.broken == [str(tmp_path / "mainlog.1.gz")]
    assert got[-1].endswith(b"000999-Ab Completed")
    assert 1 <= len(got) <= 51


def test_truncated_last_line_binary_garbage_and_long_lines(tmp_path):
    long_subject = "x" * 100_000
    lines = [
        "2026-11-27 10:00:00 1abcDe-000001-Ab <= a@x.example H=(pc) [192.0.2.1]:1 P=esmtpa "
        f'A=plain:a@x.example S=1 T="{long_subject}" for b@y.example',
        "\x00\x01\x02 binary \x7f garbage",
        "2026-11-27 10:00:01 1abcDe-000001-Ab Completed",
        "2026-11-27 10:00:02 1abcDe-000002-Ab <= a@x.example H=(pc) [192.0.2.1]:1 P=esm",
    ]
    path = tmp_path / "mainlog"
    path.write_bytes("\n".join(lines[:3]).encode() + b"\n\xff\xfe\xfd\n" + lines[3].encode())
    got = [line for _lf, _n, line in iter_lines(expand([path]))]
    assert len(got) == 5
    evs = [parse_line(line) for line in got]
    assert evs[0].subject == long_subject and evs[0].recipients == ("b@y.example",)
    assert evs[1] is None and evs[3] is None
    assert evs[2].kind == COMPLETED
    cut = evs[4]  # the line Exim was still writing
    assert cut.kind == ARRIVAL and cut.sender == "a@x.example" and cut.protocol == "esm"


def test_a_runaway_line_is_dropped_and_counted(tmp_path):
    path = tmp_path / "mainlog"
    with open(path, "wb") as f:
        f.write(b"2026-11-27 10:00:00 1abcDe-000001-Ab Completed\n")
        f.write(b"A" * (MAX_LINE * 3))
        f.write(b"\n2026-11-27 10:00:01 1abcDe-000002-Ab Completed\n")
    state = ReadState()
    got = [(n, line) for _lf, n, line in iter_lines(expand([path]), state=state)]
    assert state.too_long == 1
    assert [n for n, _ in got] == [1, 3]
    assert all(len(line) < 100 for _, line in got)


def test_bzip2_and_xz_rotations_are_read_too(tmp_path):
    import bz2
    import lzma

    line = "2026-11-2{d} 10:00:00 1abcD{d}-000123-Ab Completed\n"
    (tmp_path / "mainlog.3.xz").write_bytes(lzma.compress(line.format(d=4).encode()))
    (tmp_path / "mainlog.2.bz2").write_bytes(bz2.compress(line.format(d=5).encode()))
    write(tmp_path / "mainlog", [line.format(d=6).strip()])
    files = expand([tmp_path / "mainlog*"])
    assert [f.compression for f in files] == ["xz", "bzip2", None]
    assert [parse_line(x).time.day for _lf, _n, x in iter_lines(files)] == [24, 25, 26]


def test_auth_arguments_are_masked_in_every_field():
    secret = "dXNlcgB1c2VyAHNlY3JldA=="
    ev = parse_line(
        f"2026-11-27 10:00:00 1abcDe-000001-Ab == a@r.example R=smarthost T=remote_smtp defer (-42)"
        f": SMTP error from remote mail server after AUTH PLAIN {secret}: 535 5.7.8 failed"
    )
    assert ev.kind == DEFER and secret not in ev.text and secret not in ev.reason
    assert ev.reason.startswith("SMTP error from remote mail server after AUTH PLAIN ***: 535")
    other = parse_line(
        f'2026-11-27 10:00:00 SMTP protocol error in "AUTH PLAIN {secret}" H=(x) [192.0.2.1] '
        "AUTH command used when not advertised"
    )
    assert other.kind == OTHER and secret not in other.text and '"AUTH PLAIN ***"' in other.text
