"""Realistic mail through the running stack: `python -m stack.traffic [--seed S] [--size N]`.

One round is: ordinary customers sending a few messages each over submission (one of them has a
legitimate message blocked), a suspended customer trying to send, one taken-over account bursting
spam to many external recipients from a foreign client address (first a run that rspamd lets
through, partly to Microsoft and Google, whose stand-in on the stack refuses it with their block
replies; then variations, a deterministic share refused by rspamd: the HELPDESK-TEST-SPAM
subject and GTUBE), failed logins from foreign addresses, and inbound ham and spam for local
mailboxes. Client addresses are 127.0.0.N, so the logs tell "customers" from "attackers";
customers use STARTTLS, the spam bot does not.

On a stack with a watcher (STACK_WATCH=1) the traffic's domains get sending limits first
(WATCH_LIMITS, stack/takeover.py): the taken-over account runs into its limit and the watcher
suspends it, without an operator. Without one, nothing limits it, so that it can be stopped by
hand.

It writes a JSON summary of exactly what it sent and what was refused, per user, to a file
(--output, default .stack/traffic.txt): the send-log review is checked against it. The terminal
gets two lines that say how much was sent and where the summary is, not who misbehaved: the
demo leaves that for the operator to find. The accounts it uses are its own (created if
missing, password TRAFFIC_PASSWORD); nothing is ever sent off the machine (Exim captures
external mail).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import smtplib
import ssl
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

if __package__ in (None, ""):  # run as a file: python stack/traffic.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stack.settings import Settings, read_env

TRAFFIC_PASSWORD = "Stack-Traffic-2026!"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
TEST_SPAM = "HELPDESK-TEST-SPAM"

CUSTOMERS = [
    ("info", "mueller-sanitaer.example", "Sanitär Müller GmbH"),
    ("j.mueller", "mueller-sanitaer.example", "Jürgen Müller"),
    ("buchhaltung", "mueller-sanitaer.example", "Buchhaltung Müller"),
    ("s.weber", "kanzlei-weber.example", "Sabine Weber"),
    ("sekretariat", "kanzlei-weber.example", "Sekretariat Kanzlei Weber"),
    ("t.nguyen", "kanzlei-weber.example", "Thanh Nguyen"),
    ("anna", "gartenbau-schulz.example", "Anna Schulz"),
    ("lars", "gartenbau-schulz.example", "Lars Schulz"),
    ("a.kaya", "praxis-kaya.example", "Dr. Ayşe Kaya"),
    ("empfang", "praxis-kaya.example", "Empfang Praxis Kaya"),
    ("m.rossi", "ristorante-rossi.example", "Marco Rossi"),
    ("bestellung", "ristorante-rossi.example", "Bestellungen Rossi"),
]
TAKEN_OVER = ("kontakt", "gartenbau-schulz.example", "Gartenbau Schulz Kontakt")
SUSPENDED = ("alt", "kanzlei-weber.example", "altes Postfach (gesperrt)")
EXTERNAL_DOMAINS = ["gmail.example", "web.example", "gmx.example", "t-online.example"]
SUBJECTS = [
    "Angebot Badsanierung",
    "Termin am Donnerstag",
    "Rechnung 2026-{n}",
    "Re: Ihre Anfrage",
    "Unterlagen für die Steuererklärung",
    "Reservierung für Samstag",
    "Protokoll der Besprechung",
]
SPAM_SUBJECTS = ["You have won", "Cheap meds", "Crypto profits guaranteed", "Hot singles"]


@dataclass
class UserTally:
    role: str
    client_ip: str
    messages: int = 0  # messages attempted
    sent: int = 0  # accepted by Exim
    recipients: int = 0  # recipients of the accepted messages
    refused: Counter = field(default_factory=Counter)  # reason -> count
    replies: dict[str, str] = field(default_factory=dict)  # reason -> Exim's first reply
    blocked_message_ids: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "role": self.role,
            "client_ip": self.client_ip,
            "messages": self.messages,
            "sent": self.sent,
            "recipients": self.recipients,
            "refused": sum(self.refused.values()),
            "refused_by": dict(sorted(self.refused.items())),
            "replies": dict(sorted(self.replies.items())),
            "blocked_message_ids": self.blocked_message_ids,
        }


def address(entry: tuple[str, str, str]) -> str:
    return f"{entry[0]}@{entry[1]}"


def ensure_accounts(database_url: str) -> None:
    """The traffic's own mailboxes, created through the helpdesk core if they are missing."""
    from sqlalchemy import select

    from helpdesk.mailcenter.db import Database
    from helpdesk.mailcenter.mailboxes import create_mailbox
    from helpdesk.mailcenter.schema import mailboxes
    from helpdesk.passwords.policy import PasswordSettings, hash_password

    db = Database(database_url)
    hashed = hash_password(TRAFFIC_PASSWORD, PasswordSettings())
    try:
        with db.begin() as conn:
            for entry in [*CUSTOMERS, TAKEN_OVER, SUSPENDED]:
                addr = address(entry)
                found = conn.execute(
                    select(mailboxes.c.id).where(mailboxes.c.address == addr)
                ).first()
                if found is None:
                    create_mailbox(
                        conn,
                        addr,
                        realname=entry[2],
                        password_hash=hashed,
                        smtp_enabled=entry is not SUSPENDED,
                        customer_ref="TRAFFIC",
                    )
    finally:
        db.dispose()


def build_message(sender: str, rcpts: list[str], subject: str, body: str, **headers: str):
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(rcpts[:3]) + (", ..." if len(rcpts) > 3 else "")
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.split("@")[1])
    for name, value in headers.items():
        msg[name] = value
    msg.set_content(body)
    return msg


def _reason(code: int, text: str) -> str:
    if "blocked because it may contain SPAM" in text:
        return "spam"
    if "Sending limit reached" in text:
        return "limit"
    if "suspended" in text:
        return "suspended"
    if code == 535:
        return "auth"
    return f"smtp-{code}"


class Sender:
    """One SMTP session as one user from one client address, counting every outcome."""

    def __init__(self, port: int, user: str, tally: UserTally, helo: str, tls: bool = True) -> None:
        self.port, self.user, self.tally, self.helo, self.tls = port, user, tally, helo, tls
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Sender:
        self.smtp = smtplib.SMTP(
            "127.0.0.1",
            self.port,
            local_hostname=self.helo,
            timeout=60,
            source_address=(self.tally.client_ip, 0),
        )
        if self.tls:  # customers' mail programs always use STARTTLS (the certificate is ours)
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            self.smtp.starttls(context=context)
        self.smtp.login(self.user, TRAFFIC_PASSWORD)
        return self

    def __exit__(self, *exc) -> None:
        if self.smtp is not None and self.smtp.sock is not None:
            try:
                self.smtp.quit()
            except smtplib.SMTPException:
                self.smtp.close()

    def send(self, msg: EmailMessage, rcpts: list[str]) -> bool:
        """Whether Exim took the message; SMTPServerDisconnected (not counted) when Exim has
        ended the session."""
        self.tally.messages += 1
        try:
            refused = self.smtp.send_message(msg, from_addr=self.user, to_addrs=rcpts)
        except smtplib.SMTPServerDisconnected:
            self.tally.messages -= 1
            raise
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode(errors="replace")
            reason = _reason(exc.smtp_code, text)
            self.tally.refused[reason] += 1
            self.tally.replies.setdefault(reason, f"{exc.smtp_code} {text}")
            if reason == "spam":
                self.tally.blocked_message_ids.append(msg["Message-ID"].strip("<>"))
            # smtplib resets after a refusal at MAIL or after the message, not when the DATA
            # command itself is refused (the sending limits' predata ACL): the next MAIL
            # would be "sender already given".
            with contextlib.suppress(smtplib.SMTPException):
                self.smtp.rset()
            return False
        except smtplib.SMTPRecipientsRefused:
            self.tally.refused["recipients"] += 1
            return False
        self.tally.sent += 1
        self.tally.recipients += len(rcpts) - len(refused)
        return True


def run(
    env: dict[str, str], seed: int = 1, size: int = 1, logins: bool = False, limits: bool = False
) -> dict:
    """One round of traffic against the stack `env` describes; returns the summary.

    With `limits` (a stack with a watcher), the traffic's domains get WATCH_LIMITS first, so that
    the taken-over account runs into its limit and the watcher suspends it.

    With `logins` (the demo), the round also drives the mail programs of stack/login_traffic.py
    (IMAP, POP3, plaintext without TLS, CRAM-MD5, the bare local part, an old password): what
    the Logins tab explains; and gives one mailbox an auto-reply and one a scheduled forward.
    Tests that count this round's lines and copies do without both."""
    rng = random.Random(seed)
    from stack.takeover import set_watch_limits, takeover

    ensure_accounts(env["DATABASE_URL"])
    if limits:
        set_watch_limits(env["DATABASE_URL"])
    port, inbound = int(env["SUBMISSION_PORT"]), int(env["INBOUND_PORT"])
    local = [address(c) for c in CUSTOMERS]
    users: dict[str, UserTally] = {}
    started = time.time()
    # Every session of this round greets with this name: its log lines can be told from others'.
    helo = f"round-{seed}-{uuid.uuid4().hex[:8]}.clients.example"

    # Ordinary customers: a few messages each, to colleagues and outside.
    for i, entry in enumerate(CUSTOMERS[: max(2, min(len(CUSTOMERS), 6 * size))]):
        user = address(entry)
        tally = users[user] = UserTally("customer", f"127.0.0.{10 + i}")
        with Sender(port, user, tally, helo) as smtp:
            for n in range(rng.randint(1, 4)):
                rcpts = rng.sample(local, 1) if rng.random() < 0.4 else []
                rcpts += [f"kunde{rng.randint(1, 999)}@{rng.choice(EXTERNAL_DOMAINS)}"]
                subject = rng.choice(SUBJECTS).format(n=rng.randint(100, 999))
                smtp.send(
                    build_message(user, rcpts, subject, f"Guten Tag,\n\nNachricht {n}.\n"), rcpts
                )
    # The customer who calls support: a legitimate message blocked as spam.
    caller = address(CUSTOMERS[0])
    with Sender(port, caller, users[caller], helo) as smtp:
        rcpts = ["grosshandel@web.example"]
        msg = build_message(
            caller, rcpts, f"Bestellung Armaturen {TEST_SPAM}", "Bitte liefern Sie.\n"
        )
        smtp.send(msg, rcpts)

    # A suspended customer tries anyway: refused at MAIL.
    user = address(SUSPENDED)
    tally = users[user] = UserTally("suspended", "127.0.0.30")
    with Sender(port, user, tally, helo) as smtp:
        smtp.send(build_message(user, ["x@gmx.example"], "Hallo", "Test\n"), ["x@gmx.example"])

    # Failed logins from foreign addresses: password guessing against several customers.
    failed: dict[str, Counter] = {}
    for n in range(10 * size):
        ip = f"127.0.0.{200 + n % 3}"
        target = rng.choice([*local, address(TAKEN_OVER)])
        with smtplib.SMTP("127.0.0.1", port, helo, timeout=30, source_address=(ip, 0)) as smtp:
            # one mechanism, so one attempt is one "authenticator failed" line in the mainlog
            smtp.ehlo()
            smtp.user, smtp.password = target, f"guess{rng.randint(1000, 9999)}"
            try:
                smtp.auth("PLAIN", smtp.auth_plain)
            except smtplib.SMTPAuthenticationError:
                failed.setdefault(ip, Counter())[target] += 1

    # The taken-over account: a burst of spam to many external recipients from abroad.
    user = address(TAKEN_OVER)
    users[user] = UserTally("taken-over", "127.0.0.201")
    takeover(port, user, users[user], helo, rng, 200 * size)

    # Inbound mail for local mailboxes: ham, and spam at scores the spam ladders act on.
    delivered: Counter = Counter()
    rejected: Counter = Counter()
    scores: list[float] = []
    client = ("127.0.0.99", 0)
    with smtplib.SMTP("127.0.0.1", inbound, helo, timeout=60, source_address=client) as smtp:
        for n in range(20 * size):
            rcpt = rng.choice(local)
            headers: dict[str, str] = {}
            body, subject = f"Newsletter Nr. {n}\n", "Unser Newsletter"
            kind = rng.random()
            if kind < 0.5:
                score = round(rng.choice([4.0, 6.5, 7.5, 9.5, 12.0]) + rng.random(), 1)
                headers["X-Stack-Test-Score"] = str(score)
                scores.append(score)
                subject = rng.choice(SPAM_SUBJECTS)
            elif kind < 0.6:
                body = GTUBE
            sender = f"newsletter@{rng.choice(EXTERNAL_DOMAINS)}"
            try:
                msg = build_message(sender, [rcpt], subject, body, **headers)
                smtp.send_message(msg, from_addr=sender, to_addrs=[rcpt])
                delivered[rcpt] += 1
            except smtplib.SMTPResponseException:
                rejected[rcpt] += 1

    summary = {
        "seed": seed,
        "size": size,
        "helo": helo,
        "started": started,
        "seconds": round(time.time() - started, 2),
        "users": {u: t.as_json() for u, t in sorted(users.items())},
        "failed_logins": {
            ip: {"count": sum(c.values()), "users": dict(sorted(c.items()))}
            for ip, c in sorted(failed.items())
        },
        "inbound": {
            "delivered": sum(delivered.values()),
            "rejected": sum(rejected.values()),
            "delivered_by_mailbox": dict(sorted(delivered.items())),
            "rejected_by_mailbox": dict(sorted(rejected.items())),
        },
        "totals": {
            "messages": sum(t.messages for t in users.values()),
            "sent": sum(t.sent for t in users.values()),
            "refused": sum(sum(t.refused.values()) for t in users.values()),
            "failed_logins": sum(sum(c.values()) for c in failed.values()),
        },
    }
    if logins:
        from stack.login_traffic import run as login_round

        summary["logins"] = login_round(env, TRAFFIC_PASSWORD)
        summary["away"] = _away_and_forward(env["DATABASE_URL"])
    return summary


def _away_and_forward(database_url: str) -> dict[str, str]:
    """Sabine Weber is away (an auto-reply for two weeks); Lars Schulz forwards to Anna during
    his holiday (a week, keeping a copy): written as an operator would, with an audit row."""
    from helpdesk.forwards.demo import add_demo
    from helpdesk.forwards.store import load_autoreply
    from helpdesk.mailcenter.audit import current_operator
    from helpdesk.mailcenter.db import Database
    from helpdesk.mailcenter.mailboxes import get_mailbox

    away, holiday = "s.weber@kanzlei-weber.example", "lars@gartenbau-schulz.example"
    colleague = "anna@gartenbau-schulz.example"
    db = Database(database_url)
    try:
        with db.begin() as conn:
            away_box, holiday_box = get_mailbox(conn, away), get_mailbox(conn, holiday)
            if load_autoreply(conn, away_box) is None:
                add_demo(conn, away_box, holiday_box, colleague, current_operator())
    finally:
        db.dispose()
    return {"auto-reply": away, "forward": f"{holiday} -> {colleague}"}


def _database_key(env: dict[str, str], watching: bool = False) -> str:
    """Which database a round went to, without writing its URL (it may hold a password), and
    whether a watcher ran: `STACK_WATCH=1 make demo` after a demo without one sends a round."""
    key = env["DATABASE_URL"] + ("\0watch" if watching else "")
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stack.traffic", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--size", type=int, default=1, help="scale: 1 is ~300 messages")
    parser.add_argument(
        "--once-per-stack",
        action="store_true",
        help="do nothing if a round was already sent to this stack's database",
    )
    parser.add_argument(
        "--output", metavar="FILE", help="write the JSON summary here (default .stack/traffic.txt)"
    )
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if not settings.env_path.exists():
        print("stack.traffic: no .stack/env; start the stack with `make stack`", file=sys.stderr)
        return 1
    env = {**read_env(settings.env_path)}
    marker = settings.state / "traffic-summary.json"
    output = Path(args.output) if args.output else settings.state / "traffic.txt"
    watching = _watching(settings)
    if args.once_per_stack and marker.exists():
        previous = json.loads(marker.read_text())
        if previous.pop("database", None) == _database_key(env, watching):
            _write(output, json.dumps(previous, indent=2, ensure_ascii=False))
            print(f"traffic: sent to this stack before; the summary is in {output}")
            return 0
    try:
        summary = run(env, seed=args.seed, size=max(1, args.size), logins=True, limits=watching)
    except (OSError, smtplib.SMTPException) as exc:
        print(f"stack.traffic: {exc}", file=sys.stderr)
        return 1
    text = json.dumps(summary, indent=2, ensure_ascii=False)
    marker.write_text(json.dumps({**summary, "database": _database_key(env, watching)}, indent=2))
    os.chmod(marker, 0o644)
    _write(output, text)
    print("\n".join(round_report(summary, output)))
    return 0


def _watching(settings: Settings) -> bool:
    """The running stack has a watcher (started with STACK_WATCH=1, stack/watcher.py)."""
    from stack.launcher import status

    return "watch" in status(settings).get("services", {})


def _write(output: Path, text: str) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n")


def round_report(summary: dict, output: Path) -> list[str]:
    """What the terminal shows of a round: the totals and where the whole summary is."""
    totals = summary["totals"]
    inbound = summary["inbound"]
    return [
        f"traffic: {totals['messages']:,} messages submitted by {len(summary['users'])} accounts "
        f"({totals['refused']:,} refused), {inbound['delivered'] + inbound['rejected']:,} inbound, "
        f"{totals['failed_logins']:,} failed logins, in {summary['seconds']:.0f} s",
        f"traffic: the whole summary is in {output}",
    ]


if __name__ == "__main__":
    sys.exit(main())
