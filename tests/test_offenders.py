"""The offender analysis, trails and per-user views on generated logs with known counts."""

from __future__ import annotations

import gzip
import importlib.util
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from helpdesk.errors import ConfigError, HelpdeskError
from helpdesk.logs.files import Cancelled, expand
from helpdesk.logs.timestamps import json_time
from helpdesk.sendlog.offenders import activity_series, analyze
from helpdesk.sendlog.settings import SendlogSettings
from helpdesk.sendlog.trails import trail, user_activity, user_detail, user_events, user_messages

NOW = datetime(2026, 11, 27, 12, 0, 0)
VICTIM = "kontakt@gartenbau.example"
NORMAL = "anna@gartenbau.example"
NOFOR = "lars@gartenbau.example"


class Log:
    """Writes mainlog lines with increasing ids."""

    def __init__(self) -> None:
        self.lines: list[tuple[datetime, str]] = []
        self.seq = 0

    def eid(self) -> str:
        self.seq += 1
        return f"1xAbCd-{self.seq:06d}-Zz"

    def add(self, t: datetime, text: str) -> None:
        self.lines.append((t, f"{t:%Y-%m-%d %H:%M:%S} {text}"))

    def submit(self, t, user, ip, rcpts, *, tls=True, for_=True, fates=None, subject="Hallo"):
        eid = self.eid()
        proto = "P=esmtpsa X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no" if tls else "P=esmtpa"
        tail = f" for {' '.join(rcpts)}" if for_ else ""
        self.add(
            t,
            f"{eid} <= {user} H=(pc) [{ip}]:4711 I=[192.0.2.10]:587 {proto} "
            f'A=dovecot_plain:{user} S=1234 id={eid}@{user.split("@")[1]} T="{subject}"{tail}',
        )
        for n, r in enumerate(rcpts):
            fate = (fates or {}).get(r, "=>")
            if fate == "**":
                self.add(
                    t,
                    f"{eid} ** {r} R=dnslookup T=remote_smtp H=mx [198.51.100.1]: 550 no such user",
                )
            elif fate == "==":
                self.add(t, f"{eid} == {r} R=dnslookup T=remote_smtp defer (-44): 451 greylisted")
            else:
                arrow = "=>" if n == 0 else "->"
                local = r.endswith("@gartenbau.example")
                how = (
                    "R=dovecot T=dovecot_lmtp"
                    if local
                    else "R=dnslookup T=remote_smtp H=mx [198.51.100.1]"
                )
                self.add(t, f'{eid} {arrow} {r} {how} C="250 OK"')
        if "==" not in (fates or {}).values():  # a deferred message stays on the queue
            self.add(t, f"{eid} Completed")
        return eid

    def refuse(self, t, user, ip):
        eid = self.eid()
        self.add(
            t,
            f"{eid} H=(pc) [{ip}]:4711 I=[192.0.2.10]:587 F=<{user}> A=dovecot_plain:{user} "
            "rejected after DATA: The E-Mail you sended has been blocked because it may "
            "contain SPAM",
        )
        return eid

    def failed_login(self, t, user, ip):
        self.add(
            t,
            f"dovecot_plain authenticator failed for (User) [{ip}]:5555 I=[192.0.2.10]:587: "
            f"535 Incorrect authentication data (set_id={user})",
        )

    def write(self, path: Path) -> Path:
        path.write_text(
            "\n".join(text for _, text in sorted(self.lines, key=lambda x: x[0])) + "\n"
        )
        return path


def scenario() -> Log:
    """A known day: one taken-over account, one ordinary customer, one without `for`."""
    log = Log()
    # Ten days ago: before the baseline period, must be ignored entirely.
    log.submit(NOW - timedelta(days=10), VICTIM, "203.0.113.66", ["x@gmail.example"])
    # Baseline (7 days before the 24-hour window): the usual client addresses.
    for d in range(2, 5):
        log.submit(NOW - timedelta(days=d), VICTIM, "198.51.100.7", ["kunde@web.example"])
        log.submit(NOW - timedelta(days=d), NORMAL, "198.51.100.8", [VICTIM])
        log.failed_login(NOW - timedelta(days=d), VICTIM, "203.0.113.1")  # before the window
    # The window: the victim's usual morning, then the takeover.
    t0 = NOW - timedelta(hours=5)
    log.submit(t0, VICTIM, "198.51.100.7", ["kunde@web.example", NORMAL])
    for k in range(12):
        log.failed_login(
            t0 + timedelta(minutes=30, seconds=k), VICTIM, ["203.0.113.1", "203.0.113.2"][k % 2]
        )
    burst = t0 + timedelta(hours=1)
    for k in range(40):  # 40 accepted, 3 recipients each, half without TLS, 4 minutes
        t = burst + timedelta(seconds=6 * k)
        rcpts = [f"r{k}{j}@{['gmail', 'web', 'gmx'][j]}.example" for j in range(3)]
        log.submit(
            t, VICTIM, ["192.0.2.201", "192.0.2.202"][k % 2], rcpts, tls=k % 2 == 0, subject="Win"
        )
        if k % 4 == 0:  # 10 refused
            log.refuse(t + timedelta(seconds=1), VICTIM, "192.0.2.201")
    # An ordinary customer: three messages, one to a colleague.
    for k in range(3):
        log.submit(
            NOW - timedelta(hours=3, minutes=k),
            NORMAL,
            "198.51.100.8",
            [VICTIM] if k == 0 else [f"b{k}@web.example"],
            fates={"b2@web.example": "**"},
        )
    # Failed logins before the account's first message in the window still count.
    log.failed_login(NOW - timedelta(hours=2, minutes=5), NOFOR, "203.0.113.3")
    log.failed_login(NOW - timedelta(hours=2, minutes=4), NOFOR, "203.0.113.3")
    # Without +received_recipients: recipients from the delivery lines (a deferral then
    # a delivery of the same address counts once).
    eid = log.submit(
        NOW - timedelta(hours=2),
        NOFOR,
        "198.51.100.9",
        ["p@web.example", "q@gmx.example"],
        for_=False,
        fates={"q@gmx.example": "=="},
    )
    log.add(
        NOW - timedelta(hours=1),
        f"{eid} => q@gmx.example R=dnslookup T=remote_smtp H=mx [198.51.100.1]",
    )
    log.add(NOW - timedelta(hours=1), f"{eid} Completed")
    # Password guessing across accounts.
    for k in range(30):
        log.failed_login(
            NOW - timedelta(minutes=50 - k), f"user{k}@gartenbau.example", "192.0.2.250"
        )
    # noise the reader must survive
    log.add(NOW - timedelta(hours=4), "SMTP connection from [192.0.2.1] lost")
    log.lines.append((NOW - timedelta(hours=4), "\x00\x01 binary junk"))
    return log


@pytest.fixture
def mainlog(tmp_path) -> Path:
    return scenario().write(tmp_path / "mainlog")


def test_the_taken_over_account_ranks_first_with_exact_counts(mainlog):
    report = analyze(expand([mainlog]), SendlogSettings(), now=NOW)
    assert [u.user for u in report.users] == [VICTIM, NORMAL, NOFOR]
    v = report.users[0].as_dict()
    assert v["messages"] == 51  # 41 accepted (the usual one and 40 in the burst), 10 refused
    assert (v["accepted"], v["rejected"], v["rejected_rcpt"]) == (41, 10, 0)
    assert v["recipients"] == 2 + 40 * 3
    assert v["recipient_domains"] == 4  # web, gmail, gmx, and the local domain
    assert v["external_share"] == round(121 / 122, 3)
    assert v["peak_5min"] == 50  # 40 + 10 within 4 minutes
    assert v["peak_5min_start"] == json_time(NOW - timedelta(hours=4))  # local -> UTC
    assert v["client_ips"][:2] == ["192.0.2.201", "192.0.2.202"]
    assert set(v["client_ips"]) == {"192.0.2.201", "192.0.2.202", "198.51.100.7"}
    assert v["new_client_ips"] == ["192.0.2.201", "192.0.2.202"]
    assert v["auth_failures"] == 12
    assert v["auth_failure_ips"] == {"203.0.113.1": 6, "203.0.113.2": 6}
    assert v["no_tls"] == round(20 / 41, 3)
    assert v["score"] >= 90
    assert v["reasons"] == [
        "50 messages in 5 minutes",
        "99% to external domains",
        "10 refused as spam",
        "from 2 client addresses never seen before",
        "12 failed logins from 2 addresses",
    ]
    # the junk line holds nothing the ranking needs: skipped, not "unreadable"
    assert report.unreadable == 0 and report.baseline_covered


def test_ordinary_senders_score_zero_and_local_domains_matter(mainlog):
    report = analyze(expand([mainlog]), SendlogSettings(), now=NOW)
    normal = report.user(NORMAL).as_dict()
    assert (normal["messages"], normal["recipients"], normal["score"], normal["reasons"]) == (
        3,
        3,
        0,
        [],
    )
    assert normal["external_share"] == round(2 / 3, 3)
    assert normal["new_client_ips"] == [] and normal["no_tls"] == 0.0
    assert report.local_domains_source == "log"
    # the database says which domains are local: none of these are then
    db = analyze(expand([mainlog]), SendlogSettings(), now=NOW, local_domains=["other.example"])
    assert db.user(NORMAL).external_share == 1.0 and db.local_domains_source == "database"


def test_recipients_from_delivery_lines_when_arrivals_lack_them(mainlog):
    report = analyze(expand([mainlog]), SendlogSettings(), now=NOW)
    nofor = report.user(NOFOR)
    assert (nofor.accepted, nofor.recipients) == (1, 2)
    assert (nofor.auth_failures, dict(nofor.auth_failure_ips)) == (2, {"203.0.113.3": 2})
    assert nofor.domain_counts == {"web.example": 1, "gmx.example": 1}


def test_password_guessing_across_accounts(mainlog):
    report = analyze(expand([mainlog]), SendlogSettings(), now=NOW)
    top = report.guessing_json()[0]
    assert (top["ip"], top["failures"], top["users"]) == ("192.0.2.250", 30, 30)
    assert top["first"] == json_time(NOW - timedelta(minutes=50))
    assert [g["ip"] for g in report.guessing_json()][1:] == [
        "203.0.113.1",
        "203.0.113.2",
        "203.0.113.3",
    ]


def test_the_window_and_thresholds_follow_the_settings(mainlog):
    # a 90-minute window sees only the ordinary senders and the guessing
    short = analyze(expand([mainlog]), SendlogSettings(), now=NOW, since=timedelta(minutes=190))
    assert {u.user for u in short.users} == {NORMAL, NOFOR}
    strict = SendlogSettings.from_dict({"peak_5min": 3, "messages": 3})
    report = analyze(expand([mainlog]), strict, now=NOW)
    normal = report.user(NORMAL)
    assert normal.score > 0 and str(normal.reasons[0]) == "3 messages in 5 minutes"


def test_without_earlier_log_no_address_is_called_new(tmp_path):
    log = Log()
    log.submit(NOW - timedelta(hours=1), VICTIM, "192.0.2.201", ["a@gmail.example"])
    report = analyze(expand([log.write(tmp_path / "m")]), SendlogSettings(), now=NOW)
    assert not report.baseline_covered and report.users[0].new_ips == []


def test_syslog_and_gzip_logs_give_the_same_answer(tmp_path, mainlog):
    plain = analyze(expand([mainlog]), SendlogSettings(), now=NOW).offenders_json()
    with gzip.open(tmp_path / "mainlog.gz", "wb") as f:
        f.write(mainlog.read_bytes())
    assert (
        analyze(expand([tmp_path / "mainlog.gz"]), SendlogSettings(), now=NOW).offenders_json()
        == plain
    )
    syslog = tmp_path / "syslog"
    out = []
    for line in mainlog.read_text().splitlines():
        if line[:4].isdigit():
            t = datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S")
            out.append(f"{t:%b} {t.day:2d} {t:%H:%M:%S} mx1 exim[4242]: {line[20:]}")
        else:
            out.append(line)
    syslog.write_text("\n".join(out) + "\n")
    assert analyze(expand([syslog]), SendlogSettings(), now=NOW).offenders_json() == plain


def test_settings_from_config_are_checked():
    s = SendlogSettings.from_dict(
        {"since": "2h", "baseline": "14d", "paths": "/x/mainlog*", "no_tls": 0.3}
    )
    assert s.since == timedelta(hours=2) and s.baseline == timedelta(days=14)
    assert s.paths == ("/x/mainlog*",) and s.no_tls == 0.3
    for bad in (
        {"since": "soon"},
        {"peak_5min": -1},
        {"no_tls": 2},
        {"nonsense": 1},
        {"paths": [1]},
        {"paths": []},
        {"since": "401d"},
        {"baseline": "1000000d"},
    ):
        with pytest.raises(ConfigError):
            SendlogSettings.from_dict(bad)
    # relative paths belong to the config file's folder, ~ to the operator's home
    rel = SendlogSettings.from_dict({"paths": ["logs/main*", "~/m", "/abs/m"]}, base=Path("/etc/h"))
    assert rel.paths == ("/etc/h/logs/main*", str(Path("~/m").expanduser()), "/abs/m")


def test_activity_and_recent_messages_for_one_user(mainlog):
    report = analyze(expand([mainlog]), SendlogSettings(), now=NOW)
    series = activity_series(report.users[0], NOW - timedelta(hours=24), NOW)
    assert len(series) == 289 and sum(c for _, c in series) == 51
    assert max(c for _, c in series) >= 25

    detail = user_detail(expand([mainlog]), NORMAL, start=NOW - timedelta(hours=24), end=NOW)
    assert sum(c for _, c in detail.activity) == 3
    fates = {m.recipients and next(iter(m.recipients)): m.fate for m in detail.messages}
    assert fates == {
        "b2@web.example": "bounced",
        "b1@web.example": "delivered",
        VICTIM.lower(): "delivered",
    }
    bounced = next(m for m in detail.messages if m.fate == "bounced").as_dict()
    assert bounced["recipients"] == [
        {"address": "b2@web.example", "fate": "bounced", "detail": "550 no such user"}
    ]
    nofor = user_messages(user_events(expand([mainlog]), NOFOR), NOFOR)
    assert [(r.address, r.fate) for r in nofor[0].recipients.values()] == [
        ("p@web.example", "delivered"),
        ("q@gmx.example", "delivered"),  # deferred first, delivered later
    ]
    victim = user_messages(user_events(expand([mainlog]), VICTIM), VICTIM, limit=5)
    assert len(victim) == 5 and victim[0].time >= victim[-1].time
    assert (
        sum(
            1
            for m in user_messages(user_events(expand([mainlog]), VICTIM), VICTIM, limit=100)
            if m.fate == "refused"
        )
        == 10
    )
    act = user_activity(
        user_events(expand([mainlog]), VICTIM), VICTIM, start=NOW - timedelta(hours=5), end=NOW
    )
    assert sum(c for _, c in act) == 51


def test_trail_by_exim_id_and_by_message_id(tmp_path):
    log = Log()
    eid = log.submit(NOW, NORMAL, "198.51.100.8", ["a@web.example", "b@gmx.example"])
    refused = log.refuse(NOW, VICTIM, "192.0.2.201")
    other = log.submit(NOW, NORMAL, "198.51.100.8", ["c@web.example"])
    path = log.write(tmp_path / "mainlog")
    lines = trail(expand([path]), eid)
    assert [t.line_no for t in lines] == [1, 2, 3, 4]
    assert lines[0].time == NOW and "<=" in lines[0].text and "Completed" in lines[-1].text
    by_mid = trail(expand([path]), f"<{eid}@gartenbau.example>")
    assert [t.line_no for t in by_mid] == [1, 2, 3, 4]
    rej = trail(expand([path]), refused)
    assert len(rej) == 1 and "rejected after DATA" in rej[0].text
    assert all(other not in t.text for t in lines)
    with pytest.raises(HelpdeskError):
        trail(expand([path]), "ab")


def test_reading_can_be_cancelled(mainlog):
    with pytest.raises(Cancelled):
        analyze(expand([mainlog]), SendlogSettings(), now=NOW, cancelled=lambda: True)


def _bench_module():
    path = Path(__file__).resolve().parent.parent / "bench" / "sendlog.py"
    spec = importlib.util.spec_from_file_location("bench_sendlog", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_log_ranks_its_victim_first(tmp_path):
    bench = _bench_module()
    path = tmp_path / "mainlog"
    truth = bench.generate(path, 3 << 20, seed=3, end=NOW, span=timedelta(days=3))
    end = datetime.fromisoformat(truth["end"])
    progress: list[tuple[int, int]] = []
    report = analyze(
        expand([path]), SendlogSettings(), now=end, since=timedelta(hours=24),
        progress=lambda done, total: progress.append((done, total)),
    )  # fmt: skip
    top = report.users[0]
    assert top.user == truth["victim"]
    assert (top.accepted, top.rejected) == (truth["victim_accepted"], truth["victim_refused"])
    assert top.recipients == truth["victim_recipients"]
    assert top.auth_failures == truth["victim_failed_logins"]
    assert top.new_ips == sorted(truth["burst_ips"])
    assert all(u.score < top.score for u in report.users[1:])
    assert progress[-1][0] == progress[-1][1] == path.stat().st_size
    guessing = {g.ip: g.failures for g in report.guessers}
    assert set(guessing) <= set(truth["guessing"])


def test_follow_mode_feeds_new_lines_into_the_analysis(tmp_path):
    from helpdesk.logs.files import Follower
    from helpdesk.sendlog.offenders import Analysis

    path = tmp_path / "mainlog"
    log = Log()
    log.submit(NOW - timedelta(hours=1), NORMAL, "198.51.100.8", ["a@web.example"])
    log.write(path)
    analysis = Analysis(SendlogSettings(), now=NOW)
    analysis.read(expand([path]))
    follow = Follower(path)
    assert follow.poll() == b""
    more = Log()
    more.seq = 100
    for k in range(3):
        more.refuse(NOW - timedelta(minutes=5 - k), NORMAL, "192.0.2.7")
    text = "\n".join(t for _, t in more.lines) + "\n"
    with open(path, "a") as f:
        f.write(text[:-20])  # Exim is still writing the last line
    analysis.feed(follow.poll())
    assert analysis.report().user(NORMAL).rejected == 2
    with open(path, "a") as f:
        f.write(text[-20:])
    analysis.feed(follow.poll())
    report = analysis.report()
    assert report.user(NORMAL).rejected == 3 and report.user(NORMAL).messages == 4
    # rotation: a new file at the same path is read from its start
    path.rename(tmp_path / "mainlog.1")
    more.lines = []
    more.refuse(NOW, NORMAL, "192.0.2.7")
    more.write(path)
    analysis.feed(follow.poll())
    assert analysis.report().user(NORMAL).rejected == 4
    # a line dated far ahead (a broken clock, or a forged line) is counted, not ranked
    before = analysis.report().unreadable
    with open(path, "a") as f:
        bad = Log()
        bad.seq = 200
        bad.refuse(datetime(9999, 12, 31, 23, 59, 59), NORMAL, "192.0.2.7")
        bad.refuse(NOW, NORMAL, "192.0.2.7")
        f.write("\n".join(t for _, t in bad.lines) + "\n")
    analysis.feed(follow.poll())
    report = analysis.report()
    assert report.user(NORMAL).rejected == 5 and report.unreadable == before + 1


def test_trail_by_message_id_finds_earlier_lines_in_the_chunk_before(tmp_path, monkeypatch):
    import helpdesk.logs.files

    monkeypatch.setattr(helpdesk.logs.files, "CHUNK", 256)
    eid = "1xAbCd-000042-Zz"
    lines = [
        f"2026-11-27 10:00:00 {eid} malware acl condition: clamd: unavailable",
        *[f"2026-11-27 10:00:00 1xAbCd-0001{k:02d}-Zz Completed" for k in range(4)],
        f"2026-11-27 10:00:01 {eid} <= a@x.example H=(pc) [192.0.2.1]:1 P=esmtpa "
        "A=plain:a@x.example S=1 id=unique-42@x.example",
        f"2026-11-27 10:00:02 {eid} Completed",
    ]
    path = tmp_path / "mainlog"
    path.write_text("\n".join(lines) + "\n")
    got = trail(expand([path]), "unique-42@x.example")
    assert [t.line_no for t in got] == [1, 6, 7]
