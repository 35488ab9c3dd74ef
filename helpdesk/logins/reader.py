"""Reading Dovecot's log and Exim's mainlog into LoginEvents, streamed and cancellable.

Files come through the shared log reader (helpdesk.logs.files: globs, rotation, compressed
files, FIFOs refused, permission lines naming the group). A Dovecot file's format is decided by
its first line; a file in no known format is skipped with one warning naming it and that line.
`keep(event)` decides, while reading, which events are kept: memory stays bounded by what the
caller wants, not by the size of the logs.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from helpdesk.errors import HelpdeskError
from helpdesk.i18n import M, Text
from helpdesk.logins.dovecot import DovecotParser
from helpdesk.logins.events import LoginEvent
from helpdesk.logins.exim import parse_exim
from helpdesk.logins.formats import PARSERS, detect, parse_journal
from helpdesk.logs.files import Cancelled, LogFile, expand, line_batches
from helpdesk.logs.timestamps import key_to_datetime, split_line
from helpdesk.plaintext import clip

JOURNAL_DEADLINE = 120.0  # seconds for one journalctl read, whatever its size

Progress = Callable[[int, int], None]


@dataclass
class ReadResult:
    events: list[LoginEvent] = field(default_factory=list)
    warnings: list[Text] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    lines: int = 0
    unreadable: int = 0


def _mtime(lf: LogFile) -> datetime:
    try:
        return datetime.fromtimestamp(lf.path.stat().st_mtime)
    except (OSError, ValueError, OverflowError):
        return datetime.now()


def _first_line(lines: list[bytes]) -> bytes | None:
    return next((line for line in lines if line.strip()), None)


def read_logs(
    dovecot: list[LogFile],
    exim: list[LogFile],
    *,
    start: datetime,
    keep: Callable[[LoginEvent], bool],
    journal: bool = False,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ReadResult:
    """Every login event from `start` on that `keep` accepts, oldest first per source."""
    result = ReadResult()
    total = sum(f.size for f in dovecot) + sum(f.size for f in exim)
    done = [0]

    def step(base: int) -> Progress:
        def report(n: int, _total: int) -> None:
            if progress is not None:
                progress(base + n, total)

        return report

    parser = DovecotParser()
    for lf in dovecot:
        result.files.append(str(lf.path))
        _read_dovecot(lf, parser, start, keep, result, step(done[0]), cancelled)
        done[0] += lf.size
    if journal:
        _read_journal(parser, start, keep, result, cancelled)
    for lf in exim:
        result.files.append(str(lf.path))
        for _lf, _first, lines in line_batches([lf], progress=step(done[0]), cancelled=cancelled):
            for line in lines:
                result.lines += 1
                if b"A=" not in line and b"AUTH" not in line and b"authenticator" not in line:
                    continue
                split = split_line(line)
                if split is None:
                    result.unreadable += 1
                    continue
                key, offset = split
                when = key_to_datetime(key)
                if when < start:
                    continue
                event = parse_exim(when, line[offset:])
                if event is not None and keep(event):
                    result.events.append(event)
        done[0] += lf.size
    result.events.sort(key=lambda e: e.time)
    return result


def _read_dovecot(
    lf: LogFile,
    parser: DovecotParser,
    start: datetime,
    keep: Callable[[LoginEvent], bool],
    result: ReadResult,
    progress: Progress,
    cancelled: Callable[[], bool] | None,
) -> None:
    mtime = _mtime(lf)
    parse = None
    for _lf, _first, lines in line_batches([lf], progress=progress, cancelled=cancelled):
        if parse is None:
            first = _first_line(lines)
            if first is None:
                continue
            kind = detect(first)
            if kind is None:
                result.warnings.append(
                    M(
                        "{file}: not a Dovecot log format this program reads; "
                        "first unrecognised line: {line}",
                        file=str(lf.path),
                        line=clip(first.decode("utf-8", "replace"), 120),
                    )
                )
                return
            parse = PARSERS[kind]
        for line in lines:
            result.lines += 1
            if b"-login: " not in line and b"): " not in line:
                continue
            parsed = parse(line, mtime)
            if parsed is None:
                continue  # another program's line in a shared syslog file
            when, text = parsed
            if when < start and b"ID sent" not in text:
                continue
            event = parser.feed(when, text)
            if event is not None and when >= start and keep(event):
                result.events.append(event)


def journal_lines(
    since: datetime, cancelled: Callable[[], bool] | None, warnings: list[Text] | None = None
) -> Iterator[bytes]:
    """`journalctl -o json` lines of Dovecot since `since`, with a deadline; what journalctl
    says when it fails (no journal, no permission) is added to `warnings`."""
    command = [
        "journalctl",
        "-o",
        "json",
        "--no-pager",
        "--since",
        since.strftime("%Y-%m-%d %H:%M:%S"),
        "SYSLOG_IDENTIFIER=dovecot",
    ]
    try:
        # stderr is a line or two (an error): read after stdout ends, it cannot fill its pipe.
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        error = exc.strerror or str(exc)
        raise HelpdeskError(M("cannot run journalctl: {error}", error=error)) from None
    deadline = time.monotonic() + JOURNAL_DEADLINE
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if cancelled is not None and cancelled():
                raise Cancelled(M("reading the log was cancelled"))
            if time.monotonic() > deadline:
                raise HelpdeskError(
                    M("journalctl did not finish within {n} seconds", n=int(JOURNAL_DEADLINE))
                )
            yield line.rstrip(b"\n")
        assert proc.stderr is not None
        said = proc.stderr.read(4096).decode("utf-8", "replace").strip().splitlines()
        code = proc.wait()
        if warnings is not None and (code != 0 or said):
            text = said[-1][:200] if said else f"exit {code}"
            warnings.append(M("journalctl: {text}", text=text))
    finally:
        proc.kill()
        proc.wait()


def _read_journal(
    parser: DovecotParser,
    start: datetime,
    keep: Callable[[LoginEvent], bool],
    result: ReadResult,
    cancelled: Callable[[], bool] | None,
) -> None:
    result.files.append("journal")
    now = datetime.now()
    for line in journal_lines(start - timedelta(minutes=1), cancelled, result.warnings):
        result.lines += 1
        parsed = parse_journal(line, now)
        if parsed is None:
            result.unreadable += 1
            continue
        event = parser.feed(*parsed)
        if event is not None and parsed[0] >= start and keep(event):
            result.events.append(event)


def open_files(patterns: tuple[str, ...], what: Text) -> tuple[list[LogFile], Text | None]:
    """The files, or none and a warning naming what could not be read."""
    if not patterns:
        return [], None
    try:
        return expand(patterns), None
    except HelpdeskError as exc:
        return [], M("{what}: {error}", what=what, error=str(exc))
