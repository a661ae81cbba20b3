"""Papers in the store: resolve a mention to its paper (through aliases), keep the best title, rank papers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from digest.clean.mentions import TITLE_FROM_LISTING, PaperRef, normalize_title
from digest.clean.paper_ids import landing_url, pdf_url
from digest.store.models import Item, Mention, Paper, PaperAlias, Source


def _by_alias(s: Session, alias: str) -> Paper | None:
    paper_id = s.scalar(select(PaperAlias.paper_id).where(PaperAlias.alias == alias))
    return s.get(Paper, paper_id) if paper_id is not None else None


def _take_id(paper: Paper, ref: PaperRef) -> None:
    """A real id for a paper known only by URL so far: it becomes the canonical one."""
    paper.canonical_id = ref.paper_id
    paper.landing_url = landing_url(ref.paper_id, ref.url)


def _same_title_in_source(s: Session, norm: str, source_id: int) -> Paper | None:
    """A paper with this normalised title already mentioned by an item of the same source."""
    query = (
        select(Paper)
        .join(Mention, Mention.paper_id == Paper.id)
        .join(Item, Item.id == Mention.item_id)
        .where(Paper.norm_title == norm, Item.source_id == source_id)
        .limit(1)
    )
    return s.scalars(query).first()


def _add_aliases(s: Session, paper_id: int, aliases: Sequence[str]) -> None:
    known = set(s.scalars(select(PaperAlias.alias).where(PaperAlias.alias.in_(aliases))))
    fresh = [{"alias": a, "paper_id": paper_id} for a in dict.fromkeys(aliases) if a not in known]
    if fresh:
        s.execute(insert(PaperAlias), fresh)


def _improve(paper: Paper, ref: PaperRef, now: datetime) -> None:
    if ref.title and ref.title_quality > paper.title_quality:
        paper.title = ref.title
        paper.title_quality = ref.title_quality
        paper.norm_title = normalize_title(ref.title)
        paper.updated_at = now
    if paper.pdf_url is None:
        paper.pdf_url = pdf_url(paper.canonical_id, ref.url)
    info = ref.info
    if info is None:
        return
    # Authors and abstract: a listing beats nothing, an API answer (TITLE_FROM_API) beats a listing.
    if (info.authors or info.abstract) and paper.meta_quality <= TITLE_FROM_LISTING:
        paper.authors = list(info.authors) or paper.authors
        paper.abstract = info.abstract or paper.abstract
        paper.categories = list(info.categories) or paper.categories
        paper.meta_quality = TITLE_FROM_LISTING
    # Signals that change over time: the latest listing is right.
    if info.upvotes is not None:
        paper.upvotes = info.upvotes
    paper.code_url = info.code_url or paper.code_url
    paper.project_url = info.project_url or paper.project_url
    paper.updated_at = now


def resolve_paper(s: Session, ref: PaperRef, *, source_id: int, now: datetime) -> int:
    """The paper row for a mention: by its id, else by its URL, else (for url: ids) by title within the source,
    else new. The id is asked first: when rules change, a URL seen before may now name another paper."""
    aliases = [ref.paper_id, ref.url]
    strong = not ref.paper_id.startswith("url:")
    paper = _by_alias(s, ref.paper_id)
    if paper is None:
        seen = _by_alias(s, ref.url)
        # the URL was known under another id: a real id now recognised for it replaces a url: one
        if seen is not None and (not strong or seen.canonical_id.startswith("url:")):
            paper = seen
            if strong:
                _take_id(paper, ref)
    if paper is None and ref.title:
        twin = _same_title_in_source(s, normalize_title(ref.title), source_id)
        if twin is not None and (not strong or twin.canonical_id.startswith("url:")):
            paper = twin
            if strong:
                _take_id(paper, ref)
    if paper is None:
        paper = Paper(canonical_id=ref.paper_id, title=None, title_quality=0, norm_title=None, authors=[],
                      landing_url=landing_url(ref.paper_id, ref.url), pdf_url=None, first_seen_at=now,
                      updated_at=now)
        s.add(paper)
        s.flush()
    _improve(paper, ref, now)
    _add_aliases(s, paper.id, aliases)
    return paper.id


def store_mentions(s: Session, *, item_id: int, source_id: int, refs: Sequence[PaperRef], now: datetime) -> None:
    """Replace an item's mentions with `refs`: an edited post that drops a link drops that mention."""
    s.execute(delete(Mention).where(Mention.item_id == item_id))
    rows: dict[int, dict[str, object]] = {}
    for position, ref in enumerate(refs):
        paper_id = resolve_paper(s, ref, source_id=source_id, now=now)
        # Two ids of one item may resolve to one paper (an alias merge): the first mention stands.
        rows.setdefault(paper_id, {"item_id": item_id, "paper_id": paper_id, "position": position, "url": ref.url,
                                   "anchor_text": ref.anchor, "heading": ref.heading, "context": ref.context})
    if rows:
        s.execute(insert(Mention), list(rows.values()))


# --- reading ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sighting:
    source: str
    item_title: str | None
    item_url: str | None
    published: datetime | None
    anchor: str | None


@dataclass(frozen=True)
class RankedPaper:
    canonical_id: str
    title: str | None
    landing_url: str | None
    pdf_url: str | None
    sources: int
    items: int
    latest: datetime | None
    sightings: tuple[Sighting, ...]


def ranked_papers(s: Session, *, since: datetime | None = None, top: int | None = None) -> list[RankedPaper]:
    """Papers by distinct mentioning sources, then mentioning items, then the newest mention."""
    when = func.coalesce(Item.published_at, Item.first_seen_at)
    query = (
        select(Paper.id, func.count(func.distinct(Item.source_id)).label("n_sources"),
               func.count(func.distinct(Item.id)).label("n_items"), func.max(when).label("latest"))
        .join(Mention, Mention.paper_id == Paper.id)
        .join(Item, Item.id == Mention.item_id)
        .group_by(Paper.id)
        .order_by(func.count(func.distinct(Item.source_id)).desc(), func.count(func.distinct(Item.id)).desc(),
                  func.max(when).desc(), Paper.canonical_id)
    )
    if since is not None:
        query = query.where(when >= since)
    if top:
        query = query.limit(top)
    ranked = s.execute(query).all()
    if not ranked:
        return []
    ids = [row.id for row in ranked]
    papers = {p.id: p for p in s.scalars(select(Paper).where(Paper.id.in_(ids)))}
    seen_query = (
        select(Mention.paper_id, Source.title, Source.name, Item.title, Item.url, when, Mention.anchor_text)
        .join(Item, Item.id == Mention.item_id)
        .join(Source, Source.id == Item.source_id)
        .where(Mention.paper_id.in_(ids))
        .order_by(when.desc())
    )
    if since is not None:
        seen_query = seen_query.where(when >= since)
    sightings: dict[int, list[Sighting]] = {}
    for paper_id, src_title, src_name, item_title, item_url, published, anchor in s.execute(seen_query):
        sightings.setdefault(paper_id, []).append(
            Sighting(source=src_title or src_name, item_title=item_title, item_url=item_url, published=published,
                     anchor=anchor))
    # SQLite hands back max() of a datetime column as text: take the latest from the typed sightings.
    return [
        RankedPaper(canonical_id=papers[row.id].canonical_id, title=papers[row.id].title,
                    landing_url=papers[row.id].landing_url, pdf_url=papers[row.id].pdf_url,
                    sources=row.n_sources, items=row.n_items,
                    latest=max((x.published for x in sightings.get(row.id, []) if x.published), default=None),
                    sightings=tuple(sightings.get(row.id, ())))
        for row in ranked
    ]


def paper_ids_by_item(s: Session) -> dict[int, list[str]]:
    rows = s.execute(select(Mention.item_id, Paper.canonical_id).join(Paper, Paper.id == Mention.paper_id))
    out: dict[int, list[str]] = {}
    for item_id, canonical in rows:
        out.setdefault(item_id, []).append(canonical)
    return {k: sorted(set(v)) for k, v in out.items()}


def paper_counts(s: Session) -> list[tuple[str, str | None, int, int]]:
    """(id, title, mentioning items, distinct sources) for every paper with a mention."""
    query = (
        select(Paper.canonical_id, Paper.title, func.count(func.distinct(Item.id)),
               func.count(func.distinct(Item.source_id)))
        .join(Mention, Mention.paper_id == Paper.id)
        .join(Item, Item.id == Mention.item_id)
        .group_by(Paper.id)
        .order_by(Paper.canonical_id)
    )
    return [(cid, title, items, sources) for cid, title, items, sources in s.execute(query)]


def rescan_targets(s: Session) -> list[tuple[int, int, str | None]]:
    """(item id, source id, sanitised HTML) of every item, for re-deriving mentions after rules change."""
    return [(i, src, html) for i, src, html in s.execute(select(Item.id, Item.source_id, Item.content_html))]

