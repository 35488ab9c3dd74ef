"""The F6 figure of bench/sendlog.py: the send-log screen's read against the command's.

F6 runs screens/sendlog_jobs.read_log in a worker thread of the TUI: the session's log workers
(started at its first large read and kept), the configured logs and window. Here a process
that has imported the screens (and so Textual) runs that function twice on the benchmark's
log, as a first and a second F6 of a session, and prints how long each read took; the
command's own read time is the one its summary line gives ("read N lines ... in X s"). The
answer of the first F6 goes through the same exact-count check as the command's.
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"

F6_READ = """
import json, pathlib, sys, tempfile, time
from helpdesk.config import load_config
from screens.sendlog_jobs import read_log, stop_log_workers
# what the running app has loaded before any F6 (its outbound line reads the watcher's
# actions at start): not part of the read
import helpdesk.sendlog.offenders, helpdesk.sendlog.parallel, helpdesk.watch.picture
log, since, out = sys.argv[1:4]
with tempfile.TemporaryDirectory() as folder:
    toml = pathlib.Path(folder) / "helpdesk.toml"
    toml.write_text(
        f"[sendlog]\\npaths = [{json.dumps(log)}]\\nsince = {json.dumps(since)}\\ncache = false\\n"
    )
    config = load_config(toml)
times = []
for k in range(2):
    t0 = time.perf_counter()
    result = read_log(config, None, lambda: False, lambda done, total: None)
    times.append(time.perf_counter() - t0)
    if k == 0:
        pathlib.Path(out).write_text(json.dumps(result.report.offenders_json()))
stop_log_workers()
print(" ".join(f"{t:.3f}" for t in times))
"""

_READ_IN = re.compile(rb"lines? from \d+ files? in ([\d.]+) s")


def run_f6(
    log: Path, truth: dict, runs: int, measure: Callable, env: dict, check_burst: Callable
) -> bool:
    """F6 (first and second read of a session) and the command, alternating, runs times."""
    end = datetime.fromisoformat(truth["end"])
    helpdesk = shutil.which("helpdesk", path=str(ROOT / ".venv" / "bin")) or "helpdesk"
    json_out = OUT / "offenders-f6.json"
    figures: dict[str, list[float]] = {"command": [], "F6 first": [], "F6 second": []}
    for _run in range(runs):
        since = f"{round((datetime.now() - end).total_seconds()) + 24 * 3600}s"
        # in English, whatever the locale: its summary line gives its read time
        cmd = [helpdesk, "--ui-language", "en", "offenders", "--log", str(log), "--since", since]
        cmd.append("--json")
        _s, _c, _rss, rc, out = measure([*cmd, "--no-cache"], OUT / "offenders.json")
        took = _READ_IN.search(out)
        if rc != 0 or took is None:
            print(f"helpdesk offenders failed (exit {rc}):\n{out.decode(errors='replace')[-2000:]}")
            return False
        figures["command"].append(float(took.group(1)))
        proc = subprocess.run(
            [sys.executable, "-c", F6_READ, str(log), since, str(json_out)],
            capture_output=True,
            env=env,
            cwd=ROOT,
        )
        if proc.returncode != 0:
            print(f"F6 read failed:\n{proc.stderr.decode(errors='replace')[-2000:]}")
            return False
        first, second = (float(t) for t in proc.stdout.split())
        figures["F6 first"].append(first)
        figures["F6 second"].append(second)
    print(f"\n{log.name}: the send-log screen's read (F6) against the command's, best / median:")
    for name, times in figures.items():
        print(f"  {name:10} {min(times):6.2f} / {statistics.median(times):6.2f} s")
    ratio = statistics.median(figures["F6 first"]) / statistics.median(figures["command"])
    print(f"  F6 first / command (median): {ratio:.2f}x")
    print("  F6: " + check_burst(json_out, truth))
    return "OK" in check_burst(json_out, truth)


def main() -> int:
    """Run on its own, the whole send-log benchmark, of which this is one figure (`--no-f6`
    there leaves it out)."""
    from sendlog import main as sendlog_main  # bench/ is the script's folder

    return sendlog_main()


if __name__ == "__main__":
    raise SystemExit(main())
