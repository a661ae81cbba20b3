"""The store's SQLAlchemy engine and its schema: make the engine, bring the schema to the current revision."""

from __future__ import annotations

from typing import TYPE_CHECKING

from digest.store.errors import StoreError, StoreUsageError, first_line, store_problem
from digest.store.url import postgres_url, redacted, sqlite_path

if TYPE_CHECKING:
    from sqlalchemy import Engine

# The newest revision in migrations/versions. Checked against Alembic's head by a test, so start-up
# can compare one string instead of importing Alembic and reading every migration script.
SCHEMA_HEAD = "0008"

# An engine's transactions begin IMMEDIATE (they may write); one made by `reading(engine)` begins deferred, so a
# command that only reads (status, list, export, the schema check) never waits for another process's writer.
READ_ONLY = "digest_read_only"


def reading(engine: Engine) -> Engine:
    """`engine` for reads only: its transactions take no write lock (WAL readers see the last commit)."""
    return engine.execution_options(**{READ_ONLY: True})


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        from digest.store.sqlite_driver import configure

        configure(dbapi_conn, busy_timeout)

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        # IMMEDIATE takes the write lock up front: concurrent runs queue on busy_timeout instead of
        # failing half-way through a source's transaction. A reader's transaction takes no lock (`reading`).
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


def application_name() -> str:
    """How a PostgreSQL session of digest names itself (pg_stat_activity): which host and process holds a lock."""
    import os
    import socket

    return f"digest {socket.gethostname()[:40]} pid {os.getpid()}"


def make_engine(url: str, busy_timeout: float = 30.0) -> Engine:
    from sqlalchemy import create_engine

    if url.startswith("sqlite"):
        engine = create_engine(url)
        _configure_sqlite(engine, busy_timeout)
        return engine
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise StoreUsageError("a PostgreSQL store needs the psycopg driver: pip install 'digest[postgres]'") from None
    # pool_pre_ping: a worker that sleeps between rounds finds its pooled connections closed by the server.
    return create_engine(
        postgres_url(url),
        pool_pre_ping=True,
        pool_size=4,
        max_overflow=8,
        connect_args={"application_name": application_name(), "connect_timeout": 10},
    )


def current_revision(engine: Engine) -> str | None:
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        with reading(engine).connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except ProgrammingError:  # PostgreSQL: no such table, a new store
        return None
    except OperationalError as exc:  # SQLite says "no such table" so; anything else is the store refusing
        if "no such table" in str(exc):
            return None
        raise


def upgrade(engine: Engine, *, serialise: str | None = None) -> None:
    """Run Alembic to head inside one write transaction, so two processes starting at once serialise: SQLite's
    BEGIN IMMEDIATE does it; elsewhere `serialise` is a statement that does (a transaction-level lock)."""
    from importlib.resources import files

    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(files("digest.migrations")))
    with engine.begin() as conn:
        if serialise:
            conn.exec_driver_sql(serialise)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_engine(url: str, busy_timeout: float = 30.0) -> Engine:
    """An engine on an up-to-date schema; costs one SELECT when the schema is current."""
    engine = make_engine(url, busy_timeout)
    ensure_schema(engine, url, busy_timeout=busy_timeout)
    return engine


def ensure_schema(engine: Engine, url: str, *, busy_timeout: float | None = None, serialise: str | None = None) -> None:
    """Bring the store's schema to the current revision, unless it is there already (one SELECT)."""
    from sqlalchemy.exc import SQLAlchemyError

    revision = None
    try:
        revision = current_revision(engine)
        if revision != SCHEMA_HEAD:
            upgrade(engine, serialise=serialise)
    except SQLAlchemyError as exc:
        reason = store_problem(exc, url=url, busy_timeout=busy_timeout) or first_line(exc)
        raise StoreError(f"cannot open the store at {redacted(url)}: {reason}") from None
    except Exception as exc:  # alembic.util.CommandError, e.g. a store written by a newer digest
        if exc.__class__.__name__ != "CommandError":
            raise
        raise StoreError(
            f"cannot upgrade the store at {redacted(url)} (schema revision {revision}): {exc}; "
            "was it written by a newer version of digest?"
        ) from None


__all__ = [
    "SCHEMA_HEAD",
    "StoreError",
    "current_revision",
    "ensure_schema",
    "make_engine",
    "open_engine",
    "reading",
    "sqlite_path",
    "upgrade",
]
