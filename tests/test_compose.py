"""Composing an issue: what is selected, how it is rendered, and what is recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digest.clean.items import Item, content_hash
from digest.compose.issue import compose_issue
from digest.compose.render import ThemeError, available_themes, render
from digest.compose.view import PostCard, build_view
from digest.config import DigestConfig
from digest.store import repository as repo
from tests.conftest import store_rows


def _post(n: int, source: str = "Blog", **kw: object) -> PostCard:
    base = dict(item_id=n, title=f"Post {n}", url=f"https://blog.example/{n}", source=source,
                source_url="https://blog.example/", author=None,
                published=datetime(2026, 11, 20, tzinfo=UTC) - timedelta(days=n), excerpt=f"Excerpt {n}.",
                image_url=None)
    base.update(kw)
    return PostCard(**base)  # type: ignore[arg-type]


def _item(guid: str, title: str, published: datetime | None) -> Item:
    return Item(guid=guid, url=f"https://blog.example/{guid}", title=title, author=None, published=published,
                summary=None, content_html="<p>x</p>", excerpt="x", image_url=None, content_hash=content_hash(title))


def test_view_groups_posts_by_source_and_says_how_many() -> None:
    view = build_view(name="d", title="Digest", posts=[_post(1, "A"), _post(2, "B"), _post(3, "A")],
                      generated_at=datetime(2026, 11, 23, tzinfo=UTC), window_start=None)
    assert [(s.title, [p.item_id for p in s.posts]) for s in view.sections] == [("A", [1, 3]), ("B", [2])]
    assert view.post_count == 3 and view.source_count == 2
    assert view.subject == "Digest: 3 new posts (23 Nov 2026)"
    assert view.preheader.startswith("3 posts from 2 sources: Post 1, Post 2, Post 3")


def test_rendered_html_is_mail_ready_and_escapes_what_it_shows() -> None:
    hostile = _post(1, title="<script>alert(1)</script> & more", excerpt="<img src=x onerror=alert(1)>")
    view = build_view(name="d", title="Digest", posts=[hostile, _post(2, "Other")],
                      generated_at=datetime(2026, 11, 23, tzinfo=UTC), window_start=None)
    out = render(view)
    assert "<script" not in out.html and "<img" not in out.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in out.html
    assert "&lt;img src=x onerror=alert(1)&gt;" in out.html  # shown as text, never as a tag
    # The CSS is inlined: only @media rules stay in a <style> block, for clients that honour them.
    assert 'class="post-title" style="' in out.html
    style_blocks = out.html.split("<style>")[1:]
    assert all(block.split("</style>")[0].lstrip().startswith("@media") for block in style_blocks)
    assert 'width="600"' in out.html and 'class="preheader"' in out.html
    assert "<script>alert(1)</script> & more" in out.text  # the text part is text, not HTML


def test_text_part_wraps_lines_and_lists_links() -> None:
    long = "word " * 60
    view = build_view(name="d", title="Digest", posts=[_post(1, excerpt=long.strip())],
                      generated_at=datetime(2026, 11, 23, tzinfo=UTC), window_start=None)
    text = render(view).text
    assert max(len(line) for line in text.splitlines()) <= 76
    assert "<https://blog.example/1>" in text


def test_unknown_theme_names_the_available_ones() -> None:
    view = build_view(name="d", title="D", posts=[], generated_at=datetime(2026, 11, 23, tzinfo=UTC),
                      window_start=None)
    with pytest.raises(ThemeError, match="available: default"):
        render(view, theme="nope")
    assert "default" in available_themes()


def test_a_user_theme_dir_is_used(tmp_path: Path) -> None:
    theme = tmp_path / "mine"
    theme.mkdir()
    (theme / "digest.html.j2").write_text("<p>{{ d.title }}: {{ d.post_count }}</p>")
    (theme / "digest.txt.j2").write_text("{{ d.title }} / {{ d.post_count }}")
    view = build_view(name="d", title="Mine", posts=[_post(1)], generated_at=datetime(2026, 11, 23, tzinfo=UTC),
                      window_start=None)
    out = render(view, theme="mine", theme_dir=tmp_path)
    assert "Mine: 1" in out.html and out.text == "Mine / 1\n"


def test_compose_records_the_issue_and_the_next_one_has_only_new_items(engine, add_source, now) -> None:
    sid = add_source("https://blog.example/feed", name="blog")
    with repo.session(engine) as s, s.begin():
        repo.upsert_items(s, sid, [_item("a", "Alpha", now - timedelta(days=2)), _item("b", "Beta", None)], now)
    cfg = DigestConfig(name="daily")
    first = compose_issue(engine, cfg, now=now)
    assert [p.title for p in first.view.posts] == ["Beta", "Alpha"]  # undated: its arrival time counts
    assert store_rows(engine, "SELECT name, status FROM digests") == [("daily", "composed")]
    with repo.session(engine) as s, s.begin():
        repo.upsert_items(s, sid, [_item("c", "Gamma", now)], now)
    second = compose_issue(engine, cfg, now=now + timedelta(days=1))
    assert [p.title for p in second.view.posts] == ["Gamma"]


def test_a_failed_delivery_leaves_the_items_for_the_next_issue(engine, add_source, now) -> None:
    sid = add_source("https://blog.example/feed", name="blog")
    with repo.session(engine) as s, s.begin():
        repo.upsert_items(s, sid, [_item("a", "Alpha", now)], now)

    def broken(_view: object, _rendered: object) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        compose_issue(engine, DigestConfig(name="daily"), now=now, deliver=broken)
    assert store_rows(engine, "SELECT count(*) FROM digests") == [(0,)]
    assert [p.title for p in compose_issue(engine, DigestConfig(name="daily"), now=now).view.posts] == ["Alpha"]


def test_a_digest_limited_to_tags_only_shows_those_sources(engine, add_source, now) -> None:
    papers = add_source("https://a.example/feed", name="a", tags=["papers"])
    other = add_source("https://b.example/feed", name="b")
    with repo.session(engine) as s, s.begin():
        repo.upsert_items(s, papers, [_item("1", "From A", now)], now)
        repo.upsert_items(s, other, [_item("2", "From B", now)], now)
    view = compose_issue(engine, DigestConfig(name="p", sources=["papers"]), now=now, record=False).view
    assert [p.title for p in view.posts] == ["From A"]
