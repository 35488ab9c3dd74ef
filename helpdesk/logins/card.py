"""The client-settings card: what the customer's mail program must use, to read out on the phone
or to send by e-mail, worded as the hoster's letter words it, in the customer's language.

Server names, ports and encryption come from `[client]`; the rest is the policy every mailbox
lives under: IMAP (not POP3), the full address as login name, the "normal" password transfer
(never "encrypted password"/CRAM-MD5, Kerberos or NTLM), SSL/TLS or STARTTLS (never "none").
"""

from __future__ import annotations

from typing import Any

from helpdesk.i18n import M, Text
from helpdesk.logins.settings import ClientSettings

SECURITY = {"ssl": M("SSL/TLS"), "starttls": M("STARTTLS")}
LABEL_WIDTH = 20


def _row(label: Text, value: str | Text, lang: str) -> str:
    text = label.render(lang)
    shown = value.render(lang) if isinstance(value, Text) else value
    return f"  {text + ':':<{LABEL_WIDTH}} {shown}"


def card_text(settings: ClientSettings, address: str, lang: str) -> str:
    """The card as plain text in `lang` (the customer's language)."""
    normal = M("normal password")
    rows = [
        M("Settings for your mail program (mailbox {address})", address=address).render(lang),
        "",
        M("Incoming mail: IMAP (not POP3)").render(lang),
        _row(M("Server"), settings.imap_host, lang),
        _row(M("Port"), str(settings.imap_port), lang),
        _row(M("Encryption"), SECURITY[settings.imap_security], lang),
        _row(M("User name"), M("{address} (the full address)", address=address), lang),
        _row(M("Password transfer"), normal, lang),
        "",
        M("Outgoing mail: SMTP").render(lang),
        _row(M("Server"), settings.smtp_host, lang),
        _row(M("Port"), str(settings.smtp_port), lang),
        _row(M("Encryption"), SECURITY[settings.smtp_security], lang),
        _row(M("Authentication"), M("yes, the same user name and password"), lang),
        _row(M("Password transfer"), normal, lang),
        "",
        M(
            "Please never choose “none” for the encryption, and never “encrypted password”, "
            "CRAM-MD5, Kerberos or NTLM for the password transfer."
        ).render(lang),
    ]
    if settings.support:
        rows += ["", M("Questions: {support}", support=settings.support).render(lang)]
    return "\n".join(rows)


def card_json(settings: ClientSettings, address: str, lang: str) -> dict[str, Any]:
    return {
        "address": address,
        "lang": lang,
        "imap": {
            "host": settings.imap_host,
            "port": settings.imap_port,
            "security": settings.imap_security,
        },
        "smtp": {
            "host": settings.smtp_host,
            "port": settings.smtp_port,
            "security": settings.smtp_security,
        },
        "login": address,
        "password_transfer": "normal",
        "text": card_text(settings, address, lang),
    }
