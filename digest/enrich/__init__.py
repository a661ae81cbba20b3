"""Enrichment: fill in titles, authors and abstracts of papers that arrived as bare links.

An `Enricher` answers for the ids it `wants`; arXiv is the first. Semantic Scholar or OpenReview can be
added as further enrichers without touching the pipeline: `digest.enrich.run.enrich_papers` takes any.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class PaperMeta:
    """What an API says about one paper, keyed by our canonical id."""

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


class EnrichUnavailable(Exception):
    """The API is down, slow or refusing: try again on a later run; nothing is marked as looked up."""


class Enricher(Protocol):
    name: str
    batch_size: int

    def wants(self, canonical_id: str) -> bool: ...

    def lookup(self, ids: Sequence[str]) -> dict[str, PaperMeta]:
        """Metadata for the ids found (matched by id, never by position); absent ids were not found."""
        ...
