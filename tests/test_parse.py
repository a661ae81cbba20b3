"""The parse stage: feed documents in, raw items out.

Golden-file tests in the style of lemon24/reader: each real document in tests/fixtures/feeds/ sits beside
`<file>.expected.py`, a module whose EXPECTED holds the values read off the document by hand.
"""

from __future__ import annotations

import runpy
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digest.parse import parse_document
from digest.parse.feed import parse_feed
from digest.parse.types import ParseError
from tests.conftest import FIXTURES, fixture_bytes

FEEDS = FIXTURES / "feeds"
# `<feed>.papers.expected.py` and `<feed>.titles.expected.py` hold the papers a feed links and their titles
# (tests/test_papers_golden.py, tests/test_titles_golden.py), not its parse.
GOLDEN = sorted(
    p.name.removesuffix(".expected.py")
    for p in FEEDS.glob("*.expected.py")
    if not p.name.endswith((".papers.expected.py", ".titles.expected.py"))
)


def load_expected(name: str) -> dict:
    return runpy.run_path(str(FEEDS / f"{name}.expected.py"))["EXPECTED"]


def parse_fixture(name: str):  # type: ignore[no-untyped-def]
    expected = load_expected(name)
    return parse_feed(fixture_bytes(f"feeds/{name}"), url=expected["url"], content_type=expected["content_type"])


def rss(items: str, channel: str = "<title>Test feed</title><link>https://example.com/</link>") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{channel}{items}</channel></rss>'
    ).encode()


def atom(body: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>urn:test:feed</id><updated>2024-01-01T00:00:00Z</updated>{body}</feed>"
    ).encode()


# --- golden files ---------------------------------------------------------------------------------


def test_every_feed_fixture_has_a_golden_file() -> None:
    documents = sorted(p.name for p in FEEDS.iterdir() if not p.name.endswith(".py"))
    assert documents == GOLDEN


@pytest.mark.parametrize("name", GOLDEN)
def test_feed_level_values_match_the_golden_file(name: str) -> None:
    expected = load_expected(name)
    feed = parse_fixture(name)
    assert feed.title == expected["title"]
    assert feed.site_url == expected["site_url"]
    assert len(feed.items) == expected["count"]
    assert feed.warnings == expected["warnings"]


@pytest.mark.parametrize("name", GOLDEN)
def test_item_values_match_the_golden_file(name: str) -> None:
    expected = load_expected(name)
    items = parse_fixture(name).items
    assert expected["items"], "a golden file must pin at least one item"
    for index, want in expected["items"].items():
        item = items[index]
        assert item.guid == want["guid"], index
        assert item.url == want["url"], index
        assert item.title == want["title"], index
        assert item.author == want["author"], index
        assert item.published == want["published"], index
        assert item.image_url == want["image_url"], index
        if "summary_html" in want:
            assert item.summary_html == want["summary_html"], index
        if "summary_starts" in want:
            assert (item.summary_html or "").startswith(want["summary_starts"]), index
        assert (item.content_html or "").startswith(want["content_starts"]), index


@pytest.mark.parametrize("name", GOLDEN)
def test_every_published_datetime_is_aware_utc(name: str) -> None:
    for item in parse_fixture(name).items:
        assert item.published is not None
        assert item.published.utcoffset() == timedelta(0)


@pytest.mark.parametrize("name", GOLDEN)
def test_every_item_has_a_unique_guid_and_an_absolute_link(name: str) -> None:
    items = parse_fixture(name).items
    assert len({i.guid for i in items}) == len(items)
    for item in items:
        assert item.url and item.url.startswith(("http://", "https://"))
        assert item.base_url == item.url


def test_substack_items_carry_the_full_post_body_and_the_short_description_separately() -> None:
    items = parse_fixture("aipapertrails_substack.rss.xml").items
    assert len(items) == 12
    for item in items:
        assert item.summary_html and len(item.summary_html) < 300
        assert item.content_html and len(item.content_html) > 10_000
        assert item.image_url and item.image_url.startswith("https://")


def test_substack_feed_title_and_date_range() -> None:
    feed = parse_fixture("aipapertrails_substack.rss.xml")
    assert feed.title == "AI PaperTrails"
    dates = [i.published for i in feed.items]
    assert dates == sorted(dates, reverse=True)  # newest first, as published
    assert dates[0] == datetime(2025, 11, 30, 15, 59, 12, tzinfo=UTC)
    assert dates[-1] == datetime(2018, 12, 4, 13, 15, 9, tzinfo=UTC)


def test_atom_offsets_are_converted_to_utc() -> None:
    # Every entry says 2024-05-07T00:00:00+02:00.
    items = parse_fixture("iclr-blogposts-2024__feed_jekyll.atom.xml").items
    assert {i.published for i in items} == {datetime(2024, 5, 6, 22, 0, tzinfo=UTC)}


def test_atom_content_is_the_html_body_with_its_relative_image_urls_left_for_the_clean_stage() -> None:
    item = parse_fixture("iclr-blogposts-2024__feed_jekyll.atom.xml").items[0]
    assert item.content_html is not None
    assert 'src="/2024/assets/img/2024-05-07-alibi-mlm/ALiBi.jpeg"' in item.content_html
    assert item.base_url == "https://iclr-blogposts.github.io/2024/blog/alibi-mlm/"


def test_medium_content_encoded_is_read_as_the_body() -> None:
    items = parse_fixture("rss-parser__medium_content-encoded.rss").items
    first = items[0]
    assert first.content_html is not None
    assert "Purchase the paperback on Amazon.com" in first.content_html
    assert "https://medium.com/_/stat?event=post.clientViewed" in first.content_html  # removed later, in clean


def test_json_feed_items_inherit_the_feed_author() -> None:
    items = parse_fixture("feedjira__json_feed_inessential.json").items
    assert len(items) == 20
    assert {i.author for i in items} == {"Brent Simmons"}


# --- text fields come out as unescaped text ---------------------------------------------------------


def test_atom_html_title_becomes_plain_text() -> None:
    doc = atom(
        '<title type="html">A &lt;em&gt;fine&lt;/em&gt; feed</title>'
        '<entry><id>urn:e1</id><title type="html">&lt;em&gt;Emphasised&lt;/em&gt; and &amp;amp; more</title>'
        '<link href="https://example.org/e1"/><updated>2024-01-02T00:00:00Z</updated></entry>'
    )
    feed = parse_feed(doc, url="https://example.org/feed")
    assert feed.title == "A fine feed"
    assert feed.items[0].title == "Emphasised and & more"


def test_atom_text_title_keeps_angle_brackets_as_characters() -> None:
    doc = atom(
        '<title>t</title><entry><id>urn:e1</id><title type="text">The &lt;dialog&gt; element</title>'
        '<link href="https://example.org/e1"/></entry>'
    )
    assert parse_feed(doc, url="https://example.org/feed").items[0].title == "The <dialog> element"


def test_rss_double_escaped_ampersand_in_a_title_becomes_one_ampersand() -> None:
    doc = rss(
        "<item><title>Fish &amp;amp; Chips</title><link>https://example.com/a</link></item>",
        channel="<title>Tom &amp;amp; Jerry</title><link>https://example.com/</link>",
    )
    feed = parse_feed(doc, url="https://example.com/feed")
    assert feed.title == "Tom & Jerry"
    assert feed.items[0].title == "Fish & Chips"


def test_rss_description_is_html_whose_entities_decode_once() -> None:
    doc = rss(
        "<item><title>t</title><link>https://example.com/a</link>"
        "<description>Cats &amp;amp; dogs &lt;b&gt;bold&lt;/b&gt;</description></item>"
    )
    item = parse_feed(doc, url="https://example.com/feed").items[0]
    assert item.summary_html == "Cats &amp; dogs <b>bold</b>"


# --- guids, authors, dates ---------------------------------------------------------------------------


def test_rss_items_without_guids_have_no_guid_but_keep_their_links() -> None:
    doc = rss(
        "<item><title>One</title><link>https://example.com/1</link></item>"
        "<item><title>Two</title><link>https://example.com/2</link></item>"
    )
    items = parse_feed(doc, url="https://example.com/feed").items
    assert [i.guid for i in items] == [None, None]
    assert [i.url for i in items] == ["https://example.com/1", "https://example.com/2"]


def test_rss_guid_is_taken_verbatim_and_trimmed() -> None:
    doc = rss('<item><title>t</title><guid isPermaLink="false">  tag:example.com,2024:1  </guid></item>')
    assert parse_feed(doc, url="https://example.com/feed").items[0].guid == "tag:example.com,2024:1"


def test_atom_entries_inherit_the_feed_author_unless_they_name_their_own() -> None:
    doc = atom(
        "<title>t</title><author><name>Feed Author</name></author>"
        '<entry><id>urn:1</id><title>a</title><link href="https://example.org/1"/></entry>'
        '<entry><id>urn:2</id><title>b</title><link href="https://example.org/2"/>'
        "<author><name>Own Author</name></author></entry>"
    )
    items = parse_feed(doc, url="https://example.org/feed").items
    assert [i.author for i in items] == ["Feed Author", "Own Author"]


def test_rss_author_email_with_name_in_parentheses_gives_the_name() -> None:
    doc = rss(
        "<item><title>t</title><link>https://example.com/a</link><author>jo@example.com (Jo Writer)</author></item>"
    )
    assert parse_feed(doc, url="https://example.com/feed").items[0].author == "Jo Writer"


def test_rss_author_that_is_only_an_email_address_is_not_shown() -> None:
    doc = rss("<item><title>t</title><link>https://example.com/a</link><author>jo@example.com</author></item>")
    assert parse_feed(doc, url="https://example.com/feed").items[0].author is None


def test_rss_pubdate_with_offset_becomes_utc() -> None:
    doc = rss(
        "<item><title>t</title><link>https://example.com/a</link>"
        "<pubDate>Mon, 06 Sep 2021 16:45:00 +0200</pubDate></item>"
    )
    assert parse_feed(doc, url="https://example.com/feed").items[0].published == datetime(
        2021, 9, 6, 14, 45, tzinfo=UTC
    )


def test_relative_atom_links_resolve_against_the_document_url() -> None:
    doc = atom('<title>t</title><entry><id>urn:1</id><title>a</title><link href="/posts/1"/></entry>')
    item = parse_feed(doc, url="https://example.org/blog/feed.xml").items[0]
    assert item.url == "https://example.org/posts/1"


def test_item_without_a_link_uses_the_feed_link_as_its_base() -> None:
    doc = rss(
        '<item><title>t</title><description>&lt;img src="a.png"&gt;</description></item>',
        channel="<title>T</title><link>https://example.com/site/</link>",
    )
    item = parse_feed(doc, url="https://feeds.example.net/x.xml").items[0]
    assert item.url is None
    assert item.base_url == "https://example.com/site/"


def test_image_enclosure_becomes_the_item_image() -> None:
    doc = rss(
        "<item><title>t</title><link>https://example.com/a</link>"
        '<enclosure url="https://cdn.example.com/a.jpg" length="0" type="image/jpeg"/></item>'
    )
    assert parse_feed(doc, url="https://example.com/feed").items[0].image_url == "https://cdn.example.com/a.jpg"


def test_audio_enclosure_is_not_an_image() -> None:
    doc = rss(
        "<item><title>t</title><link>https://example.com/a</link>"
        '<enclosure url="https://cdn.example.com/a.mp3" length="10" type="audio/mpeg"/></item>'
    )
    assert parse_feed(doc, url="https://example.com/feed").items[0].image_url is None


# --- empty feeds -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        rss(""),
        atom("<title>Empty</title>"),
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "Empty", "items": []}',
    ],
    ids=["rss", "atom", "json"],
)
def test_an_empty_but_valid_feed_gives_zero_items_not_an_error(body: bytes) -> None:
    feed = parse_feed(body, url="https://example.com/feed")
    assert feed.items == []
    assert feed.title in ("Test feed", "Empty")


# --- JSON Feed -----------------------------------------------------------------------------------------


def json_feed(items: str, extra: str = "") -> bytes:
    return (
        '{"version": "https://jsonfeed.org/version/1.1", "title": "J", "home_page_url": "https://j.example/"'
        f'{extra}, "items": [{items}]}}'
    ).encode()


def test_json_feed_basic_fields() -> None:
    body = json_feed(
        '{"id": 42, "url": "https://j.example/a", "title": "A & B", "content_html": "<p>hi</p>",'
        ' "summary": "short <b>", "date_published": "2024-03-01T10:00:00+05:30",'
        ' "image": "https://j.example/a.png", "authors": [{"name": "Ann"}, {"name": "Bo"}]}'
    )
    feed = parse_feed(body, url="https://j.example/feed.json", content_type="application/feed+json")
    assert feed.title == "J"
    assert feed.site_url == "https://j.example/"
    [item] = feed.items
    assert item.guid == "42"
    assert item.url == "https://j.example/a"
    assert item.title == "A & B"
    assert item.content_html == "<p>hi</p>"
    assert item.summary_html == "short &lt;b&gt;"  # summary is plain text in JSON Feed
    assert item.published == datetime(2024, 3, 1, 4, 30, tzinfo=UTC)
    assert item.image_url == "https://j.example/a.png"
    assert item.author == "Ann, Bo"


def test_json_feed_content_text_becomes_escaped_paragraphs() -> None:
    body = json_feed('{"id": "1", "content_text": "one <script>\\n\\ntwo"}')
    item = parse_feed(body, url="https://j.example/feed.json").items[0]
    assert item.content_html == "<p>one &lt;script&gt;</p><p>two</p>"


def test_json_feed_falls_back_to_external_url_modified_date_and_home_page_base() -> None:
    body = json_feed(
        '{"id": "1", "external_url": "https://elsewhere.example/x",'
        ' "date_modified": "2024-01-01T00:00:00Z"}, {"id": "2", "content_html": "<p>x</p>"}'
    )
    first, second = parse_feed(body, url="https://j.example/feed.json").items
    assert first.url == "https://elsewhere.example/x"
    assert first.published == datetime(2024, 1, 1, tzinfo=UTC)
    assert second.url is None
    assert second.base_url == "https://j.example/"


def test_json_feed_item_author_overrides_the_feed_author() -> None:
    body = json_feed(
        '{"id": "1", "author": {"name": "Item Author"}}, {"id": "2"}', extra=', "author": {"name": "Feed Author"}'
    )
    assert [i.author for i in parse_feed(body, url="https://j.example/f").items] == ["Item Author", "Feed Author"]


def test_json_feed_skips_items_that_are_not_objects() -> None:
    body = json_feed('"junk", 3, null, {"id": "ok"}')
    assert [i.guid for i in parse_feed(body, url="https://j.example/f").items] == ["ok"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"version": "https://jsonfeed.org/version/1", "items": ', "not a readable JSON feed"),
        (b'{"title": "no version", "items": []}', "jsonfeed.org version"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": {"a": 1}}', "'items' is not a list"),
        (b"[1, 2, 3]", "jsonfeed.org version"),
    ],
)
def test_json_that_is_not_a_json_feed_is_a_parse_error(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_feed(body, url="https://j.example/f", content_type="application/json")


# --- never hand feedparser something it would open itself ---------------------------------------------


def test_a_body_that_is_a_local_path_is_not_read(tmp_path: Path) -> None:
    feed_file = tmp_path / "feed.xml"
    feed_file.write_bytes(rss("<item><title>read from disk</title><link>https://example.com/x</link></item>"))
    with pytest.raises(ParseError):
        parse_feed(str(feed_file).encode(), url="https://example.com/feed")


def test_a_body_of_etc_passwd_is_not_a_feed() -> None:
    with pytest.raises(ParseError) as excinfo:
        parse_feed(b"/etc/passwd", url="https://example.com/feed")
    assert "root:" not in str(excinfo.value)


def test_a_body_that_is_a_url_is_not_fetched(httpserver) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/real-feed.xml").respond_with_data(
        rss("<item><title>fetched</title><link>https://example.com/x</link></item>"), content_type="application/rss+xml"
    )
    url = httpserver.url_for("/real-feed.xml")
    with pytest.raises(ParseError):
        parse_feed(url.encode(), url="https://example.com/feed")
    assert httpserver.log == []


def test_a_body_that_is_an_unreachable_url_fails_fast_without_connecting() -> None:
    started = time.monotonic()
    with pytest.raises(ParseError):
        parse_feed(b"http://127.0.0.1:1/x", url="https://example.com/feed")
    assert time.monotonic() - started < 2


# --- dispatch ------------------------------------------------------------------------------------------


def test_parse_document_reads_json_feeds_by_content_type_and_xml_feeds_by_content() -> None:
    body = json_feed('{"id": "1"}')
    assert parse_document(b"  \n" + body, url="https://j.example/f", content_type="application/json").items
    assert parse_document(rss(""), url="https://example.com/f", content_type="text/xml").title == "Test feed"


def test_xml_that_is_not_a_feed_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(b'<?xml version="1.0"?><note><to>you</to></note>', url="https://example.com/f")


# --- recognised by content, whatever the Content-Type (issue 14) ----------------------------------------------------

MEDIUM = "rss-parser__medium_content-encoded.rss"
JEKYLL = "iclr-blogposts-2024__feed_jekyll.atom.xml"
JSON_FEED = "feedjira__json_feed_inessential.json"
RDF = (
    b'<?xml version="1.0" encoding="utf-8"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    b'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b'<channel rdf:about="https://lab.example/"><title>Lab notes</title><link>https://lab.example/</link>'
    b"<description>notes</description></channel>"
    b'<item rdf:about="https://lab.example/1"><title>One</title><link>https://lab.example/1</link>'
    b"<dc:date>2024-03-01T10:00:00Z</dc:date></item>"
    b'<item rdf:about="https://lab.example/2"><title>Two</title><link>https://lab.example/2</link></item>'
    b"</rdf:RDF>"
)


def guids_read(body: bytes, content_type: str) -> list[str | None]:
    return [i.guid for i in parse_feed(body, url="https://example.org/feed", content_type=content_type).items]


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/octet-stream",
        "text/html; charset=utf-8",
    ],
)
def test_xml_feeds_served_as_json_or_anything_else_are_stored_as_feeds(
    content_type: str, engine, add_source, fetch_all, serve_feed
) -> None:  # type: ignore[no-untyped-def]
    from tests.test_fetch import items_of, report_for

    documents = {
        "medium": (fixture_bytes(f"feeds/{MEDIUM}"), "application/rss+xml"),
        "jekyll": (fixture_bytes(f"feeds/{JEKYLL}"), "application/atom+xml"),
        "rdf": (RDF, "application/rdf+xml"),
    }
    ids = {
        name: add_source(serve_feed(f"/{name}", body, content_type=content_type), name=name)
        for name, (body, _) in documents.items()
    }
    summary = fetch_all()
    for name, (body, right_type) in documents.items():
        report = report_for(summary, name)
        assert (report.outcome, report.error, report.note) == ("ok", None, None), name
        assert sorted(i.guid for i in items_of(engine, ids[name])) == sorted(guids_read(body, right_type)), name


@pytest.mark.parametrize("content_type", ["text/xml", "application/rss+xml; charset=utf-8", None])
def test_a_json_feed_served_as_xml_even_behind_a_byte_order_mark_is_read(content_type: str | None) -> None:
    body = fixture_bytes(f"feeds/{JSON_FEED}")
    for document in (body, b"\xef\xbb\xbf" + body, b"\xef\xbb\xbf\r\n" + body):
        feed = parse_document(document, url="https://inessential.com/feed.json", content_type=content_type)
        assert len(feed.items) == 20
        assert feed.title == "inessential.com"


# --- every author (issue 14) ---------------------------------------------------------------------------------------


def both_paths(body: bytes):  # type: ignore[no-untyped-def]
    """The fast path's parse and feedparser's of one document, which must agree."""
    from digest.parse.fastfeed import parse_fast
    from digest.parse.feed import _parse_with_feedparser, prepare_xml

    prepared, encoding, _ = prepare_xml(body, None)
    url = "https://example.org/feed"
    return parse_fast(prepared, url=url), _parse_with_feedparser(
        prepared, url=url, content_type=None, encoding=encoding
    )


def test_an_atom_entry_with_several_authors_keeps_them_all_on_both_paths() -> None:
    body = atom(
        "<title>t</title><entry><id>e1</id><title>x</title><updated>2024-01-01T00:00:00Z</updated>"
        '<link href="https://example.org/1"/><author><name>Ann Lee</name></author>'
        "<author><name>Bo Chen</name><email>bo@example.org</email></author>"
        "<author><email>nobody@example.org</email></author><author><name>Cy Diaz</name></author></entry>"
    )
    fast, slow = both_paths(body)
    assert fast.items[0].author == slow.items[0].author == "Ann Lee, Bo Chen, Cy Diaz"


def test_atom_entries_without_authors_inherit_every_author_of_the_feed_on_both_paths() -> None:
    body = atom(
        "<title>t</title><author><name>Ann Lee</name></author><author><name>Bo Chen</name></author>"
        "<entry><id>e1</id><title>x</title><updated>2024-01-01T00:00:00Z</updated>"
        '<link href="https://example.org/1"/></entry>'
    )
    fast, slow = both_paths(body)
    assert fast.items[0].author == slow.items[0].author == "Ann Lee, Bo Chen"


def test_rss_items_with_several_creators_keep_them_all_on_both_paths() -> None:
    body = rss(
        "<item><title>x</title><link>https://example.com/1</link><dc:creator>Ann Lee</dc:creator>"
        "<dc:creator><![CDATA[Bo Chen]]></dc:creator><dc:creator>Ann Lee</dc:creator></item>"
        "<item><title>y</title><link>https://example.com/2</link><author>jo@example.com (Jo Park)</author>"
        "</item>"
    ).replace(b'<rss version="2.0">', b'<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">')
    fast, slow = both_paths(body)
    assert [i.author for i in fast.items] == [i.author for i in slow.items] == ["Ann Lee, Bo Chen", "Jo Park"]


def test_the_real_arxiv_api_answer_read_as_a_plain_feed_names_every_author_on_both_paths() -> None:
    import json

    body = json.loads(fixture_bytes("listings/arxiv.py__q_testing_s0_m10_bc5a6c384fe9.json"))["body"].encode()
    fast, slow = both_paths(body)
    assert [i.author for i in fast.items] == [i.author for i in slow.items]
    assert fast.items[0].author == "Mohit Kumar Ahuja, Arnaud Gotlieb, Helge Spieker"


# --- quiet problems are said (issue 14) ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        rss(""),
        atom("<title>Empty</title>"),
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "Empty", "items": []}',
        RDF.split(b"<item ")[0] + b"</rdf:RDF>",
    ],
    ids=["rss", "atom", "json", "rdf"],
)
def test_a_feed_with_no_items_says_so(body: bytes) -> None:
    assert parse_feed(body, url="https://example.com/feed").warnings == ["the feed has no items"]


@pytest.mark.parametrize("name", ["aipapertrails_substack.rss.xml", MEDIUM, JEKYLL])
def test_a_feed_cut_short_is_read_as_far_as_it_goes_and_says_it_was_cut_short(name: str) -> None:
    whole = fixture_bytes(f"feeds/{name}")
    count = len(parse_feed(whole, url="https://example.org/feed").items)
    feed = parse_feed(whole[: len(whole) * 2 // 3], url="https://example.org/feed")
    assert 0 < len(feed.items) < count
    assert feed.warnings == ["feed is not well-formed, read leniently: the document stops before its end (cut short?)"]


def test_a_feed_that_is_broken_but_whole_says_why_not_that_it_was_cut() -> None:
    body = rss("<item><title>Fish & chips</title><link>https://example.com/1</link></item>")
    [warning] = parse_feed(body, url="https://example.org/feed").warnings
    assert warning.startswith("feed is not well-formed, read leniently: ") and "cut short" not in warning


def test_a_json_feed_cut_short_is_an_error_that_says_so() -> None:
    body = fixture_bytes(f"feeds/{JSON_FEED}")
    with pytest.raises(ParseError, match=r"^not a readable JSON feed: the document stops before its end \(cut short"):
        parse_feed(body[: len(body) // 2], url="https://inessential.com/feed.json")


@pytest.mark.parametrize(
    ("cut", "warning"),
    [
        (
            lambda body: body.replace(b"household tasks", b"household & kitchen tasks"),
            "feed is not well-formed, read leniently: ",
        ),
        (
            lambda body: body[: body.index(b"</item>", body.index(b"</item>") + 1) + 7],
            "feed is not well-formed, read leniently: the document stops before its end (cut short?)",
        ),
    ],
    ids=["recovered", "cut-short"],
)
def test_an_arxiv_feed_read_leniently_says_so(cut, warning: str) -> None:  # type: ignore[no-untyped-def]
    body = cut(fixture_bytes("listings/arxiv_rss_cs.AI.rss.xml"))
    feed = parse_document(body, url="https://rss.arxiv.org/rss/cs.AI", content_type="application/rss+xml")
    assert [i.guid for i in feed.items][:2] == ["arxiv:2608.11001", "arxiv:2608.11002"]
    assert len(feed.warnings) == 1 and feed.warnings[0].startswith(warning)
