"""What the send-log screen's workers post back: the only way their results reach the UI."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from helpdesk.logfiles import Follower, LogFile
    from helpdesk.mailboxes import Mailbox
    from helpdesk.offenders import Analysis, Report
    from helpdesk.trails import SentMessage


@dataclass
class ReadProgress(Message):
    serial: int
    done: int
    total: int


@dataclass
class ReportReady(Message):
    serial: int
    report: Report
    note: str | None
    analysis: Analysis
    files: list[LogFile]
    follower: Follower | None


@dataclass
class ReadFailed(Message):
    serial: int
    text: str


@dataclass
class DetailReady(Message):
    serial: int
    user: str
    messages: list[SentMessage]
    sending: str


@dataclass
class FollowUpdate(Message):
    serial: int
    report: Report
    lines: int
    new_messages: dict[str, list[SentMessage]] = field(default_factory=dict)


@dataclass
class MailboxFetched(Message):
    mailbox: Mailbox
    purpose: str  # suspend, reinstate, reset


def sending_text(mailbox: Mailbox | None) -> str:
    if mailbox is None:
        return " · [yellow]no such mailbox here[/]"
    if not mailbox.smtp_enabled:
        return " · [b red]sending SUSPENDED[/]"
    return ""
