"""Resolution by title: papers known only by their title (`title:<normalised title>`, from pasted listings)
get their real ids and metadata from a search API, but only when the API's title is the asked title.

Search engines always answer something: Semantic Scholar's title match returns its best guess however far off
("mining association rules between" -> "Mining association rules between sets of items in large databases"),
Crossref ranks by relevance. A wrong paper is worse than none (it would merge two papers in the store), so a
candidate is accepted only when its normalised title (`domain.paper_ids.normalize_title`: case, punctuation and
whitespace folded) equals the asked one. A title that merely starts the same, or equals after a subtitle is
dropped, is rejected.

The answer is keyed by the asked `title:` id, with the ids the API states for the paper (arXiv, DOI, ACL) in
`same_as`, so the store re-keys the paper to its real id. Its `resolver` is "title" (RESOLVER_QUALITY ranks it
below every by-id answer: a title is weaker evidence than an id). Searches are tried in order (S2, then
Crossref) until one matches; each keeps its own API's politeness.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from digest.domain.papers import PaperMeta


class TitleSearch(Protocol):
    """One search API. `candidates` are keyed by the strongest id they state ("" for none), the other ids
    they state in same_as; they raise EnrichUnavailable as any resolver does."""

    name: str

    def candidates(self, title: str) -> list[PaperMeta]: ...


def exact_match(asked: str, candidates: Sequence[PaperMeta]) -> PaperMeta | None:
    """The first candidate whose normalised title is the asked normalised title; None when none is."""
    from digest.domain.paper_ids import normalize_title

    want = normalize_title(asked)
    for candidate in candidates:
        if candidate.title and normalize_title(candidate.title) == want:
            return candidate
    return None


def as_title_answer(title_id: str, match: PaperMeta) -> PaperMeta:
    """A search's match re-keyed to the asked `title:` id: its real ids become same_as."""
    ids = tuple(dict.fromkeys(i for i in (match.canonical_id, *match.same_as) if i and i != title_id))
    return PaperMeta(
        canonical_id=title_id,
        title=match.title,
        authors=match.authors,
        abstract=match.abstract,
        categories=match.categories,
        published=match.published,
        pdf_url=match.pdf_url,
        venue=match.venue,
        year=match.year,
        same_as=ids,
        resolver="title",
    )


class TitleResolver:
    """`title:` ids, each searched by title: one request per id and search, until one search matches exactly.

    Batches are small (`batch_size`, 10) because a search is one request per id: an API failing part-way
    through a lookup loses only that lookup's answers, which are asked again next run.
    """

    name = "title"

    def __init__(self, searches: Sequence[TitleSearch], *, batch_size: int = 10) -> None:
        self.searches = list(searches)
        self.batch_size = max(1, batch_size)

    def wants(self, canonical_id: str) -> bool:
        return canonical_id.startswith("title:") and bool(canonical_id.removeprefix("title:").strip())

    def lookup(self, ids: Sequence[str]) -> dict[str, PaperMeta]:
        found: dict[str, PaperMeta] = {}
        for title_id in dict.fromkeys(i for i in ids if self.wants(i)):
            title = title_id.removeprefix("title:")
            for search in self.searches:
                match = exact_match(title, search.candidates(title))
                if match is not None:
                    found[title_id] = as_title_answer(title_id, match)
                    break
        return found
