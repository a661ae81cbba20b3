"""Run resolvers over the store in batches, each failure costing only its own resolver's lookups.

A resolver that cannot be reached (or refuses) is skipped for the rest of the run after its first failure, so
an offline box is not slowed down: one line in the summary says so, and nothing it did not answer is marked
as looked up, so the next run asks again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from digest.enrich import Enricher, EnrichUnavailable

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from digest.domain.papers import PaperMeta

# Schemes whose papers have a page carrying citation_* tags and no API of ours: their landing page is read.
LANDING_SCHEMES = frozenset({"url", "neurips", "pmlr", "jmlr", "cvf", "acl", "hdl"})


def wants_landing(canonical_id: str) -> bool:
    scheme, _, rest = canonical_id.partition(":")
    return scheme in LANDING_SCHEMES and not rest.lower().endswith(".pdf")


class PageResult(Protocol):
    """One landing page read: "paper" (with its metadata), "not_paper", or "unreadable" (try again later)."""

    @property
    def status(self) -> str: ...

    @property
    def meta(self) -> PaperMeta | None: ...

    @property
    def error(self) -> str | None: ...


class PageReader(Protocol):
    def read(self, urls: Sequence[str]) -> Mapping[str, PageResult]: ...


@dataclass
class EnrichSummary:
    asked: int = 0
    found: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def error(self) -> str | None:
        return self.errors[0] if self.errors else None

    def line(self) -> str:
        if self.asked:
            text = f"enriched {self.found} of {self.asked} papers looked up"
        else:  # not "0 of 0", which reads as if the store held no papers
            text = "looked up nothing" if self.errors else "nothing to look up"
        return text + (f" (stopped: {'; '.join(self.errors)}; will retry next run)" if self.errors else "")


def enrich_papers(
    engine: Engine, enricher: Enricher, *, now: datetime, limit: int = 500, summary: EnrichSummary | None = None
) -> EnrichSummary:
    """Ask one resolver about the papers it wants; each batch is written as soon as it is answered."""
    from digest.store.enrichment import papers_needing_metadata, record_metadata
    from digest.store.repository import session

    summary = summary if summary is not None else EnrichSummary()
    with session(engine) as s:
        pending = papers_needing_metadata(s, enricher.wants, limit, resolver=enricher.name)
    for start in range(0, len(pending), enricher.batch_size):
        batch = pending[start : start + enricher.batch_size]
        try:
            found = enricher.lookup(batch)
        except EnrichUnavailable as exc:
            summary.errors.append(str(exc))
            break
        with session(engine) as s, s.begin():
            summary.found += record_metadata(s, batch, found, now, resolver=enricher.name)
        summary.asked += len(batch)
    return summary


def read_landing_pages(
    engine: Engine, reader: PageReader, *, now: datetime, limit: int, summary: EnrichSummary | None = None
) -> EnrichSummary:
    """Candidate links (is it a paper?) first, then papers with a page and no API (what is it?)."""
    from digest.store.enrichment import (
        MAX_PAGE_ATTEMPTS,
        candidate_urls,
        mark_looked_up,
        note_page,
        papers_with_pages,
        record_landing,
        record_metadata,
    )
    from digest.store.identity import paper_by_any_id
    from digest.store.repository import session

    summary = summary if summary is not None else EnrichSummary()
    with session(engine) as s:
        candidates = candidate_urls(s, limit)
        papers = papers_with_pages(s, wants_landing, max(0, limit - len(candidates)), resolver="landing")
    targets = [(pid, url) for pid, url in papers if url]
    pages = list(dict.fromkeys([*candidates, *(url for _, url in targets)]))
    if not pages:
        return summary
    results = reader.read(pages)
    unreadable = 0
    with session(engine) as s, s.begin():
        for url in candidates:
            result = results.get(url)
            if result is None:
                continue
            unreadable += result.status == "unreadable"
            summary.asked += 1
            if record_landing(s, url, result.status, result.meta, now, result.error) is not None:
                summary.found += 1
        for pid, url in targets:
            result = results.get(url)
            if result is None:
                continue  # past this run's page cap
            if result.status == "unreadable":
                unreadable += 1
                # read again on later runs, up to MAX_PAGE_ATTEMPTS times; then the paper stays as it is
                if (
                    note_page(s, url, "unreadable", now, result.error) >= MAX_PAGE_ATTEMPTS
                    and (paper := paper_by_any_id(s, pid)) is not None
                ):
                    mark_looked_up(s, paper, "landing", now, found=False)
                continue
            summary.asked += 1
            if result.status == "paper" and result.meta is not None:
                summary.found += record_metadata(s, [pid], {pid: result.meta}, now, resolver="landing")
            elif (paper := paper_by_any_id(s, pid)) is not None:
                mark_looked_up(s, paper, "landing", now, found=False)
    if unreadable:
        summary.errors.append(f"{unreadable} landing page{'s' if unreadable != 1 else ''} unreadable")
    return summary


def enrich_all(
    engine: Engine,
    enrichers: Sequence[Enricher],
    *,
    now: datetime,
    limit: int = 500,
    pages: PageReader | None = None,
    max_pages: int = 200,
) -> EnrichSummary:
    """Landing pages first (a candidate becomes a paper, a url: paper its arXiv id or DOI), then each API."""
    summary = EnrichSummary()
    if pages is not None and max_pages:
        read_landing_pages(engine, pages, now=now, limit=max_pages, summary=summary)
    for enricher in enrichers:
        enrich_papers(engine, enricher, now=now, limit=limit, summary=summary)
    return summary
