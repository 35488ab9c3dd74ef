"""Releases: database record + audit row + rspamd map, all or nothing; and their effect on the
stack's real rspamd (the HELPDESK_RELEASE multimap rule over the map the helpdesk writes)."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from helpdesk.errors import Conflict, NotFound, PolicyError
from helpdesk.mailcenter.audit import Operator, read, utcnow
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox
from helpdesk.mailcenter.schema import audit_log, outbound_releases
from helpdesk.rspamd.client import Cluster, ControllerSettings, RspamdError, RspamdSettings
from helpdesk.rspamd.release_records import map_lines
from helpdesk.rspamd.releases import (
    MAP_HEADER,
    ReleaseService,
    ReleaseWithdrawn,
    list_releases,
    map_text,
    normalize_message_id,
)
from tests.conftest import run_cli
from tests.fault_server import fault_server
from tests.rspamd_tools import new_message_id

OPERATOR = Operator("anna", "203.0.113.9")


# --------------------------------------------------------------------------- pure


@pytest.mark.parametrize(
    "given, expected",
    [("<abc@example.org>", "abc@example.org"), ("  abc@example.org ", "abc@example.org")],
)
def test_message_id_is_stored_as_rspamd_reads_it(given, expected):
    assert normalize_message_id(given) == expected


@pytest.mark.parametrize("bad", ["", "<>", "undef", "<undef>", "a b@x", "a|b@x", "x#y@z"])
def test_unusable_message_ids_are_refused(bad):
    with pytest.raises(PolicyError):
        normalize_message_id(bad)


def test_an_empty_map_is_still_a_comment_line():
    assert map_text([]) == MAP_HEADER + "\n"


# --------------------------------------------------------------------------- helpers


def _d(message_id: str) -> str:
    """A stand-in content digest (32 hex digits, as rspamd's) for a made-up message."""
    return hashlib.md5(message_id.encode()).hexdigest()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(stack, *controllers: ControllerSettings, ttl=timedelta(hours=24)) -> RspamdSettings:
    if not controllers:
        controllers = (
            ControllerSettings("mx1", stack.controller_url, stack.password, stack.enable_password),
        )
    return RspamdSettings(
        controllers=controllers,
        timeout=3.0,
        release_map=stack.env.get("RSPAMD_RELEASE_MAP", ""),
        release_ttl=ttl,
    )


def _map_lines(stack) -> set[str]:
    settings = _settings(stack)
    with Cluster(settings) as cluster:
        c = cluster.controllers[0]
        text = c.getmap(c.find_map(settings.release_map).id)
    return {line for line in text.splitlines() if line and not line.startswith("#")}


def _counts(db: Database) -> tuple[int, int]:
    with db.connect() as conn:
        releases = conn.execute(select(func.count()).select_from(outbound_releases)).scalar_one()
        audits = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
    return releases, audits


def _mailbox(db: Database, address: str) -> None:
    with db.begin() as conn:
        create_mailbox(conn, address, realname="Test Kunde")


# --------------------------------------------------------------------------- database + real map


@pytest.fixture(scope="module")
def stack_map(stack):
    """These tests write the stack's map from throwaway databases: give it back the stack's."""
    yield
    db = Database(stack.database_url)
    db.create_schema()
    with Cluster(_settings(stack)) as cluster:
        ReleaseService(db, cluster).sync()
    db.dispose()


@pytest.mark.stack
@pytest.mark.usefixtures("stack_map")
def test_release_records_audits_and_writes_the_map(db, stack):
    _mailbox(db, "kunde@firma.de")
    mid = new_message_id("rel")
    with Cluster(_settings(stack)) as cluster:
        release = ReleaseService(db, cluster).release(
            f"<{mid}>",
            "Kunde@Firma.de",
            digest=_d(mid),
            ticket="T-100",
            reason="Angebot",
            operator=OPERATOR,
        )
    assert release.address == "kunde@firma.de" and release.message_id == mid
    assert release.expires_at - release.created_at == timedelta(hours=24)
    assert release.state() == "active" and release.used_at is None
    assert f"kunde@firma.de|{_d(mid)}" in _map_lines(stack)
    assert release.map_state == "confirmed"
    with db.connect() as conn:
        entry, pending = read(conn, target="kunde@firma.de")
    assert pending.action == "release-pending" and pending.after["release_id"] == release.id
    assert entry.action == "release-outbound" and entry.ticket == "T-100"
    assert entry.operator == "anna" and entry.reason == "Angebot"
    assert entry.after["message_id"] == mid and entry.after["release_id"] == release.id


@pytest.mark.stack
@pytest.mark.usefixtures("stack_map")
def test_revoke_and_expiry_drop_the_line(db, stack):
    _mailbox(db, "kunde@firma.de")
    first, second = new_message_id("rv"), new_message_id("exp")
    with Cluster(_settings(stack)) as cluster:
        service = ReleaseService(db, cluster)
        r1 = service.release(
            first, "kunde@firma.de", digest=_d(first), ticket="T-1", operator=OPERATOR
        )
        r2 = service.release(
            second, "kunde@firma.de", digest=_d(second), ticket="T-2", operator=OPERATOR
        )
        assert {f"kunde@firma.de|{_d(first)}", f"kunde@firma.de|{_d(second)}"} <= _map_lines(stack)
        revoked = service.revoke(r1.id, ticket="T-3", reason="customer unsure", operator=OPERATOR)
        assert revoked.state() == "revoked" and revoked.revoke_ticket == "T-3"
        assert f"kunde@firma.de|{_d(first)}" not in _map_lines(stack)
        with pytest.raises(Conflict, match="already revoked"):
            service.revoke(r1.id, ticket="T-4", operator=OPERATOR)
        with db.begin() as conn:
            conn.execute(
                update(outbound_releases)
                .where(outbound_releases.c.id == r2.id)
                .values(expires_at=r2.created_at - timedelta(seconds=1))
            )
        assert f"kunde@firma.de|{_d(second)}" in _map_lines(stack)  # until the next rebuild
        assert service.sync(OPERATOR).lines == 0
    assert not any(line.startswith("kunde@firma.de|") for line in _map_lines(stack))
    with db.connect() as conn:
        states = {r.id: r.state() for r in list_releases(conn)}
        actions = [e.action for e in read(conn, target="kunde@firma.de")]
    assert states == {r1.id: "revoked", r2.id: "expired"}
    assert actions == ["revoke-release"] + ["release-outbound", "release-pending"] * 2


@pytest.mark.stack
@pytest.mark.usefixtures("stack_map")
def test_duplicate_unknown_mailbox_and_missing_ticket_change_nothing(db, stack):
    _mailbox(db, "kunde@firma.de")
    mid = new_message_id("dup")
    with Cluster(_settings(stack)) as cluster:
        service = ReleaseService(db, cluster)
        service.release(mid, "kunde@firma.de", digest=_d(mid), ticket="T-1", operator=OPERATOR)
        before = _counts(db)
        with pytest.raises(Conflict, match="already released"):
            service.release(
                f"<{mid}>", "kunde@firma.de", digest=_d(mid), ticket="T-2", operator=OPERATOR
            )
        # The login in other cases is the same account: no second pass for it.
        with pytest.raises(Conflict, match="already released"):
            service.release(
                mid.upper(),
                "KUNDE@Firma.DE",
                digest=_d(mid).upper(),
                ticket="T-2",
                operator=OPERATOR,
            )
        with pytest.raises(NotFound, match="no mailbox"):
            service.release(
                new_message_id(), "nobody@firma.de", digest=_d("x"), ticket="T-2", operator=OPERATOR
            )
        with pytest.raises(PolicyError, match="ticket"):
            service.release(
                new_message_id(), "kunde@firma.de", digest=_d("y"), ticket=" ", operator=OPERATOR
            )
    assert _counts(db) == before


def _states(db: Database) -> list[str]:
    with db.connect() as conn:
        return list(conn.execute(select(outbound_releases.c.state)).scalars())


@pytest.mark.stack
@pytest.mark.usefixtures("stack_map")
@pytest.mark.parametrize("fault", ["read-password-as-enable", "wrong-enable", "down"])
def test_controller_faults_never_leave_a_release_in_force(db, stack, fault):
    _mailbox(db, "kunde@firma.de")
    bad = {
        "read-password-as-enable": ControllerSettings(
            "mx1", stack.controller_url, stack.password, stack.password
        ),
        "wrong-enable": ControllerSettings(
            "mx1", stack.controller_url, stack.password, "not-the-enable-pw"
        ),
        "down": ControllerSettings("mx1", f"http://127.0.0.1:{_free_port()}", "a", "b"),
    }[fault]
    lines_before = _map_lines(stack)
    mid = new_message_id("fault")
    with Cluster(_settings(stack, bad)) as cluster, pytest.raises(RspamdError) as info:
        ReleaseService(db, cluster).release(
            mid, "kunde@firma.de", digest=_d(mid), ticket="T-1", operator=OPERATOR
        )
    message = str(info.value)
    assert "\n" not in message
    for secret in (stack.password, stack.enable_password, "not-the-enable-pw"):
        assert secret not in message
    if fault == "down":
        # /maps failed: refused before anything was written.
        assert "nothing changed" in message and _counts(db) == (0, 0)
    else:
        # The save was refused: the pending row is withdrawn, and says why.
        assert isinstance(info.value, ReleaseWithdrawn) and "enable_password" in message
        assert _states(db) == ["withdrawn"]
        with db.connect() as conn:
            actions = [e.action for e in read(conn, target="kunde@firma.de")]
        assert actions == ["release-withdrawn", "release-pending"]
    assert _map_lines(stack) == lines_before


@pytest.mark.stack
@pytest.mark.usefixtures("stack_map")
def test_second_controller_failing_takes_the_release_off_the_first_again(db, stack):
    """mx1 is the stack's controller; mx2 a controller that answers /savemap with a 500."""
    _mailbox(db, "kunde@firma.de")
    keep = new_message_id("keep")
    with Cluster(_settings(stack)) as cluster:
        ReleaseService(db, cluster).release(
            keep, "kunde@firma.de", digest=_d(keep), ticket="T-1", operator=OPERATOR
        )
    before = _map_lines(stack)
    mx1 = ControllerSettings("mx1", stack.controller_url, stack.password, stack.enable_password)
    mid = new_message_id("partial")
    with fault_server() as broken:
        broken.rules["/savemap"] = "500"
        broken.map_uri = str(stack.release_map)
        mx2 = ControllerSettings("mx2", broken.url, "x", "y")
        with (
            Cluster(_settings(stack, mx1, mx2)) as cluster,
            pytest.raises(ReleaseWithdrawn) as info,
        ):
            ReleaseService(db, cluster).release(
                mid, "kunde@firma.de", digest=_d(mid), ticket="T-1", operator=OPERATOR
            )
        assert _d(mid) not in broken.map_text
    assert "mx2" in str(info.value) and "HTTP 500" in str(info.value)
    assert _map_lines(stack) == before
    assert sorted(_states(db)) == ["confirmed", "withdrawn"]


class _Garbage(httpx.BaseTransport):
    """A controller behind a broken proxy: /maps answers HTML, /savemap a 500."""

    def __init__(self, broken: str) -> None:
        self.broken = broken
        self.real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == self.broken == "/maps":
            return httpx.Response(200, text="<html>Gateway says hello</html>")
        if request.url.path == self.broken == "/savemap":
            return httpx.Response(500, text='{"error":"cannot write map"}')
        return self.real.handle_request(request)


@pytest.mark.stack
@pytest.mark.usefixtures("stack_map")
@pytest.mark.parametrize("broken, expected", [("/maps", "not JSON"), ("/savemap", "HTTP 500")])
def test_malformed_or_failing_replies_leave_nothing_in_force(db, stack, broken, expected):
    _mailbox(db, "kunde@firma.de")
    before = _map_lines(stack)
    cluster = Cluster(_settings(stack), transport=_Garbage(broken))
    with cluster, pytest.raises(RspamdError, match=expected):
        ReleaseService(db, cluster).release(
            new_message_id(), "kunde@firma.de", digest=_d("z"), ticket="T-1", operator=OPERATOR
        )
    assert _states(db) == ([] if broken == "/maps" else ["withdrawn"])
    assert _map_lines(stack) == before


@pytest.mark.stack
@pytest.mark.usefixtures("stack_map")
def test_two_releases_at_the_same_time_both_land(db, stack):
    jobs = [(f"kunde{i}@firma.de", new_message_id(f"c{i}")) for i in range(4)]
    for address, _ in jobs:
        _mailbox(db, address)
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def work(address: str, mid: str) -> None:
        try:
            with Cluster(_settings(stack)) as cluster:
                service = ReleaseService(db, cluster)
                barrier.wait()
                service.release(mid, address, digest=_d(mid), ticket="T-5", operator=OPERATOR)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    lines = _map_lines(stack)
    assert {f"{a}|{_d(m)}" for a, m in jobs} <= lines
    assert _states(db) == ["confirmed"] * len(jobs)


# --------------------------------------------------------------------------- effect in rspamd


def _stack_cli(stack, *args: str):
    return run_cli(*args, config=stack.config_path)


def _json(out) -> dict:
    assert out.returncode == 0, out.stderr
    try:
        return json.loads(out.stdout)
    except ValueError:
        pytest.fail(f"not JSON: stdout {out.stdout[:300]!r}, stderr {out.stderr[:300]!r}")


@pytest.fixture
def customers(stack):
    """Two fresh customers in the stack's own database."""
    Database(stack.database_url).create_schema()
    tag = os.urandom(4).hex()
    a, b = f"anna.{tag}@firma.test", f"bernd.{tag}@firma.test"
    stack.add_mailbox(a, "Kundenpasswort-1!")
    stack.add_mailbox(b, "Kundenpasswort-2!")
    return a, b


@pytest.mark.stack
def test_cli_with_wrong_enable_password_says_so_and_writes_nothing(stack, customers, tmp_path):
    a, _ = customers
    config = tmp_path / "helpdesk.toml"
    config.write_text(
        f'[database]\nurl = "{stack.database_url}"\n[rspamd]\ncontrollers = [{{ name = "mx1", '
        f'url = "{stack.controller_url}", password_env = "T_RSPAMD_PW", '
        'enable_password_env = "T_RSPAMD_EN" }]\n'
    )
    env = {"T_RSPAMD_PW": stack.password, "T_RSPAMD_EN": "definitely-wrong"}
    mid = new_message_id("cli")
    out = run_cli(
        "release", mid, "--user", a, "--digest", _d(mid), "--ticket", "T-1", config=config, env=env
    )
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "enable_password" in out.stderr
    assert "definitely-wrong" not in out.stderr and stack.password not in out.stderr
    assert "withdrawn from every controller" in out.stderr
    listed = run_cli("releases", "--user", a, "--json", config=config, env=env)
    assert [r["state"] for r in json.loads(listed.stdout)["releases"]] == ["withdrawn"]
    env["T_RSPAMD_PW"] = "wrong-read"
    out = run_cli("blocked", "--user", a, config=config, env=env)
    assert out.returncode == 1 and "wrong or missing password" in out.stderr
    assert "wrong-read" not in out.stderr


# --------------------------------------------------------------------------- uncertain pushes


@pytest.mark.stack
@pytest.mark.usefixtures("stack_map")
def test_a_controller_that_answers_late_ends_confirmed_and_the_message_passes(db, stack):
    """A proxy in front of the stack's controller forwards /savemap at once (rspamd applies it)
    and answers only after the deadline: the read-back finds the new generation."""
    _mailbox(db, "kunde@firma.de")
    mid = new_message_id("late")
    with fault_server(stack.controller_url) as proxy:
        proxy.rules["/savemap"] = "late"
        proxy.late_seconds = 3 * 1.0
        late = ControllerSettings("mx1", proxy.url, stack.password, stack.enable_password)
        settings = _settings(stack, late)
        settings = RspamdSettings(
            controllers=settings.controllers, timeout=1.0, release_map=settings.release_map
        )
        started = time.monotonic()
        with Cluster(settings) as cluster:
            release = ReleaseService(db, cluster).release(
                mid, "kunde@firma.de", digest=_d(mid), ticket="T-6", operator=OPERATOR
            )
        took = time.monotonic() - started
    assert took < 3 * 1.0 + 2, f"{took:.1f} s"
    assert release.state() == "active" and _states(db) == ["confirmed"]
    assert f"kunde@firma.de|{_d(mid)}" in _map_lines(stack)
    with db.connect() as conn:
        actions = [e.action for e in read(conn, target="kunde@firma.de")]
    assert actions == ["release-outbound", "release-pending"]


@pytest.mark.stack
@pytest.mark.usefixtures("stack_map")
def test_a_controller_that_swallows_the_save_ends_withdrawn_in_the_real_map(db, stack):
    """mx2 (a controller of its own) takes /savemap without applying it and hangs; the stack's
    controller, mx1, took the map: the release comes off it again and the row says withdrawn."""
    _mailbox(db, "kunde@firma.de")
    mid = new_message_id("lost")
    real = ControllerSettings("mx1", stack.controller_url, stack.password, stack.enable_password)
    with fault_server() as other:
        other.rules["/savemap"] = "drop"
        other.map_uri = str(stack.release_map)
        lost = ControllerSettings("mx2", other.url, "x", "y")
        settings = _settings(stack, real, lost)
        settings = RspamdSettings(
            controllers=settings.controllers, timeout=1.0, release_map=settings.release_map
        )
        with Cluster(settings) as cluster, pytest.raises(ReleaseWithdrawn) as info:
            ReleaseService(db, cluster).release(
                mid, "kunde@firma.de", digest=_d(mid), ticket="T-7", operator=OPERATOR
            )
    assert "mx2" in str(info.value) and "did not answer /savemap within 1 s" in str(info.value)
    assert not any(_d(mid) in line for line in _map_lines(stack))
    assert _states(db) == ["withdrawn"]


def test_db_init_adds_the_state_column_to_an_older_database(db):
    """A database from before releases had a state, a digest and uses: its releases read as
    confirmed, once, and have no map line (no digest)."""
    from sqlalchemy import inspect, text

    with db.begin() as conn:
        for column in ("state", "digest", "uses", "uses_left"):
            conn.execute(text(f"ALTER TABLE outbound_releases DROP COLUMN {column}"))
        conn.execute(
            text(
                "INSERT INTO outbound_releases (address, message_id, created_at, operator, "
                "ticket, expires_at) VALUES ('kunde@firma.de', 'old@firma.de', :now, 'anna', "
                "'T-0', :later)"
            ),
            {"now": utcnow(), "later": utcnow() + timedelta(hours=1)},
        )
    with db.connect() as conn:
        assert "state" not in {c["name"] for c in inspect(conn).get_columns("outbound_releases")}
    db.create_schema()
    db.create_schema()  # twice: nothing to add the second time
    with db.connect() as conn:
        (release,) = list_releases(conn)
    assert release.map_state == "confirmed" and release.state() == "active"
    assert (release.digest, release.uses, release.uses_left) == (None, 1, 1)
    with db.connect() as conn:
        assert map_lines(conn) == []
