"""Which store a URL names: a SQLite file or a PostgreSQL database, told apart once, at the edge."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

Backend = Literal["sqlite", "postgres"]

# `postgresql://` is what PostgreSQL's own tools write; SQLAlchemy reads it as psycopg2. digest speaks psycopg 3.
_POSTGRES_PREFIXES = ("postgresql://", "postgresql+psycopg://", "postgres://")


def resolve_url(db: str | None, config_url: str | None, data_dir: Path) -> str:
    """--db, else DIGEST_DB, else the config, else a file in the user data dir; paths become SQLite URLs."""
    chosen = db or os.environ.get("DIGEST_DB") or config_url
    if not chosen:
        return f"sqlite:///{data_dir / 'digest.db'}"
    if "://" in chosen:
        return chosen
    return f"sqlite:///{Path(chosen).expanduser().absolute()}"


def backend_of(url: str) -> Backend | None:
    """The kind of store `url` names; None for any other scheme."""
    if url.startswith("sqlite://"):
        return "sqlite"
    if url.startswith(_POSTGRES_PREFIXES):
        return "postgres"
    return None


def postgres_url(url: str) -> str:
    """`url` in the form SQLAlchemy reads as psycopg 3."""
    for prefix in _POSTGRES_PREFIXES:
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def redacted(url: str) -> str:
    """`url` without its password, for messages and logs."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    userinfo, host = rest.rsplit("@", 1)
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}{':***' if ':' in userinfo else ''}@{host}"


def sqlite_path(url: str) -> Path | None:
    """The database file behind a SQLite URL, or None for other databases and in-memory SQLite."""
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[1] if ":///" in url else ""
    path = path.split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None
