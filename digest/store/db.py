"""Open the store: resolve its URL, configure SQLite, and bring the schema to the current revision."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

# The newest revision in migrations/versions. Checked against Alembic's head by a test, so start-up
# can compare one string instead of importing Alembic and reading every migration script.
SCHEMA_HEAD = "0007"


class StoreError(Exception):
    """The store cannot be opened or upgraded; the message is for the user."""


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


def _configure_sqlite(engine: Engine) -> None:
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        from digest.store.lite import configure

        configure(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        # IMMEDIATE takes the write lock up front: concurrent runs queue on busy_timeout instead of
        # failing half-way through a source's transaction.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    from sqlalchemy import create_engine

    path = sqlite_path(url)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the store's folder {path.parent}: {exc}") from None
    engine = create_engine(url)
    if url.startswith("sqlite"):
        _configure_sqlite(engine)
    return engine


def current_revision(engine: Engine) -> str | None:
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        with engine.connect() as conn:
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


def open_store(url: str) -> Engine:
    """An engine on an up-to-date schema; costs one SELECT when the schema is current."""
    from sqlalchemy.exc import SQLAlchemyError

    engine = make_engine(url)
    try:
        revision = current_revision(engine)
        if revision != SCHEMA_HEAD:
            upgrade(engine)
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        raise StoreError(f"cannot open the store at {url}: {reason}") from None
    except Exception as exc:  # alembic.util.CommandError, e.g. a store written by a newer digest
        if exc.__class__.__name__ != "CommandError":
            raise
        raise StoreError(f"cannot upgrade the store at {url} (schema revision {revision}): {exc}; "
                         "was it written by a newer version of digest?") from None
    return engine
