"""Credentials out of Exim log lines before anyone sees them.

Exim logs whole SMTP commands in a few messages (always for "too many syntax or protocol errors",
and with `+smtp_protocol_error` / `+smtp_syntax_error` for every such error), and a
synchronisation error logs the input that came too soon. An `AUTH PLAIN <base64>` command holds
the user's password in base64, an `AUTH LOGIN` exchange sends user and password as separate
base64 lines. The forms (Exim's smtp_in.c, and transports/smtp.c for the client side):

    SMTP protocol error in "AUTH PLAIN dXNlcgB1c2VyAHNlY3JldA==" H=... AUTH command used when ...
    SMTP syntax error in "AUTH LOGIN aW5mb0BleGFtcGxlLm9yZw==" H=... unrecognized command
    SMTP call from H dropped: too many syntax or protocol errors (last command was "AUTH PLAIN x")
    SMTP call from H dropped: too many unrecognized commands (last was "cGFzc3dvcmQ=")
    SMTP protocol synchronization error (next input sent too soon: pipelining was not advertised):
        rejected "AUTH LOGIN" H=... next input="dXNlcg==\\r\\ncGFzcw==\\r\\n"
    == a@x R=smarthost T=remote_smtp defer (-42): SMTP error from remote mail server after
        AUTH PLAIN dXNlcgB1c2VyAHNlY3JldA==: 535 5.7.8 Authentication credentials invalid

mask_credentials() replaces the argument of such an AUTH command, and a base64 line sent in
its place or after it, by `***`; the mechanism name stays, so the line still says what happened.
"""

from __future__ import annotations

import re

MASK = b"***"
# the argument of an AUTH command where a logged command starts: after a quote, a logged \n,
# or the client side's "SMTP error from remote mail server after AUTH PLAIN ...: 535 ..."
_AUTH_ARG = re.compile(
    rb'(?i)((?:"|\\n|\bafter |\bresponse to )[ \t]*AUTH[ \t]+[A-Za-z0-9_-]{1,40}[ \t]+)'
    rb'([^\s"\\:]+)'
)
_AUTH_WORD = re.compile(rb"(?i)auth[ \t]")
_AUTH_CMD = re.compile(rb'(?i)(?:"|\\n)[ \t]*AUTH[ \t]')
# a whole logged command or input line that is one base64 token (a continuation line)
_B64_LINE = re.compile(
    rb'((?:(?:last (?:command )?was |error in |rejected |input=)"|\\n))'
    rb'([A-Za-z0-9+/]{4,}={0,2}|=)(?="|\\r|\\n|\.\.\.)'
)
_CONTEXT = re.compile(rb'(?:was |error in |rejected |input=)"')
_VERBS = frozenset(
    b"HELO EHLO MAIL RCPT DATA BDAT QUIT RSET NOOP VRFY EXPN ETRN HELP STARTTLS AUTH".split()
)


def _b64_line(m: re.Match[bytes]) -> bytes:
    token = m.group(2)
    return m.group(0) if token.upper() in _VERBS else m.group(1) + MASK


def mask_credentials_bytes(line: bytes) -> bytes:
    """line with every logged AUTH argument and base64 continuation line replaced by ***."""
    if b'"' not in line and _AUTH_WORD.search(line) is None:
        return line
    line = _AUTH_ARG.sub(rb"\1***", line)
    if _CONTEXT.search(line) is not None or _AUTH_CMD.search(line) is not None:
        line = _B64_LINE.sub(_b64_line, line)
    return line


def mask_credentials(line: str) -> str:
    """The str form of mask_credentials_bytes, for lines already decoded."""
    raw = line.encode("utf-8", "surrogateescape")
    masked = mask_credentials_bytes(raw)
    return line if masked == raw else masked.decode("utf-8", "surrogateescape")
