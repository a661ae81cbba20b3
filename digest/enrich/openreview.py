"""OpenReview as a resolver for `openreview:<forum id>`: the venue's own record of a submission.

Notes are asked in batches, `GET /notes?ids=A,B,...` on API v2 (api2.openreview.net), the ids OpenReview
clients pass comma-joined; the answer is `{"notes": [...], "count": N}`, matched to the asked ids by each note's
`id`, never by position. A note whose `forum` is not itself is a reply (a review, a comment), not a paper.
Venues from before 2023 live on API v1 (api.openreview.net), which v2 does not serve: the ids v2 did not answer
are asked there the same way (`legacy_api_url=None` turns that off). v2 wraps every content field as
`{"value": ...}`; v1 has plain values; both are read.

OpenReview refuses a whole request when one of its notes is not public (403) or does not exist (404): such a
batch is halved until the refused note stands alone, and is then not found, so one note costs its own lookup.

What a note says: title, authors, abstract, `venue` ("ICLR 2024 poster"; "Submitted to ICLR 2024",
withdrawn or rejected submissions and arXiv ("CoRR") are no venue), the year of the venue (else of the
publication date), the publication date (`pdate`, else `odate` when it went public, else `cdate`), the PDF
(`/pdf/<hash>.pdf`, made absolute against the site), and the arXiv or DOI ids the note states (`externalIds`
of imported records, an arXiv or DOI `html` link) as same_as.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from digest.domain.papers import PaperMeta
from digest.enrich import EnrichUnavailable
from digest.enrich.polite import PoliteApi, failure, json_error, read_json

if TYPE_CHECKING:
    import httpx

API_URL = "https://api2.openreview.net"
LEGACY_API_URL = "https://api.openreview.net"
SITE_URL = "https://openreview.net"
LABEL = "OpenReview API"
MAX_BATCH = 100
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_NOT_PUBLISHED = ("Rejected_Submission", "Withdrawn_Submission", "Desk_Rejected_Submission")
_PREPRINT_SERVERS = frozenset({"arxiv.org", "arxiv", "corr"})


def content_value(content: Mapping[str, Any], key: str) -> Any:
    """A content field in either shape: v2's `{"value": x}` or v1's plain `x`."""
    field = content.get(key)
    if isinstance(field, Mapping):
        return field.get("value")
    return field


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None


def _millis(value: object) -> datetime | None:
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _venue(content: Mapping[str, Any]) -> str | None:
    """The venue a paper appeared at; a submission that was not accepted (yet) has none."""
    venue = _text(content_value(content, "venue"))
    venue_id = content_value(content, "venueid")
    if isinstance(venue_id, str) and venue_id.rstrip("/").endswith(_NOT_PUBLISHED):
        return None
    if isinstance(venue_id, str) and venue_id.strip().casefold() in _PREPRINT_SERVERS:
        return None  # an imported arXiv record: a preprint server is no venue
    if venue and (
        venue.lower().startswith("submitted to")
        or "withdrawn" in venue.lower()
        or "rejected" in venue.lower()
        or venue.split()[0].casefold() in _PREPRINT_SERVERS
    ):
        return None
    return venue


def _pdf(content: Mapping[str, Any], site_url: str) -> str | None:
    pdf = content_value(content, "pdf")
    if not isinstance(pdf, str) or not pdf.strip():
        return None
    pdf = pdf.strip()
    if pdf.startswith("/"):
        return f"{site_url.rstrip('/')}{pdf}"
    return pdf if pdf.startswith(("https://", "http://")) else None


def _stated_ids(note: Mapping[str, Any], content: Mapping[str, Any]) -> tuple[str, ...]:
    """arXiv and DOI ids the note states for itself: `externalIds` ("arxiv:2210.05043v2", "dblp:..."), or an
    `html` link to an arXiv or DOI page."""
    from digest.domain.paper_ids import canonical_from_id, canonical_id

    found: list[str] = []
    external = note.get("externalIds")
    for raw in [*(external if isinstance(external, list) else []), note.get("externalId")]:
        if isinstance(raw, str) and raw.partition(":")[0].lower() in ("arxiv", "doi"):
            canonical = canonical_from_id(raw)
            if canonical:
                found.append(canonical)
    html = content_value(content, "html")
    if isinstance(html, str):
        canonical = canonical_id(html)
        if canonical and canonical.startswith(("arxiv:", "doi:")):
            found.append(canonical)
    return tuple(dict.fromkeys(found))


def note_meta(note: Mapping[str, Any], *, site_url: str = SITE_URL) -> PaperMeta | None:
    """One note as our metadata, keyed `openreview:<id>`; None for a reply or a note without an id."""
    note_id = note.get("id")
    forum = note.get("forum")
    if not isinstance(note_id, str) or not note_id or (forum and forum != note_id):
        return None
    content: Mapping[str, Any] = note["content"] if isinstance(note.get("content"), Mapping) else {}
    authors = content_value(content, "authors")
    published = _millis(note.get("pdate")) or _millis(note.get("odate")) or _millis(note.get("cdate"))
    venue = _venue(content)
    in_venue = _YEAR.search(venue or "")
    year = int(in_venue[1]) if in_venue else (published.year if published else None)
    canonical = f"openreview:{note_id}"
    return PaperMeta(
        canonical_id=canonical,
        title=_text(content_value(content, "title")),
        authors=tuple(name for a in (authors if isinstance(authors, list) else []) if (name := _text(a))),
        abstract=_text(content_value(content, "abstract")),
        published=published,
        pdf_url=_pdf(content, site_url),
        venue=venue,
        year=year,
        same_as=tuple(i for i in _stated_ids(note, content) if i != canonical),
        resolver="openreview",
    )


def parse_notes(body: bytes) -> list[Mapping[str, Any]]:
    """The notes of an answer, `{"notes": [...], "count": N}`."""
    doc = read_json(LABEL, body)
    notes = doc.get("notes") if isinstance(doc, Mapping) else None
    if not isinstance(notes, list):
        raise EnrichUnavailable(f"{LABEL} answered without a list of notes")
    return [n for n in notes if isinstance(n, Mapping)]


def by_id(asked: Sequence[str], notes: Sequence[Mapping[str, Any]], site_url: str) -> dict[str, PaperMeta]:
    wanted = set(asked)
    found: dict[str, PaperMeta] = {}
    for note in notes:
        meta = note_meta(note, site_url=site_url)
        if meta is not None and meta.canonical_id in wanted:
            found[meta.canonical_id] = meta
    return found


class OpenReviewEnricher:
    """`openreview:` ids, up to 100 a request, requests `spacing` seconds apart (v2 first, then v1)."""

    name = "openreview"

    def __init__(
        self,
        client: httpx.Client,
        *,
        api_url: str = API_URL,
        legacy_api_url: str | None = LEGACY_API_URL,
        site_url: str = SITE_URL,
        batch_size: int = MAX_BATCH,
        spacing: float = 1.0,
        max_retry_wait: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.legacy_api_url = legacy_api_url.rstrip("/") if legacy_api_url else None
        self.site_url = site_url
        self.batch_size = max(1, min(batch_size, MAX_BATCH))
        # one pace for both API versions: they are one service
        self.api = PoliteApi(
            client, label=LABEL, spacing=spacing, max_retry_wait=max_retry_wait, clock=clock, sleep=sleep
        )

    def wants(self, canonical_id: str) -> bool:
        return canonical_id.startswith("openreview:") and len(canonical_id) > len("openreview:")

    def _ask(self, base: str, ids: Sequence[str]) -> dict[str, PaperMeta]:
        note_ids = [i.removeprefix("openreview:") for i in ids]
        response = self.api.request("GET", f"{base}/notes", params={"ids": ",".join(note_ids)})
        if response.status_code in (403, 404) and json_error(response.content):
            if len(ids) == 1:
                return {}  # not public, or no such note
            half = len(ids) // 2  # one refused note refuses its batch: find it, keep the others
            return {**self._ask(base, ids[:half]), **self._ask(base, ids[half:])}
        if response.status_code != 200:
            raise failure(LABEL, response)
        return by_id(ids, parse_notes(response.content), self.site_url)

    def lookup(self, ids: Sequence[str]) -> dict[str, PaperMeta]:
        wanted = list(dict.fromkeys(i for i in ids if self.wants(i)))
        found: dict[str, PaperMeta] = {}
        for start in range(0, len(wanted), self.batch_size):
            batch = wanted[start : start + self.batch_size]
            found.update(self._ask(self.api_url, batch))
            rest = [i for i in batch if i not in found]
            if rest and self.legacy_api_url:
                found.update(self._ask(self.legacy_api_url, rest))
        return found
