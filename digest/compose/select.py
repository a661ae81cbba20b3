"""Choose and rank what an issue shows: filters first, then papers by evidence, posts by recency. Pure."""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from digest.compose.rules import OTHER_SECTION, Section, assign_section, first_match, matches_any
from digest.store.digests import CandidateItem, CandidatePaper, PaperStats

# The text of some papers (the store's paper_details, or a dict in tests): ranking runs on numbers alone,
# so only the papers that may be shown, or that a text filter must read, are ever loaded.
Details = Callable[[Sequence[PaperStats]], Mapping[int, CandidatePaper]]
# Likewise the text of some items (store.item_text), for items loaded without it.
ItemText = Callable[[Sequence[CandidateItem]], Mapping[int, CandidateItem]]

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

    @property
    def reads_paper_text(self) -> bool:
        return bool(self.include_keywords or self.include_authors or self.exclude_keywords or self.exclude_authors)

    @property
    def reads_item_text(self) -> bool:
        """Whether choosing items reads their text (titles, summaries, authors), not only their sources."""
        return bool(self.include_keywords or self.exclude_keywords or self.exclude_authors)


@dataclass(frozen=True)
class ChosenPaper:
    paper: CandidatePaper
    score: float
    why: tuple[str, ...]  # what the reader is told: reader's words, never the rule that matched
    section: str
    is_update: bool
    items: tuple[CandidateItem, ...]  # the candidate items mentioning it, newest first
    matched: str | None = None  # for the operator: the include keyword that kept it, else its section's keyword


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

    @property
    def empty(self) -> bool:
        return not (self.papers or self.posts)


def is_listed(item: CandidateItem) -> bool:
    """A listing's entry (Hugging Face daily papers, an arXiv listing, a reading list): the paper is "listed on"
    it. Any other item is a post that "discusses" the papers it links. A source with an adapter is a listing
    whatever its kind says (a store may hold one written before kinds were checked)."""
    return item.source_kind != "feed" or item.source_adapter is not None


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


def _recency(when: datetime, *, now: datetime, lookback_days: float) -> float:
    """1 for a mention now, fading linearly to 0 at the end of the look-back."""
    age_days = (now - when).total_seconds() / 86400
    return max(0.0, 1.0 - age_days / max(lookback_days, 1e-9))


def score_paper(paper: PaperStats, weighted_sources: float, distinct_sources: int, recency: float) -> float:
    """Breadth of discussion first (weighted distinct sources), then volume, upvotes and freshness.

    The window's distinct sources count with their weights; sources that mentioned the paper before the
    window count once each; `recency` is that of its newest mention in the window.
    """
    extra_sources = max(0, paper.sources - distinct_sources)
    return (
        SOURCE_POINTS * (weighted_sources + extra_sources)
        + ITEM_POINTS * paper.mentions
        + UPVOTE_POINTS * math.log1p(paper.upvotes or 0)
        + RECENCY_POINTS * recency
    )


def rank_papers(
    papers: Sequence[PaperStats],
    kept_items: Mapping[int, CandidateItem],
    *,
    now: datetime,
    lookback_days: float,
    weights: Mapping[str, float],
    top: int | None = None,
) -> tuple[list[tuple[float, PaperStats, list[int]]], int]:
    """The papers that may be shown, best first (ties by title), with their kept items' ids, and how many
    there are; with `top`, only the best `top` (a heap over a stream, not a sort of tens of thousands).
    Runs for every candidate paper, so what each kept item contributes (its source's weight, its recency) is
    worked out once per item."""
    facts = {
        i.id: (i.source_name, weights.get(i.source_name, 1.0), _recency(i.when, now=now, lookback_days=lookback_days))
        for i in kept_items.values()
    }
    eligible = 0

    def scored() -> Iterator[tuple[float, str, int, PaperStats, list[int]]]:
        nonlocal eligible
        for paper in papers:
            if paper.sent_mentions is not None and paper.mentions <= paper.sent_mentions:
                continue  # shown before and nothing new said about it
            its = [i for i in paper.item_ids if i in facts]
            if not its:
                continue
            if len(its) == 1:
                _, weighted, recency = facts[its[0]]
                distinct = 1
            else:
                by_source = {facts[i][0]: facts[i][1] for i in its}
                weighted, distinct, recency = sum(by_source.values()), len(by_source), max(facts[i][2] for i in its)
            eligible += 1
            # a paper no one named is shown by its id, never hidden: after the named ones of its score
            yield -score_paper(paper, weighted, distinct, recency), paper.title or "\uffff", paper.id, paper, its

    best = heapq.nsmallest(top, scored()) if top is not None else sorted(scored())
    return [(-neg, paper, its) for neg, _, _, paper, its in best], eligible


def reasons(paper: CandidatePaper, items: Sequence[CandidateItem], is_update: bool) -> tuple[str, ...]:
    """Why a reader sees the paper, in words whose counts agree with the card: "discussed in 2 posts" counts the
    posts the card lists (`items`, this issue's), a listing's entry is "listed on" it and never a post."""
    out: list[str] = []
    posts = [i for i in items if not is_listed(i)]
    if posts:
        text = f"discussed in {_plural(len(posts), 'post')}"
        sources = {i.source_id for i in posts}
        if len(sources) > 1:
            text += f" across {_plural(len(sources), 'source')}"
        out.append(text)
    if paper.upvotes:
        out.append(f"{_plural(paper.upvotes, 'upvote')} on Hugging Face")
    listed = sorted({i.source for i in items if is_listed(i)})
    if listed:
        out.append("listed on " + ", ".join(listed))
    if is_update and paper.sent_mentions is not None:
        out.append(f"update: {_plural(paper.mentions - paper.sent_mentions, 'new mention')} since it was last here")
    return tuple(out)


def select_issue(
    items: Sequence[CandidateItem],
    papers: Sequence[PaperStats],
    details: Details,
    *,
    sections: Sequence[Section],
    filters: Filters,
    weights: Mapping[str, float],
    now: datetime,
    lookback_days: float,
    max_papers: int,
    max_posts: int,
    item_text: ItemText | None = None,
) -> Selection:
    """Filter, rank, cut to the limits; paper text is read only where a filter or a shown card needs it, and so
    is item text when `item_text` is given (then `items` may come without it unless filters.reads_item_text)."""
    kept_items = {i.id: i for i in items if _item_keep(i, filters)}
    if filters.reads_paper_text:
        ranked, _ = rank_papers(papers, kept_items, now=now, lookback_days=lookback_days, weights=weights)
        texts = details([paper for _, paper, _ in ranked])
        kept = []
        for score, paper, its in ranked:
            keep, matched = _paper_keep(texts[paper.id], filters)
            if keep:
                kept.append((score, texts[paper.id], its, matched))
        eligible = len(kept)
    else:  # every ranked paper is eligible: only the best are ranked in full, and only their text is read
        ranked, eligible = rank_papers(
            papers, kept_items, now=now, lookback_days=lookback_days, weights=weights, top=max_papers
        )
        texts = details([paper for _, paper, _ in ranked])
        kept = [(score, texts[paper.id], its, None) for score, paper, its in ranked]
    shown = kept[:max_papers]
    shown_ids = {i for _, _, its, _ in shown for i in its}
    candidates: list[CandidateItem] = []
    for item in sorted(kept_items.values(), key=lambda i: (i.when, i.id), reverse=True):
        if is_listed(item):
            continue  # a listing's items are papers: they appear as paper cards
        # With include keywords, a post stays if it matches them or discusses a paper that does.
        if (
            filters.include_keywords
            and not first_match(filters.include_keywords, (item.title, item.summary, item.excerpt))
            and item.id not in shown_ids
        ):
            continue
        candidates.append(item)
    shown_items: Mapping[int, CandidateItem] = kept_items
    if item_text is not None:  # the text of the items this issue shows, and of no other
        shown_items = item_text([kept_items[i] for i in sorted(shown_ids | {i.id for i in candidates[:max_posts]})])

    shown_papers = []
    for score, full, item_ids, matched in shown:
        mentioning = sorted((shown_items[i] for i in item_ids), key=lambda i: i.when, reverse=True)
        is_update = full.sent_mentions is not None
        notes = [i.excerpt for i in mentioning if is_listed(i)]  # a reading list's note on the paper
        section, hit = assign_section(sections, title=full.title, body=(full.abstract, *notes), context=full.headings)
        shown_papers.append(
            ChosenPaper(
                paper=full,
                score=score,
                why=reasons(full, mentioning, is_update),
                section=section,
                is_update=is_update,
                items=tuple(mentioning),
                matched=matched or hit,
            )
        )

    paper_count: dict[int, int] = {}
    for paper in papers:
        for item_id in paper.item_ids:
            paper_count[item_id] = paper_count.get(item_id, 0) + 1
    posts = []
    for candidate in candidates[:max_posts]:
        item = shown_items[candidate.id]
        section, hit = assign_section(sections, title=item.title, body=(item.summary, item.excerpt))
        posts.append(ChosenPost(item=item, section=section, paper_count=paper_count.get(item.id, 0), matched=hit))

    consumed = {p.item.id for p in posts}
    for c in shown_papers:
        consumed.update(i.id for i in c.items if is_listed(i))
    return Selection(
        papers=tuple(shown_papers),
        posts=tuple(posts),
        more_papers=eligible - len(shown_papers),
        more_posts=len(candidates) - len(posts),
        consumed_items=tuple(sorted(consumed)),
    )


def section_order(sections: Sequence[Section]) -> list[str]:
    return [s.name for s in sections] + [OTHER_SECTION]
