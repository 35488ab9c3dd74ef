"""The stack's own DNS server: dnsmasq on a loopback port, serving test blocklist zones.

`helpdesk reputation` asks it instead of the internet (nothing on the stack talks to the
internet). It answers, for the stack's made-up outbound addresses:

- Spamhaus through the Data Query Service (`<key>.zen.dq.spamhaus.net`, with the stack's test
  key): 192.0.2.10 listed in the XBL (127.0.0.4), 2001:db8::25 listed in the SBL (127.0.0.2);
- `zen.spamhaus.org` without a key: 127.255.255.254 for every address, as Spamhaus answers
  queries that come through a public resolver ("query refused", never a listing);
- `bl.spamcop.net`: 198.51.100.25 listed (127.0.0.2); `b.barracudacentral.org`: nothing listed;
- `rewrite.stack.test`: 198.51.100.200 for every name, like a resolver that rewrites unknown
  names to an advertising server (not a blocklist answer);
- every zone also has the RFC 5782 test entry 127.0.0.2; any other name is REFUSED.

The port is `STACK_DNS_PORT` (default 2553; never 53), written to `.stack/env` as `DNS_PORT`
and `DNS_RESOLVER`. dnsmasq runs in the foreground (`-k`), reads only the config written here
(`--conf-file`, no /etc/resolv.conf, no /etc/hosts), and logs to the supervisor's log file.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stack.services import Service
    from stack.settings import Settings

DEFAULT_PORT = 2553
BINARY = "dnsmasq"
# A made-up key in Spamhaus's format (26 letters and digits): the stack's DQS zone uses it.
TEST_DQS_KEY = "stacktestkey0123456789abcd"
ADDRESSES = ("192.0.2.10", "198.51.100.25", "2001:db8::25")
BLOCKLISTS = ("zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org")
DQS_ZEN = f"{TEST_DQS_KEY}.zen.dq.spamhaus.net"

# zone -> {address: [(code, TXT)]}
LISTINGS: dict[str, dict[str, list[tuple[str, str]]]] = {
    DQS_ZEN: {
        "192.0.2.10": [("127.0.0.4", "https://check.spamhaus.org/listed/?searchterm=192.0.2.10")],
        "2001:db8::25": [("127.0.0.2", "https://check.spamhaus.org/sbl/listings/SBL999999")],
        "127.0.0.2": [("127.0.0.2", ""), ("127.0.0.4", ""), ("127.0.0.10", "")],
    },
    "bl.spamcop.net": {
        "198.51.100.25": [
            ("127.0.0.2", "Blocked - see https://www.spamcop.net/bl.shtml?198.51.100.25")
        ],
        "127.0.0.2": [("127.0.0.2", "")],
    },
    "b.barracudacentral.org": {"127.0.0.2": [("127.0.0.2", "")]},
}
WILDCARDS = {"zen.spamhaus.org": "127.255.255.254", "rewrite.stack.test": "198.51.100.200"}


def port(environ: dict[str, str] | None = None) -> int:
    raw = (os.environ if environ is None else environ).get("STACK_DNS_PORT", str(DEFAULT_PORT))
    if not raw.isdigit() or not 0 < int(raw) < 65536 or int(raw) == 53:
        raise ValueError(f"STACK_DNS_PORT={raw!r} is not a port number other than 53")
    return int(raw)


def available() -> bool:
    """dnsmasq-base installed: without it the stack runs without a DNS server."""
    return shutil.which(BINARY) is not None or Path("/usr/sbin/dnsmasq").exists()


def reverse_name(address: str, zone: str) -> str:
    ip = ipaddress.ip_address(address)
    if ip.version == 4:
        return ".".join(reversed(address.split("."))) + "." + zone
    return ".".join(reversed(ip.exploded.replace(":", ""))) + "." + zone


def config_text(dns_port: int, hosts: Path) -> str:
    lines = [
        "# Written by stack/dns.py on every start of the stack.",
        f"port={dns_port}",
        "listen-address=127.0.0.1",
        "bind-interfaces",
        "no-resolv",
        "no-hosts",
        "no-poll",
        "no-negcache",
        "cache-size=0",
        "log-facility=-",
        f"addn-hosts={hosts}",
    ]
    for zone in LISTINGS:
        lines.append(f"local=/{zone}/")
    for zone, answer in WILDCARDS.items():
        lines.append(f"address=/{zone}/{answer}")
    for zone, entries in LISTINGS.items():
        for address, codes in entries.items():
            for _code, txt in codes:
                if txt:
                    lines.append(f'txt-record={reverse_name(address, zone)},"{txt}"')
    return "\n".join(lines) + "\n"


def hosts_text() -> str:
    lines = []
    for zone, entries in LISTINGS.items():
        for address, codes in entries.items():
            for code, _txt in codes:
                lines.append(f"{code} {reverse_name(address, zone)}")
    return "\n".join(lines) + "\n"


def service(settings: Settings) -> Service | None:
    """Write the config under .stack/dns/ and say how to start dnsmasq (None: not installed)."""
    from stack.services import Service

    if not available():
        return None
    folder = settings.state / "dns"
    folder.mkdir(parents=True, exist_ok=True)
    hosts = folder / "blocklists.hosts"
    conf = folder / "dnsmasq.conf"
    # dnsmasq drops root after reading them: both readable (they hold only test data).
    hosts.write_text(hosts_text())
    conf.write_text(config_text(port(), hosts))
    for path in (folder, hosts, conf):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    binary = shutil.which(BINARY) or "/usr/sbin/dnsmasq"
    return Service(
        name="dns",
        argv=[binary, "--keep-in-foreground", f"--conf-file={conf}", "--pid-file="],
        ports=[port()],
        log=str(settings.log_dir / "dns.out"),
    )


def dqs_key_file(settings: Settings) -> Path:
    path = settings.state / "dqs.key"
    if not path.exists() or path.read_text().strip() != TEST_DQS_KEY:
        path.write_text(TEST_DQS_KEY + "\n")
    os.chmod(path, 0o600)
    return path


def config_lines(settings: Settings) -> list[str]:
    """The [reputation] section of the stack's helpdesk.toml (empty without dnsmasq)."""
    if not available():
        return []
    quoted = ", ".join(f'"{a}"' for a in ADDRESSES)
    lists = ", ".join(f'"{z}"' for z in BLOCKLISTS)
    return [
        "[reputation]",
        f"addresses = [{quoted}]",
        f'resolver = "127.0.0.1:{port()}"',
        f"blocklists = [{lists}]",
        f'dqs_key_file = "{dqs_key_file(settings)}"',
        "",
    ]


def env_values() -> dict[str, str]:
    if not available():
        return {}
    return {"DNS_PORT": str(port()), "DNS_RESOLVER": f"127.0.0.1:{port()}"}


def fingerprint() -> dict[str, object]:
    """What a running stack must match: the port and the zones served."""
    data = config_text(port(), Path("hosts")) + hosts_text()
    return {
        "dns_port": port() if available() else None,
        "dns_zones": hashlib.sha256(data.encode()).hexdigest()[:16],
    }
