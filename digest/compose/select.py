"""Choose and rank what an issue shows: filters first, then papers by evidence, posts by recency. Pure."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from digest.compose.rules import OTHER_SECTION, Section, assign_section, first_match, matches_any
from digest.store.digests import CandidateItem, CandidatePaper

# Weights of the paper score; a distinct source counts most, a reader's attention follows breadth.
SOURCE_POINTS = 3.0
ITEM_POINTS = 1.0
UPVOTE_POINTS = 1.5  # per e-fold of Hugging Face upvotes
RECENCY_POINTS = 2.0  # for a mention today, fading linearly over the look-back


@dataclass(frozen=True)
class Filters:
    include_keywords: Sequence[str] = ()
    include_authors: Sequence[str] = ()
    include_sources: Sequence[str] = ()
    exclude_keywords: Sequence[str] = ()
    exclude_authors: Sequence[str] = ()
    exclude_sources: Sequence[str] = ()


@dataclass(frozen=True)
class ChosenPaper:
    paper: CandidatePaper
    score: float
    why: tuple[str, ...]
    section: str
    is_update: bool
    items: tuple[CandidateItem, ...]  # the candidate items mentioning it, newest first


@dataclass(frozen=True)
class ChosenPost:
    item: CandidateItem
    section: str
    paper_count: int
    matched: str | None


@dataclass(frozen=True)
class Selection:
    papers: tuple[ChosenPaper, ...]
    posts: tuple[ChosenPost, ...]
    more_papers: int  # left out by max_papers
    more_posts: int
    consumed_items: tuple[int, ...]  # items this issue accounts for (shown posts, items of shown listings)


def _item_keep(item: CandidateItem, f: Filters) -> bool:
    texts = (item.title, item.summary, item.excerpt)
    source_names = (item.source_name, item.source, *item.source_tags)
    if f.exclude_sources and matches_any(f.exclude_sources, source_names):
        return False
    if f.exclude_authors and matches_any(f.exclude_authors, [item.author]):
        return False
    if f.exclude_keywords and first_match(f.exclude_keywords, texts):
        return False
    return not f.include_sources or matches_any(f.include_sources, source_names)


def _paper_keep(paper: CandidatePaper, f: Filters) -> tuple[bool, str | None]:
    texts = (paper.title, paper.abstract, *paper.headings)
    if f.exclude_keywords and first_match(f.exclude_keywords, texts):
        return False, None
    if f.exclude_authors and matches_any(f.exclude_authors, paper.authors):
        return False, None
    if not (f.include_keywords or f.include_authors):
        return True, None
    hit = first_match(f.include_keywords, texts) if f.include_keywords else None
    if hit is None and f.include_authors and matches_any(f.include_authors, paper.authors):
        hit = next(a for a in f.include_authors if matches_any([a], paper.authors))
    return hit is not None, hit


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def score_paper(paper: CandidatePaper, items: Sequence[CandidateItem], *, now: datetime, lookback_days: float,
                weights: Mapping[str, float]) -> float:
    """Breadth of discussion first (weighted distinct sources), then volume, upvotes and freshness."""
    weighted_sources = sum(weights.get(src, 1.0) for src in {i.source_name for i in items})
    extra_sources = max(0, paper.sources - len({i.source_name for i in items}))  # mentioned before this window
    newest = max((i.when for i in items), default=None)
    age_days = (now - newest).total_seconds() / 86400 if newest else lookback_days
    recency = max(0.0, 1.0 - age_days / max(lookback_days, 1e-9))
    return (SOURCE_POINTS * (weighted_sources + extra_sources) + ITEM_POINTS * paper.mentions
            + UPVOTE_POINTS * math.log1p(paper.upvotes or 0) + RECENCY_POINTS * recency)


def reasons(paper: CandidatePaper, items: Sequence[CandidateItem], matched: str | None,
            is_update: bool) -> tuple[str, ...]:
    out: list[str] = []
    discussed = [i for i in items if i.source_kind == "feed"]
    if paper.mentions > 1 or discussed:
        text = f"discussed in {_plural(paper.mentions, 'post')}"
        if paper.sources > 1:
            text += f" across {_plural(paper.sources, 'source')}"
        out.append(text)
    if paper.upvotes:
        out.append(f"{_plural(paper.upvotes, 'upvote')} on Hugging Face")
    listed = sorted({i.source for i in items if i.source_kind == "listing"})
    if listed:
        out.append("listed on " + ", ".join(listed))
    if matched:
        out.append(f"matched: {matched}")
    if is_update and paper.sent_mentions is not None:
        out.append(f"update: {_plural(paper.mentions - paper.sent_mentions, 'new mention')} since it was last here")
    return tuple(out)


def select_issue(items: Sequence[CandidateItem], papers: Sequence[CandidatePaper], *, sections: Sequence[Section],
                 filters: Filters, weights: Mapping[str, float], now: datetime, lookback_days: float,
                 max_papers: int, max_posts: int) -> Selection:
    """Filter, rank, cut to the limits; section rules run only for what will be shown."""
    kept_items = {i.id: i for i in items if _item_keep(i, filters)}
    ranked: list[tuple[float, CandidatePaper, tuple[CandidateItem, ...], str | None]] = []
    for paper in papers:
        if not paper.title:
            continue  # a link nobody named (a slides PDF behind "here"): nothing a reader could judge
        its = tuple(sorted((kept_items[i] for i in paper.item_ids if i in kept_items), key=lambda i: i.when,
                           reverse=True))
        if not its:
            continue
        if paper.sent_mentions is not None and paper.mentions <= paper.sent_mentions:
            continue  # shown before and nothing new said about it
        keep, matched = _paper_keep(paper, filters)
        if not keep:
            continue
        score = score_paper(paper, its, now=now, lookback_days=lookback_days, weights=weights)
        ranked.append((score, paper, its, matched))
    ranked.sort(key=lambda r: (-r[0], r[1].title or r[1].canonical_id))
    shown_papers = []
    for score, paper, its, matched in ranked[:max_papers]:
        is_update = paper.sent_mentions is not None
        notes = [i.excerpt for i in its if i.source_kind == "listing"]  # a reading list's note on the paper
        section, hit = assign_section(sections, (paper.title, paper.abstract, *paper.headings, *notes))
        shown_papers.append(ChosenPaper(paper=paper, score=score, why=reasons(paper, its, matched or hit, is_update),
                                        section=section, is_update=is_update, items=its))

    paper_count: dict[int, int] = {}
    for paper in papers:
        for item_id in paper.item_ids:
            paper_count[item_id] = paper_count.get(item_id, 0) + 1
    shown_ids = {i.id for c in shown_papers for i in c.items}
    candidates: list[CandidateItem] = []
    for item in sorted(kept_items.values(), key=lambda i: (i.when, i.id), reverse=True):
        if item.source_kind != "feed":
            continue  # a listing's items are papers: they appear as paper cards
        # With include keywords, a post stays if it matches them or discusses a paper that does.
        if (filters.include_keywords
                and not first_match(filters.include_keywords, (item.title, item.summary, item.excerpt))
                and item.id not in shown_ids):
            continue
        candidates.append(item)
    posts = []
    for item in candidates[:max_posts]:
        section, hit = assign_section(sections, (item.title, item.summary, item.excerpt))
        posts.append(ChosenPost(item=item, section=section, paper_count=paper_count.get(item.id, 0), matched=hit))

    consumed = {p.item.id for p in posts}
    for c in shown_papers:
        consumed.update(i.id for i in c.items if i.source_kind != "feed")
    return Selection(papers=tuple(shown_papers), posts=tuple(posts), more_papers=len(ranked) - len(shown_papers),
                     more_posts=len(candidates) - len(posts), consumed_items=tuple(sorted(consumed)))


def section_order(sections: Sequence[Section]) -> list[str]:
    return [s.name for s in sections] + [OTHER_SECTION]
