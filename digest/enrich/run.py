"""Run enrichers over the store in batches; an unavailable API ends the run quietly, to be retried later."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from digest.enrich import Enricher, EnrichUnavailable

if TYPE_CHECKING:
    from sqlalchemy import Engine


@dataclass
class EnrichSummary:
    asked: int = 0
    found: int = 0
    error: str | None = None

    def line(self) -> str:
        text = f"enriched {self.found} of {self.asked} papers looked up"
        return text + (f" (stopped: {self.error}; will retry next run)" if self.error else "")


def enrich_papers(engine: Engine, enricher: Enricher, *, now: datetime, limit: int = 500) -> EnrichSummary:
    """Each batch is written in its own transaction as soon as it is answered."""
    from digest.store.enrichment import papers_needing_metadata, record_metadata
    from digest.store.repository import session

    summary = EnrichSummary()
    with session(engine) as s:
        pending = papers_needing_metadata(s, enricher.wants, limit)
    for start in range(0, len(pending), enricher.batch_size):
        batch = pending[start:start + enricher.batch_size]
        try:
            found = enricher.lookup(batch)
        except EnrichUnavailable as exc:
            summary.error = str(exc)
            break
        with session(engine) as s, s.begin():
            summary.found += record_metadata(s, batch, found, now)
        summary.asked += len(batch)
    return summary
