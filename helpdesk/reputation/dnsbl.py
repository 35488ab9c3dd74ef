"""Asking DNS blocklists about the hoster's outbound addresses.

Every (address, blocklist) pair is one A query, all of them at once in threads, each with its
own deadline (`[reputation] timeout`, 2 s by default): the whole check takes about one deadline
however many lists are asked. When not one query is answered, the resolver is down, and that is
one line (an Unreachable error) instead of a table of time-outs.

Names follow RFC 5782: an IPv4 address's octets reversed (192.0.2.10 -> 10.2.0.192.zone), an
IPv6 address's 32 nibbles reversed (2001:db8::25 -> 5.2.0.0. ... .8.b.d.0.1.0.0.2.zone).
"""

from __future__ import annotations

import ipaddress
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from helpdesk.errors import Unreachable
from helpdesk.i18n import M, Text
from helpdesk.reputation.codes import (
    CLEAR,
    LISTED,
    REFUSED,
    UNEXPECTED,
    blocklist,
    decode,
    short_code,
)
from helpdesk.reputation.settings import IPAddress, ReputationSettings

ERROR = "error"
SKIPPED = "skipped"
_WORKERS = 64  # every query at once for any sensible configuration
_DQS_ZONE = "dq.spamhaus.net"


def query_name(address: IPAddress, zone: str) -> str:
    """The DNS name that asks `zone` about `address`."""
    if isinstance(address, ipaddress.IPv4Address):
        return ".".join(reversed(str(address).split("."))) + "." + zone
    nibbles = address.exploded.replace(":", "")
    return ".".join(reversed(nibbles)) + "." + zone


def query_zone(zone: str, dqs_key: str | None) -> str:
    """Where to ask: a Spamhaus zone through the Data Query Service when a key is configured."""
    known = blocklist(zone)
    if dqs_key and known.dqs:
        return f"{dqs_key}.{known.dqs}.{_DQS_ZONE}"
    return zone


def shown_zone(zone: str, dqs_key: str | None) -> str:
    """The list as the operator reads it: never with the key in it."""
    known = blocklist(zone)
    if dqs_key and known.dqs:
        return f"{zone} (DQS)"
    return zone


@dataclass
class Answer:
    """One address on one list."""

    address: str
    zone: str  # as configured (zen.spamhaus.org), never with a DQS key
    shown: str
    state: str  # listed, clear, refused, unexpected, error, skipped
    codes: list[str] = field(default_factory=list)
    meanings: list[Text] = field(default_factory=list)
    note: str = ""  # the list's TXT record: its own explanation or lookup URL (outside text)
    error: Text | None = None
    # From the history: since when this listing is seen (naive UTC), None when not listed.
    since: datetime | None = None

    @property
    def listed(self) -> bool:
        return self.state == LISTED

    def summary(self) -> str:
        """`XBL` / `127.0.0.2`: the codes in a few characters, for one line."""
        return "+".join(dict.fromkeys(short_code(self.zone, c) for c in self.codes))

    def as_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "blocklist": self.zone,
            "dqs": self.shown != self.zone,
            "state": self.state,
            "codes": list(self.codes),
            "meanings": [m.english() for m in self.meanings],
            "meanings_message": [m.as_json() for m in self.meanings],
            "note": self.note or None,
            "error": self.error.english() if self.error is not None else None,
            "error_message": self.error.as_json() if self.error is not None else None,
            "since": _utc_json(self.since),
        }


@dataclass
class Check:
    checked_at: datetime  # naive UTC
    resolver: str
    answers: list[Answer]

    @property
    def listed(self) -> list[Answer]:
        return [a for a in self.answers if a.listed]

    def as_json(self) -> dict[str, Any]:
        return {
            "checked_at": _utc_json(self.checked_at),
            "resolver": self.resolver,
            "listed": bool(self.listed),
            "answers": [a.as_json() for a in self.answers],
        }


def _utc_json(when: datetime | None) -> str | None:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when is not None else None


class _Asker:
    """One query at a time against the configured resolver (or the system's), with a deadline."""

    def __init__(self, settings: ReputationSettings) -> None:
        import dns.resolver

        self.timeout = settings.timeout
        if settings.resolver is not None:
            self.servers = [(settings.resolver.host, settings.resolver.port)]
            self.label = str(settings.resolver)
        else:
            try:
                system = dns.resolver.Resolver(configure=True)
            except (dns.resolver.NoResolverConfiguration, OSError):
                raise Unreachable(
                    M("no DNS resolver: set [reputation] resolver (IP:PORT)")
                ) from None
            self.servers = [(ns, system.port) for ns in system.nameservers[:1]]
            if not self.servers:
                raise Unreachable(M("no DNS resolver: set [reputation] resolver (IP:PORT)"))
            host = self.servers[0][0]
            self.label = (
                f"[{host}]:{self.servers[0][1]}" if ":" in host else f"{host}:{self.servers[0][1]}"
            )

    def ask(self, name: str, rdtype: str) -> tuple[str, list[str]]:
        """(rcode text or "TIMEOUT", answers as text) for one question."""
        import dns.exception
        import dns.flags
        import dns.message
        import dns.query
        import dns.rcode
        import dns.rdatatype

        host, port = self.servers[0]
        query = dns.message.make_query(name, rdtype)
        deadline = time.monotonic() + self.timeout
        try:
            reply = dns.query.udp(query, host, timeout=self.timeout, port=port)
            if reply.flags & dns.flags.TC:
                # Truncated: asked again over TCP, within what is left of the same deadline.
                left = deadline - time.monotonic()
                if left <= 0:
                    return "TIMEOUT", []
                reply = dns.query.tcp(query, host, timeout=left, port=port)
        except dns.exception.Timeout:
            return "TIMEOUT", []
        except OSError as exc:
            # No route, no network for that address family: the resolver cannot be reached.
            return "UNREACHABLE", [exc.strerror or type(exc).__name__]
        except dns.exception.DNSException as exc:
            return "BROKEN", [type(exc).__name__]
        want = dns.rdatatype.from_text(rdtype)
        found: list[str] = []
        for rrset in reply.answer:
            if rrset.rdtype != want:
                continue  # a CNAME on the way
            for rr in rrset:
                if rdtype == "TXT":
                    found.append(b"".join(rr.strings).decode("utf-8", "replace"))
                else:
                    found.append(rr.to_text())
        return dns.rcode.to_text(reply.rcode()), found


def check(settings: ReputationSettings, *, now: datetime | None = None) -> Check:
    """Every configured address against every configured list. Raises Unreachable when the
    resolver answers no query at all."""
    asker = _Asker(settings)
    pairs: list[tuple[IPAddress, str]] = [
        (address, zone) for address in settings.addresses for zone in settings.blocklists
    ]
    checked_at = (now or datetime.now(UTC)).replace(tzinfo=None, microsecond=0)
    if not pairs:
        return Check(checked_at, asker.label, [])

    def one(pair: tuple[IPAddress, str]) -> Answer:
        return _one(asker, settings.dqs_key, *pair)

    with ThreadPoolExecutor(max_workers=min(_WORKERS, len(pairs))) as pool:
        answers = list(pool.map(one, pairs))
    asked = [a for a in answers if a.state != SKIPPED]
    if asked and all(a.state == ERROR and a.codes[:1] == ["UNREACHABLE"] for a in asked):
        raise Unreachable(
            M(
                "cannot reach the DNS resolver {resolver}: {reason}",
                resolver=asker.label,
                reason=asked[0].codes[1],
            )
        )
    if asked and all(a.state == ERROR and a.codes == ["TIMEOUT"] for a in asked):
        raise Unreachable(
            M(
                "the DNS resolver {resolver} did not answer within {seconds} s",
                resolver=asker.label,
                seconds=format(settings.timeout, "g"),
            )
        )
    for a in answers:
        if a.state == ERROR:
            a.codes = []
    return Check(checked_at, asker.label, answers)


def _one(asker: _Asker, dqs_key: str | None, address: IPAddress, zone: str) -> Answer:
    shown = shown_zone(zone, dqs_key)
    answer = Answer(str(address), zone, shown, CLEAR)
    if isinstance(address, ipaddress.IPv6Address) and not blocklist(zone).ipv6:
        answer.state = SKIPPED
        answer.error = M("this list answers for IPv4 addresses only")
        return answer
    name = query_name(address, query_zone(zone, dqs_key))
    rcode, records = asker.ask(name, "A")
    if rcode == "TIMEOUT":
        answer.state, answer.codes = ERROR, ["TIMEOUT"]
        answer.error = M("no answer within {seconds} s", seconds=format(asker.timeout, "g"))
        return answer
    if rcode == "UNREACHABLE":
        answer.state, answer.codes = ERROR, ["UNREACHABLE", records[0]]
        answer.error = M("cannot reach the resolver: {reason}", reason=records[0])
        return answer
    if rcode == "BROKEN":
        answer.state = ERROR
        answer.error = M("the resolver's answer cannot be read ({reason})", reason=records[0])
        return answer
    if rcode == "NXDOMAIN" or (rcode == "NOERROR" and not records):
        return answer
    if rcode != "NOERROR":
        answer.state = ERROR
        answer.error = M(
            "the resolver answered {rcode} (it may not forward this zone)",
            rcode=_safe_rcode(rcode),
        )
        return answer
    states = []
    for record in sorted(set(records), key=_ip_order):
        state, meaning = decode(zone, record)
        states.append(state)
        answer.codes.append(record)
        answer.meanings.append(meaning)
    # A listing counts only when the list said so; a refusal or a rewritten answer never does.
    if LISTED in states:
        answer.state = LISTED
        keep = [i for i, s in enumerate(states) if s == LISTED]
        answer.codes = [answer.codes[i] for i in keep]
        answer.meanings = [answer.meanings[i] for i in keep]
        txt_rcode, texts = asker.ask(name, "TXT")
        if txt_rcode == "NOERROR" and texts:
            answer.note = " ".join(texts)[:500]
    elif REFUSED in states:
        answer.state = REFUSED
    else:
        answer.state = UNEXPECTED
    return answer


def _safe_rcode(rcode: str) -> str:
    return rcode if rcode.replace(" ", "").isalnum() else "?"


def _ip_order(text: str) -> tuple[int, str]:
    try:
        return int(ipaddress.ip_address(text)), text
    except ValueError:
        return 0, text
