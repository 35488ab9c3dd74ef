"""Benchmark: one policy check with the German additions against plain zxcvbn (the baseline).

    .venv/bin/python bench/passwords.py
    .venv/bin/python bench/passwords.py --size 200000 --rounds 3

Prints, for the same mix of passwords (weak German ones, strong typed ones, generated
passphrases, 72-character worst cases): the one-time cost of loading the German word list,
the median and worst time per check for plain `zxcvbn.zxcvbn()` and for the helpdesk's
`strength.evaluate()`, and their ratio; then the scores both give the German examples and the
generator's entropy. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WEAK = ["Sommer2016!", "Passwort1!", "Hallo1234!", "Schatzi2010", "Fußball2020", "Mausi123!"]
STRONG = ["Nordwand-Kaffeetasse-Pirol-83", "correct horse battery staple", "xK9#mPq2!vLz-Rabe"]
WORST = ["4@8(3!1|0$5+%2" * 5, "Aa1!" * 18, "hans-" * 14]
DETAILS = ["hans.mueller", "baeckerei-mueller.de", "baeckerei-mueller", "Hans Müller", "K-4711"]


def timed(fn, passwords: list[str], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        for p in passwords:
            start = time.perf_counter()
            fn(p)
            out.append(time.perf_counter() - start)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="German words (default 100000)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import zxcvbn

    from helpdesk.passwords.passphrase import candidate, recipe
    from helpdesk.passwords.policy import PasswordSettings
    from helpdesk.passwords.strength import evaluate, warm_up

    settings = PasswordSettings(dictionary_size=args.size)
    r = recipe(settings)
    generated = [candidate(r) for _ in range(20)]
    mix = WEAK + STRONG + generated + [w[:72] for w in WORST]

    start = time.perf_counter()
    warm_up(settings.dictionaries, settings.dictionary_size)
    load = time.perf_counter() - start

    base = timed(lambda p: zxcvbn.zxcvbn(p, user_inputs=DETAILS), mix, args.rounds)
    ours = timed(
        lambda p: evaluate(p, DETAILS, languages=settings.dictionaries, dictionary_size=args.size),
        mix,
        args.rounds,
    )
    ms = 1000.0
    print(f"German word list: {args.size} words, loaded once in {load:.2f} s")
    print(f"{'':24}{'median ms':>10}{'max ms':>10}")
    print(f"{'plain zxcvbn':24}{statistics.median(base) * ms:10.2f}{max(base) * ms:10.1f}")
    print(f"{'helpdesk evaluate':24}{statistics.median(ours) * ms:10.2f}{max(ours) * ms:10.1f}")
    print(f"ratio (median): {statistics.median(ours) / statistics.median(base):.2f}x")
    print()
    print(f"{'password':16}{'zxcvbn':>8}{'helpdesk':>10}")
    for p in WEAK:
        plain = zxcvbn.zxcvbn(p)["score"]
        print(f"{p:16}{plain:>8}{evaluate(p, dictionary_size=args.size).score:>10}")
    print()
    print(
        f"generator: {len(r.wordlist.words)} words ({r.wordlist.source}), {r.word_count} words "
        f"= {r.word_bits:.2f} bits, with the number {r.total_bits:.2f} bits; e.g. {generated[0]}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
