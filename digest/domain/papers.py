"""What is known of one paper, whoever found it out: a value the resolvers (enrich/) produce and the store keeps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PaperMeta:
    """What an API (or a landing page) says about one paper, keyed by our canonical id."""

    canonical_id: str
    title: str | None
    authors: tuple[str, ...] = ()
    abstract: str | None = None
    categories: tuple[str, ...] = ()
    published: datetime | None = None
    pdf_url: str | None = None
    venue: str | None = None  # "NeurIPS 2024", "Nature", "ACL 2023 (Long Papers)"
    year: int | None = None
    # Other canonical ids the resolver states for this same paper (its arXiv preprint, its DOI, its ACL id):
    # the store merges them into one paper, keeping the id that ranks first in paper_ids.ID_PRECEDENCE.
    same_as: tuple[str, ...] = ()
    resolver: str = ""  # who said it ("arxiv", "openreview", "s2", "crossref", "landing"): provenance
    thumbnail: str | None = None  # a landing page's og:image of the paper (never its site's logo)
