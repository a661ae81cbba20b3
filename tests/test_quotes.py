"""The quote: what a post says about a paper, under "Discussed in" on every card and in `digest papers --json`.

Unit tests of the trimming (compose/quotes.py), then a real store fed a feed over loopback, composed and listed
with the real CLI: the quote shows under the card in every theme's HTML and text part, escaped; papers --json
carries it and the paper's authors, abstract, venue and year. Nothing here leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from digest.clean.mentions import CONTEXT_CHARS, _snippet
from digest.compose.quotes import QUOTE_CHARS, adds_nothing, quote
from tests.conftest import Cli, store_rows

ATTENTION = "Attention Is All You Need"
# A paragraph longer than the store keeps: its context is cut mid-sentence at both ends ("…").
S1 = (
    "Recurrent networks ruled sequence modelling for years, and every lab kept its own bag of tricks to make "
    "them train at all."
)
S2 = (
    "Vaswani et al. (Google Brain) argued in Attention Is All You Need that attention alone suffices, "
    "e.g. Transformers need no recurrence at all."
)
S3 = "The results on translation were striking."
S4 = (
    "Training took a fraction of the compute, and the architecture has since spread to vision, speech, protein "
    "folding and nearly every other field of machine learning that we cover in this newsletter week after week."
)
PARAGRAPH = " ".join([S1, S2, S3, S4])
ATTENTION_QUOTE = f"{S2} {S3}"  # the whole sentences around the link: S1 and S4 are halves in the context
HOSTILE = "Beware: <script>alert(1)</script> is how Sleeper Agents hide their backdoors & tricks in plain sight."


def words(text: str) -> list[str]:
    return text.replace("…", " ").split()


# --- trimming ------------------------------------------------------------------------------------------------


def test_the_premise_the_store_cuts_a_long_paragraph_mid_sentence_at_both_ends() -> None:
    context = _snippet(PARAGRAPH, ATTENTION)
    assert len(PARAGRAPH) > CONTEXT_CHARS and context.startswith("…") and context.endswith("…")
    assert S1 not in context and S4 not in context and ATTENTION_QUOTE in context


def test_a_context_cut_at_both_ends_keeps_the_whole_sentences_around_the_link() -> None:
    context = _snippet(PARAGRAPH, ATTENTION)
    assert quote(context, anchor=ATTENTION, title=ATTENTION) == ATTENTION_QUOTE
    # the title finds the sentence when the anchor was a bare "here"
    here = context.replace(ATTENTION, "this paper")
    assert quote(here, anchor="this paper", title=ATTENTION) == ATTENTION_QUOTE.replace(ATTENTION, "this paper")


def test_a_whole_context_that_fits_is_quoted_as_it_is() -> None:
    text = "We discuss Attention Is All You Need at length, and argue (e.g. in Sec. 2) that it changed everything."
    assert quote(text, anchor=ATTENTION, title=ATTENTION) == text
    assert quote("  We   discuss\n it  at length.  ", anchor="it") == "We discuss it at length."


def test_a_long_context_keeps_the_anchor_sentence_and_the_neighbours_that_fit() -> None:
    a = "The first sentence sets the scene with many words about the state of the field before this work. " * 1
    b = "A second sentence goes on about benchmarks, leaderboards and the other usual suspects of the area."
    c = "Then came a surprise."
    d = "The Sleeper Agents paper shows that backdoors survive safety training."
    e = "It is a sobering read for anyone who believes fine-tuning removes bad behaviour for good."
    text = " ".join([a.strip(), b, c, d, e])
    assert len(text) > QUOTE_CHARS
    got = quote(text, anchor="Sleeper Agents")
    # d, then the sentence after it, then the one before; the next one back (b) would not fit
    assert got == f"{c} {d} {e}"
    assert len(f"{b} {got}") > QUOTE_CHARS >= len(got)


def test_abbreviations_and_initials_do_not_end_a_sentence() -> None:
    context = (
        "…of the earlier work. Models by J. Smith et al. Beat every baseline on GLUE, e.g. BERT and its kin, "
        "as Fig. 3 shows. Dr. Jones disagrees. And then a sentence the store cut off in the middle of"
    )
    context += "…"
    assert quote(context, anchor="GLUE") == (
        "Models by J. Smith et al. Beat every baseline on GLUE, e.g. BERT and its "
        "kin, as Fig. 3 shows. Dr. Jones disagrees."
    )
    assert quote(context, anchor="GLUE", limit=100) == (
        "Models by J. Smith et al. Beat every baseline on GLUE, e.g. BERT and its kin, as Fig. 3 shows."
    )


def test_a_lists_numbers_in_prose_neither_begin_nor_end_a_quote() -> None:
    context = (
        "…the first item. 2. Indexing the snippets an LLM could query. A-Mem builds linked notes with the "
        "Zettelkasten method. 3. Something the store cut…"
    )
    assert quote(context, anchor="A-Mem") == (
        "Indexing the snippets an LLM could query. A-Mem builds linked notes with the Zettelkasten method."
    )


def test_a_sentence_too_long_for_the_limit_is_cut_at_words_around_the_anchor() -> None:
    text = (
        " ".join(f"word{n}" for n in range(60))
        + " the Sleeper Agents result "
        + " ".join(f"later{n}" for n in range(60))
    )
    got = quote(text, anchor="Sleeper Agents")
    assert got is not None and got.startswith("…") and got.endswith("…") and len(got) <= QUOTE_CHARS
    assert "Sleeper Agents" in got
    inner = got.strip("…")
    at = text.find(inner)
    assert at > 0 and text[at - 1] == " " and text[at + len(inner)] == " "  # whole words, never half of one
    short = quote(text, anchor="Sleeper Agents", limit=60)
    assert short is not None and len(short) <= 60 and "Sleeper Agents" in short


def test_with_no_sentence_boundary_a_fragment_keeps_its_cut_marks_and_one_huge_word_gives_none() -> None:
    fragment = "…and so the Sleeper Agents backdoor survives every round of safety training they tried…"
    assert quote(fragment, anchor="Sleeper Agents") == fragment
    # the anchor sits in a half sentence: kept, marked cut; the whole sentence after it follows
    half = "…so the Sleeper Agents backdoor survives training. It is sobering. And then the store cut this…"
    assert quote(half, anchor="Sleeper Agents") == "…so the Sleeper Agents backdoor survives training. It is sobering."
    # the store's cut fell just after a full stop: the last sentence is whole, no "…" after it
    assert quote("…the Sleeper Agents backdoor survives training, sadly.…", anchor="Sleeper Agents") == (
        "…the Sleeper Agents backdoor survives training, sadly."
    )
    assert quote("…the Sleeper Agents backdoor, as in Smith et al.…", anchor="Sleeper Agents") == (
        "…the Sleeper Agents backdoor, as in Smith et al.…"
    )  # "al." is no sentence end: still cut
    assert quote("x" * 400) is None
    assert quote(None) is None and quote("") is None and quote(" … ") is None


def test_a_context_that_only_repeats_the_title_or_anchor_is_no_quote() -> None:
    assert quote(ATTENTION, anchor=ATTENTION, title=ATTENTION) is None
    assert quote("attention is all you need.", anchor=ATTENTION, title=ATTENTION) is None
    assert quote("Attention Is All You Need [pdf] (2017)", anchor=ATTENTION, title=ATTENTION) is None
    assert quote("Attention Is All You Need, Vaswani et al. [paper] [code]", anchor=ATTENTION, title=ATTENTION) is None
    assert quote("Attention Is All You Need is great.", anchor=ATTENTION, title=ATTENTION) == (
        "Attention Is All You Need is great."
    )
    assert quote("the transformer paper", anchor="the transformer paper", title=ATTENTION) is None
    assert quote("Attention Is All You Need is where the Transformer began.", anchor=ATTENTION, title=ATTENTION) == (
        "Attention Is All You Need is where the Transformer began."
    )
    assert adds_nothing("Sleeper Agents", None, "Sleeper Agents")
    assert not adds_nothing("Sleeper Agents, on backdoors that survive training", "Sleeper Agents")


def test_the_anchor_is_found_in_any_case_and_spacing() -> None:
    context = "…of the earlier work. In İstanbul we read the   SLEEPER agents paper twice. It is grim. And the cut…"
    assert quote(context, anchor="Sleeper  Agents") == "In İstanbul we read the SLEEPER agents paper twice. It is grim."
    assert quote(context, anchor="not in it", title="sleeper agents") == (
        "In İstanbul we read the SLEEPER agents paper twice. It is grim."
    )


def test_hostile_text_stays_plain_text_and_invisible_controls_go() -> None:
    assert quote(HOSTILE, anchor="Sleeper Agents") == HOSTILE  # a string: escaping is the template's job
    assert quote("Read \u202eSleeper Agents\u202c now, it is good.\x00", anchor="Sleeper Agents") == (
        "Read Sleeper Agents now, it is good."
    )


@pytest.mark.parametrize("limit", [30, 60, 100, 150, 200, 280])
def test_a_quote_never_exceeds_its_limit_and_only_holds_the_contexts_words(limit: int) -> None:
    for context in (_snippet(PARAGRAPH, ATTENTION), PARAGRAPH, HOSTILE * 4):
        got = quote(context, anchor=ATTENTION, title=ATTENTION, limit=limit)
        if got is not None:
            assert len(got) <= limit
            assert " ".join(words(got)) in " ".join(words(context))


def test_every_theme_escapes_the_quote_and_puts_it_under_discussed_in() -> None:
    from digest.compose.render import available_themes, render
    from digest.compose.view import DigestView, Link, PaperCard, Section

    card = PaperCard(
        paper_id=1,
        canonical_id="arxiv:2401.05566",
        title="Sleeper Agents",
        url=None,
        pdf_url=None,
        code_url=None,
        authors="",
        abstract="",
        why=("discussed in 2 posts",),
        is_update=False,
        upvotes=None,
        discussed_in=(
            Link("A post", "https://blog.example/a", "Blog", HOSTILE),
            Link("A list", "https://blog.example/l", "Blog", None),
        ),
    )
    view = DigestView(
        name="d",
        title="T",
        subject="s",
        preheader="p",
        generated_at=datetime(2026, 11, 23, tzinfo=UTC),
        window_start=None,
        sections=[Section(title="More", anchor="more", papers=[card])],
    )
    escaped = escape(HOSTILE)  # &lt;script&gt;alert(1)&lt;/script&gt; ... &amp; tricks
    for theme in available_themes():
        out = render(view, theme=theme)
        assert "<script" not in out.html and out.html.count(f"“{escaped}”") == 1, theme
        assert out.html.count('class="quote"') == 1, theme  # the list's post has nothing to quote
        assert re.search(r'class="quote" style="[^"]*font-style: ?italic', out.html), theme  # inlined CSS
        text = " ".join(out.text.split())
        assert (
            f"Discussed in: A post (Blog) “{HOSTILE}” <https://blog.example/a> "
            "Discussed in: A list (Blog) <https://blog.example/l>"
        ) in text, theme
    html = render(view, theme="default").html
    assert html.index("Discussed in") < html.index("&lt;script&gt;") < html.index("Also in")


# --- end to end: a feed over loopback, the real CLI ------------------------------------------------------------


def _post(guid: str, title: str, html: str, day: int) -> str:
    date = format_datetime(datetime(2026, 11, day, 10, 0, tzinfo=UTC), usegmt=True)
    return (
        f'<item><title>{escape(title)}</title><guid isPermaLink="false">{guid}</guid>'
        f"<link>https://blog.example/{guid}</link><pubDate>{date}</pubDate>"
        f"<description>{escape(html)}</description></item>"
    )


def _feed() -> bytes:
    arxiv = '<a href="https://arxiv.org/abs/1706.03762">Attention Is All You Need</a>'
    hostile = escape(HOSTILE).replace("Sleeper Agents", '<a href="https://arxiv.org/abs/2401.05566">Sleeper Agents</a>')
    items = [
        _post(
            "why",
            "Why attention won",
            f"<p>A short opening.</p><p>{escape(PARAGRAPH).replace(ATTENTION, arxiv)}</p>",
            day=20,
        ),
        _post("list", "Reading list", f"<p>This week:</p><ul><li>{arxiv}</li></ul>", day=21),
        _post("beware", "Backdoors", f"<p>{hostile}</p>", day=22),
    ]
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Research Notes</title>'
        f"<link>https://blog.example/</link>{''.join(items)}</channel></rss>"
    ).encode()


@pytest.fixture
def quoted_store(engine, db_url: str, add_source, fetch_all, serve_feed, tmp_path: Path) -> Cli:  # type: ignore[no-untyped-def]
    """Three posts fetched over loopback: one discussing Attention at length, a bare reading-list item naming
    it, and one whose words about Sleeper Agents are hostile text. Attention gets its metadata as an API would."""
    add_source(serve_feed("/notes.rss", _feed()), name="notes")
    assert fetch_all().failed == 0
    with engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(
            text(
                "UPDATE papers SET authors = :a, abstract = :ab, venue = 'NeurIPS', year = 2017 "
                "WHERE canonical_id = 'arxiv:1706.03762'"
            ),
            {"a": json.dumps(["Ashish Vaswani", "Noam Shazeer"]), "ab": "The dominant sequence models..."},
        )
    config = tmp_path / "digest.toml"
    config.write_text('[enrich]\nafter_fetch = false\n[[digests]]\nname = "weekly"\nlookback_days = 36500\n')
    return Cli(db_url, config)


def test_the_stored_contexts_are_what_the_quotes_are_made_of(engine, quoted_store: Cli) -> None:  # type: ignore[no-untyped-def]
    contexts = dict(
        store_rows(
            engine,
            "SELECT items.guid || ' ' || papers.canonical_id, mentions.context "
            "FROM mentions JOIN items ON items.id = mentions.item_id "
            "JOIN papers ON papers.id = mentions.paper_id",
        )
    )
    why = contexts["why arxiv:1706.03762"]
    assert why.startswith("…") and why.endswith("…") and ATTENTION_QUOTE in why
    assert contexts["list arxiv:1706.03762"] == ATTENTION
    assert contexts["beware arxiv:2401.05566"] == HOSTILE


def _card(html: str, title: str, marker: str) -> str:
    """The HTML of the card (or compact row) whose title is `title`."""
    cards = [c.split("</td>")[0] for c in html.split(marker)[1:]]
    found = [c for c in cards if f">{title}</a>" in c or f">{title}<" in c]
    assert len(found) == 1, f"{title!r} cards: {len(found)}"
    return found[0]


def test_compose_shows_the_quote_under_each_card_in_every_theme_escaped(quoted_store: Cli, tmp_path: Path) -> None:
    out: dict[str, Path] = {}
    for theme in ("dark", "compact"):  # previews first: the recorded issue claims the items
        out[theme] = tmp_path / theme
        quoted_store("compose", "--preview", "--theme", theme, "--out", str(out[theme]))
    out["default"] = tmp_path / "default"
    quoted_store("compose", "--out", str(out["default"]))
    for theme, where in out.items():
        html = (where / "digest.html").read_text()
        marker = '<td class="row"' if theme == "compact" else '<td class="card paper"'
        attention = _card(html, ATTENTION, marker)
        assert attention.count(f"“{ATTENTION_QUOTE}”") == 1, theme
        assert attention.count('class="quote"') == 1, theme  # the bare list item adds nothing: no quote
        if theme != "compact":
            # newest post first; each post's line, then what it says
            order = ["Discussed in", ">Reading list</a>", "Also in", ">Why attention won</a>", ATTENTION_QUOTE]
            assert [attention.index(s) for s in order] == sorted(attention.index(s) for s in order), theme
        sleeper = _card(html, "Sleeper Agents", marker)
        assert (
            "“Beware: &lt;script&gt;alert(1)&lt;/script&gt; is how Sleeper Agents hide their backdoors &amp; "
            "tricks in plain sight.”" in sleeper
        ), theme
        assert "<script" not in html and "…" not in attention.split("“")[1].split("”")[0]
        assert re.search(r'class="quote" style="[^"]*italic', attention), theme  # css-inline styled it

        text = (where / "digest.txt").read_text()
        assert max(len(line) for line in text.splitlines()) <= 78
        flat = " ".join(text.split())
        assert (
            "Discussed in: Reading list (Research Notes) <https://blog.example/list> "  # nothing to quote
            f"Discussed in: Why attention won (Research Notes) “{ATTENTION_QUOTE}” <https://blog.example/why>"
        ) in flat, theme
        assert f"Discussed in: Backdoors (Research Notes) “{HOSTILE}” <https://blog.example/beware>" in flat, theme


def test_papers_json_carries_the_papers_metadata_and_each_posts_quote(quoted_store: Cli) -> None:
    ranked = {p["id"]: p for p in json.loads(quoted_store("papers", "--json").stdout)}
    attention, sleeper = ranked["arxiv:1706.03762"], ranked["arxiv:2401.05566"]
    assert {"id", "title", "url", "pdf", "sources", "mentions", "latest", "mentioned_in"} <= set(attention)
    assert (attention["authors"], attention["abstract"], attention["venue"], attention["year"]) == (
        ["Ashish Vaswani", "Noam Shazeer"],
        "The dominant sequence models...",
        "NeurIPS",
        2017,
    )
    assert (sleeper["authors"], sleeper["abstract"], sleeper["venue"], sleeper["year"]) == ([], None, None, None)
    assert [(m["title"], m["quote"]) for m in attention["mentioned_in"]] == [
        ("Reading list", None),
        ("Why attention won", ATTENTION_QUOTE),
    ]  # newest first
    assert attention["mentioned_in"][1]["url"] == "https://blog.example/why"
    assert sleeper["mentioned_in"][0]["quote"] == HOSTILE  # JSON is data: the text as written

    listing = " ".join(quoted_store("papers").stdout.split())
    assert f"“{ATTENTION_QUOTE}” (Research Notes)" in listing


def test_compose_reads_contexts_once_and_only_for_the_papers_it_shows(engine, quoted_store: Cli) -> None:  # type: ignore[no-untyped-def]
    """Two papers are candidates, one is shown: one query reads contexts, for that paper's id alone."""
    from sqlalchemy import event

    from digest.config import DigestConfig, SmtpConfig
    from digest.publish import compose_issue

    reads: list[tuple[str, object]] = []

    def spy(conn, cursor, statement: str, parameters: object, context, executemany: bool) -> None:  # type: ignore[no-untyped-def]
        if "context" in statement and "mentions" in statement:
            reads.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", spy)
    try:
        issue = compose_issue(
            engine,
            DigestConfig(name="one", lookback_days=36500, max_papers=1),
            SmtpConfig(sender="d@example.org"),
            now=datetime(2026, 11, 23, tzinfo=UTC),
            record=False,
        )
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    shown = [p.paper_id for p in issue.view.papers]
    assert len(shown) == 1 and issue.view.more_papers == 1
    assert len(reads) == 1 and list(reads[0][1]) == shown  # type: ignore[call-overload]
    assert [link.quote for link in issue.view.papers[0].discussed_in if link.quote]


def test_a_quote_that_announces_words_it_does_not_hold_ends_as_cut_not_on_a_colon() -> None:
    context = "Talking about the performance of reasoning models for logical reasoning tasks, this paper says:"
    assert quote(context, anchor="this paper") == (
        "Talking about the performance of reasoning models for logical reasoning tasks, this paper says…"
    )
    assert quote("As the authors note: scale helps.", anchor="authors") == "As the authors note: scale helps."
