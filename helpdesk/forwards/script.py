"""The forwards and auto-reply part of a mailbox's Sieve script.

It runs after the spam part in the same script (the view helpdesk_sieve): the ladder ends with
`stop` on Junk and delete, so spam is never forwarded or answered. Schedules are compared in
UTC at delivery, so nothing needs rewriting when a window opens or closes.
"""

from __future__ import annotations

from datetime import datetime

from helpdesk.forwards.model import AutoReply, Forward
from helpdesk.forwards.times import sieve_time
from helpdesk.i18n import M
from helpdesk.sieve.limits import DELIVERY_EXTENSIONS, check_size
from helpdesk.sieve.quoting import DOLLAR_VARIABLE, NEUTRALISED, comment, quote, string_list

NOW = "helpdesk_now"
REQUIRE = f"require {string_list(sorted({'variables', 'relational', *DELIVERY_EXTENSIONS}))};"


def _window(starts_at: datetime | None, ends_at: datetime | None) -> str | None:
    tests = []
    if starts_at is not None:
        tests.append(
            f'string :value "ge" :comparator "i;octet" "${{{NOW}}}" "{sieve_time(starts_at)}"'
        )
    if ends_at is not None:
        tests.append(
            f'string :value "le" :comparator "i;octet" "${{{NOW}}}" "{sieve_time(ends_at)}"'
        )
    if not tests:
        return None
    return tests[0] if len(tests) == 1 else "allof (" + ",\n      ".join(tests) + ")"


def _guarded(test: str | None, lines: list[str]) -> list[str]:
    if test is None:
        return lines
    return [f"if {test} {{", *("  " + line for line in lines), "}"]


def _forward_lines(forward: Forward) -> list[str]:
    copy = ":copy " if forward.keep_copy else ""
    # Without :copy the first redirect cancels the implicit keep: no copy stays in the mailbox.
    lines = [f"redirect {copy}{quote(t)};" for t in forward.targets]
    return _guarded(_window(forward.starts_at, forward.ends_at), lines)


def _reply_lines(reply: AutoReply, addresses: list[str]) -> list[str]:
    # vacation itself never answers lists, bulk mail, auto-replies or mailer daemons, and only
    # mail addressed (To/Cc) to one of `addresses`.
    command = (
        f"vacation :days {reply.days} :subject {quote(reply.subject)} "
        f":addresses {string_list(addresses)} {quote(reply.body)};"
    )
    return _guarded(_window(reply.starts_at, reply.ends_at), [command])


def generate(
    forward: Forward | None, reply: AutoReply | None, addresses: list[str], *, label: str = ""
) -> tuple[str, str] | None:
    """(body, standalone script) for the mailbox, or None when it has neither.

    `addresses` are the mailbox's own address and its aliases: the auto-reply answers mail sent
    to any of them. Raises ScriptTooLarge over the parts' budgets.
    """
    if forward is None and reply is None:
        return None
    body = [
        "",
        f"# Forwards and auto-reply{' of ' + comment(label) if label else ''}, by helpdesk.",
        "# Change them with `helpdesk forward` / `helpdesk autoreply`; edits here are overwritten.",
    ]
    scheduled = any(
        item is not None and (item.starts_at is not None or item.ends_at is not None)
        for item in (forward, reply)
    )
    if scheduled:
        # Sieve zones are fixed offsets: UTC here, as the times are stored.
        body += [
            f'set "{NOW}" "";',
            f'if currentdate :zone "+0000" :matches "date" "*" {{ set "{NOW}" "${{1}}"; }}',
            f'if currentdate :zone "+0000" :matches "time" "*" '
            f'{{ set "{NOW}" "${{{NOW}}}T${{1}}"; }}',
        ]
    reply_part: list[str] = []
    if reply is not None:
        reply_part = _reply_lines(reply, addresses)
        check_size("\n".join(reply_part), part="autoreply", what=M("the auto-reply"))
    forward_part: list[str] = []
    if forward is not None:
        forward_part = _forward_lines(forward)
        check_size("\n".join(forward_part), part="forwards", what=M("the forwards"))
    # The reply first: a forward without a copy must not keep the reply from being sent.
    lines = body + reply_part + forward_part
    if any(NEUTRALISED in line for line in lines):
        lines.insert(1, f'set "{DOLLAR_VARIABLE}" "$";')
    text = "\n".join(lines) + "\n"
    return text, REQUIRE + "\n" + text
