"""The generated Exim mainlog of bench/sendlog.py: inbound mail for local mailboxes,
authenticated submissions with deliveries to external domains, deferrals and bounces, rejected
RCPTs, failed logins from a few password-guessing addresses, and one taken-over account that
bursts spam from new addresses near the end. `generate()` writes the log and returns its ground
truth (also written next to it as `*.truth.json`)."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

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


def main() -> int:
    """`python bench/sendlog_gen.py PATH [--size 300M] [--seed 1]`: the log alone, e.g. to
    try other tools on it; bench/sendlog.py generates its own."""
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--size", default="300M", help="e.g. 20M, 1G (default 300M)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    truth = generate(args.path, parse_size(args.size), args.seed)
    print(f"{args.path}: the taken-over account is {truth['victim']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
