"""Self-contained Sieve scripts for a mailbox's spam ladder and sender lists.

Dovecot reads the generated script from the Mailcenter database at delivery (docs/spam.md,
"Enforcement"), so what `helpdesk spam sieve` prints is exactly what runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from helpdesk.errors import ConfigError
from helpdesk.i18n import M
from helpdesk.sieve.limits import DELIVERY_EXTENSIONS, check_size
from helpdesk.sieve.quoting import DOLLAR_VARIABLE, NEUTRALISED, comment, quote, string_list
from helpdesk.spam.ladder import Ladder, Rule, placement

if TYPE_CHECKING:
    from helpdesk.config import Config

SCRIPT_NAME = "helpdesk-spam"

# Text options of [spam] end up in every script: bounded like everything else in it.
OPTION_MAX_BYTES = 100


@dataclass(frozen=True)
class SpamOptions:
    """The `[spam]` section: how actions look in a script, and what a block does."""

    subject_prefix: str = "[SPAM]"
    mark_header: str = "X-Spam-Flag"
    mark_header_value: str = "YES"
    junk_folder: str = "Junk"
    block_action: str = "junk"  # or "discard"
    score_header: str = "X-Spam-Score-Int"
    preview_limit: int = 200

    @classmethod
    def from_config(cls, config: Config | None) -> SpamOptions:
        raw: dict[str, Any] = config.section("spam") if config is not None else {}
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(M("[spam] unknown key {key!r}", key=unknown[0]))
        options = cls(**raw)
        options.check()
        return options

    def check(self) -> None:
        texts = (
            "subject_prefix",
            "mark_header",
            "mark_header_value",
            "junk_folder",
            "score_header",
        )
        for key in texts:
            value = getattr(self, key)
            if not isinstance(value, str) or any(c in value for c in '\r\n"\\') or "${" in value:
                raise ConfigError(
                    M("[spam] {key} must be text without quotes, backslashes or ${{", key=key)
                )
            if len(value.encode("utf-8", "surrogatepass")) > OPTION_MAX_BYTES:
                raise ConfigError(
                    M("[spam] {key} is longer than {limit} bytes", key=key, limit=OPTION_MAX_BYTES)
                )
        if not self.subject_prefix and not self.mark_header:
            raise ConfigError(M("[spam] mark needs a subject_prefix, a mark_header, or both"))
        if not self.junk_folder:
            raise ConfigError(M("[spam] junk_folder must not be empty"))
        if self.block_action not in ("junk", "discard"):
            raise ConfigError(M("[spam] block_action must be junk or discard"))
        if not self.score_header or ":" in self.score_header or " " in self.score_header:
            raise ConfigError(M("[spam] score_header must be a header name"))
        if not isinstance(self.preview_limit, int) or self.preview_limit < 1:
            raise ConfigError(M("[spam] preview_limit must be a positive whole number"))


def _sender_test(entries: tuple[str, ...]) -> str:
    addresses = [e for e in entries if not e.startswith("@")]
    domains = [e[1:] for e in entries if e.startswith("@")]
    tests = []
    if addresses:
        tests.append(f'envelope :all :is "from" {string_list(addresses)}')
        tests.append(f'address :all :is "from" {string_list(addresses)}')
    if domains:
        tests.append(f'envelope :domain :is "from" {string_list(domains)}')
        tests.append(f'address :domain :is "from" {string_list(domains)}')
    return "anyof (" + ",\n        ".join(tests) + ")"


class _Writer:
    def __init__(self, options: SpamOptions) -> None:
        self.options = options
        # The forwards and auto-reply part (helpdesk.forwards) is appended to this script at
        # delivery and has no `require` of its own: what it uses is required here, always.
        self.extensions: set[str] = {
            "variables",
            "regex",
            "relational",
            "comparator-i;ascii-numeric",
            *DELIVERY_EXTENSIONS,
        }
        self.lines: list[str] = []

    def mark(self, indent: str) -> list[str]:
        self.extensions.add("editheader")
        o = self.options
        out = []
        if o.subject_prefix:
            out += [
                f'{indent}if not header :contains "Subject" {quote(o.subject_prefix)} {{',
                f'{indent}  set "subject" "";',
                f'{indent}  if header :matches "Subject" "*" {{ set "subject" "${{1}}"; }}',
                f'{indent}  deleteheader "Subject";',
                f'{indent}  addheader :last "Subject" "{o.subject_prefix} ${{subject}}";',
                f"{indent}}}",
            ]
        if o.mark_header:
            out.append(f"{indent}addheader {quote(o.mark_header)} {quote(o.mark_header_value)};")
        return out

    def junk(self, indent: str) -> list[str]:
        self.extensions.update({"fileinto", "mailbox"})
        # `stop`: the forwards and auto-reply part after the ladder never sees spam.
        return [f"{indent}fileinto :create {quote(self.options.junk_folder)};", f"{indent}stop;"]

    def place(self, where: str, indent: str) -> list[str]:
        if where == "junk":
            return self.junk(indent)
        if where == "marked":
            return self.mark(indent)
        if where == "nowhere":
            return [f"{indent}discard;", f"{indent}stop;"]
        # The inbox is the implicit keep, never an explicit `keep`: a forward without a copy
        # after the ladder must still be able to cancel it.
        return [f"{indent}# inbox"]

    def rule_body(self, ladder: Ladder, rule: Rule, indent: str) -> list[str]:
        where = placement(ladder, rule)
        if rule.action == "forward":
            self.extensions.add("copy")
            lines = []
            if where == "marked":
                lines += self.mark(indent)
                where = "inbox"
            return [*lines, f"{indent}redirect :copy {quote(rule.arg or '')};"] + self.place(
                where, indent
            )
        return self.place(where, indent)


def generate(
    ladder: Ladder,
    allow: tuple[str, ...] = (),
    block: tuple[str, ...] = (),
    *,
    options: SpamOptions | None = None,
    label: str = "",
) -> str:
    """The whole script: allow list, block list, then the ladder, highest threshold first.

    Raises ScriptTooLarge when it would be over its share of SCRIPT_BUDGET.
    """
    options = options or SpamOptions()
    w = _Writer(options)
    body: list[str] = []
    body.append("# A valid score is plain digits; anything else (absent, negative: i;ascii-numeric")
    body.append('# would read "-12" as infinitely large) counts as 0, below every threshold.')
    body.append('set "score" "0";')
    body.append(
        f'if header :regex {quote(options.score_header)} "^([0-9]{{1,6}})$" '
        '{ set "score" "${1}"; }'
    )
    branches: list[tuple[str, list[str], str]] = []  # test, actions, note
    if allow or block:
        w.extensions.add("envelope")
    if allow:
        branches.append((_sender_test(allow), ["  # inbox"], ""))
    if block:
        if options.block_action == "discard":
            branches.append((_sender_test(block), ["  discard;", "  stop;"], ""))
        else:
            branches.append((_sender_test(block), w.junk("  "), ""))
    for rule in sorted(ladder, key=lambda r: r.tenths, reverse=True):
        test = f'string :value "ge" :comparator "i;ascii-numeric" "${{score}}" "{rule.tenths}"'
        # The script is stored and read by admins: its comments stay English (docs/i18n.md).
        note = comment(rule.describe().english())
        branches.append((test, w.rule_body(ladder, rule, "  "), note))
    for index, (test, lines, note) in enumerate(branches):
        keyword = "if" if index == 0 else "elsif"
        prefix = "" if index == 0 else "} "
        # A trailing comment on the test line must come after the opening brace.
        after = f"  # {note}" if note else ""
        body.append(f"{prefix}{keyword} {test} {{{after}")
        body.extend(lines)
    if branches:
        body.append("}")
    if any(NEUTRALISED in line for line in body):
        body.insert(0, f'set "{DOLLAR_VARIABLE}" "$";')
    header = [
        f"# Spam ladder{' for ' + comment(label) if label else ''}, generated by helpdesk.",
        "# Change it with `helpdesk spam set`; edits made here are overwritten.",
    ]
    for rule in ladder:
        header.append(f"#   {comment(rule.describe().english())}")
    # The entries themselves are in the tests below; listing them here too would cost a third
    # of the sender lists' share of the budget.
    if allow:
        header.append(f"#   always to the inbox: {len(allow)} sender(s)")
    if block:
        header.append(f"#   blocked ({options.block_action}): {len(block)} sender(s)")
    if not ladder and not allow and not block:
        header.append("#   (no rules: every message is delivered normally)")
    require = f"require {string_list(sorted(w.extensions))};"
    script = "\n".join([*header, require, "", *body]) + "\n"
    what = M("the spam script of {label}", label=comment(label)) if label else M("the spam script")
    check_size(script, what=what)
    return script
