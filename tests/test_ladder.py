"""The ladder model: parsing, validation, the rule a score meets, legacy conversion."""

import pytest

from helpdesk.errors import PolicyError
from helpdesk.spam.ladder import (
    MAX_ENTRY_LENGTH,
    MAX_RULES,
    MAX_SENDERS,
    LadderError,
    Rule,
    effective_action,
    ladder_from_legacy,
    legacy_score_tenths,
    parse_rule,
    parse_sender,
    parse_senders,
    placement,
    rule_from_json,
    shift,
    validate,
    validate_senders,
)


def ladder(*specs):
    return tuple(parse_rule(s) for s in specs)


def test_parse_rule_forms():
    assert parse_rule("6:junk") == Rule(60, "junk")
    assert parse_rule(" 7.5:Forward:Boss@Example.COM ") == Rule(75, "forward", "boss@example.com")
    assert parse_rule("9:delete").as_json() == {"score": 9.0, "action": "delete", "arg": None}
    assert parse_rule("5.0:mark").spec() == "5.0:mark"


@pytest.mark.parametrize(
    "spec, words",
    [
        ("6", "SCORE:ACTION"),
        ("six:junk", "not a number"),
        ("6.25:junk", "more than one decimal"),
        ("-1:junk", "above 0"),
        ("0:mark", "above 0"),
        ("1000:delete", "maximum"),
        ("6:spam", "unknown action"),
        ("6:forward", "needs a target"),
        ("6:forward:not-an-address", "not a valid mail address"),
        ("6:junk:Spam", "takes no argument"),
        ("nan:junk", "not a number"),
    ],
)
def test_parse_rule_refusals(spec, words):
    with pytest.raises(LadderError, match=words):
        parse_rule(spec)


def test_ladder_error_is_a_policy_error():
    assert issubclass(LadderError, PolicyError)


def test_validate_strictly_increasing():
    assert validate(ladder("5:mark", "6:junk")) == []
    with pytest.raises(LadderError, match="increase strictly: 6.0 after 6.0"):
        validate(ladder("6:mark", "6:junk"))
    with pytest.raises(LadderError, match="increase strictly"):
        validate(ladder("7:mark", "6:junk"))


def test_delete_only_on_top_and_warned_below_nine():
    with pytest.raises(LadderError, match="top rule"):
        validate(ladder("9:delete", "10:junk"))
    assert validate(ladder("6:junk", "9:delete")) == []
    warnings = validate(ladder("6:junk", "8.9:delete"))
    assert len(warnings) == 1 and "below 9" in str(warnings[0])


def test_forward_not_to_the_mailbox_itself():
    with pytest.raises(LadderError, match="mailbox itself"):
        validate(ladder("8:forward:Alice@example.org"), "alice@example.org")
    assert validate(ladder("8:forward:bob@example.org"), "alice@example.org") == []


def test_effective_action_highest_reached_rule():
    lad = ladder("5:mark", "6:junk", "9.5:delete")
    assert effective_action(lad, None) is None
    assert effective_action(lad, -120) is None
    assert effective_action(lad, 49) is None
    assert effective_action(lad, 50).action == "mark"
    assert effective_action(lad, 59).action == "mark"
    assert effective_action(lad, 60).action == "junk"
    assert effective_action(lad, 94).action == "junk"
    assert effective_action(lad, 95).action == "delete"


def test_forward_keeps_the_message_where_the_rule_below_puts_it():
    lad = ladder("5:mark", "6:junk", "8:forward:boss@example.com")
    assert placement(lad, lad[2]) == "junk"
    lad = ladder("5:mark", "8:forward:boss@example.com")
    assert placement(lad, lad[1]) == "marked"
    lad = ladder("8:forward:boss@example.com")
    assert placement(lad, lad[0]) == "inbox"


def test_shift_clamps():
    lad = ladder("0.3:mark", "6:junk")
    assert shift(lad, 0, -5)[0].tenths == 1
    assert shift(lad, 1, 5)[1].tenths == 65


def test_senders():
    assert parse_sender(" Boss@Example.COM ") == "boss@example.com"
    assert parse_sender("@Friends.org") == "@friends.org"
    for bad in ("friends", "@", "@nodot", "a@@b.de", "x y@b.de", ""):
        with pytest.raises(LadderError):
            parse_sender(bad)
    assert parse_senders(["b@x.de", "a@x.de", "B@x.de"]) == ("a@x.de", "b@x.de")
    with pytest.raises(LadderError, match="both"):
        validate_senders(("@x.de",), ("@x.de", "a@y.de"))


def long_address(length: int) -> str:
    local = "a" * 60
    return local + "@" + "d" * (length - len(local) - 5) + ".org"


def test_rule_count_is_bounded_and_the_refusal_says_limit_and_count():
    most = tuple(parse_rule(f"{n}:mark") for n in range(1, MAX_RULES + 1))
    assert validate(most) == []
    with pytest.raises(LadderError) as caught:
        validate((*most, parse_rule(f"{MAX_RULES + 1}:junk")))
    assert str(caught.value) == (
        f"a ladder has at most {MAX_RULES} rules; this one has {MAX_RULES + 1}"
    )


def test_sender_count_is_bounded_over_both_lists():
    allow = tuple(f"a{n}@x.example" for n in range(MAX_SENDERS // 2))
    block = tuple(f"b{n}@y.example" for n in range(MAX_SENDERS - len(allow)))
    validate_senders(allow, block)
    with pytest.raises(LadderError) as caught:
        validate_senders(allow, (*block, "@z.example"))
    message = str(caught.value)
    assert f"at most {MAX_SENDERS} senders" in message and f"{MAX_SENDERS + 1}" in message
    assert "\n" not in message


def test_entry_length_is_bounded_for_senders_and_forward_targets():
    fits, too_long = long_address(MAX_ENTRY_LENGTH), long_address(MAX_ENTRY_LENGTH + 1)
    assert parse_sender(fits) == fits
    assert parse_rule(f"8:forward:{fits}").arg == fits
    limit = f"{MAX_ENTRY_LENGTH + 1} characters long; at most {MAX_ENTRY_LENGTH}"
    with pytest.raises(LadderError, match=limit):
        parse_sender(too_long)
    with pytest.raises(LadderError, match=limit):
        parse_rule(f"8:forward:{too_long}")
    # A huge entry is refused by its length, not echoed back whole.
    with pytest.raises(LadderError) as caught:
        parse_sender("x" * 100_000 + "@x.example")
    assert len(str(caught.value)) < 100


DOLLAR_VARIANTS = [
    "${1}@x.example",
    "a${score}@x.example",
    "${SUBJECT}@x.example",
    "$${1}@x.example",
    "${{1}}@x.example",
    "${hex:24}{1}@x.example",
    "x${@x.example",
]


@pytest.mark.parametrize("value", DOLLAR_VARIANTS)
def test_dollar_brace_is_refused_in_sender_entries_and_forward_targets(value):
    with pytest.raises(LadderError, match=r"contains \$\{, which Sieve would expand"):
        parse_sender(value)
    with pytest.raises(LadderError, match=r"contains \$\{, which Sieve would expand"):
        parse_rule(f"8:forward:{value}")
    with pytest.raises(LadderError, match=r"contains \$\{"):
        parse_sender("@" + value.split("@")[0] + ".example")


def test_stored_rules_past_the_entry_limits_still_load():
    # Written before the limits or by another program: shown and replaceable, not a crash.
    for arg in ("${1}@x.example", long_address(MAX_ENTRY_LENGTH + 20)):
        rule = rule_from_json({"score": 8, "action": "forward", "arg": arg})
        assert rule == Rule(80, "forward", arg)
        with pytest.raises(LadderError):
            parse_rule(f"8:forward:{arg}")
        # Kept by the next change, it is refused with the rest of the ladder or list.
        with pytest.raises(LadderError, match="forward target"):
            validate((rule,))
        with pytest.raises(LadderError, match="sender entry"):
            validate_senders((arg,), ())


def test_dollar_or_braces_alone_stay_allowed():
    # Both are legal in an address and harmless to Sieve without the other.
    assert parse_sender("a$b@x.example") == "a$b@x.example"
    assert parse_rule("8:forward:{1}@x.example").arg == "{1}@x.example"


@pytest.mark.parametrize(
    "old, new",
    [(3, 60), (7, 90), (5, 75), (4, 68), (10, 113), (1, 45), (15, 150), (2, 53)],
)
def test_legacy_scale(old, new):
    # 3 → 6 and 7 → 9 are the fixed points of the scale; the rest is the linear formula.
    assert legacy_score_tenths(old) == new


def test_ladder_from_legacy():
    assert ladder_from_legacy(3, 7) == (Rule(60, "junk"), Rule(90, "delete"))
    assert ladder_from_legacy(5, 10) == (Rule(75, "junk"), Rule(113, "delete"))
    assert ladder_from_legacy(5, 99) == (Rule(75, "junk"),)
    assert ladder_from_legacy(0, 8) == (Rule(98, "delete"),)
    assert ladder_from_legacy(0, 0) == ()
    assert ladder_from_legacy(8, 6) == (Rule(83, "delete"),)
    assert ladder_from_legacy(4, 12, tag_action="mark")[0].action == "mark"
    for tag in range(-2, 101):
        for refuse in (0, 4, 7, 12, 99):
            validate(ladder_from_legacy(tag, refuse))


def test_several_rules_in_one_line_as_a_caller_dictates_them():
    from helpdesk.spam.ladder import parse_rules

    assert [(r.score_text, r.action) for r in parse_rules("6:junk 12:delete")] == [
        ("6.0", "junk"),
        ("12.0", "delete"),
    ]
    assert len(parse_rules("6:junk, 8:forward:a@b.de")) == 2
    for bad, said in [
        ("", "no rule given"),
        ("6:junk 6:delete", "same score"),
        ("6:junk 12", "SCORE:ACTION"),
        (" ".join(f"{n}:junk" for n in range(1, 13)), "at most"),
    ]:
        with pytest.raises(LadderError, match=said):
            parse_rules(bad)
