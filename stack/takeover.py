"""The taken-over account's part of the traffic round (stack/traffic.py), and the sending limits
a stack with a watcher (STACK_WATCH=1) gives the round's domains, so that the account runs into
its limit and the watcher suspends it without an operator.
"""

from __future__ import annotations

import random
import smtplib

from stack.traffic import (
    CUSTOMERS,
    EXTERNAL_DOMAINS,
    GTUBE,
    SPAM_SUBJECTS,
    TAKEN_OVER,
    TEST_SPAM,
    Sender,
    UserTally,
    build_message,
)

# Microsoft's and Google's: the stack's stand-in for their servers refuses the spam run with their
# block replies (stack/providers.py), which `helpdesk reputation` counts.
PROVIDER_DOMAINS = ["hotmail.com", "outlook.com", "gmail.com"]
# The hoster's sending limits for the traffic's domains when the stack runs a watcher
# (STACK_WATCH=1): far above what the customers send, below the taken-over account's spam run.
WATCH_LIMITS = {"messages_per_hour": 100, "recipients_per_hour": 100, "recipients_per_message": 25}
WATCH_LIMITS_TICKET = "STACK-17"


def takeover(
    port: int, user: str, tally: UserTally, helo: str, rng: random.Random, count: int = 200
) -> None:
    """The taken-over account's burst, without TLS: first a spam run that rspamd lets through,
    several recipients a message (Microsoft and Google among them, who refuse it), then
    variations of it, most of which rspamd refuses (55 % HELPDESK-TEST-SPAM, 10 % GTUBE).

    Over a sending limit the rest of the run is refused by Exim (`refused_by["limit"]`); once a
    watcher has suspended the account, at MAIL (`refused_by["suspended"]`)."""
    run_length = count // 5
    burst = []
    for n in range(count):
        rcpts = [
            f"{rng.choice(['info', 'kontakt', 'mail', 'office'])}{rng.randint(1, 99999)}"
            f"@{rng.choice(EXTERNAL_DOMAINS + PROVIDER_DOMAINS)}"
            for _ in range(rng.randint(4, 8) if n < run_length else rng.randint(1, 8))
        ]
        roll = 1.0 if n < run_length else rng.random()
        subject = rng.choice(SPAM_SUBJECTS)
        body = "Click here: http://spam.example/offer\n"
        if roll < 0.55:
            subject = f"{subject} {TEST_SPAM}"
        elif roll < 0.65:
            body = GTUBE
        burst.append((build_message(user, rcpts, subject, body), rcpts))
    # Exim ends a session when messages keep being refused before DATA is done: each RSET
    # counts against smtp_accept_max_nonmail. A spam bot connects again and goes on.
    done = sessions = 0
    while done < len(burst) and sessions < len(burst):
        sessions += 1
        with Sender(port, user, tally, helo, tls=False) as smtp:
            try:
                for msg, rcpts in burst[done:]:
                    smtp.send(msg, rcpts)
                    done += 1
            except smtplib.SMTPServerDisconnected:
                smtp.smtp = None


def set_watch_limits(database_url: str) -> None:
    """WATCH_LIMITS on each of the traffic's domains, written as an operator would (audited),
    unless they are set already."""
    from helpdesk.limits.store import domain_id_of, domain_key, own_limits, set_limits
    from helpdesk.mailcenter.audit import current_operator
    from helpdesk.mailcenter.db import Database

    db = Database(database_url)
    try:
        with db.begin() as conn:
            for domain in sorted({entry[1] for entry in [*CUSTOMERS, TAKEN_OVER]}):
                domain_id = domain_id_of(conn, domain)
                own = own_limits(conn, domain_key(domain_id))
                if all(own.get(key) == value for key, value in WATCH_LIMITS.items()):
                    continue
                set_limits(
                    conn,
                    domain_key(domain_id),
                    "@" + domain,
                    dict(WATCH_LIMITS),
                    ticket=WATCH_LIMITS_TICKET,
                    reason="the hoster's sending limits for small businesses",
                    operator=current_operator(),
                    domain_id=domain_id,
                )
    finally:
        db.dispose()
