"""The lxml fast path must read every feed exactly as the feedparser path does, or decline it."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from digest.parse.fastfeed import NotFast, parse_fast
from digest.parse.feed import _parse_with_feedparser, disarm, settle_encoding
from tests.conftest import FIXTURES

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted(
    [p for p in (FIXTURES / "feeds").iterdir() if p.suffix in (".xml", ".rss")]
    + [p for p in (FIXTURES / "hostile").iterdir()]
    + [p for p in (FIXTURES / "listings").iterdir() if p.name.endswith((".rss.xml", ".atom.xml"))]
    + [p for p in (ROOT / "digest" / "demo" / "sources").iterdir() if p.suffix == ".xml"]
)


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_the_fast_path_agrees_with_feedparser_or_declines(path: Path) -> None:
    body, _ = disarm(path.read_bytes())
    body, _, _ = settle_encoding(body, None)
    url = "https://example.org/feeds/feed.xml"
    try:
        fast = parse_fast(body, url=url)
    except NotFast:
        return  # feedparser reads it: nothing to compare
    slow = _parse_with_feedparser(body, url=url, content_type=None)
    assert (fast.title, fast.site_url) == (slow.title, slow.site_url)
    assert [asdict(i) for i in fast.items] == [asdict(i) for i in slow.items]


def test_the_sample_substack_feed_takes_the_fast_path() -> None:
    body = (FIXTURES / "feeds" / "aipapertrails_substack.rss.xml").read_bytes()
    assert len(parse_fast(body, url="https://www.aipapertrails.com/feed").items) == 12


@pytest.mark.parametrize(
    "document",
    [
        b"<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'/>",  # RSS 1.0: feedparser's
        b"<rss version='2.0'><channel><item><title>caf&eacute;</title></item></channel></rss>",  # HTML entity
        b"<rss version='2.0'><channel><item><pubDate>sometime</pubDate></item></channel></rss>",  # odd date
        b"<rss version='2.0'><channel><item><title>unclosed</channel></rss>",  # not well-formed
    ],
)
def test_what_the_fast_path_is_unsure_of_goes_to_feedparser(document: bytes) -> None:
    with pytest.raises(NotFast):
        parse_fast(document, url="https://example.org/")
