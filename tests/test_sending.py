"""Suspend and reinstate: audited, version-checked, all or nothing; on all three databases."""

import pytest
from sqlalchemy import func, select

from helpdesk.errors import Conflict, PolicyError
from helpdesk.mailcenter.audit import Operator, read
from helpdesk.mailcenter.mailboxes import create_mailbox, get_mailbox, set_sending, update_mailbox
from helpdesk.mailcenter.schema import audit_log

OPERATOR = Operator("anna", "203.0.113.9")


def make(db, address="kunde@firma.de"):
    with db.begin() as conn:
        create_mailbox(conn, address, realname="Karl Kunde")
        return get_mailbox(conn, address)


def test_suspend_and_reinstate_write_audit_rows(db):
    mailbox = make(db)
    with db.begin() as conn:
        suspended = set_sending(
            conn, mailbox, False, ticket="T-1", reason="spam wave", operator=OPERATOR
        )
    assert suspended.smtp_enabled is False and suspended.enabled is True
    assert suspended.version == mailbox.version + 1
    with db.begin() as conn:
        set_sending(conn, suspended, True, ticket="T-2", reason=None, operator=OPERATOR)
    with db.connect() as conn:
        entries = read(conn, target="kunde@firma.de")
        assert get_mailbox(conn, "kunde@firma.de").smtp_enabled is True
    assert [e.action for e in entries] == ["reinstate", "suspend"]
    suspend = entries[1]
    assert suspend.operator == "anna" and suspend.client_addr == "203.0.113.9"
    assert suspend.ticket == "T-1" and suspend.reason == "spam wave"
    assert suspend.before == {"smtp_enabled": True} and suspend.after == {"smtp_enabled": False}


def test_stale_version_is_refused_and_nothing_changes(db):
    mailbox = make(db)
    with db.begin() as conn:
        set_sending(conn, mailbox, False, ticket="T-1", reason=None, operator=OPERATOR)
    # A second operator still holds the old copy and tries to change something.
    with pytest.raises(Conflict, match="changed by someone else"), db.begin() as conn:
        update_mailbox(
            conn, mailbox, {"quota_mb": 1}, action="quota", ticket="T-9", operator=OPERATOR
        )
    with db.connect() as conn:
        current = get_mailbox(conn, mailbox.address)
        assert current.quota_mb == mailbox.quota_mb and current.version == 2
        assert [e.action for e in read(conn, target=mailbox.address)] == ["suspend"]


def test_failure_after_write_leaves_no_change_and_no_audit_row(db):
    mailbox = make(db)
    with pytest.raises(RuntimeError), db.begin() as conn:
        set_sending(conn, mailbox, False, ticket="T-1", reason=None, operator=OPERATOR)
        raise RuntimeError("the line dropped")
    with db.connect() as conn:
        assert get_mailbox(conn, mailbox.address).smtp_enabled is True
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 0


def test_ticket_required_and_noop_refused(db):
    mailbox = make(db)
    with pytest.raises(PolicyError, match="ticket"), db.begin() as conn:
        set_sending(conn, mailbox, False, ticket="  ", reason=None, operator=OPERATOR)
    with pytest.raises(PolicyError, match="allowed to send"), db.begin() as conn:
        set_sending(conn, mailbox, True, ticket="T-1", reason=None, operator=OPERATOR)
    with db.connect() as conn:
        assert read(conn, target=mailbox.address) == []
