"""Realistic demo data: German and international customers on business-like domains.

The same seed gives the same data. Rows go in with bulk inserts and explicit ids, so that a
million mailboxes take minutes, not hours.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection

from helpdesk.errors import PolicyError
from helpdesk.i18n import M, Mn
from helpdesk.mailcenter.db import Database
from helpdesk.mailcenter.folding import name_words, search_name
from helpdesk.mailcenter.schema import aliases, domains, mailbox_name_words, mailboxes

FIRST_DE = (
    "Jürgen Jörg Björn Günther Käthe Bärbel Hans Klaus Peter Wolfgang Michael Thomas Andreas "
    "Stefan Frank Sabine Petra Monika Ursula Renate Claudia Susanne Andrea Birgit Karin Anja "
    "Jürgen Sören Jens Uwe Dieter Horst Helga Ingrid Gisela Brigitte Lena Jonas Lukas Leonie "
    "Marie Sophie Maximilian Felix Paul Emma Hannah Mia Ben Finn Noah Lea Jana Tobias Matthias "
    "Florian Katrin Nicole Anke Dörte Gerd Rüdiger Götz Hildegard Ernst Franziska Moritz Till"
).split()
FIRST_INTL = (
    "François Zoë José María Łukasz Agnieszka Çağla Ömer Søren Åsa Giulia Luca Ana João Ioana "
    "Mehmet Ayşe Dimitris Eleni Nguyễn Ewa Tomáš Zuzana Pierre Amélie Ángel Lucía Niamh Seán"
).split()
LAST = (
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch "
    "Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann "
    "Lange Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König "
    "Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert Vogel "
    "Friedrich Keller Günther Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht "
    "Schuster Simon Ludwig Böhm Winter Kraus Martin Schumacher Krämer Vogt Stein Jäger Otto "
    "Sommer Groß Seidel Heinrich Brandt Haas Schreiber Graf Schulte Dietrich Ziegler Kuhn Kühn "
    "Pohl Engel Horn Busch Bergmann Voigt Sauer Arnold Wolff Pfeiffer Mueller Dubois García "
    "Rossi Nowak Kowalski Yılmaz Öztürk Jensen Novák Silva Papadopoulos Nguyen Lefèvre Fernández "
    "Wiśniewski Dvořák Ólafsson Çelik Bianchi"
).split()
TRADES = (
    "bau elektro dach sanitaer steuerberatung physio zahnarzt autohaus baeckerei kanzlei praxis "
    "immobilien druckerei gaertnerei tischlerei malerbetrieb reisebuero fahrschule optik apotheke "
    "hausverwaltung metallbau logistik catering weinhandel fotostudio architekten"
).split()
CITIES = (
    "koeln muenchen hamburg berlin leipzig dresden bonn essen kiel bremen hannover stuttgart "
    "freiburg mainz trier aachen rostock erfurt kassel ulm passau bamberg luebeck"
).split()
WORDS = "nord sued ost west alpen rhein elbe main blau gruen sonne stern berg tal see wald".split()
TLDS = ["de"] * 14 + ["com", "eu", "at", "ch", "net", "org"]
ROLE_ADDRESSES = ["info", "kontakt", "buero", "rechnung", "service", "team", "office"]
# Shared mailboxes that a firm's staff read together; their real name is the role.
ROLE_MAILBOXES = {
    "info": "Info",
    "kontakt": "Kontakt",
    "buchhaltung": "Buchhaltung",
    "rechnung": "Rechnungen",
    "service": "Kundenservice",
    "empfang": "Empfang",
    "verwaltung": "Verwaltung",
    "office": "Office",
    "bewerbung": "Bewerbungen",
    "termine": "Termine",
}

_ASCII = str.maketrans(
    {
        "ä": "ae",
        "ö": "oe",
        "ü": "ue",
        "ß": "ss",
        "é": "e",
        "è": "e",
        "ç": "c",
        "ğ": "g",
        "ı": "i",
        "ş": "s",
        "ł": "l",
        "ś": "s",
        "ń": "n",
        "ó": "o",
        "á": "a",
        "í": "i",
        "ã": "a",
        "ø": "o",
        "å": "a",
        "ř": "r",
        "š": "s",
        "ž": "z",
        "ý": "y",
        "ě": "e",
        "ễ": "e",
        "ë": "e",
        "ú": "u",
        "ô": "o",
        "ê": "e",
        "à": "a",
        "ù": "u",
        "â": "a",
        "ñ": "n",
        "ć": "c",
    }
)


@lru_cache(maxsize=4096)
def ascii_part(name: str) -> str:
    return "".join(c for c in name.lower().translate(_ASCII) if c.isalnum() or c in ".-")


@dataclass(frozen=True)
class DemoSummary:
    domains: int
    mailboxes: int
    aliases: int
    suspended: int
    must_change: int
    disabled: int


def _domain_name(rng: random.Random, used: set[str]) -> str:
    while True:
        shape = rng.random()
        last = ascii_part(rng.choice(LAST))
        trade = rng.choice(TRADES)
        if shape < 0.35:
            name = f"{last}-{trade}"
        elif shape < 0.6:
            name = f"{trade}-{rng.choice(CITIES)}"
        elif shape < 0.8:
            name = f"{rng.choice(WORDS)}{trade}"
        else:
            name = f"{trade}-{last}-{rng.choice(CITIES)}"
        full = f"{name}.{rng.choice(TLDS)}"
        if full in used:
            full = f"{name}{rng.randint(2, 99999)}.{rng.choice(TLDS)}"
        if full not in used:
            used.add(full)
            return full


@lru_cache(maxsize=65536)
def _local_parts(first: str, last: str) -> tuple[str, ...]:
    f, la = ascii_part(first), ascii_part(last)
    return (f"{f}.{la}", f"{f[0]}.{la}", f, la, f"{f}{la}", f"{f}.{la}2")


# Names repeat across a million mailboxes: fold each one once.
_search_name = lru_cache(maxsize=65536)(search_name)
_name_words = lru_cache(maxsize=65536)(name_words)


def _demo_hashes(rng: random.Random, count: int = 32) -> list[str]:
    """A few real SHA512-CRYPT hashes of random secrets: demo accounts cannot be logged into."""
    from passlib.hash import sha512_crypt

    return [
        sha512_crypt.using(rounds=5000, salt=f"{rng.getrandbits(48):012x}"[:16]).hash(
            f"demo-{rng.getrandbits(64):x}"
        )
        for _ in range(count)
    ]


def generate(
    *, mailboxes_count: int, domains_count: int, seed: int, now: datetime
) -> Iterator[tuple[str, list[dict]]]:
    """Yield (table, rows) batches in insert order."""
    rng = random.Random(seed)
    # Role accounts draw from their own generator: the people stay the same for a seed.
    role_rng = random.Random(f"roles-{seed}")
    hashes = _demo_hashes(rng)
    used: set[str] = set()
    domain_rows = []
    for i in range(1, domains_count + 1):
        domain_rows.append(
            {
                "id": i,
                "name": _domain_name(rng, used),
                "enabled": rng.random() > 0.01,
                "created_at": now - timedelta(days=rng.randint(30, 4000)),
            }
        )
    for start in range(0, len(domain_rows), 5000):
        yield "domains", domain_rows[start : start + 5000]

    # Domains differ in size, as a hoster's do: a few large firms, many small offices.
    weights = [rng.lognormvariate(0, 0.9) for _ in domain_rows]
    total_weight = sum(weights)
    sizes = [max(1, int(mailboxes_count * w / total_weight)) for w in weights]
    # Rounding leaves a few mailboxes over or under: spread the difference one by one.
    surplus = sum(sizes) - mailboxes_count
    order = sorted(range(len(sizes)), key=sizes.__getitem__, reverse=True)
    idx = 0
    while surplus > 0:
        if sizes[order[idx % len(order)]] > 1:
            sizes[order[idx % len(order)]] -= 1
            surplus -= 1
        idx += 1
    for idx in range(-surplus):
        sizes[idx % len(sizes)] += 1

    # One customer number per domain owner, unique, in no particular order.
    refs = (
        rng.sample(range(100000, 1000000), len(domain_rows))
        if domains_count <= 900000
        else [100000 + i for i in range(len(domain_rows))]
    )
    mailbox_id = 0
    alias_id = 0
    batch: list[dict] = []
    alias_batch: list[dict] = []
    words_batch: list[dict] = []
    for domain, size in zip(domain_rows, sizes, strict=True):
        customer_ref = f"KD-{refs[domain['id'] - 1]}"
        taken: set[str] = set()
        owner_address = None
        # Most firms with more than one mailbox have a few role accounts in their last slots;
        # the first slot stays a person, who owns the domain's aliases.
        roles: list[str] = []
        if size > 1 and role_rng.random() < 0.7:
            count = min(size - 1, role_rng.randint(1, 4))
            roles = role_rng.sample(sorted(ROLE_MAILBOXES), count)
        for slot in range(max(size, 0)):
            first = rng.choice(FIRST_INTL if rng.random() < 0.15 else FIRST_DE)
            last = rng.choice(LAST)
            local = next((p for p in _local_parts(first, last) if p not in taken), None)
            while local is None or local in taken:
                local = f"{ascii_part(first)}.{ascii_part(last)}{rng.randint(3, 9999)}"
            realname = f"{first} {last}"
            role = roles[slot - (size - len(roles))] if slot >= size - len(roles) else None
            if role and role not in taken:
                local, realname = role, ROLE_MAILBOXES[role]
            taken.add(local)
            mailbox_id += 1
            address = f"{local}@{domain['name']}"
            owner_address = owner_address or address
            roll = rng.random()
            changed = now - timedelta(days=rng.randint(0, 6 * 365), seconds=rng.randint(0, 86399))
            batch.append(
                {
                    "id": mailbox_id,
                    "domain_id": domain["id"],
                    "local_part": local,
                    "address": address,
                    "realname": realname,
                    "search_name": _search_name(realname),
                    "password_hash": hashes[mailbox_id % len(hashes)],
                    "password_changed_at": changed,
                    "must_change_password": 0.02 < roll < 0.07,
                    "enabled": roll > 0.01,
                    "smtp_enabled": not (0.01 < roll < 0.016),
                    "quota_mb": rng.choice([1024, 2048, 5120, 10240]),
                    "customer_ref": customer_ref,
                    "version": 1,
                    "created_at": changed - timedelta(days=rng.randint(0, 900)),
                }
            )
            words_batch.extend({"word": w, "mailbox_id": mailbox_id} for w in _name_words(realname))
            if len(batch) >= 10000:
                yield "mailboxes", batch
                yield "mailbox_name_words", words_batch
                batch, words_batch = [], []
        if owner_address and rng.random() < 0.8:
            for role in rng.sample(ROLE_ADDRESSES, rng.randint(1, 2)):
                if role in taken:
                    continue
                alias_id += 1
                alias_batch.append(
                    {
                        "id": alias_id,
                        "domain_id": domain["id"],
                        "address": f"{role}@{domain['name']}",
                        "target": owner_address,
                        "enabled": True,
                    }
                )
        if len(alias_batch) >= 10000:
            yield "aliases", alias_batch
            alias_batch = []
    if batch:
        yield "mailboxes", batch
        yield "mailbox_name_words", words_batch
    if alias_batch:
        yield "aliases", alias_batch


_TABLES = {
    "domains": domains,
    "mailboxes": mailboxes,
    "aliases": aliases,
    "mailbox_name_words": mailbox_name_words,
}


def fill(
    db: Database,
    *,
    mailboxes_count: int = 3000,
    domains_count: int = 260,
    seed: int = 1,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    more: Callable[[Connection, int, int, int], None] | None = None,
) -> DemoSummary:
    """Fill an empty database; refuses one that already holds mailboxes.

    `more(conn, seed, mailboxes_count, domains_count)` adds another capability's demo rows in
    the same transaction (`helpdesk db demo` passes the spam settings' filler): the database
    package does not import the capabilities built on it.
    """
    if mailboxes_count < 1 or domains_count < 1:
        raise PolicyError(M("--mailboxes and --domains must be at least 1"))
    if domains_count > mailboxes_count:
        raise PolicyError(M("there must be at least as many mailboxes as domains"))
    now = now or datetime(2026, 11, 1, 9, 0, 0)
    with db.connect() as conn:
        existing = conn.execute(select(func.count()).select_from(mailboxes)).scalar_one()
    if existing:
        raise PolicyError(
            Mn(
                "the database already holds {n} mailbox; demo data goes into an empty one",
                "the database already holds {n} mailboxes; demo data goes into an empty one",
                existing,
                n=str(existing),  # digits as before: scripts match this line
            )
        )
    done = 0
    with db.begin() as conn:
        for table, rows in generate(
            mailboxes_count=mailboxes_count, domains_count=domains_count, seed=seed, now=now
        ):
            conn.execute(insert(_TABLES[table]), rows)
            if table == "mailboxes":
                done += len(rows)
                if progress:
                    progress(done)
        if more:
            more(conn, seed, mailboxes_count, domains_count)
        if db.dialect == "postgresql":
            _reset_sequences(conn)
    with db.connect() as conn:
        return _summary(conn)


def _reset_sequences(conn: Connection) -> None:
    # Explicit ids leave PostgreSQL's sequences behind; later inserts would collide.
    for table in ("domains", "mailboxes", "aliases"):
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        )


def _summary(conn: Connection) -> DemoSummary:
    def count(table, *where) -> int:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()

    return DemoSummary(
        domains=count(domains),
        mailboxes=count(mailboxes),
        aliases=count(aliases),
        suspended=count(mailboxes, mailboxes.c.smtp_enabled.is_(False)),
        must_change=count(mailboxes, mailboxes.c.must_change_password.is_(True)),
        disabled=count(mailboxes, mailboxes.c.enabled.is_(False)),
    )
