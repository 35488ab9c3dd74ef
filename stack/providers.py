"""A stand-in for the big providers' mail servers, refusing the stack's mail as they do when they
block a server: `python stack/providers.py --port N` (a stack service, stack/services.py).

The letter's real pain is Hotmail/Outlook refusing everybody's mail, which no DNS blocklist
shows: `helpdesk reputation` finds it in the mainlog, in the replies Exim got from the
providers. Nothing on the stack talks to the internet, so the stack's Exim sends mail for a
few of Microsoft's and Google's consumer domains (the `big_providers` router of
stack/exim/exim.conf.in) to this server on a loopback port, which answers every recipient with
the provider's block reply, worded as the providers word them (Microsoft's `S3150`, Google's
`5.7.1`). The replies are permanent (5xx), so Exim bounces once and retries nothing.

It speaks just enough SMTP for Exim's smtp transport, one thread per connection, with a
deadline on every read.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socketserver
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stack.services import Service
    from stack.settings import Settings

# The stack's outbound address that its DNS server lists (stack/dns.py): what the providers see.
OUTBOUND = "192.0.2.10"
DEFAULT_PORT = 2535
MICROSOFT = ("hotmail.com", "outlook.com", "outlook.de", "live.com", "live.de")
GOOGLE = ("gmail.com", "googlemail.com")
DOMAINS = MICROSOFT + GOOGLE
READ_SECONDS = 60
MAX_LINE = 4096

_MICROSOFT_BLOCK = (
    f"550 5.7.1 Unfortunately, messages from [{OUTBOUND}] weren't sent. Please contact your "
    "Internet service provider since part of their network is on our block list (S3150). You "
    "can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors. "
    "[AM0STACK001.eurprd00.prod.outlook.com]"
)
_GOOGLE_BLOCK = "\r\n".join(
    [
        f"550-5.7.1 [{OUTBOUND}      12] Our system has detected that this message is",
        "550-5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail,",
        "550-5.7.1 this message has been blocked. For more information, go to",
        "550 5.7.1  https://support.google.com/mail/?p=UnsolicitedMessageError stack - gsmtp",
    ]
)


def port(environ: dict[str, str] | None = None) -> int:
    raw = (os.environ if environ is None else environ).get(
        "STACK_PROVIDERS_PORT", str(DEFAULT_PORT)
    )
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"STACK_PROVIDERS_PORT={raw!r} is not a port number")
    return int(raw)


def reply_to_rcpt(address: str) -> str:
    """The provider's answer to RCPT TO: its block reply; any other domain is not ours."""
    domain = address.rpartition("@")[2].strip().lower().rstrip(">")
    if domain in MICROSOFT:
        return _MICROSOFT_BLOCK
    if domain in GOOGLE:
        return _GOOGLE_BLOCK
    return "550 5.1.1 no such domain here"


class _Session(socketserver.StreamRequestHandler):
    timeout = READ_SECONDS

    def _say(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        self._say("220 mx.providers.stack.test ESMTP the big providers' stand-in")
        try:
            while True:
                raw = self.rfile.readline(MAX_LINE)
                if not raw:
                    return
                line = raw.decode("ascii", "replace").strip()
                verb = line[:4].upper()
                if verb in ("EHLO", "HELO"):
                    self._say("250 mx.providers.stack.test")
                elif verb == "RCPT":
                    self._say(reply_to_rcpt(line.partition(":")[2].strip().strip("<>")))
                elif verb == "DATA":  # never reached: every recipient is refused
                    self._say("554 5.5.1 no valid recipients")
                elif verb == "QUIT":
                    self._say("221 2.0.0 bye")
                    return
                elif verb in ("MAIL", "RSET", "NOOP"):
                    self._say("250 2.0.0 OK")
                else:
                    self._say("500 5.5.2 not understood")
        except (TimeoutError, ConnectionError):
            return


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def service(settings: Settings) -> Service:
    """The stand-in as a stack service on 127.0.0.1:STACK_PROVIDERS_PORT."""
    from stack.services import Service

    listen = port()
    return Service(
        name="providers",
        argv=[sys.executable, os.path.abspath(__file__), "--port", str(listen)],
        ports=[listen],
        log=str(settings.log_dir / "providers.out"),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stack.providers", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    with _Server(("127.0.0.1", args.port), _Session) as server:
        print(f"providers: listening on 127.0.0.1:{args.port}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever(poll_interval=0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
