"""How a mailbox's spam script size affects delivery on the real stack (docs/spam.md, "Limits").

Stores scripts of growing size for fresh mailboxes directly in the stack's database (past the
helpdesk's own limits, which is the point), delivers one message to each over the stack's LMTP
and prints how long LMTP took and what it answered, next to the size the helpdesk allows.

    .venv/bin/python -m bench.sieve_size [--sizes 30000,50000,200000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import smtplib
import statistics
import time
import uuid
from email.message import EmailMessage

from sqlalchemy import delete, insert, select

from helpdesk.mailcenter.schema import mailboxes, spam_settings
from helpdesk.sieve import limits
from helpdesk.spam import script as spam_script
from helpdesk.spam.ladder import parse_rule
from tests.stack_fixture import ROOT, Stack, _read_env

DEFAULT_SIZES = (1_000, 30_000, 50_000, 200_000, 500_000, 1_200_000)


def script_of_size(size: int, label: str) -> str:
    """A real ladder script whose allow list is long enough to reach about `size` bytes."""
    ladder = (parse_rule("6:junk"),)
    limits.PART_BUDGETS["spam"] = 10 * size
    allow: list[str] = []
    script = spam_script.generate(ladder, label=label)
    while len(script.encode()) < size:
        step = max(1, (size - len(script.encode())) // 120)
        allow += [f"partner{len(allow) + i:07d}@allowed-sender.example" for i in range(step)]
        script = spam_script.generate(ladder, tuple(allow), label=label)
    return script


def deliver(stack: Stack, lmtp: tuple[str, int], rcpt: str) -> tuple[float, str]:
    msg = EmailMessage()
    msg["From"] = "news@sender.example"
    msg["To"] = rcpt
    msg["Subject"] = "script size"
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@bench.example>"
    msg["X-Spam-Score-Int"] = "70"  # the ladder files it into Junk: the script ran
    msg.set_content("size bench\n")
    start = time.perf_counter()
    try:
        with smtplib.LMTP(lmtp[0], lmtp[1], timeout=300) as client:
            client.send_message(msg, from_addr="news@sender.example", to_addrs=[rcpt])
        answer = "250 delivered"
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        answer = f"{code} {text.decode(errors='replace')[:70]}"
    except smtplib.SMTPResponseException as exc:
        answer = f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace')[:70]}"
    return time.perf_counter() - start, answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stack = Stack(env=_read_env(ROOT / ".stack" / "env"))
    host, port = stack.env["LMTP_ADDRESS"].rsplit(":", 1)
    print(f"helpdesk limit for the spam part: {limits.PART_BUDGETS['spam']} bytes "
          f"(whole script {limits.SCRIPT_BUDGET})")  # fmt: skip
    print(f"{'script bytes':>12}  {'median s':>9}  {'max s':>7}  LMTP answers; where they went")
    written: list[int] = []
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            written.append(measure(stack, (host, int(port)), size, args.rounds))
    finally:
        # Scripts past the limits would make a later default change on the stack refuse.
        with stack.db.begin() as conn:
            conn.execute(delete(spam_settings).where(spam_settings.c.mailbox_id.in_(written)))


def measure(stack: Stack, lmtp: tuple[str, int], size: int, rounds: int) -> int:
    """One line of the table; returns the id of the mailbox it gave a script."""
    address = stack.add_mailbox(stack.unique_address(f"size{size}"), "Size-Bench-73")
    script = script_of_size(size, address)
    with stack.db.begin() as conn:
        mailbox_id = conn.execute(
            select(mailboxes.c.id).where(mailboxes.c.address == address)
        ).scalar_one()
        conn.execute(
            insert(spam_settings).values(
                scope_key=f"mailbox:{mailbox_id}", mailbox_id=mailbox_id, ladder=None,
                script=script, script_id=limits.script_id(script), version=1,
            )
        )  # fmt: skip
    times, answers = [], []
    for _ in range(rounds):
        took, answer = deliver(stack, lmtp, address)
        times.append(took)
        answers.append(answer)
    junk = stack.maildir(address, "Junk") / "new"
    filed = len(list(junk.iterdir())) if junk.is_dir() else 0
    print(f"{len(script.encode()):>12}  {statistics.median(times):>9.3f}  {max(times):>7.3f}  "
          f"{'; '.join(sorted(set(answers)))}; {filed} of {rounds} in Junk")  # fmt: skip
    return mailbox_id


if __name__ == "__main__":
    main()
