"""The digest view model: everything a theme may show, already chosen, ordered and formatted. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from digest.compose.quotes import quote
from digest.compose.select import ChosenPaper, ChosenPost, Selection, is_listed
from digest.domain.paper_ids import display_id
from digest.store.digests import MentionText


@dataclass(frozen=True)
class Link:
    title: str
    url: str | None
    source: str
    quote: str | None = None  # what the post says about the paper (quotes.quote): plain text, escaped by themes


@dataclass(frozen=True)
class PaperCard:
    paper_id: int
    canonical_id: str
    title: str
    url: str | None  # the landing page
    pdf_url: str | None
    code_url: str | None
    authors: str  # "A, B, C et al."
    abstract: str  # one line
    why: tuple[str, ...]
    discussed_in: tuple[Link, ...]
    is_update: bool
    upvotes: int | None
    thumbnail_url: str | None = None  # http(s) only (safe_url); shown with thumbnail_alt

    thumbnail_alt = "Paper thumbnail"  # what the picture is; the card's title says which paper


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
    paper_count: int = 0

    image_alt = "Image from the post"  # not the title again: a screen reader reads that just after

    @property
    def date_label(self) -> str:
        return self.published.strftime("%d %b %Y").lstrip("0") if self.published else ""

    @property
    def excerpt_parts(self) -> tuple[tuple[str, bool], ...]:
        """The excerpt as (text, is_formula) runs, for a theme that shows formulas as code (see formula_runs)."""
        return formula_runs(self.excerpt)


# An excerpt is plain text in which a formula stands as its TeX between TeX's own delimiters, \(...\) or \[...\]
# (clean.math). "$" is not one: "$5.00 and $10" is prose.
_FORMULA = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]")


def formula_runs(text: str) -> tuple[tuple[str, bool], ...]:
    """Plain text split into runs of prose and formulas (their TeX, without delimiters). The runs are text: a
    theme prints each one autoescaped, a formula inside <code>; no markup is ever built from an excerpt."""
    if "\\" not in text:
        return ((text, False),) if text else ()
    runs: list[tuple[str, bool]] = []
    at = 0
    for match in _FORMULA.finditer(text):
        if match.start() > at:
            runs.append((text[at : match.start()], False))
        runs.append((match.group(1) if match.group(1) is not None else match.group(2), True))
        at = match.end()
    if at < len(text):
        runs.append((text[at:], False))
    return tuple(runs)


@dataclass(frozen=True)
class Section:
    title: str
    anchor: str
    papers: Sequence[PaperCard] = ()
    posts: Sequence[PostCard] = ()


@dataclass(frozen=True)
class DigestView:
    name: str
    title: str
    subject: str
    preheader: str
    generated_at: datetime
    window_start: datetime | None
    sections: Sequence[Section]
    more_papers: int = 0
    more_posts: int = 0
    footer: Sequence[str] = field(default_factory=tuple)  # e.g. how to unsubscribe
    first_issue: bool = False  # no issue before this one: "nothing new" is then "nothing since <window start>"

    @property
    def posts(self) -> list[PostCard]:
        return [p for s in self.sections for p in s.posts]

    @property
    def papers(self) -> list[PaperCard]:
        return [p for s in self.sections for p in s.papers]

    @property
    def post_count(self) -> int:
        return len(self.posts)

    @property
    def paper_count(self) -> int:
        return len(self.papers)

    @property
    def source_count(self) -> int:
        return len({p.source for p in self.posts} | {link.source for c in self.papers for link in c.discussed_in})

    @property
    def date_label(self) -> str:
        return self.generated_at.strftime("%d %b %Y").lstrip("0")

    @property
    def since_label(self) -> str:
        return self.window_start.strftime("%d %b %Y").lstrip("0") if self.window_start else ""

    @property
    def nothing_new(self) -> str:
        """What an issue with nothing in it says: measured from the last issue, or for a first issue from the
        start of its window (lookback_days), so that an empty first issue does not speak of a last one."""
        if self.first_issue and self.window_start:
            return f"Nothing dated since {self.since_label}."
        return "Nothing new since the last issue."


def anchor_for(title: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section"
    anchor, n = base, 2
    while anchor in taken:
        anchor, n = f"{base}-{n}", n + 1
    taken.add(anchor)
    return anchor


def authors_line(authors: Sequence[str], limit: int = 3) -> str:
    if len(authors) <= limit:
        return ", ".join(authors)
    return ", ".join(authors[:limit]) + " et al."


def one_line(text: str | None, limit: int = 220) -> str:
    """The first sentence of an abstract (or its first `limit` characters, cut at a word)."""
    if not text:
        return ""
    text = " ".join(text.split())
    m = re.search(r"(?<=[.!?])\s+(?=[A-Z])", text[: limit + 1])
    if m and m.start() >= 40:
        return text[: m.start()]
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def safe_url(url: str | None) -> str | None:
    """Only http(s) links reach a template, whatever a listing or feed claimed (defence in depth)."""
    from digest.clean.urls import absolute_url

    result = absolute_url(url, None) if url else None
    return result if result and result.startswith(("http://", "https://")) else None


def paper_card(chosen: ChosenPaper, said: Mapping[tuple[int, int], MentionText] | None = None) -> PaperCard:
    """The card of a chosen paper; `said` holds the posts' words around their links, by (paper id, item id),
    quoted under each post that discusses it (none without)."""
    p = chosen.paper
    said = said or {}

    def quoted(item_id: int) -> str | None:
        m = said.get((p.id, item_id))
        return quote(m.context, anchor=m.anchor, title=p.title) if m else None

    links = tuple(
        Link(title=i.title or i.url or "(untitled)", url=safe_url(i.url), source=i.source, quote=quoted(i.id))
        for i in chosen.items
        if not is_listed(i)
    )
    # The paper's thumbnail, else its listing entry's image (a store filled before papers kept thumbnails has
    # Hugging Face's there).
    thumbnail = safe_url(p.thumbnail_url) or next(
        (url for i in chosen.items if is_listed(i) and (url := safe_url(i.image_url))), None
    )
    return PaperCard(
        paper_id=p.id,
        canonical_id=p.canonical_id,
        title=p.title or display_id(p.canonical_id),
        url=safe_url(p.landing_url),
        pdf_url=safe_url(p.pdf_url),
        code_url=safe_url(p.code_url),
        authors=authors_line(p.authors),
        abstract=one_line(p.abstract),
        why=chosen.why,
        discussed_in=links,
        is_update=chosen.is_update,
        upvotes=p.upvotes,
        thumbnail_url=thumbnail,
    )


def post_card(chosen: ChosenPost) -> PostCard:
    i = chosen.item
    return PostCard(
        item_id=i.id,
        title=i.title or i.url or "(untitled)",
        url=safe_url(i.url),
        source=i.source,
        source_url=safe_url(i.site_url),
        author=i.author,
        published=None if i.undated else i.when,
        excerpt=i.excerpt or i.summary or "",
        image_url=safe_url(i.image_url),
        paper_count=chosen.paper_count,
    )


def _nouns_agree(template: str, papers: int, posts: int) -> str:
    """ "{papers} papers" in a subject template reads "1 paper" for one paper, "{posts} posts" "1 post"."""
    for noun, count in (("paper", papers), ("post", posts)):
        if count == 1:
            template = re.sub(r"(\{" + noun + r"s\}\s+)" + noun + r"s\b", r"\g<1>" + noun, template)
    return template


def subject_line(template: str, *, title: str, name: str, date: str, papers: int, posts: int, top: str) -> str:
    text = _nouns_agree(template, papers, posts).format(
        title=title, name=name, date=date, papers=papers, posts=posts, top=top
    )
    return " ".join(text.split())[:200]


def build_view(
    *,
    name: str,
    title: str,
    selection: Selection,
    order: Sequence[str],
    generated_at: datetime,
    window_start: datetime | None,
    subject_template: str,
    footer: Sequence[str] = (),
    said: Mapping[tuple[int, int], MentionText] | None = None,
    first_issue: bool = False,
) -> DigestView:
    """Sections in config order (the catch-all last); empty sections are left out. `said`: the mentions'
    anchors and contexts of the shown papers (store.mention_texts), for the quotes on their cards."""
    taken: set[str] = set()
    sections = []
    for section_name in order:
        papers = [paper_card(c, said) for c in selection.papers if c.section == section_name]
        posts = [post_card(c) for c in selection.posts if c.section == section_name]
        if papers or posts:
            sections.append(
                Section(title=section_name, anchor=anchor_for(section_name, taken), papers=papers, posts=posts)
            )
    n_papers, n_posts = len(selection.papers), len(selection.posts)
    date = generated_at.strftime("%d %b %Y").lstrip("0")
    top = (
        selection.papers[0].paper.title
        if selection.papers
        else (selection.posts[0].item.title if selection.posts else "")
    ) or ""
    subject = subject_line(subject_template, title=title, name=name, date=date, papers=n_papers, posts=n_posts, top=top)
    lead = [c.paper.title for c in selection.papers[:2] if c.paper.title]
    lead += [c.item.title for c in selection.posts[: 3 - len(lead)] if c.item.title]
    preheader = (
        f"{n_papers} paper{'s' if n_papers != 1 else ''} and {n_posts} post{'s' if n_posts != 1 else ''}"
        + (": " + "; ".join(lead) if lead else "")
    )[:180]
    return DigestView(
        name=name,
        title=title,
        subject=subject,
        preheader=preheader,
        generated_at=generated_at,
        window_start=window_start,
        sections=sections,
        more_papers=selection.more_papers,
        more_posts=selection.more_posts,
        footer=tuple(footer),
        first_issue=first_issue,
    )
