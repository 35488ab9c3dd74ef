"""The watcher's policy without the stack (issue 17, item 3): settings with one-line errors,
what counts as a hit, distinct messages, windows by the log's own times, the allow-list."""

from __future__ import annotations

from datetime import datetime

import pytest

from helpdesk.config import Config
from helpdesk.errors import ConfigError
from helpdesk.watch.evidence import Hit, Tracker, hit_of
from helpdesk.watch.settings import WatchSettings, watch_settings

SPAM = (
    "2026-11-30 10:{m:02d}:00 1xY-000 H=(pc) [10.0.0.5]:5000 I=[127.0.0.1]:587 "
    "F=<anna@firma.test> A=sql_plain:anna@firma.test rejected after DATA: blocked. -- "
    'digest={digest} release=none id="<{mid}@pc>" T="Rechnung"'
)
LIMIT = (
    "2026-11-30 10:{m:02d}:00 H=(pc) [10.0.0.5]:5001 I=[127.0.0.1]:587 rejected DATA: "
    "helpdesk limit: 10 messages per hour A=anna@firma.test action=refuse rcpts=1"
)


@pytest.mark.parametrize(
    ("section", "error"),
    [
        ({"spam_messages": 0}, "[watch] spam_messages must be a whole number from 1 to"),
        ({"limit_minutes": "10"}, "[watch] limit_minutes must be a whole number from 1 to"),
        ({"ticket": "AUTO watch!"}, "[watch] ticket must be 1 to 64 letters"),
        ({"allow": "news@firma.test"}, "[watch] allow must be a list of addresses or @domains"),
        ({"allow": ["not an address"]}, "[watch] allow must be a list of addresses or @domains"),
        ({"notify": "support"}, "[watch] notify must be one mail address"),
        ({"sendmail": "/usr/sbin/sendmail -t"}, "[watch] sendmail must be a command as a list"),
        ({"poll_seconds": 0}, "[watch] poll_seconds must be a number from 0.05 to 60"),
        ({"score": 101}, "[watch] score must be a whole number from 0 to 100"),
        ({"threshold": 20}, "[watch] has no key threshold"),
    ],
)
def test_settings_are_checked_with_one_line(section, error):
    with pytest.raises(ConfigError) as caught:
        watch_settings(Config(None, {"watch": section}))
    assert str(caught.value).startswith(error) and "\n" not in str(caught.value)


def test_defaults_and_the_allow_list():
    assert watch_settings(Config(None, {})) == WatchSettings()
    assert WatchSettings().ticket == "AUTO-watch"
    settings = watch_settings(
        Config(None, {"watch": {"allow": ["News@Hoster.example", "@newsletter.example"]}})
    )
    assert settings.allowed("news@hoster.example")
    assert settings.allowed("any@newsletter.example")
    assert not settings.allowed("anna@hoster.example")


def test_hits_are_read_from_spam_and_limit_refusals_only():
    spam = hit_of(SPAM.format(m=1, digest="a" * 32, mid="m1").encode())
    assert (spam.kind, spam.address, spam.key) == ("spam", "anna@firma.test", "a" * 32)
    no_digest = hit_of(SPAM.format(m=1, digest="-", mid="m1").encode())
    assert no_digest.key == "<m1@pc>"
    limit = hit_of(LIMIT.format(m=1).encode())
    assert (limit.kind, limit.address, limit.key) == (
        "limit",
        "anna@firma.test",
        "10 messages per hour",
    )
    assert hit_of((LIMIT.format(m=1) + " via=forward").encode()) is None
    arrival = b"2026-11-30 10:01:00 1xY-000 <= anna@firma.test A=sql_plain:anna@firma.test"
    assert hit_of(arrival) is None
    assert hit_of(b"garbage rejected \xff") is None


def _spam(minute: int, digest: str) -> Hit:
    return hit_of(SPAM.format(m=minute, digest=digest * 32, mid=digest).encode())


def test_retries_of_one_message_count_once():
    tracker = Tracker(WatchSettings(spam_messages=3, spam_minutes=10))
    assert all(tracker.add(_spam(1, "a")) is None for _ in range(10))
    assert tracker.add(_spam(2, "b")) is None
    crossing = tracker.add(_spam(3, "c"))
    assert crossing is not None and len(crossing.evidence) == 3
    assert str(crossing.reason) == "3 distinct messages refused as spam within 10 minutes"


def test_the_window_is_the_logs_own_time():
    tracker = Tracker(WatchSettings(spam_messages=3, spam_minutes=10))
    assert tracker.add(_spam(1, "a")) is None
    assert tracker.add(_spam(2, "b")) is None
    assert tracker.add(_spam(30, "c")) is None  # the first two are older than 10 minutes
    assert tracker.add(_spam(31, "d")) is None
    assert tracker.add(_spam(32, "e")) is not None


def test_limit_hits_each_count():
    tracker = Tracker(WatchSettings(limit_hits=3, limit_minutes=10))
    hits = [hit_of(LIMIT.format(m=m).encode()) for m in (1, 2, 3)]
    assert [tracker.add(h) is not None for h in hits] == [False, False, True]
    assert hits[0].time == datetime(2026, 11, 30, 10, 1)


def _lines(address: str, start: int, count: int, minute: int = 1) -> bytes:
    now = datetime.now().replace(microsecond=0)
    text = "".join(
        SPAM.format(m=minute, digest=f"{i:032x}", mid=f"m{i}")
        .replace("2026-11-30 10:01:00", now.isoformat(sep=" "))
        .replace("anna@firma.test", address)
        + "\n"
        for i in range(start, start + count)
    )
    return text.encode()


def test_rotation_restart_and_a_second_watcher_never_act_twice(db, tmp_path):
    from helpdesk.mailcenter.audit import Operator, read
    from helpdesk.mailcenter.mailboxes import create_mailbox, get_mailbox
    from helpdesk.watch.runner import Watcher

    with db.begin() as conn:
        create_mailbox(conn, "anna@firma.test")
        create_mailbox(conn, "bernd@firma.test")
        create_mailbox(conn, "old@firma.test")
    log = tmp_path / "mainlog"
    log.write_bytes(_lines("old@firma.test", 0, 10))  # before the watcher: never acted on
    settings = WatchSettings(spam_messages=3)
    operator = Operator(user="watcher", client_addr=None)
    events: list[str] = []

    def watcher() -> Watcher:
        return Watcher(
            db, settings, [str(log)], operator=operator, report=lambda e: events.append(e.kind)
        )

    first, second = watcher(), watcher()
    first.poll(), second.poll()
    with log.open("ab") as f:
        f.write(_lines("anna@firma.test", 0, 3))
    first.poll()
    second.poll()  # the same lines: the account is suspended already
    assert events.count("suspended") == 1

    log.rename(tmp_path / "mainlog.1")  # rotated: the new file is read from its start
    log.write_bytes(_lines("bernd@firma.test", 10, 3))
    third = watcher()
    third.poll()
    assert events.count("suspended") == 2
    with db.connect() as conn:
        assert not get_mailbox(conn, "bernd@firma.test").smtp_enabled
        assert [e.ticket for e in read(conn, action="suspend")] == ["AUTO-watch", "AUTO-watch"]
        assert read(conn, target="old@firma.test") == []
    watcher().poll()  # a restart: resumes at the kept position
    assert events.count("suspended") == 2


def _arrivals(address: str, count: int) -> bytes:
    now = datetime.now().replace(microsecond=0).isoformat(sep=" ")
    return "".join(
        f"{now} 1xYAcW-0003Jf-{i % 100:02d} <= {address} H=(pc) [203.0.113.{i % 50}]:5000 "
        f'I=[127.0.0.1]:587 P=esmtpa A=sql_plain:{address} S=100 T="Offer" '
        f"for x{i}@dom{i}.example\n"
        for i in range(count)
    ).encode()


def test_the_offender_score_line_and_an_operators_reinstatement(db, tmp_path):
    from helpdesk.mailcenter.audit import Operator, read
    from helpdesk.mailcenter.mailboxes import create_mailbox, get_mailbox, set_sending
    from helpdesk.watch.runner import Watcher

    with db.begin() as conn:
        for name in ("anna", "bernd", "carla"):
            create_mailbox(conn, f"{name}@firma.test")
    log = tmp_path / "mainlog"
    log.write_bytes(b"")
    operator = Operator(user="watcher", client_addr=None)
    events: list[str] = []

    def watcher(score: int) -> Watcher:
        settings = WatchSettings(score=score)
        return Watcher(
            db, settings, [str(log)], operator=operator, report=lambda e: events.append(e.kind)
        )

    off = watcher(0)
    on = watcher(60)
    off.poll(), on.poll()
    with log.open("ab") as f:
        f.write(_arrivals("anna@firma.test", 300) + _arrivals("bernd@firma.test", 3))
        f.write(_arrivals("carla@firma.test", 300))
    # An operator stopped carla by hand, reset the password and reinstated her meanwhile:
    # she has seen this evidence, so the watcher leaves carla alone.
    for allowed in (False, True):
        with db.begin() as conn:
            set_sending(
                conn, get_mailbox(conn, "carla@firma.test"), allowed,
                ticket="T-9", reason="by hand", operator=Operator("op", None),
            )  # fmt: skip
    off.poll()
    assert events.count("suspended") == 0  # the score line is off by default
    on.poll()
    assert events.count("suspended") == 1
    with db.connect() as conn:
        assert get_mailbox(conn, "bernd@firma.test").smtp_enabled
        assert get_mailbox(conn, "carla@firma.test").smtp_enabled
        (entry,) = read(conn, target="anna@firma.test")
    assert entry.reason.startswith("helpdesk watch: offender score 100 (the line is 60)")
