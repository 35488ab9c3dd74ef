"""Generated scripts against the real Pigeonhole: `sievec` compiles them, `sieve-test` runs them."""

from __future__ import annotations

import pytest

from helpdesk.errors import ConfigError
from helpdesk.sieve.limits import PART_BUDGETS, SCRIPT_BUDGET, ScriptTooLarge, script_id
from helpdesk.spam.ladder import (
    MAX_ENTRY_LENGTH,
    MAX_RULES,
    MAX_SENDERS,
    Rule,
    effective_action,
    ladder_from_legacy,
    parse_rule,
    parse_sender,
    placement,
    validate,
    validate_senders,
)
from helpdesk.spam.script import SpamOptions, generate
from tests.sieve_tools import Outcome, SieveBench, require_tools

LADDERS = {
    "full": ("5:mark", "6:junk", "8:forward:boss@example.com", "9.5:delete"),
    "junk-only": ("6:junk",),
    "mark-then-forward": ("4.5:mark", "7:forward:copy@example.net"),
    "none-then-junk": ("3:none", "6.5:junk", "12:delete"),
    "legacy": None,
    "empty": (),
}


def build(name):
    if name == "legacy":
        return ladder_from_legacy(5, 10)
    return tuple(parse_rule(s) for s in LADDERS[name])


@pytest.fixture(scope="module")
def bench():
    require_tools()
    b = SieveBench()
    yield b
    b.close()


def expected(ladder, tenths: int | None) -> Outcome:
    rule = effective_action(ladder, tenths)
    if rule is None:
        return Outcome(folders={"INBOX"})
    where = placement(ladder, rule)
    out = Outcome(
        folders={"inbox": {"INBOX"}, "marked": {"INBOX"}, "junk": {"Junk"}, "nowhere": set()}[
            where
        ],
        discarded=where == "nowhere",
    )
    if rule.action == "forward":
        out.redirects = [rule.arg]
    return out


@pytest.mark.parametrize("name", list(LADDERS))
@pytest.mark.parametrize("block_action", ["junk", "discard"])
def test_every_script_compiles(bench, name, block_action):
    options = SpamOptions(block_action=block_action)
    script = generate(
        build(name),
        ("a@b.example", "@friends.example"),
        ("@spam.example",),
        options=options,
        label="alice@example.org",
    )
    result = bench.compile(script)
    assert result.returncode == 0, result.stdout + result.stderr
    bare = generate(build(name), options=options)
    assert bench.compile(bare).returncode == 0


@pytest.mark.parametrize("name", [n for n in LADDERS if n != "empty"])
def test_just_below_and_at_each_threshold(bench, name):
    ladder = build(name)
    script = generate(ladder)
    for rule in ladder:
        for tenths in (rule.tenths - 1, rule.tenths):
            got = bench.run(script, score=str(tenths))
            assert got == expected(ladder, tenths), (name, tenths, got)


def test_explicit_outcomes(bench):
    # Written out by hand so that a shared mistake in the model and the script shows up.
    script = generate(build("full"))
    assert bench.run(script, score="49") == Outcome(folders={"INBOX"})
    assert bench.run(script, score="50") == Outcome(folders={"INBOX"})
    assert bench.run(script, score="60") == Outcome(folders={"Junk"})
    assert bench.run(script, score="80") == Outcome(
        folders={"Junk"}, redirects=["boss@example.com"]
    )
    assert bench.run(script, score="94") == Outcome(
        folders={"Junk"}, redirects=["boss@example.com"]
    )
    assert bench.run(script, score="95") == Outcome(discarded=True)
    assert bench.run(script, score="1500") == Outcome(discarded=True)


@pytest.mark.parametrize("score", ["-12", "-999", None, "", "abc", "7.5", "1e9"])
def test_negative_absent_or_garbage_scores_are_delivered(bench, score):
    # i;ascii-numeric would read "-12" as infinitely large and delete it.
    script = generate(build("full"))
    assert bench.run(script, score=score) == Outcome(folders={"INBOX"})


def test_first_score_header_counts_and_a_forged_negative_does_not_help(bench):
    script = generate(build("junk-only"))
    got = bench.run(script, score="70", extra_headers="X-Spam-Score-Int: -50\n")
    assert got == Outcome(folders={"Junk"})


@pytest.mark.parametrize("block_action", ["junk", "discard"])
def test_allowed_and_blocked_senders(bench, block_action):
    ladder = build("full")
    options = SpamOptions(block_action=block_action)
    script = generate(
        ladder,
        ("vip@b.example", "@friends.example"),
        ("@spam.example", "x@y.example"),
        options=options,
    )
    blocked = Outcome(folders={"Junk"}) if block_action == "junk" else Outcome(discarded=True)
    for rule in ladder:
        for tenths in (rule.tenths - 1, rule.tenths):
            for sender in ("vip@b.example", "Someone@Friends.example"):
                assert bench.run(script, score=str(tenths), sender=sender) == Outcome(
                    folders={"INBOX"}
                ), (sender, tenths)
            for sender in ("bulk@spam.example", "x@y.example"):
                assert bench.run(script, score=str(tenths), sender=sender) == blocked
            got = bench.run(script, score=str(tenths), sender="other@b.example")
            assert got == expected(ladder, tenths)
    assert bench.run(script, score="0", sender="x@y.example") == blocked
    assert bench.run(script, score=None, sender="vip@b.example") == Outcome(folders={"INBOX"})


def test_mark_rewrites_subject_and_adds_header(bench):
    script = generate(build("full"))
    stored = bench.execute(script, score="55", subject="Cheap watches")
    assert "Subject: [SPAM] Cheap watches" in stored
    assert "X-Spam-Flag: YES" in stored
    stored = bench.execute(script, score="55", subject="[SPAM] already")
    assert "Subject: [SPAM] already" in stored and "[SPAM] [SPAM]" not in stored


def test_mark_header_only(bench):
    options = SpamOptions(subject_prefix="", mark_header="X-Junk", mark_header_value="probably")
    script = generate(build("full"), options=options)
    assert bench.compile(script).returncode == 0
    stored = bench.execute(script, score="51", subject="Untouched")
    assert "Subject: Untouched" in stored and "X-Junk: probably" in stored


def test_script_id_follows_content():
    a = generate(build("full"))
    assert script_id(a) == script_id(generate(build("full")))
    assert script_id(a) != script_id(generate(build("junk-only")))


def test_options_refuse_bad_values():
    for bad in (
        {"block_action": "bounce"},
        {"subject_prefix": 'a"b'},
        {"junk_folder": ""},
        {"subject_prefix": "", "mark_header": ""},
        {"score_header": "X: y"},
        {"subject_prefix": "${1}"},
        {"junk_folder": "Junk${subject}"},
        {"mark_header_value": "v" * 101},
        {"junk_folder": "ü" * 51},
        {"score_header": "X-Score${1}"},
        {"score_header": "X-" + "s" * 99},
    ):
        with pytest.raises(ConfigError):
            SpamOptions(**bad).check()


def test_demo_scripts_compile(bench):
    import random

    from helpdesk.spam.demo import demo_rows

    rows = demo_rows(random.Random(7), list(range(1, 301)), list(range(1, 41)))
    scripts = {row["script"] for row in rows["spam_settings"]}
    assert len(scripts) > 10
    for script in scripts:
        result = bench.compile(script)
        assert result.returncode == 0, result.stdout + result.stderr


# --- limits ---------------------------------------------------------------------------------


def entry(n: int, length: int = MAX_ENTRY_LENGTH) -> str:
    local = f"a{n:03d}" + "x" * 60
    return local + "@" + "d" * (length - len(local) - 5) + ".org"


def largest_settings():
    """The most the model lets through: every bound at its limit, the costliest rule shape."""
    # Forwards above a mark rule each write the mark lines, the redirect and a keep.
    ladder = (
        Rule(5, "mark"),
        *(Rule(10 + n, "forward", entry(500 + n)) for n in range(MAX_RULES - 1)),
    )
    allow = tuple(parse_sender(entry(n)) for n in range(MAX_SENDERS // 2))
    block = tuple(parse_sender(entry(100 + n)) for n in range(MAX_SENDERS - len(allow)))
    validate(ladder)
    validate_senders(allow, block)
    options = SpamOptions(
        subject_prefix="ü" * 50, mark_header="X-" + "h" * 98, mark_header_value="v" * 100,
        junk_folder="ü" * 50,
    )  # fmt: skip
    options.check()
    return ladder, allow, block, options


def test_the_largest_allowed_settings_fit_the_budget_and_compile(bench):
    ladder, allow, block, options = largest_settings()
    script = generate(ladder, allow, block, options=options, label="ü" * 320 + "@example.org")
    size = len(script.encode("utf-8"))
    assert size <= PART_BUDGETS["spam"] and SCRIPT_BUDGET <= 60_000
    assert sum(PART_BUDGETS.values()) <= SCRIPT_BUDGET
    result = bench.compile(script)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_script_over_its_budget_is_refused_with_size_and_limit():
    # Only reachable past the model's limits (rows written by another program, say).
    allow = tuple(entry(n) for n in range(400))
    with pytest.raises(ScriptTooLarge) as caught:
        generate((parse_rule("6:junk"),), allow, label="alice@example.org")
    message = str(caught.value)
    assert message.startswith("the spam script of alice@example.org would be ")
    assert f"over the limit of {PART_BUDGETS['spam']} bytes" in message


# --- ${ never expands ----------------------------------------------------------------------

# Generated past the model (which refuses `${`), as rows another program wrote would be. Each
# is a valid local part (`$`, `{`, `}` are atext), so Sieve would accept the expanded address.
DOLLAR_LOCALS = ["${1}", "a${score}", "${subject}", "$${1}", "${{1}}", "${dollar}", "x${"]


@pytest.mark.parametrize("local", DOLLAR_LOCALS)
def test_dollar_brace_in_a_forward_target_stays_literal(bench, local):
    target = f"{local}@x.example"
    script = generate((Rule(60, "junk"), Rule(80, "forward", target)))
    assert bench.compile(script).returncode == 0
    got = bench.run(script, score="80", subject="Hi")
    assert got == Outcome(folders={"Junk"}, redirects=[target])


@pytest.mark.parametrize("local", DOLLAR_LOCALS)
def test_dollar_brace_in_sender_entries_matches_only_itself(bench, local):
    literal = f"{local}@x.example"
    # What Sieve would make of it: `${1}` and `${score}` hold the score captured just before.
    expanded = literal.replace("${1}", "70").replace("${score}", "70")
    ladder = (Rule(60, "junk"),)
    allow = generate(ladder, (literal,))
    assert bench.run(allow, score="70", sender=literal) == Outcome(folders={"INBOX"})
    if expanded != literal:
        assert bench.run(allow, score="70", sender=expanded) == Outcome(folders={"Junk"})
    block = generate((), (), (literal,), options=SpamOptions(block_action="discard"))
    assert bench.run(block, score="0", sender=literal) == Outcome(discarded=True)
    if expanded != literal:
        assert bench.run(block, score="0", sender=expanded) == Outcome(folders={"INBOX"})
    if expanded.split("@")[0].isalnum():
        # sieve-test takes no `$` in a domain, so only the expanded domain is tried.
        domain = generate(
            (), (), (f"@{local}.example",), options=SpamOptions(block_action="discard")
        )
        sender = "a@" + expanded.split("@")[0] + ".example"
        assert bench.run(domain, score="0", sender=sender) == Outcome(folders={"INBOX"})


def test_clean_values_need_no_neutralising():
    script = generate(build("full"), ("a$b@x.example", "{1}@x.example"))
    assert 'set "dollar"' not in script and "${dollar}" not in script


def test_a_label_cannot_end_its_comment_and_add_code(bench):
    label = 'alice@example.org\nredirect "evil@x.example";\r\nkeep;\u2028discard;'
    script = generate(build("junk-only"), label=label)
    assert bench.compile(script).returncode == 0
    assert bench.run(script, score="10") == Outcome(folders={"INBOX"})
    assert script.splitlines()[0].startswith("# Spam ladder for alice@example.org\\x0aredirect")


def test_the_whole_budget_is_one_shared_bound():
    from helpdesk.sieve.limits import check_size

    assert check_size("x" * SCRIPT_BUDGET, part="whole") == SCRIPT_BUDGET
    with pytest.raises(ScriptTooLarge, match=f"60001 bytes, over the limit of {SCRIPT_BUDGET}"):
        check_size("x" * (SCRIPT_BUDGET + 1), part="whole")
    # Multi-byte text counts in bytes, as the database column and Dovecot count it.
    with pytest.raises(ScriptTooLarge):
        check_size("ü" * (PART_BUDGETS["spam"] // 2 + 1))
