"""Paper identity in the store: when two ids turn out to be one paper, one row keeps everything.

A venue paper and its arXiv preprint, a paper-finder page and the OpenReview forum it mirrors, a pasted
title and the arXiv id a resolver found for it: each pair arrived as two rows. The row that stays carries
the id that ranks first in `paper_ids.ID_PRECEDENCE`; the other's ids become its aliases, its mentions,
issue entries and lookups move over, and the better title and metadata of the two are kept.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.orm import Session, aliased

from digest.clean.mentions import better_title
from digest.domain.paper_ids import id_rank
from digest.store.models import DigestPaper, Mention, Paper, PaperAlias, PaperLookup

# Filled from the other row when the staying row has nothing.
_FILL = ("pdf_url", "venue", "year", "upvotes", "code_url", "project_url")


def paper_by_any_id(s: Session, name: str) -> Paper | None:
    """The paper whose canonical id, or one of whose aliases, is `name`."""
    paper = s.scalar(select(Paper).where(Paper.canonical_id == name))
    if paper is not None:
        return paper
    pid = s.scalar(select(PaperAlias.paper_id).where(PaperAlias.alias == name))
    return s.get(Paper, pid) if pid is not None else None


def add_alias(s: Session, name: str, paper_id: int) -> None:
    """`name` finds the paper from now on (an alias already held by another paper is left alone)."""
    if not name or s.scalar(select(PaperAlias.paper_id).where(PaperAlias.alias == name)) is not None:
        return
    if s.scalar(select(Paper.id).where(Paper.canonical_id == name)) is not None:
        return
    s.execute(insert(PaperAlias).values(alias=name, paper_id=paper_id))


def rekey(s: Session, paper: Paper, new_id: str) -> None:
    """Give `paper` the stronger id `new_id`; its old id becomes an alias."""
    old = paper.canonical_id
    s.execute(delete(PaperAlias).where(PaperAlias.alias == new_id))
    paper.canonical_id = new_id
    s.flush()
    add_alias(s, old, paper.id)


def merge(s: Session, a: Paper, b: Paper) -> Paper:
    """Make `a` and `b` one paper; returns the row that stays (the one whose id ranks first)."""
    if a.id == b.id:
        return a
    keep, drop = (a, b) if (id_rank(a.canonical_id), a.id) <= (id_rank(b.canonical_id), b.id) else (b, a)
    if better_title(drop.title, drop.title_quality, keep.title, keep.title_quality):
        keep.title, keep.title_quality, keep.norm_title = drop.title, drop.title_quality, drop.norm_title
        keep.title_source = drop.title_source
    if drop.meta_quality > keep.meta_quality or (not keep.abstract and drop.abstract):
        keep.authors = list(drop.authors) or keep.authors
        keep.abstract = drop.abstract or keep.abstract
        keep.categories = list(drop.categories) or keep.categories
        keep.meta_quality, keep.meta_source = max(drop.meta_quality, keep.meta_quality), drop.meta_source
    for column in _FILL:
        if getattr(keep, column) is None and getattr(drop, column) is not None:
            setattr(keep, column, getattr(drop, column))
    keep.first_seen_at = min(keep.first_seen_at, drop.first_seen_at)
    s.flush()
    _move(s, Mention, Mention.item_id, keep.id, drop.id)
    _move(s, DigestPaper, DigestPaper.digest_id, keep.id, drop.id)
    _move(s, PaperLookup, PaperLookup.resolver, keep.id, drop.id)
    s.execute(update(PaperAlias).where(PaperAlias.paper_id == drop.id).values(paper_id=keep.id))
    dropped_id = drop.canonical_id
    s.delete(drop)
    s.flush()
    add_alias(s, dropped_id, keep.id)
    return keep


def _move(s: Session, model: type, other_key: object, keep: int, drop: int) -> None:
    """Move `drop`'s rows of a (paper_id, other_key) table to `keep`, except where `keep` has that row."""
    table = model.__table__  # type: ignore[attr-defined]
    key = table.c[other_key.key]  # type: ignore[attr-defined]
    mine: Any = aliased(model)
    taken = exists().where(mine.paper_id == keep, getattr(mine, other_key.key) == key)  # type: ignore[attr-defined]
    s.execute(update(table).where(table.c.paper_id == drop, ~taken).values(paper_id=keep))
    s.execute(delete(table).where(table.c.paper_id == drop))
