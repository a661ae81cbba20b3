"""Mentions: which links of a post are papers, and the evidence that names them (anchor, heading, context)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.clean.mentions import (
    CONTEXT_CHARS,
    TITLE_FROM_ANCHOR,
    TITLE_FROM_SHORT_ANCHOR,
    find_mentions,
    is_title_like,
    normalize_title,
)
from digest.domain.paper_ids import compile_rules

ARXIV = "https://arxiv.org/abs/1706.03762"


def one(html: str):  # type: ignore[no-untyped-def]
    refs = find_mentions(html)
    assert len(refs) == 1, refs
    return refs[0]


GENERIC = [
    "the paper",
    "The paper.",
    "this",
    "This",
    "this paper",
    "link",
    "Link",
    "here",
    "Here.",
    "source",
    "the source",
    "Source",
    "[pdf]",
    "[PDF]",
    "(pdf)",
    "PDF",
    "paper",
    "the current paper",
    "this work",
    "Another work",
    "arXiv",
    "[link]",
    "read more",
    "code",
    "[1]",
    "2",
    "on",
    "an example from chapter 28",
    "An investigation",
    "A position paper",
    "This",
]
NOT_NAMES = [
    "https://arxiv.org/abs/1706.03762",
    "http://arxiv.org/abs/1706.03762v5",
    "arxiv.org/abs/1706.03762",
    "www.example.com/paper",
    "1706.03762",
    "1706.03762v5",
    "arXiv:1706.03762",
    "arXiv: 1706.03762v2",
    "hep-th/9901001",
    "arXiv:hep-th/9901001v2",
    "math.GT/0309136",
    "doi:10.1038/nature14539",
    "10.1038/nature14539",
]
CITATIONS = [
    "Vaswani et al. (2017)",
    "Vaswani et al., 2017",
    "Vaswani et al. 2017",
    "Lake et. al. 2017",
    "Bahadanu et.al. 2019",
    "Smith and Jones (2019)",
    "Smith & Jones 2019",
    "Smith (2020)",
    "Smith 2020a",
    "Wilson, Izmailov, 2020",
    "(Wilson & Izmailov, 2020)",
    "Wilson, Izmailov and Gordon 2020",
    "Szegedy et al., 2014",
    "Hinton, Vinyals, & Dean 2015",
]
TITLES = [
    "Attention Is All You Need",
    "DeepSeek-R1",
    "Toolformer",
    "e-SNLI: Natural Language Inference with Natural Language Explanations",
    "Is DPO Superior to PPO for LLM Alignment? A Comprehensive Study",
    "GPT-4 Technical Report",
    "SWE-RL",
    "gpt-4o system card",
    "Adam: A Method for Stochastic Optimization",
    "Attention Is All You Need 2017",
]


@pytest.mark.parametrize("text", GENERIC + NOT_NAMES + CITATIONS + ["", "  ", None])
def test_generic_text_urls_ids_and_citations_are_not_titles(text: str | None) -> None:
    assert not is_title_like(text)


@pytest.mark.parametrize("text", TITLES)
def test_real_titles_and_names_are_titles(text: str) -> None:
    assert is_title_like(text)


@pytest.mark.parametrize("anchor", GENERIC + NOT_NAMES + CITATIONS)
def test_a_link_whose_text_names_nothing_gives_no_title(anchor: str) -> None:
    ref = one(f'<p>As shown in <a href="{ARXIV}">{anchor}</a>, attention suffices.</p>')
    assert ref.title is None and ref.title_quality == 0
    assert ref.anchor == (anchor.strip() or None)


@pytest.mark.parametrize("anchor", GENERIC + NOT_NAMES + CITATIONS)
def test_a_heading_never_names_a_paper_whose_link_text_says_nothing(anchor: str) -> None:
    """The heading names a section ("4. Many limitations of LRMs"), not the paper linked under it."""
    ref = one(f'<h2>Attention Is All You Need</h2><p>See <a href="{ARXIV}">{anchor}</a>.</p>')
    assert (ref.title, ref.title_quality) == (None, 0)
    assert ref.heading == "Attention Is All You Need"  # kept as evidence (sections), never as the title


def test_an_anchor_that_is_a_real_title_is_the_title_under_any_heading() -> None:
    ref = one(f'<h2>Reasoning</h2><p>We read <a href="{ARXIV}">Attention Is All You Need</a> again.</p>')
    assert (ref.title, ref.title_quality) == ("Attention Is All You Need", TITLE_FROM_ANCHOR)
    assert ref.heading == "Reasoning" and ref.anchor == "Attention Is All You Need"


def test_a_short_name_as_anchor_is_a_title_of_lower_quality() -> None:
    ref = one(f'<h3>Reinforcement learning for reasoning</h3><p>Like <a href="{ARXIV}">DeepSeek-R1</a>, it ...</p>')
    assert (ref.title, ref.title_quality) == ("DeepSeek-R1", TITLE_FROM_SHORT_ANCHOR)
    assert TITLE_FROM_SHORT_ANCHOR < TITLE_FROM_ANCHOR


def test_a_heading_that_is_itself_the_link_names_the_paper() -> None:
    ref = one(f'<h2><a href="{ARXIV}">Attention Is All You Need</a></h2><p>Notes.</p>')
    assert (ref.title, ref.title_quality) == ("Attention Is All You Need", TITLE_FROM_ANCHOR)


def test_the_nearest_heading_before_the_link_is_kept_as_evidence_only() -> None:
    html = (
        f"<h2>Attention Is All You Need</h2><p>Intro.</p><h3>BERT: Pre-training of Deep Bidirectional "
        f'Transformers</h3><p><a href="https://arxiv.org/abs/1810.04805">this paper</a></p>'
        f'<p><a href="{ARXIV}">link</a></p>'
    )
    bert, attention = find_mentions(html)
    assert bert.heading == attention.heading == "BERT: Pre-training of Deep Bidirectional Transformers"
    assert bert.title is None and attention.title is None
    assert bert.paper_id == "arxiv:1810.04805" and attention.paper_id == "arxiv:1706.03762"


def test_no_heading_no_title_before_any_heading_appears() -> None:
    html = f'<p><a href="{ARXIV}">the paper</a></p><h2>Attention Is All You Need</h2>'
    assert one(html).heading is None and one(html).title is None


def test_the_posts_own_title_is_never_a_papers() -> None:
    refs = find_mentions(
        f'<p>Our new post: <a href="{ARXIV}">Why Attention Works So Well</a></p>',
        post_title="Why attention works so well!",
    )
    assert [(r.title, r.title_quality) for r in refs] == [(None, 0)]


_heading_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=60)
_anchor_text = st.one_of(
    st.sampled_from(GENERIC + NOT_NAMES + CITATIONS + TITLES),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40),
)


@settings(max_examples=300, deadline=None)
@given(
    headings=st.lists(_heading_text, min_size=1, max_size=3),
    anchor=_anchor_text,
    level=st.integers(min_value=1, max_value=6),
)
def test_no_heading_that_does_not_contain_the_link_ever_becomes_a_title(
    headings: list[str], anchor: str, level: int
) -> None:
    import html as html_lib

    body = "".join(f"<h{level}>{html_lib.escape(h)}</h{level}><p>Text.</p>" for h in headings)
    body += f'<p>See <a href="{ARXIV}">{html_lib.escape(anchor)}</a> here.</p>'
    (ref,) = find_mentions(body)
    if ref.title is not None:
        # the only title a link can give is its own text, cleaned; a heading's text only if it is that text
        assert normalize_title(ref.title) in normalize_title(anchor)
        assert ref.title_quality in (TITLE_FROM_ANCHOR, TITLE_FROM_SHORT_ANCHOR)
    else:
        assert ref.title_quality == 0


def test_a_paper_linked_twice_is_one_mention_with_the_best_evidence() -> None:
    html = (
        f'<h2>Transformers</h2><p>First <a href="{ARXIV}">the paper</a>.</p>'
        f'<p>Then <a href="https://arxiv.org/pdf/1706.03762v5">Attention Is All You Need</a> in full.</p>'
        f'<p>And again <a href="https://huggingface.co/papers/1706.03762">DeepSeek-R1</a>.</p>'
    )
    ref = one(html)
    assert ref.paper_id == "arxiv:1706.03762"
    assert (ref.title, ref.title_quality) == ("Attention Is All You Need", TITLE_FROM_ANCHOR)
    # the evidence kept is the whole of the best link's: its URL as written, its anchor, its context
    assert ref.url == "https://arxiv.org/pdf/1706.03762v5"
    assert ref.anchor == "Attention Is All You Need"
    assert ref.context == "Then Attention Is All You Need in full."


def test_a_paper_linked_twice_keeps_the_first_link_when_the_second_is_no_better() -> None:
    html = (
        f'<p>A <a href="{ARXIV}">Attention Is All You Need</a>.</p>'
        f'<p>B <a href="https://arxiv.org/pdf/1706.03762">the paper</a>.</p>'
        f'<p>C <a href="https://arxiv.org/abs/1706.03762v2">Attention is all you need (v2)</a>.</p>'
    )
    ref = one(html)
    assert (ref.url, ref.title) == (ARXIV, "Attention Is All You Need")
    assert ref.context == "A Attention Is All You Need."


def test_mentions_come_in_order_of_first_link_and_skip_what_is_not_a_paper() -> None:
    html = (
        '<p><a href="https://github.com/org/repo">Code</a> <a href="https://openreview.net/forum?id=abcDE">'
        'Paper A</a> <a href="https://x.com/u/status/1">Tweet</a> <a href="https://arxiv.org/abs/2401.05566">'
        'Sleeper Agents</a> <a href="https://openreview.net/pdf?id=abcDE">pdf</a> <a>no href</a> '
        '<a href="#fn1">1</a> <img src="https://arxiv.org/abs/1706.03762"></p>'
    )
    assert [r.paper_id for r in find_mentions(html)] == ["openreview:abcDE", "arxiv:2401.05566"]


def test_no_links_no_mentions() -> None:
    assert find_mentions(None) == []
    assert find_mentions("") == []
    assert find_mentions("<p>Attention Is All You Need, arXiv:1706.03762, https://arxiv.org/abs/1706.03762</p>") == []


def test_user_rules_apply_to_the_links_of_a_post() -> None:
    rules = compile_rules([(r"^https?://neurips\.aipapertrails\.com/paper/(?P<id>[A-Za-z0-9_-]+)", "openreview:{id}")])
    html = '<p><a href="https://neurips.aipapertrails.com/paper/GqYSunGmp7">Reasoning Gym</a></p>'
    (plain,) = find_mentions(html)  # a path that names a paper is one on any host, under a url: id
    assert plain.paper_id == "url:neurips.aipapertrails.com/paper/GqYSunGmp7"
    (ref,) = find_mentions(html, rules)  # the rule knows better
    assert (ref.paper_id, ref.title) == ("openreview:GqYSunGmp7", "Reasoning Gym")


def test_title_from_running_text_is_trimmed_of_what_surrounds_it() -> None:
    html = (
        '<p><a href="https://openreview.net/forum?id=oN9STRYQVa#discussion">Step-Wise RL (SWiRL</a>) and '
        '<a href="https://openreview.net/forum?id=kVOrGZM5N7#discussion">Putting the value back in RL.</a></p>'
    )
    swirl, value = find_mentions(html)
    assert swirl.title == "Step-Wise RL"
    assert value.title == "Putting the value back in RL"


# --- context ---------------------------------------------------------------------------------------------------


def test_the_context_is_the_enclosing_paragraph() -> None:
    html = (
        f'<p>Before.</p><p>The <a href="{ARXIV}">Transformer</a> replaced recurrence with attention.</p><p>After.</p>'
    )
    assert one(html).context == "The Transformer replaced recurrence with attention."


def test_the_context_is_the_enclosing_list_item_not_the_whole_list() -> None:
    html = (
        f'<ul><li>First item.</li><li>Second: <em><a href="{ARXIV}">Attention Is All You Need</a></em> '
        f"by Vaswani.</li><li>Third item.</li></ul>"
    )
    assert one(html).context == "Second: Attention Is All You Need by Vaswani."


def test_a_long_paragraph_gives_a_bounded_context_around_the_link() -> None:
    before = " ".join(f"before{n}" for n in range(150))
    after = " ".join(f"after{n}" for n in range(150))
    ref = one(f'<p>{before} <a href="{ARXIV}">Attention Is All You Need</a> {after}</p>')
    assert ref.context is not None
    assert len(ref.context) <= CONTEXT_CHARS + 2  # plus the two ellipses
    assert "Attention Is All You Need" in ref.context
    assert ref.context.startswith("…") and ref.context.endswith("…")
    # cut at word boundaries: no half words at either end
    words = ref.context.strip("…").split()
    assert all(w.startswith(("before", "after")) or w in ("Attention", "Is", "All", "You", "Need") for w in words)
    assert all(w[len("before") :].isdigit() for w in words if w.startswith("before"))
    assert all(w[len("after") :].isdigit() for w in words if w.startswith("after"))


def test_a_short_paragraph_is_the_whole_context_with_whitespace_folded() -> None:
    ref = one(f'<p>  The\n   <a href="{ARXIV}">Transformer</a>\t paper.  </p>')
    assert ref.context == "The Transformer paper."


def test_normalize_title_folds_case_punctuation_and_whitespace() -> None:
    assert normalize_title("BERT: Pre-training of Deep  Bidirectional Transformers!") == normalize_title(
        "bert pre training of deep bidirectional transformers"
    )
    assert normalize_title("\uff26\uff55\uff4c\uff4c\uff0d\uff57\uff49\uff44\uff54\uff48 Title") == "full width title"
    assert normalize_title("Attention Is All You Need") != normalize_title("Attention Is Not All You Need")


_OLD_URLISH = re.compile(r"^(?:https?://|www\.)|://|^[\w-]+(?:\.[\w-]+)+/\S*$", re.IGNORECASE)
_OLD_CITATION = re.compile(
    r"\bet\.?\s*al\b|^[A-Z][\w'\u2019-]+(?:(?:\s*,\s*(?:(?:and|&)\s+)?|\s+(?:and|&)\s+)[A-Z][\w'\u2019-]+)*,?\s*"
    r"\(?(?:19|20)\d{2}[a-z]?\)?$"
)
ANCHOR_PIECES = [
    "https://",
    "HTTP://",
    "www.",
    "WWW.",
    "://",
    "arxiv.org/abs/2401.05566",
    "et al",
    "et. al",
    "Net",
    "Smith",
    " and ",
    " & ",
    "Jones",
    ", ",
    "2017",
    "(2019)",
    "Attention",
    "paper",
    "the",
    "DeepSeek-R1",
    " ",
    "x.y/z",
    "-",
    ".",
    "here",
    "GPT-4",
    "2401.05566",
    "doi:10.1/x",
]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(ANCHOR_PIECES), st.text(max_size=4)), max_size=6))
def test_title_likeness_is_what_the_single_patterns_made_it(pieces: list[str]) -> None:
    from digest.domain.titles import _EDGE_PUNCT, _IDISH, GENERIC_WORDS, WORD, fold, is_title_like

    text = "".join(pieces)
    t = fold(text).strip(_EDGE_PUNCT)
    words = WORD.findall(t)
    expected = not (
        len(t) < 3
        or _OLD_URLISH.search(t)
        or _IDISH.match(t)
        or _OLD_CITATION.search(t)
        or not words
        or all(w.lower() in GENERIC_WORDS for w in words)
    ) and (
        any(ch.isupper() for ch in t)
        or any(re.search(r"\d", w) and re.search(r"[^\W\d_]", w) for w in re.split(r"[^\w-]+", t))
    )
    assert is_title_like(text) == expected


# --- candidates: links the text calls a paper, on hosts whose ids we cannot read ------------------------------


@pytest.mark.parametrize(
    "anchor",
    [
        "this paper",
        "the paper",
        "The full paper",
        "preprint",
        "[pdf]",
        "PDF",
        "a position paper",
        "our new paper",
        "the tech report",
        "paper",
    ],
)
def test_a_link_the_text_calls_a_paper_is_a_candidate(anchor: str) -> None:
    (ref,) = find_mentions(f'<p>Read <a href="https://lab.example.org/pubs/x?id=7">{anchor}</a> today.</p>')
    assert ref.candidate and ref.paper_id == "url:lab.example.org/pubs/x?id=7"
    assert ref.title is None and ref.context == f"Read {anchor} today."


@pytest.mark.parametrize(
    ("href", "anchor"),
    [
        ("https://lab.example.org/blog/post", "our blog post"),  # says nothing about a paper
        ("https://lab.example.org/blog/post", "Attention Is All You Need"),  # a title to an unknown page: not a paper
        ("https://github.com/org/repo", "the paper"),  # never-paper hosts stay so
        ("https://lab.example.org/fig.png", "paper"),
        ("mailto:x@example.org", "the paper"),
    ],
)
def test_other_unknown_links_are_neither_papers_nor_candidates(href: str, anchor: str) -> None:
    assert find_mentions(f'<p><a href="{href}">{anchor}</a></p>') == []


def test_candidates_follow_the_papers_once_each() -> None:
    html = (
        f'<p><a href="https://lab.example.org/p1">this paper</a> and <a href="{ARXIV}">Attention Is All You '
        f'Need</a>, again <a href="https://lab.example.org/p1">the paper</a>.</p>'
    )
    refs = find_mentions(html)
    assert [(r.paper_id, r.candidate) for r in refs] == [("arxiv:1706.03762", False), ("url:lab.example.org/p1", True)]


def test_equal_title_evidence_is_broken_the_same_way_whatever_the_order() -> None:
    from digest.clean.mentions import better_title

    a, b = ("Attention Is All You Need", 60), ("Attention Is All You Need (Transformer)", 60)
    assert better_title(*b, *a) and not better_title(*a, *b)  # more words: more complete
    c, d = ("Scaling Laws For Language", 60), ("Scaling laws for Language", 60)
    assert better_title(*c, *d) != better_title(*d, *c)  # same words: one fixed winner either way
    assert not better_title("Toolformer", 45, "Attention Is All You Need", 60)
    assert better_title("Toolformer", 45, None, 0)


def test_a_link_that_is_all_its_heading_says_takes_its_context_from_the_paragraph_after() -> None:
    html = (
        f'<h3><a href="{ARXIV}">Attention Is All You Need</a></h3>\n<p>Recurrence goes; attention stays. '
        f"Eight heads suffice.</p><p>Not this one.</p>"
    )
    assert one(html).context == "Recurrence goes; attention stays. Eight heads suffice."
    # a link with words around it keeps its own block; a heading followed by another heading keeps its text
    assert (
        one(f'<p>We read <a href="{ARXIV}">Attention Is All You Need</a> today.</p><p>Later.</p>').context
        == "We read Attention Is All You Need today."
    )
    assert (
        one(f'<h3><a href="{ARXIV}">Attention Is All You Need</a></h3><h3>Next</h3>').context
        == "Attention Is All You Need"
    )


def test_a_real_jekyll_feed_titles_papers_by_their_links_only() -> None:
    """The ICLR blog-post feed: once six arXiv papers took the post's section headings as titles; its
    author-year citation ("Wilson, Izmailov, 2020") and a lowercase link to a book chapter name nothing."""
    from digest.clean.items import clean_items
    from digest.parse.feed import parse_feed
    from tests.conftest import fixture_bytes

    feed = parse_feed(
        fixture_bytes("feeds/iclr-blogposts-2024__feed_jekyll.atom.xml"),
        url="https://iclr-blogposts.github.io/2024/feed.xml",
        content_type="application/atom+xml",
    )
    titles = {m.paper_id: m.title for item in clean_items(feed.items) for m in item.mentions}
    headings = {m.heading for item in clean_items(feed.items) for m in item.mentions}
    assert titles == {
        "url:inference.org.uk/itprnn/book.pdf": None,
        "arxiv:2106.12062": "A Practical & Unified Notation for Information-Theoretic Quantities in ML",
        "arxiv:2110.04629": "The Neural Testbed: Evaluating Joint Predictions",
        "arxiv:2205.08766": "Marginal and Joint Cross-Entropies & Predictives for Online Bayesian Inference, "
        "Active Learning, and Active Sampling",
        "arxiv:2002.08791": None,
    }
    assert not set(titles.values()) & headings


# --- an item whose own link is a paper (issue 14) ----------------------------------------------------------------

MEDIUM = "feeds/rss-parser__medium_content-encoded.rss"
FORAGER = b"https://medium.com/invironment/the-creative-forager-125af37d838f?source=rss----d12c403d4976--food"
EIGHT = (
    b"https://medium.com/invironment/eight-reasons-you-shouldnt-grow-your-own-food-77cbb94ffe0b?source=rss"
    b"----d12c403d4976--food"
)


def linking(item_link: str, body: str = "<p>No links here.</p>"):  # type: ignore[no-untyped-def]
    from digest.clean.items import clean_items
    from digest.parse.types import RawItem

    raw = RawItem(
        guid="g",
        url=item_link,
        title="What I read this week",
        author=None,
        published=None,
        summary_html=None,
        content_html=body,
        base_url=item_link,
    )
    [item] = clean_items([raw])
    return item.mentions


@pytest.mark.parametrize(
    ("link", "paper"),
    [
        ("https://arxiv.org/abs/2401.01234", "arxiv:2401.01234"),
        ("https://arxiv.org/abs/2401.01234v3?utm_source=rss", "arxiv:2401.01234"),
        ("https://openreview.net/forum?id=Hkx1qkrKPr", "openreview:Hkx1qkrKPr"),
        ("https://huggingface.co/papers/2401.01234", "arxiv:2401.01234"),
        ("https://doi.org/10.1038/nature14539", "doi:10.1038/nature14539"),
        ("https://arxiv.org/abs/hep-th/9901001v2", "arxiv:hep-th/9901001"),
    ],
)
def test_an_item_whose_own_link_is_a_paper_is_about_that_paper_even_if_its_body_links_nothing(
    link: str, paper: str
) -> None:
    [ref] = linking(link)
    assert ref.paper_id == paper
    assert ref.title is None  # the post's title is never the paper's: a resolver names it


def test_the_items_own_paper_comes_first_and_keeps_the_evidence_of_the_bodys_link_to_it() -> None:
    body = (
        '<p>Compare <a href="https://arxiv.org/abs/1706.03762">Attention Is All You Need</a> with '
        '<a href="https://arxiv.org/pdf/2401.01234v2">Sparse Routing for Long Contexts</a>.</p>'
    )
    refs = linking("https://arxiv.org/abs/2401.01234", body)
    assert [r.paper_id for r in refs] == ["arxiv:2401.01234", "arxiv:1706.03762"]
    assert refs[0].title == "Sparse Routing for Long Contexts" and refs[0].context


@pytest.mark.parametrize(
    "link",
    [
        "https://blog.example/posts/attention",
        "https://blog.example/papers/attention-is-all-you-need",  # a blog's own post under /papers/: not the paper
        "https://github.com/org/repo",
    ],
)
def test_an_item_whose_own_link_is_no_paper_gets_nothing_from_it(link: str) -> None:
    assert linking(link) == ()


def test_a_real_blog_feed_whose_items_link_papers_stores_them_as_each_items_first_mention(
    engine, add_source, fetch_all, serve_feed
) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import fixture_bytes, store_rows

    feed = (
        fixture_bytes(MEDIUM)
        .replace(FORAGER, b"https://arxiv.org/abs/2401.01234")
        .replace(EIGHT, b"https://openreview.net/forum?id=Hkx1qkrKPr")
    )
    add_source(serve_feed("/medium.rss", feed), name="medium")
    fetch_all()
    first_mentions = dict(
        store_rows(
            engine,
            """SELECT items.url, papers.canonical_id FROM mentions
        JOIN items ON items.id = mentions.item_id JOIN papers ON papers.id = mentions.paper_id
        WHERE mentions.position = 0""",
        )
    )
    assert first_mentions["https://arxiv.org/abs/2401.01234"] == "arxiv:2401.01234"
    assert first_mentions["https://openreview.net/forum?id=Hkx1qkrKPr"] == "openreview:Hkx1qkrKPr"
    # the other posts are about themselves: their first mention is the first paper their body links, as before
    assert (
        first_mentions["https://medium.com/invironment/pull-up-your-plants-lambs-quarter-4d7c4321674"]
        == "doi:10.1007/s13197-014-1553-x"
    )
