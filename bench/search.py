"""Search speed at 3,000 and 1,000,000 mailboxes, on SQLite, PostgreSQL and MariaDB.

For each database and query kind it prints the median time of the project's search next to
a naive `LIKE '%q%'` scan measured in the same run, and the ratio between the two sizes.
Target: the 1M/3k ratio of the project's search within 1.5x, every median well under 50 ms.

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

from helpdesk.db import Database  # noqa: E402
from helpdesk.demo import fill  # noqa: E402
from helpdesk.schema import mailboxes  # noqa: E402
from helpdesk.search import find_mailboxes  # noqa: E402

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
        fill(db, mailboxes_count=size, domains_count=max(260, size // 17), seed=1)
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
    return {
        "exact address": first.address,
        "address prefix": first.address[: len(first.local_part) + 4],
        "local part": local,
        "domain": first.address.split("@")[1],
        "name (umlaut)": named.split()[-1].replace("ü", "ue"),
        "customer no.": first.customer_ref,
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
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    kinds = args.only or ["sqlite", "postgresql", "mariadb"]
    print(
        f"{'database':<11} {'query':<15} {'hits 3k/1M':>11} {'ours 3k':>9} {'ours 1M':>9} "
        f"{'1M/3k':>6} {'naive 1M':>9} {'naive/ours':>10}"
    )
    worst_ratio, worst_ms = 0.0, 0.0
    for kind in kinds:
        small = database(kind, args.small, args.rebuild)
        large = database(kind, args.large, args.rebuild)
        q_small, q_large = queries(small), queries(large)
        for label in q_small:
            a = median_ms(ours(small, q_small[label]))
            b = median_ms(ours(large, q_large[label]))
            # A scan of a million rows takes seconds: three runs give its median well enough.
            n = median_ms(naive(large, q_large[label]), repeat=3)
            worst_ratio, worst_ms = max(worst_ratio, b / a), max(worst_ms, b)
            found = f"{hits(small, q_small[label])}/{hits(large, q_large[label])}"
            print(
                f"{kind:<11} {label:<15} {found:>11} {a:>7.2f}ms {b:>7.2f}ms {b / a:>6.2f} "
                f"{n:>7.1f}ms {n / b:>9.0f}x"
            )
        small.dispose()
        large.dispose()
    print(f"worst 1M/3k ratio {worst_ratio:.2f} (target <= 1.5); slowest median {worst_ms:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
