"""Recognising a document by its first bytes (parse/sniff.py) and choosing its reader (parse.choose_reader).

Every fixture document is sniffed as what it is; served documents are in test_listings.py and test_parse.py.
"""

from __future__ import annotations

import codecs
import json
import time

import pytest

from digest.parse import choose_reader
from digest.parse.sniff import PREFIX_BYTES, sniff
from tests.conftest import FIXTURES, fixture_bytes

ARXIV_API_BODY = json.loads(fixture_bytes("listings/arxiv.py__q_testing_s0_m10_bc5a6c384fe9.json"))["body"].encode()


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("feeds/aipapertrails_substack.rss.xml", "rss"),
        ("feeds/rss-parser__medium_content-encoded.rss", "rss"),
        ("feeds/iclr-blogposts-2024__feed_jekyll.atom.xml", "atom"),
        ("feeds/feedjira__json_feed_inessential.json", "json-feed"),
        ("listings/arxiv_rss_cs.AI.rss.xml", "arxiv"),
        ("listings/arxiv_atom_cs.AI.atom.xml", "arxiv"),
        ("listings/arxiv_rss_cs.CL_weekend_empty.rss.xml", "arxiv"),
        ("listings/hf_daily_papers_2026-08-13.json", "hf-daily"),
        ("listings/hf_papers_date_2026-08-13.html", "html"),
        ("listings/polaris__arxiv_listing_sample.html", "html"),
        ("hostile/rss-parser__unrecognized_html_instead_of_feed.rss", "html"),
        # a comment before the root, and before the XML declaration (feedparser's test documents)
        ("hostile/feedparser__illformed_chardet_koi8r.xml", "rss"),
        ("hostile/feedparser__illformed_rss_incomplete_cdata.xml", "rss"),
        ("math/feedparser__atommathml.xml", "atom"),
    ],
)
def test_each_fixture_is_recognised_by_its_content_whatever_it_is_served_as(name: str, fmt: str) -> None:
    body = fixture_bytes(name)
    for content_type in (None, "application/json", "text/xml", "text/html; charset=utf-8", "text/plain"):
        assert sniff(body, content_type) == fmt, content_type


def test_a_real_arxiv_api_answer_declares_the_arxiv_namespace() -> None:
    assert sniff(ARXIV_API_BODY) == "arxiv"


def test_rdf_is_recognised_by_its_root_whatever_its_prefix() -> None:
    rdf = (
        b'<?xml version="1.0"?>\n<!-- generated -->\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        b' xmlns="http://purl.org/rss/1.0/"><channel/></rdf:RDF>'
    )
    assert sniff(rdf, "application/json") == "rdf"
    assert sniff(rdf.replace(b"rdf:RDF", b"RDF:RDF")) == "rdf"


@pytest.mark.parametrize(
    "bom,codec",
    [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")],
    ids=["utf-8", "utf-16le", "utf-16be"],
)
def test_a_byte_order_mark_and_blank_lines_before_the_document_do_not_hide_it(bom: bytes, codec: str) -> None:
    feed = fixture_bytes("feeds/iclr-blogposts-2024__feed_jekyll.atom.xml")[:4000].decode("utf-8")
    json_feed = '\n  {"version": "https://jsonfeed.org/version/1.1", "items": []}'
    assert sniff(bom + ("\r\n\n" + feed).encode(codec)) == "atom"
    assert sniff(bom + json_feed.encode(codec), "text/xml") == "json-feed"


def test_json_that_is_not_a_feed_is_json_and_the_content_type_speaks_only_when_the_bytes_do_not() -> None:
    assert sniff(b"[1, 2, 3]", "text/xml") == "json"
    assert sniff(b'{"error": "Invalid date"}', "text/html") == "json"
    assert sniff(b"/etc/passwd", "application/json") == "json"
    assert sniff(b"/etc/passwd", "text/html; charset=utf-8") == "html"
    assert sniff(b"/etc/passwd", None) == "unknown"
    assert sniff(fixture_bytes("listings/seed001_notion_papers.txt"), "text/markdown") == "unknown"
    assert sniff(b"", "application/rss+xml") == "unknown"


def test_only_a_prefix_is_read() -> None:
    """What follows the first PREFIX_BYTES bytes never changes the answer, and a huge body costs no more."""
    feed = fixture_bytes("listings/arxiv_rss_cs.AI.rss.xml")
    huge = feed[:PREFIX_BYTES] + b"\xff" * 20_000_000
    started = time.perf_counter()
    assert sniff(huge) == sniff(feed[:PREFIX_BYTES]) == "arxiv"
    assert time.perf_counter() - started < 0.05
    # a root whose start tag lies past the prefix is some XML, left to the parsers to judge
    assert sniff(b"<!--" + b"x" * PREFIX_BYTES + b"--><rss version='2.0'/>") == "xml"


def test_a_comment_storm_before_the_root_is_read_in_linear_time() -> None:
    started = time.perf_counter()
    assert sniff(b"<!---->" * 1000 + b"<feed/>") in ("xml", "atom")
    assert time.perf_counter() - started < 0.05


# --- choosing the reader ------------------------------------------------------------------------------------------

BLOG = "https://blog.example/feed"


@pytest.mark.parametrize(
    ("fmt", "kind", "adapter", "reader"),
    [
        # no adapter stored: the content decides when it is certain, then the URL for listings
        ("arxiv", "feed", None, "arxiv-rss"),
        ("hf-daily", "feed", None, "hf-daily"),
        ("rss", "feed", None, "feed"),
        ("json-feed", "listing", None, "feed"),
        ("json", "feed", None, "feed"),
        ("html", "feed", None, "feed"),  # the feed reader says "not a feed: the server sent an HTML page"
        ("html", "listing", None, "reading-list"),
        # a stored adapter is honoured when the content can be what it reads
        ("rss", "listing", "arxiv-rss", "arxiv-rss"),
        ("atom", "listing", "arxiv-rss", "arxiv-rss"),
        ("json", "listing", "hf-daily", "hf-daily"),  # the API's {"error": ...} is the adapter's to report
        ("html", "listing", "hf-daily", "hf-daily"),
        ("html", "listing", "arxiv-listing", "arxiv-listing"),
        ("unknown", "listing", "reading-list", "reading-list"),
        ("json", "listing", "reading-list", "reading-list"),  # "[Paper](url)" markdown starts with a bracket too
        # ... and overruled when the content clearly contradicts it
        ("json-feed", "listing", "arxiv-rss", "feed"),
        ("hf-daily", "listing", "arxiv-rss", "hf-daily"),
        ("rss", "listing", "hf-daily", "feed"),
        ("arxiv", "listing", "arxiv-listing", "arxiv-rss"),
        ("atom", "listing", "reading-list", "feed"),
    ],
)
def test_the_reader_follows_the_content_and_honours_a_stored_adapter_it_does_not_contradict(
    fmt: str, kind: str, adapter: str | None, reader: str
) -> None:
    chosen, warning = choose_reader(fmt, url=BLOG, kind=kind, adapter=adapter)  # type: ignore[arg-type]
    assert chosen == reader
    assert (warning is not None) == (adapter is not None and chosen != adapter)


def test_a_listing_url_still_decides_when_the_content_is_not_certain() -> None:
    page = "https://huggingface.co/papers/date/2026-08-13"
    assert choose_reader("html", url=page, kind="listing", adapter=None) == ("hf-daily", None)
    assert (
        choose_reader("html", url="https://arxiv.org/list/cs.AI/new", kind="listing", adapter=None)[0]
        == "arxiv-listing"
    )


def test_an_overruled_adapter_is_named_in_the_warning() -> None:
    _, warning = choose_reader("json-feed", url=BLOG, kind="listing", adapter="arxiv-rss")
    assert warning == "the source is set to read arxiv-rss, but the document is a JSON Feed; read as such"


def test_an_unknown_adapter_is_never_replaced_silently() -> None:
    assert choose_reader("rss", url=BLOG, kind="listing", adapter="hf-weekly") == ("hf-weekly", None)


def test_every_fixture_document_gets_a_reader() -> None:
    for path in sorted((FIXTURES / "feeds").iterdir()):
        if not path.name.endswith(".py"):
            reader, _ = choose_reader(sniff(path.read_bytes()), url=BLOG, kind="feed", adapter=None)
            assert reader == "feed", path.name
