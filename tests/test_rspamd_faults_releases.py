"""Releases against slow, hanging and broken rspamd controllers: a release that a controller
leaves uncertain ends confirmed or withdrawn, a withdrawal that fails is finished by
`releases --sync`, and `suspend` works on the same database while a release is stuck. The
faults and their servers are those of tests/test_rspamd_faults.py.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox
from helpdesk.mailcenter.schema import audit_log, mailboxes, outbound_releases
from helpdesk.rspamd.client import (
    Cluster,
    RspamdError,
    RspamdSettings,
)
from helpdesk.rspamd.releases import ReleaseService, ReleaseWithdrawn
from tests.conftest import run_cli
from tests.fault_server import fault_server
from tests.test_rspamd_faults import (
    BOUND,
    OPERATOR,
    TIMEOUT,
    _args,
    _config,
    _d,
    _in_process,
    _settings,
    faults_database,
)


@pytest.fixture
def server():
    with fault_server() as s:
        yield s


@pytest.fixture
def sqlite_db(tmp_path):
    database = faults_database(tmp_path)
    yield database
    database.dispose()


# --------------------------------------------------------------------------- releases


def _release_db(db: Database) -> None:
    with db.begin() as conn:
        create_mailbox(conn, "kunde@firma.de", realname="Test Kunde")


def _states(db: Database) -> dict[str, str]:
    with db.connect() as conn:
        rows = conn.execute(select(outbound_releases.c.message_id, outbound_releases.c.state))
        return {r.message_id: r.state for r in rows}


def _actions(db: Database) -> list[str]:
    with db.connect() as conn:
        return list(conn.execute(select(audit_log.c.action).order_by(audit_log.c.id)).scalars())


def test_a_save_that_is_never_applied_is_withdrawn_everywhere(db, server):
    """mx1 takes the map; mx2 swallows /savemap and hangs: the release comes off mx1 again."""
    _release_db(db)
    with fault_server() as second:
        second.rules["/savemap"] = "drop"
        started = time.monotonic()
        with Cluster(_settings(server, second)) as cluster, pytest.raises(ReleaseWithdrawn) as info:
            ReleaseService(db, cluster).release(
                "stuck-1@firma.de",
                "kunde@firma.de",
                digest=_d("stuck-1@firma.de"),
                ticket="T-1",
                operator=OPERATOR,
            )
        assert time.monotonic() - started < BOUND
        assert "stuck-1@firma.de" not in server.map_text.casefold()
        assert "stuck-1@firma.de" not in second.map_text.casefold()
    message = str(info.value)
    assert "mx2" in message and "did not answer /savemap within 1 s" in message
    assert "withdrawn from every controller" in message and "\n" not in message
    assert _states(db) == {"stuck-1@firma.de": "withdrawn"}
    assert _actions(db) == ["release-pending", "release-withdrawn"]
    with db.connect() as conn:
        reason = conn.execute(
            select(audit_log.c.reason).where(audit_log.c.action == "release-withdrawn")
        ).scalar_one()
    assert "did not answer /savemap" in reason


def test_on_a_german_desk_the_error_reads_german_and_the_audit_row_english(db, server):
    """A controller's error is kept as a message id up to where it is shown: the operator reads
    it in the UI language, the audit row (read by anyone later) keeps the English."""
    from helpdesk.i18n import set_language

    _release_db(db)
    set_language("de")
    try:
        with fault_server() as second:
            second.rules["/savemap"] = "drop"
            cluster = Cluster(_settings(server, second))
            with cluster, pytest.raises(ReleaseWithdrawn) as info:
                ReleaseService(db, cluster).release(
                    "stuck-de@firma.de",
                    "kunde@firma.de",
                    digest=_d("stuck-de@firma.de"),
                    ticket="T-1",
                    operator=OPERATOR,
                )
        shown = str(info.value)
    finally:
        set_language("en")
    english = info.value.english()
    assert "mx2" in shown and shown != english and "did not answer" not in shown
    assert "did not answer /savemap within 1 s" in english
    with db.connect() as conn:
        reason = conn.execute(
            select(audit_log.c.reason).where(audit_log.c.action == "release-withdrawn")
        ).scalar_one()
    assert "did not answer /savemap within 1 s" in reason


def test_a_late_answer_whose_save_took_effect_is_confirmed(db, server):
    _release_db(db)
    server.rules["/savemap"] = "late"
    server.late_seconds = 3 * TIMEOUT
    with Cluster(_settings(server)) as cluster:
        release = ReleaseService(db, cluster).release(
            "late-1@firma.de",
            "kunde@firma.de",
            digest=_d("late-1@firma.de"),
            ticket="T-1",
            operator=OPERATOR,
        )
    assert release.state() == "active"
    assert f"kunde@firma.de|{_d('late-1@firma.de')}" in server.map_text
    assert _actions(db) == ["release-pending", "release-outbound"]


def test_a_withdrawal_that_fails_too_is_finished_by_sync(db, server):
    """The save lands late and then the controller stops answering: the row stays pending,
    the operator is told so, and `releases --sync` withdraws it once the controller is back."""
    _release_db(db)
    server.rules["/savemap"] = "late"
    server.after_save = {"/getmap": "hang", "/savemap": "hang"}
    with Cluster(_settings(server)) as cluster, pytest.raises(RspamdError) as info:
        ReleaseService(db, cluster).release(
            "limbo-1@firma.de",
            "kunde@firma.de",
            digest=_d("limbo-1@firma.de"),
            ticket="T-1",
            operator=OPERATOR,
        )
    message = str(info.value)
    assert "stays pending" in message and "releases --sync" in message and "\n" not in message
    assert _states(db) == {"limbo-1@firma.de": "pending"}
    assert _d("limbo-1@firma.de") in server.map_text  # live there, and the row says pending
    server.rules = {}
    with Cluster(_settings(server)) as cluster:
        outcome = ReleaseService(db, cluster).sync(OPERATOR)
    assert [r.message_id for r in outcome.withdrawn] == ["limbo-1@firma.de"]
    assert not outcome.errors and not outcome.pending
    assert _d("limbo-1@firma.de") not in server.map_text
    assert _states(db) == {"limbo-1@firma.de": "withdrawn"}
    assert _actions(db)[-1] == "release-withdrawn"


def test_suspend_works_while_a_release_is_stuck_on_a_hanging_controller(db, server, tmp_path):
    _release_db(db)
    server.rules["/savemap"] = "drop"
    url = db.url.render_as_string(hide_password=False)
    config = _config(tmp_path, url, server)
    config.write_text(config.read_text().replace("timeout = 1.0", "timeout = 4.0"))
    release = subprocess.Popen(
        [str(Path(sys.executable).parent / "helpdesk"), "--config", str(config), "release",
         "stuck-2@firma.de", "--user", "kunde@firma.de", "--digest", _d("stuck-2@firma.de"),
         "--ticket", "T-1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert server.arrived["/savemap"].wait(15), "the release never reached /savemap"
        suspended = run_cli("suspend", "kunde@firma.de", "--ticket", "T-9", config=config)
        still_stuck = release.poll() is None
    finally:
        _, err = release.communicate(timeout=30)
    assert suspended.returncode == 0, suspended.stderr
    assert still_stuck, "the release ended before suspend ran: the test proved nothing"
    assert release.returncode == 1 and "withdrawn from every controller" in err, err
    with db.connect() as conn:
        enabled = conn.execute(
            select(mailboxes.c.smtp_enabled).where(mailboxes.c.address == "kunde@firma.de")
        ).scalar_one()
    assert not enabled
    assert _states(db) == {"stuck-2@firma.de": "withdrawn"}


def test_two_releases_in_two_processes_both_land(db, server, tmp_path):
    _release_db(db)
    with db.begin() as conn:
        create_mailbox(conn, "zweite@firma.de", realname="Zweite Kundin")
    config = _config(tmp_path, db.url.render_as_string(hide_password=False), server)
    helpdesk = str(Path(sys.executable).parent / "helpdesk")
    jobs = [("kunde@firma.de", "two-1@firma.de"), ("zweite@firma.de", "two-2@firma.de")]
    procs = [
        subprocess.Popen(
            [
                helpdesk,
                "--config",
                str(config),
                "release",
                mid,
                "--user",
                user,
                "--digest",
                _d(mid),
                "--ticket",
                "T-1",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for user, mid in jobs
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    assert {f"{u}|{_d(m)}" for u, m in jobs} <= set(server.map_text.splitlines())
    assert _states(db) == {"two-1@firma.de": "confirmed", "two-2@firma.de": "confirmed"}
    generations = [line for line in server.map_text.splitlines() if "generation" in line]
    assert generations == ["# generation 2"]


def test_a_revocation_that_does_not_reach_a_controller_is_said_and_finished_by_sync(db, server):
    _release_db(db)
    with Cluster(_settings(server)) as cluster:
        release = ReleaseService(db, cluster).release(
            "rev-1@firma.de",
            "kunde@firma.de",
            digest=_d("rev-1@firma.de"),
            ticket="T-1",
            operator=OPERATOR,
        )
    server.rules["/savemap"] = "500"
    with Cluster(_settings(server)) as cluster, pytest.raises(RspamdError) as info:
        ReleaseService(db, cluster).revoke(release.id, ticket="T-2", operator=OPERATOR)
    message = str(info.value)
    assert f"release #{release.id} is revoked in the database" in message
    assert "HTTP 500" in message and "releases --sync" in message and "\n" not in message
    assert f"kunde@firma.de|{_d('rev-1@firma.de')}" in server.map_text  # still let through there
    server.rules = {}
    with Cluster(_settings(server)) as cluster:
        outcome = ReleaseService(db, cluster).sync(OPERATOR)
    assert not outcome.errors and outcome.lines == 0
    assert "rev-1@firma.de" not in server.map_text
    with db.connect() as conn:
        (row,) = conn.execute(select(outbound_releases)).all()
    assert row.revoked_at is not None and row.state == "confirmed"


def test_a_release_waits_for_the_push_lock_a_bounded_time_and_changes_nothing(db, server):
    """Another command holds the push lock (it blocks no table): the release gives up with one
    line and writes nothing, while other writes to the database go on."""
    from helpdesk.rspamd.release_map import LockBusy, push_lock

    _release_db(db)
    settings = RspamdSettings(controllers=_settings(server).controllers, timeout=0.2)
    with push_lock(db, 5):
        with db.begin() as conn:  # the lock blocks no write
            create_mailbox(conn, "dritte@firma.de", realname="Dritte")
        started = time.monotonic()
        with Cluster(settings) as cluster, pytest.raises(LockBusy) as info:
            ReleaseService(db, cluster).release(
                "wait-1@firma.de",
                "kunde@firma.de",
                digest=_d("wait-1@firma.de"),
                ticket="T-1",
                operator=OPERATOR,
            )
        took = time.monotonic() - started
    assert "still saving the release map" in str(info.value)
    assert "nothing changed" in str(info.value) and "\n" not in str(info.value)
    assert 0.2 * 7 + 2 <= took < 0.2 * 7 + 2 + 3
    assert _states(db) == {} and _actions(db) == []
    assert server.seen == ["/maps"]


@pytest.mark.parametrize("path", ["/getmap", "/savemap"])
@pytest.mark.parametrize("rule", ["trickle", "hang", "huge", "garbage", "500", "drop", "late"])
def test_a_release_ends_confirmed_or_withdrawn_whatever_one_step_does(
    server, sqlite_db, tmp_path, path, rule
):
    config = _config(tmp_path, str(sqlite_db.url), server)
    server.rules[path] = rule
    server.late_seconds = 3 * TIMEOUT
    code, out, err, took = _in_process(config, *_args("release", tmp_path))
    assert took < BOUND, f"{rule} on {path}: {took:.1f} s"
    state = _states(sqlite_db)["new-1@firma.de"]
    live = f"kunde@firma.de|{_d('new-1@firma.de')}" in server.map_text
    if state == "confirmed":
        assert code == 0 and live
        assert err == ""  # --digest given: nothing to look up, nothing to warn about
    else:
        assert state == "withdrawn" and code == 1 and not live
        assert "withdrawn from every controller" in err
    assert err.count("\n") <= 1 and "Traceback" not in err
    # Only a late answer to a save that was applied can end confirmed.
    assert (state == "confirmed") == (rule == "late" and path == "/savemap")
