"""The spam ladder: ordered `score → action` rules, their validation, and legacy conversion.

A message's rspamd score picks the highest rule whose threshold it reaches; that one rule
decides what happens (docs/spam.md). Thresholds are kept as whole tenths internally because
Sieve compares whole numbers (`X-Spam-Score-Int` is score × 10).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from helpdesk.errors import PolicyError
from helpdesk.i18n import M, Text

ACTIONS = ("none", "mark", "junk", "forward", "delete")
MAX_TENTHS = 9999  # 999.9: rspamd scores beyond that only come from deliberate rules
DELETE_WARN_TENTHS = 90
# Bounds that keep a mailbox's generated script inside its share of the Sieve budget
# (helpdesk/sieve/limits.py PART_BUDGETS; docs/spam.md "Limits"): the largest ladder and lists these
# allow, with the longest [spam] texts, stay inside it (tests/test_sieve.py builds them).
MAX_RULES = 10
MAX_SENDERS = 100  # allow and block entries of one mailbox together
MAX_ENTRY_LENGTH = 100  # characters of one sender entry or forward target

_ADDRESS_RE = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@(?=.{1,255}$)"
    r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$"
)
_DOMAIN_RE = re.compile(
    r"^(?=.{1,255}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$"
)


class LadderError(PolicyError):
    """A ladder or sender entry that cannot be saved; nothing was written."""


# What an entry check names (`_plain_entry`).
FORWARD_TARGET = M("forward target")
SENDER_ENTRY = M("sender entry")


def _plain_entry(what: Text, value: str) -> None:
    """Refuse what would make the script longer than planned or be read by Sieve as code.

    Sieve's `variables` extension expands `${...}` in every string of the script, test keys
    and redirect targets included (`${1}@x.example` became `70@x.example` in a test delivery),
    so `${` is refused outright; the generator neutralises it as well (helpdesk/spam/script.py).
    """
    if len(value) > MAX_ENTRY_LENGTH:
        raise LadderError(
            M(
                "{what} is {length} characters long; at most {limit} are allowed",
                what=what,
                length=str(len(value)),
                limit=MAX_ENTRY_LENGTH,
            )
        )
    if "${" in value:
        raise LadderError(
            M("{what} {value!r} contains ${{, which Sieve would expand", what=what, value=value)
        )


@dataclass(frozen=True)
class Rule:
    tenths: int
    action: str
    arg: str | None = None

    @property
    def score(self) -> float:
        return self.tenths / 10

    @property
    def score_text(self) -> str:
        return f"{self.tenths // 10}.{self.tenths % 10}"

    def as_json(self) -> dict[str, Any]:
        return {"score": self.score, "action": self.action, "arg": self.arg}

    def spec(self) -> str:
        """The `SCORE:ACTION[:ARG]` form the CLI takes."""
        return f"{self.score_text}:{self.action}" + (f":{self.arg}" if self.arg else "")

    def describe(self) -> Text:
        """`from 6.0: move to Junk`; `.english()` for the comments of the Sieve script."""
        what = {
            "none": M("deliver normally"),
            "mark": M("mark as spam"),
            "junk": M("move to Junk"),
            "forward": M("forward a copy to {address}", address=self.arg),
            "delete": M("delete"),
        }[self.action]
        return M("from {score}: {action}", score=self.score_text, action=what)


Ladder = tuple[Rule, ...]


def parse_score(text: str | float | int) -> int:
    """A threshold as whole tenths; refuses more than one decimal and negatives."""
    raw = str(text).strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise LadderError(M("threshold {value!r} is not a number", value=raw)) from None
    if not value.is_finite():
        raise LadderError(M("threshold {value!r} is not a number", value=raw))
    tenths = value * 10
    if tenths != tenths.to_integral_value():
        raise LadderError(
            M("threshold {value} has more than one decimal (use e.g. 6.5)", value=raw)
        )
    if value <= 0:
        # Unscored and negative-scored mail counts as 0 in the script: a rule at 0 would catch it.
        raise LadderError(M("threshold {value} must be above 0", value=raw))
    if tenths > MAX_TENTHS:
        raise LadderError(M("threshold {value} is above the maximum of 999.9", value=raw))
    return int(tenths)


def make_rule(
    score: str | float | int, action: str, arg: str | None = None, *, stored: bool = False
) -> Rule:
    """A rule from input; `stored=True` for one read back from the database.

    A stored rule is not held to the entry limits: one written before them (or by another
    program) must still load, so that it can be shown and replaced. The generator neutralises
    its `${` and bounds the script it ends up in (helpdesk/spam/script.py).
    """
    action = action.strip().lower()
    if action not in ACTIONS:
        raise LadderError(
            M(
                "unknown action {action!r} (one of: {choices})",
                action=action,
                choices=", ".join(ACTIONS),
            )
        )
    if action == "forward":
        if not arg or not arg.strip():
            raise LadderError(M("forward needs a target address: SCORE:forward:ADDRESS"))
        arg = arg.strip().lower()
        if not stored:
            _plain_entry(FORWARD_TARGET, arg)
        if not _ADDRESS_RE.match(arg):
            raise LadderError(
                M("forward target {address!r} is not a valid mail address", address=arg)
            )
    elif arg:
        raise LadderError(
            M("action {action} takes no argument (got {arg!r})", action=action, arg=arg)
        )
    else:
        arg = None
    return Rule(parse_score(score), action, arg)


def parse_rule(spec: str) -> Rule:
    """`6:junk`, `7.5:forward:abuse@example.org`, `9:delete`."""
    parts = spec.strip().split(":", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise LadderError(M("rule {spec!r} is not SCORE:ACTION[:ARG] (e.g. 6:junk)", spec=spec))
    return make_rule(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


def parse_rules(spec: str) -> tuple[Rule, ...]:
    """Several rules in one line, as a caller dictates them: `6:junk 12:delete` (or with commas)."""
    parts = spec.replace(",", " ").split()
    if not parts:
        raise LadderError(M("no rule given (e.g. 6:junk or 6:junk 12:delete)"))
    if len(parts) > MAX_RULES:
        raise LadderError(
            M(
                "a ladder has at most {limit} rules; this line has {count}",
                limit=MAX_RULES,
                count=str(len(parts)),
            )
        )
    rules = tuple(parse_rule(part) for part in parts)
    if len({r.tenths for r in rules}) != len(rules):
        raise LadderError(M("two rules in this line have the same score"))
    return rules


def rule_from_json(item: dict[str, Any]) -> Rule:
    if not isinstance(item, dict) or "score" not in item or "action" not in item:
        raise LadderError(M("ladder entry {entry!r} needs score and action", entry=item))
    return make_rule(item["score"], str(item["action"]), item.get("arg"), stored=True)


def ladder_from_json(items: list[dict[str, Any]]) -> Ladder:
    return tuple(rule_from_json(item) for item in items)


def ladder_to_json(ladder: Ladder) -> list[dict[str, Any]]:
    return [rule.as_json() for rule in ladder]


def validate(ladder: Ladder, mailbox_address: str | None = None) -> list[Text]:
    """Refuse what cannot work (LadderError); return warnings for what is merely unwise."""
    warnings: list[Text] = []
    if len(ladder) > MAX_RULES:
        raise LadderError(
            M(
                "a ladder has at most {limit} rules; this one has {count}",
                limit=MAX_RULES,
                count=str(len(ladder)),
            )
        )
    for lower, upper in zip(ladder, ladder[1:], strict=False):
        if upper.tenths <= lower.tenths:
            raise LadderError(
                M(
                    "thresholds must increase strictly: {upper} after {lower}",
                    upper=upper.score_text,
                    lower=lower.score_text,
                )
            )
    for index, rule in enumerate(ladder):
        if rule.action == "delete" and index != len(ladder) - 1:
            raise LadderError(
                M(
                    "delete at {score} must be the top rule: rules above it never apply",
                    score=rule.score_text,
                )
            )
        if rule.action == "forward" and rule.arg:
            _plain_entry(FORWARD_TARGET, rule.arg)  # a stored rule kept by this change
        if rule.action == "forward" and mailbox_address and rule.arg == mailbox_address.lower():
            raise LadderError(M("forward target {address} is the mailbox itself", address=rule.arg))
        if rule.action == "delete" and rule.tenths < DELETE_WARN_TENTHS:
            warnings.append(
                M(
                    "delete from {score} is below 9: legitimate mail scoring that high "
                    "is lost without a trace",
                    score=rule.score_text,
                )
            )
    return warnings


def effective_action(ladder: Ladder, score_tenths: int | None) -> Rule | None:
    """The rule a message with this score meets; None for no score, a negative one, or none."""
    if score_tenths is None or score_tenths < 0:
        return None
    chosen = None
    for rule in ladder:
        if score_tenths >= rule.tenths:
            chosen = rule
    return chosen


def placement(ladder: Ladder, rule: Rule) -> str:
    """Where the message itself lands for this rule: inbox, marked, junk or nowhere.

    A forward rule sends a copy and otherwise treats the message as the rule below it would.
    """
    if rule.action == "delete":
        return "nowhere"
    if rule.action in ("junk", "mark", "none"):
        return {"junk": "junk", "mark": "marked", "none": "inbox"}[rule.action]
    below = [r for r in ladder if r.tenths < rule.tenths and r.action != "forward"]
    return placement(ladder, below[-1]) if below else "inbox"


def shift(ladder: Ladder, index: int, delta_tenths: int) -> Ladder:
    """The ladder with one threshold moved (the TUI's nudge); may be invalid, validate after."""
    rule = ladder[index]
    tenths = min(MAX_TENTHS, max(1, rule.tenths + delta_tenths))
    new = Rule(tenths, rule.action, rule.arg)
    return ladder[:index] + (new,) + ladder[index + 1 :]


# --- senders -----------------------------------------------------------------------------


def parse_sender(entry: str) -> str:
    """A sender list entry: a full address or `@domain`, lowercased."""
    value = entry.strip().lower()
    _plain_entry(SENDER_ENTRY, value)
    if value.startswith("@"):
        if not _DOMAIN_RE.match(value[1:]):
            raise LadderError(M("sender entry {entry!r} is not @domain.tld", entry=entry))
        return value
    if not _ADDRESS_RE.match(value):
        raise LadderError(
            M("sender entry {entry!r} is neither an address nor @domain", entry=entry)
        )
    return value


def parse_senders(entries: list[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for entry in entries:
        seen[parse_sender(entry)] = None
    return tuple(sorted(seen))


def validate_senders(allow: tuple[str, ...], block: tuple[str, ...]) -> None:
    total = len(allow) + len(block)
    if total > MAX_SENDERS:
        raise LadderError(
            M(
                "the allow and block lists hold at most {limit} senders together; "
                "this would be {total} ({allow} allow, {block} block)",
                limit=MAX_SENDERS,
                total=str(total),
                allow=str(len(allow)),
                block=str(len(block)),
            )
        )
    for entry in (*allow, *block):
        _plain_entry(SENDER_ENTRY, entry)  # entries stored before the limits, kept as they are
    both = sorted(set(allow) & set(block))
    if both:
        raise LadderError(M("{entry} is on both the allow and the block list", entry=both[0]))


# --- legacy vexim settings ---------------------------------------------------------------

LEGACY_OFF = 99  # vexim installations used 99+ (or 0) for "never"


def legacy_score_tenths(old: int) -> int:
    """SpamAssassin whole points → rspamd tenths: 3 → 6.0, 7 → 9.0, linear in between.

    new = 6 + (old − 3) × 3/4, rounded half up to one decimal; never below 0.1.
    """
    value = Decimal(6) + (Decimal(int(old)) - 3) * Decimal(3) / Decimal(4)
    tenths = int((value * 10).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return min(MAX_TENTHS, max(1, tenths))


def ladder_from_legacy(sa_tag: int, sa_refuse: int, *, tag_action: str = "junk") -> Ladder:
    """A vexim `sa_tag`/`sa_refuse` pair as a ladder: tag → junk (or mark), refuse → delete.

    Values ≤ 0 or ≥ 99 mean the step was off. A refuse level at or below the tag level
    leaves only the delete rule, which is what the old setup effectively did.
    """
    if tag_action not in ("junk", "mark"):
        raise LadderError(M("legacy tag action must be junk or mark"))
    rules: list[Rule] = []
    tag_on = 0 < sa_tag < LEGACY_OFF
    refuse_on = 0 < sa_refuse < LEGACY_OFF
    if tag_on and not (refuse_on and sa_refuse <= sa_tag):
        rules.append(Rule(legacy_score_tenths(sa_tag), tag_action))
    if refuse_on:
        rules.append(Rule(legacy_score_tenths(sa_refuse), "delete"))
    return tuple(rules)
