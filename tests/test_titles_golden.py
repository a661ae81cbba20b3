"""Golden file: the title each paper of the seed Substack feed gets from the posts' link texts.

The expected titles in fixtures/feeds/aipapertrails_substack.titles.expected.py were judged by hand from the posts'
HTML (anchor texts only, no metadata lookups); these tests serve the feed over loopback HTTP, fetch it into a real
store with the default config (fetching does not enrich) and read the titles back from the papers table.
"""

from __future__ import annotations

import re
import runpy
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from tests.conftest import FIXTURES, SEED_FEED, store_rows

GOLDEN = runpy.run_path(str(FIXTURES / "feeds" / "aipapertrails_substack.titles.expected.py"))
TITLES: dict[str, str | None] = GOLDEN["TITLES"]
BY_POST: dict[str, dict[str, str | None]] = GOLDEN["BY_POST"]
PAPERS = runpy.run_path(str(FIXTURES / "feeds" / "aipapertrails_substack.papers.expected.py"))
DEFAULT: dict[str, list[str]] = PAPERS["DEFAULT"]

CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"


def _words(text: str) -> str:
    """Text as displayed: &nbsp; and runs of whitespace as one space, ends trimmed."""
    return " ".join(text.replace("\xa0", " ").split())


class _Headings(HTMLParser):
    """The text of every <h1>-<h6> that has no link inside it (a heading that is a link may name its paper)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._open: str | None = None
        self._text: list[str] = []
        self._linked = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if re.fullmatch(r"h[1-6]", tag):
            self._open, self._text, self._linked = tag, [], False
        elif tag == "a" and self._open:
            self._linked = True

    def handle_endtag(self, tag: str) -> None:
        if tag == self._open:
            if not self._linked and _words("".join(self._text)):
                self.found.append(_words("".join(self._text)))
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open:
            self._text.append(data)


def _posts() -> list[tuple[str, str]]:
    """(post title, content:encoded HTML) of each item of the seed feed."""
    root = ET.fromstring(SEED_FEED.read_bytes())
    return [(item.findtext("title") or "", item.findtext(CONTENT) or "") for item in root.iter("item")]


def unlinked_headings() -> set[str]:
    found: set[str] = set()
    for _, html in _posts():
        parser = _Headings()
        parser.feed(html)
        parser.close()
        found.update(parser.found)
    return found


def test_the_golden_titles_cover_exactly_the_papers_the_default_config_finds() -> None:
    assert list(BY_POST) == list(DEFAULT)
    for guid, ids in DEFAULT.items():
        assert sorted(BY_POST[guid]) == ids, guid
    assert list(TITLES) == sorted(TITLES)
    assert set(TITLES) == {i for ids in DEFAULT.values() for i in ids}
    for title in TITLES.values():
        assert title is None or (title == title.strip() and title and "\xa0" not in title)


def test_the_headings_found_include_the_unlinked_ones_the_golden_file_names() -> None:
    headings = unlinked_headings()
    # plain headings over papers (posts 7 and 8) and section headings that name no paper
    for text in (
        "Big Bird: Transformers for Longer Sequences",
        "Learning Loss for Test-Time Augmentation",
        "Other interesting papers:",
        "Modernization of systematicity by Lake et.al. 2017",
    ):
        assert text in headings
    # a heading that is the link is not among them
    assert "Genie: Generative Interactive Environments" not in headings


def stored_titles(engine, add_source, fetch_all, serve_feed, seed_feed: bytes) -> dict[str, str | None]:  # type: ignore[no-untyped-def]
    """Serve the seed feed, fetch it into the store (default config, no enrichment), read the papers' titles."""
    add_source(serve_feed("/feed", seed_feed), name="aipapertrails")
    summary = fetch_all()
    assert summary.failed == 0
    return dict(store_rows(engine, "SELECT canonical_id, title FROM papers"))


def test_each_seed_paper_gets_the_title_read_off_its_links(
    engine,
    add_source,
    fetch_all,
    serve_feed,  # type: ignore[no-untyped-def]
    seed_feed: bytes,
) -> None:
    found = stored_titles(engine, add_source, fetch_all, serve_feed, seed_feed)
    problems = [
        f"{paper}: expected {TITLES[paper]!r}, found {found[paper]!r}"
        for paper in sorted(TITLES.keys() & found.keys())
        if TITLES[paper] != found[paper]
    ]
    problems += [
        f"{paper}: expected {TITLES[paper]!r}, not in the store" for paper in sorted(TITLES.keys() - found.keys())
    ]
    problems += [f"{paper}: not expected, found {found[paper]!r}" for paper in sorted(found.keys() - TITLES.keys())]
    assert not problems, f"{len(problems)} papers differ from the golden titles:\n" + "\n".join(problems)


def test_no_stored_title_is_a_heading_that_is_not_a_link_or_a_post_title(
    engine,
    add_source,
    fetch_all,  # type: ignore[no-untyped-def]
    serve_feed,
    seed_feed: bytes,
) -> None:
    found = stored_titles(engine, add_source, fetch_all, serve_feed, seed_feed)
    assert any(found.values())
    headings = unlinked_headings()
    from_heading = sorted(
        f"{paper}: {title!r}" for paper, title in found.items() if title is not None and _words(title) in headings
    )
    assert not from_heading, "titles equal to a heading that is not a link:\n" + "\n".join(from_heading)
    post_titles = {_words(title) for title, _ in _posts()}
    from_post = sorted(
        f"{paper}: {title!r}" for paper, title in found.items() if title is not None and _words(title) in post_titles
    )
    assert not from_post, "titles equal to a post's own title:\n" + "\n".join(from_post)
