"""Demo data: one mailbox away with an auto-reply, one forwarding during a holiday, written
through the same code (and audit) as an operator's change. For `helpdesk db demo` and the
stack's traffic round, which call `add_demo` with two mailboxes of their choosing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Connection

from helpdesk.forwards.model import AutoReply, Forward
from helpdesk.forwards.store import set_autoreply, set_forward
from helpdesk.forwards.texts import example
from helpdesk.forwards.times import utcnow
from helpdesk.mailcenter.audit import Operator
from helpdesk.mailcenter.mailboxes import Mailbox

TICKET = "DEMO-18"


def add_demo(
    conn: Connection, away: Mailbox, holiday: Mailbox, colleague: str, operator: Operator
) -> None:
    """`away` answers for two weeks (German text); `holiday` forwards to `colleague` from an
    hour ago for a week, keeping its copy."""
    now = utcnow()
    until = now + timedelta(days=14)
    subject, body = example("de", until.strftime("%d.%m.%Y"))
    set_autoreply(conn, away, AutoReply(subject, body, 7, None, until), ticket=TICKET,
                  reason="demo", operator=operator)  # fmt: skip
    forward = Forward((colleague,), True, now - timedelta(hours=1), now + timedelta(days=7))
    set_forward(conn, holiday, forward, ticket=TICKET, reason="demo", operator=operator)
