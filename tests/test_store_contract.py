"""The store contract: what digest needs of a store holds on SQLite and on a real PostgreSQL alike.

Each test here runs once per backend (the `db_url` fixture below); PostgreSQL is the server `.ci/postgres` starts
(DIGEST_TEST_PG), each test in a database of its own. Workers are real `digest` processes; feeds are served on
127.0.0.1 by a server that counts every request and how many are in flight at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import Cli, store_rows
from tests.mailserver import smtp_server


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url"))


# --- a feed farm on loopback that counts --------------------------------------------------------------------


def _rss(name: str, n_items: int = 3) -> bytes:
    when = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    items = "".join(
        f"<item><title>{name} post {i}</title><link>https://{name}.example/p{i}</link>"
        f"<guid>https://{name}.example/p{i}</guid><pubDate>{format_datetime(when + timedelta(hours=i))}</pubDate>"
        f"<description>&lt;p&gt;On &lt;a href='https://arxiv.org/abs/2401.{i:05d}'&gt;a paper&lt;/a&gt;.&lt;/p&gt;"
        f"</description></item>"
        for i in range(n_items)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{name}</title>'
        f"<link>https://{name}.example/</link><description>d</description>{items}</channel></rss>"
    ).encode()


class Farm:
    """Feeds /f0.xml ... on 127.0.0.1; `delay` seconds per answer (or per path in `slow`); counts requests."""

    def __init__(self, n: int, delay: float = 0.0) -> None:
        self.n = n
        self.delay = delay
        self.slow: dict[str, float] = {}
        self.requests: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        farm = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.strip("/").removesuffix(".xml")
                with farm._lock:
                    farm.requests[self.path] += 1
                    farm.in_flight += 1
                    farm.max_in_flight = max(farm.max_in_flight, farm.in_flight)
                try:
                    time.sleep(farm.slow.get(self.path, farm.delay))
                    body = _rss(name)
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass
                finally:
                    with farm._lock:
                        farm.in_flight -= 1

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def urls(self) -> list[str]:
        return [f"{self.base}/f{i}.xml" for i in range(self.n)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def farm() -> Iterator[Farm]:
    f = Farm(24, delay=0.05)
    yield f
    f.close()


def _config(tmp_path: Path, **fetch: object) -> Path:
    settings = {"concurrency": 4, "per_host": 4, "parse_processes": 0, **fetch}
    path = tmp_path / "digest.toml"
    path.write_text(
        "[enrich]\nafter_fetch = false\n[fetch]\n"
        + "".join(f"{k} = {v}\n" for k, v in settings.items())
        + f'[[digests]]\nname = "daily"\nmax_posts = 1000\nout = "{tmp_path / "issues"}"\n'
    )
    return path


def _add_all(cli: Cli, farm: Farm) -> None:
    opml = cli.config.parent / "farm.opml" if cli.config else Path("farm.opml")
    outlines = "".join(f'<outline type="rss" text="f{i}" xmlUrl="{url}"/>' for i, url in enumerate(farm.urls()))
    opml.write_text(f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>')
    cli("sources", "import", str(opml))


def _wait(procs: list[subprocess.Popen[str]], timeout: float = 120) -> list[tuple[int, str, str]]:
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=timeout)
        out.append((p.returncode, stdout, stderr))
    return out


# --- the contract ------------------------------------------------------------------------------------------------


def test_three_fetches_at_once_request_each_due_feed_once_and_store_every_item_once(
    db_url: str, tmp_path: Path, farm: Farm
) -> None:
    cli = Cli(db_url, _config(tmp_path))
    _add_all(cli, farm)
    results = _wait([cli.spawn("fetch") for _ in range(3)])
    assert [code for code, _, _ in results] == [0, 0, 0], results
    assert sorted(farm.requests) == sorted(f"/f{i}.xml" for i in range(farm.n))
    assert set(farm.requests.values()) == {1}  # each feed requested once, by one of the three
    fetched = sum(int(out.split("fetched ")[1].split(",")[0]) for _, out, _ in results)
    assert fetched == farm.n
    from digest.store.db import open_engine

    engine = open_engine(db_url)
    assert store_rows(engine, "SELECT count(*), count(DISTINCT source_id || ' ' || guid) FROM items") == [
        (3 * farm.n, 3 * farm.n)
    ]
    assert store_rows(engine, "SELECT count(*) FROM sources WHERE claimed_by IS NOT NULL") == [(0,)]
    engine.dispose()
    again = cli("fetch")  # nothing is due: nothing requested
    assert again.stdout.startswith("fetched 0, not modified 0, failed 0") and sum(farm.requests.values()) == farm.n


def test_a_claim_is_one_workers_until_its_lease_runs_out(db_url: str, now: datetime) -> None:
    from digest.store import open_store, repository

    store = open_store(db_url)
    try:
        with store.session() as s, s.begin():
            ids = [repository.add_source(s, url=f"https://x.example/{i}", name=f"s{i}", now=now).id for i in range(6)]
        hour, lease = timedelta(hours=1), timedelta(minutes=10)
        due = store.due_sources(now=now, default_interval=hour)
        assert [d.id for d in due] == ids
        kw = {"now": now, "lease": lease, "recheck_due": True, "default_interval": hour}
        a = store.claim(ids[:4], worker="host-a:1:x", **kw)
        b = store.claim(ids, worker="host-b:2:y", **kw)
        assert [s.id for s in a] == ids[:4] and [s.id for s in b] == ids[4:]  # no source held by both
        assert sorted(store.claim_holders()) == ["host-a:1:x", "host-b:2:y"]
        assert store.claim(ids, worker="host-c:3:z", **{**kw, "now": now + lease - timedelta(seconds=1)}) == []
        late = store.claim(ids, worker="host-c:3:z", **{**kw, "now": now + lease})  # both leases ran out
        assert [s.id for s in late] == ids
        store.release("host-c:3:z")
        assert store.claim_holders() == []
        # A source fetched meanwhile is not due any more: with recheck_due it is not claimed again.
        from digest.store.values import SourceUpdate

        store.write_bookkeeping(
            [
                SourceUpdate(
                    source_id=ids[0],
                    started_at=now,
                    duration_ms=1,
                    outcome="not_modified",
                    http_status=304,
                    error=None,
                    warning=None,
                    bytes=0,
                    items=(),
                    error_count=0,
                    next_fetch_at=now + hour,
                    etag='"e"',
                    last_modified=None,
                )
            ]
        )
        assert [s.id for s in store.claim(ids[:2], worker="w:4:q", **kw)] == [ids[1]]
        assert [s.id for s in store.claim(ids[:1], worker="w:4:q", **{**kw, "recheck_due": False})] == [ids[0]]
        assert store.due_sources(now=now, default_interval=hour, names=["s0"])[0].etag == '"e"'
    finally:
        store.close()


def test_a_source_another_host_holds_is_left_until_its_lease_ends(db_url: str, tmp_path: Path, farm: Farm) -> None:
    cli = Cli(db_url, _config(tmp_path))
    _add_all(cli, farm)
    from digest.store.db import open_engine

    engine = open_engine(db_url)
    with engine.begin() as conn:  # a worker on another host claimed f0 and f1 a minute ago
        conn.exec_driver_sql(
            "UPDATE sources SET claimed_by = 'elsewhere:41:abc', claim_expires_at = "
            f"'{(datetime.now(UTC) + timedelta(minutes=14)).replace(tzinfo=None)}' "
            "WHERE name IN ('f0', 'f1')"
        )
    first = cli("fetch")
    assert "2 taken by other workers" in first.stdout
    assert "/f0.xml" not in farm.requests and len(farm.requests) == farm.n - 2
    with engine.begin() as conn:  # its lease has run out (the worker died)
        conn.exec_driver_sql(
            "UPDATE sources SET claim_expires_at = "
            f"'{(datetime.now(UTC) - timedelta(seconds=1)).replace(tzinfo=None)}' "
            "WHERE name IN ('f0', 'f1')"
        )
    second = cli("fetch")
    assert second.stdout.startswith("fetched 2,") and farm.requests["/f0.xml"] == 1
    assert store_rows(engine, "SELECT count(*) FROM sources WHERE claimed_by IS NOT NULL") == [(0,)]
    engine.dispose()


def test_a_killed_workers_sources_are_fetched_by_the_next_one(db_url: str, tmp_path: Path, farm: Farm) -> None:
    """SIGKILL mid-fetch: its claims stay in the store; a worker on the same host sees the claimer is gone and
    fetches them at once (another host's would wait for the lease: the test above). Each item is stored once."""
    cli = Cli(db_url, _config(tmp_path, concurrency=2))
    _add_all(cli, farm)
    for i in range(farm.n):
        farm.slow[f"/f{i}.xml"] = 30.0
    proc = cli.spawn("worker", "--poll", "1")
    deadline = time.monotonic() + 30
    while len(farm.requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(farm.requests) >= 2
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    from digest.store.db import open_engine

    engine = open_engine(db_url)
    assert store_rows(engine, "SELECT count(*) FROM sources WHERE claimed_by IS NOT NULL")[0][0] >= 2
    farm.slow.clear()
    after = cli("fetch")
    assert after.stdout.startswith(f"fetched {farm.n},"), after.stdout
    assert store_rows(engine, "SELECT count(*), count(DISTINCT source_id || ' ' || guid) FROM items") == [
        (3 * farm.n, 3 * farm.n)
    ]
    assert store_rows(engine, "SELECT count(*) FROM sources WHERE claimed_by IS NOT NULL") == [(0,)]
    engine.dispose()


def test_sigterm_finishes_the_sources_in_hand_and_gives_back_the_rest(db_url: str, tmp_path: Path, farm: Farm) -> None:
    cli = Cli(db_url, _config(tmp_path, concurrency=2))
    _add_all(cli, farm)
    farm.delay = 1.5
    proc = cli.spawn("worker", "--poll", "1")
    deadline = time.monotonic() + 30
    while len(farm.requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "worker stopped" in stderr
    in_hand = len(farm.requests)
    assert 2 <= in_hand < farm.n
    from digest.store.db import open_engine

    engine = open_engine(db_url)
    assert store_rows(engine, "SELECT count(DISTINCT source_id) FROM items") == [(in_hand,)]  # each one finished
    assert store_rows(engine, "SELECT count(*) FROM sources WHERE claimed_by IS NOT NULL") == [(0,)]  # rest given back
    engine.dispose()


def test_composing_one_digest_twice_at_once_records_one_issue_with_the_news(
    db_url: str, tmp_path: Path, farm: Farm
) -> None:
    cli = Cli(db_url, _config(tmp_path))
    _add_all(cli, farm)
    cli("fetch")
    from digest.config import DigestConfig, SmtpConfig
    from digest.publish import compose_issue
    from digest.store import open_store

    store = open_store(db_url)
    cfg = DigestConfig(name="daily", max_posts=1000, max_papers=1000)  # room for all the news in one issue
    results: list[object] = []
    barrier = threading.Barrier(2)

    def compose() -> None:
        barrier.wait()
        results.append(compose_issue(store.engine, cfg, SmtpConfig(), now=datetime.now(UTC)))

    threads = [threading.Thread(target=compose) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    issues = store_rows(store.engine, "SELECT status, post_count FROM digests")
    store.close()
    assert len(results) == 2
    assert len(issues) == 1 and issues[0][1] > 0  # the second compose found nothing new and recorded nothing


def test_two_runs_at_once_mail_exactly_one_message(db_url: str, tmp_path: Path, farm: Farm) -> None:
    """As two hosts would: the run lock is a file beside a SQLite store, an advisory lock in PostgreSQL."""
    from tests.test_delivery import write_config

    with smtp_server() as server:
        config = write_config(tmp_path / "digest.toml", server.port, out=tmp_path / "issues")
        config.write_text(config.read_text() + "[fetch]\nconcurrency = 4\nper_host = 4\nparse_processes = 0\n")
        cli = Cli(db_url, config)
        _add_all(cli, farm)
        results = _wait([cli.spawn("run") for _ in range(2)])
        codes = sorted(code for code, _, _ in results)
        assert codes in ([0, 0], [0, 75]), results
        for code, _, err in results:
            if code == 75:  # the lock was held: said in one line, naming who holds it
                assert err.count("\n") == 1 and "another digest run holds" in err
        assert len(server.received) == 1
    from digest.store.db import open_engine

    engine = open_engine(db_url)
    assert store_rows(engine, "SELECT status FROM digests") == [("sent",)]
    engine.dispose()


def test_copying_a_store_keeps_every_row_and_the_copy_works_on(db_url: str, tmp_path: Path, farm: Farm) -> None:
    source = f"sqlite:///{tmp_path / 'old.db'}"
    old = Cli(source, _config(tmp_path))
    _add_all(old, farm)
    old("fetch")
    old("compose", "--out", str(tmp_path / "old-issue"))
    if db_url.startswith("sqlite"):
        db_url = f"sqlite:///{tmp_path / 'copy.db'}"
    copied = Cli(db_url, _config(tmp_path))("db", "copy", source, db_url)
    assert copied.stdout.count(" ok\n") == 12 and "MISMATCH" not in copied.stdout
    if db_url.startswith("postgresql"):  # the password is never printed
        assert ":***@" in copied.stdout.splitlines()[-1] and ":digest@" not in copied.stdout + copied.stderr
    new = Cli(db_url, _config(tmp_path))
    farm.n += 2  # two new feeds: their ids continue after the copied ones
    for i in (farm.n - 2, farm.n - 1):
        new("sources", "add", f"{farm.base}/f{i}.xml", "--name", f"f{i}")
    assert new("fetch").stdout.startswith("fetched 2,")
    assert "6 posts" in new("compose", "--out", str(tmp_path / "new-issue")).stderr  # the copy knew what was shown
    refused = new("db", "copy", source, db_url, ok=False)
    assert refused.exit_code == 2 and "not empty" in refused.stderr


def test_paper_lookups_are_left_to_the_process_already_doing_them(db_url: str, tmp_path: Path) -> None:
    from digest.lock import LockHeld
    from digest.store import open_store

    store = open_store(db_url)
    try:
        with store.run_lock("enrich"):
            assert "another process is looking papers up now; skipped" in Cli(db_url)("enrich").stdout
            with pytest.raises(LockHeld), open_store(db_url).run_lock("enrich"):
                pass
            with open_store(db_url).run_lock("run"):  # a different lock
                pass
    finally:
        store.close()
    assert "skipped" not in Cli(db_url)("enrich").stdout


@pytest.mark.parametrize("backend", ["postgres"])
def test_the_per_host_cap_holds_across_workers(db_url: str, tmp_path: Path) -> None:
    farm = Farm(16, delay=0.3)
    try:
        cli = Cli(db_url, _config(tmp_path, concurrency=8, per_host=2))
        _add_all(cli, farm)
        results = _wait([cli.spawn("fetch") for _ in range(2)])
        assert [code for code, _, _ in results] == [0, 0], results
        assert set(farm.requests.values()) == {1} and len(farm.requests) == 16
        assert farm.max_in_flight == 2  # two workers of 8 threads each: still two at a time to this host
    finally:
        farm.close()


# --- friendly edges ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["postgres"])
def test_postgres_urls_in_every_spelling_open_the_same_store(db_url: str) -> None:
    assert db_url.startswith("postgresql://")
    for url in (db_url, db_url.replace("postgresql://", "postgresql+psycopg://")):
        result = Cli(url)("sources", "list")
        assert result.exit_code == 0


def _one_error_line(result_stderr: str) -> str:
    lines = [line for line in result_stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result_stderr
    return lines[0]


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_wrong_password_or_a_refused_connection_is_one_line_and_exit_2(db_url: str) -> None:
    user, rest = db_url.split("://", 1)[1].split("@", 1)
    wrong = f"postgresql://{user.split(':')[0]}:not-the-password@{rest}"
    result = Cli(wrong)("status", ok=False)
    assert result.exit_code == 2
    line = _one_error_line(result.stderr)
    assert "password authentication failed" in line and "not-the-password" not in line
    refused = Cli("postgresql://digest@127.0.0.1:1/nowhere")("status", ok=False)
    assert refused.exit_code == 2 and "Connection refused" in _one_error_line(refused.stderr)


def test_a_store_url_digest_cannot_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for url, said in (
        ("mysql://u@h/db", "unsupported store URL"),
        (str(tmp_path / "no-such-folder" / "x.db"), "does not exist"),
    ):
        result = Cli(url)("status", ok=False)
        assert result.exit_code == 2 and said in _one_error_line(result.stderr)
    assert not (tmp_path / "no-such-folder").exists()
    # Without the driver: as after `pip install digest` without the [postgres] extra.
    code = (
        "import sys; sys.modules['psycopg'] = None; sys.argv = ['digest', '--db', 'postgresql://u@127.0.0.1/d', "
        "'status']; from digest.cli import main; main()"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env={**os.environ})
    assert proc.returncode == 2
    assert "pip install 'digest[postgres]'" in _one_error_line(proc.stderr)


@pytest.mark.parametrize("backend", ["postgres"])
def test_two_workers_storing_the_same_new_papers_in_opposite_orders_do_not_deadlock(db_url: str, httpserver) -> None:  # type: ignore[no-untyped-def]
    """A stores a1 (new paper X) then a2 (Z) while B stores b1 (Z) then b2 (X). With both groups open across two
    sources this deadlocked every time (the retry met the same locks); each source is now its own transaction."""
    from digest.fetch.http import Limits, make_client
    from digest.ingest import decide, fetch_only, parsed
    from digest.parsing import parse_and_clean
    from digest.store import open_store, repository
    from digest.store.writes import WriteGroup

    papers = {"a1": "2401.11111", "a2": "2402.22222", "b1": "2402.22222", "b2": "2401.11111"}
    now = datetime.now(UTC)
    store_a, store_b = open_store(db_url), open_store(db_url)
    with store_a.session() as s, s.begin():
        for name, pid in papers.items():
            body = _rss(name, 1).replace(b"2401.00000", pid.encode())
            httpserver.expect_request(f"/{name}.xml").respond_with_data(body, content_type="application/rss+xml")
            repository.add_source(s, url=httpserver.url_for(f"/{name}.xml"), name=name, now=now)
    limits = Limits(timeout_connect=5, timeout_total=10)
    with make_client(user_agent="t", limits=limits) as client:
        updates = {
            src.name: decide(
                parsed(fetch_only(client, src, limits, lambda: now), parse_and_clean),
                now=now,
                max_backoff=timedelta(hours=1),
            )
            for src in store_a.due_sources(now=now, default_interval=timedelta(hours=1))
        }
    results: dict[str, object] = {}
    group_a, group_b = WriteGroup(store_a), WriteGroup(store_b)
    group_a.add(updates["a1"], now, lambda r: results.__setitem__("a1", r))
    group_b.add(updates["b1"], now, lambda r: results.__setitem__("b1", r))
    threads = [
        threading.Thread(
            target=lambda g=g, n=n: (g.add(updates[n], now, lambda r: results.__setitem__(n, r)), g.commit())
        )
        for g, n in ((group_a, "a2"), (group_b, "b2"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    store_a.close()
    store_b.close()
    assert sorted(results) == ["a1", "a2", "b1", "b2"]
    assert all(getattr(r, "error", None) is None and getattr(r, "new_items", 0) == 1 for r in results.values()), results
