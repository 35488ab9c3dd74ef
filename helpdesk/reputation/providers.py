"""The big receiving providers and what their refusals mean.

A provider is recognised by the host Exim delivered to (`H=` in the log: mail for a company's own
domain hosted at Microsoft 365 goes to *.mail.protection.outlook.com) or else by the recipient's
domain. A refusal counts as a block when its reply says the sender or its address is refused
(reputation, block list, spam rate); a full mailbox or an unknown recipient is not a block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from helpdesk.i18n import M, Text


@dataclass(frozen=True)
class Provider:
    key: str
    name: str
    hosts: tuple[str, ...]  # host name suffixes of its MX
    domains: tuple[str, ...]  # recipient domains (a trailing "." means any top-level domain)


PROVIDERS = (
    Provider(
        "microsoft",
        "Microsoft",
        (".protection.outlook.com", ".outlook.com", ".hotmail.com"),
        ("outlook.", "hotmail.", "live.", "msn.com", "windowslive.com", "passport.com"),
    ),
    Provider(
        "google",
        "Google",
        (".google.com", ".googlemail.com", ".gmail-smtp-in.l.google.com"),
        ("gmail.com", "googlemail.com"),
    ),
    Provider(
        "united-internet",
        "GMX/web.de",
        (".gmx.net", ".gmx.com", ".web.de", ".mail.com", ".kundenserver.de", ".ionos.de"),
        ("gmx.", "web.de", "mail.com", "online.de", "email.de"),
    ),
    Provider(
        "t-online",
        "T-Online",
        (".t-online.de",),
        ("t-online.de", "magenta.de"),
    ),
    Provider(
        "yahoo",
        "Yahoo/AOL",
        (".yahoodns.net",),
        ("yahoo.", "ymail.com", "aol.", "aim.com"),
    ),
    Provider(
        "apple",
        "Apple iCloud",
        (".mail.icloud.com",),
        ("icloud.com", "me.com", "mac.com"),
    ),
)


def provider_of(host: str | None, domain: str) -> Provider | None:
    host = (host or "").lower().rstrip(".")
    domain = domain.lower().rstrip(".")
    for p in PROVIDERS:
        if host and any(host.endswith(s) or host == s[1:] for s in p.hosts):
            return p
    for p in PROVIDERS:
        for d in p.domains:
            if d.endswith("."):
                first = domain.split(".", 1)[0] + "."
                if first == d and "." in domain:
                    return p
            elif domain == d:
                return p
    return None


@dataclass(frozen=True)
class Rule:
    provider: str  # a Provider.key, or "*" for any
    pattern: re.Pattern[str]
    code: str  # as the operator reads it: S3150, 5.7.1, r0201, TSS04 ...
    meaning: Text


def _r(provider: str, pattern: str, code: str, meaning: Text) -> Rule:
    return Rule(provider, re.compile(pattern, re.IGNORECASE), code, meaning)


_MS_LIST = M(
    "Microsoft's own block list (outlook.com, hotmail, live): this server's address or its "
    "network is blocked; ask Microsoft's sender support (olcsupport.office.com) to delist it "
    "after stopping the spam"
)

# The first rule that matches explains the reply; `{code}` is filled from group 1 where shown.
RULES = (
    _r("microsoft", r"\(S3150\)", "S3150", _MS_LIST),
    _r("microsoft", r"\(S3140\)", "S3140", _MS_LIST),
    _r(
        "microsoft",
        r"\b(5\.7\.(?:606|511))\b",
        "{code}",
        M(
            "Microsoft 365 refuses this server's address (banned sending IP); delist at "
            "sender.office.com"
        ),
    ),
    _r(
        "microsoft",
        r"4\.7\.650\b",
        "4.7.650",
        M("Microsoft slows this server down because of its address's reputation (temporary)"),
    ),
    _r(
        "microsoft",
        r"\b(RP-00[1-3])\b",
        "{code}",
        M("Microsoft limits how much this server may send, because of its reputation (temporary)"),
    ),
    _r(
        "microsoft",
        r"\b((?:SC|OU|DY)-00[1-4])\b",
        "{code}",
        M("Microsoft refuses mail from this server's address for its reputation or policy"),
    ),
    _r(
        "microsoft",
        r"\(S77719\)|4\.7\.500\b",
        "4.7.500",
        M("Microsoft refuses for now: too much mail from this address (temporary)"),
    ),
    _r(
        "google",
        r"4\.7\.(?:0|28)\b.*unusual rate of\s*(?:\\n)?(?:\d{3}[ -]4\.7\.\d+\s*)?unsolicited",
        "4.7.28",
        M("Gmail slows this server down: an unusual rate of spam from its address (temporary)"),
    ),
    _r(
        "google",
        r"4\.7\.28\b",
        "4.7.28",
        M("Gmail slows this server down: an unusual rate of spam from its address (temporary)"),
    ),
    _r(
        "google",
        r"5\.7\.1\b.*(?:likely\s*(?:\\n)?(?:\d{3}[ -]5\.7\.1\s*)?unsolicited|unsolicited mail)",
        "5.7.1",
        M("Gmail refuses the message as likely spam (sender or content reputation)"),
    ),
    _r(
        "google",
        r"5\.7\.2[67]\b|4\.7\.2[67]\b",
        "5.7.26",
        M("Gmail refuses unauthenticated mail: the sender domain's SPF or DKIM does not pass"),
    ),
    _r(
        "google",
        r"5\.7\.25\b|4\.7\.2[35]\b",
        "5.7.25",
        M("Gmail refuses mail from an address without matching reverse DNS (PTR)"),
    ),
    _r(
        "united-internet",
        r"(?:block|black) ?listed.*?[?&]c=(\w+)",
        "{code}",
        M(
            "GMX/web.de's own block list holds this server's address; the postmaster page in the "
            "reply names the case"
        ),
    ),
    _r(
        "united-internet",
        r"policy restrictions.*?[?&]c=(\w+)|[?&]c=(\w+).*?policy restrictions",
        "{code}",
        M("GMX/web.de refuse by policy (reputation or volume); the reply's page says which"),
    ),
    _r(
        "t-online",
        r"tosa@rx\.t-online\.de.*?\(([A-Z:]+)\)\s*$|\(([A-Z]{2,}(?::[A-Z]+)?)\)\s*$",
        "{code}",
        M(
            "T-Online's reputation system refuses this server's address; ask tosa@rx.t-online.de "
            "to clarify"
        ),
    ),
    _r(
        "yahoo",
        r"\[(TSS0[4-9]|TS0[1-3])\]",
        "{code}",
        M("Yahoo/AOL defer or refuse for volume or user complaints about this address"),
    ),
    _r(
        "apple",
        r"\[(CS0\d|HM0\d|HL0\d)\]",
        "{code}",
        M("Apple iCloud refuses by local policy (reputation of this address or its content)"),
    ),
    _r(
        "*",
        r"blocked using ([\w-]+(?:\.[\w-]+)*)",
        "{code}",
        M("refused because this server's address is on a public DNS blocklist"),
    ),
    _r(
        "*",
        r"(?:block ?list|black ?list|blocklisted|blacklisted|spamhaus|reputation|"
        r"unsolicited|\bspam\b)",
        "{status}",
        M("refused as spam or for this server's reputation"),
    ),
)

_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
# Replies that are about the recipient, never about the sender's reputation.
_NOT_BLOCKS = re.compile(
    r"\b5\.1\.[0-9]\b|\b[45]\.2\.2\b|mailbox (?:is )?full|over quota|user unknown|"
    r"no such user|does not exist|recipient not found",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Block:
    code: str
    meaning: Text


def explain(provider: str, reply: str) -> Block | None:
    """What the reply means if it is a block, else None."""
    if _NOT_BLOCKS.search(reply):
        return None
    for rule in RULES:
        if rule.provider not in (provider, "*"):
            continue
        m = rule.pattern.search(reply)
        if m is None:
            continue
        code = rule.code
        if "{code}" in code:
            group = next((g for g in m.groups() if g), "")
            code = group or "?"
        elif "{status}" in code:
            status = _STATUS.search(reply)
            code = status.group(1) if status else reply[:3]
        return Block(code[:40], rule.meaning)
    return None
