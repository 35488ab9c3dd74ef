"""Drive real clients against the running stack and keep the Dovecot and Exim log lines they
cause, in the three formats the login timeline reads (see README.md beside this file).

    . .stack/env && .venv/bin/python tests/data/dovecot/capture.py

Rewrites dovecot.log, syslog-traditional.log, syslog-rfc3339.log, journal.json and mainlog here.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

from stack.login_clients import (  # noqa: E402
    imap_cram_md5,
    imap_login,
    imap_session,
    pop3_login,
    smtp_cram_md5,
    smtp_login,
)
from tests.stack_fixture import Stack  # noqa: E402

ADDRESS = "kunde@capture.example"
PASSWORD = "Gutes-Passwort-2026"
IPHONE = {"name": "iPhone Mail", "vendor": "Apple Inc.", "version": "21A329", "os": "iOS"}


def main() -> None:
    env = {k: v for k, v in os.environ.items()}
    stack = Stack(env=env)
    stack.add_mailbox(ADDRESS, PASSWORD, realname="Erika Kunde")
    stack.add_mailbox("gesperrt@capture.example", PASSWORD, enabled=False)
    imap, pop3, smtp = stack.imap_port, int(env.get("POP3_PORT", "2110")), stack.submission_port
    dovecot_log = Path(env["STACK_DIR"]) / "log" / "dovecot.log"
    start_dovecot = dovecot_log.stat().st_size
    start_exim = stack.mainlog.stat().st_size

    imap_login(imap, ADDRESS, PASSWORD, source="127.0.0.10", client_id=IPHONE)
    pop3_login(pop3, ADDRESS, PASSWORD, source="127.0.0.11", tls=False)
    imap_login(imap, ADDRESS, PASSWORD, source="127.0.0.66", tls=False)
    for _ in range(3):
        imap_login(imap, ADDRESS, "altes-passwort", source="127.0.0.9")
    imap_login(imap, ADDRESS, PASSWORD, source="127.0.0.12")
    imap_cram_md5(imap, ADDRESS, PASSWORD, source="127.0.0.12")
    imap_login(imap, ADDRESS, PASSWORD, source="127.0.0.13")
    imap_login(imap, "kunde", PASSWORD, source="127.0.0.13")
    imap_login(imap, "gesperrt@capture.example", PASSWORD, source="127.0.0.14")
    pop3_login(pop3, ADDRESS, "altes-passwort", source="127.0.0.11", tls=False)
    smtp_login(smtp, ADDRESS, "altes-passwort", source="127.0.0.15", helo="outlook-pc")
    smtp_login(smtp, ADDRESS, PASSWORD, source="127.0.0.16", helo="iphone", send_to=ADDRESS)
    smtp_cram_md5(smtp, ADDRESS, source="127.0.0.16", helo="iphone")
    # An eleventh session from one address (mail_max_userip_connections = 10).
    sessions = [imap_session(imap, ADDRESS, PASSWORD, source="127.0.0.17") for _ in range(10)]
    imap_login(imap, ADDRESS, PASSWORD, source="127.0.0.17")
    for session in sessions:
        session.logout()
    time.sleep(1.0)

    with dovecot_log.open("rb") as f:
        f.seek(start_dovecot)
        dovecot = f.read().decode("utf-8", "replace")
    with stack.mainlog.open("rb") as f:
        f.seek(start_exim)
        exim = f.read().decode("utf-8", "replace")
    keep = re.compile(r"capture\.example|\b127\.0\.0\.(9|1[0-7]|66)\b")
    lines = [line for line in dovecot.splitlines() if keep.search(line)]
    (HERE / "dovecot.log").write_text("\n".join(lines) + "\n")
    exim_lines = [
        line for line in exim.splitlines() if re.search(r"127\.0\.0\.1[5-6]|capture\.example", line)
    ]
    (HERE / "mainlog").write_text("\n".join(exim_lines) + "\n")

    year = datetime.now().year
    stamp = re.compile(r"^(\w{3} [ \d]\d \d\d:\d\d:\d\d) (.*)$")
    traditional, rfc, journal = [], [], []
    for line in lines:
        m = stamp.match(line)
        if not m:
            continue
        when = datetime.strptime(f"{year} {m.group(1)}", "%Y %b %d %H:%M:%S").astimezone()
        # Through syslog Dovecot leaves out its level prefix ("Info: "): the priority says it.
        text = re.sub(r"^([^:]+): (?:Info|Warning|Error|Fatal|Panic): ", r"\1: ", m.group(2))
        traditional.append(f"{m.group(1)} mail01 dovecot: {text}")
        rfc.append(f"{when.isoformat(timespec='microseconds')} mail01 dovecot: {text}")
        journal.append(
            json.dumps(
                {
                    "__REALTIME_TIMESTAMP": str(int(when.timestamp() * 1_000_000)),
                    "_HOSTNAME": "mail01",
                    "SYSLOG_IDENTIFIER": "dovecot",
                    "_COMM": "imap-login",
                    "PRIORITY": "6",
                    "MESSAGE": text,
                }
            )
        )
    (HERE / "syslog-traditional.log").write_text("\n".join(traditional) + "\n")
    (HERE / "syslog-rfc3339.log").write_text("\n".join(rfc) + "\n")
    (HERE / "journal.json").write_text("\n".join(journal) + "\n")


if __name__ == "__main__":
    main()
