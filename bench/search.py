"""Search speed at 3,000 and 1,000,000 mailboxes, on SQLite, PostgreSQL and MariaDB.

For each database and query kind it prints the median time of the project's search next to
a naive `LIKE '%q%'` scan measured in the same run, and the ratio between the two sizes.
Target: the 1M/3k ratio of the project's search within 1.5x, every median well under 50 ms.
Multi-word queries (a person's full name, a firm as "trade surname") must match every word; the
rarest word drives the search and the others are checked on its rows only.
A middle size (100,000) separates the table's size from the result's: a common surname finds
23 mailboxes at 3,000 and more than the cap (1000+) from 100,000 on, and from there on its time
stays the same.

    .venv/bin/python bench/search.py                 # all three, builds what is missing
    .venv/bin/python bench/search.py --only sqlite --large 200000
Databases are kept between runs (bench/out/ and hd_bench_* on the servers); --rebuild redoes them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, func, or_, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpdesk.mailcenter.db import Database  # noqa: E402
from helpdesk.mailcenter.demo import TRADES, fill  # noqa: E402
from helpdesk.mailcenter.schema import mailboxes  # noqa: E402
from helpdesk.mailcenter.search import find_mailboxes  # noqa: E402
from helpdesk.spam.demo import insert_demo_rows  # noqa: E402

OUT = ROOT / "bench" / "out"
SERVERS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306",
}
REPEAT = 15


def database(kind: str, size: int, rebuild: bool) -> Database:
    name = f"hd_bench_{size}"
    if kind == "sqlite":
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"{name}.sqlite"
        if rebuild and path.exists():
            path.unlink()
        db = Database(f"sqlite:///{path}")
    else:
        admin = create_engine(
            f"{SERVERS[kind]}/{'postgres' if kind == 'postgresql' else ''}",
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as conn:
            if kind == "postgresql":
                exists = conn.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
                ).scalar()
            else:
                exists = conn.execute(text("SHOW DATABASES LIKE :n"), {"n": name}).scalar()
            if exists and rebuild:
                conn.execute(text(f"DROP DATABASE {name}"))
                exists = False
            if not exists:
                suffix = "" if kind == "postgresql" else " CHARACTER SET utf8mb4"
                conn.execute(text(f"CREATE DATABASE {name}{suffix}"))
        admin.dispose()
        db = Database(f"{SERVERS[kind]}/{name}")
    db.create_schema()
    with db.connect() as conn:
        have = conn.execute(select(func.count()).select_from(mailboxes)).scalar_one()
    if have != size:
        if have:
            raise SystemExit(f"{db.display_url} holds {have} mailboxes, not {size}: use --rebuild")
        start = time.perf_counter()
        fill(
            db,
            mailboxes_count=size,
            domains_count=max(260, size // 17),
            seed=1,
            more=insert_demo_rows,
        )
        print(f"  built {size:,} mailboxes in {kind} in {time.perf_counter() - start:.0f} s")
        if kind == "postgresql":
            # What autovacuum does after a bulk load; without the visibility map an index-only
            # scan still visits the table.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
    return db


def queries(db: Database) -> dict[str, str]:
    """Queries built from real rows, so both sizes answer the same kind of question. The local
    part is one that the search finds once: one shared by 86 mailboxes fills the page with 50
    rows to show, which costs more than showing 2 at any size. The hits column says how many
    each query found; a common surname finds more at a million by nature."""
    c = mailboxes.c
    with db.connect() as conn:
        rows = conn.execute(select(mailboxes).order_by(c.id).limit(2000)).all()
        first = rows[0]
        # In Python: MariaDB's collation would read "ü" in LIKE as "u".
        named = next(r.realname for r in rows if "ü" in r.realname.split()[-1])
        local = next(
            (r.local_part for r in rows if find_mailboxes(conn, r.local_part).total == 1),
            first.local_part,
        )
        # A person's full name as a caller says it, and a firm said as "trade surname" for
        # a domain built as "surname-trade.de": both words must match, in any order.
        person = next(r.realname for r in rows if len(r.realname.split()) == 2)
        firm = next(
            r.address.split("@")[1].split(".")[0].split("-")
            for r in rows
            if r.address.split("@")[1].split(".")[0].split("-")[-1] in TRADES
            and r.address.split("@")[1].count("-") == 1
        )
    return {
        "exact address": first.address,
        "address prefix": first.address[: len(first.local_part) + 4],
        "local part": local,
        "domain": first.address.split("@")[1],
        "name (umlaut)": named.split()[-1].replace("ü", "ue"),
        "customer no.": first.customer_ref,
        "two-word name": person,
        "trade + surname": f"{firm[1]} {firm[0]}",
    }


def hits(db: Database, q: str) -> str:
    with db.connect() as conn:
        return find_mailboxes(conn, q, limit=50).total_text


def median_ms(fn, repeat: int = REPEAT) -> float:
    fn()  # warm caches and plans
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def naive(db: Database, q: str):
    pattern = f"%{q.lower()}%"

    def run():
        with db.connect() as conn:
            where = or_(
                func.lower(mailboxes.c.address).like(pattern),
                func.lower(mailboxes.c.realname).like(pattern),
                func.lower(mailboxes.c.customer_ref).like(pattern),
            )
            conn.execute(select(func.count()).select_from(mailboxes).where(where)).scalar_one()
            conn.execute(select(mailboxes.c.id).where(where).limit(50)).all()

    return run


def ours(db: Database, q: str):
    def run():
        with db.connect() as conn:
            find_mailboxes(conn, q, limit=50)

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["sqlite", "postgresql", "mariadb"], action="append")
    parser.add_argument("--small", type=int, default=3000)
    parser.add_argument("--middle", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    kinds = args.only or ["sqlite", "postgresql", "mariadb"]
    print(
        f"{'database':<11} {'query':<15} {'hits 3k/100k/1M':>18} {'ours 3k':>9} {'ours 100k':>9} "
        f"{'ours 1M':>9} {'1M/3k':>6} {'1M/100k':>7} {'naive 1M':>9} {'naive/ours':>10}"
    )
    worst_ratio, worst_ms = 0.0, 0.0
    for kind in kinds:
        sizes = [database(kind, n, args.rebuild) for n in (args.small, args.middle, args.large)]
        asked = [queries(db) for db in sizes]
        for label in asked[0]:
            a, m, b = (median_ms(ours(db, q[label])) for db, q in zip(sizes, asked, strict=True))
            # A scan of a million rows takes seconds: three runs give its median well enough.
            n = median_ms(naive(sizes[2], asked[2][label]), repeat=3)
            worst_ratio, worst_ms = max(worst_ratio, b / a), max(worst_ms, b)
            found = "/".join(hits(db, q[label]) for db, q in zip(sizes, asked, strict=True))
            print(
                f"{kind:<11} {label:<15} {found:>18} {a:>7.2f}ms {m:>7.2f}ms {b:>7.2f}ms "
                f"{b / a:>6.2f} {b / m:>7.2f} {n:>7.1f}ms {n / b:>9.0f}x"
            )
        for db in sizes:
            db.dispose()
    print(f"worst 1M/3k ratio {worst_ratio:.2f} (target <= 1.5); slowest median {worst_ms:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
