"""Messages that workers post back to the screens: the only way results reach the UI."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from helpdesk.audit import AuditEntry
from helpdesk.mailboxes import Mailbox
from helpdesk.search import SearchResult


@dataclass
class SearchDone(Message):
    query: str
    result: SearchResult


@dataclass
class MailboxLoaded(Message):
    mailbox: Mailbox
    aliases: list[dict]
    forwards: list[dict]
    audit: list[AuditEntry]


@dataclass
class ActionDone(Message):
    """A write finished; `mailbox` is the fresh copy."""

    text: str
    mailbox: Mailbox


@dataclass
class Failed(Message):
    """A worker's HelpdeskError, as the one line to show."""

    group: str
    text: str
