"""The fast reading of a chunk (helpdesk/sendlog/picking.py read_chunk) against the plain one
it replaces: pick every needed line first, or read the whole chunk line by line when one
arrival has no `for`. Both must give the same ranking, whatever the lines and wherever the
chunks end."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest

from helpdesk.logs import files as logfiles
from helpdesk.logs.files import expand
from helpdesk.sendlog import offenders
from helpdesk.sendlog.offenders import Analysis
from helpdesk.sendlog.picking import pick, read_chunk
from helpdesk.sendlog.settings import SendlogSettings
from tests.test_offenders import NOW, VICTIM, Log
from tests.test_sendlog_parallel import _json

USERS = [VICTIM, "anna@gartenbau.example", "bernd@web.example", "Carla@Gartenbau.example"]


def _plain_way(scan, data: bytes) -> None:
    picked = pick(data)
    if picked is None:
        scan.feed(data.split(b"\n"))
        return
    scan.feed(picked)
    scan.lines += data.count(b"\n") + 1 - len(picked)


def _mixed_log(seed: int) -> Log:
    """Submissions in every form the reader meets, failed logins, refusals and broken lines,
    over ten days (before the baseline, in it, in the window)."""
    rng = random.Random(seed)
    log = Log()
    for k in range(700):
        t = NOW - timedelta(days=10) + timedelta(minutes=20 * k + rng.randint(0, 19))
        user = rng.choice(USERS)
        ip = f"198.51.100.{rng.randint(1, 6)}"
        r = rng.random()
        if r < 0.45:
            rcpts = [f"r{rng.randint(1, 50)}@{rng.choice(['gmx.example', 'gartenbau.example'])}"]
            subject = rng.choice(["Hallo", "offer for you", 'say \\"for\\" me', "for "])
            log.submit(t, user, ip, rcpts * rng.randint(1, 3), subject=subject)
        elif r < 0.5:  # no recipients on the arrival: the chunk is read line by line
            log.submit(t, user, ip, ["x@web.example"], for_=False, subject="offer for you")
        elif r < 0.53:
            log.submit(t, user, ip, ["y@web.example"], for_=False)
        elif r < 0.65:
            log.failed_login(t, user, f"203.0.113.{rng.randint(1, 3)}")
        elif r < 0.7:
            log.refuse(t, user, ip)
        elif r < 0.75:  # Exim 4.97+: 23-character ids
            log.add(
                t,
                f"10HmaX-{k:011d}-0000 <= {user} H=(pc) [{ip}]:1 P=esmtpa A=plain:{user} "
                f'T="Rechnung" for z{k}@gmx.example',
            )
        elif r < 0.78:  # a pid, a syslog prefix: not Exim's own form
            log.add(t, f"[4711] 1xAbCd-{k:06d}-Zz <= {user} H=(pc) [{ip}] A=p:{user} for a@b.c")
        elif r < 0.8:
            stamp = f"{t:%b %d %H:%M:%S}"
            log.lines.append(
                (t, f"{stamp} mx exim[1]: {t:%Y-%m-%d %H:%M:%S} 1xAbCd-{k:06d}-Zz <= {user} "
                    f"H=(pc) [{ip}] P=esmtpsa A=p:{user} for c@d.example")
            )  # fmt: skip
        elif r < 0.82:  # an impossible time on a needed line: unreadable
            log.lines.append(
                (t, f"{t:%Y}-13-45 10:00:00 1xAbCd-{k:06d}-Zz <= {user} H=(pc) [{ip}] "
                    f"A=p:{user} for e@f.example")
            )  # fmt: skip
        elif r < 0.84:  # `A=` inside a word, and both markers on one line
            log.add(t, f"1xAbCd-{k:06d}-Zz => x@y.example R=r T=t XA=foo")
            log.add(
                t,
                f'1xAbCd-{k:06d}-Zz <= {user} H=(pc) [{ip}] A=p:{user} T="authenticator '
                f'failed for you" for g@h.example',
            )
        else:
            log.add(t, f"SMTP connection from [{ip}]:1 I=[192.0.2.10]:25 closed by QUIT")
    return log


@pytest.mark.parametrize("chunk", [300, 2_000, 20_000])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_fast_read_of_a_chunk_gives_the_plain_ranking(tmp_path, monkeypatch, chunk, seed):
    path = _mixed_log(seed).write(tmp_path / "mainlog")
    monkeypatch.setattr(logfiles, "CHUNK", chunk)
    fast_chunks = []

    def counted(scan, data):
        fast_chunks.append(len(data))
        read_chunk(scan, data)

    monkeypatch.setattr(offenders, "read_chunk", counted)
    fast = Analysis(SendlogSettings(), now=NOW)
    fast.read(expand([path]))
    assert len(fast_chunks) > 3  # the fast way read most of the log
    monkeypatch.setattr(offenders, "read_chunk", _plain_way)
    plain = Analysis(SendlogSettings(), now=NOW)
    plain.read(expand([path]))
    assert _json(fast.report()) == _json(plain.report())
    report = json.loads(_json(fast.report()))
    assert report["unreadable"] > 0 and report["lines"] == len(path.read_bytes().splitlines())
    assert {u["user"] for u in report["offenders"]} >= {VICTIM, "carla@gartenbau.example"}


def test_a_message_followed_before_an_arrival_without_for_in_one_chunk(tmp_path, monkeypatch):
    # one chunk: an arrival whose only " for " is in its subject (followed to its deliveries),
    # its delivery lines, then an arrival without `for`: the chunk is read line by line, so
    # the first message's recipients come from its delivery lines
    log = Log()
    t = NOW - timedelta(hours=2)
    log.add(t - timedelta(hours=1), "SMTP connection from [192.0.2.1]:1 closed by QUIT")
    log.submit(t, VICTIM, "198.51.100.7", ["a@web.example", "b@gmx.example"], for_=False,
               subject="offer for you")  # fmt: skip
    log.submit(t + timedelta(minutes=1), VICTIM, "198.51.100.7", ["c@web.example"], for_=False)
    first, rest = log.write(tmp_path / "mainlog").read_bytes().split(b"\n", 1)
    results = []
    for way in (None, _plain_way):
        if way is not None:
            monkeypatch.setattr(offenders, "read_chunk", way)
        analysis = Analysis(SendlogSettings(), now=NOW)
        analysis.feed(first)  # the first chunk gives the log's earliest time
        analysis.feed(rest)  # one chunk, read the fast way (or the plain one)
        results.append(_json(analysis.report()))
    assert results[0] == results[1]
    assert json.loads(results[0])["offenders"][0]["recipients"] == 3
