"""The cache figure of bench/sendlog.py: the generated log cut by day into a rotated set
(mainlog.2.gz, mainlog.1, mainlog), read without the cache, by the first read that fills it,
and by a second read (cache warm), each as `helpdesk offenders --json` in a child process.
The three answers must be the same JSON."""

from __future__ import annotations

import json
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def _rotated_set(log: Path, end: datetime) -> list[Path]:
    """The log cut by day as logrotate leaves it: mainlog.2.gz, mainlog.1 and mainlog
    (the last 24 hours before the log's end), kept beside the log."""
    folder = OUT / f"rotated-{log.name}"
    names = ["mainlog.2.gz", "mainlog.1", "mainlog"]
    paths = [folder / n for n in names]
    if all(p.exists() and p.stat().st_mtime >= log.stat().st_mtime for p in paths):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    cuts = [(end - timedelta(days=d)).strftime("%Y-%m-%d %H:%M:%S").encode() for d in (2, 1)]
    outs = [open(folder / "mainlog.2", "wb"), open(paths[1], "wb"), open(paths[2], "wb")]  # noqa: SIM115
    k = 0
    with open(log, "rb") as f:
        for line in f:
            while k < 2 and line[:19] >= cuts[k]:
                k += 1
            outs[k].write(line)
    for o in outs:
        o.close()
    with open(paths[0], "wb") as gz:
        subprocess.run(["gzip", "-c", "-6", str(folder / "mainlog.2")], stdout=gz, check=True)
    (folder / "mainlog.2").unlink()
    return paths


def run_cache(
    log: Path, truth: dict, runs: int, measure: Callable, env: dict, check_burst: Callable
) -> bool:
    """The rotated set read without the cache, the first read that fills it, and a second
    read (cache warm), for the 24 hours of the other runs and for the last 2 hours."""
    end = datetime.fromisoformat(truth["end"])
    paths = _rotated_set(log, end)
    helpdesk = shutil.which("helpdesk", path=str(ROOT / ".venv" / "bin")) or "helpdesk"
    json_out = OUT / "offenders-rotated.json"
    print(
        f"\nrotated set of {log.name}: "
        + ", ".join(f"{p.name} {p.stat().st_size / 1e6:.0f} MB" for p in paths)
    )
    ok = True
    # 24 h: the window starts where mainlog.1 ends; 30 h: inside mainlog.1 (its 5-minute
    # segment there is read again by each warm read); 2 h: inside the live file
    for hours in (24, 30, 2):
        with tempfile.TemporaryDirectory(dir=OUT) as xdg:
            env["XDG_CACHE_HOME"] = xdg

            def cmd(*more: str, hours: int = hours) -> list[str]:
                # started just after a second begins, so that the command's own `now` (to
                # the second) and this one agree: every run has the same window
                time.sleep(1.02 - time.time() % 1)
                since_s = int((datetime.now() - end).total_seconds()) + hours * 3600
                logs = [a for p in paths for a in ("--log", str(p))]
                return [helpdesk, "offenders", *logs, "--since", f"{since_s}s", "--json", *more]

            measure(cmd("--no-cache"), json_out)  # bytecode and page cache
            figures: dict[str, list[tuple]] = {"no cache": [], "first (fills)": [], "warm": []}
            outputs = {}
            for _run in range(runs):
                shutil.rmtree(Path(xdg) / "helpdesk", ignore_errors=True)
                for name, more in (
                    ("no cache", ("--no-cache",)),
                    ("first (fills)", ()),
                    ("warm", ()),
                ):
                    before = resource.getrusage(resource.RUSAGE_CHILDREN)
                    secs, _c, rss, rc, out = measure(cmd(*more), json_out)
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
                    if rc != 0:
                        print(f"{name} failed (exit {rc}):\n{out.decode(errors='replace')[-2000:]}")
                        return False
                    figures[name].append((secs, cpu, rss))
                    outputs[name] = json.loads(json_out.read_text())
            env.pop("XDG_CACHE_HOME", None)
        same = outputs["no cache"] == outputs["first (fills)"] == outputs["warm"]
        ok &= same
        print(f"  --since {hours}h, best / median of {runs} (wall, CPU), largest peak memory:")
        for name, runs_of in figures.items():
            wall = [r[0] for r in runs_of]
            cpu = [r[1] for r in runs_of]
            peak = max(r[2] for r in runs_of)  # MiB
            print(
                f"    {name:14} {min(wall):6.2f} / {statistics.median(wall):6.2f} s"
                f"  CPU {min(cpu):6.2f} / {statistics.median(cpu):6.2f} s  {peak:6.1f} MiB"
            )
        print(f"  second read (cache warm): {'same JSON' if same else 'JSON DIFFERS'}")
        if hours == 24:
            print("  " + check_burst(json_out, truth))
            ok &= "OK" in check_burst(json_out, truth)
    return ok


def main() -> int:
    """Run on its own, the whole send-log benchmark, whose last figure this is (`--no-cache`
    there leaves it out)."""
    from sendlog import main as sendlog_main  # bench/ is the script's folder

    return sendlog_main()


if __name__ == "__main__":
    raise SystemExit(main())
