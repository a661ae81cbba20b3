"""Store stage: one interface (store/api.py `Store`) over a SQLite file or a PostgreSQL database."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from digest.store.api import Store


def open_store(url: str, *, busy_timeout: float = 30.0, create_folder: bool = False) -> Store:
    """The store at `url` (a sqlite:/// or postgresql:// URL), its schema current. The backend is chosen here,
    once; a URL naming neither, a missing driver or an unreachable server raises StoreUsageError."""
    from digest.store.errors import StoreUsageError
    from digest.store.url import backend_of, redacted

    backend = backend_of(url)
    if backend == "sqlite":
        from digest.store.sqlite import open_sqlite

        return open_sqlite(url, busy_timeout=busy_timeout, create_folder=create_folder)
    if backend == "postgres":
        from digest.store.postgres import open_postgres

        return open_postgres(url)
    scheme = url.split("://", 1)[0]
    raise StoreUsageError(
        f"unsupported store URL {redacted(url)!r} (scheme {scheme!r}): give a file path, "
        "sqlite:///PATH, or postgresql://USER@HOST/DB"
    )
