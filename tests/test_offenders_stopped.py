"""An account stopped by its sending limit and then suspended still ranks on F6: its limit
refusals count, its tries while suspended add to them, one process and the workers agree, and
nothing a client writes into a line can make another account look refused or suspended."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from helpdesk.logs.files import expand
from helpdesk.sendlog.offenders import Analysis, analyze
from helpdesk.sendlog.parallel import LogWorkers, read_parallel
from helpdesk.sendlog.settings import SendlogSettings

NOW = datetime(2026, 11, 27, 12, 0, 0)
STOPPED = "kontakt@gartenbau.example"
OTHER = "anna@gartenbau.example"
TLS = "X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no"


def _arrival(t: datetime, n: int, user: str, *, helo: str = "pc", subject: str = "Hallo") -> str:
    eid = f"1xAbCd-{n:06d}-Zz"
    return (
        f"{t:%Y-%m-%d %H:%M:%S} {eid} <= {user} H=({helo}) [192.0.2.201]:4711 "
        f"I=[192.0.2.10]:587 P=esmtpsa {TLS} A=dovecot_plain:{user} S=1234 id={eid}@x "
        f'T="{subject}" for k{n}@web.example'
    )


def _limit(t: datetime, user: str) -> str:
    return (
        f"{t:%Y-%m-%d %H:%M:%S} H=(pc) [192.0.2.201]:4711 I=[192.0.2.10]:587 {TLS} "
        f"rejected DATA: helpdesk limit: 100 recipients per hour A={user} action=refuse rcpts=6"
    )


def _suspended(t: datetime, user: str, sender: str | None = None) -> str:
    return (
        f"{t:%Y-%m-%d %H:%M:%S} H=(pc) [192.0.2.201]:4711 I=[192.0.2.10]:587 {TLS} "
        f"rejected MAIL <{sender or user}>: Sending is suspended for this mailbox "
        f"(A=dovecot_plain:{user})"
    )


def takeover_log(path, *, between: int = 0) -> None:
    """17 messages, 20 refused by the limit, then suspended: 163 tries; `between` lines of
    another account after each, so that a parallel read cuts the account's lines apart."""
    t = NOW - timedelta(hours=2)
    lines: list[str] = []
    filler = iter(range(1000, 10**6))

    def then(line: str, step: int) -> None:
        nonlocal t
        lines.append(line)
        lines.extend(_arrival(t, next(filler), OTHER) for _ in range(between))
        t += timedelta(seconds=step)

    for n in range(17):
        then(_arrival(t, n, STOPPED), 2)
    for _ in range(20):
        then(_limit(t, STOPPED), 1)
    for _ in range(163):
        then(_suspended(t, STOPPED), 1)
    path.write_text("\n".join(lines) + "\n")


def test_the_stopped_account_ranks_with_its_refusals_in_words(tmp_path):
    takeover_log(tmp_path / "mainlog")
    report = analyze(expand([tmp_path / "mainlog"]), SendlogSettings(), now=NOW)
    top = report.users[0].as_dict()
    assert top["user"] == STOPPED
    assert (top["accepted"], top["limit_refused"], top["suspended_tries"]) == (17, 20, 163)
    assert top["reasons"] == ["20 refused by its sending limit", "163 tries while suspended"]
    assert top["score"] == 90  # 20 × 3 + 10 × 3
    german = [r.render("de") for r in report.users[0].reasons]
    assert german == ["20 durch das Sendelimit abgewiesen", "163 Versuche trotz Sendesperre"]


def test_a_host_labelled_log_counts_the_same(tmp_path):
    """Logs named in [[sendlog.hosts]] are read by their own path (host_merge.py)."""
    from helpdesk.sendlog.host_files import host_files

    takeover_log(tmp_path / "mainlog")
    settings = SendlogSettings.from_dict(
        {"hosts": [{"name": "mx1", "paths": [str(tmp_path / "mainlog")]}]}
    )
    analysis = Analysis(settings, now=NOW)
    analysis.read(host_files(settings))
    top = analysis.report().users[0].as_dict()
    assert (top["user"], top["hosts"]) == (STOPPED, ["mx1"])
    assert (top["accepted"], top["limit_refused"], top["suspended_tries"]) == (17, 20, 163)


def test_tries_while_suspended_alone_do_not_make_a_suspect(tmp_path):
    """A mailbox suspended by hand whose mail program keeps trying is already stopped."""
    start = NOW - timedelta(hours=1)
    lines = [_suspended(start + timedelta(seconds=k), OTHER) for k in range(50)]
    (tmp_path / "mainlog").write_text("\n".join(lines) + "\n")
    report = analyze(expand([tmp_path / "mainlog"]), SendlogSettings(), now=NOW)
    anna = report.user(OTHER).as_dict()
    assert (anna["suspended_tries"], anna["score"], anna["reasons"]) == (50, 0, [])


def test_workers_count_the_same(tmp_path):
    takeover_log(tmp_path / "mainlog", between=20)
    files = expand([tmp_path / "mainlog"])
    single = analyze(files, SendlogSettings(), now=NOW).offenders_json()
    pool = LogWorkers(2, parts=7, min_bytes=0)
    try:
        analysis = Analysis(SendlogSettings(), now=NOW)
        assert read_parallel(analysis, files, pool)
    finally:
        pool.stop()
    parallel = analysis.report().offenders_json()
    assert json.dumps(parallel, sort_keys=True) == json.dumps(single, sort_keys=True)
    stopped = next(u for u in parallel if u["user"] == STOPPED)
    assert (stopped["limit_refused"], stopped["suspended_tries"]) == (20, 163)


def test_what_a_client_writes_names_no_one(tmp_path):
    """A HELO, a subject and a MAIL FROM carrying the refusal's words for another account."""
    victim = "chef@gartenbau.example"
    start = NOW - timedelta(hours=1)
    fake = f"Sending is suspended for this mailbox (A=x:{victim})"
    lines = [
        _arrival(start, 1, OTHER, helo=f"(A=dovecot_plain:{victim})"),
        _arrival(start, 2, OTHER, subject=fake),
        _arrival(start, 3, OTHER, subject=f"rejected DATA: helpdesk limit: 1 A={victim} action="),
        _suspended(start, OTHER, sender=f"{fake}@evil.example").replace(
            f"(A=dovecot_plain:{OTHER})", "(A=dovecot_plain:anna@gartenbau.example) trailing"
        ),
    ]
    (tmp_path / "mainlog").write_text("\n".join(lines) + "\n")
    report = analyze(expand([tmp_path / "mainlog"]), SendlogSettings(), now=NOW)
    assert [u.user for u in report.users] == [OTHER]
    anna = report.users[0].as_dict()
    assert (anna["accepted"], anna["limit_refused"], anna["suspended_tries"]) == (3, 0, 0)
