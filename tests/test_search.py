"""Search ranking, umlaut folding and bounds, on all three databases."""

from helpdesk.mailcenter.folding import fold, search_name
from helpdesk.mailcenter.mailboxes import create_mailbox
from helpdesk.mailcenter.search import find_mailboxes


def seed(db):
    with db.begin() as conn:
        create_mailbox(
            conn, "jan.mueller@firma-mueller.de", realname="Jan Müller", customer_ref="KD-100200"
        )
        create_mailbox(
            conn, "mueller@beispiel.de", realname="Erika Mustermann", customer_ref="KD-300400"
        )
        create_mailbox(
            conn, "mueller.hans@beispiel.de", realname="Hans Müller", customer_ref="KD-300400"
        )
        create_mailbox(
            conn, "info@mueller-bau.de", realname="Büro Schmidt", customer_ref="KD-500600"
        )
        create_mailbox(
            conn, "j.muller@example.com", realname="Jürgen Muller", customer_ref="KD-700800"
        )
        create_mailbox(
            conn, "anna@praxis-koenig.de", realname="Anna König", customer_ref="KD-900100"
        )
        create_mailbox(conn, "samuel@example.com", realname="Samuel Weiß", customer_ref="KD-900200")


def addresses(result):
    return [h.mailbox.address for h in result.hits]


def test_fold_meets_all_spellings():
    assert fold("Müller") == fold("Mueller") == fold("muller") == "muller"
    assert fold("Weiß") == "weiss"
    assert fold("François") == "francois"
    assert search_name("Jürgen  Weiß") == " jurgen weiss"


def test_ranking_tiers_in_order(db):
    seed(db)
    with db.connect() as conn:
        result = find_mailboxes(conn, "mueller@beispiel.de")
        assert addresses(result)[0] == "mueller@beispiel.de"
        assert result.hits[0].match == "exact address"

        result = find_mailboxes(conn, "mueller")
        matches = [(h.mailbox.address, h.match) for h in result.hits]
        # address prefix, then real-name word, then local-part prefix and address part
        assert matches[0] == ("mueller.hans@beispiel.de", "address prefix")
        assert matches[1] == ("mueller@beispiel.de", "address prefix")
        kinds = [m for _, m in matches]
        assert kinds.index("address contains") > kinds.index("name")
        assert ("j.muller@example.com", "name") in matches
        assert matches[-1] == ("info@mueller-bau.de", "address contains")


def test_umlaut_insensitive_name_search(db):
    seed(db)
    with db.connect() as conn:
        for query in ("müller", "mueller", "muller", "MÜLLER"):
            found = addresses(find_mailboxes(conn, query))
            assert "j.muller@example.com" in found, query
            assert "jan.mueller@firma-mueller.de" in found, query
        assert addresses(find_mailboxes(conn, "konig")) == ["anna@praxis-koenig.de"]
        assert addresses(find_mailboxes(conn, "König"))[0] == "anna@praxis-koenig.de"
        assert addresses(find_mailboxes(conn, "weiss")) == ["samuel@example.com"]
        # A name that merely contains "ue" still finds itself.
        assert "samuel@example.com" in addresses(find_mailboxes(conn, "Samuel"))


def test_word_prefix_not_infix_for_names(db):
    seed(db)
    with db.connect() as conn:
        # "ller" is inside "Müller" but starts no word of any name or address.
        assert find_mailboxes(conn, "ustermann").hits == []
        assert addresses(find_mailboxes(conn, "Muster")) == ["mueller@beispiel.de"]


def test_customer_number_and_domain(db):
    seed(db)
    with db.connect() as conn:
        result = find_mailboxes(conn, "kd-3004")
        assert sorted(addresses(result)) == ["mueller.hans@beispiel.de", "mueller@beispiel.de"]
        assert {h.match for h in result.hits} == {"customer number"}
        assert sorted(addresses(find_mailboxes(conn, "beispiel.de"))) == [
            "mueller.hans@beispiel.de",
            "mueller@beispiel.de",
        ]


def test_bounded_with_total(db):
    with db.begin() as conn:
        for i in range(30):
            create_mailbox(conn, f"user{i:02d}@grossfirma.de", realname=f"Kunde {i}")
    with db.connect() as conn:
        result = find_mailboxes(conn, "grossfirma", limit=10)
        assert len(result.hits) == 10
        assert result.total == 30
        assert find_mailboxes(conn, "nothing-like-this").total == 0
        assert find_mailboxes(conn, "   ").hits == []


def test_query_characters_are_not_patterns(db):
    seed(db)
    with db.connect() as conn:
        assert find_mailboxes(conn, "%").hits == []
        assert find_mailboxes(conn, "a_n").hits == []
        assert find_mailboxes(conn, "'\"; drop").hits == []


def test_total_past_the_cap_is_a_lower_bound(db, monkeypatch):
    import helpdesk.mailcenter.search as search

    monkeypatch.setattr(search, "COUNT_CAP", 5)
    with db.begin() as conn:
        for i in range(8):
            create_mailbox(conn, f"kasse{i}@baeckerei.de", realname=f"Filiale {i}")
    with db.connect() as conn:
        result = find_mailboxes(conn, "kasse", limit=3)
        exact = find_mailboxes(conn, "kasse7")
    assert len(result.hits) == 3 and result.total_is_lower_bound
    assert result.total_text == "5+"
    assert not exact.total_is_lower_bound and exact.total == 1


def test_renamed_mailbox_is_found_by_its_new_name_only(db):
    from helpdesk.mailcenter.audit import Operator
    from helpdesk.mailcenter.mailboxes import get_mailbox, update_mailbox

    seed(db)
    with db.begin() as conn:
        mailbox = get_mailbox(conn, "anna@praxis-koenig.de")
        update_mailbox(
            conn,
            mailbox,
            {"realname": "Anna Großmann"},
            action="rename",
            ticket="T-1",
            operator=Operator("op"),
        )
    with db.connect() as conn:
        assert addresses(find_mailboxes(conn, "grossm")) == ["anna@praxis-koenig.de"]
        assert find_mailboxes(conn, "König").hits == []
        # several words: each must start a word of the name
        assert addresses(find_mailboxes(conn, "anna gross")) == ["anna@praxis-koenig.de"]
        assert find_mailboxes(conn, "anna müller").hits == []


def test_mailboxes_written_by_another_program_are_indexed_by_db_init(db, config_file):
    from tests.conftest import run_cli

    # The hoster's admin panel knows nothing of search_name or the word index.
    with db.begin() as conn:
        _raw_mailbox(conn, "h.kuehn@altbestand.de", realname="Heinz Kühn")
    with db.connect() as conn:
        assert find_mailboxes(conn, "kuhn").hits == []
    out = run_cli("db", "init", config=config_file)
    assert out.returncode == 0 and "indexed the name of 1 existing mailbox" in out.stdout
    with db.connect() as conn:
        assert addresses(find_mailboxes(conn, "Kühn")) == ["h.kuehn@altbestand.de"]
        assert addresses(find_mailboxes(conn, "kühn heinz")) == ["h.kuehn@altbestand.de"]
    again = run_cli("db", "reindex", "--json", config=config_file)
    assert again.returncode == 0 and '"indexed": 0' in again.stdout


def test_accented_query_is_a_name_not_an_address(db):
    with db.begin() as conn:
        create_mailbox(conn, "celik@bau.de", realname="Mehmet Yilmaz")
        create_mailbox(conn, "m.y@bau.de", realname="Ayşe Çelik")
    with db.connect() as conn:
        result = find_mailboxes(conn, "Çelik")
        assert [(h.mailbox.address, h.match) for h in result.hits] == [("m.y@bau.de", "name")]
        assert addresses(find_mailboxes(conn, "celik")) == ["celik@bau.de", "m.y@bau.de"]


def _raw_mailbox(conn, address: str, realname: str = "") -> None:
    """A mailbox as the hoster's admin panel writes it: plain SQL, no helpdesk code."""
    from sqlalchemy import insert, select

    from helpdesk.mailcenter.mailboxes import create_domain
    from helpdesk.mailcenter.schema import domains, mailboxes

    local, domain = address.split("@")
    domain_id = conn.execute(select(domains.c.id).where(domains.c.name == domain)).scalar()
    if domain_id is None:
        domain_id = create_domain(conn, domain)
    conn.execute(
        insert(mailboxes).values(
            domain_id=domain_id,
            local_part=local,
            address=address,
            realname=realname,
            password_hash="",
            must_change_password=False,
            enabled=True,
            smtp_enabled=True,
            quota_mb=1,
            customer_ref="",
            version=1,
        )
    )


def _contains(conn, query):
    return [
        h.mailbox.address for h in find_mailboxes(conn, query).hits if h.match == "address contains"
    ]


def test_address_parts_follow_other_programs_writes(db):
    from sqlalchemy import delete, func, select, update

    from helpdesk.mailcenter.schema import mailbox_address_parts, mailboxes

    with db.begin() as conn:
        _raw_mailbox(conn, "h.kuehn@altbestand-koeln.de")
    with db.connect() as conn:
        assert _contains(conn, "kuehn@altbestand") == ["h.kuehn@altbestand-koeln.de"]
        assert _contains(conn, "koeln.de") == ["h.kuehn@altbestand-koeln.de"]
    with db.begin() as conn:
        conn.execute(
            update(mailboxes)
            .where(mailboxes.c.address == "h.kuehn@altbestand-koeln.de")
            .values(address="h.kuehn@neubau-bonn.de")
        )
    with db.connect() as conn:
        assert _contains(conn, "koeln.de") == []
        assert _contains(conn, "bonn.de") == ["h.kuehn@neubau-bonn.de"]
    with db.begin() as conn:
        conn.execute(delete(mailboxes).where(mailboxes.c.address == "h.kuehn@neubau-bonn.de"))
    with db.connect() as conn:
        assert _contains(conn, "bonn.de") == []
        left = conn.execute(select(func.count()).select_from(mailbox_address_parts)).scalar()
        assert left == 0


def test_query_starting_with_a_separator_needs_that_separator(db):
    with db.begin() as conn:
        create_mailbox(conn, "info@mueller-bau.de")
        create_mailbox(conn, "chef@bau.de")
        create_mailbox(conn, "bau.leiter@example.com")
    with db.connect() as conn:
        assert _contains(conn, "-bau.de") == ["info@mueller-bau.de"]
        assert _contains(conn, "@bau.de") == ["chef@bau.de"]
        assert sorted(_contains(conn, "bau.")) == ["chef@bau.de", "info@mueller-bau.de"]
        assert find_mailboxes(conn, ".com").total == 1


def test_word_inside_a_word_where_a_trigram_index_exists(db):
    with db.begin() as conn:
        create_mailbox(conn, "hansmueller@beispiel.de")
        create_mailbox(conn, "info@mueller-bau.de")
    with db.connect() as conn:
        found = _contains(conn, "mueller")
        # a multi-part query starts at a part
        assert _contains(conn, "ller-bau") == []
    if db.dialect == "mysql":
        # MariaDB has no trigram index (docs/schema.md, "Search").
        assert found == ["info@mueller-bau.de"]
    else:
        assert found == ["info@mueller-bau.de", "hansmueller@beispiel.de"]


def test_db_init_fills_address_parts_for_an_older_schema(db, config_file):
    from sqlalchemy import text

    from tests.conftest import run_cli

    with db.begin() as conn:
        create_mailbox(conn, "anna@praxis-koenig.de")
        conn.execute(text("DELETE FROM mailbox_address_parts"))
    with db.connect() as conn:
        assert _contains(conn, "koenig.de") == []
    assert run_cli("db", "init", config=config_file).returncode == 0
    with db.connect() as conn:
        assert _contains(conn, "koenig.de") == ["anna@praxis-koenig.de"]
    with db.begin() as conn:
        conn.execute(text("DELETE FROM mailbox_address_parts WHERE part LIKE 'de'"))
    out = run_cli("db", "reindex", "--all", config=config_file)
    assert out.returncode == 0 and "rebuilt the address parts" in out.stdout
    with db.connect() as conn:
        assert find_mailboxes(conn, ".de").total == 1


def test_an_address_matching_in_two_parts_counts_once(db, monkeypatch):
    import helpdesk.mailcenter.search as search

    monkeypatch.setattr(search, "COUNT_CAP", 3)
    with db.begin() as conn:
        create_mailbox(conn, "a.kasse@kasse-eins.de")
        create_mailbox(conn, "b.kasse@kasse-zwei.de")
    with db.connect() as conn:
        result = find_mailboxes(conn, "kasse")
    assert (result.total, result.total_is_lower_bound) == (2, False)
    assert [h.match for h in result.hits] == ["address contains", "address contains"]


def _firm(db):
    """People named Müller, a firm at mueller-sanitaer, and a domain-only Müller match."""
    with db.begin() as conn:
        for address, name in [
            ("info@mueller-bau.de", "Büro Schmidt"),
            ("k.weber@mueller-holz.de", "Karl Weber"),
            ("a.franke@firma.de", "Anna Müller"),
            ("b.krause@example.com", "Bernd Mueller"),
            ("c.koch@beispiel.de", "Carla Muller"),
            ("d.lang@beispiel.de", "Dirk Müllermeister"),
            ("j.mueller@mueller-sanitaer.de", "Jörg Müller"),
            ("buchhaltung@mueller-sanitaer.de", "Buchhaltung"),
            ("info@mueller-sanitaer.de", "Info"),
            ("kontakt@mueller-sanitaer.com", "Kontakt"),
            ("p.wolf@sanitaer-koeln.de", "Peter Wolf"),
            ("h.mueller@bau-koeln.de", "Hans Müller"),
        ]:
            create_mailbox(conn, address, realname=name)


def test_people_named_mueller_rank_above_domain_only_matches(db):
    _firm(db)
    people = {
        "a.franke@firma.de",
        "b.krause@example.com",
        "c.koch@beispiel.de",
        "j.mueller@mueller-sanitaer.de",
        "h.mueller@bau-koeln.de",
    }
    with db.connect() as conn:
        found = {q: find_mailboxes(conn, q).hits for q in ("mueller", "müller", "muller")}
    firsts = {q: [h.mailbox.address for h in hits[:6]] for q, hits in found.items()}
    assert firsts["mueller"] == firsts["müller"] == firsts["muller"]
    # the exact word "Müller" before the prefix "Müllermeister", both before any domain match
    assert set(firsts["mueller"][:5]) == people
    assert firsts["mueller"][5] == "d.lang@beispiel.de"
    assert {h.match for h in found["mueller"][:6]} == {"name"}
    domain_only = [h.mailbox.address for h in found["mueller"][6:]]
    assert "info@mueller-bau.de" in domain_only and "k.weber@mueller-holz.de" in domain_only


def test_several_words_all_match_in_address_or_name(db):
    _firm(db)
    with db.connect() as conn:
        firm = find_mailboxes(conn, "sanitaer mueller")
        assert sorted(h.mailbox.address for h in firm.hits) == [
            "buchhaltung@mueller-sanitaer.de",
            "info@mueller-sanitaer.de",
            "j.mueller@mueller-sanitaer.de",
            "kontakt@mueller-sanitaer.com",
        ]
        assert firm.total == 4
        # p.wolf@sanitaer-koeln.de holds one word only, h.mueller@bau-koeln.de the other
        assert find_mailboxes(conn, "mueller koeln").total == 1
        assert [h.mailbox.address for h in find_mailboxes(conn, "hans koeln").hits] == [
            "h.mueller@bau-koeln.de"
        ]
        name = find_mailboxes(conn, "müller jörg")
        assert [(h.mailbox.address, h.match) for h in name.hits] == [
            ("j.mueller@mueller-sanitaer.de", "name")
        ]
        assert find_mailboxes(conn, "mueller nobody").hits == []
        # a name in either order, the last word a prefix; three words all checked
        for query in ("jörg müller", "mueller joerg", "Müller Jö", "joerg mueller sanitaer"):
            found = find_mailboxes(conn, query)
            assert [h.mailbox.address for h in found.hits] == ["j.mueller@mueller-sanitaer.de"]
        assert find_mailboxes(conn, "joerg mueller koeln").hits == []
        # a pasted paragraph is answered, not a parser error
        assert find_mailboxes(conn, " ".join(f"w{i}" for i in range(3000))).hits == []


def test_words_apart_read_a_bounded_number_of_rows(db, monkeypatch):
    import helpdesk.mailcenter.search as search

    with db.begin() as conn:
        for i in range(6):
            create_mailbox(conn, f"hans{i}@bau-koeln.de", realname=f"Hans Weber {i}")
            create_mailbox(conn, f"hans{i}@bau-bonn.de", realname=f"Hans Weber {i}")
    with db.connect() as conn:
        # "hans" and "koeln" are never side by side: found from the rarer word's rows
        full = find_mailboxes(conn, "hans koeln")
        monkeypatch.setattr(search, "WALK", 3)
        bounded = find_mailboxes(conn, "hans koeln")
    assert (full.total, full.total_is_lower_bound) == (6, False)
    assert bounded.total_is_lower_bound and bounded.total_text.endswith("+")
    assert {h.mailbox.address for h in bounded.hits} <= {h.mailbox.address for h in full.hits}


def _demo_mailboxes(seed: int) -> list[dict]:
    from datetime import datetime

    from helpdesk.mailcenter.demo import generate

    batches = generate(
        mailboxes_count=3000, domains_count=260, seed=seed, now=datetime(2026, 11, 1, 9)
    )
    return [row for table, rows in batches if table == "mailboxes" for row in rows]


def test_demo_data_has_role_accounts_on_many_domains():
    rows = _demo_mailboxes(1)
    roles = [r for r in rows if r["local_part"] in ("info", "kontakt", "buchhaltung", "rechnung")]
    assert len({r["domain_id"] for r in roles}) >= 50
    assert {r["local_part"] for r in roles} == {"info", "kontakt", "buchhaltung", "rechnung"}
    assert len(rows) == 3000 and len({r["address"] for r in rows}) == 3000
    assert rows == _demo_mailboxes(1) and rows != _demo_mailboxes(2)


def test_db_init_adds_the_name_pairs_an_older_index_lacks(db, config_file):
    from sqlalchemy import delete, func, select

    from helpdesk.mailcenter.folding import PAIR_MARK
    from helpdesk.mailcenter.schema import mailbox_name_words
    from tests.conftest import run_cli

    pairs = select(func.count()).where(mailbox_name_words.c.word.like(f"{PAIR_MARK}%"))
    with db.begin() as conn:
        create_mailbox(conn, "j.franke@franke-bau.de", realname="Jürgen Franke")
        # An index written before neighbouring words were indexed as pairs: at 1,000,000
        # mailboxes "jürgen franke" then finds only what a bounded read of one word reaches.
        conn.execute(
            delete(mailbox_name_words).where(mailbox_name_words.c.word.like(f"{PAIR_MARK}%"))
        )
        assert conn.execute(pairs).scalar_one() == 0
    out = run_cli("db", "init", config=config_file)
    assert out.returncode == 0 and "indexed the name of 1 existing mailbox" in out.stdout
    with db.connect() as conn:
        assert conn.execute(pairs).scalar_one() == 2  # both orders
        assert addresses(find_mailboxes(conn, "franke jürgen")) == ["j.franke@franke-bau.de"]
    again = run_cli("db", "init", config=config_file)
    assert again.returncode == 0 and "indexed" not in again.stdout
