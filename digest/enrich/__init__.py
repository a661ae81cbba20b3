"""Enrichment: fill in titles, authors and abstracts of papers that arrived as bare links.

An `Enricher` answers for the ids it `wants`; arXiv is the first. Semantic Scholar or OpenReview can be
added as further enrichers without touching the pipeline: `digest.enrich.run.enrich_papers` takes any.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from digest.domain.papers import PaperMeta


class EnrichUnavailable(Exception):
    """The API is down, slow or refusing: try again on a later run; nothing is marked as looked up."""


class Enricher(Protocol):
    name: str
    batch_size: int

    def wants(self, canonical_id: str) -> bool: ...

    def lookup(self, ids: Sequence[str]) -> dict[str, PaperMeta]:
        """Metadata for the ids found (matched by id, never by position); absent ids were not found."""
        ...
