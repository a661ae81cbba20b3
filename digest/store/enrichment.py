"""Store side of enrichment: which papers still need metadata, and writing what an API said."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from digest.clean.mentions import TITLE_FROM_API, TITLE_FROM_LISTING, normalize_title
from digest.enrich import PaperMeta
from digest.store.models import Paper


def papers_needing_metadata(s: Session, wants: Callable[[str], bool], limit: int) -> list[str]:
    """Canonical ids never looked up whose title, authors or abstract are missing or weakly sourced.

    A paper a listing page or API already described in full (title, authors, abstract) is not asked about."""
    query = (
        select(Paper.canonical_id)
        .where(Paper.enriched_at.is_(None))
        .where(or_(Paper.title_quality < TITLE_FROM_LISTING, Paper.abstract.is_(None), Paper.meta_quality == 0))
        .order_by(Paper.first_seen_at.desc(), Paper.id.desc())
    )
    out: list[str] = []
    for (canonical,) in s.execute(query):
        if wants(canonical):
            out.append(canonical)
            if len(out) >= limit:
                break
    return out


def record_metadata(s: Session, asked: Sequence[str], found: Mapping[str, PaperMeta], now: datetime) -> int:
    """Apply what the API found; mark every asked id as looked up (found or not) so it is asked once."""
    papers = {p.canonical_id: p for p in s.scalars(select(Paper).where(Paper.canonical_id.in_(asked)))}
    applied = 0
    for canonical, paper in papers.items():
        paper.enriched_at = now
        meta = found.get(canonical)
        if meta is None:
            continue
        applied += 1
        if meta.title and paper.title_quality <= TITLE_FROM_API:
            paper.title, paper.title_quality, paper.norm_title = meta.title, TITLE_FROM_API, normalize_title(meta.title)
        if paper.meta_quality <= TITLE_FROM_API:
            paper.authors = list(meta.authors) or paper.authors
            paper.abstract = meta.abstract or paper.abstract
            paper.categories = list(meta.categories) or paper.categories
            paper.meta_quality = TITLE_FROM_API
        if meta.published and paper.year is None:
            paper.year = meta.published.year
        paper.pdf_url = paper.pdf_url or meta.pdf_url
        paper.updated_at = now
    return applied
