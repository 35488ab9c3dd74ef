"""How large the Sieve script of one mailbox, and each part of it, may grow; its id.

Every part generated for a mailbox (the spam ladder and sender lists today, scheduled forwards
and auto-replies later) checks its size here, so together they stay inside one budget.
"""

from __future__ import annotations

import hashlib

from helpdesk.errors import PolicyError
from helpdesk.i18n import M, Text

# The whole script Dovecot runs for one mailbox stays under this many bytes, whatever the
# settings: MariaDB's TEXT holds 65,535 bytes (a non-strict sql_mode cuts the rest silently),
# and Dovecot's sieve_max_script_size (1 MiB) stays far away. Each part of the script gets a
# share; the parts written later (scheduled forwards, auto-replies) take theirs from here.
SCRIPT_BUDGET = 60_000
PART_BUDGETS = {"spam": 34_000, "forwards": 6_000, "autoreply": 20_000}  # sum ≤ SCRIPT_BUDGET

# The forwards and auto-reply part is appended to the spam part at delivery (the view
# helpdesk_sieve, docs/schema.md), after its `require`: the spam part requires these always, on
# top of variables and relational, which it needs itself.
DELIVERY_EXTENSIONS = ("copy", "date", "vacation")


class ScriptTooLarge(PolicyError):
    """A generated script over its budget; nothing was written."""


def check_size(script: str, *, part: str = "spam", what: Text | None = None) -> int:
    """The script's size in bytes; ScriptTooLarge when it is over the part's budget.

    `part` is a key of PART_BUDGETS, or "whole" for the complete script of a mailbox; `what`
    names the script in the error (default: "the Sieve script").
    """
    size = len(script.encode("utf-8"))
    limit = SCRIPT_BUDGET if part == "whole" else PART_BUDGETS[part]
    if size > limit:
        # Byte counts as digits only: they are compared with sizes elsewhere, not read as amounts.
        raise ScriptTooLarge(
            M(
                "{what} would be {size} bytes, over the limit of {limit} bytes",
                what=what or M("the Sieve script"),
                size=str(size),
                limit=str(limit),
            )
        )
    return size


def script_id(script: str) -> str:
    """Changes whenever the script does; Dovecot recompiles when the id it reads changes."""
    return hashlib.sha256(script.encode("utf-8")).hexdigest()[:40]
