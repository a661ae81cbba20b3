"""Papers in the store: resolve a mention to its paper (through aliases), keep the best title, rank papers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from digest.clean.mentions import TITLE_FROM_LISTING, PaperRef, better_title
from digest.domain.paper_ids import PaperRule, pdf_url
from digest.store import bulk
from digest.store.models import CandidateLink, Item, Mention, Paper, PaperAlias, Source, table

# The columns a mention can change; loaded once per batch for the papers the batch touches.
_STATE = (
    "id",
    "canonical_id",
    "title",
    "title_quality",
    "norm_title",
    "authors",
    "abstract",
    "categories",
    "meta_quality",
    "pdf_url",
    "landing_url",
    "upvotes",
    "code_url",
    "project_url",
    "venue",
    "year",
    "title_source",
    "meta_source",
    "thumbnail_url",
)


class _Batch:
    """Resolves the mentions of many items of one source with a handful of set-based queries.

    The rules are those of resolving one mention at a time: a paper by its id, else by its URL (a real
    id now recognised for a URL known under a url: id takes that paper over), else for a paper with no
    canonical id one with the same normalised title in the same source, else a new paper. Papers, aliases
    and changes are kept in memory and written at the end, new papers in one multi-row insert.
    """

    def __init__(self, s: Session, source_id: int, refs: Sequence[PaperRef], now: datetime) -> None:
        self.s, self.source_id, self.now = s, source_id, now
        self.alias: dict[str, int] = {}
        self.state: dict[int, dict[str, object]] = {}
        self.dirty: set[int] = set()
        self.twins: dict[str, int] = {}
        self.fresh_aliases: dict[str, int] = {}
        self.merges: list[tuple[int, int]] = []  # (stays, joins it): a URL's paper found to be an id's paper
        self.next_temp = -1
        self._load(refs)

    def _load(self, refs: Sequence[PaperRef]) -> None:
        names = list({name for r in refs for name in (r.paper_id, r.url) if name})
        self.alias.update(bulk.select_in(self.s, table(PaperAlias), ("alias", "paper_id"), key="alias", values=names))
        # A paper's own id is its row's canonical_id, never also an alias row (stores written before this
        # have both; either finds it).
        own = list({r.paper_id for r in refs if not r.candidate} - self.alias.keys())
        self.alias.update(bulk.select_in(self.s, table(Paper), ("canonical_id", "id"), key="canonical_id", values=own))
        norms = list({r.norm_title for r in refs if r.norm_title and not r.candidate and r.paper_id not in self.alias})
        ops = bulk.ops_of(self.s)
        for chunk in bulk.chunks(norms):  # SQL text through the driver: this runs once per source of every fetch
            rows = ops.sql(
                self.s,
                "SELECT p.norm_title, min(p.id) FROM papers p JOIN mentions m ON m.paper_id = p.id "
                "JOIN items i ON i.id = m.item_id WHERE i.source_id = ? AND p.norm_title IN "
                f"({', '.join('?' * len(chunk))}) GROUP BY p.norm_title".replace("?", ops.mark),
                [self.source_id, *chunk],
            )
            self.twins.update({norm: pid for norm, pid in rows})
        ids = list(set(self.alias.values()) | set(self.twins.values()))
        for row in bulk.select_in(self.s, table(Paper), _STATE, key="id", values=ids):
            self.state[row[0]] = dict(zip(_STATE, row, strict=True))

    def _take_id(self, pid: int, ref: PaperRef) -> None:
        """A real id for a paper known only by URL so far: it becomes the canonical one, and the url: id it
        had an alias, so that it still finds the paper."""
        before = str(self.state[pid]["canonical_id"])
        if not bulk.select_in(self.s, table(PaperAlias), ("alias",), key="alias", values=[before]):
            self.alias.setdefault(before, pid)
            self.fresh_aliases.setdefault(before, pid)
        self.state[pid]["canonical_id"] = ref.paper_id
        self.state[pid]["landing_url"] = ref.landing_url
        self.dirty.add(pid)

    def known(self, ref: PaperRef) -> bool:
        """A candidate is a paper once its landing page said so: then its URL is an alias of that paper."""
        return ref.url in self.alias or ref.paper_id in self.alias

    def resolve(self, ref: PaperRef) -> int:
        strong = not ref.paper_id.startswith(("url:", "title:"))
        pid = self.alias.get(ref.paper_id)
        if pid is not None and strong and pid > 0:
            # a URL known as a url: paper now has a real id whose paper exists (a rule added, a resolver's
            # alias): the two rows are one paper
            seen = self.alias.get(ref.url)
            if (
                seen is not None
                and seen > 0
                and seen != pid
                and str(self.state[seen]["canonical_id"]).startswith(("url:", "title:"))
            ):
                self.merges.append((pid, seen))
        if pid is None:
            seen = self.alias.get(ref.url)
            if seen is not None and (not strong or str(self.state[seen]["canonical_id"]).startswith("url:")):
                pid = seen
                if strong:
                    self._take_id(pid, ref)
        norm = ref.norm_title
        if pid is None and norm:
            twin = self.twins.get(norm)
            if twin is not None and (not strong or str(self.state[twin]["canonical_id"]).startswith("url:")):
                pid = twin
                if strong:
                    self._take_id(pid, ref)
        if pid is None:
            pid, self.next_temp = self.next_temp, self.next_temp - 1
            self.state[pid] = {
                "id": pid,
                "canonical_id": ref.paper_id,
                "title": None,
                "title_quality": 0,
                "norm_title": None,
                "authors": [],
                "abstract": None,
                "categories": [],
                "meta_quality": 0,
                "pdf_url": None,
                "landing_url": ref.landing_url,
                "upvotes": None,
                "code_url": None,
                "project_url": None,
                "venue": None,
                "year": None,
                "title_source": None,
                "meta_source": None,
                "thumbnail_url": None,
            }
        self._improve(pid, ref)
        for name in (ref.paper_id, ref.url):
            if name and name not in self.alias:  # an alias never moves once seen
                self.alias[name] = pid
                if name != self.state[pid]["canonical_id"]:
                    self.fresh_aliases[name] = pid
        if self.state[pid]["norm_title"]:
            self.twins.setdefault(str(self.state[pid]["norm_title"]), pid)
        return pid

    def _improve(self, pid: int, ref: PaperRef) -> None:
        st = self.state[pid]
        before = dict(st) if pid > 0 else None  # a new paper is inserted whole: no change to track
        if better_title(ref.title, ref.title_quality, _str(st["title"]), _int(st["title_quality"])):
            st.update(
                title=ref.title,
                title_quality=ref.title_quality,
                norm_title=ref.norm_title,
                title_source="listing" if ref.title_quality >= TITLE_FROM_LISTING else "anchor",
            )
        if st["pdf_url"] is None:
            canonical = str(st["canonical_id"])
            st["pdf_url"] = ref.pdf_url if canonical == ref.paper_id else pdf_url(canonical, ref.url)
        info = ref.info
        if info is not None:
            # Authors and abstract: a listing beats nothing, an API answer (TITLE_FROM_API) beats a listing.
            if (info.authors or info.abstract) and _int(st["meta_quality"]) <= TITLE_FROM_LISTING:
                st.update(
                    authors=list(info.authors) or st["authors"],
                    abstract=info.abstract or st["abstract"],
                    categories=list(info.categories) or st["categories"],
                    meta_quality=TITLE_FROM_LISTING,
                    meta_source="listing",
                )
            if info.venue and not st["venue"]:
                st["venue"] = info.venue
            if info.year and not st["year"]:
                st["year"] = info.year
            # Signals that change over time: the latest listing is right.
            if info.upvotes is not None:
                st["upvotes"] = info.upvotes
            st["code_url"] = info.code_url or st["code_url"]
            st["project_url"] = info.project_url or st["project_url"]
            st["thumbnail_url"] = info.thumbnail or st["thumbnail_url"]
        if before is not None and st != before:
            self.dirty.add(pid)

    def write(self) -> dict[int, int]:
        """Insert new papers, update changed ones, add aliases; returns temporary id -> real id."""
        real: dict[int, int] = {}
        new_ids = [pid for pid in self.state if pid < 0]
        papers = table(Paper)
        if new_ids:
            stamps = {"first_seen_at": self.now, "updated_at": self.now}
            rows = [{k: v for k, v in self.state[pid].items() if k != "id"} | stamps for pid in new_ids]
            by_canonical = bulk.insert_new(self.s, papers, rows, unique=("canonical_id",), key="canonical_id")
            # A paper another worker stored a moment ago (a store shared by workers) is that worker's row: found
            # here by its id, as it would have been had it been there when this batch looked.
            missing = [
                str(self.state[pid]["canonical_id"])
                for pid in new_ids
                if self.state[pid]["canonical_id"] not in by_canonical
            ]
            by_canonical.update(
                bulk.select_in(self.s, papers, ("canonical_id", "id"), key="canonical_id", values=missing)
            )
            real = {pid: by_canonical[str(self.state[pid]["canonical_id"])] for pid in new_ids}
        bulk.update_rows(self.s, papers, [{**self.state[pid], "updated_at": self.now} for pid in self.dirty if pid > 0])
        bulk.insert_rows(
            self.s,
            table(PaperAlias),
            [{"alias": a, "paper_id": real.get(pid, pid)} for a, pid in self.fresh_aliases.items()],
            unique=("alias",),
        )
        return real


def _int(value: object) -> int:
    """A stored integer column of a paper's state (None: 0)."""
    return value if isinstance(value, int) else 0


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def store_mentions_for(
    s: Session,
    *,
    source_id: int,
    entries: Sequence[tuple[int, Sequence[PaperRef]]],
    now: datetime,
    stored: Sequence[int] | None = None,
) -> None:
    """Replace the mentions of these items: an edited post that drops a link drops that mention.
    `stored`: the only items of these that may have mentions already (the others were inserted just now)."""
    item_ids = [item_id for item_id, _ in entries] if stored is None else list(stored)
    for chunk in bulk.chunks(item_ids):
        s.connection().execute(delete(Mention).where(Mention.item_id.in_(chunk)))
        s.connection().execute(delete(CandidateLink).where(CandidateLink.item_id.in_(chunk)))
    refs = [ref for _, item_refs in entries for ref in item_refs]
    if not refs:
        return
    batch = _Batch(s, source_id, refs, now)
    pending: list[dict[str, object]] = []
    candidates: list[dict[str, object]] = []
    for item_id, item_refs in entries:
        seen: set[int] = set()
        for position, ref in enumerate(item_refs):
            if ref.candidate and not batch.known(ref):
                candidates.append(
                    {
                        "item_id": item_id,
                        "url": ref.url,
                        "position": position,
                        "anchor_text": ref.anchor,
                        "heading": ref.heading,
                        "context": ref.context,
                    }
                )
                continue
            pid = batch.resolve(ref)
            if pid in seen:  # two ids of one item resolving to one paper (an alias merge): the first stands
                continue
            seen.add(pid)
            pending.append(
                {
                    "item_id": item_id,
                    "paper_id": pid,
                    "position": position,
                    "url": ref.url or ref.paper_id,
                    "anchor_text": ref.anchor,
                    "heading": ref.heading,
                    "context": ref.context,
                }
            )
    real = batch.write()
    for row in pending:
        row["paper_id"] = real.get(int(row["paper_id"]), row["paper_id"])  # type: ignore[call-overload]
    bulk.insert_rows(s, table(Mention), pending)
    if candidates:
        bulk.insert_rows(s, table(CandidateLink), candidates)
    if batch.merges:
        from digest.store.identity import merge

        for keep, drop in dict.fromkeys(batch.merges):
            a, b = s.get(Paper, keep, populate_existing=True), s.get(Paper, drop, populate_existing=True)
            if a is not None and b is not None:
                merge(s, a, b)


def store_mentions(s: Session, *, item_id: int, source_id: int, refs: Sequence[PaperRef], now: datetime) -> None:
    store_mentions_for(s, source_id=source_id, entries=[(item_id, refs)], now=now)


# --- reading ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sighting:
    source: str
    item_title: str | None
    item_url: str | None
    published: datetime | None  # the post's own date; None for a post that gives none
    anchor: str | None
    context: str | None = None  # the words around the link as stored; compose.quotes.quote trims it for show
    seen: datetime | None = None  # its date, else when digest first saw it: what orders and windows use


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
    authors: tuple[str, ...] = ()
    abstract: str | None = None
    venue: str | None = None
    year: int | None = None
    title_source: str | None = None  # who named it: a resolver ("arxiv", "s2"...), "listing", "anchor"


def ranked_papers(s: Session, *, since: datetime | None = None, top: int | None = None) -> list[RankedPaper]:
    """Papers by distinct mentioning sources, then mentioning items, then the newest mention."""
    when = func.coalesce(Item.published_at, Item.first_seen_at)
    query = (
        select(
            Paper.id,
            func.count(func.distinct(Item.source_id)).label("n_sources"),
            func.count(func.distinct(Item.id)).label("n_items"),
            func.max(when).label("latest"),
        )
        .join(Mention, Mention.paper_id == Paper.id)
        .join(Item, Item.id == Mention.item_id)
        .group_by(Paper.id)
        .order_by(
            func.count(func.distinct(Item.source_id)).desc(),
            func.count(func.distinct(Item.id)).desc(),
            func.max(when).desc(),
            Paper.canonical_id,
        )
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
        select(
            Mention.paper_id,
            Source.title,
            Source.name,
            Item.title,
            Item.url,
            Item.published_at,
            when,
            Mention.anchor_text,
            Mention.context,
        )
        .join(Item, Item.id == Mention.item_id)
        .join(Source, Source.id == Item.source_id)
        .where(Mention.paper_id.in_(ids))
        .order_by(when.desc())
    )
    if since is not None:
        seen_query = seen_query.where(when >= since)
    sightings: dict[int, list[Sighting]] = {}
    for paper_id, src_title, src_name, item_title, item_url, published, seen, anchor, context in s.execute(seen_query):
        sightings.setdefault(paper_id, []).append(
            Sighting(
                source=src_title or src_name,
                item_title=item_title,
                item_url=item_url,
                published=published,
                anchor=anchor,
                context=context,
                seen=seen,
            )
        )
    # SQLite hands back max() of a datetime column as text: take the latest from the typed sightings.
    return [
        RankedPaper(
            canonical_id=papers[row.id].canonical_id,
            title=papers[row.id].title,
            landing_url=papers[row.id].landing_url,
            pdf_url=papers[row.id].pdf_url,
            sources=row.n_sources,
            items=row.n_items,
            latest=max((x.seen for x in sightings.get(row.id, []) if x.seen), default=None),
            sightings=tuple(sightings.get(row.id, ())),
            authors=tuple(papers[row.id].authors or ()),
            abstract=papers[row.id].abstract,
            venue=papers[row.id].venue,
            year=papers[row.id].year,
            title_source=papers[row.id].title_source if papers[row.id].title else None,
        )
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
        select(
            Paper.canonical_id,
            Paper.title,
            func.count(func.distinct(Item.id)),
            func.count(func.distinct(Item.source_id)),
        )
        .join(Mention, Mention.paper_id == Paper.id)
        .join(Item, Item.id == Mention.item_id)
        .group_by(Paper.id)
        .order_by(Paper.canonical_id)
    )
    return [(cid, title, items, sources) for cid, title, items, sources in s.execute(query)]


def rescan(s: Session, rules: Sequence[PaperRule], now: datetime) -> tuple[int, int]:
    """Find the papers of every stored item again (after the rules or digest's judgement changed); returns
    (items, mentions).

    Titles that came from a post's text are forgotten first and named again from today's evidence, so a title
    an older digest took from a heading is repaired; a listing's or a resolver's title stays. A listing item's
    own paper (its first mention; it came from the listing's data, not from its HTML) is kept."""
    from sqlalchemy import update

    from digest.clean.mentions import find_mentions

    s.execute(
        update(Paper)
        .where(Paper.title_quality < TITLE_FROM_LISTING)
        .values(title=None, norm_title=None, title_quality=0, title_source=None)
    )
    own: dict[int, PaperRef] = {}
    query = (
        select(Mention.item_id, Paper.canonical_id, Mention.url)
        .join(Paper, Paper.id == Mention.paper_id)
        .join(Item, Item.id == Mention.item_id)
        .join(Source, Source.id == Item.source_id)
        .where(Source.kind == "listing", Mention.position == 0)
    )
    for item_id, canonical, url in s.execute(query):
        own[item_id] = PaperRef(
            paper_id=canonical, url=url, anchor=None, heading=None, context=None, title=None, title_quality=0
        )
    items = mentions = 0
    targets = s.execute(select(Item.id, Item.source_id, Item.content_html, Item.title)).all()
    for item_id, source_id, html, title in targets:
        refs = find_mentions(html, rules, title)
        first = own.get(item_id)
        if first is not None:
            refs = [first, *(r for r in refs if r.paper_id != first.paper_id)]
        items += 1
        mentions += sum(not r.candidate for r in refs)
        store_mentions(s, item_id=item_id, source_id=source_id, refs=refs, now=now)
    return items, mentions
