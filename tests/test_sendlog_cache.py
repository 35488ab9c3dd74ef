"""The per-file cache of the offender analysis: the same JSON as a read without it, and a
changed file is read again (helpdesk/sendlog/cache.py)."""

from __future__ import annotations

import gzip
import json
import os
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from helpdesk.logs.files import expand, first_time
from helpdesk.sendlog.cache import SendlogCache, default_cache
from helpdesk.sendlog.offenders import Analysis
from helpdesk.sendlog.parallel import LogWorkers
from helpdesk.sendlog.settings import SendlogSettings
from tests.conftest import run_cli
from tests.test_offenders import NOW, _bench_module
from tests.test_sendlog import SAMPLES, sample_files
from tests.test_sendlog_cli import NO_CONFIG
from tests.test_sendlog_parallel import _json

ROTATED = ("mainlog.4.gz", "mainlog.3.gz", "mainlog.2", "mainlog.1", "mainlog")


def _read(paths, *, now, since, cache=None, workers=None) -> str:
    analysis = Analysis(SendlogSettings(), now=now, since=since)
    analysis.cache = cache
    analysis.read(expand(paths), workers=workers)
    return _json(analysis.report())


def _rotate(data: bytes, folder: Path, names=ROTATED) -> list[Path]:
    """The log cut at line starts into len(names) files, oldest first; .gz ones compressed."""
    paths, at = [], 0
    for k, name in enumerate(names):
        end = (
            len(data)
            if k == len(names) - 1
            else data.index(b"\n", len(data) * (k + 1) // len(names)) + 1
        )
        part = data[at:end]
        at = end
        path = folder / name
        if name.endswith(".gz"):
            with gzip.open(path, "wb") as f:
                f.write(part)
        else:
            path.write_bytes(part)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def rotated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rotated")
    truth = _bench_module().generate(
        folder / "whole", 3 << 20, seed=21, end=NOW, span=timedelta(days=12)
    )
    paths = _rotate((folder / "whole").read_bytes(), folder)
    return paths, datetime.fromisoformat(truth["end"])


def _windows(paths, end) -> list[timedelta]:
    """A window starting inside each file, one starting before all, and the default."""
    sinces = [timedelta(hours=24), timedelta(days=40)]
    for p in paths:
        sinces.append(end - first_time(p) - timedelta(hours=1))
    return sinces


def test_rotated_log_gives_identical_json_with_windows_starting_in_each_file(rotated, tmp_path):
    paths, end = rotated
    cache = SendlogCache(tmp_path / "cache")
    hits = 0
    for since in _windows(paths, end):
        plain = _read(paths, now=end, since=since)
        assert _read(paths, now=end, since=since, cache=cache) == plain  # cold or partly warm
        assert _read(paths, now=end, since=since, cache=cache) == plain  # warm
        hits += cache.hits
        # from disk alone, as the next command does
        assert _read(paths, now=end, since=since, cache=SendlogCache(tmp_path / "cache")) == plain
    assert hits >= 10


def test_the_parallel_read_with_the_cache_gives_identical_json(rotated, tmp_path):
    paths, end = rotated
    pool = LogWorkers(2, parts=7, min_bytes=0)
    try:
        cache = SendlogCache(tmp_path / "cache")
        for since in _windows(paths, end)[:4]:
            plain = _read(paths, now=end, since=since)
            assert _read(paths, now=end, since=since, cache=cache, workers=pool) == plain
            assert _read(paths, now=end, since=since, cache=cache, workers=pool) == plain
    finally:
        pool.stop()


@pytest.mark.parametrize("path", sample_files(), ids=lambda p: str(p.relative_to(SAMPLES)))
def test_shared_samples_cut_in_two_give_identical_json(path, tmp_path):
    paths = _rotate(path.read_bytes(), tmp_path, ("mainlog.1", "mainlog"))
    now = datetime(2026, 11, 27)
    cache = SendlogCache(tmp_path / "cache")
    for since in (timedelta(hours=24), timedelta(days=3650), timedelta(days=20000)):
        plain = _read(paths, now=now, since=since)
        assert _read(paths, now=now, since=since, cache=cache) == plain
        assert _read(paths, now=now, since=since, cache=cache) == plain


def _two_files(tmp_path) -> tuple[list[Path], datetime]:
    truth = _bench_module().generate(
        tmp_path / "whole", 1 << 20, seed=22, end=NOW, span=timedelta(days=4)
    )
    paths = _rotate((tmp_path / "whole").read_bytes(), tmp_path, ("mainlog.1", "mainlog"))
    return paths, datetime.fromisoformat(truth["end"])


SINCE = timedelta(days=30)  # the rotated file lies wholly in the window


def _warm(paths, end, cache) -> str:
    first = _read(paths, now=end, since=SINCE, cache=cache)
    assert _read(paths, now=end, since=SINCE, cache=cache) == first
    assert cache.hits == 1 and cache.read_files == 1  # only the live file was read
    return first


def _middle_line(path: Path) -> tuple[int, bytes]:
    data = path.read_bytes()
    at = data.index(b" A=", len(data) // 2)
    start = data.rindex(b"\n", 0, at) + 1
    return start, data[start : data.index(b"\n", at)]


def test_an_unchanged_rotated_file_is_not_read_again(tmp_path):
    paths, end = _two_files(tmp_path)
    cache = SendlogCache(tmp_path / "cache")
    before = _warm(paths, end, cache)
    # the middle of the file changed, size, mtime and the first and last 4 KiB kept: the
    # cache, which did not read the file, still gives the old result
    rotated = paths[0]
    st = rotated.stat()
    start, line = _middle_line(rotated)
    with open(rotated, "r+b") as f:
        f.seek(start)
        f.write(b"x" * len(line))
    os.utime(rotated, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert _read(paths, now=end, since=SINCE) != before  # the change matters
    assert _read(paths, now=end, since=SINCE, cache=cache) == before
    assert cache.hits == 1


def test_a_cancelled_read_ranks_the_cached_files(tmp_path):
    """`c` on F6 while the live file is read: as without the cache, what was read so far is
    ranked, here the rotated file from the cache."""
    from helpdesk.logs.files import Cancelled

    paths, end = _two_files(tmp_path)
    cache = SendlogCache(tmp_path / "cache")
    _warm(paths, end, cache)
    alone = Analysis(SendlogSettings(), now=end, since=SINCE)
    alone.read(expand(paths[:1]))
    analysis = Analysis(SendlogSettings(), now=end, since=SINCE)
    analysis.cache = cache
    with pytest.raises(Cancelled):
        analysis.read(expand(paths), cancelled=lambda: True)
    assert cache.hits == 1
    ranked = analysis.report().offenders_json()
    assert ranked and ranked == alone.report().offenders_json()


def _grow(path: Path) -> None:
    with open(path, "ab") as f:
        f.write(path.read_bytes()[-2000:].split(b"\n", 1)[1])


def _replace(path: Path) -> None:
    data = path.read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 1
    path.unlink()
    path.write_bytes(data[:cut])  # a new inode, and less in it


def _same_size_new_content(path: Path, *, keep_mtime: bool, where: str) -> None:
    st = path.stat()
    data = bytearray(path.read_bytes())
    # a line the ranking counts, in the first or the last 4 KiB
    at = data.index(b" A=") if where == "head" else data.rindex(b" A=")
    line_start = data.rindex(b"\n", 0, at) + 1
    line_end = data.index(b"\n", at)
    data[line_start:line_end] = b"#" * (line_end - line_start)
    with open(path, "r+b") as f:  # in place: same inode, same size
        f.write(data)
    if keep_mtime:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    else:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


@pytest.mark.parametrize(
    "change",
    [
        _grow,
        _replace,
        lambda p: _same_size_new_content(p, keep_mtime=False, where="head"),
        lambda p: _same_size_new_content(p, keep_mtime=True, where="head"),
        lambda p: _same_size_new_content(p, keep_mtime=True, where="tail"),
    ],
    ids=[
        "grows",
        "replaced",
        "same-size-new-mtime",
        "same-size-same-mtime-head",
        "same-mtime-tail",
    ],
)
def test_a_changed_rotated_file_is_read_again(tmp_path, change):
    paths, end = _two_files(tmp_path)
    cache = SendlogCache(tmp_path / "cache")
    before = _warm(paths, end, cache)
    change(paths[0])
    plain = _read(paths, now=end, since=SINCE)
    assert plain != before
    assert _read(paths, now=end, since=SINCE, cache=cache) == plain
    assert cache.hits == 0 and cache.read_files == 2


def test_the_cache_on_disk_is_private(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    paths, end = _two_files(tmp_path)
    cache = default_cache()
    assert cache.disk == tmp_path / "xdg" / "helpdesk" / "sendlog"
    _read(paths, now=end, since=SINCE, cache=cache)
    entries = list(cache.disk.iterdir())
    assert entries
    assert stat.S_IMODE(cache.disk.stat().st_mode) == 0o700
    for p in entries:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
        assert not p.name.startswith(".tmp")


@pytest.mark.parametrize("garbage", [b"", b"not a pickle", b"\x80\x05K\x07.", b"cos\nsystem\n."])
def test_a_corrupt_cache_file_gives_the_result_of_no_cache(tmp_path, garbage, capsys):
    paths, end = _two_files(tmp_path)
    plain = _read(paths, now=end, since=SINCE)
    _read(paths, now=end, since=SINCE, cache=SendlogCache(tmp_path / "cache"))
    for p in (tmp_path / "cache").iterdir():
        p.write_bytes(garbage)
    cache = SendlogCache(tmp_path / "cache")
    assert _read(paths, now=end, since=SINCE, cache=cache) == plain
    assert cache.hits == 0
    assert capsys.readouterr().err == ""


def test_the_command_keeps_the_cache_on_disk_unless_told_not_to(tmp_path):
    truth = _bench_module().generate(tmp_path / "whole", 1 << 20, seed=23, span=timedelta(days=4))
    assert truth["end"]
    paths = _rotate((tmp_path / "whole").read_bytes(), tmp_path, ("mainlog.1", "mainlog"))
    args = ("offenders", "--log", str(paths[0]), "--log", str(paths[1]), "--since", "30d")

    def run(*more: str, config: Path | None = None, xdg: str = "xdg") -> tuple[list, Path]:
        env = {**NO_CONFIG, "XDG_CACHE_HOME": str(tmp_path / xdg)}
        out = run_cli(*args, "--json", *more, env=env, config=config)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout), tmp_path / xdg / "helpdesk" / "sendlog"

    plain, folder = run("--no-cache")
    assert not folder.exists()
    cold, folder = run()
    entry = min((p for p in folder.iterdir()), key=lambda p: len(p.name)).name
    assert {p.name.split(".")[0] for p in folder.iterdir()} == {entry}  # the rotated file only
    warm, _ = run()
    assert plain and cold == warm == plain
    config = tmp_path / "helpdesk.toml"
    config.write_text("[sendlog]\ncache = false\n")
    _off, folder = run(config=config, xdg="other")
    assert not folder.exists()


@pytest.mark.tui
async def test_f6_twice_in_the_tui_reads_the_rotated_file_once(tmp_path, monkeypatch):
    from helpdesk.mailcenter.db import Database
    from helpdesk.sendlog import offenders, parallel
    from screens import sendlog_jobs
    from screens.sendlog import SendLogScreen
    from tests.test_sendlog_tui import VICTIM as TUI_VICTIM
    from tests.test_sendlog_tui import make_app, seed, settle, users_in, write_log

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(sendlog_jobs, "_cache", [])
    now = datetime.now().replace(microsecond=0)
    write_log(tmp_path / "whole", now)
    lines = (tmp_path / "whole").read_bytes().splitlines(keepends=True)
    day_ago = (now - timedelta(hours=25)).strftime("%Y-%m-%d %H:%M:%S").encode()
    old = [line for line in lines if line[:19] < day_ago]
    assert old  # the account's usual address, two days ago: the baseline
    (tmp_path / "mainlog.1").write_bytes(b"".join(old))
    (tmp_path / "mainlog").write_bytes(b"".join(lines[len(old) :]))

    reads: list[str] = []
    for module in (offenders, parallel):
        real = module.chunks

        def counted(files, *args, real=real, **kwargs):
            reads.extend(Path(f.path).name for f in files)
            return real(files, *args, **kwargs)

        monkeypatch.setattr(module, "chunks", counted)
    real_range = parallel.range_chunks

    def counted_range(lf, *args, **kwargs):
        reads.append(Path(lf.path).name)
        return real_range(lf, *args, **kwargs)

    monkeypatch.setattr(parallel, "range_chunks", counted_range)

    database = Database(f"sqlite:///{tmp_path / 'mailcenter.sqlite'}")
    database.create_schema()
    seed(database)
    app = make_app(database, tmp_path / "mainlog*")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            first: list[str] = []
            for k in range(2):
                await settle(app, pilot)
                await pilot.press("f6")
                await settle(app, pilot, 0.5)
                assert isinstance(app.screen, SendLogScreen)
                assert users_in(app.screen)[0] == TUI_VICTIM
                if k == 0:
                    first = list(reads)
                await pilot.press("escape")
            await settle(app, pilot)
    finally:
        database.dispose()
    assert "mainlog.1" in first
    assert reads.count("mainlog.1") == first.count("mainlog.1")  # not read by the second F6
    assert reads.count("mainlog") > first.count("mainlog")  # the live file read again


def test_a_rotated_file_out_of_time_order_is_not_taken_for_one_zone(tmp_path):
    """Logs gathered from elsewhere may hold a line far older than the first and the last:
    the file is cut by the window's edge, not wholly in the window."""
    from tests.test_offenders import VICTIM, Log

    log = Log()
    log.submit(NOW - timedelta(hours=10), VICTIM, "198.51.100.7", ["a@web.example"])
    log.submit(NOW - timedelta(hours=30), VICTIM, "192.0.2.99", ["b@web.example"])
    log.submit(NOW - timedelta(hours=5), VICTIM, "198.51.100.7", ["c@web.example"])
    rotated = tmp_path / "mainlog.1"
    rotated.write_text("\n".join(text for _t, text in log.lines) + "\n")  # in written order
    live = Log()
    live.submit(NOW - timedelta(hours=1), VICTIM, "198.51.100.7", ["d@web.example"])
    live.write(tmp_path / "mainlog")
    paths = [rotated, tmp_path / "mainlog"]
    cache = SendlogCache(tmp_path / "cache")
    for hours in (24, 48, 24, 48):
        since = timedelta(hours=hours)
        assert _read(paths, now=NOW, since=since, cache=cache) == _read(paths, now=NOW, since=since)


def _daily(folder: Path, end: datetime) -> list[Path]:
    """A 3-day log rotated each day at 06:25 as logrotate leaves it (mainlog.2.gz, mainlog.1,
    mainlog), read at 14:02:37: the 24-hour window starts inside mainlog.1."""
    data = (folder / "whole").read_bytes()
    ago = (timedelta(hours=31, minutes=37), timedelta(hours=7, minutes=37))
    cuts = [(end - t).strftime("%Y-%m-%d %H:%M:%S").encode() for t in ago]
    lines = data.splitlines(keepends=True)
    out: list[list[bytes]] = [[], [], []]
    k = 0
    for line in lines:
        while k < 2 and line[:19] >= cuts[k]:
            k += 1
        out[k].append(line)
    paths = [folder / "mainlog.2.gz", folder / "mainlog.1", folder / "mainlog"]
    with gzip.open(paths[0], "wb") as f:
        f.write(b"".join(out[0]))
    for path, part in zip(paths[1:], out[1:], strict=True):
        path.write_bytes(b"".join(part))
    return paths


@pytest.fixture(scope="module")
def daily(tmp_path_factory):
    folder = tmp_path_factory.mktemp("daily")
    end = NOW.replace(hour=14, minute=2, second=37)
    truth = _bench_module().generate(folder / "whole", 4 << 20, seed=24, end=end)
    return _daily(folder, datetime.fromisoformat(truth["end"])), datetime.fromisoformat(
        truth["end"]
    )


def test_a_second_read_with_since_24h_reads_no_rotated_file_again(daily, tmp_path):
    """Daily rotation, `--since 24h`: the window's edge falls inside yesterday's file. A
    second F6 takes both rotated files from the cache but for the 5-minute segment the edge
    falls inside (and those the window moved over meanwhile)."""
    paths, end = daily
    one_day = timedelta(hours=24)
    cache = SendlogCache(tmp_path / "cache")
    assert _read(paths, now=end, since=one_day, cache=cache) == _read(paths, now=end, since=one_day)
    assert cache.read_files == 3 and cache.hits == 0
    size = paths[1].stat().st_size
    rereads: list[int] = []
    for later in (timedelta(0), timedelta(seconds=40), timedelta(minutes=7)):
        now = end + later
        plain = _read(paths, now=now, since=one_day)
        assert _read(paths, now=now, since=one_day, cache=cache) == plain
        # mainlog.2.gz and mainlog.1 from the cache, but for the segments of mainlog.1 a
        # moved edge falls inside (none when its lines all lie on one side of it)
        assert cache.hits + cache.read_files == 3
        assert cache.reread_bytes < size // 40, (later, cache.reread_bytes, size)
        rereads.append(cache.reread_bytes)
    assert any(rereads)  # the edge cut a segment, which was read again
    # a window whose edge falls on a 5-minute boundary reads no rotated byte
    now = end.replace(second=0, minute=5)
    plain = _read(paths, now=now, since=one_day)
    assert _read(paths, now=now, since=one_day, cache=cache) == plain
    assert _read(paths, now=now, since=one_day, cache=cache) == plain
    assert cache.hits == 2 and cache.read_files == 1 and cache.reread_bytes == 0


def test_windows_starting_inside_a_file_give_identical_json_from_a_warm_cache(daily, tmp_path):
    """Edges at every kind of place inside the rotated files (on a 5-minute boundary, a
    second after one, in the middle of one), the cache warmed by other windows first."""
    paths, end = daily
    cache = SendlogCache(tmp_path / "cache")
    sinces = [
        timedelta(hours=h, minutes=m, seconds=s)
        for h in (20, 44)
        for m, s in ((0, 0), (2, 37), (3, 38), (7, 0))
    ]
    for since in sinces:
        plain = _read(paths, now=end, since=since)
        assert _read(paths, now=end, since=since, cache=cache) == plain
    for since in reversed(sinces):  # warm, each window's segments kept by the others
        plain = _read(paths, now=end, since=since)
        assert _read(paths, now=end, since=since, cache=cache) == plain
        assert cache.reread_bytes < sum(p.stat().st_size for p in paths[1:]) // 20


def test_the_segments_of_a_file_out_of_order_still_give_the_same_json(daily, tmp_path):
    """Lines written a little late sit in the segment they were written in: a window edge
    between their time and their neighbours' still gives the one-pass result."""
    paths, end = daily
    lines = paths[1].read_bytes().splitlines(keepends=True)
    # every 50th line swapped with the one 30 lines later: times out of order by minutes
    for i in range(0, len(lines) - 31, 50):
        lines[i], lines[i + 30] = lines[i + 30], lines[i]
    shuffled = [paths[0], tmp_path / "mainlog.1", paths[2]]
    shuffled[1].write_bytes(b"".join(lines))
    cache = SendlogCache(tmp_path / "cache")
    for since in (timedelta(hours=24), timedelta(hours=24, minutes=1), timedelta(hours=30)):
        plain = _read(shuffled, now=end, since=since)
        assert _read(shuffled, now=end, since=since, cache=cache) == plain
        assert _read(shuffled, now=end, since=since, cache=cache) == plain
