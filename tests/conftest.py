"""Shared test fixtures: a real SQLite store through the migrations, real loopback HTTP, the real CLI."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

FIXTURES = Path(__file__).parent / "fixtures"
SEED_FEED = FIXTURES / "feeds" / "aipapertrails_substack.rss.xml"


# The machine running the tests may sit behind a proxy (for the package registries): every request of the tests
# is to 127.0.0.1 and goes direct; the proxy tests set these variables themselves.
NETWORK_VARIABLES = (
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)
for _name in NETWORK_VARIABLES:
    os.environ.pop(_name, None)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test may read or write the developer's real config or data dir."""
    home = tmp_path_factory.mktemp("digest-home")
    monkeypatch.setenv("DIGEST_HOME", str(home))
    monkeypatch.delenv("DIGEST_DB", raising=False)
    monkeypatch.delenv("DIGEST_CONFIG", raising=False)
    return home


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may only talk to 127.0.0.1: refuse any other connection outright."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if isinstance(address, tuple) and self.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0])
            if host not in ("127.0.0.1", "::1", "localhost"):
                raise OSError(f"test tried to reach {host}: only loopback is allowed")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


def fixture_bytes(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A PostgreSQL database migrated to the current schema, the template of each test's own database.

    The server is the one `.ci/postgres` starts (DIGEST_TEST_PG: a superuser URL). Unset, the PostgreSQL tests are
    skipped (a machine without PostgreSQL can still run the rest); set but empty, PostgreSQL failed to start, and
    they fail: the README's test command and CI set it."""
    admin = os.environ.get("DIGEST_TEST_PG")
    if admin is None:
        pytest.skip("no PostgreSQL for the tests: run them with DIGEST_TEST_PG=$(.ci/postgres)")
    if not admin:
        pytest.fail("DIGEST_TEST_PG is empty: .ci/postgres could not start PostgreSQL")
    import psycopg

    from digest.store.db import open_engine

    name = f"digest_template_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _pg_database(admin, name)
    open_engine(url).dispose()
    yield name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_database(admin: str, name: str) -> str:
    return admin.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A PostgreSQL store of this test's own, at the current schema (a copy of the template)."""
    import uuid

    import psycopg

    admin = os.environ["DIGEST_TEST_PG"]
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    yield _pg_database(admin, name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def engine(db_url: str):  # type: ignore[no-untyped-def]
    from digest.store.db import open_engine

    eng = open_engine(db_url)
    yield eng
    eng.dispose()


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str  # without the time stamps a log line gets when stderr is not a terminal (stderr_raw has them)
    stderr_raw: str = ""


STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", re.MULTILINE)


def unstamped(stderr: str) -> str:
    """stderr without the UTC time stamps digest puts before each line when stderr is not a terminal."""
    return STAMP.sub("", stderr)


class Cli:
    """Runs `digest` in-process (fast) against one store and config; `spawn` runs a real process."""

    def __init__(self, db_url: str, config: Path | None = None) -> None:
        self.db_url = db_url
        self.config = config
        self.runner = CliRunner()

    def _args(self, args: tuple[str, ...]) -> list[str]:
        base = ["--db", self.db_url]
        if self.config is not None:
            base += ["--config", str(self.config)]
        return base + list(args)

    def __call__(self, *args: str, ok: bool = True) -> CliResult:
        from digest.cli import app

        result = self.runner.invoke(app, self._args(args), catch_exceptions=False)
        out = CliResult(result.exit_code, result.stdout, unstamped(result.stderr), result.stderr)
        if ok and result.exit_code != 0:
            raise AssertionError(f"digest {' '.join(args)} exited {result.exit_code}:\n{out.stdout}\n{out.stderr}")
        return out

    def spawn(self, *args: str, **kw: object) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        return subprocess.Popen(
            [sys.executable, "-m", "digest", *self._args(args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            **kw,
        )  # type: ignore[call-overload]


@pytest.fixture
def cli(db_url: str) -> Cli:
    return Cli(db_url)


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    return ("127.0.0.1", 0)


@pytest.fixture
def serve_feed(httpserver):  # type: ignore[no-untyped-def]
    """Serve bytes at a path with a feed content type; returns the absolute URL."""

    def _serve(
        path: str,
        body: bytes,
        content_type: str = "application/rss+xml; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> str:
        httpserver.expect_request(path).respond_with_data(body, content_type=content_type, headers=headers or {})
        return httpserver.url_for(path)

    return _serve


def store_rows(engine, sql: str, **params: object) -> list[tuple]:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


@pytest.fixture
def add_source(engine, now):  # type: ignore[no-untyped-def]
    """Add a source straight through the repository; returns its id."""
    from digest.store import repository as repo

    def _add(url: str, name: str | None = None, **kw: object) -> int:
        with repo.session(engine) as s, s.begin():
            return repo.add_source(s, url=url, name=name or url, now=now, **kw).id  # type: ignore[arg-type]

    return _add


@pytest.fixture
def fetch_all(engine, db_url):  # type: ignore[no-untyped-def]
    """Run one fetch of every enabled source through the real pipeline; returns the RunSummary."""
    from digest.config import FetchConfig
    from digest.ingest import FetchSettings, fetch_sources
    from digest.store import open_store
    from digest.store import repository as repo

    def _fetch(clock=None, every: bool = True, **fetch_cfg: object):  # type: ignore[no-untyped-def]
        settings = FetchSettings.from_config(FetchConfig(**fetch_cfg))  # type: ignore[arg-type]
        kwargs = {"clock": clock} if clock else {}
        when = clock() if clock else datetime.now(UTC)
        with repo.session(engine) as s:
            due = repo.sources_for_fetch(s, now=when, default_interval=settings.default_interval, every=every)
        # As `digest fetch` does: through the driver, SQLAlchemy only for sources that bring something.
        store = open_store(db_url)
        try:
            return fetch_sources(store, due, settings, recheck_due=not every, **kwargs)
        finally:
            store.close()

    return _fetch


@pytest.fixture
def seed_feed() -> bytes:
    return SEED_FEED.read_bytes()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the system's openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the TLS tests (delivery, fetching) need the openssl command (apt-get install openssl)")
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@contextmanager
def serve_tls(handler: type[BaseHTTPRequestHandler], certificate: tuple[Path, Path]) -> Iterator[str]:
    """`handler` served over TLS with the test's self-signed certificate on 127.0.0.1; yields the base URL."""
    import ssl
    import threading
    from http.server import ThreadingHTTPServer

    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class FakeClock:
    """Monotonic seconds that only move when slept on (or when a fake API says a response took time)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(scope="module")
def _threaded_server() -> Iterator[HTTPServer]:
    """A server that answers requests concurrently (the shared `httpserver` handles one at a time)."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def threaded_server(_threaded_server: HTTPServer) -> HTTPServer:
    _threaded_server.clear()
    return _threaded_server


# Debian's chromium, driven by playwright: the browser tests never download a browser.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: these tests need Debian's chromium (apt-get install chromium); "
            "they never download a browser",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
