"""What a blocklist's answer means.

A DNS blocklist answers a listed address with one or more A records in 127.0.0.0/8, each a code.
Spamhaus also answers with codes in 127.255.255.0/24 when it refuses the query itself (through a
public or open resolver, too many queries, a wrong zone name): those are never a listing. An
answer outside 127.0.0.0/8 is not a blocklist answer at all (a resolver that rewrites
"no such name" to an advertising server does this), so it is never a listing either.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from helpdesk.i18n import M, Text

LISTED = "listed"
CLEAR = "clear"
REFUSED = "refused"
UNEXPECTED = "unexpected"


@dataclass(frozen=True)
class Blocklist:
    zone: str
    name: str
    ipv6: bool  # whether the list answers for IPv6 addresses at all
    codes: dict[str, Text]
    dqs: str | None = None  # the zone's name under dq.spamhaus.net


_ZEN_CODES = {
    "127.0.0.2": M("SBL: a spam source or spam operation Spamhaus tracks by hand"),
    "127.0.0.3": M("SBL CSS: a snowshoe or low-reputation spam source, found automatically"),
    "127.0.0.4": M("XBL: an infected or exploited host (botnet, proxy, stolen login)"),
    "127.0.0.5": M("XBL: an infected or exploited host (botnet, proxy, stolen login)"),
    "127.0.0.6": M("XBL: an infected or exploited host (botnet, proxy, stolen login)"),
    "127.0.0.7": M("XBL: an infected or exploited host (botnet, proxy, stolen login)"),
    "127.0.0.9": M("SBL DROP: a network hijacked or run by spammers"),
    "127.0.0.10": M(
        "PBL (set by the network's ISP): end-user addresses that should not send mail directly"
    ),
    "127.0.0.11": M("PBL (set by Spamhaus): end-user addresses that should not send mail directly"),
}

_SPAMHAUS_REFUSALS = {
    "127.255.255.252": M("query refused: the blocklist's name is misspelt"),
    "127.255.255.254": M(
        "query refused: asked through a public or open resolver "
        "(use your own resolver or a DQS key)"
    ),
    "127.255.255.255": M("query refused: too many queries from this resolver"),
}

KNOWN: dict[str, Blocklist] = {
    b.zone: b
    for b in (
        Blocklist("zen.spamhaus.org", "Spamhaus ZEN", True, _ZEN_CODES, "zen"),
        Blocklist(
            "sbl.spamhaus.org",
            "Spamhaus SBL",
            True,
            {k: v for k, v in _ZEN_CODES.items() if k in ("127.0.0.2", "127.0.0.3", "127.0.0.9")},
            "sbl",
        ),
        Blocklist(
            "xbl.spamhaus.org",
            "Spamhaus XBL",
            True,
            {
                k: v
                for k, v in _ZEN_CODES.items()
                if k in ("127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7")
            },
            "xbl",
        ),
        Blocklist(
            "pbl.spamhaus.org",
            "Spamhaus PBL",
            True,
            {k: v for k, v in _ZEN_CODES.items() if k in ("127.0.0.10", "127.0.0.11")},
            "pbl",
        ),
        Blocklist(
            "bl.spamcop.net",
            "SpamCop",
            False,
            {"127.0.0.2": M("SpamCop: recipients reported mail from this address as spam")},
        ),
        Blocklist(
            "b.barracudacentral.org",
            "Barracuda",
            False,
            {"127.0.0.2": M("Barracuda: poor reputation (spam seen from this address)")},
        ),
        Blocklist(
            "psbl.surriel.com",
            "PSBL",
            False,
            {"127.0.0.2": M("PSBL: this address sent mail to spam traps")},
        ),
        Blocklist(
            "bl.mailspike.net",
            "Mailspike",
            False,
            {
                "127.0.0.2": M("Mailspike: a spam source"),
                "127.0.0.10": M("Mailspike: worst reputation"),
                "127.0.0.11": M("Mailspike: very bad reputation"),
                "127.0.0.12": M("Mailspike: bad reputation"),
                "127.0.0.13": M("Mailspike: suspicious reputation"),
                "127.0.0.14": M("Mailspike: neutral reputation, probably spam"),
            },
        ),
        Blocklist(
            "dnsbl-1.uceprotect.net",
            "UCEPROTECT level 1",
            False,
            {"127.0.0.2": M("UCEPROTECT level 1: this address hit spam traps")},
        ),
    )
}


def blocklist(zone: str) -> Blocklist:
    """The known list of that zone, or one that reads any 127.0.0.x as "listed"."""
    known = KNOWN.get(zone)
    if known is not None:
        return known
    return Blocklist(zone, zone, True, {})


def is_spamhaus(zone: str) -> bool:
    return zone == "spamhaus.org" or zone.endswith((".spamhaus.org", ".spamhaus.net"))


def decode(zone: str, answer: str) -> tuple[str, Text]:
    """(state, meaning) of one A record a blocklist answered."""
    try:
        ip = ipaddress.IPv4Address(answer)
    except ValueError:
        return UNEXPECTED, M("not a blocklist answer: {answer}", answer=answer)
    if answer in _SPAMHAUS_REFUSALS and (is_spamhaus(zone) or zone not in KNOWN):
        return REFUSED, _SPAMHAUS_REFUSALS[answer]
    if ip in ipaddress.IPv4Network("127.255.255.0/24"):
        return REFUSED, M("query refused by the blocklist (code {answer})", answer=answer)
    if ip not in ipaddress.IPv4Network("127.0.0.0/8"):
        return UNEXPECTED, M(
            "not a blocklist answer: {answer} (does the resolver rewrite unknown names?)",
            answer=answer,
        )
    meaning = blocklist(zone).codes.get(answer)
    if meaning is None:
        return LISTED, M("listed (code {answer})", answer=answer)
    return LISTED, meaning


def short_code(zone: str, answer: str) -> str:
    """SBL / CSS / XBL / PBL / DROP for Spamhaus codes, else the code itself (for one line)."""
    if not is_spamhaus(zone):
        return answer
    last = answer.rsplit(".", 1)[-1]
    return (
        {
            "2": "SBL",
            "3": "CSS",
            "4": "XBL",
            "5": "XBL",
            "6": "XBL",
            "7": "XBL",
            "9": "DROP",
            "10": "PBL",
            "11": "PBL",
        }.get(last, answer)
        if answer.startswith("127.0.0.")
        else answer
    )
