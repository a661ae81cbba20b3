"""Open the store: resolve its URL, configure SQLite, and bring the schema to the current revision."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

# The newest revision in migrations/versions. Checked against Alembic's head by a test, so start-up
# can compare one string instead of importing Alembic and reading every migration script.
SCHEMA_HEAD = "0008"


class StoreError(Exception):
    """The store cannot be opened or upgraded; the message is for the user."""


# An engine's transactions begin IMMEDIATE (they may write); one made by `reading(engine)` begins deferred, so a
# command that only reads (status, list, export, the schema check) never waits for another process's writer.
READ_ONLY = "digest_read_only"


def reading(engine: Engine) -> Engine:
    """`engine` for reads only: its transactions take no write lock (WAL readers see the last commit)."""
    return engine.execution_options(**{READ_ONLY: True})


# SQLite's primary result codes for a store that refuses service, whatever the data: busy (5) and locked (6),
# read-only (8), I/O error (10), full (13), cannot open (14), permission (3).
_REFUSALS = {5: "another process held the store's write lock", 6: "another process held the store's write lock",
             8: "the store is read-only", 10: "disk I/O error", 13: "the disk is full",
             14: "cannot open the store's files", 3: "permission denied"}


def store_problem(exc: BaseException, *, url: str | None = None, busy_timeout: float | None = None) -> str | None:
    """One line naming why the store refused, when `exc` (a driver error, or SQLAlchemy's wrapping one) is the store
    refusing service rather than a fault of what was written; else None. The file system is asked too: SQLite says
    "disk I/O error" or "unable to open database file" where the cause is a full disk or a read-only folder."""
    import sqlite3

    err = getattr(exc, "orig", None) or exc
    if not isinstance(err, sqlite3.Error):
        return None
    code = getattr(err, "sqlite_errorcode", None)
    what = _REFUSALS.get(code & 0xFF) if isinstance(code, int) else None
    if what is None:
        return None
    if code & 0xFF in (5, 6) and busy_timeout is not None:
        what += f" for over {busy_timeout:g}s"
    found = _diagnose(sqlite_path(url)) if url else None
    if found and found not in what:
        what = f"{found}: {what}"
    return f"{what} ({str(err).splitlines()[0]})"


def _diagnose(path: Path | None) -> str | None:
    """What the file system says of the store's folder: full, or read-only."""
    if path is None:
        return None
    try:
        st = os.statvfs(path.parent)
    except OSError:
        return None
    if st.f_flag & os.ST_RDONLY or not os.access(path.parent, os.W_OK):
        return f"the store's folder {path.parent} is read-only"
    if st.f_bavail * st.f_frsize < 64 * 1024:
        return "the disk is full"
    return None


def resolve_url(db: str | None, config_url: str | None, data_dir: Path) -> str:
    """--db, else DIGEST_DB, else the config, else a file in the user data dir; paths become SQLite URLs."""
    chosen = db or os.environ.get("DIGEST_DB") or config_url
    if not chosen:
        return f"sqlite:///{data_dir / 'digest.db'}"
    if "://" in chosen:
        return chosen
    return f"sqlite:///{Path(chosen).expanduser().absolute()}"


def sqlite_path(url: str) -> Path | None:
    """The database file behind a SQLite URL, or None for other databases and in-memory SQLite."""
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[1] if ":///" in url else ""
    path = path.split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        from digest.store.lite import configure

        configure(dbapi_conn, busy_timeout)

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        # IMMEDIATE takes the write lock up front: concurrent runs queue on busy_timeout instead of
        # failing half-way through a source's transaction. A reader's transaction takes no lock (`reading`).
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


def make_engine(url: str, busy_timeout: float = 30.0) -> Engine:
    from sqlalchemy import create_engine

    path = sqlite_path(url)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the store's folder {path.parent}: {exc}") from None
    engine = create_engine(url)
    if url.startswith("sqlite"):
        _configure_sqlite(engine, busy_timeout)
    return engine


def current_revision(engine: Engine) -> str | None:
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        with reading(engine).connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError):
        return None


def upgrade(engine: Engine) -> None:
    """Run Alembic to head inside one write transaction, so two processes starting at once serialise."""
    from importlib.resources import files

    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(files("digest.migrations")))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_store(url: str, busy_timeout: float = 30.0) -> Engine:
    """An engine on an up-to-date schema; costs one SELECT when the schema is current."""
    from sqlalchemy.exc import SQLAlchemyError

    engine = make_engine(url, busy_timeout)
    try:
        revision = current_revision(engine)
        if revision != SCHEMA_HEAD:
            upgrade(engine)
    except SQLAlchemyError as exc:
        reason = store_problem(exc, url=url, busy_timeout=busy_timeout) or getattr(exc, "orig", None) or exc
        raise StoreError(f"cannot open the store at {url}: {reason}") from None
    except Exception as exc:  # alembic.util.CommandError, e.g. a store written by a newer digest
        if exc.__class__.__name__ != "CommandError":
            raise
        raise StoreError(f"cannot upgrade the store at {url} (schema revision {revision}): {exc}; "
                         "was it written by a newer version of digest?") from None
    return engine
