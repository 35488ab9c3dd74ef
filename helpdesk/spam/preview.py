"""What a ladder would have done with a mailbox's recent inbound mail.

Scores come from the Exim mainlog line the stack's inbound DATA ACL writes,
`<exim-id> spam-score=6.3 action=add header rcpt=a@example.org,b@example.org`, parsed by
helpdesk.sendlog.parser, joined with the message's arrival line (`<=`) for sender and subject.
rspamd's own history has no recipients without redis, so it is not used here.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from helpdesk.i18n import M, Mn, Text
from helpdesk.logs.files import chunks, expand
from helpdesk.sendlog.parser import ARRIVAL, SPAM_SCORE, parse_line
from helpdesk.spam.ladder import Ladder, effective_action, placement

OUTCOMES = ("inbox", "marked", "junk", "forwarded", "deleted")


@dataclass
class Scored:
    """One inbound message for the mailbox, with its score."""

    time: datetime
    exim_id: str
    score: float
    sender: str | None = None
    subject: str | None = None
    message_id: str | None = None

    @property
    def tenths(self) -> int:
        # Exim's $spam_score_int: the score × 10, rounded (the logged score has one decimal).
        return int((Decimal(str(self.score)) * 10).to_integral_value(ROUND_HALF_UP))


@dataclass
class Verdict:
    message: Scored
    where: str  # inbox | marked | junk | deleted
    forwarded_to: str | None = None
    why: Text | None = None

    def as_json(self) -> dict[str, Any]:
        m = self.message
        return {
            "time": m.time.isoformat(),
            "exim_id": m.exim_id,
            "score": m.score,
            "sender": m.sender,
            "subject": m.subject,
            "message_id": m.message_id,
            "where": self.where,
            "forwarded_to": self.forwarded_to,
            "why": self.why.english() if self.why is not None else "",
            "why_message": self.why.as_json() if self.why is not None else None,
        }


@dataclass
class Preview:
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTCOMES, 0)
        for v in self.verdicts:
            counts[v.where] += 1
            if v.forwarded_to:
                counts["forwarded"] += 1
        return counts

    def as_json(self) -> dict[str, Any]:
        return {"counts": self.counts, "messages": [v.as_json() for v in self.verdicts]}

    def summary(self) -> Text:
        c = self.counts
        return Mn(
            "{n} recent message: {inbox} inbox, {marked} marked, {junk} junk, "
            "{forwarded} forwarded, {deleted} deleted",
            "{n} recent messages: {inbox} inbox, {marked} marked, {junk} junk, "
            "{forwarded} forwarded, {deleted} deleted",
            len(self.verdicts),
            **c,
        )


def _wanted(
    patterns: Iterable[str], address: bytes, pending: dict, cancelled: Callable[[], bool] | None
) -> Iterator[bytes]:
    """The lines that can matter: score lines naming the address, and arrivals while a kept
    message waits for its own. A chunk with neither is skipped whole (most of a mainlog)."""
    # Rotated sets oldest first, gzip or plain, in bounded chunks (helpdesk/logs/files.py).
    for _lf, _first, data in chunks(expand(patterns), cancelled=cancelled):
        low = data.lower()
        if address not in low and not pending:
            continue
        for line, lowered in zip(data.split(b"\n"), low.split(b"\n"), strict=True):
            if (pending and b"<= " in line) or (b"spam-score=" in line and address in lowered):
                yield line


def recent_scores(
    patterns: Iterable[str],
    address: str,
    *,
    limit: int = 200,
    cancelled: Callable[[], bool] | None = None,
) -> list[Scored]:
    """The last `limit` scored messages for `address`, oldest first, in bounded memory.

    patterns: SendlogSettings.paths (already resolved against the config's folder) or the
    operator's --log. A line without a time that can be true is skipped (parse_line); its
    AUTH arguments are masked before any field is taken from it.
    Raises NotFound when no log file matches the patterns, Cancelled when cancelled() says so.
    """
    address = address.lower()
    kept: deque[Scored] = deque(maxlen=limit)
    # Arrival lines follow the DATA ACL's score line; only ids already kept are remembered.
    pending: OrderedDict[str, Scored] = OrderedDict()
    needle = address.encode("utf-8", "surrogateescape")
    for line in _wanted(patterns, needle, pending, cancelled):
        event = parse_line(line)
        if event is None:
            continue
        if event.kind == SPAM_SCORE and event.exim_id and event.score is not None:
            if address not in (r.lower() for r in event.recipients):
                continue
            item = Scored(event.time, event.exim_id, event.score)
            kept.append(item)
            pending[event.exim_id] = item
            while len(pending) > limit:
                pending.popitem(last=False)
        elif event.kind == ARRIVAL and event.exim_id in pending:
            item = pending.pop(event.exim_id)
            item.sender = event.sender
            item.subject = event.subject
            item.message_id = event.message_id
    return list(kept)


def _matches(sender: str | None, entries: tuple[str, ...]) -> bool:
    if not sender or not entries:
        return False
    sender = sender.lower()
    domain = "@" + sender.rsplit("@", 1)[-1]
    return sender in entries or domain in entries


def judge(
    ladder: Ladder,
    messages: Iterable[Scored],
    *,
    allow: tuple[str, ...] = (),
    block: tuple[str, ...] = (),
    block_action: str = "junk",
) -> Preview:
    """The ladder applied to each message as the generated Sieve script would (envelope sender)."""
    preview = Preview()
    for message in messages:
        if _matches(message.sender, allow):
            preview.verdicts.append(Verdict(message, "inbox", why=M("allowed sender")))
            continue
        if _matches(message.sender, block):
            where = "junk" if block_action == "junk" else "deleted"
            preview.verdicts.append(Verdict(message, where, why=M("blocked sender")))
            continue
        rule = effective_action(ladder, message.tenths)
        if rule is None:
            preview.verdicts.append(Verdict(message, "inbox", why=M("below every threshold")))
            continue
        where = placement(ladder, rule)
        preview.verdicts.append(
            Verdict(
                message,
                "deleted" if where == "nowhere" else where,
                forwarded_to=rule.arg if rule.action == "forward" else None,
                why=rule.describe(),
            )
        )
    return preview
