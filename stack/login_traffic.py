"""The client kinds of "I can't log in", driven against the running stack for the traffic round's
own customers, so that the demo's Logins tab and `helpdesk logins` have every case to explain:

- a.kaya@praxis-kaya.example: an iPhone on IMAP with TLS (IMAP ID), whose SMTP account still
  tries CRAM-MD5 (refused, no user name: attributed by address);
- anna@gartenbau-schulz.example: an old device still on POP3 without TLS, and a laptop at
  127.0.0.66 whose plaintext login without TLS is refused;
- m.rossi@ristorante-rossi.example: a phone that logs in, and a second device that keeps trying
  the old password until fail2ban bans its address;
- s.weber@kanzlei-weber.example: a new laptop set up with the bare local part as login name.

`run(env, password)` returns what it did, per address, for the round's summary.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stack.login_clients import imap_cram_md5, imap_login, pop3_login, smtp_cram_md5, smtp_login

IPHONE = {"name": "iPhone Mail", "vendor": "Apple Inc.", "version": "21A329", "os": "iOS"}
THUNDERBIRD = {"name": "Thunderbird", "version": "128.5.0", "os": "Windows"}
PLAINTEXT_REFUSED = "127.0.0.66"  # the stack's Dovecot refuses plaintext logins without TLS here


def run(env: dict[str, str], password: str, old_password: str = "Altes-Passwort-2019") -> dict:
    imap = int(env.get("IMAP_PORT") or 2143)
    pop3 = int(env.get("POP3_PORT") or os.environ.get("STACK_POP3_PORT") or 2110)
    smtp = int(env.get("SUBMISSION_PORT") or 2587)
    done: dict[str, list[str]] = {}

    kaya = "a.kaya@praxis-kaya.example"
    imap_login(imap, kaya, password, source="127.0.0.31", client_id=IPHONE)
    smtp_cram_md5(smtp, kaya, source="127.0.0.31", helo="iPhone")
    imap_cram_md5(imap, kaya, password, source="127.0.0.31")
    done[kaya] = ["imap ok (iPhone)", "smtp CRAM-MD5 refused", "imap CRAM-MD5 refused"]

    anna = "anna@gartenbau-schulz.example"
    pop3_login(pop3, anna, password, source="127.0.0.32", tls=False)
    imap_login(imap, anna, password, source=PLAINTEXT_REFUSED, tls=False)
    imap_login(imap, anna, password, source=PLAINTEXT_REFUSED, client_id=THUNDERBIRD)
    done[anna] = ["pop3 ok without TLS", "imap plaintext refused", "imap ok with TLS"]

    rossi = "m.rossi@ristorante-rossi.example"
    imap_login(imap, rossi, password, source="127.0.0.33", client_id=IPHONE)
    for _ in range(6):  # fail2ban's threshold on the stack is 5
        imap_login(imap, rossi, old_password, source="127.0.0.34")
    done[rossi] = ["imap ok (iPhone)", "6 × old password from 127.0.0.34 (banned)"]

    weber = "s.weber@kanzlei-weber.example"
    imap_login(imap, weber, password, source="127.0.0.35", client_id=THUNDERBIRD)
    imap_login(imap, weber.split("@")[0], password, source="127.0.0.35")
    smtp_login(smtp, weber.split("@")[0], password, source="127.0.0.35", helo="laptop")
    done[weber] = ["imap ok", "imap and smtp as the bare local part"]
    return done


if __name__ == "__main__":
    from stack.settings import Settings, read_env
    from stack.traffic import TRAFFIC_PASSWORD

    settings = Settings.from_env()
    for address, what in run(read_env(settings.env_path), TRAFFIC_PASSWORD).items():
        print(f"{address}: {', '.join(what)}")
