"""The parallel offender read: the same answer as one process, and no worker left behind."""

from __future__ import annotations

import gzip
import json
import multiprocessing
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from helpdesk.logs.files import Cancelled, expand
from helpdesk.logs.ranges import line_borders
from helpdesk.sendlog.offenders import Analysis, analyze
from helpdesk.sendlog.parallel import LogWorkers, read_parallel
from helpdesk.sendlog.settings import SendlogSettings
from tests.test_offenders import NOW, VICTIM, Log, _bench_module
from tests.test_sendlog import SAMPLES, sample_files


@pytest.fixture(scope="module")
def workers():
    # many small parts, so that borders fall inside bursts and between a user's messages
    pool = LogWorkers(2, parts=13, min_bytes=0)
    yield pool
    pool.stop()


def _json(report) -> str:
    return json.dumps(
        {
            "offenders": report.offenders_json(),
            "guessing": report.guessing_json(),
            "lines": report.lines,
            "unreadable": report.unreadable,
            "too_long": report.too_long,
            "covered": report.baseline_covered,
            "source": report.local_domains_source,
        },
        sort_keys=True,
    )


def _both(paths, workers, *, now, since=timedelta(hours=24)) -> tuple[str, str, bool]:
    files = expand(paths)
    single = analyze(files, SendlogSettings(), now=now, since=since)
    analysis = Analysis(SendlogSettings(), now=now, since=since)
    used = read_parallel(analysis, files, workers)
    if not used:
        analysis.read(files)
    return _json(single), _json(analysis.report()), used


@pytest.mark.parametrize("path", sample_files(), ids=lambda p: str(p.relative_to(SAMPLES)))
def test_shared_samples_give_identical_json(path, workers):
    single, parallel, _used = _both([path], workers, now=datetime(2026, 11, 27))
    assert parallel == single


def test_generated_burst_gives_identical_json_and_the_true_counts(tmp_path, workers):
    truth = _bench_module().generate(
        tmp_path / "mainlog", 3 << 20, seed=11, end=NOW, span=timedelta(days=3)
    )
    end = datetime.fromisoformat(truth["end"])
    single, parallel, used = _both([tmp_path / "mainlog"], workers, now=end)
    assert used  # the parts really went to the workers
    assert parallel == single
    top = json.loads(parallel)["offenders"][0]
    assert top["user"] == truth["victim"]
    assert (top["accepted"], top["rejected"]) == (truth["victim_accepted"], truth["victim_refused"])
    assert top["recipients"] == truth["victim_recipients"]
    assert top["auth_failures"] == truth["victim_failed_logins"]


def test_a_burst_cut_by_every_border_keeps_its_peak(tmp_path):
    log = Log()
    for d in (3, 2):  # earlier days: the usual address
        log.submit(NOW - timedelta(days=d), VICTIM, "198.51.100.7", ["kunde@web.example"])
    # failed logins before the first message of the window, in another part than the burst
    for k in range(6):
        log.failed_login(NOW - timedelta(hours=3, seconds=-k), VICTIM, "203.0.113.1")
    burst = NOW - timedelta(hours=2)
    for k in range(60):  # 60 messages in 5 minutes, then 20 more 6 minutes later
        log.submit(burst + timedelta(seconds=5 * k), VICTIM, "192.0.2.201", [f"r{k}@gmx.example"])
    for k in range(20):
        log.submit(
            burst + timedelta(minutes=11, seconds=k), VICTIM, "192.0.2.202", ["x@gmx.example"]
        )
    path = log.write(tmp_path / "mainlog")
    assert len(line_borders(path, path.stat().st_size, 40)) > 30
    for parts in (2, 7, 40):
        pool = LogWorkers(2, parts=parts, min_bytes=0)
        try:
            single, parallel, used = _both([path], pool, now=NOW)
        finally:
            pool.stop()
        assert used and parallel == single
        victim = json.loads(parallel)["offenders"][0]
        assert (victim["peak_5min"], victim["auth_failures"]) == (60, 6)


def test_a_compressed_rotation_and_the_plain_log_merge_in_order(tmp_path, workers):
    truth = _bench_module().generate(
        tmp_path / "whole", 2 << 20, seed=12, end=NOW, span=timedelta(days=3)
    )
    data = (tmp_path / "whole").read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 1
    with gzip.open(tmp_path / "mainlog.1.gz", "wb") as f:
        f.write(data[:cut])
    (tmp_path / "mainlog").write_bytes(data[cut:])
    end = datetime.fromisoformat(truth["end"])
    single, parallel, used = _both(
        [tmp_path / "mainlog.1.gz", tmp_path / "mainlog"], workers, now=end
    )
    assert used and parallel == single
    whole, _, _ = _both([tmp_path / "whole"], workers, now=end)
    assert json.loads(parallel)["offenders"] == json.loads(whole)["offenders"]


def test_cancelling_a_parallel_read_leaves_no_worker(tmp_path):
    path = tmp_path / "mainlog"
    _bench_module().generate(path, 4 << 20, seed=13, end=NOW, span=timedelta(days=3))
    pool = LogWorkers(2, parts=4, min_bytes=0)
    seen: list[int] = []

    def cancelled() -> bool:
        seen.extend(pool.pids())
        return bool(seen)  # as soon as the workers run

    analysis = Analysis(SendlogSettings(), now=NOW)
    with pytest.raises(Cancelled):
        analysis.read(expand([path]), workers=pool, cancelled=cancelled)
    assert seen
    assert pool.pids() == []
    alive = {p.pid for p in multiprocessing.active_children()}
    assert not alive & set(seen)
    # the next read starts new workers and gives the full answer
    analysis = Analysis(SendlogSettings(), now=NOW)
    analysis.read(expand([path]), workers=pool)
    pool.stop()
    assert analysis.report().lines == len(path.read_bytes().splitlines())


def test_a_log_without_recipients_on_arrivals_is_read_by_one_process(tmp_path, workers):
    log = Log()
    for k in range(30):
        log.submit(
            NOW - timedelta(hours=1, minutes=k), VICTIM, "198.51.100.7",
            ["p@web.example", "q@gmx.example"], for_=False,
        )  # fmt: skip
    path = log.write(tmp_path / "mainlog")
    single, parallel, used = _both([path], workers, now=NOW)
    assert not used and parallel == single
    assert json.loads(single)["offenders"][0]["recipients"] == 60


def test_borders_fall_at_line_starts(tmp_path):
    path = tmp_path / "log"
    path.write_bytes(b"a\n" + b"x" * 5000 + b"\nb\nc")
    ranges = line_borders(path, path.stat().st_size, 8)
    data = path.read_bytes()
    assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
    assert all(a == 0 or data[a - 1 : a] == b"\n" for a, _ in ranges)
    assert b"".join(data[a:b] for a, b in ranges) == data


def test_workers_start_with_spawn():
    assert LogWorkers(1)._ctx.get_start_method() == "spawn"


def test_quitting_the_process_ends_its_workers(tmp_path):
    # the TUI keeps its workers for the session: quitting (Ctrl+Q ends the process) ends them
    import os
    import subprocess
    import sys

    script = tmp_path / "keep.py"
    script.write_text(
        "from helpdesk.sendlog.parallel import LogWorkers\n"
        "if __name__ == '__main__':\n"
        "    w = LogWorkers(2)\n"
        "    w._ensure()\n"
        "    print(' '.join(map(str, w.pids())))\n"
    )
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert len(out) == 2
    for pid in map(int, out):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        # a zombie of another parent would still answer: it must at least not run
        stat = Path(f"/proc/{pid}/stat").read_text()
        state = stat.rsplit(")", 1)[1].split()[0]
        assert state in ("Z", "X")


def test_the_command_reads_parts_itself_with_the_same_json_and_leaves_no_worker(tmp_path):
    # keep=False (the CLI): this process reads parts too, next to one worker process
    truth = _bench_module().generate(
        tmp_path / "mainlog", 3 << 20, seed=14, end=NOW, span=timedelta(days=3)
    )
    end = datetime.fromisoformat(truth["end"])
    pool = LogWorkers(1, parts=9, min_bytes=0, keep=False)
    assert pool.local and pool.processes == 1
    files = expand([tmp_path / "mainlog"])
    single = analyze(files, SendlogSettings(), now=end)
    analysis = Analysis(SendlogSettings(), now=end)
    assert read_parallel(analysis, files, pool)
    parallel = analysis.report()
    assert _json(parallel) == _json(single)
    assert parallel.users[0].recipients == truth["victim_recipients"]
    # the messages per 5 minutes (the screen's sparkline) too
    buckets = {u.user: dict(u.buckets.items()) for u in single.users}
    assert {u.user: dict(u.buckets.items()) for u in parallel.users} == buckets
    assert pool.pids() == []  # ended as soon as no part was left


def test_cancelling_while_this_process_reads_a_part_leaves_no_worker(tmp_path):
    path = tmp_path / "mainlog"
    _bench_module().generate(path, 4 << 20, seed=15, end=NOW, span=timedelta(days=3))
    pool = LogWorkers(1, parts=4, min_bytes=0, keep=False)
    seen: list[int] = []

    def cancelled() -> bool:
        seen.extend(pool.pids())
        return len(seen) > 3  # a few chunks into this process's own part

    with pytest.raises(Cancelled):
        Analysis(SendlogSettings(), now=NOW).read(expand([path]), workers=pool, cancelled=cancelled)
    assert seen and pool.pids() == []
    assert not {p.pid for p in multiprocessing.active_children()} & set(seen)


def test_the_command_reads_alone_when_every_core_is_busy(tmp_path, monkeypatch):
    from helpdesk.sendlog import parallel

    monkeypatch.setattr(parallel, "worker_count", lambda: 2)
    monkeypatch.setattr(parallel, "busy_cores", lambda: 0)
    assert LogWorkers(keep=False).processes == 1  # a core is idle: one worker beside
    assert LogWorkers().processes == 2  # the TUI's reader thread only waits
    monkeypatch.setattr(parallel, "busy_cores", lambda: 1)
    assert LogWorkers(keep=False).processes == 0
    monkeypatch.setattr(parallel, "busy_cores", lambda: 2)
    pool = LogWorkers(keep=False, min_bytes=0)
    assert pool.processes == 0
    path = Log()
    path.submit(NOW - timedelta(hours=1), VICTIM, "192.0.2.1", ["a@web.example"])
    files = expand([path.write(tmp_path / "mainlog")])
    analysis = Analysis(SendlogSettings(), now=NOW)
    assert not read_parallel(analysis, files, pool)  # read by the caller alone
    analysis.read(files, workers=pool)
    assert analysis.report().users[0].accepted == 1 and pool.pids() == []


def test_busy_cores_counts_the_processes_that_want_a_core_now():
    """Now, not the minute's load average: two processes burning a core each are seen at once,
    and counted while they run (other work on the machine can only add to them)."""
    import subprocess
    import sys
    import time

    from helpdesk.sendlog.parallel import busy_cores

    burn = [sys.executable, "-c", "while True: pass"]
    procs = [subprocess.Popen(burn) for _ in range(2)]
    try:
        time.sleep(0.3)
        assert busy_cores() >= 2
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def test_an_address_that_tries_more_than_a_thousand_names_is_counted_as_by_one_process(
    tmp_path, workers
):
    # the first 1,000 names an address tries are its names; every later failure with another
    # name counts as one more: the parts must agree on which names came first
    log = Log()
    start = NOW - timedelta(hours=20)
    for k in range(3000):
        t = start + timedelta(seconds=20 * k)
        name = f"u{(k * 7) % 1700}@gartenbau.example"  # names come back, in a changing order
        log.failed_login(t, name, "203.0.113.9")
        if k % 5 == 0:
            log.failed_login(t, f"x{k}@gartenbau.example", "203.0.113.10")
        if k % 50 == 0:
            log.submit(t, VICTIM, "192.0.2.1", ["a@web.example"])
    files = expand([log.write(tmp_path / "mainlog")])
    single = analyze(files, SendlogSettings(), now=NOW)
    analysis = Analysis(SendlogSettings(), now=NOW)
    assert read_parallel(analysis, files, workers)
    parallel = analysis.report()
    assert _json(parallel) == _json(single)
    names = {g.ip: (g.users, g.more_users) for g in single.guessers}
    assert {g.ip: (g.users, g.more_users) for g in parallel.guessers} == names
    top = single.guessing_json()[0]
    assert (top["ip"], top["failures"], top["users"]) == ("203.0.113.9", 3000, 2000)


def test_several_compressed_files_are_read_one_per_process_with_identical_json(tmp_path):
    """A compressed file cannot be cut: each is one part, and the parts go to the workers
    side by side (a single compressed file stays one process)."""
    from helpdesk.sendlog import parallel

    truth = _bench_module().generate(
        tmp_path / "whole", 3 << 20, seed=13, end=NOW, span=timedelta(days=4)
    )
    data = (tmp_path / "whole").read_bytes()
    paths, at = [], 0
    for k in range(4):
        end_at = len(data) if k == 3 else data.index(b"\n", len(data) * (k + 1) // 4) + 1
        path = tmp_path / f"mainlog.{4 - k}.gz"
        with gzip.open(path, "wb") as f:
            f.write(data[at:end_at])
        paths.append(path)
        at = end_at
    files = expand(paths)
    parts, _sizes = parallel.plan(files, 13, 0)
    assert [(p[0].path, p[2]) for p in parts] == [(f.path, None) for f in files]
    end = datetime.fromisoformat(truth["end"])
    pool = LogWorkers(2, parts=13, min_bytes=1 << 20)
    seen: list[int] = []
    real_run = pool.run

    def run(tasks, sizes, **kwargs):
        seen.append(len(tasks))
        return real_run(tasks, sizes, **kwargs)

    pool.run = run
    try:
        for since in (timedelta(hours=24), timedelta(days=3)):
            single, both, used = _both(paths, pool, now=end, since=since)
            assert used and both == single
            assert json.loads(both)["offenders"]
        assert seen == [4, 4]  # one part per file, read by two processes
        single, both, used = _both(paths[:1], pool, now=end)
        assert not used and both == single  # one compressed file: one process
    finally:
        pool.stop()
