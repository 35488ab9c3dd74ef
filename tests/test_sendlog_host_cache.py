"""Host-labelled logs in the cache: a rotated file's picked lines are kept and replayed into
the merge of all hosts, with the same JSON as a read without the cache
(helpdesk/sendlog/host_cache.py)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from helpdesk.sendlog.cache import SendlogCache
from helpdesk.sendlog.host_files import host_files
from helpdesk.sendlog.offenders import Analysis
from helpdesk.sendlog.settings import SendlogSettings
from tests.test_offenders import NOW, _bench_module
from tests.test_sendlog_cache import _rotate
from tests.test_sendlog_parallel import _json


@pytest.fixture(autouse=True)
def reader_in_utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="module")
def hosts(tmp_path_factory) -> tuple[Path, datetime]:
    """Two hosts, each a rotated file and a live one, mx1 on Berlin time, mx2 on UTC."""
    folder = tmp_path_factory.mktemp("hosts")
    ends = []
    for seed, host in ((31, "mx1"), (32, "mx2")):
        truth = _bench_module().generate(
            folder / f"{host}-whole", 1 << 20, seed=seed, end=NOW, span=timedelta(days=3)
        )
        ends.append(datetime.fromisoformat(truth["end"]))
        (folder / host).mkdir()
        _rotate((folder / f"{host}-whole").read_bytes(), folder / host, ("mainlog.1", "mainlog"))
    return folder, max(ends)


def _settings(folder: Path) -> SendlogSettings:
    return SendlogSettings.from_dict(
        {
            "hosts": [
                {
                    "name": "mx1",
                    "paths": [str(folder / "mx1/mainlog*")],
                    "timezone": "Europe/Berlin",
                },
                {"name": "mx2", "paths": [str(folder / "mx2/mainlog*")], "timezone": "UTC"},
            ]
        }
    )


def _read(folder: Path, *, now: datetime, since: timedelta, cache=None) -> str:
    settings = _settings(folder)
    analysis = Analysis(settings, now=now, since=since)
    analysis.cache = cache
    analysis.read(host_files(settings))
    return _json(analysis.report())


def test_two_hosts_give_identical_json_from_the_cache(hosts, tmp_path):
    folder, end = hosts
    cache = SendlogCache(tmp_path / "cache")
    for since in (timedelta(hours=24), timedelta(hours=50), timedelta(hours=3, minutes=7)):
        plain = _read(folder, now=end, since=since)
        assert '"mx1"' in plain and '"mx2"' in plain  # lines of both hosts ranked
        assert _read(folder, now=end, since=since, cache=cache) == plain
        assert _read(folder, now=end, since=since, cache=cache) == plain
        assert cache.hits == 2 and cache.read_files == 2  # the live files only
        fresh = SendlogCache(tmp_path / "cache")  # from disk, as the next command
        assert _read(folder, now=end, since=since, cache=fresh) == plain
        assert fresh.hits == 2


def test_a_changed_rotated_file_of_a_host_is_read_again(hosts, tmp_path):
    folder, end = hosts
    copy = tmp_path / "logs"
    for host in ("mx1", "mx2"):
        (copy / host).mkdir(parents=True)
        for name in ("mainlog.1", "mainlog"):
            (copy / host / name).write_bytes((folder / host / name).read_bytes())
    cache = SendlogCache(tmp_path / "cache")
    since = timedelta(hours=50)
    _read(copy, now=end, since=since, cache=cache)
    rotated = copy / "mx2" / "mainlog.1"
    data = rotated.read_bytes()
    at = data.index(b" A=", len(data) // 2)
    start = data.rindex(b"\n", 0, at) + 1
    rotated.write_bytes(data[:start] + data[data.index(b"\n", at) + 1 :])  # a line less
    plain = _read(copy, now=end, since=since)
    assert _read(copy, now=end, since=since, cache=cache) == plain
    assert cache.hits == 1 and cache.read_files == 3
