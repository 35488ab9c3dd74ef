"""A customer's own Sieve script in plain words, one line per rule with its condition, read by
a real Sieve parser (sievelib). A script the parser cannot read is shown as text with the note
"not understood" by the caller; nothing here ever fails on what a customer wrote.

Values from the script (header names, strings, addresses, folders) are outside text: they go
into the words through `printable`/`clip`, and into the JSON exactly as written.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

from helpdesk.i18n import M, Mn, Text
from helpdesk.plaintext import clip

# Longest value shown in words; --json carries the whole value.
VALUE_WIDTH = 60
# Keys of one test shown before "or N more".
KEYS_SHOWN = 4
# Rules shown before "N more rules": a generated script can hold thousands.
RULES_SHOWN = 200


@dataclass(frozen=True)
class Rule:
    """One `if`/`elsif`/`else` branch, or the actions outside any `if` ("always")."""

    when: str  # "if" | "elsif" | "else" | "always"
    condition: Text | None
    condition_data: dict[str, Any] | None
    actions: tuple[Text, ...]
    actions_data: tuple[dict[str, Any], ...]
    rules: tuple[Rule, ...] = ()  # the `if`s inside this branch

    def words(self) -> Text:
        acts = _joined(self.actions, ";") if self.actions else None
        if acts is None:
            acts = M("the rules below") if self.rules else M("nothing")
        if self.when == "if":
            return M("if {condition}: {actions}", condition=self.condition, actions=acts)
        if self.when == "elsif":
            return M("else if {condition}: {actions}", condition=self.condition, actions=acts)
        if self.when == "else":
            return M("otherwise: {actions}", actions=acts)
        return M("always: {actions}", actions=acts)

    def as_json(self) -> dict[str, Any]:
        return {
            "when": self.when,
            "condition": self.condition_data,
            "actions": list(self.actions_data),
            "rules": [r.as_json() for r in self.rules],
            "text": self.words().english(),
            "text_message": self.words().as_json(),
        }


@dataclass(frozen=True)
class Reading:
    """What the parser made of one script."""

    understood: bool
    rules: tuple[Rule, ...] = ()
    error: str = ""  # the parser's own message (English, from sievelib)
    extensions: tuple[str, ...] = field(default_factory=tuple)

    def lines(self, lang: str | None = None) -> list[tuple[int, str]]:
        """(depth, text) per rule, nested rules one deeper, cut after RULES_SHOWN lines."""
        out: list[tuple[int, str]] = []
        total = _count(self.rules)

        def walk(rules: tuple[Rule, ...], depth: int) -> None:
            for rule in rules:
                if len(out) >= RULES_SHOWN:
                    return
                out.append((depth, rule.words().render(lang)))
                walk(rule.rules, depth + 1)

        walk(self.rules, 0)
        if total > len(out):
            more = total - len(out)
            out.append((0, Mn("… {n} more rule", "… {n} more rules", more).render(lang)))
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "understood": self.understood,
            "error": self.error or None,
            "extensions": list(self.extensions),
            "rules": [r.as_json() for r in self.rules],
        }


def _count(rules: tuple[Rule, ...]) -> int:
    return sum(1 + _count(r.rules) for r in rules)


def read_rules(script: str) -> Reading:
    """The script's rules in words, or `understood=False` with the parser's reason."""
    from sievelib.parser import Parser

    _allow_numeric_comparator()
    parser = Parser()
    try:
        ok = parser.parse(script.encode("utf-8", "replace"))
    except (RecursionError, ValueError, IndexError, KeyError, AttributeError, TypeError) as exc:
        # A parser bug on odd input must not take the command down: the text is still shown.
        return Reading(False, error=type(exc).__name__)
    if not ok:
        return Reading(False, error=str(getattr(parser, "error", "") or "syntax error"))
    try:
        return _reading(parser.result)
    except (RecursionError, ValueError, IndexError, KeyError, AttributeError, TypeError) as exc:
        return Reading(False, error=type(exc).__name__)


def _allow_numeric_comparator() -> None:
    # RFC 5231 scripts compare spam scores with "i;ascii-numeric" (Roundcube writes it too),
    # which sievelib's comparator list lacks; Pigeonhole accepts it.
    import sievelib.commands as commands

    values = commands.comparator.get("extra_arg", {}).get("values", [])
    if '"i;ascii-numeric"' not in values:
        values.append('"i;ascii-numeric"')


def _reading(commands: list[Any]) -> Reading:
    extensions: list[str] = []
    rules: list[Rule] = []
    loose: list[Any] = []
    for command in commands:
        if command.name == "require":
            extensions.extend(_strings(command.arguments.get("capabilities")))
            continue
        if command.name in ("if", "elsif", "else"):
            if loose:
                rules.append(_always(loose))
                loose = []
            rules.append(_branch(command))
        else:
            loose.append(command)
    if loose:
        rules.append(_always(loose))
    return Reading(True, tuple(rules), extensions=tuple(extensions))


def _always(actions: list[Any]) -> Rule:
    return Rule("always", None, None, tuple(_action(a) for a in actions),
                tuple(_data(a, "action") for a in actions))  # fmt: skip


def _branch(command: Any) -> Rule:
    actions = [c for c in command.children if c.name not in ("if", "elsif", "else")]
    inner = [c for c in command.children if c.name in ("if", "elsif", "else")]
    test = command.arguments.get("test")
    return Rule(
        command.name,
        _test(test, nested=False) if test is not None else None,
        _data(test, "test") if test is not None else None,
        tuple(_action(a) for a in actions),
        tuple(_data(a, "action") for a in actions),
        tuple(_branch(c) for c in inner),
    )


# -- values -------------------------------------------------------------------------------------


def unquote(raw: Any) -> str:
    """A Sieve string as the script means it: quotes and escapes or `text:` dot-stuffing gone."""
    value = str(raw)
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1], flags=re.S)
    if value.startswith("text:"):
        body = value.split("\n", 1)[1] if "\n" in value else ""
        lines = body.split("\n")
        if lines and lines[-1].rstrip("\r") == ".":
            lines = lines[:-1]
        return "\n".join(line[1:] if line.startswith("..") else line for line in lines)
    return value


def _strings(raw: Any) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, list):
        return [unquote(x) for x in raw]
    return [unquote(raw)]


def _quoted(value: str) -> Text:
    return M("“{value}”", value=clip(value.replace("\n", " "), VALUE_WIDTH))


def _joined(items: tuple[Text, ...] | list[Text], how: str) -> Text:
    """Items joined by "or", "and", a comma or (actions) a semicolon."""
    result = items[0]
    for item in items[1:]:
        if how == "or":
            result = M("{first} or {second}", first=result, second=item)
        elif how == "and":
            result = M("{first} and {second}", first=result, second=item)
        elif how == ";":
            result = M("{first}; {second}", first=result, second=item)
        else:
            result = M("{first}, {second}", first=result, second=item)
    return result


def _either(values: list[str]) -> Text:
    """One value quoted; several as "one of “a”, “b”" (or N more)."""
    shown = [_quoted(v) for v in values[:KEYS_SHOWN]] or [_quoted("")]
    if len(shown) == 1:
        return shown[0]
    result = _joined(shown, ",")
    if len(values) > KEYS_SHOWN:
        more = len(values) - KEYS_SHOWN
        result = Mn("{first} and {n} more", "{first} and {n} more", more, first=result)
    return M("one of {values}", values=result)


def _sieve_text(command: Any) -> Text:
    out = io.StringIO()
    try:
        command.tosieve(target=out)
    except (AttributeError, TypeError, ValueError):
        out.write(command.name)
    return M("the command {sieve}", sieve=clip(" ".join(out.getvalue().split()), VALUE_WIDTH))


# -- tests --------------------------------------------------------------------------------------


def _header_word(name: str) -> Text:
    lower = name.lower()
    if lower == "subject":
        return M("the subject")
    if lower == "from":
        return M("the sender (From)")
    if lower == "to":
        return M("the recipient (To)")
    if lower == "cc":
        return M("the copy recipient (Cc)")
    return M("the header {name}", name=_quoted(name))


def _envelope_word(name: str) -> Text:
    if name.lower() == "from":
        return M("the envelope sender")
    if name.lower() == "to":
        return M("the envelope recipient")
    return M("the envelope part {name}", name=_quoted(name))


def _address_part(part: Any, what: Text) -> Text:
    if part == ":localpart":
        return M("the local part of {what}", what=what)
    if part == ":domain":
        return M("the domain of {what}", what=what)
    return what


def _subjects(names: list[str], word: Any, part: Any = None) -> Text:
    items = [_address_part(part, word(n)) for n in names[:KEYS_SHOWN]] or [M("nothing")]
    return _joined(items, "or")


def _relation(op: str, what: Text, keys: Text) -> Text:
    # Each message id spelled out, so that the catalog tools find them.
    if op == "gt":
        return M("{what} is greater than {keys}", what=what, keys=keys)
    if op == "ge":
        return M("{what} is at least {keys}", what=what, keys=keys)
    if op == "lt":
        return M("{what} is less than {keys}", what=what, keys=keys)
    if op == "le":
        return M("{what} is at most {keys}", what=what, keys=keys)
    if op == "ne":
        return M("{what} is not equal to {keys}", what=what, keys=keys)
    return M("{what} equals {keys}", what=what, keys=keys)


def _match(command: Any, what: Text, keys_raw: Any) -> Text:
    keys = _either(_strings(keys_raw))
    match = command.arguments.get("match-type", ":is")
    op = unquote(command.extra_arguments.get("match-type", '"eq"')).lower()
    if match == ":contains":
        return M("{what} contains {keys}", what=what, keys=keys)
    if match == ":matches":
        return M("{what} matches the pattern {keys}", what=what, keys=keys)
    if match == ":regex":
        return M("{what} matches the regular expression {keys}", what=what, keys=keys)
    if match == ":value":
        return _relation(op, what, keys)
    if match == ":count":
        return _relation(op, M("the number of {what}", what=what), keys)
    return M("{what} is {keys}", what=what, keys=keys)


def _size(limit: str) -> str:
    units = {"K": "KB", "M": "MB", "G": "GB"}
    limit = limit.strip()
    if limit[-1:].upper() in units:
        return f"{limit[:-1]} {units[limit[-1:].upper()]}"
    return f"{limit} B"


def _test(command: Any, *, nested: bool) -> Text:
    name = command.name
    args = command.arguments
    if name in ("allof", "anyof"):
        parts = [_test(t, nested=True) for t in args.get("tests", [])] or [M("nothing")]
        words = _joined(parts, "and" if name == "allof" else "or")
        return M("({test})", test=words) if nested and len(parts) > 1 else words
    if name == "not":
        return M("not ({test})", test=_test(args["test"], nested=False))
    if name == "true":
        return M("always")
    if name == "false":
        return M("never")
    if name == "header":
        what = _subjects(_strings(args.get("header-names")), _header_word)
        return _match(command, what, args.get("key-list"))
    if name == "address":
        names = _strings(args.get("header-list"))
        what = _subjects(names, _header_word, args.get("address-part"))
        return _match(command, what, args.get("key-list"))
    if name == "envelope":
        names = _strings(args.get("header-list"))
        what = _subjects(names, _envelope_word, args.get("address-part"))
        return _match(command, what, args.get("key-list"))
    if name == "exists":
        names = _strings(args.get("header-names"))
        if len(names) == 1:
            return M("{what} is present", what=_header_word(names[0]))
        items = [_header_word(n) for n in names[:KEYS_SHOWN]] or [M("nothing")]
        return M("{what} are all present", what=_joined(items, "and"))
    if name == "size":
        size = _size(str(args.get("limit", "")))
        if args.get("comparator") == ":under":
            return M("the message is smaller than {size}", size=size)
        return M("the message is larger than {size}", size=size)
    if name == "body":
        return _match(command, M("the message body"), args.get("key-list"))
    if name == "currentdate":
        part = _quoted(unquote(args.get("date-part", "")))
        return _match(command, M("the current {part}", part=part), args.get("key-list"))
    if name == "date":
        part = _quoted(unquote(args.get("date-part", "")))
        header = _quoted(unquote(args.get("header-name", "")))
        what = M("the {part} in the header {header}", part=part, header=header)
        return _match(command, what, args.get("key-list"))
    return _sieve_text(command)


# -- actions ------------------------------------------------------------------------------------


def _action(command: Any) -> Text:
    name = command.name
    args = command.arguments
    copy = "copy" in args
    if name == "fileinto":
        folder = _quoted(unquote(args.get("mailbox", "")))
        if copy:
            return M("file a copy into folder {folder}", folder=folder)
        return M("file into folder {folder}", folder=folder)
    if name == "redirect":
        address = clip(unquote(args.get("address", "")), VALUE_WIDTH)
        if copy:
            return M("redirect to {address} (keep a copy)", address=address)
        return M("redirect to {address}", address=address)
    if name == "keep":
        return M("keep in the inbox")
    if name == "discard":
        return M("discard (deleted without notice)")
    if name in ("reject", "ereject"):
        return M(
            "reject, telling the sender {reason}", reason=_quoted(unquote(args.get("text", "")))
        )
    if name == "stop":
        return M("stop (the rest of this script is skipped)")
    if name == "vacation":
        return _vacation(command)
    flags = _joined([_quoted(f) for f in _strings(args.get("list-of-flags"))] or [M("nothing")],
                    ",")  # fmt: skip
    if name == "setflag":
        return M("set the flags {flags}", flags=flags)
    if name == "addflag":
        return M("add the flags {flags}", flags=flags)
    if name == "removeflag":
        return M("remove the flags {flags}", flags=flags)
    if name == "notify":
        return M("notify {method}", method=_quoted(unquote(args.get("method", ""))))
    if name == "set":
        return M("set the variable {name} to {value}", name=_quoted(unquote(args.get("name", ""))),
                 value=_quoted(unquote(args.get("value", ""))))  # fmt: skip
    return _sieve_text(command)


def _vacation(command: Any) -> Text:
    extra = command.extra_arguments
    if "seconds" in command.arguments:
        n = _int(extra.get("seconds"), 604800)
        interval = Mn("once a second", "once in {n} seconds", n)
    else:
        n = _int(extra.get("days"), 7)
        interval = Mn("once a day", "once in {n} days", n)
    reason = _quoted(unquote(command.arguments.get("reason", "")))
    if "subject" in command.arguments:
        subject = _quoted(unquote(extra.get("subject", "")))
        return M("auto-reply at most {interval} per sender, subject {subject}: {reason}",
                 interval=interval, subject=subject, reason=reason)  # fmt: skip
    return M("auto-reply at most {interval} per sender: {reason}", interval=interval,
             reason=reason)  # fmt: skip


def _int(raw: Any, default: int) -> int:
    try:
        return int(str(raw))
    except ValueError:
        return default


# -- structured data ----------------------------------------------------------------------------


def _data(command: Any, kind: str) -> dict[str, Any]:
    """The command exactly as written: tags as True or their name, strings unquoted."""
    out: dict[str, Any] = {kind: command.name}
    for key, value in command.arguments.items():
        if key in ("test", "tests"):
            tests = value if isinstance(value, list) else [value]
            out["tests"] = [_data(t, "test") for t in tests]
        elif isinstance(value, str) and value.startswith(":"):
            out[key] = True if value[1:] == key else value[1:]
            if key in command.extra_arguments:
                out[f"{key}-argument"] = unquote(command.extra_arguments[key])
        elif isinstance(value, list):
            out[key] = [unquote(v) for v in value]
        else:
            out[key] = unquote(value)
    return out
