"""The digest view model: everything a theme may show, already chosen, ordered and formatted. Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PostCard:
    item_id: int
    title: str
    url: str | None
    source: str
    source_url: str | None
    author: str | None
    published: datetime | None
    excerpt: str
    image_url: str | None

    @property
    def date_label(self) -> str:
        return self.published.strftime("%d %b %Y").lstrip("0") if self.published else ""


@dataclass(frozen=True)
class Section:
    title: str
    anchor: str
    posts: Sequence[PostCard]


@dataclass(frozen=True)
class DigestView:
    name: str
    title: str
    subject: str
    preheader: str
    generated_at: datetime
    window_start: datetime | None
    sections: Sequence[Section]

    @property
    def post_count(self) -> int:
        return sum(len(s.posts) for s in self.sections)

    @property
    def source_count(self) -> int:
        return len({p.source for s in self.sections for p in s.posts})

    @property
    def posts(self) -> list[PostCard]:
        return [p for s in self.sections for p in s.posts]


def anchor_for(title: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section"
    anchor, n = base, 2
    while anchor in taken:
        anchor, n = f"{base}-{n}", n + 1
    taken.add(anchor)
    return anchor


def group_by_source(posts: Sequence[PostCard]) -> list[Section]:
    """Sections per source, the source with the newest post first; posts newest first within."""
    order: dict[str, list[PostCard]] = {}
    for p in posts:
        order.setdefault(p.source, []).append(p)
    taken: set[str] = set()
    return [Section(title=name, anchor=anchor_for(name, taken), posts=group) for name, group in order.items()]


def build_view(*, name: str, title: str, posts: Sequence[PostCard], generated_at: datetime,
               window_start: datetime | None) -> DigestView:
    sections = group_by_source(posts)
    n_posts = len(posts)
    n_sources = len(sections)
    date = generated_at.strftime("%d %b %Y").lstrip("0")
    subject = f"{title}: {n_posts} new post{'s' if n_posts != 1 else ''} ({date})"
    lead = ", ".join(p.title for p in posts[:3])
    preheader = (f"{n_posts} post{'s' if n_posts != 1 else ''} from {n_sources} source"
                 f"{'s' if n_sources != 1 else ''}" + (f": {lead}" if lead else ""))[:150]
    return DigestView(name=name, title=title, subject=subject, preheader=preheader, generated_at=generated_at,
                      window_start=window_start, sections=sections)
