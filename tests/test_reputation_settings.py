"""The [reputation] settings: defaults, and one line naming the key for every wrong value."""

from __future__ import annotations

import pytest

from helpdesk.errors import ConfigError
from helpdesk.reputation.settings import ReputationSettings, parse_resolver
from tests.conftest import run_cli
from tests.hostile import VALUES, assert_clean


def test_a_config_without_the_section_works():
    s = ReputationSettings.from_dict({})
    assert s.addresses == ()
    assert s.resolver is None
    assert s.blocklists == ("zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org")
    assert s.timeout == 2.0


def test_values_are_read():
    s = ReputationSettings.from_dict(
        {
            "addresses": ["192.0.2.10", "2001:DB8::25", "::ffff:198.51.100.7", "192.0.2.10"],
            "resolver": "[::1]:5353",
            "blocklists": ["ZEN.Spamhaus.org.", "bl.spamcop.net"],
            "timeout": 1,
            "window": "30m",
        }
    )
    assert [str(a) for a in s.addresses] == ["192.0.2.10", "2001:db8::25", "198.51.100.7"]
    assert str(s.resolver) == "[::1]:5353"
    assert s.blocklists == ("zen.spamhaus.org", "bl.spamcop.net")
    assert s.timeout == 1.0
    assert s.window.total_seconds() == 1800
    assert parse_resolver("127.0.0.1").port == 53


def test_the_dqs_key_comes_from_a_file_or_the_environment(tmp_path, monkeypatch):
    key_file = tmp_path / "dqs.key"
    key_file.write_text("abcdefghijklmnopqrstuvwxyz\n")
    assert ReputationSettings.from_dict({"dqs_key_file": str(key_file)}).dqs_key == (
        "abcdefghijklmnopqrstuvwxyz"
    )
    monkeypatch.setenv("HD_TEST_DQS", "0123456789abcdef0123456789")
    assert ReputationSettings.from_dict({"dqs_key_env": "HD_TEST_DQS"}).dqs_key == (
        "0123456789abcdef0123456789"
    )
    assert "abcdefghij" not in repr(ReputationSettings.from_dict({"dqs_key": "abcdefghij"}))


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"adresses": []}, "[reputation]: unknown key 'adresses'"),
        ({"addresses": ["192.0.2.300"]}, "addresses: '192.0.2.300' is not an IPv4 or IPv6"),
        ({"addresses": [42]}, "addresses: 42 is not an IPv4 or IPv6 address"),
        ({"addresses": {"a": 1}}, "addresses must be a list of IP addresses"),
        ({"resolver": "127.0.0.1:99999"}, "resolver must be IP:PORT"),
        ({"resolver": "dns.example.org:53"}, "resolver must be IP:PORT"),
        ({"resolver": "[::1]53"}, "resolver must be IP:PORT"),
        ({"blocklists": ["zen spamhaus org"]}, "blocklists: 'zen spamhaus org' is not a DNS"),
        ({"blocklists": 5}, "blocklists must be a list of DNS zones"),
        ({"timeout": 0}, "timeout must be a number of seconds from 0.1 to 10, not 0"),
        ({"timeout": "2"}, "timeout must be a number of seconds from 0.1 to 10"),
        ({"window": "soon"}, "window must be a duration such as 1h or 30m, not 'soon'"),
        ({"dqs_key": "my.key.with.dots"}, "dqs_key must be the key's letters and digits only"),
    ],
)
def test_wrong_values_are_one_line_naming_the_key(table, message):
    with pytest.raises(ConfigError) as caught:
        ReputationSettings.from_dict(table)
    text = str(caught.value)
    assert message in text
    assert "\n" not in text
    if "dqs_key" in table:
        assert table["dqs_key"] not in text  # a secret is never repeated


def test_the_command_says_it_in_one_line(tmp_path):
    config = tmp_path / "helpdesk.toml"
    config.write_text('[reputation]\naddresses = ["192.0.2.10"]\nresolver = "localhost"\n')
    out = run_cli("reputation", config=config)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.splitlines() == [
        f"helpdesk: {config}: [reputation]: resolver must be IP:PORT such as 127.0.0.1:53 or "
        "[::1]:53, not 'localhost'"
    ]


@pytest.mark.parametrize("name", sorted(VALUES))
def test_hostile_settings_are_refused_as_text(tmp_path, name):
    import json

    value = VALUES[name]
    config = tmp_path / "helpdesk.toml"
    config.write_bytes(
        (
            f"[reputation]\naddresses = [{json.dumps(value)}]\nblocklists = [{json.dumps(value)}]\n"
        ).encode("utf-8", "surrogateescape")
    )
    out = run_cli("reputation", config=config)
    assert out.returncode == 2, out.stdout
    assert len(out.stderr.splitlines()) == 1
    assert_clean(out.stderr, where=name)
    with pytest.raises(ConfigError):
        ReputationSettings.from_dict({"resolver": value})
    with pytest.raises(ConfigError):
        ReputationSettings.from_dict({"addresses": [value]})
