"""Copy a whole store into another, empty one (a SQLite file into PostgreSQL, as a team outgrows one machine)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from digest.store import bulk
from digest.store.api import Store
from digest.store.models import Base

_BATCH = 500  # rows per INSERT: items carry their HTML


@dataclass(frozen=True)
class Copied:
    table: str
    source_rows: int
    copied_rows: int  # counted again in the target after the commit

    @property
    def ok(self) -> bool:
        return self.source_rows == self.copied_rows


class TargetNotEmpty(Exception):
    pass


def copy_store(source: Store, target: Store, *, on_table: Callable[[str, int], None] | None = None) -> list[Copied]:
    """Every row of every table, ids kept, in one transaction on the target (all or nothing), in foreign-key
    order; then each table counted on both sides. Refuses a target that holds any source already."""
    tables = Base.metadata.sorted_tables
    with target.session() as t:
        if t.execute(select(func.count()).select_from(Base.metadata.tables["sources"])).scalar():
            raise TargetNotEmpty("the target store is not empty: copy into a new, empty database")
    with source.session() as s, target.session() as t, t.begin():
        for table in tables:
            rows = s.connection().execute(select(table).order_by(*table.primary_key.columns))
            n = 0
            while batch := rows.fetchmany(_BATCH):
                bulk.insert_rows(t, table, [dict(r._mapping) for r in batch])
                n += len(batch)
            if "id" in table.c:
                bulk.ops_of(t).after_explicit_ids(t, table)
            if on_table:
                on_table(table.name, n)
    out = []
    with source.session() as s, target.session() as t:
        for table in tables:
            count = select(func.count()).select_from(table)
            out.append(Copied(table.name, int(s.execute(count).scalar() or 0), int(t.execute(count).scalar() or 0)))
    return out
