"""Store side of enrichment: which papers a resolver still has to be asked about, and writing what it said.

Each resolver is asked about a paper once (`paper_lookups`, found or not). What it says is applied by
quality (RESOLVER_QUALITY: arXiv > OpenReview > Semantic Scholar > Crossref > a landing page > a listing >
anchor text) and recorded with its provenance (`title_source`, `meta_source`), so a later, better source
overrules it and a worse one never does. The ids it states for the same paper merge rows (store/identity.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import and_, delete, exists, insert, or_, select
from sqlalchemy.orm import Session

from digest.clean.mentions import RESOLVER_QUALITY, TITLE_FROM_API, TITLE_FROM_LISTING
from digest.domain.paper_ids import candidate_id, id_rank, normalize_title
from digest.domain.papers import PaperMeta
from digest.store.identity import add_alias, merge, paper_by_any_id, rekey
from digest.store.models import CandidateLink, LandingPage, Mention, Paper, PaperAlias, PaperLookup

# Resolvers asked for the ids they state (a paper's preprint, its DOI, the id of a pasted title), even about a
# paper described in full.
_IDENTITY_RESOLVERS = frozenset({"s2", "title"})


def quality_of(resolver: str) -> int:
    return RESOLVER_QUALITY.get(resolver, TITLE_FROM_API)


def papers_needing_metadata(
    s: Session, wants: Callable[[str], bool], limit: int, *, resolver: str = "arxiv"
) -> list[str]:
    """Canonical ids `resolver` has never been asked about whose title, authors or abstract are missing or
    come from a weaker source; newest first."""
    return [canonical for canonical, _ in papers_with_pages(s, wants, limit, resolver=resolver)]


def papers_with_pages(
    s: Session, wants: Callable[[str], bool], limit: int, *, resolver: str
) -> list[tuple[str, str | None]]:
    """As papers_needing_metadata, with each paper's landing URL: (id, URL) pairs."""
    asked = exists().where(PaperLookup.paper_id == Paper.id, PaperLookup.resolver == resolver)
    query = select(Paper.canonical_id, Paper.landing_url).where(~asked)
    if resolver not in _IDENTITY_RESOLVERS:
        # asked when it can say better than what the paper has, except about a paper a listing described in
        # full (Hugging Face and arXiv listings state what the arXiv API would)
        quality = quality_of(resolver)
        better = or_(Paper.title_quality < quality, Paper.meta_quality < quality, Paper.abstract.is_(None))
        listed = and_(
            Paper.title_quality >= TITLE_FROM_LISTING,
            Paper.meta_quality == TITLE_FROM_LISTING,
            Paper.abstract.is_not(None),
        )
        query = query.where(better, ~listed)
    query = query.order_by(Paper.first_seen_at.desc(), Paper.id.desc())
    out: list[tuple[str, str | None]] = []
    for canonical, landing in s.execute(query):
        if wants(canonical):
            out.append((canonical, landing))
            if len(out) >= limit:
                break
    return out


def record_metadata(
    s: Session, asked: Sequence[str], found: Mapping[str, PaperMeta], now: datetime, resolver: str = "arxiv"
) -> int:
    """Apply what `resolver` found; mark every asked id as looked up by it (found or not)."""
    applied = 0
    for canonical in dict.fromkeys(asked):
        paper = paper_by_any_id(s, canonical)  # an earlier answer of this batch may have re-keyed it
        if paper is None:
            continue
        meta = found.get(canonical)
        if meta is not None:
            applied += 1
            paper = apply_meta(s, paper, meta, now, resolver)
        mark_looked_up(s, paper, resolver, now, found=meta is not None)
    s.flush()
    return applied


def mark_looked_up(s: Session, paper: Paper, resolver: str, now: datetime, *, found: bool) -> None:
    s.execute(delete(PaperLookup).where(PaperLookup.paper_id == paper.id, PaperLookup.resolver == resolver))
    s.execute(insert(PaperLookup).values(paper_id=paper.id, resolver=resolver, looked_up_at=now, found=found))
    paper.enriched_at = now


def apply_meta(s: Session, paper: Paper, meta: PaperMeta, now: datetime, resolver: str) -> Paper:
    """Metadata by quality and provenance, then identity: the ids the resolver states for this paper."""
    who = meta.resolver or resolver
    quality = quality_of(who)
    if meta.title and quality >= paper.title_quality:
        title = " ".join(meta.title.split())
        paper.title, paper.title_quality, paper.norm_title = title, quality, normalize_title(title)
        paper.title_source = who
    if (meta.authors or meta.abstract) and quality >= paper.meta_quality:
        paper.authors = list(meta.authors) or paper.authors
        paper.abstract = meta.abstract or paper.abstract
        paper.categories = list(meta.categories) or paper.categories
        paper.meta_quality, paper.meta_source = quality, who
    year = meta.year or (meta.published.year if meta.published else None)
    if year and (paper.year is None or quality >= paper.meta_quality):
        paper.year = year
    if meta.venue and (paper.venue is None or quality >= paper.meta_quality):
        paper.venue = meta.venue
    paper.pdf_url = paper.pdf_url or meta.pdf_url
    # A page's og:image only where the paper has no picture: a listing's thumbnail is the paper's own.
    paper.thumbnail_url = paper.thumbnail_url or meta.thumbnail
    paper.updated_at = now
    s.flush()
    for other_id in dict.fromkeys((meta.canonical_id, *meta.same_as)):
        if not other_id or other_id == paper.canonical_id or ":" not in other_id:
            continue
        other = paper_by_any_id(s, other_id)
        if other is not None:
            paper = merge(s, paper, other)
        elif id_rank(other_id) < id_rank(paper.canonical_id):
            from digest.domain.paper_ids import landing_url

            rekey(s, paper, other_id)
            paper.landing_url = landing_url(other_id, paper.landing_url)
        else:
            add_alias(s, other_id, paper.id)
    return paper


# --- candidates and landing pages ------------------------------------------------------------------------------

MAX_PAGE_ATTEMPTS = 5  # an unreadable page is read again on later runs, this many times in all


def candidate_urls(s: Session, limit: int, *, max_attempts: int = MAX_PAGE_ATTEMPTS) -> list[str]:
    """Links posts call papers whose page was never read, or could not be read yet (up to `max_attempts`)."""
    settled = exists().where(
        LandingPage.url == CandidateLink.url,
        or_(LandingPage.outcome != "unreadable", LandingPage.attempts >= max_attempts),
    )
    known = exists().where(PaperAlias.alias == CandidateLink.url)
    query = (
        select(CandidateLink.url)
        .where(~settled, ~known)
        .group_by(CandidateLink.url)
        .order_by(CandidateLink.url)
        .limit(limit)
    )
    return list(s.scalars(query))


def note_page(s: Session, url: str, outcome: str, now: datetime, error: str | None = None) -> int:
    """Record one reading of a page; returns how many times it has been read."""
    row = s.get(LandingPage, url)
    if row is None:
        row = LandingPage(url=url, outcome=outcome, checked_at=now, attempts=0)
        s.add(row)
    row.outcome, row.checked_at, row.error = outcome, now, error
    row.attempts = (row.attempts or 0) + 1
    return row.attempts


def record_landing(
    s: Session, url: str, outcome: str, meta: PaperMeta | None, now: datetime, error: str | None = None
) -> Paper | None:
    """What reading a candidate link's page said. A paper: its row (found by the ids the page states, or new
    under the link's url: id), the URL its alias, and every post's candidate link to it a mention."""
    note_page(s, url, outcome, now, error)
    if outcome != "paper" or meta is None:
        s.flush()
        return None
    own_id = candidate_id(url)
    if own_id is None:
        return None
    paper = next(
        (
            p
            for p in (paper_by_any_id(s, i) for i in (meta.canonical_id, *meta.same_as, own_id, url) if i)
            if p is not None
        ),
        None,
    )
    if paper is None:
        from digest.domain.paper_ids import landing_url

        paper = Paper(
            canonical_id=own_id,
            title=None,
            title_quality=0,
            authors=[],
            categories=[],
            meta_quality=0,
            landing_url=landing_url(own_id, url),
            first_seen_at=now,
            updated_at=now,
        )
        s.add(paper)
        s.flush()
    add_alias(s, url, paper.id)
    add_alias(s, own_id, paper.id)
    paper = apply_meta(s, paper, meta, now, "landing")
    mark_looked_up(s, paper, "landing", now, found=True)
    links = s.execute(select(CandidateLink).where(CandidateLink.url == url)).scalars().all()
    mentioned = set(
        s.scalars(
            select(Mention.item_id).where(Mention.paper_id == paper.id, Mention.item_id.in_([c.item_id for c in links]))
        )
    )
    for link in links:
        if link.item_id not in mentioned:
            s.add(
                Mention(
                    item_id=link.item_id,
                    paper_id=paper.id,
                    position=link.position,
                    url=link.url,
                    anchor_text=link.anchor_text,
                    heading=link.heading,
                    context=link.context,
                )
            )
        s.delete(link)
    s.flush()
    return paper
