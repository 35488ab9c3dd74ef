"""The demo with the watcher, end to end (issue 17, "Done when"): a stack started as
`STACK_WATCH=1 make demo` starts it, the demo's traffic round, and what the operator sees. The
taken-over account runs into its sending limit (Exim refuses with the limit text), the watcher
suspends it without an operator (AUTO-watch, the watcher's OS user), F6 shows it, and
`helpdesk reputation` shows the stack's test listing and the big providers' refusals.

The stack is a second instance with its own STACK_DIR and ports (stack/README.md): the shared
one runs without a watcher, and a watcher there would act on every other test's accounts. Its
folder is kept between runs (rspamd's compiled cache makes a later start take seconds), its
database, mainlog and Exim's rate counters are not: every run starts from an empty database.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from helpdesk.config import load_config
from helpdesk.mailcenter.audit import read
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.schema import mailboxes, watch_positions
from tests.conftest import ROOT, run_cli
from tests.stack_fixture import _unavailable

pytestmark = pytest.mark.stack

TAKEN_OVER = "kontakt@gartenbau-schulz.example"
LIMIT_REPLY = "550 Sending limit reached: 100 recipients per hour. Contact support"
# The shared stack's ports plus 100 (STACK_*_PORT, stack/settings.py, stack/dns.py, ...).
PORTS = {
    "STACK_SUBMISSION_PORT": "2687",
    "STACK_INBOUND_PORT": "2625",
    "STACK_IMAP_PORT": "2243",
    "STACK_POP3_PORT": "2210",
    "STACK_LMTP_PORT": "2524",
    "STACK_RSPAMD_WORKER_PORT": "11633",
    "STACK_RSPAMD_CONTROLLER_PORT": "11634",
    "STACK_RSPAMD_CONTROLLER2_PORT": "11635",
    "STACK_DNS_PORT": "2653",
    "STACK_SIEVE_RELAY_PORT": "2626",
    "STACK_PROVIDERS_PORT": "2635",
}
STATE = Path(tempfile.gettempdir()) / (
    "helpdesk-watch-stack-" + hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]
)


@dataclass
class Demo:
    env: dict[str, str]  # the stack's .stack/env values
    config: Path
    db: Database
    mainlog: Path
    summary: dict  # the traffic round's


def _environ() -> dict[str, str]:
    """This process's environment for the second stack: none of the shared stack's settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("STACK_") and k not in ("DATABASE_URL", "HELPDESK_CONFIG")
    }
    return {**env, **PORTS, "STACK_DIR": str(STATE), "STACK_WATCH": "1"}


def _launcher(action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stack.launcher", action, "--no-install"],
        cwd=ROOT,
        env=_environ(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _fresh_state() -> None:
    """What a run leaves behind, gone: the database, the logs' contents, Exim's rate counters
    and queue, the captured mail. The stack is down meanwhile."""
    for path in [STATE / "mailcenter.sqlite", STATE / "traffic-summary.json"]:
        path.unlink(missing_ok=True)
    for folder in ("log", "exim/spool/db", "exim/spool/input", "exim/spool/msglog", "capture"):
        for path in (STATE / folder).glob("*"):
            if path.is_dir() and folder == "capture":
                for item in path.rglob("*"):
                    if item.is_file():
                        item.unlink()
            elif path.is_file():
                path.unlink()


def _wait(what: str, check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    if os.geteuid() != 0:
        _unavailable("needs root (rspamd, Dovecot and Exim switch to their own users)")
    if shutil.which("exim") is None:
        _unavailable("Exim is not installed (make stack-packages)")
    _launcher("down")  # one left by an interrupted run
    _fresh_state()
    try:
        out = _launcher("up")
        if out.returncode != 0:
            _unavailable((out.stderr or out.stdout).strip().splitlines()[-1])
        from stack.settings import read_env

        env = read_env(STATE / "env")
        db = Database(env["DATABASE_URL"])
        # The watcher keeps its position once it has looked at the log: from then on, nothing
        # the round writes escapes it (a first start begins at the end of the log).
        _wait("the watcher follows the mainlog", lambda: _position(db))
        output = STATE / "traffic.txt"
        round_ = subprocess.run(
            [sys.executable, "-m", "stack.traffic", "--output", str(output)],
            cwd=ROOT,
            env=_environ(),
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert round_.returncode == 0, round_.stderr
        summary = json.loads(output.read_text())
        yield Demo(env, Path(env["HELPDESK_CONFIG"]), db, Path(env["EXIM_MAINLOG"]), summary)
        db.dispose()
    finally:
        _launcher("down")


def _position(db: Database) -> bool:
    with db.connect() as conn:
        return conn.execute(select(watch_positions.c.path)).first() is not None


def _sending(db: Database, address: str) -> bool:
    with db.connect() as conn:
        return conn.execute(
            select(mailboxes.c.smtp_enabled).where(mailboxes.c.address == address)
        ).scalar_one()


def test_the_takeover_is_stopped_by_its_limit_and_suspended_by_the_watcher(demo):
    tally = demo.summary["users"][TAKEN_OVER]
    # Exim refused the spam run at its limit, with one reply line naming it and the contact.
    assert tally["refused_by"]["limit"] >= 3, tally
    assert tally["replies"]["limit"] == LIMIT_REPLY
    assert len(LIMIT_REPLY.removeprefix("550 ")) <= 75
    assert tally["recipients"] <= 100 and tally["sent"] < 40  # the run was 40 messages
    # ... and the watcher suspended it while the bot was still sending: the rest was refused
    # at MAIL, as after a suspension by hand.
    assert tally["refused_by"]["suspended"] > 0, tally
    assert tally["sent"] + sum(tally["refused_by"].values()) == tally["messages"] == 200
    log = demo.mainlog.read_text(errors="replace")
    limit_lines = [
        line
        for line in log.splitlines()
        # the recipients per hour, or (when the watcher comes later on a busy machine) the
        # messages per hour: the bot's attempts count towards both
        if "helpdesk limit: 100 " in line and f" per hour A={TAKEN_OVER} action=refuse" in line
    ]
    assert len(limit_lines) == tally["refused_by"]["limit"]
    suspended = log.count(f"rejected MAIL <{TAKEN_OVER}>: Sending is suspended")
    assert suspended == tally["refused_by"]["suspended"]

    assert not _sending(demo.db, TAKEN_OVER)
    with demo.db.connect() as conn:
        (entry,) = read(conn, target=TAKEN_OVER, action="suspend")
    assert (entry.ticket, entry.operator) == ("AUTO-watch", pwd.getpwuid(os.geteuid()).pw_name)
    assert (
        entry.reason == "helpdesk watch: 3 messages refused by the sending limits within 10 minutes"
    )
    evidence = entry.after["evidence"]
    assert len(evidence) == 3 and all(e["line"] in limit_lines for e in evidence)
    # Support was told, through the stack's Exim (captured).
    capture = Path(demo.env["CAPTURE_DIR"])
    _wait(
        "the support address's mail",
        lambda: any(
            f"sending suspended: {TAKEN_OVER}".encode() in p.read_bytes()
            for p in capture.rglob("*")
            if p.is_file()
        ),
    )

    # `helpdesk show`, as an operator looks the account up afterwards.
    shown = run_cli("show", TAKEN_OVER, "--json", config=demo.config)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["status"] == "suspended"


def test_the_send_log_ranks_it_first_with_what_exim_took(demo):
    offenders = run_cli("offenders", "--json", config=demo.config)
    assert offenders.returncode == 0, offenders.stderr
    top = json.loads(offenders.stdout)[0]
    tally = demo.summary["users"][TAKEN_OVER]
    assert (top["user"], top["accepted"]) == (TAKEN_OVER, tally["sent"])
    assert top["recipients"] == tally["recipients"] and top["no_tls"] == 1.0
    assert top["limit_refused"] > 0 and top["suspended_tries"] > 0
    assert "refused by its sending limit" in " ".join(top["reasons"])


@pytest.mark.tui
async def test_f6_shows_the_account_stopped_and_the_listing(demo):
    from screens.app import HelpdeskApp
    from screens.sendlog import SendLogScreen
    from tests.screen_check import screen_output

    async def until(pilot, what: str, done) -> str:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            await pilot.pause(0.1)
            text = screen_output(app)[0]
            if done(text):
                return text
        raise AssertionError(f"{what}:\n{screen_output(app)[0]}")

    app = HelpdeskApp(load_config(demo.config), db=demo.db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.push_screen(SendLogScreen())
        text = await until(pilot, "F6 read the log", lambda t: "asking" not in t and "senders" in t)
        rows = text.split("\n")
        # The listing and the providers' refusals, then the outbound line: one account over its
        # limit, stopped by the watcher.
        assert rows[1].strip().startswith("LISTED: 192.0.2.10 on zen.spamhaus.org (XBL)"), rows
        assert "1 over limit" in rows[2] and "stopped kontakt" in rows[2], rows
        # Stopped after a few messages, it still ranks first among the suspicious senders (the
        # default view): its limit refusals and its tries while suspended are its reasons.
        text = await until(pilot, "the account's detail", lambda t: "SUSPENDED" in t)
    ranking = [row for row in text.split("\n") if "@" in row and "·" not in row]
    assert ranking[0].split()[1] == TAKEN_OVER, ranking
    assert "sending SUSPENDED" in text
    assert "refused by its sending limit" in text


def test_reputation_shows_the_listing_and_the_providers_refusals(demo):
    # Exim hands the spam run to the providers' stand-in right after taking each message.
    _wait(
        "Microsoft's and Google's refusals in the mainlog",
        lambda: all(
            code in demo.mainlog.read_text(errors="replace") for code in ("(S3150)", "gsmtp")
        ),
    )
    out = run_cli("reputation", "--json", config=demo.config)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    listed = {
        (a["address"], a["blocklist"]): a
        for a in found["check"]["answers"]
        if a["state"] == "listed"
    }
    assert listed[("192.0.2.10", "zen.spamhaus.org")]["codes"] == ["127.0.0.4"]
    providers = {p["provider"]: p for p in found["refusals"]["providers"]}
    microsoft, google = providers["microsoft"], providers["google"]
    assert microsoft["refused"] > 0 and microsoft["blocked_share"] == 1.0
    assert [c["code"] for c in microsoft["codes"]] == ["S3150"]
    assert google["refused"] > 0 and [c["code"] for c in google["codes"]] == ["5.7.1"]
    # Every provider recipient of the messages Exim took was refused, none delivered.
    log = demo.mainlog.read_text(errors="replace")
    assert microsoft["deliveries"] + google["deliveries"] == log.count(" R=big_providers ")
    # The accounts that sent most before the listing began: the taken-over one first.
    senders = found["senders_before_listing"]
    assert senders and senders[0]["senders"][0]["user"] == TAKEN_OVER, senders
