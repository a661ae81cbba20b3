"""Composing issues: the window, ranking, sections, filters, updates, rendering and what is recorded."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import text

from digest.clean.items import Item, content_hash
from digest.clean.mentions import TITLE_FROM_ANCHOR, PaperRef
from digest.compose.render import ThemeError, available_themes, render
from digest.compose.rules import DEFAULT_SECTIONS, Section, assign_section, first_match
from digest.config import Config, DigestConfig, SmtpConfig, parse_config
from digest.publish import compose_issue
from digest.store import repository as repo
from tests.conftest import store_rows

ROOT = Path(__file__).resolve().parent.parent
SMTP = SmtpConfig(sender="Digest <digest@example.org>")


def _ref(arxiv: str, title: str) -> PaperRef:
    return PaperRef(
        paper_id=f"arxiv:{arxiv}",
        url=f"https://arxiv.org/abs/{arxiv}",
        anchor=title,
        heading=None,
        context=None,
        title=title,
        title_quality=TITLE_FROM_ANCHOR,
    )


def _item(
    guid: str,
    title: str,
    published: datetime | None,
    *,
    papers: tuple[PaperRef, ...] = (),
    body: str = "<p>x</p>",
    excerpt: str = "x",
    author: str | None = None,
) -> Item:
    return Item(
        guid=guid,
        url=f"https://blog.example/{guid}",
        title=title,
        author=author,
        published=published,
        summary=None,
        content_html=body,
        excerpt=excerpt,
        image_url=None,
        content_hash=content_hash(title, body, *(p.paper_id for p in papers)),
        mentions=papers,
    )


def _store(engine, sid: int, items: list[Item], now: datetime) -> None:  # type: ignore[no-untyped-def]
    with repo.session(engine) as s, s.begin():
        repo.upsert_items(s, sid, items, now)


def _compose(engine, now: datetime, **cfg: object):  # type: ignore[no-untyped-def]
    return compose_issue(engine, DigestConfig(name=str(cfg.pop("name", "daily")), **cfg), SMTP, now=now)  # type: ignore[arg-type]


# --- the window ----------------------------------------------------------------------------------------------


def test_the_first_issue_covers_the_look_back_not_a_feeds_whole_history(engine, add_source, now) -> None:
    sid = add_source("https://blog.example/feed", name="blog")
    _store(
        engine,
        sid,
        [
            _item("new", "This week", now - timedelta(days=2)),
            _item("old", "Years ago", now - timedelta(days=900)),
            _item("edge", "Eight days ago", now - timedelta(days=8)),
        ],
        now,
    )
    issue = _compose(engine, now)
    assert [p.title for p in issue.view.posts] == ["This week"]
    longer = _compose(engine, now, name="monthly", lookback_days=30)
    assert [p.title for p in longer.view.posts] == ["This week", "Eight days ago"]


def test_each_issue_has_what_arrived_since_the_last_and_nothing_twice(engine, add_source, now) -> None:
    sid = add_source("https://blog.example/feed", name="blog")
    _store(engine, sid, [_item("a", "Alpha", now - timedelta(days=1))], now)
    first = _compose(engine, now)
    assert [p.title for p in first.view.posts] == ["Alpha"] and first.status == "sent"  # no recipients: files
    later = now + timedelta(days=1)
    _store(engine, sid, [_item("a", "Alpha", now - timedelta(days=1)), _item("b", "Beta", later)], later)
    second = _compose(engine, later)
    assert [p.title for p in second.view.posts] == ["Beta"]
    third = _compose(engine, later + timedelta(hours=1))
    assert third.empty and third.issue_id is None  # nothing new: no issue recorded
    assert store_rows(engine, "SELECT count(*) FROM digests") == [(2,)]


def test_two_digests_share_a_store_without_taking_each_others_items(engine, add_source, now) -> None:
    sid = add_source("https://blog.example/feed", name="blog")
    _store(engine, sid, [_item("a", "Alpha", now)], now)
    assert [p.title for p in _compose(engine, now, name="daily").view.posts] == ["Alpha"]
    assert [p.title for p in _compose(engine, now, name="weekly").view.posts] == ["Alpha"]


def test_a_window_across_days_with_a_moving_clock(engine, add_source, now) -> None:
    """time-machine moves the real clock: issues composed by `digest compose` see the same windows."""
    import time_machine
    from typer.testing import CliRunner

    from digest.cli import app

    sid = add_source("https://blog.example/feed", name="blog")
    db = str(engine.url).replace("sqlite:///", "")
    runner = CliRunner()
    with time_machine.travel(now, tick=False):
        _store(engine, sid, [_item("mon", "Monday post", now)], now)
        out1 = Path(db).parent / "mon"
        assert runner.invoke(app, ["--db", db, "compose", "--out", str(out1)]).exit_code == 0
    tuesday = now + timedelta(days=1)
    with time_machine.travel(tuesday, tick=False):
        _store(engine, sid, [_item("tue", "Tuesday post", tuesday)], tuesday)
        out2 = Path(db).parent / "tue"
        assert runner.invoke(app, ["--db", db, "compose", "--out", str(out2)]).exit_code == 0
    assert "Monday post" in (out1 / "digest.txt").read_text()
    assert "Tuesday post" in (out2 / "digest.txt").read_text()
    assert "Monday post" not in (out2 / "digest.txt").read_text()


# --- papers: ranking, reasons, updates ---------------------------------------------------------------------


def test_papers_rank_by_sources_then_mentions_and_say_why(engine, add_source, now) -> None:
    a = add_source("https://a.example/feed", name="a")
    b = add_source("https://b.example/feed", name="b")
    wide = _ref("2401.05566", "A paper two sources discuss")
    narrow = _ref("2305.18290", "A paper one source discusses twice")
    _store(
        engine, a, [_item("a1", "A one", now, papers=(wide, narrow)), _item("a2", "A two", now, papers=(narrow,))], now
    )
    _store(engine, b, [_item("b1", "B one", now, papers=(wide,))], now)
    papers = _compose(engine, now).view.papers
    assert [p.title for p in papers] == ["A paper two sources discuss", "A paper one source discusses twice"]
    assert papers[0].why[0] == "discussed in 2 posts across 2 sources"
    assert {link.title for link in papers[0].discussed_in} == {"A one", "B one"}
    assert (
        papers[0].url == "https://arxiv.org/abs/2401.05566" and papers[0].pdf_url == "https://arxiv.org/pdf/2401.05566"
    )


def test_source_weights_change_the_order(engine, add_source, now) -> None:
    a = add_source("https://a.example/feed", name="a")
    b = add_source("https://b.example/feed", name="b")
    _store(engine, a, [_item("a1", "A", now, papers=(_ref("2401.05566", "From A"),))], now)
    _store(engine, b, [_item("b1", "B", now, papers=(_ref("2305.18290", "From B"),))], now)
    order = [p.title for p in _compose(engine, now, name="x", source_weights={"a": 3.0}).view.papers]
    assert order == ["From A", "From B"]
    order = [p.title for p in _compose(engine, now, name="y", source_weights={"b": 3.0}).view.papers]
    assert order == ["From B", "From A"]


def test_a_paper_shown_before_returns_only_as_an_update_with_new_mentions(engine, add_source, now) -> None:
    sid = add_source("https://blog.example/feed", name="blog")
    paper = _ref("2401.05566", "Sleeper Agents")
    _store(engine, sid, [_item("p1", "First post", now, papers=(paper,))], now)
    first = _compose(engine, now)
    assert [p.title for p in first.view.papers] == ["Sleeper Agents"] and not first.view.papers[0].is_update
    later = now + timedelta(days=1)
    _store(engine, sid, [_item("p2", "Unrelated", later)], later)
    assert _compose(engine, later).view.papers == []  # nothing new was said about it
    later2 = later + timedelta(days=1)
    _store(engine, sid, [_item("p3", "Second post", later2, papers=(paper,))], later2)
    update = _compose(engine, later2).view.papers
    assert [(p.title, p.is_update) for p in update] == [("Sleeper Agents", True)]
    assert "update: 1 new mention since it was last here" in update[0].why


def test_max_papers_and_max_posts_limit_and_say_how_many_more(engine, add_source, now) -> None:
    sid = add_source("https://blog.example/feed", name="blog")
    items = [
        _item(f"p{n}", f"Post {n}", now - timedelta(hours=n), papers=(_ref(f"2401.0{n:04d}", f"Paper {n}"),))
        for n in range(1, 6)
    ]
    _store(engine, sid, items, now)
    view = _compose(engine, now, max_papers=2, max_posts=3).view
    assert view.paper_count == 2 and view.post_count == 3
    assert view.more_papers == 3 and view.more_posts == 2
    assert "Not shown: 3 more papers and 2 more posts" in " ".join(render(view).html.split())


# --- what the reader is told ----------------------------------------------------------------------------------


def _listing_item(guid: str, arxiv: str, title: str, published: datetime, upvotes: int | None = None) -> Item:
    """An entry of a listing (Hugging Face daily papers): the item *is* the paper, at listing quality."""
    from digest.clean.mentions import listing_ref
    from digest.parse.types import PaperInfo

    ref = listing_ref(PaperInfo(url=f"https://arxiv.org/abs/{arxiv}", title=title, upvotes=upvotes), None)
    assert ref is not None
    return Item(
        guid=guid,
        url=f"https://huggingface.co/papers/{arxiv}",
        title=title,
        author=None,
        published=published,
        summary=None,
        content_html=f"<p>{title}</p>",
        excerpt=title,
        image_url=None,
        content_hash=content_hash(guid, title),
        mentions=(ref,),
    )


def _words(html: str) -> str:
    """What a reader reads of an HTML part: its text, whitespace folded."""
    import re

    return " ".join(re.sub(r"<[^>]+>", " ", html.split("<body", 1)[-1]).split())


def test_the_reasons_count_the_posts_the_card_lists_and_a_listing_is_listed_not_a_post(engine, add_source, now) -> None:
    blog = add_source("https://blog.example/feed", name="blog")
    other = add_source("https://other.example/feed", name="other")
    hf = add_source("https://huggingface.co/api/daily_papers", name="HF daily", kind="listing", adapter="hf-daily")
    paper = _ref("2401.05566", "Sleeper Agents")
    _store(engine, hf, [_listing_item("arxiv:2401.05566", "2401.05566", "Sleeper Agents", now, upvotes=9)], now)
    _store(engine, blog, [_item("b1", "First take", now - timedelta(hours=2), papers=(paper,))], now)
    _store(engine, other, [_item("o1", "Second take", now - timedelta(hours=1), papers=(paper,))], now)
    [card] = _compose(engine, now).view.papers
    assert [link.title for link in card.discussed_in] == ["Second take", "First take"]
    assert card.why == ("discussed in 2 posts across 2 sources", "9 upvotes on Hugging Face", "listed on HF daily")
    # a second issue: one new post. The card lists one post, and its reasons say one post, not three mentions.
    later = now + timedelta(days=1)
    _store(engine, blog, [_item("b2", "Third take", later, papers=(paper,))], later)
    [update] = _compose(engine, later).view.papers
    assert [link.title for link in update.discussed_in] == ["Third take"]
    assert update.why[0] == "discussed in 1 post"
    assert "update: 1 new mention since it was last here" in update.why


def test_no_theme_shows_operator_text_and_every_count_agrees_with_its_noun(engine, add_source, now) -> None:
    sid = add_source("https://blog.example/feed", name="blog")
    hf = add_source("https://huggingface.co/api/daily_papers", name="HF daily", kind="listing", adapter="hf-daily")
    _store(
        engine,
        hf,
        [
            _listing_item("arxiv:2402.00001", "2402.00001", "A language model for proofs", now, upvotes=1),
            _listing_item("arxiv:2402.00002", "2402.00002", "Another language model", now),
        ],
        now,
    )
    quoted = PaperRef(
        paper_id="arxiv:2401.05566",
        url="https://arxiv.org/abs/2401.05566",
        anchor="Sleeper Agents",
        heading=None,
        context="Sleeper Agents shows that backdoors survive safety training entirely.",
        title="Sleeper Agents",
        title_quality=TITLE_FROM_ANCHOR,
    )
    _store(
        engine,
        sid,
        [
            _item("p1", "A post on language models", now, papers=(quoted,)),
            _item("p2", "A quieter post", now - timedelta(hours=1), papers=(_ref("2401.05566", "Sleeper Agents"),)),
            _item("p3", "Left for later", now - timedelta(hours=2)),
        ],
        now,
    )
    issue = _compose(engine, now, max_papers=2, max_posts=2)
    assert issue.view.subject.startswith("Research digest: 2 papers, 2 posts")
    assert issue.view.more_papers == 1 and issue.view.more_posts == 1
    singular = re.compile(r"\b1 (?:paper|post|source|upvote|more paper|more post|new mention)s\b")
    for theme in available_themes():
        out = render(issue.view, theme=theme)
        for part in (_words(out.html), out.text):
            assert "matched" not in part and "max_papers" not in part and "max_posts" not in part, theme
            assert not singular.search(part), (theme, singular.search(part))
            assert "1 upvote on Hugging Face" in part and "listed on HF daily" in part, theme
            # "discussed in 2 posts" and both posts named, the one without a quote too (compact once left it out)
            assert "discussed in 2 posts" in part, theme
            assert "A post on language models" in part and "A quieter post" in part, theme
        assert "Not shown: 1 more paper and 1 more post." in _words(out.html), theme
        assert "Not shown: 1 more paper and 1 more post." in out.text, theme
    one = _compose(engine, now, name="one", max_papers=1, max_posts=1, sources=["blog"])
    assert one.view.subject == "Research digest: 1 paper, 1 post (23 Nov 2026)"
    compact = _words(render(one.view, theme="compact").html)
    assert "1 paper · 1 post" in compact


# --- thumbnails --------------------------------------------------------------------------------------------------


def _imgs(html: str) -> list[dict[str, str | None]]:
    from html.parser import HTMLParser

    found: list[dict[str, str | None]] = []

    class Images(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "img":
                found.append(dict(attrs))

    Images().feed(html)
    return found


def test_a_paper_card_shows_its_thumbnail_safely_with_alt_text_that_is_not_its_title(engine, add_source, now) -> None:
    blog = add_source("https://blog.example/feed", name="blog")
    hf = add_source("https://huggingface.co/api/daily_papers", name="HF daily", kind="listing", adapter="hf-daily")
    # a store filled before papers kept thumbnails: the listing entry's image is the paper's picture
    listed = replace(
        _listing_item("arxiv:2402.00001", "2402.00001", "A listed paper", now),
        image_url="https://cdn.example/thumbs/2402.00001.png",
    )
    _store(engine, hf, [listed], now)
    post = _item(
        "p",
        "A post with a picture",
        now,
        papers=(_ref("2401.05566", "A figured paper"), _ref("2401.05567", "A hostile paper")),
    )
    _store(engine, blog, [replace(post, image_url="https://blog.example/lead.png")], now)
    with engine.begin() as conn:  # what a landing page's og:image would have given; and a hostile value
        conn.execute(
            text("UPDATE papers SET thumbnail_url = :u WHERE canonical_id = 'arxiv:2401.05566'"),
            {"u": 'https://figures.example/1.png?a=1&b="2"'},
        )
        conn.execute(
            text("UPDATE papers SET thumbnail_url = 'javascript:alert(1)' WHERE canonical_id = 'arxiv:2401.05567'")
        )
    view = _compose(engine, now).view
    cards = {p.title: p for p in view.papers}
    assert cards["A figured paper"].thumbnail_url == 'https://figures.example/1.png?a=1&b="2"'
    assert cards["A listed paper"].thumbnail_url == "https://cdn.example/thumbs/2402.00001.png"
    assert cards["A hostile paper"].thumbnail_url is None  # http(s) only
    for theme in available_themes():
        html = render(view, theme=theme).html
        images = _imgs(html)
        if theme == "compact":  # text first: no images at all
            assert images == []
            continue
        thumbs = [i for i in images if i.get("class") == "thumb"]
        assert sorted(i["src"] for i in thumbs) == sorted(  # type: ignore[type-var]
            ['https://figures.example/1.png?a=1&b="2"', "https://cdn.example/thumbs/2402.00001.png"]
        ), theme
        assert 'src="https://figures.example/1.png?a=1&amp;b=&quot;2&quot;"' in html  # escaped in the attribute
        for img in images:
            assert img["alt"] and img["alt"] not in {p.title for p in view.papers} | {p.title for p in view.posts}
            assert img["src"].startswith("https://")  # type: ignore[union-attr]
            assert "max-width" in (img.get("style") or "") and img.get("width"), theme
            assert (img.get("width"), img.get("height")) not in (("1", "1"), ("0", "0"))  # no pixel of ours
        for thumb in thumbs:
            assert (thumb["alt"], thumb["width"], thumb["height"]) == ("Paper thumbnail", "160", "84")
        [lead] = [i for i in images if i.get("class") == "lead"]
        assert lead["alt"] == "Image from the post"


# --- sections and filters -------------------------------------------------------------------------------


def test_keywords_match_whole_words_any_case_plurals_and_regexes() -> None:
    assert first_match(["language model"], ["Large Language Models"]) == "language model"
    assert first_match(["LLM"], ["LLMOps platforms"]) is None
    assert first_match(["/GPT-?4/"], ["gpt4 evaluation"]) == "GPT-?4"
    assert assign_section(DEFAULT_SECTIONS, title="Speculative decoding for faster inference")[0] == "Efficiency"
    assert assign_section(DEFAULT_SECTIONS, title="A recipe for sourdough") == ("More", None)


def _sections(*pairs: tuple[str, tuple[str, ...]]) -> tuple[Section, ...]:
    return tuple(Section(name, keywords) for name, keywords in pairs)


# Sections as a reader configured them: the topic that comes first must not take what another is more about.
READER_SECTIONS = _sections(
    ("Agents", ("agent", "GUI", "tool use")),
    ("Efficiency", ("efficient", "quantization")),
    ("Software engineering", ("software testing", "test generation")),
    ("Embedded", ("microcontroller", "embedded systems")),
)


def test_a_paper_goes_to_the_section_it_is_most_about_not_the_first_with_a_hit() -> None:
    # "GUI" once in the title against a phrase in the abstract: a software-testing paper is not about agents
    assert assign_section(
        READER_SECTIONS,
        title="Automated GUI Testing for Mobile Apps",
        body=["We study software testing of Android apps at scale."],
    ) == ("Software engineering", "software testing")
    # "efficient" in the abstract against what the title says the paper is about
    assert assign_section(
        READER_SECTIONS,
        title="Keyword Spotting on Microcontrollers",
        body=["An efficient network that fits in 64 KB of RAM."],
    ) == ("Embedded", "microcontroller")
    # a heading the paper was mentioned under weighs less than its own title and abstract
    assert (
        assign_section(
            READER_SECTIONS,
            title="Post-training quantization of small models",
            context=["Agents and tool use this week"],
        )[0]
        == "Efficiency"
    )
    assert assign_section(READER_SECTIONS, title="Notes", context=["Agents and tool use this week"])[0] == "Agents"


def test_a_phrase_weighs_more_than_a_word_ties_go_to_config_order_and_matching_is_whole_words() -> None:
    sections = _sections(("Models", ("model",)), ("Language models", ("language model",)), ("Other", ("model",)))
    assert assign_section(sections, title="A small language model")[0] == "Language models"
    assert assign_section(sections, title="A model of rain")[0] == "Models"  # "Models" and "Other" tie: the first
    assert assign_section(READER_SECTIONS, title="Guidelines for reviewers", body=["GUIs aside, an agentic guide"]) == (
        "Agents",
        "GUI",
    )
    assert assign_section(READER_SECTIONS, title="Guidelines for reviewers", body=["A guide"]) == ("More", None)
    assert assign_section(READER_SECTIONS, title=None) == ("More", None)


def test_a_paper_mentioned_under_a_heading_lands_in_the_section_of_its_own_title(engine, add_source, now) -> None:
    sid = add_source("https://news.example/feed", name="news")
    under_agents = PaperRef(
        paper_id="arxiv:2401.05566",
        url="https://arxiv.org/abs/2401.05566",
        anchor="Sparse attention kernels for efficient long-context inference",
        heading="Agents and tool use",
        context=None,
        title="Sparse attention kernels for efficient long-context inference",
        title_quality=TITLE_FROM_ANCHOR,
    )
    _store(engine, sid, [_item("w", "This week", now, papers=(under_agents,))], now)
    cfg = DigestConfig(
        name="s",
        sections=[{"name": n, "keywords": list(k)} for n, k in ((s.name, s.keywords) for s in READER_SECTIONS)],
    )  # type: ignore[misc]
    view = compose_issue(engine, cfg, SMTP, now=now).view
    assert [(s.title, [p.title for p in s.papers]) for s in view.sections if s.papers] == [
        ("Efficiency", ["Sparse attention kernels for efficient long-context inference"])
    ]


def test_sections_follow_config_order_and_unmatched_goes_last(engine, add_source, now) -> None:
    sid = add_source("https://blog.example/feed", name="blog")
    _store(
        engine,
        sid,
        [
            _item("v", "Vision transformers at scale", now),
            _item("r", "Reasoning in LLMs", now),
            _item("o", "Gardening notes", now),
        ],
        now,
    )
    cfg = parse_config(
        '[[digests]]\nname = "t"\n[[digests.sections]]\nname = "Reasoning"\nkeywords = ["reasoning"]\n'
        '[[digests.sections]]\nname = "Vision"\nkeywords = ["vision"]\n',
        origin="t",
    ).digests[0]
    view = compose_issue(engine, cfg, SMTP, now=now).view
    assert [(s.title, [p.title for p in s.posts]) for s in view.sections] == [
        ("Reasoning", ["Reasoning in LLMs"]),
        ("Vision", ["Vision transformers at scale"]),
        ("More", ["Gardening notes"]),
    ]


def test_include_and_exclude_rules_apply_before_ranking(engine, add_source, now) -> None:
    sid = add_source("https://blog.example/feed", name="blog")
    other = add_source("https://spam.example/feed", name="spam", tags=["noise"])
    _store(
        engine,
        sid,
        [
            _item("r", "Reasoning at test time", now, papers=(_ref("2401.05566", "On reasoning"),)),
            _item("c", "Crypto prices", now, papers=(_ref("2305.18290", "Token economics"),)),
            _item("a", "By someone", now, author="Ann Author"),
        ],
        now,
    )
    _store(engine, other, [_item("s", "Reasoning spam", now)], now)
    cfg = parse_config(
        '[[digests]]\nname = "f"\ninclude = { keywords = ["reasoning"] }\n'
        'exclude = { keywords = ["crypto"], sources = ["noise"] }\n',
        origin="t",
    ).digests[0]
    composed = compose_issue(engine, cfg, SMTP, now=now)
    view = composed.view
    assert [p.title for p in view.posts] == ["Reasoning at test time"]
    assert [p.title for p in view.papers] == ["On reasoning"]
    # the rule that kept it is the operator's to know, kept on the selection; the reader is not told "matched:"
    assert composed.selection.papers[0].matched == "reasoning"
    assert not [w for w in view.papers[0].why if "matched" in w]
    cfg2 = parse_config('[[digests]]\nname = "g"\nexclude = { authors = ["Ann Author"] }\n', origin="t").digests[0]
    assert "By someone" not in [p.title for p in compose_issue(engine, cfg2, SMTP, now=now).view.posts]


def test_the_shipped_example_config_carries_the_default_sections() -> None:
    cfg = parse_config((ROOT / "config.example.toml").read_text(), origin="config.example.toml")
    shipped = [(s.name, tuple(s.keywords)) for s in cfg.digests[0].sections or []]
    assert shipped == [(s.name, s.keywords) for s in DEFAULT_SECTIONS]


def test_a_digest_limited_to_tags_only_shows_those_sources(engine, add_source, now) -> None:
    papers = add_source("https://a.example/feed", name="a", tags=["papers"])
    other = add_source("https://b.example/feed", name="b")
    _store(engine, papers, [_item("1", "From A", now)], now)
    _store(engine, other, [_item("2", "From B", now)], now)
    view = _compose(engine, now, name="p", sources=["papers"]).view
    assert [p.title for p in view.posts] == ["From A"]


# --- rendering and recording ---------------------------------------------------------------------------------


def test_every_theme_renders_escaped_mail_ready_html_and_a_wrapped_text_part(engine, add_source, now) -> None:
    sid = add_source("https://blog.example/feed", name="blog")
    hostile = _item(
        "h",
        "<script>alert(1)</script> & more",
        now,
        excerpt="<img src=x onerror=alert(1)> " + "w " * 80,
        papers=(_ref("2401.05566", "A <b>bold</b> claim"),),
    )
    _store(engine, sid, [hostile], now)
    issue = _compose(engine, now)
    assert set(available_themes()) >= {"default", "dark", "compact"}
    for theme in available_themes():
        out = render(issue.view, theme=theme)
        assert "<script" not in out.html and "<img src=x" not in out.html and "<b>bold" not in out.html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in out.html
        # CSS is inlined; only @media rules may remain in a <style> block.
        for block in out.html.split("<style>")[1:]:
            assert block.split("</style>")[0].strip().startswith("@media") or not block.split("</style>")[0].strip()
        assert 'width="600"' in out.html and 'class="preheader"' in out.html
        assert max(len(line) for line in out.text.splitlines()) <= 78, theme
        assert "<https://blog.example/h>" in out.text and "<script>alert(1)</script> & more" in out.text


def test_unknown_theme_names_the_available_ones(engine, now) -> None:
    with pytest.raises(ThemeError, match="available: compact, dark, default"):
        compose_issue(engine, DigestConfig(name="d"), SMTP, now=now, theme="nope")


def test_a_user_theme_dir_is_used(engine, add_source, now, tmp_path: Path) -> None:
    theme = tmp_path / "mine"
    theme.mkdir()
    (theme / "digest.html.j2").write_text("<p>{{ d.title }}: {{ d.post_count }}</p>")
    (theme / "digest.txt.j2").write_text("{{ d.title }} / {{ d.post_count }}")
    sid = add_source("https://blog.example/feed", name="blog")
    _store(engine, sid, [_item("a", "A", now)], now)
    out = compose_issue(
        engine, DigestConfig(name="d", title="Mine", theme="mine", theme_dir=str(tmp_path)), SMTP, now=now
    ).rendered
    assert "Mine: 1" in out.html and out.text == "Mine / 1\n"


def test_the_message_is_multipart_alternative_with_list_headers(engine, add_source, now) -> None:
    sid = add_source("https://blog.example/feed", name="blog")
    _store(engine, sid, [_item("a", "Über-post", now)], now)
    cfg = DigestConfig(
        name="team",
        title="Team digest",
        recipients=["Ann <ann@example.org>", "bob@example.org"],
        unsubscribe="https://example.org/unsub",
        list_id="team.example.org",
    )
    issue = compose_issue(engine, cfg, SMTP, now=now)
    msg = message_from_bytes(issue.message, policy=default_policy)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Subject"] == "Team digest: 0 papers, 1 post (23 Nov 2026)"
    assert msg["Message-ID"] == issue.message_id and msg["Message-ID"].endswith("@example.org>")
    # the recipients are the SMTP envelope's (deliver/smtp.py), never the message's: the To: is the sender's
    assert msg["To"] == "Digest <digest@example.org>" and msg["From"] == "Digest <digest@example.org>"
    assert "ann@example.org" not in issue.message.decode() and "bob@example.org" not in issue.message.decode()
    listed = compose_issue(
        engine,
        cfg.model_copy(update={"name": "listed", "list_address": "team@example.org"}),
        SMTP,
        now=now,
        record=False,
    )
    assert message_from_bytes(listed.message, policy=default_policy)["To"] == "team@example.org"
    assert msg["List-Id"] == "team <team.example.org>"
    assert msg["List-Unsubscribe"] == "<https://example.org/unsub>"
    assert msg["Date"] is not None
    assert "Über-post" in msg.get_body(("plain",)).get_content()
    assert issue.status == "pending"  # recipients: waiting for `send`
    assert store_rows(engine, "SELECT status, message_id FROM digests") == [("pending", issue.message_id)]


def test_a_failed_file_write_leaves_the_items_for_the_next_issue(engine, add_source, now) -> None:
    sid = add_source("https://blog.example/feed", name="blog")
    _store(engine, sid, [_item("a", "Alpha", now)], now)

    def broken(_composed: object) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        compose_issue(engine, DigestConfig(name="daily"), SMTP, now=now, deliver=broken)
    assert store_rows(engine, "SELECT count(*) FROM digests") == [(0,)]
    assert [p.title for p in _compose(engine, now).view.posts] == ["Alpha"]


def test_default_config_still_composes_without_a_file() -> None:
    assert Config().digests[0].name == "digest"


# --- what a compose loads -----------------------------------------------------------------------------------


def test_items_loaded_without_text_give_the_same_issue_as_items_loaded_whole(
    engine, add_source, now, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Only the shown items' text is read; the issue must be the one every item's text would have made."""
    from digest.compose import select

    blog = add_source("https://blog.example/feed", name="blog")
    other = add_source("https://other.example/feed", name="other")
    _store(
        engine,
        blog,
        [
            _item(
                f"b{n}",
                f"Reasoning post {n}",
                now - timedelta(hours=n),
                excerpt=f"about {n}",
                papers=(_ref(f"2401.0{n % 4:04d}", f"Paper on vision {n % 4}"),),
            )
            for n in range(12)
        ],
        now,
    )
    _store(
        engine,
        other,
        [
            _item(
                f"o{n}",
                f"Other post {n}",
                now - timedelta(hours=n, minutes=30),
                excerpt=f"other {n}",
                author="Ann Author",
                papers=(_ref(f"2401.0{n % 3:04d}", f"Paper on vision {n % 3}"),),
            )
            for n in range(5)
        ],
        now,
    )

    def both(**cfg: object) -> None:
        light = compose_issue(engine, DigestConfig(name="d", **cfg), SMTP, now=now, record=False)  # type: ignore[arg-type]
        monkeypatch.setattr(select.Filters, "reads_item_text", property(lambda self: True))
        whole = compose_issue(engine, DigestConfig(name="d", **cfg), SMTP, now=now, record=False)  # type: ignore[arg-type]
        monkeypatch.undo()
        assert light.selection == whole.selection
        assert light.rendered.html == whole.rendered.html
        assert all(p.item.title and p.item.excerpt and p.item.url for p in light.selection.posts)
        assert all(i.title for c in light.selection.papers for i in c.items)

    both()
    both(max_posts=4, max_papers=2)
    both(source_weights={"other": 3.0})


def test_a_compose_leaves_the_connections_page_cache_as_it_found_it(engine, add_source, now) -> None:
    from digest.store import digests

    sid = add_source("https://blog.example/feed", name="blog")
    _store(engine, sid, [_item("a", "A post", now)], now)
    with repo.session(engine) as s:
        conn = s.connection()
        before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
        with digests.read_once(s):
            during = conn.exec_driver_sql("PRAGMA cache_size").scalar()
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == before
    assert during == -8192 and before != during
    assert _compose(engine, now).view.post_count == 1


def test_ranking_the_best_few_gives_the_head_of_the_full_ranking(now) -> None:  # type: ignore[no-untyped-def]
    """Without a text filter only the best max_papers are ranked (a heap); they must be the full ranking's head,
    ties included (equal scores fall back to the title, then the id), and the count must be the full one's."""
    import random

    from digest.compose.select import rank_papers
    from digest.store.digests import CandidateItem, PaperStats

    rng = random.Random(7)
    items = {
        n: CandidateItem(
            n,
            n % 5,
            f"s{n % 5}",
            f"s{n % 5}",
            "feed",
            None,
            (),
            None,
            None,
            None,
            None,
            now - timedelta(hours=rng.choice([1, 5, 30])),
            None,
            None,
            None,
        )
        for n in range(1, 60)
    }
    papers = [
        PaperStats(
            id=pid,
            title=rng.choice(["Same", "Alpha", "Zeta", None, f"T{pid}"]),
            upvotes=rng.choice([None, 0, 5]),
            item_ids=tuple(rng.sample(range(1, 80), rng.randint(0, 3))),
            mentions=rng.randint(1, 4),
            sources=rng.randint(1, 3),
            sent_mentions=rng.choice([None, None, 1, 9]),
        )
        for pid in range(1, 400)
    ]
    full, count = rank_papers(papers, items, now=now, lookback_days=7, weights={"s1": 2.0})
    assert count == len(full) > 100
    assert len({score for score, _, _ in full}) < len(full)  # the data has ties to break
    for top in (1, 5, 30, 1000):
        head, n = rank_papers(papers, items, now=now, lookback_days=7, weights={"s1": 2.0}, top=top)
        assert n == count
        assert [(s, p.id, its) for s, p, its in head] == [(s, p.id, its) for s, p, its in full[:top]]


# --- an undated post shows no date (issue 14) ----------------------------------------------------------------------


def test_a_post_without_a_date_shows_no_date_not_the_day_it_was_first_seen(engine, add_source, now) -> None:
    sid = add_source("https://blog.example/feed", name="blog")
    _store(
        engine,
        sid,
        [_item("dated", "Dated post", now - timedelta(days=3)), _item("undated", "Undated post", None)],
        now,
    )
    issue = _compose(engine, now + timedelta(hours=1))
    labels = {p.title: p.date_label for p in issue.view.posts}
    assert labels["Dated post"] == (now - timedelta(days=3)).strftime("%d %b %Y").lstrip("0")
    assert labels["Undated post"] == ""  # not the day the fetch first saw it, as if it were published then


def test_the_text_edition_keeps_a_section_title_as_written() -> None:
    from digest.compose.render import render
    from digest.compose.view import DigestView, Section

    view = DigestView(
        name="d",
        title="Digest",
        subject="s",
        preheader="p",
        generated_at=datetime(2026, 12, 2),
        window_start=None,
        sections=[Section(title="LLMs & reasoning", anchor="llms"), Section(title="More", anchor="more")],
    )
    text = render(view, theme="default").text
    assert "\nLLMs & reasoning\n----------------\n" in text and "LLMS" not in text
