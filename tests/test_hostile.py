"""Hostile documents: served over real loopback HTTP through the fetch pipeline, and parsed directly.

Each must end in a clean parse or a clear one-line error for its source: never a hang, a crash, an entity
expansion, a request to a URL the document names, or script reaching the store.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from digest.parse.feed import disarm, parse_feed
from digest.parse.types import ParsedFeed, ParseError
from tests.conftest import FIXTURES, store_rows

HOSTILE = sorted(p.name for p in (FIXTURES / "hostile").iterdir())
TIME_LIMIT = 5.0  # seconds; every case here takes well under a second when nothing is wrong


def timed_parse(
    body: bytes, url: str = "http://127.0.0.1/feed", content_type: str | None = None
) -> tuple[ParsedFeed | ParseError, float]:
    started = time.monotonic()
    try:
        result: ParsedFeed | ParseError = parse_feed(body, url=url, content_type=content_type)
    except ParseError as exc:
        result = exc
    return result, time.monotonic() - started


def assert_one_line_error(message: str | None) -> None:
    assert message, "an error must say what went wrong"
    assert "\n" not in message and "\r" not in message
    assert len(message) < 300
    assert "Traceback" not in message
    assert "internal error" not in message  # that wording means a bug in digest, not a bad document


def text_size(feed: ParsedFeed) -> int:
    fields = [feed.title, feed.site_url, *feed.warnings]
    for i in feed.items:
        fields += [i.guid, i.url, i.title, i.author, i.summary_html, i.content_html, i.image_url]
    return sum(len(f) for f in fields if f)


def source_row(engine, url: str) -> tuple:  # type: ignore[no-untyped-def]
    [row] = store_rows(engine, "select title, last_error, error_count from sources where url = :u", u=url)
    return row


def fetch_warnings(engine) -> list[str | None]:  # type: ignore[no-untyped-def]
    return [w for (w,) in store_rows(engine, "select warning from fetches")]


def rss(channel_title: str, items: str = "", prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n{prolog}<rss version="2.0" '
        f'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>{channel_title}</title>'
        f"<link>https://example.com/</link>{items}</channel></rss>"
    ).encode()


def no_declarations_left(body: bytes) -> bool:
    # Exact tokens: expat and feedparser's own DOCTYPE handling only know "<!ENTITY" and "<!DOCTYPE"
    # ("<! ENTITY" is text to both), and disarm removes them in any letter case.
    return re.search(rb"<!(?:ENTITY|DOCTYPE)", body, re.IGNORECASE) is None


# --- every hostile fixture, both ways ----------------------------------------------------------------------


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_fixture_parsed_directly_gives_a_feed_or_a_one_line_error(name: str) -> None:
    result, elapsed = timed_parse((FIXTURES / "hostile" / name).read_bytes())
    assert elapsed < TIME_LIMIT
    if isinstance(result, ParseError):
        assert_one_line_error(str(result))
    else:
        assert text_size(result) < 20_000
        for warning in result.warnings:
            assert_one_line_error(warning)


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_fixture_served_over_http_gives_ok_or_a_one_line_source_error(
    name: str, engine, add_source, fetch_all, serve_feed
) -> None:  # type: ignore[no-untyped-def]
    url = serve_feed(f"/{name}", (FIXTURES / "hostile" / name).read_bytes())
    add_source(url, name=name)
    started = time.monotonic()
    summary = fetch_all()
    assert time.monotonic() - started < TIME_LIMIT
    [report] = summary.reports
    assert report.outcome in ("ok", "error")
    _title, last_error, error_count = source_row(engine, url)
    if report.outcome == "error":
        assert_one_line_error(report.error)
        assert last_error == report.error
        assert error_count == 1
        assert store_rows(engine, "select count(*) from items") == [(0,)]
    else:
        assert last_error is None
        assert report.new_items == store_rows(engine, "select count(*) from items")[0][0]


# --- entity expansion ------------------------------------------------------------------------------------------


def test_defusedxml_bomb_entities_are_never_expanded() -> None:
    body = (FIXTURES / "hostile" / "defusedxml__xmlbomb.xml").read_bytes()
    result, elapsed = timed_parse(body)
    assert elapsed < TIME_LIMIT
    assert isinstance(result, ParseError)  # <bomb> is not a feed
    assert "1234567890" not in str(result)
    disarmed, warnings = disarm(body)
    assert no_declarations_left(disarmed)
    assert b"1234567890" not in disarmed
    assert warnings == ["removed a DOCTYPE with an internal subset (entity declarations are not allowed)"]


def billion_laughs(levels: int = 10) -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, levels + 1)]
    prolog = "<!DOCTYPE rss [\n" + "\n".join(entities) + "\n]>\n"
    top = f"&lol{levels};"
    return rss(
        f"Laughs {top}",
        prolog=prolog,
        items=(
            f"<item><title>Item {top}</title><link>https://example.com/1</link>"
            f"<description>{top} {top}</description><content:encoded>{top}</content:encoded></item>"
        ),
    )


def test_billion_laughs_on_a_valid_rss_feed_parses_fast_small_and_with_a_warning() -> None:
    body = billion_laughs(10)  # 10**10 "lol"s if expanded
    result, elapsed = timed_parse(body)
    assert elapsed < 2.0
    assert isinstance(result, ParsedFeed)
    assert len(result.items) == 1
    assert text_size(result) < 2 * len(body)
    assert "lollollol" not in repr(result)
    assert any("DOCTYPE" in w for w in result.warnings)


def test_billion_laughs_served_is_stored_small_with_the_doctype_warning(
    engine, add_source, fetch_all, serve_feed
) -> None:  # type: ignore[no-untyped-def]
    add_source(serve_feed("/laughs.xml", billion_laughs(10)), name="laughs")
    started = time.monotonic()
    [report] = fetch_all().reports
    assert time.monotonic() - started < TIME_LIMIT
    assert report.outcome == "ok"
    assert report.note and "DOCTYPE" in report.note
    [warning] = fetch_warnings(engine)
    assert warning and "removed a DOCTYPE with an internal subset" in warning
    [(size,)] = store_rows(
        engine,
        "select sum(length(coalesce(title, '')) + length(coalesce(content_html, ''))"
        " + length(coalesce(summary, '')) + length(coalesce(excerpt, ''))) from items",
    )
    assert size < 1_000
    assert store_rows(engine, "select count(*) from items where content_html like '%lollol%'") == [(0,)]


def test_one_big_entity_referenced_many_times_is_not_expanded() -> None:
    # Linear amplification: feedparser keeps "safe" entities (no nesting) and expands every reference.
    big = "A" * 10_000
    body = rss(
        "t",
        prolog=f'<!DOCTYPE rss [\n<!ENTITY a "{big}">\n]>\n',
        items=f"<item><title>x</title><link>https://example.com/1</link><description>{'&a;' * 3000}"
        "</description></item>",
    )
    result, elapsed = timed_parse(body)
    assert elapsed < TIME_LIMIT
    assert isinstance(result, ParsedFeed)
    assert text_size(result) < 2 * len(body)


@pytest.mark.parametrize(
    "prolog",
    [
        # A DOCTYPE split by another one: removing the inner one must not join the outer one back together.
        '<!DOC<!DOCTYPE x>TYPE rss [\n<!<!ENTITY z>ENTITY a "{big}">\n]>\n',
        # An entity declaration split by another one, outside any DOCTYPE.
        '<!DOCTYPE rss>\n<!<!ENTITY z>ENTITY a "{big}">\n',
        # Lower case, as the loose parser accepts it.
        '<!doctype rss [\n<!entity a "{big}">\n]>\n',
    ],
    ids=["split-doctype", "split-entity", "lower-case"],
)
def test_declarations_that_removal_could_reassemble_never_reach_feedparser(prolog: str) -> None:
    big = "A" * 10_000
    body = rss(
        "t",
        prolog=prolog.format(big=big),
        items=f"<item><title>x</title><link>https://example.com/1</link><description>{'&a;' * 3000}"
        "</description></item>",
    )
    disarmed, warnings = disarm(body)
    assert no_declarations_left(disarmed)
    assert warnings
    result, elapsed = timed_parse(body)
    assert elapsed < TIME_LIMIT
    if isinstance(result, ParsedFeed):
        assert text_size(result) < 2 * len(body)  # expanded, the description alone would be 30 MB
    else:
        assert_one_line_error(str(result))


# --- a DOCTYPE whose entity value contains "]>" --------------------------------------------------------------


TRICKY_PROLOGS = [
    '<!DOCTYPE rss [<!ENTITY a "]>"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    "<!DOCTYPE rss [<!ENTITY a ']><!ENTITY c \"x\">'><!ENTITY b '&a;&a;'>]>",
    '<!DOCTYPE rss [<!ENTITY a "x]>y"> <!ENTITY b "]]>"> ]>',
    '<!DOCTYPE rss SYSTEM "x]>.dtd" [<!ENTITY a "]>">]>',
]


@pytest.mark.parametrize("prolog", TRICKY_PROLOGS)
def test_disarm_removes_a_doctype_whose_entity_values_contain_the_closing_bracket(prolog: str) -> None:
    feed = rss(
        "Kept title", items="<item><title>t &a;</title><link>https://example.com/1</link></item>", prolog=prolog + "\n"
    )
    disarmed, warnings = disarm(feed)
    assert no_declarations_left(disarmed)
    assert b"]>" not in disarmed.split(b"<rss", 1)[0]  # no leftover of the subset before the root
    assert disarmed.split(b"<rss", 1)[1] == feed.split(b"<rss", 1)[1]  # the feed itself is untouched
    assert warnings == ["removed a DOCTYPE with an internal subset (entity declarations are not allowed)"]


@pytest.mark.parametrize("prolog", TRICKY_PROLOGS)
def test_a_feed_behind_a_tricky_doctype_still_parses_with_its_entities_unexpanded(prolog: str) -> None:
    feed = rss(
        "Kept title", items="<item><title>t &b;</title><link>https://example.com/1</link></item>", prolog=prolog + "\n"
    )
    result, elapsed = timed_parse(feed)
    assert elapsed < TIME_LIMIT
    assert isinstance(result, ParsedFeed)
    assert result.title == "Kept title"
    assert result.items[0].title == "t &b;"


def test_disarm_leaves_a_document_without_declarations_alone() -> None:
    body = rss("Plain", items="<item><title>a &amp; b</title></item>")
    assert disarm(body) == (body, [])


def test_disarm_is_linear_in_the_number_of_doctypes() -> None:
    body = b"<!DOCTYPE>" * 200_000 + rss("t")  # 2 MB; quadratic removal took many seconds here
    started = time.monotonic()
    disarmed, _ = disarm(body)
    assert time.monotonic() - started < 2.0
    assert no_declarations_left(disarmed)
    assert disarmed.endswith(rss("t"))


def test_many_empty_comments_before_a_non_feed_do_not_hang_the_html_check() -> None:
    # The check for an HTML page used to backtrack exponentially over a run of comments.
    result, elapsed = timed_parse(b"<!---->" * 40 + b"<x")
    assert elapsed < 2.0
    assert isinstance(result, ParseError)


def test_comments_before_an_html_page_still_identify_it_as_html() -> None:
    result, _ = timed_parse(b"<!-- a --> \n<!---->\n<!DOCTYPE html><html><body><p>hi</p></body></html>")
    assert isinstance(result, ParseError)
    assert "HTML" in str(result)


@pytest.mark.parametrize("content_type", [None, "text/html", "application/xml"])
def test_a_well_formed_xhtml_page_is_also_reported_as_html(content_type: str | None) -> None:
    page = (
        b'<?xml version="1.0"?><!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml"><head>'
        b"<title>Blog</title></head><body><p>Welcome</p></body></html>"
    )
    result, _ = timed_parse(page, content_type=content_type)
    assert isinstance(result, ParseError)
    assert str(result) == "not a feed: the server sent an HTML page"


FRAGMENTS = [
    b"<!",
    b"<",
    b"!",
    b"DOCTYPE",
    b"doctype",
    b"ENTITY",
    b"entity",
    b"<!DOCTYPE",
    b"<!ENTITY",
    b"[",
    b"]",
    b">",
    b"]>",
    b'"',
    b"'",
    b" ",
    b"\n",
    b"x",
    b"&a;",
    b"<rss>",
    b"<!--",
    b"-->",
    b"%",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=30))
def test_disarm_never_lets_a_declaration_through(fragments: list[bytes]) -> None:
    disarmed, _ = disarm(b"".join(fragments))
    assert no_declarations_left(disarmed)


# --- external entities are never fetched ------------------------------------------------------------------------


def requested_paths(httpserver) -> list[str]:  # type: ignore[no-untyped-def]
    return [request.path for request, _response in httpserver.log]


@pytest.fixture
def xxe_target(httpserver):  # type: ignore[no-untyped-def]
    """A loopback URL that records whether anything asked for it."""
    httpserver.expect_request("/xxe-secret").respond_with_data("XXE-SECRET", content_type="text/plain")
    httpserver.expect_request("/xxe.dtd").respond_with_data(
        '<!ENTITY leak "XXE-SECRET">', content_type="application/xml-dtd"
    )
    return httpserver.url_for("/xxe-secret"), httpserver.url_for("/xxe.dtd")


def xxe_documents(secret: str, dtd: str) -> dict[str, bytes]:
    item = "<item><title>t &ee;</title><link>https://example.com/1</link><description>&ee;</description></item>"
    fixture = (FIXTURES / "hostile" / "defusedxml__external.xml").read_bytes()
    return {
        "defusedxml-fixture": fixture.replace(b"http://www.w3schools.com/xml/note.xml", secret.encode()),
        "general-entity": rss("x &ee;", items=item, prolog=f'<!DOCTYPE rss [<!ENTITY ee SYSTEM "{secret}">]>\n'),
        "parameter-entity": rss(
            "x", items=item, prolog=f'<!DOCTYPE rss [<!ENTITY % pe SYSTEM "{dtd}"> %pe; <!ENTITY ee "y">]>\n'
        ),
        "external-dtd": rss("x &leak;", items=item, prolog=f'<!DOCTYPE rss SYSTEM "{dtd}">\n'),
        "public-dtd": rss("x", items=item, prolog=f'<!DOCTYPE rss PUBLIC "-//X//DTD X//EN" "{dtd}">\n'),
    }


CASES = ["defusedxml-fixture", "general-entity", "parameter-entity", "external-dtd", "public-dtd"]


@pytest.mark.parametrize("case", CASES)
def test_external_entities_are_never_fetched_when_parsing(case: str, httpserver, xxe_target) -> None:  # type: ignore[no-untyped-def]
    body = xxe_documents(*xxe_target)[case]
    result, elapsed = timed_parse(body)
    assert elapsed < TIME_LIMIT
    assert requested_paths(httpserver) == []
    assert "XXE-SECRET" not in (repr(result) if isinstance(result, ParsedFeed) else str(result))


@pytest.mark.parametrize("case", CASES)
def test_external_entities_are_never_fetched_through_the_pipeline(
    case: str, engine, add_source, fetch_all, serve_feed, httpserver, xxe_target
) -> None:  # type: ignore[no-untyped-def]
    url = serve_feed(f"/xxe-{case}.xml", xxe_documents(*xxe_target)[case])
    add_source(url, name=case)
    [report] = fetch_all().reports
    assert report.outcome in ("ok", "error")
    if report.error:
        assert_one_line_error(report.error)
    assert requested_paths(httpserver) == [f"/xxe-{case}.xml"]  # the feed, and nothing it names
    assert store_rows(
        engine,
        "select count(*) from items where title like '%XXE%' or content_html like '%XXE%' or summary like '%XXE%'",
    ) == [(0,)]


# --- encodings -------------------------------------------------------------------------------------------------


def test_windows_1252_prolog_over_utf8_bytes_reads_euro_sign_when_parsed() -> None:
    body = (FIXTURES / "hostile" / "miniflux__windows-1252-incorrect-prolog.xml").read_bytes()
    result, _ = timed_parse(body)
    assert isinstance(result, ParsedFeed)
    assert result.title == "Euro €"
    # and it lists no items, which a reader should know too
    assert result.warnings == ["document declared windows-1252 but is UTF-8; read as UTF-8", "the feed has no items"]


@pytest.mark.parametrize("content_type", ["application/rss+xml", "application/rss+xml; charset=utf-8", "text/xml"])
def test_windows_1252_prolog_over_utf8_bytes_stores_euro_sign_when_served(
    content_type: str, engine, add_source, fetch_all, serve_feed
) -> None:  # type: ignore[no-untyped-def]
    body = (FIXTURES / "hostile" / "miniflux__windows-1252-incorrect-prolog.xml").read_bytes()
    url = serve_feed("/euro.xml", body, content_type=content_type)
    add_source(url, name="euro")
    [report] = fetch_all().reports
    assert report.outcome == "ok"
    assert source_row(engine, url)[0] == "Euro €"


def test_a_real_windows_1252_document_is_still_read_as_windows_1252() -> None:
    body = rss("x").replace(b"utf-8", b"windows-1252").replace(b"<title>x</title>", b"<title>Caf\xe9 \x80</title>")
    result, _ = timed_parse(body)
    assert isinstance(result, ParsedFeed)
    assert result.title == "Café €"


# Real non-ASCII text of every width: two-byte é, three-byte curly quotes and CJK, a four-byte emoji.
WIDE = "Caf\u00e9 \u201cquotes\u201d \u4e2d\u6587 \U0001f389"


def wide_feed(prolog: str = '<?xml version="1.0" encoding="utf-8"?>', *, rdf: bool = False) -> bytes:
    """UTF-8 bytes of an RSS 2.0 feed (the fast path's) or an RSS 1.0 one (feedparser's) titled WIDE."""
    if rdf:
        return (
            f'{prolog}<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            f'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://example.com/"><title>{WIDE}</title>'
            f'<link>https://example.com/</link></channel><item rdf:about="https://example.com/1">'
            f"<title>{WIDE}</title><link>https://example.com/1</link></item></rdf:RDF>"
        ).encode()
    return (
        f'{prolog}<rss version="2.0"><channel><title>{WIDE}</title><link>https://example.com/</link>'
        f"<item><title>{WIDE}</title><link>https://example.com/1</link></item></channel></rss>"
    ).encode()


@pytest.mark.parametrize("rdf", [False, True], ids=["rss", "rdf"])
@pytest.mark.parametrize("charset", ["iso-8859-1", "latin-1", "windows-1252", "us-ascii", "ISO-8859-15"])
def test_utf8_bytes_under_a_single_byte_http_charset_are_read_as_utf8_with_a_warning(charset: str, rdf: bool) -> None:
    result, _ = timed_parse(wide_feed(rdf=rdf), content_type=f"application/rss+xml; charset={charset}")
    assert isinstance(result, ParsedFeed)
    assert (result.title, result.items[0].title) == (WIDE, WIDE)
    assert result.warnings == [f"the server said the document is {charset} but it is UTF-8; read as UTF-8"]


def test_utf8_under_a_latin1_header_is_stored_as_utf8_with_the_warning_in_the_fetch_log(
    engine, add_source, fetch_all, serve_feed
) -> None:  # type: ignore[no-untyped-def]
    url = serve_feed("/wide.xml", wide_feed(), content_type="text/xml; charset=ISO-8859-1")
    add_source(url, name="wide")
    [report] = fetch_all().reports
    assert report.outcome == "ok"
    assert source_row(engine, url)[0] == WIDE
    assert store_rows(engine, "select title from items") == [(WIDE,)]
    assert fetch_warnings(engine) == ["the server said the document is ISO-8859-1 but it is UTF-8; read as UTF-8"]


@pytest.mark.parametrize("rdf", [False, True], ids=["rss", "rdf"])
def test_a_real_latin1_document_under_a_latin1_header_is_still_read_as_latin1(rdf: bool) -> None:
    body = wide_feed(rdf=rdf).replace(WIDE.encode(), "Caf\u00e9 \u00bd".encode("latin-1"))
    result, _ = timed_parse(body, content_type="application/rss+xml; charset=iso-8859-1")
    assert isinstance(result, ParsedFeed)
    assert result.title == "Caf\u00e9 \u00bd" and result.warnings == []


PROLOGS = [
    "",
    '<?xml version="1.0" encoding="utf-8"?>',
    '<?xml version="1.0" encoding="windows-1252"?>',
    "<?xml version='1.0' encoding='ISO-8859-1'?>",
]


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/xml",
        "application/rss+xml; charset=iso-8859-1",
        "application/rss+xml; charset=windows-1252",
        "application/json",
    ],
)
@pytest.mark.parametrize("prolog", PROLOGS, ids=["none", "utf-8", "windows-1252", "latin-1"])
def test_a_utf8_byte_order_mark_decides_and_its_characters_come_through_on_both_paths(
    prolog: str, content_type: str | None
) -> None:
    """RFC 7303: the byte order mark before the HTTP charset and the prolog. lxml (the fast path) and feedparser
    (the lenient one) each read the document as it is prepared, and neither may mangle it or call it broken."""
    from digest.parse.fastfeed import parse_fast
    from digest.parse.feed import _parse_with_feedparser, prepare_xml

    body = b"\xef\xbb\xbf" + wide_feed(prolog)
    prepared, encoding, warnings = prepare_xml(body, content_type)
    assert warnings == []
    fast = parse_fast(prepared, url="https://example.com/feed")
    slow = _parse_with_feedparser(
        prepared, url="https://example.com/feed", content_type=content_type, encoding=encoding
    )
    for feed in (fast, slow):
        assert (feed.title, feed.items[0].title, feed.warnings) == (WIDE, WIDE, [])
    for rdf in (False, True):  # and the whole way, where RSS 1.0 takes feedparser's path
        result, _ = timed_parse(b"\xef\xbb\xbf" + wide_feed(prolog, rdf=rdf), content_type=content_type)
        assert isinstance(result, ParsedFeed)
        assert (result.title, result.items[0].title, result.warnings) == (WIDE, WIDE, [])


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_a_utf16_document_with_its_byte_order_mark_is_read_on_both_paths(codec: str) -> None:
    for rdf in (False, True):
        text = wide_feed('<?xml version="1.0" encoding="UTF-16"?>', rdf=rdf).decode("utf-8")
        body = text.encode(codec) if codec == "utf-16" else b"\xfe\xff" + text.encode(codec)
        result, _ = timed_parse(body, content_type="application/xml; charset=utf-8")
        assert isinstance(result, ParsedFeed)
        assert (result.title, result.items[0].title, result.warnings) == (WIDE, WIDE, [])


def test_a_bom_feed_served_as_text_xml_is_stored_unmangled_and_without_a_warning(
    engine, add_source, fetch_all, serve_feed
) -> None:  # type: ignore[no-untyped-def]
    url = serve_feed("/bom.rdf", b"\xef\xbb\xbf" + wide_feed(rdf=True), content_type="text/xml")
    add_source(url, name="bom")
    [report] = fetch_all().reports
    assert (report.outcome, report.note) == ("ok", None)
    assert store_rows(engine, "select title from items") == [(WIDE,)]
    assert fetch_warnings(engine) == [None]


# --- HTML where a feed should be -----------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", [None, "text/html; charset=utf-8", "application/rss+xml"])
def test_an_html_page_instead_of_a_feed_is_an_error_that_says_html(content_type: str | None) -> None:
    body = (FIXTURES / "hostile" / "rss-parser__unrecognized_html_instead_of_feed.rss").read_bytes()
    result, _ = timed_parse(body, content_type=content_type)
    assert isinstance(result, ParseError)
    assert "HTML" in str(result)
    assert_one_line_error(str(result))


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/rss+xml"])
def test_an_html_page_served_as_a_feed_records_an_html_error_for_the_source(
    content_type: str, engine, add_source, fetch_all, serve_feed
) -> None:  # type: ignore[no-untyped-def]
    body = (FIXTURES / "hostile" / "rss-parser__unrecognized_html_instead_of_feed.rss").read_bytes()
    url = serve_feed("/moved.rss", body, content_type=content_type)
    add_source(url, name="moved")
    [report] = fetch_all().reports
    assert report.outcome == "error"
    assert report.error == "not a feed: the server sent an HTML page"
    assert source_row(engine, url)[1:] == ("not a feed: the server sent an HTML page", 1)


# --- hostile HTML inside a real feed ---------------------------------------------------------------------------

HOSTILE_BODY = (
    '<p onclick="alert(1)">Intro <a href="javascript:alert(2)">js</a> <a href="jav&#x09;ascript:alert(3)">tab</a>'
    ' <a href="/ok?utm_source=feed&amp;id=4">ok</a></p><script>alert(5)</script>'
    '<img src="/pic.png" onerror="alert(6)" alt="pic"><img src="data:image/svg+xml;base64,PHN2Zz4=" alt="d">'
    '<iframe src="https://evil.example/"></iframe><svg onload="alert(7)"></svg>'
    '<form action="https://evil.example/"><input name="pw"></form><a href="vbscript:msgbox(8)">vb</a>'
    '<style>body{display:none}</style><object data="x.swf"></object>'
    '<img src="https://track.example/p.gif" width="1" height="1">'
)


def test_hostile_html_in_a_served_feed_never_reaches_the_store(engine, add_source, fetch_all, serve_feed) -> None:  # type: ignore[no-untyped-def]
    items = (
        f"<item><title>Hostile &lt;script&gt;alert(9)&lt;/script&gt;</title>"
        f"<link>https://example.com/posts/1</link><guid isPermaLink='false'>h1</guid>"
        f"<description><![CDATA[Short <script>alert(10)</script> summary]]></description>"
        f"<content:encoded><![CDATA[{HOSTILE_BODY}]]></content:encoded></item>"
        f"<item><title>Escaped body</title><link>https://example.com/posts/2</link>"
        f"<guid isPermaLink='false'>h2</guid>"
        f"<description>{HOSTILE_BODY.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}"
        f"</description></item>"
    )
    add_source(serve_feed("/hostile.xml", rss("Hostile", items=items)), name="hostile")
    [report] = fetch_all().reports
    assert report.outcome == "ok" and report.new_items == 2
    rows = store_rows(engine, "select guid, content_html, excerpt, summary, image_url from items order by guid")
    assert [r[0] for r in rows] == ["h1", "h2"]
    for _guid, content, excerpt, summary, image in rows:
        lowered = content.lower()
        for bad in (
            "<script",
            "javascript",
            "vbscript",
            "data:",
            "alert(",
            "onerror",
            "onclick",
            "onload",
            "<iframe",
            "<svg",
            "<form",
            "<input",
            "<style",
            "<object",
            "track.example",
        ):
            assert bad not in lowered, (bad, content)
        tree = LexborHTMLParser(f"<body>{content}</body>")
        for node in tree.body.traverse(include_text=False):
            assert not [k for k in node.attributes if k.lower().startswith("on")]
        assert 'href="https://example.com/ok?id=4"' in content
        assert 'src="https://example.com/pic.png"' in content
        assert "alert" not in (excerpt or "")
        assert "alert" not in (summary or "")
        assert image == "https://example.com/pic.png"


def test_a_title_that_mentions_script_is_stored_as_text(engine, add_source, fetch_all, serve_feed) -> None:  # type: ignore[no-untyped-def]
    items = "<item><title>Why &lt;script&gt; blocks rendering</title><link>https://example.com/1</link></item>"
    add_source(serve_feed("/t.xml", rss("T", items=items)), name="t")
    fetch_all()
    assert store_rows(engine, "select title from items") == [("Why <script> blocks rendering",)]


# --- the fixtures themselves ------------------------------------------------------------------------------------


def test_incomplete_cdata_feed_is_read_leniently_with_a_warning() -> None:
    body = (FIXTURES / "hostile" / "feedparser__illformed_rss_incomplete_cdata.xml").read_bytes()
    result, elapsed = timed_parse(body)
    assert elapsed < TIME_LIMIT
    assert isinstance(result, ParsedFeed)
    assert result.title == "can feedparser read this xml"
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("feed is not well-formed, read leniently: ")


def test_koi8r_feed_without_an_encoding_declaration_is_read_leniently() -> None:
    body = (FIXTURES / "hostile" / "feedparser__illformed_chardet_koi8r.xml").read_bytes()
    result, elapsed = timed_parse(body)
    assert elapsed < TIME_LIMIT
    assert isinstance(result, ParsedFeed)
    assert len(result.items) == 1
    assert result.items[0].title
    assert result.warnings and result.warnings[0].startswith("feed is not well-formed, read leniently: ")


def test_every_hostile_fixture_is_covered() -> None:
    expected = {
        "defusedxml__external.xml",
        "defusedxml__xmlbomb.xml",
        "feedparser__illformed_chardet_koi8r.xml",
        "feedparser__illformed_rss_incomplete_cdata.xml",
        "miniflux__windows-1252-incorrect-prolog.xml",
        "rss-parser__unrecognized_html_instead_of_feed.rss",
    }
    assert set(HOSTILE) == expected
    assert all(Path(FIXTURES / "hostile" / n).stat().st_size > 0 for n in HOSTILE)
