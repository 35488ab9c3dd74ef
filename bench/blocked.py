"""Benchmark: merging rspamd's history with Exim's reject lines, against a pairwise baseline.

    .venv/bin/python bench/blocked.py
    .venv/bin/python bench/blocked.py --scans 5000 --lines 3000 --burst 0.6

Builds a synthetic day the way a taken-over account makes it: `--scans` authenticated
rejects in rspamd's history (a share `--burst` of them from one account within a few
minutes), and `--lines` Exim `rejected after DATA` lines for them. The baseline compares every
log line with every scan (what a first version did); `merge_blocked` looks only at the same
user's scans within the time window (bisect). Prints both times, their ratio, and checks that
both find the same joins. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpdesk.rspamd.blocked import MATCH_WINDOW, merge_blocked  # noqa: E402
from helpdesk.rspamd.client import HistoryRow, Symbol, user_matches  # noqa: E402
from helpdesk.rspamd.exim_rejects import EximReject  # noqa: E402


def synthetic(scans: int, lines: int, burst: float, seed: int):
    rng = random.Random(seed)
    start = datetime(2026, 11, 27, 8, 0, 0)
    users = [f"kunde{i}@firma{i % 40}.example" for i in range(300)]
    rows, exim = [], []
    for n in range(scans):
        if rng.random() < burst:
            user = "kontakt@gartenbau-schulz.example"
            when = start + timedelta(hours=6, seconds=rng.uniform(0, 300))
        else:
            user = rng.choice(users)
            when = start + timedelta(seconds=rng.uniform(0, 12 * 3600))
        rows.append(
            HistoryRow(
                controller="mx1",
                time=when.replace(microsecond=0),
                message_id=f"m{n}@bench.example",
                user=user,
                action="reject",
                score=20.0,
                required_score=15.0,
                symbols=(Symbol("HELPDESK_TEST_SPAM", 50.0),),
            )
        )
    for row in rng.sample(rows, min(lines, len(rows))):
        exim.append(
            EximReject(
                time=row.time + timedelta(seconds=rng.choice((0, 1))),
                user=row.user,
                sender=row.user,
                ip="192.0.2.1",
                text="The E-Mail you sended has been blocked",
                temporary=False,
            )
        )
    return rows, exim


def pairwise(rows: list[HistoryRow], exim: list[EximReject]) -> int:
    """The baseline: every line against every scan; returns how many lines found a scan."""
    used = [False] * len(rows)
    joined = 0
    for entry in sorted(exim, key=lambda e: e.time):
        best = None
        for i, row in enumerate(rows):
            if used[i] or not user_matches(row.user, entry.user):
                continue
            gap = abs(row.time - entry.time)
            if gap <= MATCH_WINDOW and (best is None or gap < abs(rows[best].time - entry.time)):
                best = i
        if best is not None:
            used[best] = True
            joined += 1
    return joined


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=4000)
    parser.add_argument("--lines", type=int, default=2500)
    parser.add_argument("--burst", type=float, default=0.6)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rows, exim = synthetic(args.scans, args.lines, args.burst, args.seed)
    rows.sort(key=lambda r: r.time)

    start = time.perf_counter()
    baseline_joined = pairwise(rows, exim)
    baseline = time.perf_counter() - start

    start = time.perf_counter()
    merged = merge_blocked(rows, exim)
    indexed = time.perf_counter() - start
    joined = sum(m.attempts for m in merged if set(m.sources) == {"exim", "rspamd"})

    print(f"{len(rows)} scans, {len(exim)} Exim lines ({args.burst:.0%} in one account's burst)")
    print(f"baseline (every line against every scan): {baseline:8.3f} s, {baseline_joined} joined")
    print(f"merge_blocked (user + time window):       {indexed:8.3f} s, {joined} joined")
    print(f"ratio baseline / merge_blocked: {baseline / indexed:.1f}x")
    if joined != baseline_joined:
        print("MISMATCH: the two found a different number of joins", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
