"""The store: migrations, SQLite settings, item upserts, and consistency under concurrent writers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digest.clean.items import Item, content_hash
from digest.store import repository as repo
from digest.store.db import SCHEMA_HEAD, current_revision, open_engine
from digest.store.url import resolve_url, sqlite_path
from tests.conftest import store_rows


def _item(guid: str, title: str = "A post", body: str = "<p>Body</p>") -> Item:
    return Item(
        guid=guid,
        url=f"https://blog.example/{guid}",
        title=title,
        author="Ada",
        published=datetime(2026, 11, 1, tzinfo=UTC),
        summary=None,
        content_html=body,
        excerpt="Body",
        image_url=None,
        content_hash=content_hash(title, body),
    )


def test_schema_head_constant_matches_the_newest_migration() -> None:
    from importlib.resources import files

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(files("digest.migrations")))
    assert ScriptDirectory.from_config(cfg).get_heads() == [SCHEMA_HEAD]


def test_models_and_migrations_describe_the_same_schema(engine) -> None:
    """Autogenerate against a migrated store must find nothing to do."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from digest.store.models import Base

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_a_new_store_is_migrated_to_head_in_wal_mode_with_foreign_keys(engine) -> None:
    assert current_revision(engine) == SCHEMA_HEAD
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA temp_store").scalar() == 2  # savepoint journals in memory
    from digest.store import open_store

    store = open_store(str(engine.url))
    try:
        settings = [
            store.conn.execute(f"PRAGMA {name}").fetchone()[0]  # type: ignore[attr-defined]
            for name in ("journal_mode", "foreign_keys", "temp_store", "cache_size")
        ]
    finally:
        store.close()
    assert settings == ["wal", 1, 2, -65536]  # the driver's connections are the engine's
    tables = {r[0] for r in store_rows(engine, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sources", "items", "fetches", "digests", "digest_entries", "alembic_version"} <= tables


def test_opening_a_current_store_does_no_migration_work(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    open_engine(db_url).dispose()
    import digest.store.db as db

    def boom(engine: object) -> None:
        raise AssertionError("upgrade ran on a current schema")

    monkeypatch.setattr(db, "upgrade", boom)
    open_engine(db_url).dispose()


def test_store_url_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    assert resolve_url(None, None, data) == f"sqlite:///{data / 'digest.db'}"
    assert resolve_url(None, "postgresql://u@h/db", data) == "postgresql://u@h/db"
    monkeypatch.setenv("DIGEST_DB", str(tmp_path / "env.db"))
    assert resolve_url(None, "postgresql://u@h/db", data) == f"sqlite:///{tmp_path / 'env.db'}"
    assert resolve_url("sqlite:////x/flag.db", "cfg", data) == "sqlite:////x/flag.db"
    assert sqlite_path("sqlite:////x/flag.db") == Path("/x/flag.db")
    assert sqlite_path("postgresql://u@h/db") is None


def test_upsert_is_idempotent_and_updates_changed_items_in_place(engine, add_source, now) -> None:
    sid = add_source("https://blog.example/feed")
    items = [_item("a"), _item("b")]
    with repo.session(engine) as s, s.begin():
        assert repo.upsert_items(s, sid, items, now) == (2, 0)
    with repo.session(engine) as s, s.begin():
        assert repo.upsert_items(s, sid, items, now) == (0, 0)
    ids_before = dict(store_rows(engine, "SELECT guid, id FROM items"))
    changed = replace(items[0], title="A post, revised", content_hash=content_hash("A post, revised", "<p>Body</p>"))
    later = now + timedelta(hours=1)
    with repo.session(engine) as s, s.begin():
        assert repo.upsert_items(s, sid, [changed, items[1]], later) == (0, 1)
    rows = store_rows(engine, "SELECT guid, id, title, first_seen_at, updated_at FROM items ORDER BY guid")
    assert [(g, i) for g, i, *_ in rows] == sorted(ids_before.items())
    assert rows[0][2] == "A post, revised"
    assert rows[0][3] != rows[0][4]  # first seen kept, updated moved


def test_the_same_guid_in_two_sources_is_two_items(engine, add_source, now) -> None:
    a = add_source("https://a.example/feed")
    b = add_source("https://b.example/feed")
    with repo.session(engine) as s, s.begin():
        repo.upsert_items(s, a, [_item("shared")], now)
        repo.upsert_items(s, b, [_item("shared")], now)
    assert store_rows(engine, "SELECT count(*) FROM items") == [(2,)]


def test_removing_a_source_removes_its_items(engine, add_source, now) -> None:
    sid = add_source("https://a.example/feed", name="a")
    with repo.session(engine) as s, s.begin():
        repo.upsert_items(s, sid, [_item("x")], now)
    with repo.session(engine) as s, s.begin():
        repo.remove_source(s, "a")
    assert store_rows(engine, "SELECT count(*) FROM items") == [(0,)]


def test_adding_a_source_twice_is_refused(engine, add_source) -> None:
    add_source("https://a.example/feed", name="a")
    with pytest.raises(repo.SourceExists, match="URL"):
        add_source("https://a.example/feed", name="other")
    with pytest.raises(repo.SourceExists, match="name"):
        add_source("https://b.example/feed", name="a")


def test_naive_datetimes_are_refused_rather_than_stored_ambiguously(engine, add_source) -> None:
    sid = add_source("https://a.example/feed")
    with pytest.raises(Exception, match="naive datetime"), repo.session(engine) as s, s.begin():
        repo.upsert_items(s, sid, [_item("x")], datetime(2026, 1, 1))


_WRITER = textwrap.dedent("""
    import sys
    from datetime import UTC, datetime
    from digest.clean.items import Item, content_hash
    from digest.store import repository as repo
    from digest.store.db import open_engine

    url, sid, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    engine = open_engine(url)
    now = datetime.now(UTC)
    for batch in range(20):
        items = [Item(guid=f"g{n}", url=None, title=f"t{n}", author=None, published=None, summary=None,
                      content_html="", excerpt="", image_url=None, content_hash=content_hash(f"t{n}"))
                 for n in range(start + batch * 5, start + batch * 5 + 50)]
        with repo.session(engine) as s, s.begin():
            repo.upsert_items(s, sid, items, now)
""")


def test_concurrent_writers_leave_one_consistent_copy_of_every_item(tmp_path: Path) -> None:
    """Three processes write overlapping batches at once: no error, no duplicate, nothing missing."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    engine = open_engine(url)
    with repo.session(engine) as s, s.begin():
        sid = repo.add_source(s, url="https://a.example/feed", name="a", now=datetime.now(UTC)).id
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, url, str(sid), str(start)], stderr=subprocess.PIPE, text=True)
        for start in (0, 30, 60)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    guids = [g for (g,) in store_rows(engine, "SELECT guid FROM items")]
    assert len(guids) == len(set(guids))
    assert set(guids) == {f"g{n}" for n in range(0, 60 + 19 * 5 + 50)}


def test_two_processes_opening_a_new_store_at_once_both_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    code = "import sys; from digest.store.db import open_engine; open_engine(sys.argv[1])"
    procs = [subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    engine = open_engine(url)
    assert current_revision(engine) == SCHEMA_HEAD
    assert store_rows(engine, "SELECT count(*) FROM alembic_version") == [(1,)]


def test_upgrading_a_store_with_data_from_the_first_revision_keeps_everything(tmp_path: Path) -> None:
    """Every migration must apply to a store that already holds rows (NOT NULL columns need defaults)."""
    from importlib.resources import files

    from alembic import command
    from alembic.config import Config

    from digest.store.db import make_engine

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(files("digest.migrations")))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO sources (id, name, url, kind, tags, enabled, error_count, created_at) "
            "VALUES (1, 'old', 'https://old.example/feed', 'feed', '[]', 1, 0, '2026-01-01')"
        )
        conn.exec_driver_sql(
            "INSERT INTO items (source_id, guid, content_hash, first_seen_at, updated_at) "
            "VALUES (1, 'g1', 'h', '2026-01-01', '2026-01-01')"
        )
    engine.dispose()
    upgraded = open_engine(url)
    assert current_revision(upgraded) == SCHEMA_HEAD
    assert store_rows(upgraded, "SELECT name, stale_count FROM sources") == [("old", 0)]
    assert store_rows(upgraded, "SELECT guid FROM items") == [("g1",)]


def test_the_driver_opens_only_a_current_sqlite_file_without_the_migrations(tmp_path: Path, db_url: str) -> None:
    from digest.store.sqlite import _current

    path = sqlite_path(db_url)
    assert path is not None
    assert _current(path, 1.0) is None  # not created yet: store/db.py creates and migrates it
    open_engine(db_url).dispose()
    conn = _current(path, 1.0)
    assert conn is not None
    conn.close()
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = '0004'")
    con.commit()
    con.close()
    assert _current(path, 1.0) is None  # an older schema goes through the migrations


def test_a_fetch_run_that_finds_nothing_new_loads_no_sqlalchemy_nor_parse_stage_and_starts_no_parsers(
    tmp_path: Path, db_url: str, httpserver, seed_feed: bytes
) -> None:
    """The run cron makes most often: every feed answers 304. It still records each attempt."""
    from werkzeug import Request, Response

    from digest.ingest import PROCESS_POOL_FROM

    def feed(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(seed_feed, content_type="application/rss+xml", headers={"ETag": '"v1"'})

    names = [f"s{n}" for n in range(PROCESS_POOL_FROM)]  # enough sources for parser processes
    for name in names:
        httpserver.expect_request(f"/{name}.xml").respond_with_handler(feed)
    probe = textwrap.dedent("""
        import atexit, sys
        atexit.register(lambda: print("sqlalchemy loaded:", "sqlalchemy" in sys.modules,
                                      "parsers started:", "multiprocessing.forkserver" in sys.modules,
                                      "parse stage loaded:", "digest.parsing" in sys.modules
                                      or "digest.clean.items" in sys.modules))
        from digest.cli import main
        sys.argv = ["digest", "--db", sys.argv[1], *sys.argv[2:]]
        main()
    """)

    def digest(*args: str) -> str:
        done = subprocess.run([sys.executable, "-c", probe, db_url, *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    for name in names:
        digest("sources", "add", httpserver.url_for(f"/{name}.xml"), "--name", name)
    first = digest("fetch", "--all")
    assert f"fetched {len(names)}," in first
    assert "sqlalchemy loaded: True parsers started: True parse stage loaded: True" in first
    path = sqlite_path(db_url)
    assert path is not None
    con = sqlite3.connect(path)
    items = con.execute("SELECT count(*) FROM items").fetchone()
    assert items[0] > 0
    before = dict(con.execute("SELECT name, next_fetch_at FROM sources"))
    second = digest("fetch", "--all")
    assert f"not modified {len(names)}," in second
    assert "sqlalchemy loaded: False parsers started: False parse stage loaded: False" in second
    rows = con.execute(
        "SELECT s.name, s.last_status, s.etag, s.error_count, s.next_fetch_at, "
        "(SELECT group_concat(f.outcome || ':' || f.http_status, ' ') FROM fetches f "
        " WHERE f.source_id = s.id ORDER BY f.id) FROM sources s ORDER BY s.name"
    ).fetchall()
    assert [(r[0], r[1], r[2], r[3], r[5]) for r in rows] == [
        (name, 304, '"v1"', 0, "ok:200 not_modified:304") for name in names
    ]
    assert all(r[4] > before[r[0]] for r in rows)  # the next fetch moved on, in the store's own format
    assert con.execute("SELECT count(*) FROM items").fetchone() == items
    # The rows written by the driver read back through SQLAlchemy as the rest of digest sees them.
    engine = open_engine(db_url)
    with repo.session(engine) as s:
        due = repo.sources_for_fetch(s, now=datetime.now(UTC) + timedelta(days=2), default_interval=timedelta(hours=1))
    engine.dispose()
    assert [d.name for d in due] == names
