"""What the send-log screen does in the background: plain functions that take their inputs as
arguments and return their result (screens/background.py brings it back to the screen)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helpdesk.errors import HelpdeskError, NotFound
from helpdesk.i18n import M, Text, _
from screens.activity import RECENT_MESSAGES, local_domains, open_logs

if TYPE_CHECKING:
    from helpdesk.logs.files import Follower, LogFile
    from helpdesk.mailcenter.mailboxes import Mailbox
    from helpdesk.sendlog.cache import SendlogCache
    from helpdesk.sendlog.offenders import Analysis, Report
    from helpdesk.sendlog.parallel import LogWorkers
    from helpdesk.sendlog.trails import SentMessage
    from helpdesk.watch.picture import LogPicture

CANCELLED_NOTE = M("reading cancelled: the list covers only the part read (F5 reads again)")


@dataclass
class ReadResult:
    report: Report
    note: Text | None
    analysis: Analysis
    files: list[LogFile]
    follower: Follower | None
    # the outbound line's log part, computed here from the same read (never a second one)
    outbound: LogPicture | None = None


def read_log(
    config: Any,
    db: Any,
    cancelled: Callable[[], bool],
    progress: Callable[[int, int], None],
) -> ReadResult:
    """Rank the window's senders. Cancelled, it ranks what was read so far (and cannot follow)."""
    from helpdesk.logs.files import Cancelled, Follower
    from helpdesk.sendlog.offenders import Analysis

    files, settings = open_logs(config)
    domains, warning = (None, None) if settings.local_domains else local_domains(db)
    analysis = Analysis(settings, local_domains=domains)
    if settings.cache:
        analysis.cache = session_cache()
    try:
        analysis.read(files, progress=progress, cancelled=cancelled, workers=log_workers())
    except Cancelled:
        report = analysis.report()
        return ReadResult(report, CANCELLED_NOTE, analysis, files, None, outbound(report))
    except HelpdeskError:
        raise
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}"
        raise HelpdeskError(M("Reading the log failed: {error}", error=detail)) from exc
    # Follow from where this read ended: the newest file is the one Exim writes to.
    try:
        follower = Follower(files[-1].path)
    except OSError:
        follower = None
    report = analysis.report()
    return ReadResult(report, warning, analysis, files, follower, outbound(report))


def outbound(report: Report, now: datetime | None = None) -> LogPicture:
    """The outbound line's log part; `now` for a follow tick (the report's end stays the
    time of the first read)."""
    from helpdesk.watch.picture import log_picture

    return log_picture(report, now=now)


def watch_actions(db: Any) -> list:
    """The watcher's latest actions, for the outbound line and view."""
    from helpdesk.watch.picture import watch_actions as actions

    with db.connect() as conn:
        return actions(conn)


_workers: list = []  # the session's log workers, started by the first large read


def log_workers() -> LogWorkers:
    """The session's log-reading processes (spawn context: the UI has threads). Started
    once and kept; a cancel (`c`) ends them at once and the next read starts new ones; they
    are daemon processes, so quitting ends them too."""
    from helpdesk.sendlog.parallel import LogWorkers

    if not _workers:
        _workers.append(LogWorkers())
    return _workers[0]


_cache: list = []  # the session's per-file results (helpdesk/sendlog/cache.py)


def session_cache() -> SendlogCache:
    """Kept for the session: a second F6 takes unchanged rotated logs from memory."""
    from helpdesk.sendlog.cache import default_cache

    if not _cache:
        _cache.append(default_cache(memory=True))
    return _cache[0]


def stop_log_workers() -> None:
    """End the session's log workers now (for the app's quit)."""
    if _workers:
        _workers[0].stop()


@dataclass
class Detail:
    user: str
    messages: list[SentMessage]
    sending: str


def read_detail(
    db: Any, user: str, report: Report, files: list[LogFile], cancelled: Callable[[], bool]
) -> Detail | None:
    """One sender's recent messages and sending state; None when cancelled."""
    from helpdesk.logs.files import Cancelled
    from helpdesk.mailcenter.mailboxes import get_mailbox
    from helpdesk.sendlog.trails import user_detail

    sending = ""
    try:
        if db is not None:
            with db.connect() as conn:
                sending = sending_text(get_mailbox(conn, user))
    except NotFound:
        sending = sending_text(None)
    except Exception:  # noqa: BLE001 - the log evidence matters more than this badge
        sending = ""
    try:
        found = user_detail(
            files,
            user,
            start=report.start,
            end=report.end,
            limit=RECENT_MESSAGES,
            cancelled=cancelled,
        )
    except Cancelled:
        return None
    return Detail(user, found.messages, sending)


@dataclass
class FollowUpdate:
    report: Report
    lines: int
    new_messages: dict[str, list[SentMessage]] = field(default_factory=dict)
    outbound: LogPicture | None = None


def follow_log(analysis: Analysis, follower: Follower, user: str | None) -> FollowUpdate | None:
    """What Exim wrote since the last tick, fed into the ranking; None when nothing came."""
    from helpdesk.sendlog.host_merge import follow_lines
    from helpdesk.sendlog.parser import iter_events
    from helpdesk.sendlog.trails import user_messages

    try:
        lines, new = 0, {}
        for _ in range(8):  # at most 64 MiB a tick; the rest on the next one
            data = follower.poll()
            if not data:
                break
            lines += data.count(b"\n") + 1
            analysis.feed(data)
            if user is not None:
                found = user_messages(iter_events(follow_lines(analysis, data)), user)
                if found:
                    new.setdefault(user, [])[:0] = found
    except (OSError, HelpdeskError) as exc:
        raise HelpdeskError(M("Following the log: {error}", error=_reason(exc))) from exc
    if not lines:
        return None
    report = analysis.report()
    return FollowUpdate(report, lines, new, outbound(report, datetime.now()))


def fetch_mailbox(db: Any, address: str, purpose: str) -> tuple[Mailbox, str]:
    """The mailbox to act on, fresh, and what for (suspend, reinstate, reset)."""
    from helpdesk.mailcenter.mailboxes import get_mailbox

    with db.connect() as conn:
        return get_mailbox(conn, address), purpose


def _reason(exc: Exception) -> Text | str:
    """What went wrong, still in any language when the core said it."""
    message = getattr(exc, "message", None)
    return message if isinstance(message, Text) else str(exc)


def sending_text(mailbox: Mailbox | None) -> str:
    """The app's own markup after the address, in the language of the moment."""
    if mailbox is None:
        return _(" · [yellow]no such mailbox here[/]")
    if not mailbox.smtp_enabled:
        return _(" · [b red]sending SUSPENDED[/]")
    return ""
