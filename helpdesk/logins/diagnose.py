"""What the timeline means, in plain words with the fix to tell the customer.

Each diagnosis names the evidence (client program, addresses, counts), so the operator can say
which device it is: the customer usually has several.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from helpdesk.i18n import M, Mn, Text
from helpdesk.localtime import log_time_text

if TYPE_CHECKING:
    from helpdesk.logins.events import LoginEvent
    from helpdesk.mailcenter.mailboxes import Mailbox

MAX_ADDRESSES = 4


@dataclass
class Diagnosis:
    code: str
    text: Text

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text.english(), "text_message": self.text.as_json()}


def _addresses(ips: list[str]) -> str:
    return ", ".join(ips[:MAX_ADDRESSES]) + (" …" if len(ips) > MAX_ADDRESSES else "")


def _device(events: list[LoginEvent]) -> Text:
    """`program X at addresses a, b; program Y at c` or `addresses a, b` for a set of events:
    each program with the addresses it used (a phone changes addresses, a PC keeps one)."""
    by_program: dict[str, list[str]] = {}
    for e in events:
        ips = by_program.setdefault(e.client, [])
        if e.ip and e.ip not in ips:
            ips.append(e.ip)
    named = [(p, ips) for p, ips in by_program.items() if p][:3]
    bare = by_program.get("", [])
    bare = [ip for ip in bare if not any(ip in ips for _p, ips in named)]
    parts: list[Text] = [
        M("{program} at {addresses}", program=p, addresses=_addresses(ips)) for p, ips in named
    ]
    if bare or not parts:
        parts.append(
            Mn(
                "address {addresses}",
                "addresses {addresses}",
                len(bare),
                addresses=_addresses(bare),
            )
        )
    return _join(parts)


def _join(parts: list[Text]) -> Text:
    if len(parts) == 1:
        return parts[0]
    return M("{first}; {rest}", first=parts[0], rest=_join(parts[1:]))


def _count(events: list[LoginEvent]) -> int:
    return sum(e.attempts for e in events)


def utc_to_local(when: datetime | None) -> datetime | None:
    """A stored UTC time as the naive local time the logs use."""
    if when is None:
        return None
    return when.replace(tzinfo=UTC).astimezone().replace(tzinfo=None)


def diagnose(
    events: list[LoginEvent], address: str, mailbox: Mailbox | None, bans: dict[str, datetime]
) -> list[Diagnosis]:
    """The diagnoses for a mailbox's timeline events."""
    out: list[Diagnosis] = []
    if mailbox is not None and not (mailbox.enabled and mailbox.domain_enabled):
        out.append(
            Diagnosis(
                "login_disabled",
                M("login is disabled for this mailbox (or its domain): reinstate it first"),
            )
        )
    cram = [
        e
        for e in events
        if e.mechanism.startswith("CRAM") or e.mechanism in ("DIGEST-MD5", "NTLM", "GSSAPI")
    ]
    if cram:
        out.append(
            Diagnosis(
                "cram_md5",
                M(
                    "the client tries {mechanism} ({device}): set the password transfer to "
                    "“normal password”",
                    mechanism=cram[-1].mechanism,
                    device=_device(cram),
                ),
            )
        )
    plain = [e for e in events if e.tls is False]
    if plain:
        out.append(
            Diagnosis(
                "no_tls",
                M(
                    "the client connects without encryption ({device}): choose SSL/TLS or STARTTLS",
                    device=_device(plain),
                ),
            )
        )
    pop3 = [e for e in events if e.protocol == "pop3" and e.match != "near_miss"]
    if pop3:
        out.append(
            Diagnosis(
                "pop3",
                M(
                    "POP3 is still used ({device}): switch to IMAP, or the device empties the "
                    "mailbox",
                    device=_device(pop3),
                ),
            )
        )
    out.extend(_old_password(events))
    near = [e for e in events if e.match == "near_miss"]
    if near:
        names = ", ".join(dict.fromkeys(e.user for e in near))
        out.append(
            Diagnosis(
                "login_name",
                M(
                    "the login name must be the full address {address} (tried: {names}; {device})",
                    address=address,
                    names=names,
                    device=_device(near),
                ),
            )
        )
    banned = {e.ip for e in events if e.ip in bans}
    for ip in sorted(banned):
        out.append(
            Diagnosis(
                "banned",
                M(
                    "the address {ip} is banned since {since}: lift the ban once the device "
                    "has the right password",
                    ip=ip,
                    since=log_time_text(bans[ip], zone=True),
                ),
            )
        )
    if mailbox is not None and mailbox.must_change_password:
        changed = utc_to_local(mailbox.password_changed_at)
        failed = [
            e
            for e in events
            if not e.ok and e.match == "user" and (changed is None or e.time >= changed)
        ]
        out.append(
            Diagnosis(
                "must_change",
                Mn(
                    "must change the password ({n} failed login since it was set)",
                    "must change the password ({n} failed logins since it was set)",
                    _count(failed),
                ),
            )
        )
    return out


def _old_password(events: list[LoginEvent]) -> list[Diagnosis]:
    """Wrong passwords from one device while another logs in: an old password kept on it."""
    wrong = [
        e
        for e in events
        if not e.ok
        and e.match == "user"
        and e.reason in ("wrong_password", "wrong_password_or_user")
    ]
    if not wrong:
        return []
    good_ips = {e.ip for e in events if e.ok and e.match == "user"}
    good_programs = {e.client for e in events if e.ok and e.match == "user" and e.client}
    stale = [
        e for e in wrong if e.ip not in good_ips and not (e.client and e.client in good_programs)
    ]
    if stale and good_ips:
        return [
            Diagnosis(
                "old_password",
                Mn(
                    "an old password is being tried from a second device ({device}, {n} "
                    "failed login): enter the new password there",
                    "an old password is being tried from a second device ({device}, {n} "
                    "failed logins): enter the new password there",
                    _count(stale),
                    device=_device(stale),
                ),
            )
        ]
    return [
        Diagnosis(
            "wrong_password",
            Mn(
                "wrong password ({n} failed login, {device}): check the password, or reset it",
                "wrong password ({n} failed logins, {device}): check the password, or reset it",
                _count(wrong),
                device=_device(wrong),
            ),
        )
    ]
