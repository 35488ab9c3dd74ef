"""The first read of a rotated set, which fills the cache, holds a bounded part of the log.

Before, the command's worker read the compressed day whole while this process read every
later part ahead and held each answer, and the day came back as one list of 288 segment
scans: a 300 MB set took 247 MiB (bench/sendlog.py). Now this process reads a compressed
first file itself and folds its segments as they are read, and no part is started while as
many parts as there are readers, and one more, are started and not yet taken; and a part
read in segments holds each finished segment pickled (a window's edge inside the rotated day
took the set to 152 MiB before: its parts' segments as objects, in the worker and here).
"""

from __future__ import annotations

import tracemalloc
from datetime import datetime, timedelta

import pytest

from helpdesk.logs.files import LogFile
from helpdesk.sendlog import parallel
from helpdesk.sendlog.cache import SendlogCache
from helpdesk.sendlog.parallel import LogWorkers
from helpdesk.sendlog.segments import PackedScan
from tests.test_offenders import NOW, _bench_module
from tests.test_sendlog_cache import _read, _rotate


@pytest.fixture(scope="module")
def rotated_day(tmp_path_factory):
    """18 MB over three days: a compressed day, a rotated day and the live file."""
    folder = tmp_path_factory.mktemp("rotated_day")
    truth = _bench_module().generate(
        folder / "whole", 18 << 20, seed=23, end=NOW, span=timedelta(days=3)
    )
    names = ("mainlog.2.gz", "mainlog.1", "mainlog")
    paths = _rotate((folder / "whole").read_bytes(), folder, names=names)
    return paths, datetime.fromisoformat(truth["end"])


def test_a_compressed_first_day_is_read_here_and_folded_as_read(rotated_day, tmp_path, monkeypatch):
    paths, end = rotated_day
    here: list[tuple[int, bool]] = []  # (part, read with its segments folded as read)
    real_work = parallel._work

    def work(task, progress, cancelled=None, emit=None):
        here.append((task[0], emit is not None))
        return real_work(task, progress, cancelled, emit)

    monkeypatch.setattr(parallel, "_work", work)  # this process only: the worker has its own
    since = timedelta(hours=30)
    plain = _read(paths, now=end, since=since)
    pool = LogWorkers(1, parts=25, min_bytes=0, keep=False)  # reads parts here too
    cache = SendlogCache(tmp_path / "cache")
    try:
        assert _read(paths, now=end, since=since, cache=cache, workers=pool) == plain
        assert here[0] == (0, True)  # the compressed day: here, folded as read
        assert _read(paths, now=end, since=since, cache=cache, workers=pool) == plain  # warm
    finally:
        pool.stop()


def test_while_one_worker_reads_the_compressed_day_the_other_reads_only_two_parts_ahead(
    rotated_day, tmp_path
):
    """The TUI's workers: one takes the compressed day; the other stops two parts ahead of
    it instead of reading (and handing back) the whole rest of the log."""
    paths, end = rotated_day
    since = timedelta(hours=30)
    plain = _read(paths, now=end, since=since)
    pool = LogWorkers(2, parts=25, min_bytes=0)
    try:
        got = _read(paths, now=end, since=since, cache=SendlogCache(tmp_path / "c"), workers=pool)
        assert got == plain
        assert pool.ahead_seen <= 3, pool.ahead_seen  # 2 readers and one more
    finally:
        pool.stop()


def test_a_part_read_in_segments_holds_each_finished_segment_pickled(rotated_day):
    """The rotated day with the window's edge 6 hours before its end, as a worker reads it
    (its answer) and as this process reads it when folding as it goes (each segment handed
    on as read): the answer holds a third of the memory at most, and the same segments."""
    paths, end = rotated_day
    lf = LogFile(paths[1], paths[1].stat().st_size)
    start = end - timedelta(hours=30)
    task = (0, lf, 0, lf.size, start, start - timedelta(days=7), True, end, "segments")

    tracemalloc.start()
    try:
        answer, _state = parallel._work(task, lambda _d: None)
        held = tracemalloc.get_traced_memory()[0]
        del _state
        as_read: list[tuple] = []
        parallel._work(task, lambda _d: None, None, as_read.append)
        held_as_read = tracemalloc.get_traced_memory()[0] - held
    finally:
        tracemalloc.stop()
    assert [type(seg[2]) for seg in answer] == [PackedScan] * len(answer)
    assert held * 3 < held_as_read, (held, held_as_read)
    assert [seg[:2] for seg in answer] == [seg[:2] for seg in as_read]
    unpacked = [seg[2].unpack() for seg in answer]
    assert [s.lines for s in unpacked] == [seg[2].lines for seg in as_read]
    assert [sorted(s.users) for s in unpacked] == [sorted(seg[2].users) for seg in as_read]
    window = [s for s in unpacked if s.users]
    assert window and any(sum(u.accepted for u in s.users.values()) for s in window)
