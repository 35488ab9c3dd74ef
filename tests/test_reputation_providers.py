"""The big providers' refusals, counted from a mainlog with real-shaped block replies."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from helpdesk.i18n import set_language
from helpdesk.reputation.providers import explain, provider_of
from helpdesk.reputation.refusals import count_refusals, reply_of
from tests.conftest import run_cli
from tests.hostile import VALUES, assert_clean

DATA = Path(__file__).parent / "data" / "reputation"
MAINLOG = DATA / "mainlog"
# The sample's lines are from 08:40 to 10:40; the last hour seen from 10:50 starts at 09:50.
NOW = datetime(2026, 11, 30, 10, 50)


def shifted_log(target: Path, now: datetime, source: Path = MAINLOG) -> Path:
    """The sample with every time moved so that NOW becomes `now` (for the command, which
    counts the hour before the real now)."""
    delta = now - NOW
    out = []
    for line in source.read_text().splitlines():
        when = datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S") + delta
        out.append(when.strftime("%Y-%m-%d %H:%M:%S") + line[19:])
    target.write_text("\n".join(out) + "\n")
    return target


def by_name(refusals) -> dict:
    return {p.name: p for p in refusals.providers}


def test_each_provider_counts_its_blocked_deliveries_once():
    found = by_name(count_refusals([str(MAINLOG)], now=NOW))
    ms = found["Microsoft"]
    # kunde@hotmail.com delivered; anna (S3150) and tom (S3140) refused; info@kunde-xyz.de
    # (Microsoft 365, known by its MX) deferred and then delivered; m.keller deferred twice.
    assert (ms.deliveries, ms.delivered, ms.refused, ms.deferred) == (5, 2, 2, 1)
    assert round(ms.share * 100) == 60
    assert dict(ms.codes) == {"S3150": 1, "S3140": 1, "4.7.650": 1, "RP-001": 2}
    google = found["Google"]
    # the full mailbox (5.2.2) is not a block; the 4.7.28 deferral twice is one delivery
    assert (google.deliveries, google.refused, google.deferred) == (4, 1, 1)
    assert dict(google.codes) == {"5.7.1": 1, "4.7.28": 2}
    assert dict(found["GMX/web.de"].codes) == {"r0201": 1}
    assert found["GMX/web.de"].deliveries == 2  # the captured copy to s1@gmx.de met no server
    assert dict(found["T-Online"].codes) == {"BL": 1}
    # the refusal at 08:40 is outside the hour; mueller-bau.de is no big provider
    assert "old.refusal" not in json.dumps([p.as_json() for p in found.values()])
    assert set(found) == {"Microsoft", "Google", "GMX/web.de", "T-Online"}


def test_the_worst_provider_comes_first():
    names = [p.name for p in count_refusals([str(MAINLOG)], now=NOW).providers]
    assert names[0] == "T-Online"
    assert names[1] == "Microsoft"


def test_codes_are_explained():
    ms = by_name(count_refusals([str(MAINLOG)], now=NOW))["Microsoft"]
    assert "Microsoft's own block list" in ms.meanings["S3150"].english()
    assert "reputation" in ms.meanings["4.7.650"].english()
    google = by_name(count_refusals([str(MAINLOG)], now=NOW))["Google"]
    assert "likely spam" in google.meanings["5.7.1"].english()
    assert "unusual rate of spam" in google.meanings["4.7.28"].english()


@pytest.mark.parametrize(
    ("host", "domain", "expected"),
    [
        ("kundexyz-de01i.mail.protection.outlook.com", "kunde-xyz.de", "microsoft"),
        (None, "hotmail.co.uk", "microsoft"),
        (None, "outlook.de", "microsoft"),
        ("aspmx.l.google.com", "firma.de", "google"),
        (None, "gmx.at", "united-internet"),
        ("mx00.t-online.de", "x.de", "t-online"),
        (None, "magenta.de", "t-online"),
        (None, "mueller-bau.de", None),
        ("mx.notoutlook.com.evil.example", "x.de", None),
    ],
)
def test_providers_are_known_by_their_mx_or_the_recipient_domain(host, domain, expected):
    found = provider_of(host, domain)
    assert (found.key if found else None) == expected


def test_a_reply_about_the_recipient_is_not_a_block():
    assert explain("google", "552-5.2.2 The recipient's inbox is out of storage space") is None
    assert explain("microsoft", "550 5.1.10 RESOLVER.ADR.RecipientNotFound; not found") is None
    assert (
        explain(
            "microsoft",
            "550 5.7.1 Service unavailable, Client host [192.0.2.10] blocked using Spamhaus",
        ).code
        == "Spamhaus"
    )


def test_the_reply_is_taken_after_exims_own_words():
    reason = (
        "SMTP error from remote mail server after RCPT TO:<a@live.com>: 421 RP-001 (BAY004) "
        "Unfortunately, some messages from 192.0.2.10 weren't sent."
    )
    assert reply_of(reason).startswith("421 RP-001")
    assert reply_of("retry timeout exceeded") is None


def test_the_command_shows_the_refusals_of_the_last_hour(tmp_path):
    log = shifted_log(tmp_path / "mainlog", datetime.now().replace(microsecond=0))
    config = tmp_path / "helpdesk.toml"
    config.write_text(f'[sendlog]\npaths = ["{log}"]\n')
    out = run_cli("reputation", config=config)
    assert out.returncode == 0, out.stderr
    assert "no outbound addresses configured" in out.stdout
    ms = next(line for line in out.stdout.splitlines() if line.strip().startswith("Microsoft"))
    assert "3 of 5 deliveries blocked (60%): 2 refused, 1 deferred" in ms
    assert re.search(r"S3150 ×1: Microsoft's own block list", out.stdout)
    assert "T-Online" in out.stdout and "BL ×1" in out.stdout
    data = json.loads(run_cli("reputation", "--json", config=config).stdout)
    google = next(p for p in data["refusals"]["providers"] if p["provider"] == "google")
    assert (google["refused"], google["deferred"], google["deliveries"]) == (1, 1, 4)
    assert google["codes"][0]["meaning_message"]["id"]


def test_the_command_speaks_german(tmp_path):
    log = shifted_log(tmp_path / "mainlog", datetime.now().replace(microsecond=0))
    config = tmp_path / "helpdesk.toml"
    config.write_text(f'[sendlog]\npaths = ["{log}"]\n')
    out = run_cli("--ui-language", "de", "reputation", config=config)
    assert out.returncode == 0, out.stderr
    assert "3 von 5 Zustellungen blockiert (60 %)" in out.stdout
    assert "Microsofts eigene Sperrliste" in out.stdout
    set_language("en")


def test_a_log_that_cannot_be_read_is_one_line(tmp_path):
    config = tmp_path / "helpdesk.toml"
    config.write_text(f'[sendlog]\npaths = ["{tmp_path / "nothing-here"}"]\n')
    out = run_cli("reputation", config=config)
    assert out.returncode == 0
    assert out.stderr.strip().splitlines() == [
        f"warning: provider refusals not read: log file not found: {tmp_path / 'nothing-here'}"
    ]


@pytest.mark.parametrize("name", sorted(VALUES))
def test_hostile_replies_reach_the_operator_as_text(tmp_path, name):
    value = VALUES[name]
    now = datetime.now().replace(microsecond=0) - timedelta(minutes=5)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S")
    line = (
        f"{stamp} 1tHZZZ-000ZZZ-Zz ** evil@outlook.com R=dnslookup T=remote_smtp "
        "H=outlook-com.olc.protection.outlook.com [52.101.8.44]: SMTP error from remote mail "
        f"server after RCPT TO:<evil@outlook.com>: 550 5.7.1 {value} block list (S3150) {value}"
    )
    log = tmp_path / "mainlog"
    log.write_bytes(line.encode("utf-8", "surrogateescape") + b"\n")
    config = tmp_path / "helpdesk.toml"
    config.write_text(f'[sendlog]\npaths = ["{log}"]\n')
    out = run_cli("reputation", config=config)
    assert out.returncode == 0, out.stderr
    if "\n" not in value:  # a newline ends the log line: the rest is no reply any more
        assert "S3150 ×1" in out.stdout
    assert_clean(out.stdout, where=name)
    assert_clean(out.stderr, where=name)
