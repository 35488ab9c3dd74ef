"""The watcher's loop: follow every path of `[sendlog] paths` from the position kept in the
database, feed the refusals to the tracker, act on a crossing, keep the position."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from helpdesk.errors import HelpdeskError
from helpdesk.i18n import M, Text
from helpdesk.logs.files import Follower, expand
from helpdesk.logs.timestamps import seconds_to_datetime
from helpdesk.mailcenter.audit import Operator, current_operator
from helpdesk.mailcenter.db import Database
from helpdesk.sendlog.offenders import Analysis
from helpdesk.sendlog.settings import SendlogSettings
from helpdesk.watch import notify, store
from helpdesk.watch.evidence import Crossing, Hit, Tracker, hit_of
from helpdesk.watch.settings import WatchSettings


@dataclass(frozen=True)
class Event:
    """What the watcher tells its operator: one line, and the data for --json."""

    kind: str  # "suspended", "allowed", "notified", "notify_failed", "following"
    address: str | None
    text: Text
    data: dict


class Watcher:
    def __init__(
        self,
        db: Database,
        settings: WatchSettings,
        paths: Iterable[str],
        *,
        operator: Operator | None = None,
        report: Callable[[Event], None] = lambda e: None,
        sendlog: SendlogSettings | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.patterns = [str(p) for p in paths]
        self.operator = operator or current_operator()
        self.report = report
        self.tracker = Tracker(settings)
        self.followers: dict[str, Follower] = {}
        self._allowed_told: set[str] = set()
        self.sendlog = sendlog or SendlogSettings()
        self.analysis: Analysis | None = None
        self._judged: set[str] = set()  # scored accounts already acted on (or left) this window

    def _follower(self, pattern: str) -> Follower | None:
        """The follower of the newest file of `pattern`, resumed at the kept position."""
        try:
            files = expand([pattern])
        except HelpdeskError:
            return None  # no file yet (or not readable yet): asked again at the next poll
        path = str(files[-1].path)
        known = self.followers.get(pattern)
        if known is not None and str(known.path) == path:
            return known
        saved = store.load_position(self.db, pattern)
        device, inode = store.file_identity(path)
        size = os.stat(path).st_size
        if saved is None:
            offset = size  # first start: what is already in the log was before our time
        elif (saved.device, saved.inode) == (device, inode) and saved.offset <= size:
            offset = saved.offset
        else:
            offset = 0  # rotated (or truncated) since: the new file from its start
        follower = Follower(path, offset)
        self.followers[pattern] = follower
        # Kept at once: lines written while the watcher is down are read after its restart.
        store.save_position(self.db, pattern, store.Position(device, follower.inode, offset))
        self.report(
            Event(
                "following",
                None,
                M("following {path} from byte {offset}", path=path, offset=offset),
                {"path": path, "offset": offset},
            )
        )
        return follower

    def _scores(self) -> Analysis | None:
        """The offender analysis of the score line, started again every `score_minutes`."""
        if self.settings.score <= 0:
            return None
        now = datetime.now().replace(microsecond=0)
        window = timedelta(minutes=self.settings.score_minutes)
        if self.analysis is None or now - self.analysis.start > window * 2:
            self.analysis = Analysis(self.sendlog, now=now, since=window)
            self._judged = set()
        return self.analysis

    def _check_scores(self) -> None:
        analysis = self.analysis
        if analysis is None:
            return
        for user in analysis.report().users:
            if user.score < self.settings.score:
                break  # ranked worst first
            address = user.user.lower()
            if address in self._judged or user.first is None:
                continue
            self._judged.add(address)
            hit = Hit(
                "score",
                address,
                seconds_to_datetime(user.first),
                f"score {user.score}",
                "; ".join(r.english() for r in user.reasons)[:500],
            )
            reason = M(
                "offender score {score} (the line is {line})",
                score=user.score,
                line=self.settings.score,
            )
            self.act(Crossing(address, reason, (hit,)))

    def poll(self) -> int:
        """Read what is new in every log once; the number of lines read."""
        count = 0
        scores = self._scores()
        for pattern in self.patterns:
            follower = self._follower(pattern)
            if follower is None:
                continue
            before = (follower.inode, follower.offset)
            data = follower.poll()
            if data and scores is not None:
                scores.feed(data)
            if data:
                for line in data.split(b"\n"):
                    count += 1
                    hit = hit_of(line)
                    if hit is None:
                        continue
                    crossing = self.tracker.add(hit)
                    if crossing is not None:
                        self.act(crossing)
            if (follower.inode, follower.offset) != before:
                device = os.stat(follower.path).st_dev
                store.save_position(
                    self.db, pattern, store.Position(device, follower.inode, follower.offset)
                )
        if count and scores is not None:
            self._check_scores()
        return count

    def act(self, crossing: Crossing) -> None:
        address = crossing.address
        if self.settings.allowed(address):
            if address not in self._allowed_told:
                self._allowed_told.add(address)
                self.report(
                    Event(
                        "allowed",
                        address,
                        M(
                            "{address} crossed a line ({reason}) but is on the allow-list: "
                            "not suspended",
                            address=address,
                            reason=crossing.reason,
                        ),
                        {"reason": crossing.reason.english()},
                    )
                )
            self.tracker.forget(address)
            return
        when = store.suspend(self.db, crossing, ticket=self.settings.ticket, operator=self.operator)
        self.tracker.forget(address)
        if when is None:
            return
        self.report(
            Event(
                "suspended",
                address,
                M("{address} suspended: {reason}", address=address, reason=crossing.reason),
                {"reason": crossing.reason.english(), "evidence": len(crossing.evidence)},
            )
        )
        if self.settings.notify is None:
            return
        msg = notify.notification(self.settings, crossing, socket.gethostname())
        failed = notify.send(self.settings, msg)
        if failed is None:
            store.mark_notified(self.db, address)
            self.report(
                Event(
                    "notified",
                    address,
                    M("{notify} was told", notify=self.settings.notify),
                    {"notify": self.settings.notify},
                )
            )
        else:
            self.report(Event("notify_failed", address, failed, {"error": failed.english()}))
