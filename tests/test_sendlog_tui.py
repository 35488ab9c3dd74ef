"""The send-log screen and the mailbox's Activity tab, driven with Pilot at 80x24 over real
Exim log lines; on the local stack, suspending the offender from the screen stops its mail."""

from __future__ import annotations

import smtplib
import threading
import time
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from textual.widgets import DataTable, ProgressBar, Static, TabbedContent

from helpdesk.config import Config, load_config
from helpdesk.mailcenter.audit import read
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.mailboxes import create_mailbox, get_mailbox
from screens.activity import ActivityTab
from screens.app import HelpdeskApp
from screens.dialogs.ticket import TicketDialog
from screens.mailbox import MailboxScreen
from screens.sendlog import SendLogScreen

pytestmark = pytest.mark.tui

VICTIM = "kontakt@gartenbau-schulz.example"
ANNA = "anna@gartenbau-schulz.example"
LARS = "lars@gartenbau-schulz.example"


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


class LogWriter:
    """Exim mainlog lines as the stack's Exim writes them (log_selector +subject
    +received_recipients), each message with its deliveries and Completed line."""

    def __init__(self) -> None:
        self.seq = 0

    def message(
        self, t: datetime, user: str, ip: str, rcpts: list[str], *, tls: bool = True
    ) -> list[str]:
        self.seq += 1
        eid = f"1xTui{self.seq % 10}-{self.seq:06d}-Ab"
        proto = "P=esmtpsa X=TLS1.3:TLS_AES_256_GCM_SHA384:256" if tls else "P=esmtpa"
        lines = [
            f"{stamp(t)} {eid} <= {user} H=(pc) [{ip}]:4711 I=[127.0.0.1]:587 {proto} "
            f"A=sql_plain:{user} S=1234 id=m{self.seq}@{user.split('@')[1]} "
            f'T="Angebot {self.seq}" for {" ".join(rcpts)}'
        ]
        for r in rcpts:
            lines.append(f"{stamp(t)} {eid} => {r} R=dnslookup T=remote_smtp H=mx [198.51.100.1]")
        lines.append(f"{stamp(t)} {eid} Completed")
        return lines

    def refused(self, t: datetime, user: str, ip: str) -> str:
        self.seq += 1
        return (
            f"{stamp(t)} 1xTuiR-{self.seq:06d}-Zz H=(pc) [{ip}]:4711 I=[127.0.0.1]:587 "
            f"F=<{user}> A=sql_plain:{user} rejected after DATA: The E-Mail you sended has been "
            "blocked because it may contain SPAM. Please contact support."
        )


def write_log(path: Path, now: datetime) -> LogWriter:
    """Two ordinary customers, and the taken-over account: once from its usual address two
    days ago, then in the last hour 60 messages in 3 minutes from a new address, 12 refused."""
    w = LogWriter()
    lines: list[str] = []
    lines += w.message(now - timedelta(days=2), VICTIM, "198.51.100.7", ["a@web.example"])
    lines += w.message(now - timedelta(hours=3), ANNA, "198.51.100.8", ["kunde@web.example"])
    lines += w.message(now - timedelta(hours=2), LARS, "198.51.100.9", [ANNA])
    t0 = now - timedelta(minutes=50)
    for k in range(60):
        rcpts = [f"x{k}@gmail.example", f"y{k}@gmx.example"]
        lines += w.message(t0 + timedelta(seconds=3 * k), VICTIM, "192.0.2.201", rcpts, tls=False)
    for k in range(12):
        lines.append(w.refused(t0 + timedelta(seconds=3 * k + 1), VICTIM, "192.0.2.201"))
    for k in range(3):
        lines.append(
            f"{stamp(t0 - timedelta(minutes=k))} sql_plain authenticator failed for (pc) "
            f"[203.0.113.9]:5555 I=[127.0.0.1]:587: 535 Incorrect authentication data "
            f"(set_id={VICTIM})"
        )
    lines.sort(key=lambda line: line[:19])
    path.write_text("\n".join(lines) + "\n")
    return w


def make_app(db: Database, log: Path | str) -> HelpdeskApp:
    url = db.url.render_as_string(hide_password=False)
    config = Config(None, {"database": {"url": url}, "sendlog": {"paths": [str(log)]}})
    return HelpdeskApp(config, db=db)


def seed(db: Database) -> None:
    with db.begin() as conn:
        for address in (VICTIM, ANNA, LARS):
            create_mailbox(conn, address, realname=address.split("@")[0].title())


@pytest.fixture
def sqlite_db(tmp_path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    database.create_schema()
    yield database
    database.dispose()


async def settle(app, pilot, pause: float = 0.0) -> None:
    await pilot.pause(pause) if pause else await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def open_send_log(app, pilot) -> SendLogScreen:
    await settle(app, pilot)
    await pilot.press("f6")
    await settle(app, pilot)
    # the highlighted sender's messages are read once the cursor has rested
    await settle(app, pilot, 0.5)
    assert isinstance(app.screen, SendLogScreen)
    return app.screen


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def users_in(screen) -> list[str]:
    """The ranked users, in order (by row key: a long address is cut with … in its cell)."""
    table = screen.query_one("#sendlog-offenders", DataTable)
    return [row.key.value for row in table.ordered_rows]


async def test_ranks_the_taken_over_account_first_and_suspends_it(db, tmp_path):
    seed(db)
    write_log(tmp_path / "mainlog", datetime.now().replace(microsecond=0))
    app = make_app(db, tmp_path / "mainlog")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_send_log(app, pilot)
        assert not screen.query_one(ProgressBar).display
        # Harmless senders are hidden until `a`.
        assert users_in(screen) == [VICTIM]
        assert "1 suspicious of 3 senders" in text_of(screen, "#sendlog-status")
        summary = text_of(screen, "#activity-summary")
        assert "72 messages in 5 minutes" in summary
        assert "12 refused as spam" in summary
        assert "from 1 client address never seen before" in summary
        assert "192.0.2.201 (72, new)" in text_of(screen, "#activity-ips")
        assert "Failed logins: 3 from 203.0.113.9" in text_of(screen, "#activity-ips")
        messages = screen.query_one("#activity-messages", DataTable)
        assert messages.row_count == 50  # the most recent, refused ones included
        fates = {str(messages.get_row_at(i)[1]) for i in range(messages.row_count)}
        assert fates == {"delivered", "refused"}
        spark = screen.query_one("#activity-spark")
        assert sum(spark.data) == 72 and max(spark.data) >= 36  # the burst may span 2 buckets

        await pilot.press("a")
        await settle(app, pilot)
        assert users_in(screen) == [VICTIM, ANNA, LARS]
        await pilot.press("a")
        await settle(app, pilot)

        await pilot.press("s")
        await settle(app, pilot)
        assert isinstance(app.screen, TicketDialog)
        await pilot.press(*"T-0815", "enter", *"account taken over", "enter", "f2")
        await settle(app, pilot)
        assert app.screen is screen
        assert "SUSPENDED" in text_of(screen, "#activity-summary")
        assert "can no longer send" in text_of(screen, "#sendlog-status")

    with db.connect() as conn:
        assert get_mailbox(conn, VICTIM).smtp_enabled is False
        [entry] = read(conn, target=VICTIM)
    assert (entry.action, entry.ticket, entry.reason) == ("suspend", "T-0815", "account taken over")
    assert entry.after == {"smtp_enabled": False}


async def test_mailbox_and_password_reset_open_for_the_selected_sender(sqlite_db, tmp_path):
    from screens.reset import ResetPasswordScreen

    seed(sqlite_db)
    write_log(tmp_path / "mainlog", datetime.now().replace(microsecond=0))
    app = make_app(sqlite_db, tmp_path / "mainlog")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_send_log(app, pilot)
        await pilot.press("p")
        await settle(app, pilot)
        assert isinstance(app.screen, ResetPasswordScreen)
        assert app.screen.mailbox.address == VICTIM
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is screen

        await pilot.press("o")
        await settle(app, pilot)
        assert isinstance(app.screen, MailboxScreen) and app.screen.address == VICTIM
        # F6 from there goes back to the open send log instead of reading again.
        await pilot.press("f6")
        await settle(app, pilot)
        assert app.screen is screen


async def test_a_sender_missing_from_the_database_is_said(sqlite_db, tmp_path):
    write_log(tmp_path / "mainlog", datetime.now().replace(microsecond=0))
    app = make_app(sqlite_db, tmp_path / "mainlog")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_send_log(app, pilot)
        assert "no such mailbox here" in text_of(screen, "#activity-summary")
        await pilot.press("s")
        await settle(app, pilot)
        assert app.screen is screen
        assert VICTIM in text_of(screen, "#sendlog-status")
        assert "-error" in screen.query_one("#sendlog-status").classes


async def test_no_readable_log_is_said_on_the_screen(sqlite_db, tmp_path):
    app = make_app(sqlite_db, tmp_path / "nope" / "mainlog*")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_send_log(app, pilot)
        status = text_of(screen, "#sendlog-status")
        assert status.startswith("No send log to read: no log file matches")
        assert "nope" in text_of(screen, "#activity-summary")
        assert screen.query_one("#sendlog-offenders", DataTable).row_count == 0


async def test_nothing_configured_names_the_setting(sqlite_db, tmp_path, monkeypatch):
    from helpdesk.sendlog.settings import SendlogSettings

    # The built-in default (/var/log/exim4/mainlog*) may exist on a test machine: use one
    # that does not, as if it were the default.
    default = SendlogSettings(paths=(str(tmp_path / "var" / "mainlog*"),))
    monkeypatch.setattr(SendlogSettings, "from_config", classmethod(lambda cls, c: default))
    url = sqlite_db.url.render_as_string(hide_password=False)
    app = HelpdeskApp(Config(tmp_path / "helpdesk.toml", {"database": {"url": url}}), db=sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_send_log(app, pilot)
        status = text_of(screen, "#sendlog-status")
        assert "No send log is configured: set [sendlog] paths in" in status


async def test_reading_is_cancellable_and_the_ui_stays_responsive(sqlite_db, tmp_path, monkeypatch):
    """A log that takes long to read: the reader is held after its first chunk until the test
    lets it go, so the test sees the screen while reading, whatever the machine's speed."""
    import helpdesk.logs.files
    import helpdesk.sendlog.offenders

    seed(sqlite_db)
    write_log(tmp_path / "mainlog", datetime.now().replace(microsecond=0))
    monkeypatch.setattr(helpdesk.logs.files, "CHUNK", 4096)
    gate = threading.Event()
    real_chunks = helpdesk.sendlog.offenders.chunks

    def held_chunks(*args, **kwargs):
        for n, chunk in enumerate(real_chunks(*args, **kwargs)):
            if n == 1:
                gate.wait(30)
            yield chunk

    monkeypatch.setattr(helpdesk.sendlog.offenders, "chunks", held_chunks)
    app = make_app(sqlite_db, tmp_path / "mainlog")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            await pilot.press("f6")
            await pilot.pause(0.2)
            screen = app.screen
            assert isinstance(screen, SendLogScreen) and screen.reading
            bar = screen.query_one(ProgressBar)
            assert bar.display and 0 < bar.progress < bar.total
            # the event loop is free: keys work while the worker reads
            await pilot.press("a")
            await pilot.pause()
            assert screen.show_all
            await pilot.press("c")
            await pilot.pause()
            gate.set()
            await settle(app, pilot)
            assert not screen.reading and not bar.display
            assert "reading cancelled" in text_of(screen, "#sendlog-status")
    finally:
        gate.set()


async def test_follow_mode_picks_up_new_lines(sqlite_db, tmp_path):
    seed(sqlite_db)
    now = datetime.now().replace(microsecond=0)
    log = tmp_path / "mainlog"
    writer = write_log(log, now)
    app = make_app(sqlite_db, log)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_send_log(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        assert users_in(screen) == [VICTIM, ANNA, LARS]
        await pilot.press("f")
        await pilot.pause()
        assert screen.following and "following" in text_of(screen, "#sendlog-status")
        newcomer = "buero@kanzlei-weber.example"
        with log.open("a") as f:
            for k in range(40):
                t = datetime.now().replace(microsecond=0)
                f.write("\n".join(writer.message(t, newcomer, "192.0.2.77", [f"z{k}@web.example"])))
                f.write("\n")
        deadline = time.monotonic() + 10
        while newcomer not in users_in(screen) and time.monotonic() < deadline:
            await settle(app, pilot, 0.3)
        assert newcomer in users_in(screen)
        stats = screen.report.user(newcomer)
        assert stats.messages == 40 and stats.peak_5min == 40
        await pilot.press("f")
        await pilot.pause()
        assert not screen.following


async def test_mailbox_screen_shows_its_own_activity(sqlite_db, tmp_path):
    seed(sqlite_db)
    write_log(tmp_path / "mainlog", datetime.now().replace(microsecond=0))
    app = make_app(sqlite_db, tmp_path / "mainlog")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(MailboxScreen(VICTIM))
        await settle(app, pilot)
        app.screen.query_one(TabbedContent).active = "tab-activity"
        await settle(app, pilot, 0.2)
        tab = app.screen.query_one(ActivityTab)
        assert "12 refused as spam" in text_of(tab, "#activity-summary")
        assert "recent messages" in text_of(tab, "#activity-tab-status")
        table = tab.query_one("#activity-messages", DataTable)
        assert table.row_count == 50
        table.focus()
        await pilot.press("enter")
        await settle(app, pilot)
        detail = str(app.screen.query_one("#message-detail", Static).render())
        assert "Fate" in detail


# --------------------------------------------------------------------------- on the stack


def _submit(port: int, user: str, password: str, subject: str, rcpts: list[str], source: str):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = user, ", ".join(rcpts), subject
    msg.set_content("Hallo,\n\nanbei das Angebot.\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=30, source_address=(source, 0)) as smtp:
        smtp.ehlo("pc")
        smtp.login(user, password)
        try:
            smtp.send_message(msg)
        except smtplib.SMTPDataError as exc:
            return exc.smtp_code, exc.smtp_error.decode()
        except smtplib.SMTPSenderRefused as exc:
            return exc.smtp_code, exc.smtp_error.decode()
    return 250, ""


@pytest.mark.stack
async def test_suspending_from_the_screen_stops_the_offender_on_the_stack(stack, tmp_path):
    """A fresh account bursts through the real Exim (some of it refused by rspamd); the screen,
    reading the stack's log, ranks it first; `s` with a ticket suspends it; its next
    submission is refused with Exim's "sending is suspended"."""
    password = "Burst-Pass-2026!"
    user = stack.add_mailbox(stack.unique_address("burst"), password)
    offset = stack.mainlog.stat().st_size
    for k in range(40):
        subject = "HELPDESK-TEST-SPAM offer" if k % 4 == 0 else f"Angebot {k}"
        rcpts = [f"r{k}@web.example", f"s{k}@gmx.example"]
        _submit(stack.submission_port, user, password, subject, rcpts, "127.0.0.211")
    assert stack.wait_for_log(rf"A=\w+:{user} rejected after DATA")
    time.sleep(1)  # the last lines of the sessions
    with stack.mainlog.open("rb") as log:
        log.seek(offset)
        (tmp_path / "mainlog").write_bytes(log.read())

    config = load_config(stack.config_path)
    config.data["sendlog"] = {**config.section("sendlog"), "paths": [str(tmp_path / "mainlog")]}
    app = HelpdeskApp(config)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_send_log(app, pilot)
            assert users_in(screen)[0] == user
            assert "10 refused as spam" in text_of(screen, "#activity-summary")
            await pilot.press("s")
            await settle(app, pilot)
            await pilot.press(*"STACK-7", "enter", "enter", "f2")
            await settle(app, pilot)
            assert "SUSPENDED" in text_of(screen, "#activity-summary")

        code, text = _submit(
            stack.submission_port, user, password, "Noch eins", ["t@web.example"], "127.0.0.211"
        )
        assert code == 550
        assert "Sending is suspended for this mailbox" in text
        with stack.db.connect() as conn:
            [entry] = read(conn, target=user)
        assert (entry.action, entry.ticket) == ("suspend", "STACK-7")
    finally:
        if app.db is not None:
            app.db.dispose()
        stack.add_mailbox(user, password, smtp_enabled=True)


async def test_a_generated_day_of_mail_is_a_bounded_list(sqlite_db, tmp_path):
    from tests.test_offenders import _bench_module

    truth = _bench_module().generate(tmp_path / "mainlog", 3 << 20, seed=4)
    app = make_app(sqlite_db, tmp_path / "mainlog")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_send_log(app, pilot)
        assert users_in(screen)[0] == truth["victim"]
        await pilot.press("a")
        await settle(app, pilot)
        assert len(screen.report.users) > 200
        assert screen.query_one("#sendlog-offenders", DataTable).row_count == 200
        assert "the worst 200 shown" in text_of(screen, "#sendlog-status")
