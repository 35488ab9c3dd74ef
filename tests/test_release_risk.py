"""What the release dialog says about the account, from a send-log result the helpdesk has."""

from __future__ import annotations

from datetime import datetime, timedelta

from helpdesk.rspamd.release_risk import takeover_note
from helpdesk.sendlog.report import Report, UserStats


def _report(stats: list[UserStats], baseline_days: int) -> Report:
    end = datetime(2026, 11, 30, 12, 0)
    start = end - timedelta(hours=24)
    return Report(
        start=start,
        end=end,
        baseline_start=start - timedelta(days=baseline_days),
        users=stats,
        guessers=[],
        lines=0,
        unreadable=0,
        too_long=0,
        files=[],
        broken_files=[],
        local_domains_source="",
        baseline_covered=True,
    )


def test_without_a_send_log_result_the_dialog_says_so():
    note = takeover_note(None, "anna@firma.test")
    assert not note.has_data and not note.warn
    assert "unknown" in str(note.lines[0]) and "F6" in str(note.lines[0])


def test_a_suspicious_account_is_a_warning_with_its_reasons():
    bad = UserStats(user="anna@firma.test", score=60, reasons=["412 messages in 5 minutes"])
    note = takeover_note(_report([bad], 30), "Anna@Firma.test")
    assert note.warn and "412 messages in 5 minutes" in str(note.lines[0])


def test_new_client_addresses_count_only_against_30_days():
    stats = UserStats(user="anna@firma.test", new_ips=["198.51.100.7"])
    month = takeover_note(_report([stats], 30), "anna@firma.test")
    assert month.warn and "not seen in 30 days" in str(month.lines[0])
    week = takeover_note(_report([stats], 7), "anna@firma.test")
    assert not week.warn and "previous 7 days" in str(week.lines[0])
    assert "198.51.100.7" in str(week.lines[0])


def test_a_quiet_account_and_an_absent_one():
    quiet = takeover_note(_report([UserStats(user="anna@firma.test")], 30), "anna@firma.test")
    assert not quiet.warn and "nothing unusual" in str(quiet.lines[0])
    absent = takeover_note(_report([], 30), "anna@firma.test")
    assert not absent.warn and "no mail from this account" in str(absent.lines[0])


def test_the_watchers_suspension_in_the_previous_30_days_is_a_warning():
    from helpdesk.rspamd.release_risk import WatcherSuspension

    now = datetime(2026, 11, 30, 12, 0)
    reason = "helpdesk watch: 3 messages refused by the sending limits within 10 minutes"
    recent = WatcherSuspension(now - timedelta(days=29), reason)
    note = takeover_note(None, "anna@firma.test", recent, now=now)
    assert note.warn and not note.has_data  # the send log was not read: still said
    assert "automatic watcher suspended this account" in str(note.lines[0])
    assert reason in str(note.lines[0]) and "unknown" in str(note.lines[1])
    quiet = _report([UserStats(user="anna@firma.test")], 30)
    assert takeover_note(quiet, "anna@firma.test", recent, now=now).warn
    old = WatcherSuspension(now - timedelta(days=31), reason)
    assert not takeover_note(quiet, "anna@firma.test", old, now=now).warn
