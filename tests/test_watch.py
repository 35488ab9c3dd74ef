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
        ({"score": 20}, "[watch] has no key score"),
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


def test_the_outbound_line_fits_80_columns():
    from helpdesk.sendlog.parser import parse_line
    from helpdesk.watch.picture import hourly_and_over, outbound_text

    now = datetime(2026, 11, 30, 10, 30)
    lines = [
        f"2026-11-30 {h:02d}:10:00 1xYAcW-0003Jf-{h:02d} <= anna@firma.test H=(pc) [10.0.0.5]:5000 "
        "P=esmtpsa A=sql_plain:anna@firma.test S=100 for kunde@example.net"
        for h in (5, 9, 9, 10)  # fmt: skip
    ]
    lines.append(LIMIT.format(m=20))
    events = [parse_line(line.encode()) for line in lines]
    counts, over = hourly_and_over(events, now)
    assert counts == [0, 0, 1, 0, 0, 0, 2, 1]  # hours ending at 10:30
    assert over == {"anna@firma.test"}
    last = ("bernd.mueller-sanitaer@firma-mit-langem-namen.example", now, "spam")
    text = str(outbound_text(counts, over, last))
    assert text.startswith("Out/h ") and "1 over limit" in text
    assert "stopped bernd.muel…n.example 30.11. 10:30" in text
    assert len(text) <= 80
    assert str(outbound_text([0] * 8, set(), None)).endswith("watch: no action yet")
