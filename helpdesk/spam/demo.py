"""Demo spam settings for `helpdesk db demo`: converted legacy vexim values and sender lists."""

from __future__ import annotations

import json
import random
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection

from helpdesk.mailcenter.audit import utcnow
from helpdesk.mailcenter.schema import spam_senders, spam_settings
from helpdesk.sieve.limits import script_id
from helpdesk.spam.ladder import Ladder, ladder_from_legacy, ladder_to_json
from helpdesk.spam.script import SpamOptions, generate
from helpdesk.spam.settings import read_back_rows


def demo_rows(
    rng: random.Random,
    mailbox_ids: list[int],
    domain_ids: list[int],
    *,
    share: float = 0.15,
    options: SpamOptions | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Rows for `helpdesk db demo`: a site default, some domain defaults, and some mailboxes
    carrying converted legacy vexim settings (sa_tag/sa_refuse) and sender lists.

    Returns {table name: rows} to insert after domains and mailboxes exist, in that order
    (spam_settings, then spam_senders). Mailbox rows are generated with their own ladder, so
    no inherited script needs computing.
    """
    options = options or SpamOptions()
    now = utcnow()
    settings_rows: list[dict[str, Any]] = []
    sender_rows: list[dict[str, Any]] = []

    def row(key: str, ladder: Ladder, *, domain_id=None, mailbox_id=None, allow=(), block=()):
        script = generate(ladder, allow, block, options=options, label=key)
        settings_rows.append(
            {
                "scope_key": key,
                "domain_id": domain_id,
                "mailbox_id": mailbox_id,
                "ladder": json.dumps(ladder_to_json(ladder)),
                "script": script,
                "script_id": script_id(script),
                "version": 1,
                "updated_at": now,
            }
        )

    row("site", ladder_from_legacy(3, 7))
    for domain_id in domain_ids:
        if rng.random() < 0.2:
            row(f"domain:{domain_id}", ladder_from_legacy(rng.choice([3, 4, 5]), 10),
                domain_id=domain_id)  # fmt: skip
    partners = ["newsletter@shop.example", "@partner.example", "info@verein.example"]
    spammers = ["@cheap-pills.example", "offers@bulk.example"]
    for mailbox_id in mailbox_ids:
        if rng.random() >= share:
            continue
        sa_tag = rng.choice([2, 3, 4, 5, 6])
        sa_refuse = rng.choice([7, 8, 10, 12, 99])
        allow = tuple(sorted(rng.sample(partners, rng.randint(0, 2))))
        block = tuple(sorted(rng.sample(spammers, rng.randint(0, 1))))
        row(f"mailbox:{mailbox_id}", ladder_from_legacy(sa_tag, sa_refuse),
            mailbox_id=mailbox_id, allow=allow, block=block)  # fmt: skip
        sender_rows += [{"mailbox_id": mailbox_id, "list": "allow", "sender": s} for s in allow]
        sender_rows += [{"mailbox_id": mailbox_id, "list": "block", "sender": s} for s in block]
    return {"spam_settings": settings_rows, "spam_senders": sender_rows}


def insert_demo_rows(conn: Connection, seed: int, mailboxes_count: int, domains_count: int) -> None:
    """A site default, some domain defaults, and mailboxes with converted legacy settings."""
    rows = demo_rows(
        random.Random(seed + 6),
        list(range(1, mailboxes_count + 1)),
        list(range(1, domains_count + 1)),
    )
    for table, key in ((spam_settings, "spam_settings"), (spam_senders, "spam_senders")):
        batch = rows.get(key, [])
        for start in range(0, len(batch), 10000):
            conn.execute(insert(table), batch[start : start + 10000])
    read_back_rows(conn, rows.get("spam_settings", []))
