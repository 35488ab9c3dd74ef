"""The outbound picture's core (issue 17, item 5): messages per hour and the accounts over a
sending limit from the send-log ranking's one read (also read in parallel parts), the watcher's
actions from the audit rows it writes (on all three databases), and the line in 80 columns."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from helpdesk.i18n import M, set_language
from helpdesk.logs.files import expand
from helpdesk.mailcenter.audit import Operator
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import (
    create_domain,
    create_mailbox,
    get_mailbox,
    set_sending,
)
from helpdesk.sendlog.offenders import Analysis, analyze
from helpdesk.sendlog.parallel import LogWorkers, read_parallel
from helpdesk.sendlog.settings import SendlogSettings
from helpdesk.watch import store
from helpdesk.watch.evidence import Crossing, hit_of
from helpdesk.watch.picture import (
    LogPicture,
    OverLimit,
    WatchAction,
    evidence_summary,
    limit_text,
    log_picture,
    outbound_text,
    sparkline,
    watch_actions,
)

NOW = datetime(2026, 11, 30, 14, 2, 30)
ANNA = "anna@firma.test"
BERT = "bert@firma.test"
CARL = "carl@firma.test"


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def arrival(t: datetime, user: str, seq: int) -> str:
    return (
        f"{stamp(t)} 1xOut{seq % 10}-{seq:06d}-Ab <= {user} H=(pc) [10.0.0.5]:4711 "
        f"I=[127.0.0.1]:587 P=esmtpsa X=TLS1.3:TLS_AES_256_GCM_SHA384:256 A=sql_plain:{user} "
        f'S=1234 id=m{seq}@firma.test T="Angebot {seq}" for kunde{seq}@example.org'
    )


def limit_refusal(t: datetime, user: str, limit: str = "10 messages per hour") -> str:
    # As the stack's Exim writes it: the predata ACL's log_message names the account.
    return (
        f"{stamp(t)} H=(pc) [10.0.0.5]:5001 I=[127.0.0.1]:587 rejected DATA: "
        f"helpdesk limit: {limit} A={user} action=refuse rcpts=1"
    )


def write_log(path: Path) -> Path:
    lines, seq = [], 0
    # 6 hours ago: 2 messages; 3 hours ago: 5; in the last hour: 12 (anna's burst).
    for ago, user, count in (
        (timedelta(hours=6, minutes=10), BERT, 2),
        (timedelta(hours=3), BERT, 5),
    ):
        for _ in range(count):
            seq += 1
            lines.append(arrival(NOW - ago, user, seq))
    for i in range(12):
        seq += 1
        lines.append(arrival(NOW - timedelta(minutes=40 - i), ANNA, seq))
    # carl was over his recipient limit 3 hours ago: not over it now.
    lines.append(limit_refusal(NOW - timedelta(hours=3), CARL, "2 recipients per hour"))
    # anna's refusals: a stretch from 25 minutes ago, each less than an hour after the last.
    for minutes in (25, 20, 5):
        lines.append(limit_refusal(NOW - timedelta(minutes=minutes), ANNA))
    lines.sort()
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_hours_and_the_accounts_over_a_limit_come_from_the_ranking(tmp_path):
    log = write_log(tmp_path / "mainlog")
    report = analyze(expand([str(log)]), SendlogSettings(), now=NOW)
    picture = log_picture(report)
    assert [h.messages for h in picture.hours] == [0, 2, 0, 0, 5, 0, 0, 12]
    assert picture.hours[-1].end > NOW >= picture.hours[-1].start
    assert picture.hours[-1].end - picture.hours[0].start == timedelta(hours=8)
    assert picture.over == [
        OverLimit(
            ANNA,
            "10 messages per hour",
            NOW - timedelta(minutes=25),
            NOW - timedelta(minutes=5),
            3,
        )
    ]
    # The limit refusals are not counted as messages; one alone is below the score's threshold.
    carl = report.user(CARL)
    assert (carl.messages, carl.limit_refused, carl.score) == (0, 1, 0)


def test_a_follow_mode_moves_the_hours_on(tmp_path):
    """Lines fed after the read count in the hour that ends with the follow tick."""
    log = write_log(tmp_path / "mainlog")
    analysis = Analysis(SendlogSettings(), now=NOW)
    analysis.read(expand([str(log)]))
    later = NOW + timedelta(minutes=50)
    analysis.feed((arrival(later, BERT, 99) + "\n").encode())
    picture = log_picture(analysis.report(), now=later)
    assert [h.messages for h in picture.hours][-2:] == [12, 1]
    assert picture.hours[-1].start <= later < picture.hours[-1].end
    # anna's last refusal was 55 minutes before: over the limit still.
    assert [o.address for o in picture.over] == [ANNA]
    gone = log_picture(analysis.report(), now=NOW + timedelta(minutes=70))
    assert gone.over == []


def test_a_window_shorter_than_the_sparkline_shows_only_its_hours(tmp_path):
    log = write_log(tmp_path / "mainlog")
    report = analyze(expand([str(log)]), SendlogSettings(), now=NOW, since=timedelta(hours=2))
    assert [h.messages for h in log_picture(report).hours] == [0, 12]


def test_a_parallel_read_finds_the_same_stretches(tmp_path):
    """Borders between the parts fall inside anna's stretch: it is still one."""
    log = write_log(tmp_path / "mainlog")
    files = expand([str(log)])
    single = analyze(files, SendlogSettings(), now=NOW).limit_hits
    pool = LogWorkers(2, parts=7, min_bytes=0)
    try:
        analysis = Analysis(SendlogSettings(), now=NOW)
        assert read_parallel(analysis, files, pool)
    finally:
        pool.stop()
    assert analysis.report().limit_hits == single
    assert single[ANNA][3] == 3 and single[CARL][0] == "2 recipients per hour"


def test_the_watchers_actions_are_its_audit_rows(db: Database):
    with db.begin() as conn:
        create_domain(conn, "firma.test")
        create_mailbox(conn, ANNA)
        create_mailbox(conn, BERT)
    spam = (
        "2026-11-30 10:{m:02d}:00 1xY-000 H=(pc) [10.0.0.5]:5000 I=[127.0.0.1]:587 "
        "F=<anna@firma.test> A=sql_plain:anna@firma.test rejected after DATA: blocked. -- "
        'digest={d} release=none id="<{d}@pc>" T="Rechnung"'
    )
    hits = tuple(hit_of(spam.format(m=m, d=str(m) * 32).encode()) for m in (1, 2, 3))
    hits += (hit_of(limit_refusal(datetime(2026, 11, 30, 10, 4), ANNA).encode()),)
    operator = Operator(user="helpdesk-watch", client_addr=None)
    crossing = Crossing(ANNA, M("4 refused messages in 10 minutes"), hits)
    assert store.suspend(db, crossing, ticket="AUTO-watch", operator=operator) is not None
    # An operator's suspension is not the watcher's.
    with db.begin() as conn:
        bert = get_mailbox(conn, BERT)
        set_sending(conn, bert, False, ticket="T-1", reason="spam", operator=operator)
    with db.connect() as conn:
        [action] = watch_actions(conn)
    assert (action.address, action.ticket) == (ANNA, "AUTO-watch")
    assert action.reason == "4 refused messages in 10 minutes"
    assert [e["kind"] for e in action.evidence] == ["spam", "spam", "spam", "limit"]
    assert [t.english() for t in evidence_summary(action.evidence)] == [
        "3 spam refusals",
        "1 limit refusal",
    ]


def test_limits_and_evidence_in_words():
    assert limit_text("10 messages per hour").english() == "10 msgs/h"
    assert limit_text("2 recipients per hour").english() == "2 rcpts/h"
    assert limit_text("100 recipients per message").english() == "100 rcpts/msg"
    assert limit_text("odd\x1b[2J") == "odd\\x1b[2J"
    assert [t.english() for t in evidence_summary([])] == ["no evidence stored"]
    assert sparkline([0, 0]) == "▁▁" and sparkline([1, 8, 4]) == "▁█▄"


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_line_fits_80_columns(language):
    from helpdesk.watch.picture import Hour

    hours = [Hour(NOW, NOW, n) for n in (0, 5, 120, 4000, 90000, 12, 3, 123456)]
    over = [OverLimit(f"a{i}@firma.test", "10 messages per hour", NOW, NOW, 1) for i in range(123)]
    last = WatchAction(
        datetime(2026, 11, 30, 13, 2), "sehr.langer.name.der.buchhaltung@firma.test", "AUTO", "", []
    )
    set_language(language)
    try:
        text = str(outbound_text(LogPicture(hours, over), last))
        quiet = str(outbound_text(LogPicture(hours[:1], []), None))
    finally:
        set_language("en")
    # The widget has one column of padding on either side.
    assert len(text) <= 78 and len(quiet) <= 78, text
    assert "sehr.la…a.test" in text and "123" in text
