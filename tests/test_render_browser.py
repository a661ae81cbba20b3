"""Each theme, rendered from the seed Substack feed through the real pipeline, opened in headless Chromium.

Debian's /usr/bin/chromium driven by Playwright; no browser is ever downloaded, and every request the page
makes is recorded and aborted, so nothing leaves the machine. These tests fail (never skip) without chromium.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli, store_rows

THEMES = ("default", "dark", "compact")
SHOWS_IMAGES = {"default": True, "dark": True, "compact": False}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class SeedIssue:
    html: dict[str, str]  # theme -> digest.html
    item_images: frozenset[str]  # the image URLs of the seed feed's items


@pytest.fixture(scope="module")
def seed_issue(tmp_path_factory: pytest.TempPathFactory, make_httpserver, seed_feed_bytes: bytes) -> SeedIssue:  # type: ignore[no-untyped-def]
    """The seed feed fetched over loopback into a store, then `digest compose --preview` once per theme."""
    from digest.store.db import open_engine

    root = tmp_path_factory.mktemp("seed-render")
    db_url = f"sqlite:///{root / 'store.db'}"

    def add(cli: Cli) -> None:
        cli("sources", "add", make_httpserver.url_for("/seed.rss"), "--name", "seed")

    html = _themes_composed(root, make_httpserver, seed_feed_bytes, add, expect_new=12)
    engine = open_engine(db_url)
    try:
        images = frozenset(url for (url,) in store_rows(engine, "SELECT image_url FROM items WHERE image_url != ''"))
    finally:
        engine.dispose()
    assert len(images) == 12 and all(u.startswith("https://") for u in images)  # substackcdn.com, medium.com
    return SeedIssue(html=html, item_images=images)


def _themes_composed(
    root: Path, server: Any, seed_feed_bytes: bytes, add: Any, expect_new: int | None = None
) -> dict[str, str]:
    """Sources added by `add` (the seed feed served at /seed.rss) fetched over loopback into a store in `root`,
    then `digest compose --preview` once per theme; theme -> digest.html."""
    config = root / "digest.toml"
    # The seed posts are old: a digest looking back a century shows them whatever the day.
    config.write_text('[enrich]\nafter_fetch = false\n[[digests]]\nname = "seed"\nlookback_days = 36500\n')
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DIGEST_HOME", str(root / "home"))
        server.expect_request("/seed.rss").respond_with_data(
            seed_feed_bytes, content_type="application/rss+xml; charset=utf-8"
        )
        try:
            cli = Cli(f"sqlite:///{root / 'store.db'}", config)
            add(cli)
            fetched = cli("fetch").stdout
            assert expect_new is None or f"new items {expect_new}" in fetched
            html = {}
            for theme in THEMES:
                cli("compose", "--preview", "--theme", theme, "--out", str(root / theme))
                html[theme] = (root / theme / "digest.html").read_text()
        finally:
            server.clear()
    return html


@pytest.fixture(scope="module")
def seed_feed_bytes() -> bytes:
    from tests.conftest import SEED_FEED

    return SEED_FEED.read_bytes()


@dataclass
class Opened:
    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def open_page(browser) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """Open HTML in a fresh context; every request is recorded and aborted, console errors are collected."""
    contexts = []

    def _open(html: str, *, width: int = 1024, color_scheme: str = "light") -> Opened:
        context = browser.new_context(viewport={"width": width, "height": 800}, color_scheme=color_scheme)
        contexts.append(context)
        opened = Opened(context.new_page())

        def record_and_abort(route: Any) -> None:
            opened.requests.append(route.request.url)
            route.abort()

        def on_console(msg: Any) -> None:
            # Chromium logs each request we abort as "Failed to load resource"; only those are not the page's fault.
            ours = msg.text.startswith("Failed to load resource") and msg.location.get("url") in opened.requests
            if msg.type == "error" and not ours:
                opened.errors.append(f"console: {msg.text} at {msg.location}")

        opened.page.route("**/*", record_and_abort)
        opened.page.on("console", on_console)
        opened.page.on("pageerror", lambda exc: opened.errors.append(f"pageerror: {exc}"))
        opened.page.set_content(html, wait_until="load")
        return opened

    yield _open
    for context in contexts:
        context.close()


@pytest.mark.parametrize("theme", THEMES)
def test_each_theme_opens_cleanly_and_asks_only_for_the_items_own_images(
    seed_issue, open_page, tmp_path, theme: str
) -> None:
    opened = open_page(seed_issue.html[theme])
    page = opened.page
    shot = tmp_path / f"{theme}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes().startswith(PNG_SIGNATURE) and shot.stat().st_size > 10_000
    assert opened.errors == []
    srcs = page.evaluate("[...document.images].map(i => i.getAttribute('src'))")
    if SHOWS_IMAGES[theme]:
        assert set(opened.requests) == seed_issue.item_images  # every request is one of the items' images
        assert set(srcs) == seed_issue.item_images
    else:
        assert opened.requests == [] and srcs == []
    assert page.evaluate("[...document.images].every(i => i.hasAttribute('alt') && i.alt.trim() !== '')")
    assert page.locator(".preheader").count() == 1 and page.locator(".preheader").is_hidden()
    assert page.locator("script, link[rel=stylesheet], iframe").count() == 0


@pytest.mark.parametrize("theme", THEMES)
def test_each_theme_is_a_600px_table_that_fits_a_phone_without_sideways_scrolling(
    seed_issue, open_page, theme: str
) -> None:
    page = open_page(seed_issue.html[theme], width=1024).page
    box = page.locator("table.page").bounding_box()
    assert box is not None and 500 < box["width"] <= 600
    page.set_viewport_size({"width": 375, "height": 800})
    box = page.locator("table.page").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    scroll, client = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert client == 375 and scroll <= client, f"{theme} scrolls sideways on a phone: {scroll}px wide"


def _luminance(css_color: str) -> float:
    r, g, b = (int(part) for part in css_color.removeprefix("rgb(").removesuffix(")").split(",")[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.parametrize("theme", THEMES)
def test_dark_mode_gives_a_dark_page_where_the_theme_supports_it(seed_issue, open_page, theme: str) -> None:
    page = open_page(seed_issue.html[theme], color_scheme="light").page
    body = "getComputedStyle(document.body).backgroundColor"
    light = _luminance(page.evaluate(body))
    page.emulate_media(color_scheme="dark")
    dark = _luminance(page.evaluate(body))
    assert dark < 60, f"{theme} in dark mode: body luminance {dark}"
    if theme == "dark":
        assert light < 60  # dark in every client
    else:
        assert light > 200


def test_the_default_theme_keeps_its_whole_font_stack(seed_issue, open_page) -> None:
    """Quoted family names in theme.css must survive rendering and inlining (they were once HTML-escaped)."""
    page = open_page(seed_issue.html["default"]).page
    assert page.evaluate("getComputedStyle(document.body).fontFamily") == 'Georgia, "Times New Roman", serif'


# --- thumbnails, at a mail client's width and a phone's ----------------------------------------------------------

HF_JSON = "listings/hf_daily_papers_2026-08-13.json"
WIDTHS = (600, 375)


def _png(width: int, height: int, rgb: tuple[int, int, int] = (91, 125, 177)) -> bytes:
    """A plain PNG of the given size: what a thumbnail's server would send, made here (no image library)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    return (
        PNG_SIGNATURE
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def thumbnail_issue(
    tmp_path_factory: pytest.TempPathFactory,
    make_httpserver,  # type: ignore[no-untyped-def]
    seed_feed_bytes: bytes,
) -> dict[str, str]:
    """The seed feed and a Hugging Face daily-papers listing (each paper with its thumbnail) fetched into one
    store, composed once per theme; theme -> digest.html."""
    from tests.conftest import fixture_bytes

    root = tmp_path_factory.mktemp("thumbnail-render")
    make_httpserver.expect_request("/daily_papers.json").respond_with_data(
        fixture_bytes(HF_JSON), content_type="application/json"
    )

    def add(cli: Cli) -> None:
        cli("sources", "add", make_httpserver.url_for("/seed.rss"), "--name", "seed")
        cli(
            "sources",
            "add",
            make_httpserver.url_for("/daily_papers.json"),
            "--name",
            "hf",
            "--kind",
            "listing",
            "--adapter",
            "hf-daily",
        )

    html = _themes_composed(root, make_httpserver, seed_feed_bytes, add)
    return html


@pytest.fixture
def open_with_images(browser) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """Open HTML at a width; image requests get a real PNG of a social card's shape (1200x630), others are
    refused, so the layout is the one a reader sees once the images arrive."""
    contexts = []
    card = _png(1200, 630)

    def _open(html: str, width: int) -> Any:
        context = browser.new_context(viewport={"width": width, "height": 900})
        contexts.append(context)
        page = context.new_page()

        def answer(route: Any) -> None:
            if route.request.resource_type == "image":
                route.fulfill(status=200, content_type="image/png", body=card)
            else:
                route.abort()

        page.route("**/*", answer)
        page.set_content(html, wait_until="load")
        return page

    yield _open
    for context in contexts:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("theme", THEMES)
def test_thumbnails_fit_their_cards_and_nothing_scrolls_sideways(
    thumbnail_issue, open_with_images, theme: str, width: int
) -> None:
    page = open_with_images(thumbnail_issue[theme], width)
    scroll, client = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert client == width and scroll <= width, f"{theme} at {width}px scrolls sideways: {scroll}px wide"
    thumbs = page.evaluate("""[...document.querySelectorAll('img.thumb')].map(i => ({
        alt: i.alt, loaded: i.complete && i.naturalWidth > 0, card: i.closest('td.card') !== null,
        title: i.closest('td').querySelector('.paper-title').textContent.trim()}))""")
    if SHOWS_IMAGES[theme]:
        # the four Hugging Face papers, each with its thumbnail, on its own card, labelled but not by its title
        assert len(thumbs) == 4, theme
        assert all(t["loaded"] and t["card"] and t["alt"] == "Paper thumbnail" != t["title"] for t in thumbs)
    else:
        assert thumbs == []
    # every image lies inside its card, and inside the viewport
    outside = page.evaluate("""[...document.images].filter(i => {
        const a = i.getBoundingClientRect(), c = i.closest('td').getBoundingClientRect();
        return a.left < c.left - 0.5 || a.right > c.right + 0.5 || a.top < c.top - 0.5 || a.bottom > c.bottom + 0.5
            || a.right > window.innerWidth || a.width === 0;
    }).map(i => i.src)""")
    assert outside == [], f"{theme} at {width}px: images outside their card: {outside}"


def test_an_archived_issue_page_with_its_way_back_fits_a_phone(thumbnail_issue, open_with_images) -> None:
    from digest.deliver.archive import issue_page

    page = open_with_images(issue_page(thumbnail_issue["default"], title="Research digest"), 375)
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= 375
    back = page.locator(".digest-archive-nav a").first
    assert back.is_visible() and back.get_attribute("href") == "../index.html"
    assert back.bounding_box()["y"] < page.locator("table.page").bounding_box()["y"]  # seen before the issue
