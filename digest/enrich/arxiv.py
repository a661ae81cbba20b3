"""The arXiv API as an enricher: ids batched, requests spaced, Retry-After honoured, answers matched by id."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from digest.domain.papers import PaperMeta
from digest.enrich import EnrichUnavailable
from digest.enrich.polite import PoliteApi, failure

if TYPE_CHECKING:
    import httpx

API_URL = "https://export.arxiv.org/api/query"
ATOM = "{http://www.w3.org/2005/Atom}"


def parse_api_response(body: bytes) -> dict[str, PaperMeta]:
    """Entries of an arXiv API Atom response by canonical id. An error feed raises EnrichUnavailable."""
    import defusedxml.ElementTree as safe_et
    from defusedxml import DefusedXmlException

    from digest.domain.paper_ids import arxiv_id

    try:
        root = safe_et.fromstring(body)
    except (safe_et.ParseError, DefusedXmlException) as exc:
        raise EnrichUnavailable(f"arXiv API answered with unreadable XML: {exc}") from None
    if root.tag != f"{ATOM}feed":  # a maintenance or proxy page is no answer: found nothing is not "not found"
        raise EnrichUnavailable(f"arXiv API answered with <{root.tag}>, not an Atom feed")
    found: dict[str, PaperMeta] = {}
    for entry in root.findall(f"{ATOM}entry"):
        raw_id = (entry.findtext(f"{ATOM}id") or "").strip()
        if "/api/errors" in raw_id:
            raise EnrichUnavailable(f"arXiv API error: {(entry.findtext(f'{ATOM}summary') or '').strip()}")
        canonical = arxiv_id(raw_id.rsplit("/abs/", 1)[-1]) if "/abs/" in raw_id else None
        if canonical is None:
            continue
        title = " ".join((entry.findtext(f"{ATOM}title") or "").split()) or None
        abstract = " ".join((entry.findtext(f"{ATOM}summary") or "").split()) or None
        authors = tuple(
            " ".join((a.findtext(f"{ATOM}name") or "").split())
            for a in entry.findall(f"{ATOM}author")
            if a.findtext(f"{ATOM}name")
        )
        categories = tuple(c.get("term", "") for c in entry.findall(f"{ATOM}category") if c.get("term"))
        published = None
        if entry.findtext(f"{ATOM}published"):
            try:
                published = datetime.fromisoformat(entry.findtext(f"{ATOM}published", "").replace("Z", "+00:00"))
            except ValueError:
                published = None
        pdf = next((link.get("href") for link in entry.findall(f"{ATOM}link") if link.get("title") == "pdf"), None)
        found[canonical] = PaperMeta(
            canonical_id=canonical,
            title=title,
            authors=authors,
            abstract=abstract,
            categories=categories,
            published=published,
            pdf_url=pdf,
        )
    return found


class ArxivEnricher:
    """At most 100 ids per request, one request at a time, at least `spacing` seconds apart (arXiv's terms).

    `clock` and `sleep` are injected so tests check the spacing without waiting for it; the politeness itself
    (spacing, Retry-After, transport failures) is `polite.PoliteApi`, shared with the other resolvers.
    """

    name = "arxiv"

    def __init__(
        self,
        client: httpx.Client,
        *,
        api_url: str = API_URL,
        batch_size: int = 100,
        spacing: float = 3.0,
        max_retry_wait: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.api_url = api_url
        self.batch_size = min(batch_size, 100)
        self.api = PoliteApi(
            client, label="arXiv API", spacing=spacing, max_retry_wait=max_retry_wait, clock=clock, sleep=sleep
        )

    def wants(self, canonical_id: str) -> bool:
        return canonical_id.startswith("arxiv:")

    def _get(self, ids: Sequence[str]) -> bytes:
        query = urlencode(
            {"id_list": ",".join(i.removeprefix("arxiv:") for i in ids), "start": 0, "max_results": len(ids)}
        )
        response = self.api.request("GET", f"{self.api_url}?{query}")
        if response.status_code >= 400 and b"/api/errors" not in response.content:
            raise failure(self.api.label, response)  # an error feed (HTTP 400) is read: it says what was wrong
        return response.content

    def lookup(self, ids: Sequence[str]) -> dict[str, PaperMeta]:
        wanted = [i for i in ids if self.wants(i)]
        found: dict[str, PaperMeta] = {}
        for start in range(0, len(wanted), self.batch_size):
            batch = wanted[start : start + self.batch_size]
            answered = parse_api_response(self._get(batch))
            found.update({k: v for k, v in answered.items() if k in batch})  # by id: order means nothing
        return found
