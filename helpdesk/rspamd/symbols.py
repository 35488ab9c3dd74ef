"""rspamd symbols in plain words: what an operator can read out to a customer on the phone."""

from __future__ import annotations

from collections.abc import Iterable

from helpdesk.rspamd.history import Symbol

_EXPLAIN_EXACT = {
    "HELPDESK_TEST_SPAM": "test rule: the subject contains HELPDESK-TEST-SPAM",
    "GTUBE": "the message contains the GTUBE spam test string (cannot be released)",
    "BAYES_SPAM": "the wording looks like spam the filter has learned",
    "FUZZY_DENIED": "the message matches a known spam message",
    "R_SPF_FAIL": "the sending server is not allowed by the sender domain's SPF record",
    "R_SPF_SOFTFAIL": "the sender domain's SPF record does not vouch for the sending server",
    "R_DKIM_REJECT": "the DKIM signature is invalid",
    "DMARC_POLICY_REJECT": "the sender domain's DMARC policy says to refuse this",
    "DMARC_POLICY_QUARANTINE": "the sender domain's DMARC policy says to treat this as spam",
    "PHISHING": "a link's text shows a different address than the link really goes to",
    "R_SUSPICIOUS_URL": "a link points to a suspicious address",
    "MISSING_MID": "the message has no Message-ID",
    "MISSING_DATE": "the message has no Date header",
    "MISSING_FROM": "the message has no From header",
    "MISSING_SUBJECT": "the message has no subject",
    "FORGED_SENDER": "the From address differs from the envelope sender",
    "FROM_NEQ_ENVFROM": "the From address differs from the envelope sender",
    "HFILTER_HOSTNAME_UNKNOWN": "the sending computer has no proper host name",
    "MIME_BAD_ATTACHMENT": "an attachment has a dangerous file type",
    "MIME_DOUBLE_BAD_EXTENSION": "an attachment hides its real type behind a double extension",
    "MIME_BAD_EXTENSION": "an attachment has a dangerous file extension",
    "MIME_ARCHIVE_IN_ARCHIVE": "an attachment is an archive inside an archive",
    "SUBJ_ALL_CAPS": "the subject is written in capitals",
    "SUBJ_EXCESS_QP": "the subject is encoded in an unusual way",
    "R_MIXED_CHARSET": "the text mixes alphabets, as spoofed words do",
    "FREEMAIL_REPLYTO": "replies go to a free-mail address",
    "REPLYTO_DOM_NEQ_FROM_DOM": "replies go to a different domain than the sender's",
    "RCPT_COUNT_TWELVE": "the message goes to many recipients at once",
    "RCPT_COUNT_GT_50": "the message goes to more than 50 recipients",
    "HAS_ONION_URI": "the message links to a .onion (Tor) address",
    "BITCOIN_ADDR": "the message contains a bitcoin address",
    "HAS_X_POS": "the message was written by a mass-mailing script",
    "CTYPE_MIXED_BOGUS": "the message structure is malformed",
    "R_BAD_CTE_7BIT": "the message declares a wrong encoding",
    "URI_COUNT_ODD": "the message has an odd number of links",
    "DATE_IN_FUTURE": "the message is dated in the future",
    "DATE_IN_PAST": "the message is dated far in the past",
    "RATELIMITED": "the account sent too much mail in a short time",
    "MULTIPLE_UNIQUE_HEADERS": "headers that must appear once appear several times",
    "SPOOF_DISPLAY_NAME": "the display name pretends to be another address",
    "FROM_DN_EQ_ADDR": "the display name is the address itself",
    "ENVFROM_PRVS": "the envelope sender uses a bounce-tracking address",
}
_EXPLAIN_PREFIX = (
    ("BAYES_", "the wording looks like spam the filter has learned"),
    ("FUZZY_", "the message matches a known spam message"),
    ("RBL_", "the sending IP address is on a blocklist"),
    ("RECEIVED_SPAMHAUS", "a relaying server is on the Spamhaus blocklist"),
    ("URIBL_", "a link in the message points to a blocklisted domain"),
    ("SURBL_", "a link in the message points to a blocklisted domain"),
    ("DBL_", "a link in the message points to a blocklisted domain"),
    ("SEM_URIBL", "a link in the message points to a blocklisted domain"),
    ("MSBL_", "the message contains a blocklisted e-mail address"),
    ("PHISHED_", "a link goes to a known phishing site"),
    ("CLAM_", "the virus scanner found something"),
    ("SA_", "a SpamAssassin rule matched"),
    ("RSPAMD_URIBL", "a link in the message points to a blocklisted domain"),
    ("HFILTER_", "the sending computer's name or greeting looks like a spam source"),
)


def explain(symbol: str) -> str:
    """A plain-language line for a symbol, or "" when none is known."""
    if symbol in _EXPLAIN_EXACT:
        return _EXPLAIN_EXACT[symbol]
    for prefix, text in _EXPLAIN_PREFIX:
        if symbol.startswith(prefix):
            return text
    return ""


def explanations(symbols: Iterable[Symbol], limit: int = 6) -> list[str]:
    """The reasons worth reading out on the phone: positive scores, biggest first, no repeats."""
    lines: list[str] = []
    for s in symbols:
        if s.score is not None and s.score <= 0:
            continue
        text = explain(s.name)
        if text and text not in lines:
            lines.append(text)
        if len(lines) >= limit:
            break
    return lines
