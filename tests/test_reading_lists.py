"""Reading lists, whole: titles without what the list-keeper appended (affiliations, authors, venues), links resolved
against the page, paper URLs written as plain text, and text listings (title + abstract blocks without links), read
by the parser and, end to end, served over loopback HTTP and fetched into a real SQLite store.

Golden files: tests/fixtures/listings/seed000_jekyll_publications_bookmark.txt.expected.py (clean titles, LISTED
venue/year/authors) and seed003_hf_papers_text.txt.expected.py (the 237 papers of the text listing).
"""

from __future__ import annotations

import functools
import html
import json
import re
import runpy

import pytest

from digest.clean.mentions import TITLE_FROM_LISTING, listing_ref
from digest.parse import parse_document
from digest.parse.reading_list import TitleParts, context_title, leading_tail, linkify, split_title, text_listing
from digest.parse.types import ParseError
from tests.conftest import FIXTURES, store_rows

LISTINGS = FIXTURES / "listings"
JEKYLL = "seed000_jekyll_publications_bookmark.txt"
HF_TEXT = "seed003_hf_papers_text.txt"
STUDY_NOTES = LISTINGS / "not_listings" / "seed002_study_notes.txt"
TEXT = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"
MARKDOWN = "text/markdown; charset=utf-8"


@functools.cache
def load_expected(name: str) -> dict:
    return runpy.run_path(str(LISTINGS / f"{name}.expected.py"))["EXPECTED"]


@functools.cache
def parse_golden(name: str):  # type: ignore[no-untyped-def]
    expected = load_expected(name)
    return parse_document(
        (LISTINGS / name).read_bytes(),
        url=expected["url"],
        content_type=expected["content_type"],
        kind="listing",
        adapter=expected["adapter"],
    )


def parse_page(body: str, url: str, content_type: str = TEXT):  # type: ignore[no-untyped-def]
    return parse_document(body.encode(), url=url, content_type=content_type, kind="listing", adapter="reading-list")


def note_text(fragment: str | None) -> str:
    text = re.sub(r"</?(?:a|strong|em|b|i|code|span|small)\b[^>]*>", "", fragment or "")
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def hrefs(fragment: str | None) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'\b(?:href|src)="([^"]*)"', fragment or "")]


# --- titles: the pure function -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # the bookmark page's shape: title, affiliation(s), venue year
        (
            "Revisiting ResNets: Improved Training and Scaling Strategies, Google and UC Berkelry, NeurIPS 2021",
            TitleParts("Revisiting ResNets: Improved Training and Scaling Strategies", "NeurIPS", 2021),
        ),
        (
            "Emergent Abilities of Large Language Models, Google Research & Stanford",
            TitleParts("Emergent Abilities of Large Language Models"),
        ),
        (
            "PipeDream: Fast and Efficient Pipeline Parallel DNN Training, "
            "Microsoft Research, Carnegia Mellon, Stanford",
            TitleParts("PipeDream: Fast and Efficient Pipeline Parallel DNN Training"),
        ),
        (
            "Dynamic Grained Encoder for Vision Transformers, ..., NeurIPS 2021",
            TitleParts("Dynamic Grained Encoder for Vision Transformers", "NeurIPS", 2021),
        ),
        (
            "Training Compute-Optimal Large Language Models, arXiv",
            TitleParts("Training Compute-Optimal Large Language Models", "arXiv"),
        ),
        (
            "Cyclical Learning Rates for Training Neural Networks, US Naval Research Lab, 2017",
            TitleParts("Cyclical Learning Rates for Training Neural Networks", None, 2017),
        ),
        (
            "Dropout: a simple way to prevent neural networks from "
            "overfitting, Univ. Toronto, Journal of ML Research 2014",
            TitleParts(
                "Dropout: a simple way to prevent neural networks from overfitting", "Journal of ML Research", 2014
            ),
        ),
        (
            "Neural Machine Translation by Jointly Learning to Align and "
            "Translate (and Attention Mechanism), D. Bahdanau, "
            "K. Cho, Y. Bengio",
            TitleParts(
                "Neural Machine Translation by Jointly Learning to Align and Translate",
                None,
                None,
                ("D. Bahdanau", "K. Cho", "Y. Bengio"),
            ),
        ),
        # other people's lists
        ("Attention Is All You Need (NeurIPS 2017)", TitleParts("Attention Is All You Need", "NeurIPS", 2017)),
        ("Attention Is All You Need \u2014 Google, 2017", TitleParts("Attention Is All You Need", None, 2017)),
        ("Attention Is All You Need \u2013 Google Brain, 2017", TitleParts("Attention Is All You Need", None, 2017)),
        (
            "LoRA: Low-Rank Adaptation of Large Language Models [ICLR'22]",
            TitleParts("LoRA: Low-Rank Adaptation of Large Language Models", "ICLR", 2022),
        ),
        (
            "Learning Long-Term Dependencies with Gradient Descent is Difficult [NIPS '94]",
            TitleParts("Learning Long-Term Dependencies with Gradient Descent is Difficult", "NIPS", 1994),
        ),
        (
            "Attention Is All You Need. Vaswani et al. NeurIPS 2017.",
            TitleParts("Attention Is All You Need", "NeurIPS", 2017),
        ),
        (
            "Attention Is All You Need. Ashish Vaswani, Noam Shazeer, Niki Parmar. NeurIPS 2017.",
            TitleParts("Attention Is All You Need", "NeurIPS", 2017, ("Ashish Vaswani", "Noam Shazeer", "Niki Parmar")),
        ),
        (
            "Attention Is All You Need. A. Vaswani, N. Shazeer. In Proceedings of NeurIPS, 2017.",
            TitleParts("Attention Is All You Need", "NeurIPS", 2017, ("A. Vaswani", "N. Shazeer")),
        ),
        (
            "Mastering the game of Go with deep neural networks and tree search. Silver et al. Nature, 2016",
            TitleParts("Mastering the game of Go with deep neural networks and tree search", "Nature", 2016),
        ),
        ("Attention Is All You Need, Vaswani et al., 2017", TitleParts("Attention Is All You Need", None, 2017)),
        ("Attention Is All You Need (Vaswani et al., 2017)", TitleParts("Attention Is All You Need", None, 2017)),
        (
            "Attention Is All You Need, Ashish Vaswani, Noam Shazeer, NeurIPS 2017",
            TitleParts("Attention Is All You Need", "NeurIPS", 2017, ("Ashish Vaswani", "Noam Shazeer")),
        ),
        (
            "Attention Is All You Need, A. Vaswani, N. Shazeer, ..., NeurIPS 2017",  # an elided list is no author list
            TitleParts("Attention Is All You Need", "NeurIPS", 2017),
        ),
        ("Attention Is All You Need | arXiv 2017", TitleParts("Attention Is All You Need", "arXiv", 2017)),
        (
            "Deep Residual Learning for Image Recognition - CVPR2016",
            TitleParts("Deep Residual Learning for Image Recognition", "CVPR", 2016),
        ),
        (
            "Deep Residual Learning for Image Recognition, Microsoft Research Asia, CVPR 2016 (Oral)",
            TitleParts("Deep Residual Learning for Image Recognition", "CVPR", 2016),
        ),
        (
            "Deep Residual Learning for Image Recognition (CVPR 2016 Best Paper)",
            TitleParts("Deep Residual Learning for Image Recognition", "CVPR", 2016),
        ),
        (
            "Attention Is All You Need, arXiv preprint arXiv:1706.03762, 2017",
            TitleParts("Attention Is All You Need", "arXiv", 2017),
        ),
        ("Attention Is All You Need (arXiv:1706.03762)", TitleParts("Attention Is All You Need", "arXiv")),
        (
            "Show, Attend and Tell: Neural Image Caption Generation with Visual Attention, ICML 2015",
            TitleParts("Show, Attend and Tell: Neural Image Caption Generation with Visual Attention", "ICML", 2015),
        ),
        ("Attention Is All You Need [pdf]", TitleParts("Attention Is All You Need")),
    ],
)
def test_what_a_list_keeper_appends_to_a_title_is_cut_off_and_venue_year_authors_kept(
    text: str, want: TitleParts
) -> None:
    assert split_title(text) == want


@pytest.mark.parametrize(
    "title",
    [
        "Reduced, Reused and Recycled: The Life of a Dataset in Machine Learning Research",
        "Show, Attend and Tell: Neural Image Caption Generation with Visual Attention",
        "Sparse, Dense, and Attentional Representations for Text Retrieval",
        "Efficient Deep Learning: A Survey on Making Deep Learning Models Smaller, Faster, and Better",
        "NeuroBench: Advancing Neuromorphic Computing through Collaborative, Fair and Representative Benchmarking",
        "Deep Learning Through A Telescoping Lens: A Simple Model Provides Empirical Insights On Grokking, Gradient "
        "Boosting & Beyond",
        "Lookahead Optimizer: k steps forward, 1 step back",
        "Lets keep it simple, Using simple architectures to outperform deeper and more complex architectures",
        "Attention, Learn to Solve Routing Problems!",
        "Reinforcement Learning, Fast and Slow",
        "What comes after transformers? -- A selective survey connecting ideas in deep learning",
        "Galaxy Spectra neural Networks (GaSNets). I. Searching for strong lens candidates in eBOSS spectra using Deep "
        "Learning",
        "Neural Conversational QA: Learning to Reason v.s. Exploiting Patterns",
        "Language Models (Mostly) Know What They Know",
    ],
)
def test_a_title_with_commas_dashes_or_periods_of_its_own_stays_whole(title: str) -> None:
    assert split_title(title) == TitleParts(title)
    # and with a tail, only the tail goes
    assert split_title(f"{title}, Google and Univ. California, NeurIPS 2021") == TitleParts(title, "NeurIPS", 2021)


@pytest.mark.parametrize(
    ("text", "title"),
    [
        # an acronym alias stays (it can be the authors' own: "Gaussian Error Linear Units (GELUs)")
        ("Language Models are Few-Shot Learners (GPT-3), OpenAI", "Language Models are Few-Shot Learners (GPT-3)"),
        (
            "Generative Adversarial Networks (GANs), Univ Montreal, NeurIPS 2014",
            "Generative Adversarial Networks (GANs)",
        ),
        ("Gaussian Error Linear Units (GELUs)", "Gaussian Error Linear Units (GELUs)"),
        (
            "Exploring the Limits of Transfer Learning with a Unified Text-to-Text Transformer (T5)",
            "Exploring the Limits of Transfer Learning with a Unified Text-to-Text Transformer (T5)",
        ),
        # any other trailing parenthesis is the list-keeper's gloss
        ("Attention is all you need (Transformer), Google, NeurIPS 2017", "Attention is all you need"),
        (
            "Averaging Weights Leads to Wider Optima and Better Generalization (Stochastic Weight Averaging), Cornel & "
            "Samsumg AI",
            "Averaging Weights Leads to Wider Optima and Better Generalization",
        ),
        (
            "Dimensionality Reduction by Learning an Invariant Mapping (contrastive loss), New York Uni, CVPR 2006",
            "Dimensionality Reduction by Learning an Invariant Mapping",
        ),
        (
            "Auto-Encoding Variational Bayes (Variational Autoencoders), Universiteit van Amsterdam, 2013",
            "Auto-Encoding Variational Bayes",
        ),
    ],
)
def test_an_acronym_alias_in_parentheses_stays_and_any_other_gloss_goes(text: str, title: str) -> None:
    assert split_title(text).title == title


@pytest.mark.parametrize(
    "text",
    [
        "paper",
        "here",
        "[pdf]",
        "this paper",
        "arXiv",
        "NeurIPS 2021",
        "link",
        "PDF",
        "https://arxiv.org/abs/1706.03762",
        "Vaswani et al. (2017)",
        "",
    ],
)
def test_a_generic_link_text_is_never_a_title(text: str) -> None:
    assert split_title(text).title is None


def test_the_text_right_after_a_title_link_gives_venue_and_year_but_never_title_words() -> None:
    assert leading_tail(" (ICLR 2022), if time allows.") == TitleParts(None, "ICLR", 2022)
    assert leading_tail(" (Vaswani et al., 2017). Read sections 3.2 and 3.3") == TitleParts(None, None, 2017)
    assert leading_tail(", Google, NeurIPS 2021 \u2014 a great read") == TitleParts(None, "NeurIPS", 2021)
    assert leading_tail(" [ICLR'22] [code]") == TitleParts(None, "ICLR", 2022)
    assert leading_tail(" (Chinchilla): why the number of tokens should grow") == TitleParts(None)
    assert leading_tail(", and") == TitleParts(None)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Attention Is All You Need (Vaswani et al., 2017):", TitleParts("Attention Is All You Need", None, 2017)),
        (
            "1. Deep Residual Learning for Image Recognition \u2014",
            TitleParts("Deep Residual Learning for Image Recognition"),
        ),
        ("I really liked the new paper from Google on scaling:", None),  # prose
        ("We build on", None),
        ("On the Dangers of Stochastic Parrots \u2014", TitleParts("On the Dangers of Stochastic Parrots")),
        ("Read this first:", None),  # a lead-in, not a title
        ("See also", None),
        ("2017", None),
    ],
)
def test_the_text_before_a_link_that_names_nothing_is_its_title_only_when_it_reads_as_one(
    text: str, want: TitleParts | None
) -> None:
    assert context_title(text) == want


# --- the bookmark page (seed 000) ----------------------------------------------------------------------------------


def test_every_title_of_the_bookmark_page_is_the_papers_own_and_its_tail_is_kept_apart() -> None:
    expected = load_expected(JEKYLL)
    items = parse_golden(JEKYLL).items
    assert [(i.guid, i.paper.title) for i in items if i.paper] == [(g, t) for g, _, t in expected["papers"]]
    for item in items:
        assert item.paper is not None
        listed = expected["listed"].get(item.guid, {})
        assert (item.paper.venue, item.paper.year, item.paper.authors) == (
            listed.get("venue"),
            listed.get("year"),
            listed.get("authors", ()),
        ), item.guid
        assert item.paper.title_is_metadata  # a listing's own title: it ranks above any anchor text
        ref = listing_ref(item.paper, item.guid)
        assert ref is not None and (ref.title, ref.title_quality) == (item.paper.title, TITLE_FROM_LISTING)


def test_the_bookmark_pages_notes_keep_their_images_on_the_page_not_on_the_papers_host() -> None:
    items = {i.guid: i for i in parse_golden(JEKYLL).items}
    emergent = hrefs(items["openreview:yzkSU5zdwD"].content_html)
    assert "https://example.github.io/assets/publications/Emergent_Abilities_1.png" in emergent
    assert not [h for h in emergent if h.startswith("/") or "openreview.net/assets" in h]


def test_the_bookmark_page_stores_clean_titles_venues_and_page_relative_images(
    serve_feed, add_source, fetch_all, engine
) -> None:  # type: ignore[no-untyped-def]
    url = serve_feed("/publications/", (LISTINGS / JEKYLL).read_bytes(), content_type=TEXT)
    host = url.removesuffix("/publications/")
    add_source(url, name="bookmarks", kind="listing", adapter="reading-list")
    assert fetch_all().reports[0].outcome == "ok"
    expected = load_expected(JEKYLL)
    rows = {
        r[0]: r[1:]
        for r in store_rows(engine, "SELECT canonical_id, title, title_quality, venue, year, authors FROM papers")
    }
    for guid, _, title in expected["papers"]:
        listed = expected["listed"].get(guid, {})
        stored_title, quality, venue, year, authors = rows[guid]
        authors = json.loads(authors) if isinstance(authors, str) else authors
        assert (stored_title, quality, venue, year) == (
            title,
            TITLE_FROM_LISTING,
            listed.get("venue"),
            listed.get("year"),
        ), guid
        assert tuple(authors or ()) == listed.get("authors", ()), guid
    stored = dict(store_rows(engine, "SELECT guid, content_html FROM items"))
    images = [h for h in hrefs(stored["arxiv:2203.15556"]) if h.endswith(".png")]
    assert images == [
        f"{host}/assets/publications/Training_Compute_Optimal_Large_Language_Models.png",
        f"{host}/assets/publications/Training_Compute_Optimal_Large_Language_Models_2.png",
    ]


# --- links resolved against the page -------------------------------------------------------------------------------

LAB_PAGE = """<!DOCTYPE html><html><head><title>Reading list | Lab</title></head><body>
<h1>Reading list</h1>
<ul>
  <li><a href="/assets/papers/zip-codes.pdf">Backpropagation Applied to Handwritten Zip Code Recognition</a>, 1989.
      Our <a href="../notes/lecun.html">notes</a> and <img src="figs/net.png" alt="the network">.</li>
  <li><a href="../shared/lstm.pdf">Long Short-Term Memory</a> (Neural Computation 1997),
      see <a href="#week2">week 2</a>.</li>
  <li><a href="papers/gpt2.pdf">paper</a> &mdash; the GPT-2 report.</li>
</ul>
</body></html>"""


def test_relative_links_find_papers_against_the_page_and_notes_keep_them_absolute() -> None:
    page = "https://lab.example.edu/group/reading/index.html"
    items = parse_page(LAB_PAGE, page, HTML).items
    assert [(i.guid, i.url) for i in items] == [
        ("url:lab.example.edu/assets/papers/zip-codes.pdf", "https://lab.example.edu/assets/papers/zip-codes.pdf"),
        ("url:lab.example.edu/group/shared/lstm.pdf", "https://lab.example.edu/group/shared/lstm.pdf"),
        ("url:lab.example.edu/group/reading/papers/gpt2.pdf", "https://lab.example.edu/group/reading/papers/gpt2.pdf"),
    ]
    assert hrefs(items[0].content_html) == [
        "https://lab.example.edu/assets/papers/zip-codes.pdf",
        "https://lab.example.edu/group/notes/lecun.html",
        "https://lab.example.edu/group/reading/figs/net.png",
    ]
    assert hrefs(items[1].content_html) == [
        "https://lab.example.edu/group/shared/lstm.pdf",
        "https://lab.example.edu/group/reading/index.html#week2",
    ]
    assert all(i.base_url == page for i in items)
    assert (items[0].paper.title, items[0].paper.year) == (
        "Backpropagation Applied to Handwritten Zip Code Recognition",
        1989,
    )
    assert (items[1].paper.venue, items[1].paper.year) == ("Neural Computation", 1997)
    assert items[2].paper.title is None  # "paper" names nothing, and nothing before it in its item does


def test_a_pages_base_element_is_what_its_relative_links_resolve_against() -> None:
    page = LAB_PAGE.replace("<head>", '<head><base href="https://cdn.example.org/lists/">')
    items = parse_page(page, "https://lab.example.edu/group/reading/index.html", HTML).items
    assert [i.url for i in items] == [
        "https://cdn.example.org/assets/papers/zip-codes.pdf",
        "https://cdn.example.org/shared/lstm.pdf",
        "https://cdn.example.org/lists/papers/gpt2.pdf",
    ]
    assert "https://cdn.example.org/lists/figs/net.png" in hrefs(items[0].content_html)


def test_relative_links_in_markdown_served_as_text_resolve_against_the_page() -> None:
    page = (
        "# Papers\n\n"
        "- [Deep Sets](../pdfs/deep-sets.pdf), NeurIPS 2017. ![fig](/img/sets.png)\n"
        "- [Set Transformer](set-transformer.pdf) and our [summary](summaries/set.html)\n"
    )
    items = parse_page(page, "https://notes.example.org/ml/sets/list.md").items
    assert [(i.url, i.paper.title, i.paper.venue, i.paper.year) for i in items] == [
        ("https://notes.example.org/ml/pdfs/deep-sets.pdf", "Deep Sets", "NeurIPS", 2017),
        ("https://notes.example.org/ml/sets/set-transformer.pdf", "Set Transformer", None, None),
    ]
    assert "https://notes.example.org/img/sets.png" in hrefs(items[0].content_html)
    assert "https://notes.example.org/ml/sets/summaries/set.html" in hrefs(items[1].content_html)


def test_a_note_link_made_of_template_syntax_points_nowhere_rather_than_at_the_paper() -> None:
    items = parse_golden(JEKYLL).items
    for item in items:
        assert all(h.startswith(("http://", "https://", "mailto:")) for h in hrefs(item.content_html)), item.guid


# --- paper URLs written as text ------------------------------------------------------------------------------------


def test_a_paper_url_written_as_text_in_a_list_item_is_a_paper_link_titled_by_the_text_before_it() -> None:
    page = (
        "Papers for the reading group:\n\n"
        "- Attention Is All You Need (NeurIPS 2017): https://arxiv.org/abs/1706.03762.\n"
        "- BERT: Pre-training of Deep Bidirectional Transformers \u2014 <https://arxiv.org/abs/1810.04805>\n"
        "- GPT-3 paper (https://arxiv.org/abs/2005.14165), and its code at https://github.com/openai/gpt-3\n"
        "- https://openreview.net/forum?id=nZeVKeeFYf9\n"
    )
    items = parse_page(page, "https://notes.example.org/group.md", MARKDOWN).items
    assert [(i.guid, i.url) for i in items] == [
        ("arxiv:1706.03762", "https://arxiv.org/abs/1706.03762"),  # the sentence's period is not the URL's
        ("arxiv:1810.04805", "https://arxiv.org/abs/1810.04805"),  # a markdown autolink
        ("arxiv:2005.14165", "https://arxiv.org/abs/2005.14165"),  # the closing parenthesis is not the URL's
        ("openreview:nZeVKeeFYf9", "https://openreview.net/forum?id=nZeVKeeFYf9"),
    ]
    assert [(i.paper.title, i.paper.venue, i.paper.year) for i in items] == [
        ("Attention Is All You Need", "NeurIPS", 2017),
        ("BERT: Pre-training of Deep Bidirectional Transformers", None, None),
        ("GPT-3 paper", None, None),
        (None, None, None),  # a bare URL alone names nothing
    ]
    assert 'href="https://github.com/openai/gpt-3"' in (items[2].content_html or "")  # a link, but no paper


def test_a_link_that_names_nothing_takes_the_title_before_it_and_the_venue_after_it() -> None:
    page = (
        "- **BERT: Pre-training of Deep Bidirectional Transformers** [[paper]](https://arxiv.org/abs/1810.04805) "
        "(NAACL'19)\n"
        "- [pdf](https://arxiv.org/pdf/2005.14165.pdf) for the GPT-3 session\n"
    )
    items = parse_page(page, "https://notes.example.org/awesome.md").items
    assert [(i.guid, i.paper.title, i.paper.venue, i.paper.year) for i in items] == [
        ("arxiv:1810.04805", "BERT: Pre-training of Deep Bidirectional Transformers", "NAACL", 2019),
        ("arxiv:2005.14165", None, None, None),  # nothing before "pdf": no title, "for the GPT-3 session" is none
    ]
    assert items[1].title is None and listing_ref(items[1].paper, items[1].guid).title is None  # type: ignore[union-attr,arg-type]


def test_a_paper_url_in_a_table_cell_is_a_paper_link_titled_by_an_earlier_cell() -> None:
    page = (
        "| Year | Paper | Link |\n|---|---|---|\n"
        "| 2017 | Attention Is All You Need, Google | https://arxiv.org/abs/1706.03762 |\n"
        "| 2015 | Deep Residual Learning for Image Recognition | see https://arxiv.org/abs/1512.03385v1 |\n"
        "| 2019 | Not a paper: code | https://github.com/google-research/bert |\n"
    )
    items = parse_page(page, "https://notes.example.org/table.md").items
    assert [(i.guid, i.url, i.paper.title) for i in items] == [
        ("arxiv:1706.03762", "https://arxiv.org/abs/1706.03762", "Attention Is All You Need"),
        ("arxiv:1512.03385", "https://arxiv.org/abs/1512.03385v1", "Deep Residual Learning for Image Recognition"),
    ]


def test_a_paper_url_in_html_text_is_a_paper_link_but_a_linked_url_is_not_linked_twice() -> None:
    page = (
        "<html><body><p>Today: https://arxiv.org/abs/2106.09685 and "
        '<a href="https://arxiv.org/abs/2203.15556">https://arxiv.org/abs/2203.15556</a>.</p>'
        '<p><img alt="see https://arxiv.org/abs/1409.0473 here" src="x.png"></p></body></html>'
    )
    items = parse_page(page, "https://blog.example.org/today.html", HTML).items
    assert [i.guid for i in items] == ["arxiv:2106.09685", "arxiv:2203.15556"]  # not the alt text's URL
    assert (items[0].content_html or "").count("<a ") == 2
    assert (
        linkify('<p>x <a href="https://a.org/p.pdf">https://a.org/p.pdf</a></p>')
        == '<p>x <a href="https://a.org/p.pdf">https://a.org/p.pdf</a></p>'
    )
    assert (
        linkify("<p>(see https://a.org/p.pdf).</p>")
        == '<p>(see <a href="https://a.org/p.pdf">https://a.org/p.pdf</a>).</p>'
    )
    assert (
        linkify("<pre>https://a.org/x?a=1&amp;b=2&lt;</pre>")
        == '<pre><a href="https://a.org/x?a=1&amp;b=2">https://a.org/x?a=1&amp;b=2</a>&lt;</pre>'
    )


# --- text listings: the pasted Hugging Face page (seed 003) --------------------------------------------------------


def test_the_pasted_papers_page_is_one_item_per_title_and_abstract_block_and_nothing_else() -> None:
    expected = load_expected(HF_TEXT)
    feed = parse_golden(HF_TEXT)
    assert len(feed.items) == 237
    assert [i.guid for i in feed.items] == expected["guids"]
    assert [i.title for i in feed.items] == expected["titles"]
    lines = (LISTINGS / HF_TEXT).read_text(encoding="utf-8").split("\n")
    for item, start in zip(feed.items, expected["abstract_starts"], strict=True):
        paper = item.paper
        assert paper is not None
        assert (item.url, paper.url, paper.title, paper.title_is_metadata) == (None, "", item.title, True)
        # the whole line under its own title is its abstract, and its note
        assert paper.abstract is not None and paper.abstract.startswith(start), item.guid
        assert lines[lines.index(paper.abstract) - 1].endswith(item.title or "")
        assert note_text(item.content_html) == " ".join(paper.abstract.split())
        ref = listing_ref(paper, item.guid)
        assert ref is not None and (ref.paper_id, ref.title, ref.title_quality) == (
            item.guid,
            item.title,
            TITLE_FROM_LISTING,
        )


def test_the_pasted_papers_page_reaches_the_store_as_237_papers_with_their_abstracts_and_title_ids(
    serve_feed, add_source, fetch_all, engine
) -> None:  # type: ignore[no-untyped-def]
    url = serve_feed("/reading/hf-papers.txt", (LISTINGS / HF_TEXT).read_bytes(), content_type=TEXT)
    add_source(url, name="hf-text", kind="listing", adapter="reading-list")
    report = fetch_all().reports[0]
    assert (report.outcome, report.new_items) == ("ok", 237)
    expected = load_expected(HF_TEXT)
    items = store_rows(engine, "SELECT guid, url, title FROM items")
    assert sorted(items) == sorted((g, None, t) for g, t in zip(expected["guids"], expected["titles"], strict=True))
    papers = {
        r[0]: r[1:] for r in store_rows(engine, "SELECT canonical_id, title, title_quality, abstract FROM papers")
    }
    # the 237 listed papers, and the newer DeepLIFT paper one abstract cites by its arXiv URL
    assert set(papers) == set(expected["guids"]) | {"arxiv:1704.02685"}
    for guid, title, start in zip(expected["guids"], expected["titles"], expected["abstract_starts"], strict=True):
        stored_title, quality, abstract = papers[guid]
        assert (stored_title, quality) == (title, TITLE_FROM_LISTING), guid
        assert abstract.startswith(start) and len(abstract) >= 400, guid
    own = dict(
        store_rows(
            engine,
            """SELECT items.guid, papers.canonical_id FROM mentions
                                     JOIN items ON items.id = mentions.item_id
                                     JOIN papers ON papers.id = mentions.paper_id WHERE mentions.position = 0""",
        )
    )
    assert own == {guid: guid for guid in expected["guids"]}
    cited = store_rows(
        engine,
        """SELECT items.guid FROM mentions JOIN items ON items.id = mentions.item_id
                                  JOIN papers ON papers.id = mentions.paper_id
                                  WHERE papers.canonical_id = 'arxiv:1704.02685'""",
    )
    assert cited == [
        ("title:not just a black box learning important features through propagating activation differences",)
    ]

    assert fetch_all().reports[0].new_items == 0  # the same text again: the same items, nothing new


# --- text listings: other shapes, and what is not one --------------------------------------------------------------

ABSTRACT = (
    "We study {topic} in depth. Our experiments on several benchmarks show that the proposed method "
    "improves over strong baselines while using fewer parameters, and we analyse why it works. Code and "
    "models are released for the community to build on and to reproduce every result reported here."
)


def abstract(topic: str) -> str:
    return ABSTRACT.format(topic=topic)


def test_page_furniture_between_the_blocks_is_skipped_and_a_link_line_is_the_papers_link() -> None:
    page = "\n".join(
        [
            "Daily Papers",
            "Get trending papers in your email inbox!",
            "Subscribe",
            "Submitted by",
            "akhaliq",
            "41",
            "Recursive Sparse Experts for Long-Context Reasoning",
            "Ada Lovelace, Alan Turing, Grace Hopper",
            "\u00b7 3 authors",
            "Published on Aug 13, 2026",
            abstract("sparse experts"),
            "GitHub 212",
            "5",
            "Submitted by",
            "akhaliq",
            "12",
            "Closed-Loop LLM Co-Pilots for Digital Agriculture",
            "https://arxiv.org/abs/2608.10231",
            abstract("co-pilots for farms"),
            "1",
            "Tabular Foundation Models Under Distribution Shift: A Benchmark (NeurIPS 2026)",
            "\u00b7 1 author",
            abstract("tabular models"),
            "https://arxiv.org/abs/2608.10299",
            "Quantum Tunnelling in Sparse Language Models",
            "Ada Lovelace",  # a byline, not the title
            "Abstract: " + abstract("tunnelling"),
            "Code: https://github.com/example/qt",  # a link, but no paper's
            "Paper: <https://arxiv.org/abs/2608.10300>",
            "Previous day",
            "TOS",
            "Privacy",
        ]
    )
    items = parse_page(page, "https://notes.example.org/daily.txt").items
    assert [(i.guid, i.url, i.title) for i in items] == [
        (
            "title:recursive sparse experts for long context reasoning",
            None,
            "Recursive Sparse Experts for Long-Context Reasoning",
        ),
        ("arxiv:2608.10231", "https://arxiv.org/abs/2608.10231", "Closed-Loop LLM Co-Pilots for Digital Agriculture"),
        # a link line under the abstract is that paper's too; the title's venue is kept apart
        (
            "arxiv:2608.10299",
            "https://arxiv.org/abs/2608.10299",
            "Tabular Foundation Models Under Distribution Shift: A Benchmark",
        ),
        ("arxiv:2608.10300", "https://arxiv.org/abs/2608.10300", "Quantum Tunnelling in Sparse Language Models"),
    ]
    assert items[2].paper is not None and (items[2].paper.venue, items[2].paper.year) == ("NeurIPS", 2026)
    assert [i.paper.abstract for i in items if i.paper] == [
        abstract("sparse experts"),
        abstract("co-pilots for farms"),
        abstract("tabular models"),
        abstract("tunnelling"),
    ]


def test_a_long_paragraph_under_no_title_is_prose_and_joins_no_paper() -> None:
    page = "\n".join(
        [
            "Paper One About Things",
            abstract("1"),
            "Paper Two About Things",
            abstract("2"),
            "Paper Three About Things",
            abstract("3"),
            "Some thoughts on these papers.",
            abstract("my view"),
            abstract("more of my view"),
            "Paper Four About Things",
            abstract("4"),
        ]
    )
    papers = text_listing(page)
    assert papers is not None and [p.paragraphs for p in papers] == [
        [abstract("1")],
        [abstract("2")],
        [abstract("3")],
        [abstract("4")],
    ]


def test_markdown_headings_as_titles_and_a_two_paragraph_abstract_make_a_text_listing() -> None:
    blocks = [f"## Paper Number {n}: A Study of Things\n\n{abstract(f'topic {n}')}\n" for n in range(1, 6)]
    blocks[2] += f"\n{abstract('the second paragraph')}\n"
    feed = parse_page("# My pasted list\n\n" + "\n".join(blocks), "https://notes.example.org/pasted.md", MARKDOWN)
    assert feed.title == "My pasted list"
    assert [i.title for i in feed.items] == [f"Paper Number {n}: A Study of Things" for n in range(1, 6)]
    third = feed.items[2].paper
    assert third is not None and third.abstract == abstract("topic 3") + "\n\n" + abstract("the second paragraph")


def test_a_title_listed_twice_is_one_item_and_a_glued_button_label_is_cut_off() -> None:
    page = "\n".join(
        [
            "SubscribeOne Model To Learn Them All",
            abstract("one"),
            "Wide Residual Networks",
            abstract("two"),
            "One Model To Learn Them All",
            abstract("one again"),
            "HyperNetworks",
            abstract("three"),
        ]
    )
    items = parse_page(page, "https://notes.example.org/p.txt").items
    assert [i.guid for i in items] == [
        "title:one model to learn them all",
        "title:wide residual networks",
        "title:hypernetworks",
    ]
    assert items[0].paper is not None and items[0].paper.abstract == abstract("one")


def test_study_notes_in_plain_text_are_not_a_text_listing_and_name_no_paper() -> None:
    notes = STUDY_NOTES.read_text(encoding="utf-8")
    assert text_listing(notes) is None
    with pytest.raises(ParseError, match="no paper links found"):
        parse_page(notes, "https://notes.example.org/applied-dl.txt")


def test_prose_with_headings_is_not_a_text_listing() -> None:
    post = "\n\n".join(
        [
            "What I learned this year",
            abstract("my year"),
            abstract("more of my year"),
            "Scaling Is Not Everything",
            abstract("scaling"),
            abstract("data"),
            "Some thoughts on evaluation.",
            abstract("evaluation"),
            "Open Questions",
            abstract("open questions"),
            abstract("what next"),
        ]
    )
    assert text_listing(post) is None  # sections of several paragraphs: a post, not a list of abstracts


def test_fewer_than_three_blocks_or_mostly_other_text_is_not_a_text_listing() -> None:
    assert (
        text_listing(
            "\n".join(
                [
                    "Attention Is All You Need",
                    abstract("a"),
                    "BERT Rediscovers the Classical NLP Pipeline",
                    abstract("b"),
                ]
            )
        )
        is None
    )
    three = [
        "Paper One About Things",
        abstract("1"),
        "Paper Two About Things",
        abstract("2"),
        "Paper Three About Things",
        abstract("3"),
    ]
    assert text_listing("\n".join(three)) is not None
    chatter = [f"line {n} of a long changelog that lists what changed in version {n} of the tool" for n in range(60)]
    assert text_listing("\n".join(three + chatter)) is None


def test_a_page_with_links_is_never_read_as_a_text_listing() -> None:
    titled = [(f"Paper Number {n}: A Study of Things", f"https://arxiv.org/abs/2401.0000{n}") for n in range(1, 5)]
    markdown = "\n\n".join(f"[{t}]({u})\n\n{abstract(t)}" for t, u in titled)
    assert text_listing(markdown) is None
    items = parse_page(markdown, "https://notes.example.org/linked.md").items
    assert [i.guid for i in items] == [f"arxiv:2401.0000{n}" for n in range(1, 5)]
    markup = "".join(f"<h3>{t}</h3><p>{abstract(t)}</p>" for t, _ in titled)
    assert text_listing(markup) is None
    with pytest.raises(ParseError):  # an HTML page without paper links has no papers: no title: ids are made up
        parse_page(f"<html><body>{markup}</body></html>", "https://blog.example.org/", HTML)
