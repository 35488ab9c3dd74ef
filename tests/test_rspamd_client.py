"""The rspamd controller client: both history shapes, nan, the 31-byte user, every failure.

Recorded samples in tests/data/ come from rspamd 3.4: rspamd_history_v1.json from the built-in
history, rspamd_history_v2.json from an rspamd with history_redis (not part of the stack).
Faults a real controller cannot be made to produce (500, 204, timeouts, garbage) use
httpx.MockTransport; everything else runs against the stack's real controller.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest

from helpdesk.config import Config
from helpdesk.errors import ConfigError
from helpdesk.rspamd.client import (
    Cluster,
    Controller,
    ControllerSettings,
    RspamdError,
    RspamdSettings,
    loads_lenient,
    parse_history,
    user_matches,
)
from tests.rspamd_tools import new_message_id, spam_from

DATA = Path(__file__).parent / "data"


# --------------------------------------------------------------------------- parsing


def test_v2_history_from_history_redis_is_read_newest_first():
    rows = parse_history("mx1", json.loads((DATA / "rspamd_history_v2.json").read_text()))
    assert [r.time for r in rows] == sorted((r.time for r in rows), reverse=True)
    assert len(rows) == 3
    anna = next(r for r in rows if r.user == "anna.schmidt@beispiel-gmbh.de")
    assert anna.message_id == "20261127.1a2b3c@beispiel-gmbh.de"
    assert anna.subject == "Angebot HELPDESK-TEST-SPAM"
    assert anna.sender == "anna.schmidt@beispiel-gmbh.de"
    assert anna.recipients == ("kunde@example.net",)
    assert anna.ip == "192.0.2.10"
    assert anna.action == "reject" and anna.rejected
    assert anna.score == 49.9 and anna.required_score == 15
    top = anna.symbols[0]
    assert top.name == "HELPDESK_TEST_SPAM" and top.score == 50 and not top.estimated
    # history_redis writes "unknown" for an unauthenticated scan: that is no user.
    lunch = next(r for r in rows if r.message_id == "lunch-42@example.org")
    assert lunch.user == "" and not lunch.authenticated
    assert lunch.controller == "mx1"


def test_v1_builtin_history_list_is_reordered_and_scores_unknown():
    data = json.loads((DATA / "rspamd_history_v1.json").read_text())
    assert isinstance(data, list) and data[0]["unix_time"] <= data[-1]["unix_time"]
    rows = parse_history("mx1", data)
    assert rows[0].time >= rows[-1].time
    cut = next(r for r in rows if r.user.startswith("verylongname"))
    assert len(cut.user.encode()) == 31 and cut.user_truncated
    assert cut.user_matches("verylongname.with.dots.überall@some-long-domain.example.org")
    assert not cut.user_matches("verylongname.with.dots.über@example.org")
    # The built-in history stores 0 for every symbol: unknown, not harmless.
    spam = next(r for r in rows if r.action == "reject")
    assert spam.symbols and all(s.score is None for s in spam.symbols)
    no_mid = next(r for r in rows if r.user == "a@b.c")
    assert no_mid.message_id == ""  # rspamd's "undef"


def test_bare_nan_and_inf_are_read_as_missing():
    text = '{"scan_times": [0.1, nan, -inf, inf], "subject": "nan inf", "x": 1e5, "y": -nan}'
    data = loads_lenient(text)
    assert data == {
        "scan_times": [0.1, None, None, None],
        "subject": "nan inf",
        "x": 1e5,
        "y": None,
    }
    row = {"unix_time": 1795816319, "score": "nan", "required_score": 15, "action": "reject"}
    parsed = parse_history("mx1", [row])
    assert parsed[0].score is None


@pytest.mark.parametrize(
    "reported, address, expected",
    [
        ("alice@example.org", "Alice@Example.org", True),
        ("alice@example.org", "alice@example.org.evil", False),
        ("alice@example.org", "alice@example.or", False),
        ("averyveryverylongaddress@exampl", "averyveryverylongaddress@example.org", True),
        ("averyveryverylongaddress@exampl", "averyveryverylongaddress@exampl", True),
        ("averyveryverylongaddress@exampl", "bverylongaddress@example.org", False),
        ("", "alice@example.org", False),
    ],
)
def test_user_matching_knows_the_31_byte_cut(reported, address, expected):
    assert user_matches(reported, address) is expected


# --------------------------------------------------------------------------- settings


def test_settings_default_to_one_local_controller():
    settings = RspamdSettings.from_config(Config(None, {"database": {"url": "sqlite://"}}))
    assert [c.url for c in settings.controllers] == ["http://127.0.0.1:11334"]
    assert settings.timeout == 5.0 and settings.release_ttl.total_seconds() == 4 * 3600


def test_per_controller_secrets_from_env_and_file(tmp_path, monkeypatch):
    secret_file = tmp_path / "enable"
    secret_file.write_text("s3cret-enable\n")
    monkeypatch.setenv("MX1_PW", "s3cret-read")
    config = Config(
        tmp_path / "helpdesk.toml",
        {
            "rspamd": {
                "controllers": [
                    {
                        "name": "mx1",
                        "url": "http://127.0.0.1:11334/",
                        "password_env": "MX1_PW",
                        "enable_password_file": str(secret_file),
                    },
                    {"name": "mx2", "url": "http://10.0.0.2:11334", "password": "inline"},
                ],
                "timeout": 2.5,
                "release_ttl": "2h",
            }
        },
    )
    settings = RspamdSettings.from_config(config)
    mx1, mx2 = settings.controllers
    assert mx1.password == "s3cret-read" and mx1.enable_password == "s3cret-enable"
    assert mx1.url == "http://127.0.0.1:11334"
    assert mx2.password == "inline" and mx2.enable_password is None
    assert settings.timeout == 2.5 and settings.release_ttl.total_seconds() == 7200
    assert "s3cret" not in repr(settings) and "inline" not in repr(settings)


def test_unset_password_env_is_a_config_error(monkeypatch):
    monkeypatch.delenv("NOPE_PW", raising=False)
    config = Config(None, {"rspamd": {"controllers": [{"name": "mx1", "password_env": "NOPE_PW"}]}})
    with pytest.raises(ConfigError, match="NOPE_PW"):
        RspamdSettings.from_config(config)


# --------------------------------------------------------------------------- faults (mocked)


def _controller(handler, password="pw-read-XYZ", enable="pw-enable-XYZ") -> Controller:
    settings = ControllerSettings("mx1", "http://192.0.2.1:11334", password, enable)
    return Controller(settings, 1.0, transport=httpx.MockTransport(handler))


def _assert_one_clean_sentence(message: str) -> None:
    assert "\n" not in message
    assert "pw-read-XYZ" not in message and "pw-enable-XYZ" not in message
    assert message.startswith("rspamd controller mx1 (http://192.0.2.1:11334)")


def test_read_and_write_send_their_own_password():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.headers.get("Password"), request.headers.get("Map")))
        if request.url.path == "/savemap":
            return httpx.Response(200, text='{"success":true}')
        return httpx.Response(200, text="[]")

    c = _controller(handler)
    c.history()
    c.savemap("42", "")
    assert seen[0] == ("/history", "pw-read-XYZ", None)
    assert seen[1] == ("/savemap", "pw-enable-XYZ", "42")


@pytest.mark.parametrize(
    "response, expected",
    [
        (httpx.Response(500, text='{"error":"internal"}'), "failed on /history with HTTP 500"),
        (httpx.Response(502, text="<html>bad gateway</html>"), "HTTP 502"),
        (httpx.Response(204), "answered /history with no content"),
        (httpx.Response(404, text='{"error":"Not found"}'), "HTTP 404: Not found"),
        (httpx.Response(401, text='{"error":"Unauthorized"}'), "wrong or missing password"),
        (httpx.Response(200, text="<html>proxy login</html>"), "not JSON"),
        (httpx.Response(200, text='{"rows": 7}'), "unknown shape"),
        (httpx.Response(200, text='"just a string"'), "unknown shape"),
    ],
)
def test_each_bad_answer_is_one_clear_sentence(response, expected):
    c = _controller(lambda request: response)
    with pytest.raises(RspamdError) as info:
        c.history()
    _assert_one_clean_sentence(str(info.value))
    assert expected in str(info.value)


def test_timeout_is_one_clear_sentence():
    def handler(request):
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(RspamdError, match="did not answer /stat within 1 s") as info:
        _controller(handler).stat()
    _assert_one_clean_sentence(str(info.value))


def test_a_reply_declared_larger_than_the_cap_is_not_read():
    body = httpx.ByteStream(b"[]")
    big = httpx.Response(200, headers={"Content-Length": str(65 * 1024 * 1024)}, stream=body)
    with pytest.raises(RspamdError, match="sent more than 64 MiB for /history") as info:
        _controller(lambda request: big).history()
    _assert_one_clean_sentence(str(info.value))


def test_a_compressed_reply_is_refused_unread():
    packed = httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=b"\x1f\x8b")
    with pytest.raises(RspamdError, match="sent a compressed reply for /history") as info:
        _controller(lambda request: packed).history()
    _assert_one_clean_sentence(str(info.value))


class _Slow(httpx.SyncByteStream):
    """A body that arrives in small pieces, 0.2 s apart, for as long as it is read."""

    def __init__(self) -> None:
        self.pieces = 0

    def __iter__(self):
        import time

        for _ in range(100):
            time.sleep(0.2)
            self.pieces += 1
            yield b" "


def test_a_body_that_keeps_coming_is_cut_at_the_deadline_whatever_the_transport():
    slow = _Slow()
    c = _controller(lambda request: httpx.Response(200, stream=slow))
    with pytest.raises(RspamdError, match="did not answer /history within 1 s") as info:
        c.history()
    _assert_one_clean_sentence(str(info.value))
    # One deadline of pieces (about 5), not the 20 s the body would take.
    assert 3 <= slow.pieces <= 8
    # The controller stalled on a read: this command does not wait for it again.
    with pytest.raises(RspamdError, match="did not answer /history"):
        c.stat()
    assert slow.pieces <= 8


def test_history_survives_nan_in_a_reply():
    body = (
        '[{"unix_time": 1795816319, "id": "a@b", "action": "reject", "score": nan,'
        ' "required_score": inf, "user": "u@example.org", "symbols": {"X": {"score": nan}}}]'
    )
    rows = _controller(lambda r: httpx.Response(200, text=body)).history()
    assert rows[0].score is None and rows[0].required_score is None
    assert rows[0].message_id == "a@b"


# --------------------------------------------------------------------------- the real controller


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _real(stack, name="mx1", password=None, enable=None) -> ControllerSettings:
    return ControllerSettings(
        name,
        stack.controller_url,
        stack.password if password is None else password,
        stack.enable_password if enable is None else enable,
    )


@pytest.mark.stack
def test_status_of_the_real_controller(stack):
    with Cluster(RspamdSettings(controllers=(_real(stack),))) as cluster:
        (status,) = cluster.status()
    assert status.ok, status.error
    assert status.version.startswith("3.")
    thresholds = dict(status.actions)
    assert thresholds["reject"] is not None and thresholds["reject"] > 0
    assert "scanned" in status.stat


@pytest.mark.stack
def test_wrong_password_is_refused_and_never_echoed(stack):
    bad = _real(stack, password="wrong-password-123")
    with Controller(bad) as c, pytest.raises(RspamdError) as info:
        c.history()
    assert "wrong or missing password" in str(info.value)
    assert "wrong-password-123" not in str(info.value)
    assert stack.password not in str(info.value)


@pytest.mark.stack
def test_read_password_cannot_write_and_wrong_enable_password_is_named(stack):
    with Controller(_real(stack)) as c:
        release_map = c.find_map("")
        before = c.getmap(release_map.id)
    for enable in (stack.password, "wrong-enable-456"):
        with Controller(_real(stack, enable=enable)) as c, pytest.raises(RspamdError) as info:
            c.savemap(release_map.id, "x@example.org|never@example.org\n")
        assert "wrong or missing enable_password" in str(info.value)
        assert enable not in str(info.value)
    with Controller(_real(stack)) as c:
        assert c.getmap(release_map.id) == before


@pytest.mark.stack
def test_unknown_map_is_a_404_sentence(stack):
    with Controller(_real(stack)) as c, pytest.raises(RspamdError, match="HTTP 404"):
        c.getmap("12345")
    with Controller(_real(stack)) as c, pytest.raises(RspamdError, match="lists no map"):
        c.find_map("/no/such/map")


@pytest.mark.stack
def test_controller_down_is_refused_connection():
    settings = ControllerSettings("down", f"http://127.0.0.1:{_free_port()}", "pw-read-XYZ")
    with Controller(settings, 2.0) as c, pytest.raises(RspamdError) as info:
        c.history()
    assert str(info.value).endswith("cannot be reached: connection refused")
    assert "pw-read-XYZ" not in str(info.value)


@pytest.mark.stack
def test_history_of_several_controllers_is_merged_and_a_dead_one_reported(stack):
    spam_from(stack, "merge@helpdesk.test", new_message_id("merge"))
    down = ControllerSettings("mx3", f"http://127.0.0.1:{_free_port()}", "x")
    settings = RspamdSettings(controllers=(_real(stack, "mx1"), _real(stack, "mx2"), down))
    with Cluster(settings) as cluster:
        rows, errors = cluster.history()
    names = {r.controller for r in rows}
    assert names == {"mx1", "mx2"}
    by_name = {name: {r.message_id for r in rows if r.controller == name} for name in names}
    assert by_name["mx1"] & by_name["mx2"]  # the same scans, seen through both names
    assert [r.time for r in rows] == sorted((r.time for r in rows), reverse=True)
    assert len(errors) == 1 and "mx3" in str(errors[0])
    only_down = RspamdSettings(controllers=(down,))
    with Cluster(only_down) as cluster, pytest.raises(RspamdError, match="mx3"):
        cluster.history()


@pytest.mark.stack
def test_rspamd_status_command_filters_history(stack):
    from tests.conftest import run_cli

    # Longer than 31 bytes: the real built-in history cuts it, and --user still finds it.
    user = f"status.{new_message_id('s').split('@')[0]}@helpdesk.test"
    assert len(user.encode()) > 31
    mid = new_message_id("status")
    spam_from(stack, user, mid)
    out = run_cli(
        "rspamd",
        "status",
        "--json",
        "--user",
        user,
        "--action",
        "reject",
        "--min-score",
        "20",
        config=stack.config_path,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    # The stack runs two controllers of one rspamd, as a cluster would: both answer.
    assert len(data["controllers"]) == 2
    for controller in data["controllers"]:
        assert controller["ok"] and controller["version"].startswith("3.")
        assert controller["thresholds"]["reject"] > 0 and controller["counters"]["scanned"] > 0
    # One scan, seen by each controller of the one rspamd (status shows what each says).
    rows = data["history"]
    assert len(rows) == len(data["controllers"])
    for row in rows:
        assert (row["message_id"], row["action"]) == (mid, "reject")
        assert row["user"] == user.encode()[:31].decode() and row["user_truncated"] is True
    high = run_cli(
        "rspamd",
        "status",
        "--json",
        "--user",
        user,
        "--min-score",
        "1000",
        config=stack.config_path,
    )
    assert json.loads(high.stdout)["history"] == []


@pytest.mark.stack
def test_rspamd_status_with_a_dead_controller_exits_1(tmp_path):
    from tests.conftest import run_cli

    config = tmp_path / "helpdesk.toml"
    config.write_text(
        '[database]\nurl = "sqlite:///x.sqlite"\n[rspamd]\ncontrollers = '
        f'[{{ name = "mx7", url = "http://127.0.0.1:{_free_port()}", password = "pw-SECRET" }}]\n'
    )
    config.chmod(0o600)
    out = run_cli("rspamd", "status", config=config)
    assert out.returncode == 1
    assert "mx7" in out.stdout and "DOWN" in out.stdout
    assert "helpdesk: rspamd controller mx7" in out.stderr and "connection refused" in out.stderr
    assert "pw-SECRET" not in out.stdout + out.stderr
