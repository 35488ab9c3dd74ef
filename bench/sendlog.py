"""Benchmark: `helpdesk offenders` against `eximstats`, a plain Python line loop and `grep -c`
on the same generated Exim mainlog, plain and gzip-compressed.

    .venv/bin/python bench/sendlog.py            # 300 MB log (generated once, kept in bench/out/)
    .venv/bin/python bench/sendlog.py --large    # and a 3 GB one (plain only)
    .venv/bin/python bench/sendlog.py --small    # ~20 MB, for a quick look
    .venv/bin/python bench/sendlog.py --size 1G --seed 7 --runs 5

The log is realistic in shape: inbound mail for local mailboxes, authenticated submissions with
deliveries to external domains, deferrals and bounces, rejected RCPTs, failed logins from a few
password-guessing addresses, and one taken-over account that bursts spam from new addresses near
the end (many of its messages refused after DATA). Its ground truth is written next to the log
(`*.truth.json`); the exact counts of the taken-over account are checked against it.

Every program runs as a child process, alternating, `--runs` times (default 3); each run prints
its wall and CPU time, its peak memory (the largest sum of the RSS of the command and all its
processes, sampled from /proc every 20 ms) and the load average when it started; then the best
and the median of each, with the ratios. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"

FIRST = [
    "anna",
    "peter",
    "jens",
    "maria",
    "lukas",
    "sophie",
    "tobias",
    "julia",
    "frank",
    "petra",
    "ahmet",
    "elif",
    "marco",
    "giulia",
    "jan",
    "olga",
    "sven",
    "heike",
    "emma",
    "noah",
]
LAST = [
    "mueller",
    "schmidt",
    "schneider",
    "fischer",
    "weber",
    "meyer",
    "wagner",
    "becker",
    "schulz",
    "hoffmann",
    "koch",
    "richter",
    "yilmaz",
    "rossi",
    "novak",
    "kowalski",
]
EXTERNAL = [
    "gmail.com",
    "web.de",
    "gmx.de",
    "t-online.de",
    "outlook.com",
    "yahoo.com",
    "freenet.de",
    "posteo.de",
    "icloud.com",
    "aol.com",
    "mail.ru",
    "orange.fr",
]
SUBJECTS = [
    "Re: Angebot 2027",
    "Rechnung Nr. {n}",
    "Termin am Montag",
    "AW: Ihre Anfrage",
    "Fotos vom Wochenende",
    "Einladung zur Sitzung",
    'Fw: "Wichtig" bitte lesen',
    "Lieferung {n} versandt",
    "Kuendigung Vertrag {n}",
    "Newsletter November",
]
SPAM_SUBJECTS = [
    "Your parcel is waiting",
    "Cheap meds {n}",
    "You won EUR {n}",
    "Account verification required",
    "Invoice {n} overdue",
]
TLS = "X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no"
TLS_OUT = TLS.replace("CV=no", "CV=yes")
ID_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

BURST_ACCEPTED = 412
BURST_REFUSED = 230
BURST_IPS = ["185.220.101.34", "45.155.205.99", "91.92.109.17"]
GUESS_IPS = ["80.94.95.81", "141.98.11.43", "193.32.162.72"]
BURST_FAILED_LOGINS = 12


def _q(subject: str) -> str:
    return subject.replace('"', '\\"')


def _b62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 62)
        out.append(ID_CHARS[r])
    return "".join(reversed(out))


class Generator:
    """Writes a mainlog of about `size` bytes ending at `end`, and keeps the ground truth."""

    def __init__(self, path: Path, size: int, seed: int, end: datetime, span: timedelta) -> None:
        self.path, self.size, self.end, self.span = path, size, end, span
        self.rng = random.Random(seed)
        self.seq = 0
        self.domains = [f"kunde-{i:03d}.de" for i in range(260)]
        self.users = []
        for i in range(3000):
            dom = self.domains[i % len(self.domains)]
            user = f"{FIRST[i % len(FIRST)]}.{LAST[(i // 20) % len(LAST)]}{i}@{dom}"
            first = self.rng.choice([84, 87, 91, 93, 178, 217])
            ip = f"{first}.{i % 250 + 1}.{i // 250 + 1}.{self.rng.randint(1, 254)}"
            self.users.append((user, ip))
        self.victim, self.victim_ip = self.users[1234]
        self.truth: dict = {}
        self._ts_cache = (None, "")

    def _stamp(self, t: datetime) -> str:
        if self._ts_cache[0] != t:
            self._ts_cache = (t, t.strftime("%Y-%m-%d %H:%M:%S"))
        return self._ts_cache[1]

    def _id(self, t: datetime) -> str:
        self.seq += 1
        return f"{_b62(int(t.timestamp()), 6)}-{_b62(self.seq, 6)}-{_b62(self.seq * 7919, 2)}"

    def _rip(self) -> str:
        rng = self.rng
        a, b, c = rng.randint(2, 220), rng.randint(0, 255), rng.randint(0, 255)
        return f"{a}.{b}.{c}.{rng.randint(1, 254)}"

    def _msgid(self, dom: str) -> str:
        return f"{self.rng.getrandbits(64):016x}.{self.seq}@{dom}"

    def _inbound(self, t: datetime, out: list[str]) -> None:
        rng, ts = self.rng, self._stamp(t)
        user, _ = rng.choice(self.users)
        ext = rng.choice(EXTERNAL)
        sender = f"{rng.choice(FIRST)}.{rng.choice(LAST)}@{ext}"
        ip = self._rip()
        eid = self._id(t)
        subj = rng.choice(SUBJECTS).format(n=rng.randint(1000, 99999))
        out.append(
            f"{ts} {eid} <= {sender} H=mail.{ext} [{ip}]:{rng.randint(1024, 65535)} "
            f"I=[192.0.2.10]:25 P=esmtps {TLS} S={rng.randint(1500, 90000)} "
            f'id={self._msgid(ext)} T="{_q(subj)}" for {user}\n'
        )
        out.append(
            f"{ts} {eid} => {user} R=dovecot_user T=dovecot_lmtp H=127.0.0.1 [127.0.0.1] "
            f'C="250 2.0.0 <{user}> {rng.getrandbits(40):010x} Saved"\n'
        )
        out.append(f"{ts} {eid} Completed\n")

    def _submission(
        self,
        t: datetime,
        out: list[str],
        user: str,
        ip: str,
        *,
        spam: bool = False,
        nrcpt: int | None = None,
    ) -> list[str]:
        rng, ts = self.rng, self._stamp(t)
        dom = user.split("@")[1]
        n = nrcpt or rng.choice([1, 1, 1, 1, 2, 2, 3, 5])
        rcpts = []
        for _ in range(n):
            if not spam and rng.random() < 0.3:
                rcpts.append(rng.choice(self.users)[0])
            else:
                rcpts.append(f"{rng.choice(FIRST)}{rng.randint(1, 999)}@{rng.choice(EXTERNAL)}")
        eid = self._id(t)
        subj = rng.choice(SPAM_SUBJECTS if spam else SUBJECTS).format(n=rng.randint(1000, 99999))
        tls = TLS if not spam or rng.random() < 0.5 else ""
        proto = "esmtpsa" if tls else "esmtpa"
        out.append(
            f"{ts} {eid} <= {user} H=(DESKTOP-{ip.split('.')[3]}) [{ip}]:"
            f"{rng.randint(1024, 65535)} "
            f"I=[192.0.2.10]:587 P={proto} {tls + ' ' if tls else ''}A=dovecot_plain:{user} "
            f'S={rng.randint(800, 40000)} id={self._msgid(dom)} T="{_q(subj)}" '
            f"for {' '.join(rcpts)}\n"
        )
        first = True
        for r in rcpts:
            rdom = r.split("@")[1]
            arrow = "=>" if first else "->"
            if rdom.startswith("kunde-"):
                out.append(
                    f"{ts} {eid} {arrow} {r} R=dovecot_user T=dovecot_lmtp H=127.0.0.1 [127.0.0.1] "
                    f'C="250 2.0.0 <{r}> {rng.getrandbits(40):010x} Saved"\n'
                )
                first = False
            elif rng.random() < 0.03:
                out.append(
                    f"{ts} {eid} == {r} R=dnslookup T=remote_smtp defer (-44) H=mx.{rdom} "
                    f"[198.18.{rng.randint(0, 255)}.{rng.randint(1, 254)}]: SMTP error from "
                    f"remote mail server after RCPT TO:<{r}>: 451 4.7.1 Greylisted, try later\n"
                )
            elif rng.random() < 0.02:
                out.append(
                    f"{ts} {eid} ** {r} R=dnslookup T=remote_smtp H=mx.{rdom} "
                    f"[198.18.{rng.randint(0, 255)}.{rng.randint(1, 254)}]: SMTP error from "
                    f"remote mail server after RCPT TO:<{r}>: 550 5.1.1 User unknown\n"
                )
            else:
                out.append(
                    f"{ts} {eid} {arrow} {r} R=dnslookup T=remote_smtp H=mx.{rdom} "
                    f"[198.18.{rng.randint(0, 255)}.{rng.randint(1, 254)}] {TLS_OUT} "
                    f'C="250 2.0.0 OK {rng.getrandbits(48):012x} - queued"\n'
                )
                first = False
        out.append(f"{ts} {eid} Completed\n")
        return rcpts

    def _refused(self, t: datetime, out: list[str], user: str, ip: str) -> None:
        ts = self._stamp(t)
        out.append(
            f"{ts} {self._id(t)} H=(DESKTOP-{ip.split('.')[3]}) [{ip}]:"
            f"{self.rng.randint(1024, 65535)} "
            f"I=[192.0.2.10]:587 F=<{user}> A=dovecot_plain:{user} rejected after DATA: "
            f"The E-Mail you sended has been blocked because it may contain SPAM\n"
        )

    def _noise(self, t: datetime, out: list[str]) -> None:
        rng, ts = self.rng, self._stamp(t)
        ip = self._rip()
        r = rng.random()
        if r < 0.4:
            out.append(
                f"{ts} H=({rng.choice(['User', 'ylmf-pc', 'WIN-' + str(rng.randint(1, 9999))])}) "
                f"[{ip}]:{rng.randint(1024, 65535)} "
                f"I=[192.0.2.10]:25 F=<{rng.choice(FIRST)}@{rng.choice(EXTERNAL)}> "
                f"rejected RCPT <{rng.choice(FIRST)}@{rng.choice(EXTERNAL)}>: relay not permitted\n"
            )
        elif r < 0.7:
            user = rng.choice(self.users)[0]
            out.append(
                f"{ts} H=mail.example.net [{ip}]:{rng.randint(1024, 65535)} I=[192.0.2.10]:25 "
                f"F=<bounce@example.net> rejected RCPT <{user}>: "
                f"JunkMail rejected - [{ip}] is in an RBL\n"
            )
        elif r < 0.85:
            out.append(
                f"{ts} no MAIL in SMTP connection from [{ip}]:{rng.randint(1024, 65535)} "
                f"I=[192.0.2.10]:25 D=0.{rng.randint(1, 999)}s C=EHLO,QUIT\n"
            )
        else:
            out.append(
                f"{ts} SMTP connection from [{ip}]:{rng.randint(1024, 65535)} "
                "I=[192.0.2.10]:25 closed by QUIT\n"
            )

    def _guess(self, t: datetime, out: list[str], ip: str, user: str) -> None:
        out.append(
            f"{self._stamp(t)} dovecot_plain authenticator failed for (User) "
            f"[{ip}]:{self.rng.randint(1024, 65535)} "
            f"I=[192.0.2.10]:587: 535 Incorrect authentication data (set_id={user})\n"
        )

    def run(self) -> dict:
        rng = self.rng
        start = self.end - self.span
        # About 560 bytes per simulated event on average; the time step follows from that so the
        # log spans `span` whatever its size.
        est_events = max(1000, self.size // 560)
        step = self.span / est_events
        victim: list[tuple[datetime, str, int]] = []  # (time, accepted|refused, recipients)
        guess: dict[str, int] = {}
        written = 0
        burst_done = False
        queue: list[tuple[datetime, bool, str]] = []
        last_t = start
        burst_start = start
        i = 0
        with open(self.path, "w", encoding="ascii", buffering=1 << 20) as f:
            while written < self.size or queue:
                t = start + step * i
                i += 1
                out: list[str] = []
                while queue and queue[-1][0] <= t:
                    bt, ok, bip = queue.pop()
                    if ok:
                        n = rng.randint(5, 25)
                        rc = self._submission(bt, out, self.victim, bip, spam=True, nrcpt=n)
                        victim.append((bt, "accepted", len(rc)))
                    else:
                        self._refused(bt, out, self.victim, bip)
                        victim.append((bt, "refused", 0))
                    last_t = bt
                r = rng.random()
                if r < 0.50:
                    self._inbound(t, out)
                elif r < 0.88:
                    user, ip = rng.choice(self.users)
                    if rng.random() < 0.03:
                        ip = ip.rsplit(".", 1)[0] + ".77"  # a second usual address
                    rc = self._submission(t, out, user, ip)
                    if user == self.victim:
                        victim.append((t, "accepted", len(rc)))
                elif r < 0.98:
                    self._noise(t, out)
                else:
                    gip = rng.choice(GUESS_IPS)
                    u = rng.choice(self.users)[0]
                    if u != self.victim:
                        self._guess(t, out, gip, u)
                        guess[gip] = guess.get(gip, 0) + 1
                if not burst_done and written > self.size * 0.9:
                    burst_done = True
                    burst_start = t
                    # Taken over: the password was guessed, then ten minutes of spam from
                    # three new addresses, many refused by the spam filter.
                    for _ in range(BURST_FAILED_LOGINS):
                        self._guess(t, out, GUESS_IPS[0], self.victim)
                    guess[GUESS_IPS[0]] = guess.get(GUESS_IPS[0], 0) + BURST_FAILED_LOGINS
                    total = BURST_ACCEPTED + BURST_REFUSED
                    order = [True] * BURST_ACCEPTED + [False] * BURST_REFUSED
                    rng.shuffle(order)
                    queue = [
                        (t + timedelta(seconds=600 * k // total), ok, BURST_IPS[k % 3])
                        for k, ok in enumerate(order)
                    ]
                    queue.reverse()
                chunk = "".join(out)
                f.write(chunk)
                written += len(chunk)
        end = max(start + step * (i - 1), last_t).replace(microsecond=0)
        window = end - timedelta(hours=24)
        seen = [(t.replace(microsecond=0), k, n) for t, k, n in victim]
        inside = [(k, n) for t, k, n in seen if t >= window]
        self.truth = {
            "path": str(self.path),
            "bytes": written,
            "start": start.replace(microsecond=0).isoformat(sep=" "),
            "end": end.isoformat(sep=" "),
            "burst_start": burst_start.replace(microsecond=0).isoformat(sep=" "),
            "victim": self.victim,
            "victim_usual_ip": self.victim_ip,
            "burst_ips": BURST_IPS,
            # the victim's numbers in the last 24 hours of the log
            "victim_accepted": sum(1 for k, _ in inside if k == "accepted"),
            "victim_refused": sum(1 for k, _ in inside if k == "refused"),
            "victim_recipients": sum(n for _, n in inside),
            "victim_failed_logins": BURST_FAILED_LOGINS,
            "guessing": guess,
        }
        return self.truth


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().rstrip("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def generate(
    path: Path,
    size: int,
    seed: int = 1,
    end: datetime | None = None,
    span: timedelta = timedelta(days=3),
) -> dict:
    end = end or datetime.now().replace(microsecond=0)
    truth = Generator(path, size, seed, end, span).run()
    path.with_suffix(".truth.json").write_text(json.dumps(truth, indent=2))
    return truth


def _tree_rss(root: int) -> int:
    """RSS in bytes of root and all its descendants, from /proc (one sample)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [root]
    page = os.sysconf("SC_PAGE_SIZE")
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * page
        except OSError:
            pass
    return total


def _measure(
    cmd: list[str], stdout_file: Path | None = None
) -> tuple[float, float, float, int, bytes]:
    """Run cmd; return (wall seconds, CPU seconds, peak memory in MiB, exit code, output).

    Peak memory is the largest sum of the RSS of the command and all its processes (workers
    included) at any moment, sampled from /proc every 20 ms. CPU time (user + system of the
    command and its waited-for children, from wait4) moves much less with the machine's load
    than wall time does."""
    out_f = open(stdout_file, "wb") if stdout_file else subprocess.PIPE  # noqa: SIM115
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=out_f, stderr=subprocess.PIPE, env=_ENV)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _out, err = proc.communicate()
    done.set()
    sampler.join()
    elapsed = time.perf_counter() - t0
    if stdout_file:
        out_f.close()
    return elapsed, 0.0, peak / (1 << 20), proc.returncode, (_out or b"") + err


# Python runs from compiled bytecode, as an installed package does (pip compiles it): kept
# apart in bench/out/pycache, so the working tree gets no __pycache__ folders.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
_ENV["PYTHONPYCACHEPREFIX"] = str(OUT / "pycache")


def _cpu_of(fn):
    """Run fn(); CPU seconds its child processes used (getrusage of children, before/after)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = fn()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result, cpu


LINE_LOOP = (
    "import gzip, sys\n"
    "p = sys.argv[1]\n"
    "f = gzip.open(p, 'rb') if p.endswith('.gz') else open(p, 'rb', buffering=1 << 20)\n"
    "n = 0\n"
    "for line in f:\n"
    "    n += 1\n"
    "print(n)\n"
)


def _gzipped(log: Path) -> Path:
    gz = log.with_name(log.name + ".gz")
    if not gz.exists() or gz.stat().st_mtime < log.stat().st_mtime:
        with open(gz, "wb") as f:
            subprocess.run(["gzip", "-c", "-6", str(log)], stdout=f, check=True)
    return gz


def _check_burst(json_path: Path, truth: dict) -> str:
    """The exact counts of the taken-over account against the generator's truth."""
    top = json.loads(json_path.read_text())[0]
    want = (truth["victim"], truth["victim_accepted"], truth["victim_refused"])
    want += (truth["victim_recipients"], truth["victim_failed_logins"])
    got = (top["user"], top["accepted"], top["rejected"], top["recipients"])
    got += (top["auth_failures"],)
    if got == want:
        return (
            f"exact counts OK ({top['user']}: {got[1]} accepted, {got[2]} refused, "
            f"{got[3]} recipients, {got[4]} failed logins)"
        )
    return f"exact counts WRONG: got {got}, want {want}"


def run_one(log: Path, truth: dict, runs: int) -> bool:
    end = datetime.fromisoformat(truth["end"])
    helpdesk = shutil.which("helpdesk", path=str(ROOT / ".venv" / "bin")) or "helpdesk"
    eximstats = shutil.which("eximstats") or "/usr/sbin/eximstats"
    grep = ["zgrep" if log.name.endswith(".gz") else "grep", "-c", " A="]

    def ours() -> list[str]:
        # computed at each run, so that every run sees the same 24 hours of the log
        since_s = round((datetime.now() - end).total_seconds()) + 24 * 3600
        return [helpdesk, "offenders", "--log", str(log), "--since", f"{since_s}s", "--json"]

    programs = [
        ("helpdesk offenders", ours),
        ("eximstats", lambda: [eximstats, "-ne", "-nr", str(log)]),
        ("python line loop", lambda: [sys.executable, "-c", LINE_LOOP, str(log)]),
        (" ".join(grep[:2]) + " ' A='", lambda: [*grep, str(log)]),
    ]
    json_out = OUT / "offenders.json"
    # one untimed run of ours: compiles the bytecode and brings the file into the page cache
    _measure(ours(), json_out)
    times: dict[str, list[tuple[float, float, float, float]]] = {n: [] for n, _m in programs}
    size = log.stat().st_size
    print(f"\n{log.name}: {size / 1e6:.0f} MB on disk")
    # Alternate the programs so that changing load hits all alike.
    for run in range(runs):
        for name, make in programs:
            cmd = make()
            load = os.getloadavg()[0]
            (secs, _c, rss, rc, out), cpu = _cpu_of(
                lambda cmd=cmd, name=name: _measure(
                    cmd, json_out if name == "helpdesk offenders" else None
                )
            )
            if rc not in (0, 1) or (rc == 1 and not name.startswith(("grep", "zgrep"))):
                print(f"{name} failed (exit {rc}):\n{out.decode(errors='replace')[-2000:]}")
                return False
            times[name].append((secs, cpu, rss, load))
            print(
                f"  run {run + 1}: {name:22s} {secs:7.2f} s wall {cpu:7.2f} s CPU "
                f"peak memory {rss:7.1f} MiB  (load average {load:.2f})"
            )
    print(f"  best and median of {runs} run(s):")
    for name, _make in programs:
        walls = sorted(t[0] for t in times[name])
        cpus = sorted(t[1] for t in times[name])
        peak = max(t[2] for t in times[name])
        print(
            f"  {name:22s} wall {walls[0]:6.2f} / {statistics.median(walls):6.2f} s  "
            f"CPU {cpus[0]:6.2f} / {statistics.median(cpus):6.2f} s  "
            f"peak memory (largest) {peak:6.1f} MiB"
        )
    ours_w = sorted(t[0] for t in times["helpdesk offenders"])
    ours_c = sorted(t[1] for t in times["helpdesk offenders"])
    for name, _make in programs[1:]:
        w = sorted(t[0] for t in times[name])
        c = sorted(t[1] for t in times[name])
        if name == "eximstats":
            print(
                f"  eximstats / helpdesk offenders: {w[0] / ours_w[0]:.2f}x (best), "
                f"{statistics.median(w) / statistics.median(ours_w):.2f}x (median); "
                f"CPU time {c[0] / ours_c[0]:.2f}x"
            )
        else:
            print(
                f"  helpdesk offenders / {name}: {ours_w[0] / w[0]:.2f}x its time (best), "
                f"{statistics.median(ours_w) / statistics.median(w):.2f}x (median)"
            )
    print("  " + _check_burst(json_out, truth))
    return "OK" in _check_burst(json_out, truth)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="300M", help="log size, e.g. 1G, 300M (default 300M)")
    ap.add_argument("--small", action="store_true", help="a 20 MB log instead")
    ap.add_argument("--large", action="store_true", help="also a 3 GB log (plain only)")
    ap.add_argument("--no-gzip", action="store_true", help="skip the gzip-compressed run")
    ap.add_argument("--no-cache", action="store_true", help="skip the rotated set's cache run")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--regenerate", action="store_true", help="write the log even if it exists")
    ap.add_argument(
        "--runs", type=int, default=3, help="time each program this many times (default 3)"
    )
    args = ap.parse_args()
    sizes = [parse_size("20M" if args.small else args.size)]
    if args.large:
        sizes.append(3 << 30)
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} at the start")
    ok = True
    for size in sizes:
        log = OUT / f"mainlog-{size >> 20}M-s{args.seed}"
        truth_file = log.with_suffix(".truth.json")
        if args.regenerate or not log.exists() or not truth_file.exists():
            t0 = time.perf_counter()
            truth = generate(log, size, args.seed)
            print(
                f"generated {log} ({truth['bytes'] / 1e6:.0f} MB) "
                f"in {time.perf_counter() - t0:.1f} s"
            )
        else:
            truth = json.loads(truth_file.read_text())
        print(
            f"truth: {truth['victim']} accepted={truth['victim_accepted']} "
            f"refused={truth['victim_refused']} recipients={truth['victim_recipients']}"
        )
        ok &= run_one(log, truth, args.runs)
        if not args.no_cache and size < (1 << 30):
            from sendlog_cache import run_cache  # bench/ is the script's folder

            ok &= run_cache(log, truth, args.runs, _measure, _ENV, _check_burst)
        if not args.no_gzip and size < (1 << 30):
            ok &= run_one(_gzipped(log), truth, args.runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
