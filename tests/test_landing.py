"""Landing pages: the pure parser over real and written pages, and the polite reader over HTTP on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import gzip
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from digest.domain.papers import PaperMeta
from digest.enrich.landing import (
    DEFAULT_USER_AGENT,
    MAX_ABSTRACT,
    MAX_TITLE,
    LandingReader,
    LandingResult,
    clean_text,
    decode_html,
    parse_date,
    parse_landing,
)
from tests.conftest import serve_tls

LANDING = Path(__file__).parent / "fixtures" / "landing"
HTML = "text/html; charset=utf-8"
PAGE_URL = "https://papers.example.org/p/1"


def page(name: str) -> str:
    return (LANDING / name).read_text("utf-8")


def page_bytes(name: str) -> bytes:
    return (LANDING / name).read_bytes()


def parsed(name: str, url: str = PAGE_URL) -> PaperMeta:
    meta = parse_landing(page(name), url)
    assert meta is not None, name
    return meta


def minimal(*tags: str, body: str = "") -> str:
    return f"<!doctype html><html><head>{''.join(tags)}</head><body>{body}</body></html>"


# A page small enough to serve anywhere a paper is needed.
PAPER = minimal(
    '<meta name="citation_title" content="A Small Paper">',
    '<meta name="citation_author" content="Doe, Jane">',
    '<meta name="citation_arxiv_id" content="2401.05566">',
).encode()


# --- the parser: real pages ---------------------------------------------------------------------------------


def test_a_pages_og_image_is_the_papers_thumbnail_unless_it_is_the_sites_logo_or_a_pixel() -> None:
    assert parsed("aclanthology_paper.html").thumbnail == "https://aclanthology.org/thumb/2024.acl-long.512.jpg"
    assert parsed("metascraper__nature_s41586-021-03819-2.head.html").thumbnail == (
        "https://media.springernature.com/m685/springer-static/image/art%3A10.1038%2Fs41586-021-03819-2/"
        "MediaObjects/41586_2021_3819_Fig1_HTML.png"
    )
    # arXiv's og:image is its logo (a relative URL, og:image:alt "arXiv logo"); bioRxiv's too
    assert parsed("metascraper__arxiv_abs_1706.03762.html", "https://arxiv.org/abs/1706.03762").thumbnail is None
    assert parsed("metascraper__biorxiv_2020.03.22.002386v3.head.html").thumbnail is None
    title = '<meta name="citation_title" content="T">'

    def thumbnail(*tags: str) -> str | None:
        return parsed_html(minimal(title, *tags)).thumbnail

    assert (
        thumbnail('<meta property="og:image" content="/figures/1.png">') == "https://papers.example.org/figures/1.png"
    )
    assert thumbnail('<meta property="og:image" content="javascript:alert(1)">') is None
    assert thumbnail('<meta property="og:image" content="data:image/png;base64,AAAA">') is None
    assert (
        thumbnail(
            '<meta property="og:image" content="https://t.example/p.gif">',
            '<meta property="og:image:width" content="1">',
            '<meta property="og:image:height" content="1">',
        )
        is None
    )  # a tracking pixel
    assert thumbnail('<meta property="og:image" content="https://x.example/' + "a" * 2000 + '.png">') is None
    assert thumbnail() is None


def parsed_html(body: str) -> PaperMeta:
    meta = parse_landing(body, PAGE_URL)
    assert meta is not None
    return meta


def test_an_arxiv_abstract_page_is_its_arxiv_paper() -> None:
    meta = parsed("metascraper__arxiv_abs_1706.03762.html", "https://arxiv.org/abs/1706.03762")

    assert meta.canonical_id == "arxiv:1706.03762"
    assert meta.same_as == ()
    assert meta.title == "Attention Is All You Need"
    assert meta.authors == (
        "Ashish Vaswani",
        "Noam Shazeer",
        "Niki Parmar",
        "Jakob Uszkoreit",
        "Llion Jones",
        "Aidan N. Gomez",
        "Lukasz Kaiser",
        "Illia Polosukhin",
    )
    # citation_date is the first version (2017/06/12); citation_online_date the latest (2023/08/02)
    assert (meta.year, meta.published) == (2017, datetime(2017, 6, 12, tzinfo=UTC))
    assert meta.pdf_url == "https://arxiv.org/pdf/1706.03762"
    assert meta.abstract is not None
    assert meta.abstract.startswith("The dominant sequence transduction models are based on complex recurrent")
    assert meta.abstract.endswith("with large and limited training data.")
    assert meta.venue is None
    assert meta.resolver == "landing"


def test_a_plos_article_is_its_doi_and_the_reference_list_is_not_read_as_the_paper() -> None:
    meta = parsed("metascraper__plos_pone.0000001.head.html")

    assert meta.canonical_id == "doi:10.1371/journal.pone.0000001"  # citation_doi and dc.identifier agree
    assert meta.same_as == ()
    # 70 citation_reference tags each hold "citation_title=...": none of them is this page's title
    assert meta.title == "Neural Substrate of Cold-Seeking Behavior in Endotoxin Shock"
    assert meta.authors == ("Maria C Almeida", "Alexandre A Steiner", "Luiz G S Branco", "Andrej A Romanovsky")
    assert meta.venue == "PLOS ONE"
    assert (meta.year, meta.published) == (2006, datetime(2006, 12, 20, tzinfo=UTC))  # "Dec 20, 2006"
    assert meta.abstract is not None
    assert "(10 µg/kg)" in meta.abstract and "(“warmth receptor”)" in meta.abstract  # &micro; &ldquo; decoded
    assert meta.pdf_url == (
        "https://journals.plos.org/plosone/article/file?id=10.1371/journal.pone.0000001&type=printable"
    )


def test_a_nature_article_reads_entities_and_the_dublin_core_description() -> None:
    meta = parsed("metascraper__nature_s41586-021-03819-2.head.html")

    assert meta.canonical_id == "doi:10.1038/s41586-021-03819-2"  # dc.identifier "doi:10.1038/..." is the same
    assert meta.same_as == ()
    assert meta.title == "Highly accurate protein structure prediction with AlphaFold"
    assert len(meta.authors) == 34
    assert meta.authors[:2] == ("John Jumper", "Richard Evans")
    assert "Augustin Žídek" in meta.authors  # &#381;&#237;
    assert meta.venue == "Nature"
    # citation_publication_date "2021/08" has no day: the year, and the online date as the date
    assert (meta.year, meta.published) == (2021, datetime(2021, 7, 15, tzinfo=UTC))
    # no citation_abstract: dc.description, whose source writes "50&amp;nbsp;years" (entities twice)
    assert meta.abstract is not None
    assert meta.abstract.startswith("Proteins are essential to life")
    assert "for more than 50 years" in meta.abstract
    assert "&" not in meta.abstract
    assert meta.pdf_url == "https://www.nature.com/articles/s41586-021-03819-2.pdf"


def test_a_biorxiv_preprint_keeps_a_hundred_authors_in_order() -> None:
    meta = parsed("metascraper__biorxiv_2020.03.22.002386v3.head.html")

    assert meta.canonical_id == "doi:10.1101/2020.03.22.002386"
    assert meta.title == (
        "A SARS-CoV-2-Human Protein-Protein Interaction Map Reveals Drug Targets and Potential Drug-Repurposing"
    )
    assert len(meta.authors) == 100
    assert meta.authors[:3] == ("David E. Gordon", "Gwendolyn M. Jang", "Mehdi Bouhaddou")
    assert meta.venue == "bioRxiv"
    assert meta.year == 2020


def test_the_same_preprint_with_its_citation_tags_removed_is_read_from_dublin_core() -> None:
    """bioRxiv writes "DC.Title", "DC.Contributor", "DC.Identifier", "DC.Date", "DC.Description" as well."""
    body = page("metascraper__biorxiv_2020.03.22.002386v3.head.html")
    dc_only = re.sub(r'<meta name="citation_[a-z_]+"[^>]*>', "", body)
    assert "citation_title" not in dc_only and 'name="DC.Title"' in dc_only

    meta = parse_landing(dc_only, PAGE_URL)

    assert meta is not None
    assert meta.canonical_id == "doi:10.1101/2020.03.22.002386"
    assert meta.title == (
        "A SARS-CoV-2-Human Protein-Protein Interaction Map Reveals Drug Targets and Potential Drug-Repurposing"
    )
    assert len(meta.authors) == 100 and meta.authors[0] == "David E. Gordon"
    assert (meta.year, meta.published) == (2020, datetime(2020, 3, 27, tzinfo=UTC))
    assert meta.abstract is not None and "SARS-CoV-2" in meta.abstract
    assert meta.pdf_url is None and meta.venue is None


# --- the parser: pages written in the shape of real ones ---------------------------------------------------------


def test_an_openreview_forum_page_states_its_openreview_id_through_its_pdf() -> None:
    meta = parsed("openreview_forum.html")

    assert meta.canonical_id == ""  # no arXiv id, no DOI: the caller keeps its id ...
    assert meta.same_as == ("openreview:Zq7bDnT4xR",)  # ... and learns the OpenReview one
    assert meta.title == "Sparse Mixtures of Linear Experts for Tabular Forecasting"
    assert meta.authors == ("Mira Castellanos", "Tobias Engqvist", "Ngozi Adeyemi")
    assert (meta.year, meta.published) == (2025, datetime(2025, 1, 22, tzinfo=UTC))
    assert meta.venue == "The Thirteenth International Conference on Learning Representations"
    assert meta.abstract is not None and meta.abstract.endswith("at a tenth of their latency.")


def test_an_acl_anthology_page_with_unquoted_reversed_attributes() -> None:
    meta = parsed("aclanthology_paper.html")

    assert meta.canonical_id == "doi:10.18653/v1/2024.acl-long.512"
    assert meta.same_as == ("acl:2024.acl-long.512",)
    assert meta.title == "Counting Is Not Reasoning: Probing Arithmetic Shortcuts in Multilingual Models"
    assert meta.authors == ("Saanvi Raghunathan", "Jonas Weißenborn", "Lin Yuqing (林雨晴)", "Olusegun Bankole")
    assert (meta.year, meta.published) == (2024, None)  # "2024/8": a month, no day
    assert meta.venue is not None and meta.venue.startswith("Proceedings of the 62nd Annual Meeting")
    assert meta.abstract is None  # the Anthology puts its abstract in the body only


def test_a_neurips_proceedings_page_turns_last_first_names_round() -> None:
    meta = parsed("neurips_proceedings_abstract.html")

    assert meta.canonical_id == ""
    assert meta.same_as == ("neurips:2024/5e1a3c09b4d2f87e6a0c1d9b3f4e2a71",)
    assert meta.authors == ("Ingrid Haldorsen", "Chidera Okonkwo", "Pieter van der Berg", "Élodie Moreau")
    assert meta.venue == "Advances in Neural Information Processing Systems"
    assert (meta.year, meta.published) == (2024, None)


def test_a_paper_finder_page_is_the_arxiv_paper_its_pdf_link_names() -> None:
    meta = parsed("paper_finder.html", "https://neurips.aipapertrails.com/paper/f3a91c")

    assert meta.canonical_id == "arxiv:2505.11873"  # from https://arxiv.org/pdf/2505.11873v2
    assert meta.same_as == ()
    assert meta.venue == "NeurIPS 2025"
    assert meta.title == "Token-Level Credit Assignment for Long-Horizon Reasoning"


def test_a_dublin_core_only_repository_page_is_a_paper() -> None:
    meta = parsed("dublin_core_only.html")

    assert meta.canonical_id == "doi:10.5281/zenodo.7712345"  # the DC.identifier holding a DOI, not the PDF's
    assert meta.title == "Federated Evaluation of Clinical Language Models without Sharing Notes"
    assert meta.authors == ("Chidi Okafor", "Astrid Lindqvist", "Research Computing Group")
    assert (meta.year, meta.published) == (2023, datetime(2023, 5, 20, tzinfo=UTC))
    assert meta.abstract is not None and meta.abstract.startswith("Hospitals cannot pool clinical notes")
    assert meta.venue == "Workshop on Clinical Natural Language Processing"  # DCTERMS.isPartOf


@pytest.mark.parametrize(
    "title_tag",
    [
        '<meta property="dc:title" content="Any Case Of Prefix">',
        '<meta name="dcterms.title" content="Any Case Of Prefix">',
        '<meta name="DC.Title" content="Any Case Of Prefix">',
        '<meta name="Dc.TITLE" content="Any Case Of Prefix">',
        '<meta property="DCTERMS:title" content="Any Case Of Prefix">',
    ],
)
def test_dublin_core_names_are_read_in_any_case_and_as_properties(title_tag: str) -> None:
    meta = parse_landing(
        minimal(
            title_tag,
            '<meta property="dc:creator" content="Ng, Andrew">',
            '<meta name="DC.Date" content="2019-04-02">',
            '<meta name="dc.identifier" content="info:doi/10.1000/XYZ.123">',
        ),
        PAGE_URL,
    )

    assert meta is not None
    assert (meta.title, meta.authors, meta.year) == ("Any Case Of Prefix", ("Andrew Ng",), 2019)
    assert meta.canonical_id == "doi:10.1000/xyz.123"


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("Vaswani, Ashish", "Ashish Vaswani"),
        ("van der Berg, Pieter", "Pieter van der Berg"),
        ("Ashish Vaswani", "Ashish Vaswani"),
        ("University of California, Berkeley", "University of California, Berkeley"),
        ("Smith, Jr., John", "Smith, Jr., John"),
        ("ATLAS Collaboration", "ATLAS Collaboration"),
        ("Lab 42, Team", "Lab 42, Team"),
    ],
)
def test_last_first_names_turn_round_and_nothing_else_does(written: str, shown: str) -> None:
    meta = parse_landing(
        minimal('<meta name="citation_title" content="T">', f'<meta name="citation_author" content="{written}">'),
        PAGE_URL,
    )
    assert meta is not None and meta.authors == (shown,)


def test_citation_tags_win_over_dublin_core() -> None:
    meta = parse_landing(
        minimal(
            '<meta name="DC.title" content="Dublin title">',
            '<meta name="DC.creator" content="Dublin Author">',
            '<meta name="citation_title" content="Highwire title">',
            '<meta name="citation_author" content="Highwire Author">',
        ),
        PAGE_URL,
    )

    assert meta is not None
    assert (meta.title, meta.authors) == ("Highwire title", ("Highwire Author",))


# --- the parser: not papers --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["blog_post_og_only.html", "no_tags.html"])
def test_pages_without_citation_or_dublin_core_titles_are_not_papers(name: str) -> None:
    assert parse_landing(page(name), PAGE_URL) is None


@pytest.mark.parametrize(
    "body",
    [
        "",
        "%PDF-1.7 not html at all",
        minimal(
            '<meta property="og:title" content="Looks like a title">',
            '<meta name="title" content="So does this">',
            '<meta name="citation_author" content="An Author Without A Title">',
        ),
        minimal('<meta name="citation_title" content="   ">', '<meta name="citation_title">'),
        minimal('<meta name="citation_title" content="&lt;script&gt;only a script&lt;/script&gt;">'),
        minimal(body='<p>&lt;meta name="citation_title" content="shown as code"&gt;</p>'),
    ],
)
def test_no_title_from_the_paper_tags_is_no_paper(body: str) -> None:
    assert parse_landing(body, PAGE_URL) is None


# --- the parser: ids ---------------------------------------------------------------------------------------------


def test_an_arxiv_doi_is_the_arxiv_id() -> None:
    meta = parse_landing(
        minimal(
            '<meta name="citation_title" content="T">', '<meta name="citation_doi" content="10.48550/arXiv.2401.05566">'
        ),
        PAGE_URL,
    )
    assert meta is not None
    assert (meta.canonical_id, meta.same_as) == ("arxiv:2401.05566", ())


def test_an_arxiv_id_ranks_above_the_doi_which_goes_along() -> None:
    meta = parse_landing(
        minimal(
            '<meta name="citation_title" content="T">',
            '<meta name="citation_doi" content="https://doi.org/10.1145/3580305.3599876">',
            '<meta name="citation_arxiv_id" content="arXiv:2305.12345v3">',
        ),
        PAGE_URL,
    )
    assert meta is not None
    assert (meta.canonical_id, meta.same_as) == ("arxiv:2305.12345", ("doi:10.1145/3580305.3599876",))


def test_a_second_different_arxiv_id_or_doi_is_not_merged() -> None:
    meta = parse_landing(
        minimal(
            '<meta name="citation_title" content="T">',
            '<meta name="citation_arxiv_id" content="2305.12345">',
            '<meta name="citation_pdf_url" content="https://arxiv.org/pdf/2306.99999">',
            '<meta name="citation_doi" content="10.1000/first">',
            '<meta name="DC.identifier" content="doi:10.1000/second">',
        ),
        PAGE_URL,
    )
    assert meta is not None
    assert (meta.canonical_id, meta.same_as) == ("arxiv:2305.12345", ("doi:10.1000/first",))


def test_an_invalid_arxiv_id_is_no_id() -> None:
    meta = parse_landing(
        minimal('<meta name="citation_title" content="T">', '<meta name="citation_arxiv_id" content="9912.12345">'),
        PAGE_URL,
    )
    assert meta is not None
    assert (meta.canonical_id, meta.same_as) == ("", ())


def test_the_page_url_itself_can_state_an_id() -> None:
    """A link that redirected to aclanthology.org: the page read is the ACL paper whatever its tags say."""
    meta = parse_landing(
        minimal('<meta name="citation_title" content="T">'), "https://aclanthology.org/2023.acl-long.7/"
    )
    assert meta is not None
    assert (meta.canonical_id, meta.same_as) == ("", ("acl:2023.acl-long.7",))


def test_a_relative_pdf_url_is_resolved_against_the_page() -> None:
    meta = parse_landing(
        minimal('<meta name="citation_title" content="T">', '<meta name="citation_pdf_url" content="../files/t.pdf">'),
        "https://lab.example.edu/pubs/2024/t.html",
    )
    assert meta is not None
    assert meta.pdf_url == "https://lab.example.edu/pubs/files/t.pdf"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2017/06/12", (2017, datetime(2017, 6, 12, tzinfo=UTC))),
        ("2021-07-15T00:00:00Z", (2021, datetime(2021, 7, 15, tzinfo=UTC))),
        ("2021/08", (2021, None)),
        ("2020", (2020, None)),
        ("Dec 20, 2006", (2006, datetime(2006, 12, 20, tzinfo=UTC))),
        ("20 December 2006", (2006, datetime(2006, 12, 20, tzinfo=UTC))),
        ("September 3rd, 2019", (2019, datetime(2019, 9, 3, tzinfo=UTC))),
        ("2023-02-30", (2023, None)),
        ("2024-13-45", (2024, None)),
        ("Spring 2019", (2019, None)),
        ("0001-01-01", (None, None)),
        ("soon", (None, None)),
    ],
)
def test_dates_as_sites_write_them(value: str, expected: tuple[int | None, datetime | None]) -> None:
    assert parse_date(value) == expected


# --- the parser: hostile content ----------------------------------------------------------------------------------


def test_hostile_tag_content_comes_out_as_plain_text() -> None:
    meta = parsed("hostile_tags.html", "https://journal.example/articles/7")

    # script dropped with its content, tags read as text, "&amp;amp;" decoded twice, tab/U+0001/U+200B gone
    assert meta.title == "Robust Learning & Control"
    assert meta.authors == ("Ada Lovelace", "Siobhán O'Brien")  # an empty author dropped
    # block tags keep words apart, <sub> does not split "H2O", a literal "<" stays, <style>/<iframe> go, and
    # escaped markup that decoding turns into a tag ("&lt;b&gt;") is dropped too
    assert meta.abstract == "First sentence. Second line with H2O bold and x < y."
    assert meta.venue == "Journal of Safe Systems Letters"
    # an impossible date is passed over for the next one (a leap day is fine)
    assert (meta.year, meta.published) == (2024, datetime(2024, 2, 29, tzinfo=UTC))
    # javascript: is no PDF link; the next one is cleaned of whitespace and made absolute
    assert meta.pdf_url == "https://journal.example/files/robust-control.pdf"
    assert meta.canonical_id == "doi:10.5555/robust.2024.7"
    for text in (meta.title, meta.abstract, meta.venue, *meta.authors):
        assert "<" not in text.replace("x < y", "") and "alert" not in text and "\x01" not in text


def test_long_values_are_cut() -> None:
    body = minimal(
        f'<meta name="citation_title" content="{"word " * 1000}">',
        f'<meta name="citation_abstract" content="{"a" * (MAX_ABSTRACT * 2)}">',
        *(f'<meta name="citation_author" content="Author {n}">' for n in range(1500)),
    )
    meta = parse_landing(body, PAGE_URL)

    assert meta is not None and meta.title is not None and meta.abstract is not None
    assert len(meta.title) == MAX_TITLE and meta.title.endswith("…")
    assert len(meta.abstract) == MAX_ABSTRACT
    assert len(meta.authors) == 1000


_TAG_LIKE = re.compile(r"</?[A-Za-z][^<>]*>")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/&;#x01aAbipscrtyle=\"' \t\n\u00a0\u200b\x00\x07")), max_size=80))
def test_no_markup_and_no_control_characters_survive_any_title(raw: str) -> None:
    import html

    body = minimal(f'<meta name="citation_title" content="{html.escape(raw)}">')
    meta = parse_landing(body, PAGE_URL)
    if meta is None:
        return
    assert meta.title
    assert not _TAG_LIKE.search(meta.title), meta.title
    assert not re.search(r"[\x00-\x08\x0b-\x1f\u200b]", meta.title)
    assert meta.title == " ".join(meta.title.split())


def test_clean_text_leaves_plain_text_alone() -> None:
    assert clean_text("  Bounds for n<k and AT&T's x&notation  ", 100) == "Bounds for n<k and AT&T's x&notation"


def test_decoding_follows_the_declared_charset_then_meta_then_utf8() -> None:
    latin = '<meta charset="iso-8859-1"><meta name="citation_title" content="Café">'.encode("latin-1")
    assert "Café" in decode_html(latin)
    assert "Café" in decode_html("<p>Café</p>".encode("cp1252"), "text/html; charset=windows-1252")
    assert "Café" in decode_html("<p>Café</p>".encode("cp1252"))  # not UTF-8: windows-1252
    assert decode_html("<p>Café ✓".encode()[:-1]) == "<p>Café "  # cut inside the last character


# --- the reader over HTTP -----------------------------------------------------------------------------------------


@pytest.fixture
def reader() -> Iterator[LandingReader]:
    with LandingReader(host_spacing=0, workers=1, timeout=5) as r:
        yield r


def serve(
    server: HTTPServer,
    path: str,
    body: bytes,
    content_type: str = HTML,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> str:
    server.expect_request(path).respond_with_data(body, status=status, content_type=content_type, headers=headers or {})
    return server.url_for(path)


def on_localhost(url: str) -> str:
    """The same server under another host name: to the reader, another host."""
    return url.replace("://127.0.0.1:", "://localhost:")


def requested(server: HTTPServer, path: str) -> int:
    return sum(1 for req, _ in server.log if req.path == path)


def urlpath(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path


def unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_pages_served_over_http_are_read_and_told_apart(httpserver: HTTPServer, reader: LandingReader) -> None:
    urls = {
        "arxiv": serve(httpserver, "/abs/1706.03762", page_bytes("metascraper__arxiv_abs_1706.03762.html")),
        "plos": serve(httpserver, "/plosone/article", page_bytes("metascraper__plos_pone.0000001.head.html")),
        "openreview": serve(httpserver, "/forum", page_bytes("openreview_forum.html")),
        "dc": serve(httpserver, "/id/eprint/4412/", page_bytes("dublin_core_only.html")),
        "blog": serve(httpserver, "/test-time-compute/", page_bytes("blog_post_og_only.html")),
        "lab": serve(httpserver, "/lab/", page_bytes("no_tags.html")),
    }

    results = reader.read(list(urls.values()))

    assert set(results) == set(urls.values())
    status = {name: results[url].status for name, url in urls.items()}
    assert status == {
        "arxiv": "paper",
        "plos": "paper",
        "openreview": "paper",
        "dc": "paper",
        "blog": "not_paper",
        "lab": "not_paper",
    }
    arxiv = results[urls["arxiv"]]
    assert arxiv.meta is not None and arxiv.meta.canonical_id == "arxiv:1706.03762"
    assert arxiv.meta == parse_landing(page("metascraper__arxiv_abs_1706.03762.html"), urls["arxiv"])
    assert arxiv.error is None and arxiv.final_url == urls["arxiv"]
    assert results[urls["blog"]] == LandingResult(urls["blog"], "not_paper", None, None, urls["blog"])
    first = httpserver.log[0][0]
    assert first.headers["User-Agent"] == DEFAULT_USER_AGENT
    assert DEFAULT_USER_AGENT.startswith("digest/") and "polite" in DEFAULT_USER_AGENT
    assert first.headers["Accept"].startswith("text/html")


def test_results_are_frozen_plain_values(httpserver: HTTPServer, reader: LandingReader) -> None:
    url = serve(httpserver, "/p", PAPER)
    result = reader.read([url])[url]

    assert result.status == "paper"
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.status = "not_paper"  # type: ignore[misc]
    assert hash(result) == hash(dataclasses.replace(result))  # hashable: a store or a set may keep it


def test_the_user_agent_is_the_callers(httpserver: HTTPServer) -> None:
    url = serve(httpserver, "/p", PAPER)
    with LandingReader(user_agent="digest-test/9 (+mailto:ops@example.org)", host_spacing=0) as reader:
        assert reader.read([url])[url].status == "paper"
    assert httpserver.log[0][0].headers["User-Agent"] == "digest-test/9 (+mailto:ops@example.org)"


def test_a_redirect_is_followed_and_the_final_page_is_the_base_of_its_links(
    httpserver: HTTPServer, reader: LandingReader
) -> None:
    target = serve(
        httpserver,
        "/papers/2024/landing.html",
        minimal(
            '<meta name="citation_title" content="Moved Paper">',
            '<meta name="citation_pdf_url" content="files/moved.pdf">',
        ).encode(),
    )
    httpserver.expect_request("/go/1").respond_with_data(
        "", status=301, headers={"Location": "/papers/2024/landing.html"}
    )
    start = httpserver.url_for("/go/1")

    result = reader.read([start])[start]

    assert result.status == "paper" and result.final_url == target
    assert result.meta is not None and result.meta.pdf_url == httpserver.url_for("/papers/2024/files/moved.pdf")


def test_too_many_redirects_are_unreadable(httpserver: HTTPServer) -> None:
    for n in range(4):
        httpserver.expect_request(f"/hop/{n}").respond_with_data("", status=302, headers={"Location": f"/hop/{n + 1}"})
    url = httpserver.url_for("/hop/0")
    with LandingReader(host_spacing=0, max_redirects=2) as reader:
        result = reader.read([url])[url]
    assert (result.status, result.error) == ("unreadable", "more than 2 redirects")


def test_a_pdf_is_not_a_paper_page_and_is_not_read(threaded_server: HTTPServer, reader: LandingReader) -> None:
    produced = [0]
    total = 64 * 1024 * 1024

    def pdf(request: Request) -> Response:
        def body() -> Iterator[bytes]:
            chunk = b"%PDF-1.7\n" + b"0" * (65536 - 9)
            for _ in range(total // len(chunk)):
                produced[0] += len(chunk)
                yield chunk

        return Response(body(), content_type="application/pdf", headers={"Content-Length": str(total)})

    threaded_server.expect_request("/paper.pdf").respond_with_handler(pdf)
    url = threaded_server.url_for("/paper.pdf")

    result = reader.read([url])[url]

    assert (result.status, result.error, result.meta) == ("not_paper", "not a web page: application/pdf", None)
    time.sleep(0.2)
    assert produced[0] < total // 4  # the connection was dropped after the headers, the body never read


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"plain words, no page", "text/plain", "not_paper"),
        (b"\x89PNG\r\n\x1a\n...", "image/png", "not_paper"),
        (b"%PDF-1.4 served without a type", None, "not_paper"),
        (b"<!DOCTYPE html><html><head><meta name=citation_title content=Untyped></head></html>", None, "paper"),
    ],
)
def test_the_content_type_decides_what_is_read(
    httpserver: HTTPServer, reader: LandingReader, body: bytes, content_type: str | None, status: str
) -> None:
    def handler(request: Request) -> Response:
        response = Response(body)
        del response.headers["Content-Type"]
        if content_type:
            response.headers["Content-Type"] = content_type
        return response

    httpserver.expect_request("/thing").respond_with_handler(handler)
    url = httpserver.url_for("/thing")
    assert reader.read([url])[url].status == status


def test_a_gone_page_is_no_paper_and_a_broken_server_is_unreadable(
    httpserver: HTTPServer, reader: LandingReader
) -> None:
    gone = serve(httpserver, "/missing", b"no such page", status=404)
    broken = serve(httpserver, "/broken", b"oops", status=500)
    forbidden = serve(httpserver, "/walled", b"are you a robot?", status=403)

    results = reader.read([gone, broken, forbidden])

    assert (results[gone].status, results[gone].error) == ("not_paper", "HTTP 404 Not Found")
    assert (results[broken].status, results[broken].error) == ("unreadable", "HTTP 500 Internal Server Error")
    assert (results[forbidden].status, results[forbidden].error) == ("unreadable", "HTTP 403 Forbidden")


def test_a_429_skips_its_host_for_the_rest_of_the_call_but_not_other_hosts(
    httpserver: HTTPServer, reader: LandingReader
) -> None:
    busy = serve(httpserver, "/a", b"slow down", status=429, headers={"Retry-After": "120"})
    later = [serve(httpserver, f"/b{n}", PAPER) for n in range(3)]
    elsewhere = on_localhost(serve(httpserver, "/c", PAPER))

    results = reader.read([busy, *later, elsewhere])

    assert results[busy].status == "unreadable"
    assert results[busy].error == (
        "HTTP 429 Too Many Requests, Retry-After: 120; 127.0.0.1 is skipped for the rest of this run"
    )
    for url in later:
        assert results[url].status == "unreadable"
        assert results[url].error == (
            "skipped: 127.0.0.1 asked us to slow down (HTTP 429 Too Many Requests, Retry-After: 120)"
        )
        assert requested(httpserver, urlpath(url)) == 0  # never asked
    assert results[elsewhere].status == "paper"  # localhost is another host
    # the next call asks again: the skip is for one call, the store retries unreadable pages on a later run
    assert reader.read([later[0]])[later[0]].status == "paper"


def test_a_503_skips_its_host_only_when_it_says_when_to_come_back(
    httpserver: HTTPServer, reader: LandingReader
) -> None:
    down = serve(httpserver, "/down", b"maintenance", status=503)
    after = serve(httpserver, "/after", PAPER)
    results = reader.read([down, after])
    assert (results[down].status, results[down].error) == ("unreadable", "HTTP 503 Service Unavailable")
    assert results[after].status == "paper"

    httpserver.clear()
    down = serve(
        httpserver, "/down", b"maintenance", status=503, headers={"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}
    )
    after = serve(httpserver, "/after", PAPER)
    results = reader.read([down, after])
    assert results[down].status == results[after].status == "unreadable"
    assert requested(httpserver, "/after") == 0


def test_a_dead_port_is_unreadable_and_not_asked_again_in_the_call(
    httpserver: HTTPServer, reader: LandingReader
) -> None:
    port = unused_port()
    dead = [f"http://127.0.0.1:{port}/paper/{n}" for n in range(3)]
    alive = serve(httpserver, "/alive", PAPER)  # the same host on another port is unaffected

    results = reader.read([*dead, alive])

    assert (results[dead[0]].status, results[dead[0]].error) == ("unreadable", "connection refused")
    for url in dead[1:]:
        assert results[url].status == "unreadable"
        assert results[url].error == f"skipped: 127.0.0.1:{port} could not be reached (connection refused)"
    assert results[alive].status == "paper"


def test_urls_that_are_not_http_are_no_papers_and_never_fetched(httpserver: HTTPServer, reader: LandingReader) -> None:
    urls = ["ftp://files.example/paper.pdf", "mailto:someone@example.org", "javascript:alert(1)", "http://[::1"]
    results = reader.read(urls)
    assert {url: results[url].status for url in urls} == dict.fromkeys(urls, "not_paper")
    assert httpserver.log == []


def test_each_page_is_read_once_per_call_and_every_url_given_is_answered(
    httpserver: HTTPServer, reader: LandingReader
) -> None:
    url = serve(httpserver, "/p", PAPER)
    given_urls = [url, url, f"{url}#abstract", f"  {url}  "]

    results = reader.read(given_urls)

    assert requested(httpserver, "/p") == 1
    assert set(results) == set(given_urls)
    assert {r.status for r in results.values()} == {"paper"}
    assert results[f"{url}#abstract"].url == f"{url}#abstract"
    assert results[f"{url}#abstract"].meta == results[url].meta


def test_at_most_max_pages_are_read_and_the_rest_left_out(httpserver: HTTPServer) -> None:
    urls = [serve(httpserver, f"/p{n}", PAPER) for n in range(5)]
    with LandingReader(host_spacing=0, max_pages=3) as reader:
        results = reader.read([*urls, urls[0]])
    assert list(results) == [urls[0], urls[1], urls[2]]  # nothing said about the others: not even "unreadable"
    assert len(httpserver.log) == 3


def huge_page(head: str, size: int) -> bytes:
    filler = "<p>" + "lorem ipsum dolor sit amet " * 40 + "</p>\n"
    body = filler * (size // len(filler) + 1)
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>".encode()


def test_a_huge_page_is_read_only_up_to_the_cap(httpserver: HTTPServer) -> None:
    title = '<meta name="citation_title" content="Huge But Fine">'
    early = serve(httpserver, "/early", huge_page(title, 6 * 1024 * 1024))
    # the tag lies past the first 256 KiB: not read, so no paper
    late = serve(httpserver, "/late", minimal(body="<p>x</p>" * 40000 + title).encode())
    with LandingReader(host_spacing=0, max_body_bytes=256 * 1024) as reader:
        results = reader.read([early, late])
    assert results[early].status == "paper" and results[early].meta is not None
    assert results[early].meta.title == "Huge But Fine"
    assert results[late].status == "not_paper"
    with LandingReader(host_spacing=0, max_body_bytes=1024 * 1024) as reader:
        assert reader.read([late])[late].status == "paper"  # the same page, read far enough


def test_reading_stops_at_the_cap_and_the_connection_is_dropped(threaded_server: HTTPServer) -> None:
    produced = [0]
    total = 256 * 1024 * 1024

    def endless(request: Request) -> Response:
        def body() -> Iterator[bytes]:
            yield minimal('<meta name="citation_title" content="Endless Page">').encode()[:-14]  # no </body></html>
            filler = b"<p>" + b"words " * 10900 + b"</p>\n"
            while produced[0] < total:
                produced[0] += len(filler)
                yield filler

        return Response(body(), content_type=HTML)  # chunked: no Content-Length to refuse it by

    threaded_server.expect_request("/endless").respond_with_handler(endless)
    url = threaded_server.url_for("/endless")
    with LandingReader(host_spacing=0, max_body_bytes=1024 * 1024) as reader:
        result = reader.read([url])[url]

    assert result.status == "paper" and result.meta is not None and result.meta.title == "Endless Page"
    time.sleep(0.2)
    assert produced[0] < total // 8


def test_a_gzip_bomb_after_a_good_head_is_cut_at_the_cap(httpserver: HTTPServer) -> None:
    head = '<meta name="citation_title" content="Compressed Paper">'
    bomb = gzip.compress(f"<!doctype html><html><head>{head}</head><body>".encode() + b" " * (200 * 1024 * 1024))
    assert len(bomb) < 300 * 1024
    url = serve(httpserver, "/bomb", bomb, headers={"Content-Encoding": "gzip"})
    with LandingReader(host_spacing=0, max_body_bytes=512 * 1024) as reader:
        result = reader.read([url])[url]
    assert result.status == "paper" and result.meta is not None and result.meta.title == "Compressed Paper"


def test_a_compressed_page_in_another_charset_is_decoded(httpserver: HTTPServer, reader: LandingReader) -> None:
    body = minimal('<meta name="citation_title" content="Über Café-Modelle">').encode("iso-8859-1")
    url = serve(
        httpserver,
        "/de",
        gzip.compress(body),
        content_type="text/html; charset=ISO-8859-1",
        headers={"Content-Encoding": "gzip"},
    )
    result = reader.read([url])[url]
    assert result.meta is not None and result.meta.title == "Über Café-Modelle"


def test_a_server_slower_than_the_timeout_is_unreadable(threaded_server: HTTPServer) -> None:
    release = threading.Event()

    def stall(request: Request) -> Response:
        release.wait(5)
        return Response(PAPER, content_type=HTML)

    threaded_server.expect_request("/slow").respond_with_handler(stall)
    url = threaded_server.url_for("/slow")
    try:
        with LandingReader(host_spacing=0, timeout=0.3) as reader:
            started = time.monotonic()
            result = reader.read([url])[url]
            elapsed = time.monotonic() - started
    finally:
        release.set()
    assert (result.status, result.error) == ("unreadable", "timed out after 0.3s")
    assert elapsed < 3


def test_a_body_trickling_past_the_timeout_is_unreadable(threaded_server: HTTPServer) -> None:
    def trickle(request: Request) -> Response:
        def body() -> Iterator[bytes]:
            yield b"<!doctype html><html><head>"
            for _ in range(40):
                time.sleep(0.05)
                yield b" "

        return Response(body(), content_type=HTML)

    threaded_server.expect_request("/drip").respond_with_handler(trickle)
    url = threaded_server.url_for("/drip")
    with LandingReader(host_spacing=0, timeout=0.5) as reader:
        result = reader.read([url])[url]
    assert result.status == "unreadable"
    assert result.error is not None and result.error.startswith("timed out after 0.5s")


def test_tls_certificates_are_verified(certificate: tuple[Path, Path]) -> None:
    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", HTML)
            self.end_headers()
            self.wfile.write(PAPER)

        def log_message(self, *args: object) -> None:
            pass

    with serve_tls(Page, certificate) as base, LandingReader(host_spacing=0) as reader:
        url = f"{base}/paper"
        result = reader.read([url])[url]
    assert result.status == "unreadable"
    assert result.error is not None and result.error.startswith("cannot connect: TLS: ")
    assert "CERTIFICATE_VERIFY_FAILED" in result.error


# --- politeness -----------------------------------------------------------------------------------------------------


class FakeClock:
    """Time that moves only when the reader sleeps (or a test moves it): spacing checked without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def test_requests_to_one_host_are_spaced_by_the_injected_clock(httpserver: HTTPServer) -> None:
    clock = FakeClock()
    arrivals: list[float] = []

    def answer(request: Request) -> Response:
        arrivals.append(clock.now)
        return Response(PAPER, content_type=HTML)

    for n in range(3):
        httpserver.expect_request(f"/p{n}").respond_with_handler(answer)
    urls = [httpserver.url_for(f"/p{n}") for n in range(3)]

    with LandingReader(host_spacing=5.0, clock=clock, sleep=clock.sleep, workers=4) as reader:
        results = reader.read(urls)
        assert [results[u].status for u in urls] == ["paper"] * 3
        assert clock.sleeps == [5.0, 5.0]  # none before the first request
        assert [a - 1000.0 for a in arrivals] == [0.0, 5.0, 10.0]

        # a second call keeps the host's pause: its first request waits too
        results = reader.read([urls[0]])
        assert clock.sleeps == [5.0, 5.0, 5.0]
        assert arrivals[-1] - arrivals[-2] == 5.0


def test_the_pause_runs_from_the_end_of_the_previous_request(httpserver: HTTPServer) -> None:
    clock = FakeClock()
    arrivals: list[float] = []

    def slow(request: Request) -> Response:
        arrivals.append(clock.now)
        clock.now += 3.0  # the server took 3 s to answer
        return Response(PAPER, content_type=HTML)

    for n in range(2):
        httpserver.expect_request(f"/s{n}").respond_with_handler(slow)
    with LandingReader(host_spacing=5.0, clock=clock, sleep=clock.sleep) as reader:
        reader.read([httpserver.url_for("/s0"), httpserver.url_for("/s1")])
    assert arrivals[1] - arrivals[0] == 8.0  # 3 s answering + 5 s pause
    assert clock.sleeps == [5.0]


def test_a_redirect_hop_waits_for_its_own_hosts_turn(httpserver: HTTPServer) -> None:
    clock = FakeClock()
    target = on_localhost(serve(httpserver, "/target", PAPER))
    httpserver.expect_request("/hop").respond_with_data("", status=302, headers={"Location": target})
    direct = serve(httpserver, "/direct", PAPER)
    with LandingReader(host_spacing=5.0, clock=clock, sleep=clock.sleep) as reader:
        reader.read([on_localhost(direct)])  # localhost was just asked
        result = reader.read([httpserver.url_for("/hop")])[httpserver.url_for("/hop")]
    assert result.status == "paper" and result.final_url == target
    assert clock.sleeps == [5.0]  # 127.0.0.1 was free; the hop to localhost waited for its pause


def test_one_request_in_flight_per_host_and_hosts_in_parallel(threaded_server: HTTPServer) -> None:
    lock = threading.Lock()
    in_flight: dict[str, int] = {}
    most: dict[str, int] = {}
    overall = [0, 0]  # now, most

    def slow(request: Request) -> Response:
        host = request.host.split(":")[0]
        with lock:
            in_flight[host] = in_flight.get(host, 0) + 1
            most[host] = max(most.get(host, 0), in_flight[host])
            overall[0] += 1
            overall[1] = max(overall[1], overall[0])
        time.sleep(0.15)
        with lock:
            in_flight[host] -= 1
            overall[0] -= 1
        return Response(PAPER, content_type=HTML)

    threaded_server.expect_request(re.compile(r"/q\d+")).respond_with_handler(slow)
    urls = [threaded_server.url_for(f"/q{n}") for n in range(4)]
    urls += [on_localhost(threaded_server.url_for(f"/q{n}")) for n in range(4, 8)]

    with LandingReader(host_spacing=0, workers=4) as reader:
        started = time.monotonic()
        results = reader.read(urls)
        elapsed = time.monotonic() - started

    assert {r.status for r in results.values()} == {"paper"}
    assert most == {"127.0.0.1": 1, "localhost": 1}
    assert overall[1] == 2  # the two hosts were read at the same time
    assert elapsed < 8 * 0.15  # faster than one after the other


def test_a_slow_host_does_not_hold_up_another(threaded_server: HTTPServer) -> None:
    arrivals: dict[str, float] = {}

    def note(request: Request) -> Response:
        arrivals[f"{request.host.split(':')[0]}{request.path}"] = time.monotonic()
        return Response(PAPER, content_type=HTML)

    threaded_server.expect_request(re.compile(r"/r\d")).respond_with_handler(note)
    slow_host = [threaded_server.url_for(f"/r{n}") for n in range(3)]  # 127.0.0.1: 3 pages, 0.4 s apart
    other = on_localhost(threaded_server.url_for("/r9"))

    with LandingReader(host_spacing=0.4, workers=2) as reader:
        started = time.monotonic()
        results = reader.read([*slow_host, other])

    assert {r.status for r in results.values()} == {"paper"}
    assert arrivals["localhost/r9"] - started < 0.3  # not queued behind 127.0.0.1's pauses
    assert arrivals["127.0.0.1/r1"] - arrivals["127.0.0.1/r0"] >= 0.4
    assert arrivals["127.0.0.1/r2"] - arrivals["127.0.0.1/r1"] >= 0.4
