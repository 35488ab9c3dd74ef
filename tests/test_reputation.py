"""`helpdesk reputation` against the stack's real DNS server (dnsmasq, stack/dns.py)."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from helpdesk.errors import Unreachable
from helpdesk.i18n import set_language
from helpdesk.reputation.codes import LISTED, REFUSED, UNEXPECTED, decode
from helpdesk.reputation.dnsbl import check, query_name
from helpdesk.reputation.line import reputation_line
from helpdesk.reputation.settings import ReputationSettings
from stack import dns as stack_dns
from tests.conftest import missing, run_cli
from tests.hostile import VALUES, assert_clean

DQS_KEY = stack_dns.TEST_DQS_KEY


@pytest.fixture(scope="module")
def resolver(stack) -> str:
    value = stack.env.get("DNS_RESOLVER")
    if not value:
        missing("the stack runs without its DNS server (dnsmasq-base not installed?)")
    return value


def settings(resolver: str, *addresses: str, **more) -> ReputationSettings:
    table = {"addresses": list(addresses), "resolver": resolver, **more}
    return ReputationSettings.from_dict(table)


def answers(result, zone: str = "zen.spamhaus.org") -> dict:
    return {a.address: a for a in result.answers if a.zone == zone}


def write_config(path: Path, resolver: str, addresses, *, key: str | None = None, **more) -> Path:
    lines = [
        "[reputation]",
        f"addresses = {json.dumps(list(addresses))}",
        f'resolver = "{resolver}"',
    ]
    if key:
        lines.append(f'dqs_key = "{key}"')
    for name, value in more.items():
        lines.append(f"{name} = {json.dumps(value)}")
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def test_ipv6_addresses_are_asked_by_their_nibbles_reversed():
    name = query_name(ipaddress.ip_address("2001:db8::25"), "zen.spamhaus.org")
    assert name == (
        "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org"
    )
    assert query_name(ipaddress.ip_address("192.0.2.10"), "bl.spamcop.net") == (
        "10.2.0.192.bl.spamcop.net"
    )


@pytest.mark.parametrize("code", ["127.255.255.252", "127.255.255.254", "127.255.255.255"])
def test_spamhaus_refusal_codes_are_never_a_listing(code):
    state, meaning = decode("zen.spamhaus.org", code)
    assert state == REFUSED
    assert "query refused" in meaning.english()


def test_codes_are_decoded():
    assert decode("zen.spamhaus.org", "127.0.0.10")[1].english().startswith("PBL")
    assert decode("zen.spamhaus.org", "127.0.0.3")[1].english().startswith("SBL CSS")
    state, meaning = decode("bl.example.org", "127.0.0.5")
    assert (state, meaning.english()) == (LISTED, "listed (code 127.0.0.5)")
    assert decode("bl.example.org", "198.51.100.200")[0] == UNEXPECTED


def test_a_listed_ipv4_address_through_dqs(resolver):
    result = check(settings(resolver, "192.0.2.10", dqs_key=DQS_KEY))
    zen = answers(result)["192.0.2.10"]
    assert zen.state == LISTED
    assert zen.codes == ["127.0.0.4"]
    assert zen.summary() == "XBL"
    assert zen.note == "https://check.spamhaus.org/listed/?searchterm=192.0.2.10"
    assert zen.shown == "zen.spamhaus.org (DQS)"
    assert answers(result, "bl.spamcop.net")["192.0.2.10"].state == "clear"


def test_a_listed_ipv6_address(resolver):
    result = check(settings(resolver, "2001:db8::25", dqs_key=DQS_KEY))
    zen = answers(result)["2001:db8::25"]
    assert (zen.state, zen.summary()) == (LISTED, "SBL")
    # SpamCop answers for IPv4 only: not asked, and not shown as "not listed"
    assert answers(result, "bl.spamcop.net")["2001:db8::25"].state == "skipped"


def test_an_unlisted_address(resolver):
    result = check(settings(resolver, "198.51.100.25", dqs_key=DQS_KEY))
    assert answers(result)["198.51.100.25"].state == "clear"
    assert answers(result, "bl.spamcop.net")["198.51.100.25"].state == LISTED


def test_a_refused_query_is_not_a_listing(resolver):
    result = check(settings(resolver, "192.0.2.10"))  # no DQS key: the public zone refuses
    zen = answers(result)["192.0.2.10"]
    assert zen.state == REFUSED
    assert zen.codes == ["127.255.255.254"]
    assert not result.listed


def test_a_rewritten_answer_is_not_a_listing(resolver):
    result = check(settings(resolver, "192.0.2.10", blocklists=["rewrite.stack.test"]))
    assert result.answers[0].state == UNEXPECTED
    assert not result.listed


def test_the_command_shows_listings_refusals_and_never_the_key(resolver, tmp_path):
    config = write_config(
        tmp_path / "helpdesk.toml",
        resolver,
        ["192.0.2.10", "2001:db8::25", "198.51.100.25"],
        key=DQS_KEY,
    )
    out = run_cli("reputation", "--no-history", config=config)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    listed = [line for line in lines if "LISTED" in line]
    assert any("192.0.2.10" in line and "zen.spamhaus.org (DQS)" in line for line in listed)
    assert any("2001:db8::25" in line and "zen.spamhaus.org (DQS)" in line for line in listed)
    assert "127.0.0.4 XBL: an infected or exploited host" in out.stdout
    assert DQS_KEY not in out.stdout + out.stderr
    data = json.loads(run_cli("reputation", "--json", "--no-history", config=config).stdout)
    assert DQS_KEY not in json.dumps(data)
    states = {(a["address"], a["blocklist"]): a["state"] for a in data["check"]["answers"]}
    assert states[("198.51.100.25", "zen.spamhaus.org")] == "clear"
    assert states[("198.51.100.25", "bl.spamcop.net")] == "listed"
    assert data["check"]["listed"] is True


def test_the_command_says_query_refused_not_listed(resolver, tmp_path):
    config = write_config(tmp_path / "helpdesk.toml", resolver, ["192.0.2.10"])
    out = run_cli("reputation", "--no-history", config=config)
    assert out.returncode == 0, out.stderr
    zen = next(line for line in out.stdout.splitlines() if "zen.spamhaus.org" in line)
    assert "query refused: asked through a public or open resolver" in zen
    assert "LISTED" not in out.stdout


def test_resolver_down_is_one_line(tmp_path):
    # Nothing listens on port 1: every query meets its deadline, and that is said once.
    with pytest.raises(Unreachable) as caught:
        check(settings("127.0.0.1:1", "192.0.2.10", "2001:db8::25"))
    assert str(caught.value) == "the DNS resolver 127.0.0.1:1 did not answer within 2 s"
    config = write_config(tmp_path / "helpdesk.toml", "127.0.0.1:1", ["192.0.2.10"])
    config.write_text(config.read_text() + f'[sendlog]\npaths = ["{tmp_path / "none"}"]\n')
    out = run_cli("reputation", config=config)
    assert out.returncode == 1
    assert out.stdout == ""
    assert out.stderr.splitlines() == [
        "helpdesk: the DNS resolver 127.0.0.1:1 did not answer within 2 s"
    ]


def test_resolver_down_still_shows_the_providers(tmp_path):
    from datetime import datetime

    from tests.test_reputation_providers import shifted_log

    log = shifted_log(tmp_path / "mainlog", datetime.now().replace(microsecond=0))
    config = write_config(tmp_path / "helpdesk.toml", "127.0.0.1:1", ["192.0.2.10"])
    config.write_text(config.read_text() + f'[sendlog]\npaths = ["{log}"]\n')
    out = run_cli("reputation", "--no-history", config=config)
    assert out.returncode == 1
    assert "3 of 5 deliveries blocked (60%)" in out.stdout
    assert out.stderr.splitlines() == [
        "warning: the DNS resolver 127.0.0.1:1 did not answer within 2 s"
    ]


def test_the_send_log_line_names_the_listing_and_the_refusing_provider(resolver, tmp_path):
    from datetime import datetime

    from helpdesk.config import load_config
    from tests.test_reputation_providers import shifted_log

    log = shifted_log(tmp_path / "mainlog", datetime.now().replace(microsecond=0))
    config_path = write_config(tmp_path / "helpdesk.toml", resolver, ["192.0.2.10"], key=DQS_KEY)
    config_path.write_text(config_path.read_text() + f'[sendlog]\npaths = ["{log}"]\n')
    line = reputation_line(load_config(config_path))
    english = line.render("en")
    assert english.startswith("LISTED: 192.0.2.10 on zen.spamhaus.org (XBL)")
    assert "T-Online refuses 100% (BL), Microsoft refuses 60% (RP-001, S3150) and 2 more" in english
    german = line.render("de")
    assert german.startswith("GELISTET: 192.0.2.10 auf zen.spamhaus.org (XBL)")
    assert "Microsoft lehnt 60 % ab" in german
    set_language("en")


@pytest.mark.parametrize("name", sorted(VALUES))
def test_a_hostile_txt_record_is_shown_as_text(name):
    # A list's TXT record is outside text: whatever a DNS server puts there is shown escaped.
    from datetime import datetime

    from helpdesk.commands.reputation import format_picture
    from helpdesk.reputation.dnsbl import Answer, Check
    from helpdesk.reputation.report import Picture

    value = VALUES[name]
    answer = Answer("192.0.2.10", "bl.example.org", "bl.example.org", LISTED)
    answer.codes, answer.meanings = ["127.0.0.2"], [decode("bl.example.org", "127.0.0.2")[1]]
    answer.note = value
    picture = Picture(settings("127.0.0.1:53", "192.0.2.10"))
    picture.check = Check(datetime(2026, 11, 30, 9, 0), "127.0.0.1:53", [answer])
    picture.refusals_error = "not read"
    text = format_picture(picture)
    assert "LISTED" in text
    assert_clean(text, where=name)


def test_a_resolver_that_cannot_be_reached_is_one_line():
    # Sending to the broadcast address is refused by the kernel at once (no SO_BROADCAST).
    with pytest.raises(Unreachable) as caught:
        check(settings("255.255.255.255:53", "192.0.2.10"))
    assert str(caught.value) == (
        "cannot reach the DNS resolver 255.255.255.255:53: Permission denied"
    )
