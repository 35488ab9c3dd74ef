"""Sending limits in the core and the CLI (issue 17): settings, wording, Exim's formula, and the
audited write on every database."""

from __future__ import annotations

import json
import math

import pytest

from helpdesk.config import Config
from helpdesk.errors import ConfigError
from helpdesk.limits.settings import LimitSettings, limit_settings
from helpdesk.limits.store import effective_limits, ensure_global_default
from helpdesk.limits.usage import parse_dump, smoothed_rate
from helpdesk.limits.wording import describe
from helpdesk.mailcenter.audit import read
from helpdesk.mailcenter.mailboxes import create_mailbox, get_mailbox
from tests.conftest import run_cli


@pytest.mark.parametrize(
    ("section", "error"),
    [
        ({"messages_per_hour": -1}, "[limits] messages_per_hour must be a whole number"),
        ({"recipients_per_hour": "many"}, "[limits] recipients_per_hour must be a whole number"),
        ({"recipients_per_message": True}, "[limits] recipients_per_message must be a whole"),
        ({"over_limit": "bounce"}, '[limits] over_limit must be "refuse" or "defer"'),
        ({"messages": 10}, "[limits] has no key messages"),
        ({"exim_spool": ""}, "[limits] exim_spool must be a path"),
    ],
)
def test_settings_are_checked_with_one_line(section, error):
    with pytest.raises(ConfigError) as caught:
        limit_settings(Config(None, {"limits": section}))
    assert str(caught.value).startswith(error)
    assert "\n" not in str(caught.value)


def test_settings_have_defaults():
    settings = limit_settings(Config(None, {}))
    assert settings == LimitSettings()
    assert settings.over_limit == "refuse" and settings.messages_per_hour > 0


def test_the_limit_is_said_as_exim_applies_it():
    assert str(describe("messages_per_hour", 10)) == (
        "a burst of 10 messages, then about 10 per hour"
    )
    assert str(describe("recipients_per_message", 50)) == "at most 50 recipients per message"
    assert str(describe("recipients_per_hour", 0)) == "no limit"


def test_exims_formula_a_burst_adds_one_each_and_an_hour_decays_by_e():
    burst = [(1000.0 + i * 0.01, 1) for i in range(10)]
    assert smoothed_rate(burst) == pytest.approx(10, abs=0.01)
    later = smoothed_rate([*burst, (1000.0 + 3600 * 5, 1)])
    # Five hours later one message: mostly the new event, the old burst almost gone.
    assert later == pytest.approx(10 * math.exp(-5) + (1 - math.exp(-5)) / 5, rel=1e-4)
    assert smoothed_rate([]) is None


def test_exim_dumpdb_output_is_read_per_key():
    text = (
        "30-Nov-2026 23:11:35.581711 rate:      3.000 key: 1h/per_mail/msg:anna@example.org\n"
        "30-Nov-2026 23:11:36.000001 rate:     12.500 key: 1h/per_rcpt/rcpt:anna@example.org\n"
        "30-Nov-2026 23:11:36.000001 rate:      1.000 key: 1h/per_conn/10.0.0.1\n"
    )
    rates = parse_dump(text)
    assert rates[("msg", "anna@example.org")][0] == 3.0
    assert rates[("rcpt", "anna@example.org")][0] == 12.5
    assert len(rates) == 2


def test_global_default_is_written_once_and_resolved_last(db):
    with db.begin() as conn:
        create_mailbox(conn, "anna@firma.test")
        assert ensure_global_default(conn, LimitSettings(messages_per_hour=50))
        assert not ensure_global_default(conn, LimitSettings(messages_per_hour=99))
        effective = effective_limits(conn, get_mailbox(conn, "anna@firma.test"))
    assert (effective["messages_per_hour"].value, effective["messages_per_hour"].source) == (
        50,
        "global",
    )


def test_set_and_show_through_the_cli_with_ticket_and_audit(db, config_file):
    with db.begin() as conn:
        create_mailbox(conn, "anna@firma.test")
        create_mailbox(conn, "bernd@firma.test")
    out = run_cli(
        "limits", "set", "@firma.test", "--messages", "30", "--ticket", "T-1", config=config_file
    )
    assert out.returncode == 0, out.stderr
    out = run_cli(
        "limits", "set", "ANNA@firma.test", "--messages", "10", "--over", "defer",
        "--ticket", "T-2", "--reason", "Kunde verlangt", config=config_file,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr

    shown = json.loads(
        run_cli("limits", "show", "anna@firma.test", "--json", config=config_file).stdout
    )
    assert shown["limits"]["messages_per_hour"]["value"] == 10
    assert shown["over_limit"] == {"value": "defer", "source": "mailbox"}
    other = run_cli("limits", "show", "bernd@firma.test", config=config_file).stdout
    assert "a burst of 30 messages, then about 30 per hour (the domain's default)" in other
    out = run_cli(
        "limits", "set", "global", "--per-message", "40", "--ticket", "T-4", config=config_file
    )
    assert out.returncode == 0, out.stderr
    other = run_cli("limits", "show", "bernd@firma.test", config=config_file).stdout
    assert "at most 40 recipients per message (the global default)" in other

    with db.connect() as conn:
        (entry,) = read(conn, target="anna@firma.test", action="limits")
    assert (entry.ticket, entry.reason) == ("T-2", "Kunde verlangt")
    assert entry.before == {"messages_per_hour": None, "over_limit": None}
    assert entry.after == {"messages_per_hour": 10, "over_limit": "defer"}


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--messages", "10", "--ticket", "chmidt"], "does not look like a ticket reference"),
        (["--messages", "-5", "--ticket", "T-3"], "must be a whole number from 0"),
        (["--ticket", "T-3"], "no limit given; nothing changed"),
        (["--messages", "1", "--ticket", "T-3"], "1 per hour would refuse every message"),
        (["--messages", "zehn", "--ticket", "T-3"], "is not a whole number or 'inherit'"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(db, config_file, args, error):
    with db.begin() as conn:
        create_mailbox(conn, "anna@firma.test")
    out = run_cli("limits", "set", "anna@firma.test", *args, config=config_file)
    assert out.returncode != 0
    assert error in out.stderr.splitlines()[-1]  # argparse shows its usage lines first
    with db.connect() as conn:
        assert read(conn, target="anna@firma.test") == []
        assert (
            effective_limits(conn, get_mailbox(conn, "anna@firma.test"))["messages_per_hour"].source
            == "none"
        )
