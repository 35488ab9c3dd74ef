"""The mail to support after an automatic suspension, through the local MTA's sendmail
interface (the local Exim), with a deadline."""

from __future__ import annotations

import subprocess
from email.message import EmailMessage
from email.utils import make_msgid

from helpdesk.i18n import M, Text
from helpdesk.plaintext import printable
from helpdesk.watch.evidence import Crossing
from helpdesk.watch.settings import WatchSettings

SENDMAIL_TIMEOUT = 20.0


def notification(settings: WatchSettings, crossing: Crossing, host: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.notify_from
    msg["To"] = settings.notify or ""
    msg["Subject"] = f"[helpdesk watch] sending suspended: {printable(crossing.address)}"
    msg["Message-ID"] = make_msgid("helpdesk-watch")
    lines = [
        f"helpdesk watch on {host} suspended sending of {printable(crossing.address)}.",
        f"Reason: {crossing.reason.english()}",
        f"Ticket: {settings.ticket}",
        "",
        "Evidence (mainlog):",
        *(f"  {printable(h.line)}" for h in crossing.evidence),
        "",
        "Mail still arrives. Reset the password before reinstating:",
        f"  helpdesk reinstate {printable(crossing.address)} --ticket T",
    ]
    msg.set_content("\n".join(lines) + "\n")
    return msg


def send(settings: WatchSettings, msg: EmailMessage) -> Text | None:
    """None when the MTA took the mail, else why not (one line)."""
    try:
        done = subprocess.run(
            list(settings.sendmail),
            input=msg.as_bytes(),
            capture_output=True,
            timeout=SENDMAIL_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return M("the mail to support timed out after {s} s", s=int(SENDMAIL_TIMEOUT))
    except OSError as error:
        return M("the mail to support could not be sent: {why}", why=str(error))
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return M(
            "the mail to support could not be sent: {why}",
            why=printable(why[-1] if why else str(done.returncode)),
        )
    return None
