"""Find the papers a post links: each link with a canonical id becomes a mention with its evidence. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from digest.domain.paper_ids import (
    PaperRule,
    candidate_id,
    canonical_id,
    landing_url,
    normalize_title,
    pdf_url,
    publication_id,
)
from digest.domain.titles import GENERIC_WORDS, WORD, fold, is_title_like
from digest.parse.types import PaperInfo

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

# How much to trust a title, by where it came from; a better source replaces a worse one. Resolvers rank
# above a listing, a listing above anchor text; a heading is never a title (a link whose own text says
# nothing names no title: the paper is shown by its id until a resolver names it).
TITLE_FROM_API = 100  # the arXiv API
RESOLVER_QUALITY = {"arxiv": 100, "openreview": 99, "s2": 98, "crossref": 97, "landing": 96, "title": 95}
TITLE_FROM_LISTING = 90
TITLE_FROM_ANCHOR = 60  # anchor text of three words or more that is not generic
TITLE_FROM_SHORT_ANCHOR = 45  # a name such as "DeepSeek-R1" or "Toolformer"
# Where a title came from, by quality, for `papers --json` and the closing report ("provenance").
TITLE_SOURCE = {TITLE_FROM_LISTING: "listing", TITLE_FROM_ANCHOR: "anchor", TITLE_FROM_SHORT_ANCHOR: "anchor"}

HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
BLOCKS = frozenset({"p", "li", "td", "th", "dd", "dt", "blockquote", "figcaption", "pre", *HEADINGS})
CONTEXT_CHARS = 280


@dataclass(frozen=True)
class PaperRef:
    """One item's mention of one paper, with the evidence the store needs to name it."""

    paper_id: str
    url: str
    anchor: str | None
    heading: str | None
    context: str | None
    title: str | None
    title_quality: int
    info: PaperInfo | None = None  # what a listing stated about the paper (authors, abstract, upvotes...)
    # A link the text calls a paper ("this paper", "[pdf]") on a host we cannot read ids from: a paper only
    # once its landing page shows it is one (digest enrich); until then it is kept aside, not a mention.
    candidate: bool = False
    # Derived once where the mention is found (a parse worker), not in the store's writer, which is a run's
    # one serial path: the normalised title, and the paper's pages were it a new paper under this id.
    norm_title: str | None = field(init=False, repr=False, compare=False)
    landing_url: str | None = field(init=False, repr=False, compare=False)
    pdf_url: str | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "norm_title", normalize_title(self.title) if self.title else None)
        object.__setattr__(self, "landing_url", landing_url(self.paper_id, self.url))
        object.__setattr__(self, "pdf_url", pdf_url(self.paper_id, self.url))


def listing_ref(info: PaperInfo, fallback_id: str | None, rules: Sequence[PaperRule] = ()) -> PaperRef | None:
    """The paper a listing item *is*: its title and metadata are the listing's, better than any anchor."""
    paper_id = canonical_id(info.url, rules) or fallback_id
    if not paper_id or ":" not in paper_id:
        return None
    quality = 0
    if info.title:
        quality = TITLE_FROM_LISTING if info.title_is_metadata else title_evidence(info.title)[1]
    return PaperRef(
        paper_id=paper_id,
        url=info.url,
        anchor=None,
        heading=None,
        context=None,
        title=clean_title(info.title) if info.title and quality else None,
        title_quality=quality,
        info=info,
    )


def own_link_ref(url: str | None, rules: Sequence[PaperRule] = ()) -> PaperRef | None:
    """The paper an item's own link is (a blog's item linking https://arxiv.org/abs/..., an OpenReview forum): the
    item is about it, whatever its body links. No title: the post's title is never a paper's."""
    paper_id = publication_id(url, rules) if url else None
    if paper_id is None:
        return None
    return PaperRef(
        paper_id=paper_id, url=url or "", anchor=None, heading=None, context=None, title=None, title_quality=0
    )


def clean_title(text: str) -> str:
    """Trim what surrounds a title in running text: edge punctuation, an unclosed "(" left by the link."""
    t = fold(text).strip(" ,;:.")
    if t.count("(") > t.count(")"):
        t = t[: t.rfind("(")].rstrip(" ,;:")
    return t


def title_evidence(anchor: str | None, post_title: str | None = None) -> tuple[str | None, int]:
    """The title a link's own text offers, and its quality; (None, 0) when it names nothing.

    Only the link's own text counts: a heading above it names a section, not the paper ("4. Many
    limitations of LRMs" was once the title of nine papers), and the post's own title is never a paper's."""
    if not is_title_like(anchor):
        return None, 0
    clean = clean_title(anchor or "")
    if post_title and normalize_title(clean) == normalize_title(post_title):
        return None, 0
    return clean, TITLE_FROM_ANCHOR if len(WORD.findall(clean)) >= 3 else TITLE_FROM_SHORT_ANCHOR


def better_title(title: str | None, quality: int, than: str | None, than_quality: int) -> bool:
    """Whether (title, quality) should replace (than, than_quality): higher quality wins; at equal quality
    the more complete title (more words), then the one that sorts first, so the result never depends on
    the order posts arrive in."""
    if not title:
        return False
    if not than or quality != than_quality:
        return quality > than_quality or not than
    words, than_words = len(WORD.findall(title)), len(WORD.findall(than))
    if words != than_words:
        return words > than_words
    return (title.casefold(), title) < (than.casefold(), than)


def _snippet(block_text: str, anchor: str) -> str:
    if len(block_text) <= CONTEXT_CHARS:
        return block_text
    at = block_text.find(anchor) if anchor else -1
    if at < 0:
        at = 0
    start = max(0, at - CONTEXT_CHARS // 3)
    end = min(len(block_text), start + CONTEXT_CHARS)
    start = max(0, end - CONTEXT_CHARS)
    text = block_text[start:end]
    if start > 0:
        text = "…" + text.split(" ", 1)[-1]
    if end < len(block_text):
        text = text.rsplit(" ", 1)[0] + "…"
    return text


# Elements that separate words: text either side of them is not one word. Inline ones (a, em, b...) do not:
# "see <a>the paper</a>." reads "see the paper.", not "see the paper ." as text(separator=" ") gives.
_BREAKS = BLOCKS | {"br", "hr", "div", "ul", "ol", "dl", "table", "tr", "figure", "section", "article"}


_INLINE_ONLY = frozenset({"a", "p", *HEADINGS})


def _text(node: LexborNode) -> str:
    """Visible text with spaces only where blocks and line breaks separate it ("(SWiRL)", not "(SWiRL )")."""
    if node.tag in _INLINE_ONLY:  # no blocks inside: the C text extraction is right and much faster
        return fold(node.text(separator=""))
    parts = []
    for n in node.traverse(include_text=True):
        if n.tag == "-text":
            parts.append(n.text_content or "")
        elif n.tag in _BREAKS:
            parts.append(" ")
    return fold("".join(parts))


# A link the text itself calls a paper: its words are all generic and one of them says "paper" ("this paper",
# "the full paper", "a position paper", "preprint", "[pdf]", "tech report").
_PAPER_WORDS = frozenset({"paper", "papers", "preprint", "pdf", "report", "manuscript", "publication"})
_CANDIDATE_EXTRA = frozenset({"technical", "tech", "camera", "ready", "arxiv", "full", "position"})


def calls_itself_a_paper(anchor: str | None) -> bool:
    words = [w.lower() for w in WORD.findall(fold(anchor))]
    return (
        0 < len(words) <= 6
        and any(w in _PAPER_WORDS for w in words)
        and all(w in GENERIC_WORDS or w in _PAPER_WORDS or w in _CANDIDATE_EXTRA for w in words)
    )


_PROSE = frozenset({"p", "blockquote"})


def _said_after(block: LexborNode) -> str | None:
    """The text of the paragraph right after `block` (its next element sibling), if it is one."""
    sibling = block.next
    while sibling is not None and sibling.tag == "-text" and not (sibling.text_content or "").strip():
        sibling = sibling.next
    if sibling is None or sibling.tag not in _PROSE:
        return None
    return _text(sibling) or None


def find_mentions(html: str | None, rules: Sequence[PaperRule] = (), post_title: str | None = None) -> list[PaperRef]:
    """Every distinct paper linked from sanitised HTML, in order of first link; best evidence per paper."""
    if not html or "<a" not in html:
        return []
    from selectolax.lexbor import LexborHTMLParser

    root = LexborHTMLParser(html).body
    return find_mentions_in(root, rules, post_title) if root is not None else []


def find_mentions_in(
    root: LexborNode, rules: Sequence[PaperRule] = (), post_title: str | None = None
) -> list[PaperRef]:
    """As find_mentions, on a parsed tree (the clean stage parses each item once for all it needs).

    Candidates (`PaperRef.candidate`) come after the papers: links on unknown hosts that the text calls a
    paper, each once, never one whose URL is already a paper of this post."""
    found: dict[str, PaperRef] = {}
    candidates: dict[str, PaperRef] = {}
    heading: str | None = None
    block_texts: dict[int, str] = {}

    def context_of(node: LexborNode, anchor: str | None) -> str | None:
        block = node.parent
        while block is not None and block.tag not in BLOCKS and block is not root:
            block = block.parent
        if block is None or block is root:
            return None
        key = block.mem_id
        if key not in block_texts:
            block_texts[key] = _text(block)
        text = block_texts[key]
        if anchor and len(text) <= len(anchor) + 2 and (after := _said_after(block)):
            # the link is all its block says (a heading that is the paper's title, a bare list item): what the
            # post says about the paper is the paragraph that follows
            return _snippet(after, "") or None
        return _snippet(text, anchor or "") or None

    # The selector engine hands back headings and links in document order, without a Python walk.
    for node in root.css("h1, h2, h3, h4, h5, h6, a[href]"):
        tag = node.tag
        if tag in HEADINGS:
            heading = _text(node)
            continue
        href = node.attributes.get("href")
        if not href:
            continue
        paper_id = canonical_id(href, rules)
        if paper_id is None:
            if href in candidates:
                continue
            anchor = _text(node) or None
            if calls_itself_a_paper(anchor) and (cid := candidate_id(href)) is not None:
                candidates[href] = PaperRef(
                    paper_id=cid,
                    url=str(href),
                    anchor=anchor,
                    heading=heading,
                    context=context_of(node, anchor),
                    title=None,
                    title_quality=0,
                    candidate=True,
                )
            continue
        existing = found.get(paper_id)
        if existing is not None and existing.title_quality >= TITLE_FROM_ANCHOR:
            continue  # no later link can say more: the first good anchor of a post stands
        anchor = _text(node) or None
        title, quality = title_evidence(anchor, post_title)
        if existing is not None and not better_title(title, quality, existing.title, existing.title_quality):
            continue
        found[paper_id] = PaperRef(
            paper_id=paper_id,
            url=str(href),
            anchor=anchor,
            heading=heading,
            context=context_of(node, anchor),
            title=title,
            title_quality=quality,
        )
    refs = list(found.values())
    if candidates:
        seen = {ref.url for ref in refs}
        refs.extend(ref for url, ref in candidates.items() if url not in seen)
    return refs
