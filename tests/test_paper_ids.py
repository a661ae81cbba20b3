"""Canonical paper ids: every URL form of the spec table (issue 3), the negatives, user rules, and properties."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from digest.domain.paper_ids import (
    PaperRule,
    arxiv_id,
    canonical_id,
    compile_rules,
    doi_id,
    landing_url,
    pdf_url,
    publication_id,
)

# (URL as a post writes it, the id it must get). Several forms and host variants per row of the table.
PAPERS = [
    # arXiv, new-style ids: abs, pdf with and without .pdf, html, format; any version; host variants;
    # query and fragment ignored.
    ("https://arxiv.org/abs/2401.05566", "arxiv:2401.05566"),
    ("http://arxiv.org/abs/2401.05566v2", "arxiv:2401.05566"),
    ("https://www.arxiv.org/abs/2401.05566v12", "arxiv:2401.05566"),
    ("http://export.arxiv.org/abs/2401.05566", "arxiv:2401.05566"),
    ("https://arxiv.org/abs/2401.05566?context=cs.LG", "arxiv:2401.05566"),
    ("https://arxiv.org/abs/2401.05566#references", "arxiv:2401.05566"),
    ("https://arxiv.org/abs/2401.05566/", "arxiv:2401.05566"),
    ("https://arxiv.org/pdf/2401.05566", "arxiv:2401.05566"),
    ("https://arxiv.org/pdf/2401.05566v3", "arxiv:2401.05566"),
    ("https://arxiv.org/pdf/2401.05566.pdf", "arxiv:2401.05566"),
    ("https://arxiv.org/pdf/2401.05566v1.pdf#page=4", "arxiv:2401.05566"),
    ("https://export.arxiv.org/pdf/2401.05566v2", "arxiv:2401.05566"),
    ("https://arxiv.org/html/2401.05566", "arxiv:2401.05566"),
    ("https://arxiv.org/html/2401.05566v2", "arxiv:2401.05566"),
    ("https://arxiv.org/html/2401.05566v2/", "arxiv:2401.05566"),
    ("https://arxiv.org/html/2401.05566v2#S3.SS1", "arxiv:2401.05566"),
    ("https://arxiv.org/format/2401.05566", "arxiv:2401.05566"),
    ("https://arxiv.org/format/2401.05566v1", "arxiv:2401.05566"),
    ("https://arxiv.org/abs/arXiv:2401.05566", "arxiv:2401.05566"),
    ("https://arxiv.org/abs/1412.6980", "arxiv:1412.6980"),  # four digits until 2014-12
    ("https://arxiv.org/abs/1501.00001", "arxiv:1501.00001"),  # five from 2015-01
    ("https://arxiv.org/abs/0704.0001", "arxiv:0704.0001"),  # the first new-style id
    ("https://arxiv.org/abs/1706.03762v7", "arxiv:1706.03762"),
    # arXiv ids on other hosts
    ("https://huggingface.co/papers/2401.05566", "arxiv:2401.05566"),
    ("https://www.huggingface.co/papers/2401.05566v2?utm_source=x", "arxiv:2401.05566"),
    ("https://alphaxiv.org/abs/2401.05566", "arxiv:2401.05566"),
    ("https://www.alphaxiv.org/overview/2401.05566v3", "arxiv:2401.05566"),
    ("https://doi.org/10.48550/arXiv.2401.05566", "arxiv:2401.05566"),
    ("https://doi.org/10.48550/ARXIV.2401.05566", "arxiv:2401.05566"),
    ("http://dx.doi.org/10.48550/arxiv.2401.05566", "arxiv:2401.05566"),
    # old-style arXiv ids: archive lower-cased, subject class dropped
    ("https://arxiv.org/abs/hep-th/9901001", "arxiv:hep-th/9901001"),
    ("https://arxiv.org/abs/hep-th/9901001v2", "arxiv:hep-th/9901001"),
    ("http://export.arxiv.org/pdf/hep-th/9901001v1.pdf", "arxiv:hep-th/9901001"),
    ("https://arxiv.org/abs/math.GT/0309136", "arxiv:math/0309136"),
    ("https://arxiv.org/pdf/math.GT/0309136v1", "arxiv:math/0309136"),
    ("https://arxiv.org/abs/cs.LG/0703001", "arxiv:cs/0703001"),  # the last month of the old scheme
    ("https://arxiv.org/abs/hep-th/9108001", "arxiv:hep-th/9108001"),
    # OpenReview: forum and pdf, noteId and fragments ignored, case kept
    ("https://openreview.net/forum?id=MPTlWIVSMU", "openreview:MPTlWIVSMU"),
    ("https://openreview.net/forum?id=MPTlWIVSMU#discussion", "openreview:MPTlWIVSMU"),
    ("https://openreview.net/forum?id=MPTlWIVSMU&noteId=abcDEF123", "openreview:MPTlWIVSMU"),
    ("https://openreview.net/forum?noteId=abcDEF123&id=MPTlWIVSMU", "openreview:MPTlWIVSMU"),
    ("http://www.openreview.net/forum/?id=H1-nGgWC-", "openreview:H1-nGgWC-"),
    ("https://openreview.net/pdf?id=MPTlWIVSMU", "openreview:MPTlWIVSMU"),
    ("https://openreview.net/pdf?id=MPTlWIVSMU&noteId=xyz12", "openreview:MPTlWIVSMU"),
    # ICLR virtual posters are keyed by the OpenReview id
    ("https://iclr.cc/virtual_2020/poster_SkgpBJrtvS.html", "openreview:SkgpBJrtvS"),
    ("http://www.iclr.cc/virtual_2020/poster_SkgpBJrtvS.html?tab=1", "openreview:SkgpBJrtvS"),
    ("https://iclr.cc/virtual/poster_SklGryBtwr.html", "openreview:SklGryBtwr"),
    # NeurIPS proceedings by hash, old and new path layouts, abstract and PDF, hash lower-cased
    (
        "https://proceedings.neurips.cc/paper/2020/hash/3f5ee243547dee91fbd053c1c4a845aa-Abstract.html",
        "neurips:2020/3f5ee243547dee91fbd053c1c4a845aa",
    ),
    (
        "https://proceedings.neurips.cc/paper/2020/file/3f5ee243547dee91fbd053c1c4a845aa-Paper.pdf",
        "neurips:2020/3f5ee243547dee91fbd053c1c4a845aa",
    ),
    (
        "https://proceedings.neurips.cc/paper_files/paper/2023/hash/0a0b0c0d0e0f10111213141516171819-Abstract-Conference.html",
        "neurips:2023/0a0b0c0d0e0f10111213141516171819",
    ),
    (
        "https://proceedings.neurips.cc/paper_files/paper/2023/file/0A0B0C0D0E0F10111213141516171819-Paper-Conference.pdf",
        "neurips:2023/0a0b0c0d0e0f10111213141516171819",
    ),
    (
        "http://papers.nips.cc/paper/2017/hash/3f5ee243547dee91fbd053c1c4a845aa-Abstract.html",
        "neurips:2017/3f5ee243547dee91fbd053c1c4a845aa",
    ),
    (
        "https://papers.nips.cc/paper_files/paper/2017/file/3f5ee243547dee91fbd053c1c4a845aa-Paper.pdf",
        "neurips:2017/3f5ee243547dee91fbd053c1c4a845aa",
    ),
    (
        "https://nips.cc/virtual/2020/public/poster_3f5ee243547dee91fbd053c1c4a845aa.html",
        "neurips:2020/3f5ee243547dee91fbd053c1c4a845aa",
    ),
    (
        "https://neurips.cc/virtual/2020/public/poster_3f5ee243547dee91fbd053c1c4a845aa.html",
        "neurips:2020/3f5ee243547dee91fbd053c1c4a845aa",
    ),
    # legacy NIPS pages by number
    ("http://papers.nips.cc/paper/7350-are-gans-created-equal-a-large-scale-study", "neurips:paper/7350"),
    ("https://papers.nips.cc/paper/7350-are-gans-created-equal-a-large-scale-study.pdf", "neurips:paper/7350"),
    ("https://papers.nips.cc/paper/7350-are-gans-created-equal-a-large-scale-study/", "neurips:paper/7350"),
    # PMLR
    ("https://proceedings.mlr.press/v139/radford21a.html", "pmlr:v139/radford21a"),
    ("http://proceedings.mlr.press/v139/radford21a.pdf", "pmlr:v139/radford21a"),
    ("https://proceedings.mlr.press/v139/radford21a/radford21a.pdf", "pmlr:v139/radford21a"),
    ("http://proceedings.mlr.press/v37/ioffe15.html?x=1", "pmlr:v37/ioffe15"),
    # JMLR
    ("https://jmlr.org/papers/v15/srivastava14a.html", "jmlr:v15/srivastava14a"),
    ("https://www.jmlr.org/papers/volume15/srivastava14a/srivastava14a.pdf", "jmlr:v15/srivastava14a"),
    ("http://www.jmlr.org/papers/v21/20-074.html", "jmlr:v21/20-074"),
    ("https://jmlr.org/papers/volume21/20-074/20-074.pdf", "jmlr:v21/20-074"),
    # ACL Anthology
    ("https://aclanthology.org/2020.acl-main.463", "acl:2020.acl-main.463"),
    ("https://aclanthology.org/2020.acl-main.463/", "acl:2020.acl-main.463"),
    ("https://aclanthology.org/2020.acl-main.463.pdf", "acl:2020.acl-main.463"),
    ("http://www.aclanthology.org/N19-1423/", "acl:N19-1423"),
    ("https://aclanthology.org/N19-1423.pdf", "acl:N19-1423"),
    # CVF open access
    (
        "https://openaccess.thecvf.com/content_CVPR_2019/html/He_Bag_of_Tricks_CVPR_2019_paper.html",
        "cvf:CVPR_2019/He_Bag_of_Tricks_CVPR_2019_paper",
    ),
    (
        "http://openaccess.thecvf.com/content_CVPR_2019/papers/He_Bag_of_Tricks_CVPR_2019_paper.pdf",
        "cvf:CVPR_2019/He_Bag_of_Tricks_CVPR_2019_paper",
    ),
    (
        "https://openaccess.thecvf.com/content_ICCV_2017/html/He_Mask_R-CNN_ICCV_2017_paper.html",
        "cvf:ICCV_2017/He_Mask_R-CNN_ICCV_2017_paper",
    ),
    # DOIs: lower-cased, percent-decoded; trailing sentence punctuation is not part of the DOI
    ("https://doi.org/10.1038/nature14539", "doi:10.1038/nature14539"),
    ("https://doi.org/10.1038/NATURE14539", "doi:10.1038/nature14539"),
    ("http://dx.doi.org/10.1038/nature14539", "doi:10.1038/nature14539"),
    ("https://www.doi.org/10.1038/nature14539?via=ihub#abstract", "doi:10.1038/nature14539"),
    ("https://doi.org/10.1145%2F3292500.3330701", "doi:10.1145/3292500.3330701"),
    ("https://doi.org/10.1038/nature14539.", "doi:10.1038/nature14539"),
    ("https://doi.org/10.1038/nature14539)", "doi:10.1038/nature14539"),
    ("https://doi.org/10.1038/nature14539).", "doi:10.1038/nature14539"),
    ("https://doi.org/10.1016/S0140-6736(20)30183-5", "doi:10.1016/s0140-6736(20)30183-5"),
    ("https://doi.org/10.1016/S0140-6736(20)30183-5).", "doi:10.1016/s0140-6736(20)30183-5"),
    (
        "https://doi.org/10.1002/(SICI)1097-4571(199009)41:6%3C391::AID-ASI1%3E3.0.CO;2-9",
        "doi:10.1002/(sici)1097-4571(199009)41:6<391::aid-asi1>3.0.co;2-9",
    ),
    # handles, %2F decoded
    ("https://hdl.handle.net/1721.1/6125", "hdl:1721.1/6125"),
    ("https://hdl.handle.net/1721.1%2F6125", "hdl:1721.1/6125"),
    ("http://hdl.handle.net/10419/123456", "hdl:10419/123456"),
    # url: ids: a PDF anywhere, or a publication page on a known scholarly host
    ("https://www.cs.toronto.edu/~hinton/absps/dropout.pdf", "url:cs.toronto.edu/~hinton/absps/dropout.pdf"),
    (
        "http://www.cs.toronto.edu/~hinton/absps/dropout.pdf?download=1#page=2",
        "url:cs.toronto.edu/~hinton/absps/dropout.pdf",
    ),
    (
        "https://www.researchgate.net/publication/334489669_Deep_Learning_With_Edge_Computing_A_Review",
        "url:researchgate.net/publication/334489669_Deep_Learning_With_Edge_Computing_A_Review",
    ),
    ("https://ieeexplore.ieee.org/document/8763885/", "url:ieeexplore.ieee.org/document/8763885"),
    ("https://icml.cc/virtual/2020/poster/5785", "url:icml.cc/virtual/2020/poster/5785"),
    # article pages that carry a DOI merge with doi.org links
    ("https://dl.acm.org/doi/10.1145/3292500.3330701", "doi:10.1145/3292500.3330701"),
    ("https://dl.acm.org/doi/abs/10.1145/3292500.3330701", "doi:10.1145/3292500.3330701"),
    ("https://www.nature.com/articles/nature14539", "doi:10.1038/nature14539"),
]


@pytest.mark.parametrize(("url", "expected"), PAPERS, ids=[u for u, _ in PAPERS])
def test_every_url_form_of_a_paper_gets_its_canonical_id(url: str, expected: str) -> None:
    assert canonical_id(url) == expected


NOT_PAPERS = [
    # Hugging Face model and dataset pages, and the papers index itself
    "https://huggingface.co/meta-llama/Llama-2-7b",
    "https://huggingface.co/datasets/openai/gsm8k",
    "https://huggingface.co/spaces/org/demo",
    "https://huggingface.co/papers",
    # arXiv URLs whose id breaks arXiv's grammar
    "https://arxiv.org/abs/2401.123456",  # six digits
    "https://arxiv.org/abs/9912.12345",  # 1999 predates new-style ids
    "https://arxiv.org/abs/2413.12345",  # month 13
    "https://arxiv.org/abs/2400.12345",  # month 0
    "https://arxiv.org/abs/1412.12345",  # five digits before 2015
    "https://arxiv.org/abs/1501.1234",  # four digits after 2014
    "https://arxiv.org/abs/2401.00000",  # number 0
    "https://arxiv.org/abs/0703.0001",  # new style before April 2007
    "https://arxiv.org/pdf/2413.12345v2.pdf",
    "https://huggingface.co/papers/2413.12345",
    "https://alphaxiv.org/abs/1412.12345",
    "https://doi.org/10.48550/arXiv.2401.123456",
    "https://arxiv.org/abs/hep-th/0704001",  # old style after March 2007
    "https://arxiv.org/abs/hep-th/9001001",  # old style before 1991
    "https://arxiv.org/abs/notanarchive/9901001",  # no such archive
    "https://arxiv.org/abs/hep-th/9913001",  # month 13
    "https://arxiv.org/abs/hep-th/9901000",  # number 0
    "https://arxiv.org/list/cs.LG/recent",
    "https://arxiv.org/",
    # OpenReview pages that are not one paper
    "https://openreview.net/forum",
    "https://openreview.net/group?id=ICLR.cc/2024/Conference",
    "https://openreview.net/profile?id=~Jane_Doe1",
    # code, social media, video, blogs
    "https://github.com/tensorflow/mesh",
    "https://github.com/user/repo/blob/main/paper.pdf",
    "https://gitlab.com/group/project",
    "https://twitter.com/prakashkagitha/status/1198503868977385472?s=20",
    "https://x.com/polynoamial/status/1991212955250327768?s=20",
    "https://www.youtube.com/watch?v=hMEViRcF7o0",
    "https://youtu.be/hMEViRcF7o0",
    "https://medium.com/data-science/neurips-2020-papers-a-deep-learning-engineers-takeaway-4f3066523151",
    "https://towardsdatascience.com/reading-abstracts-from-nips-neurips-2018-here-is-what-i-learned-16352d83416f",
    "https://openai.com/index/learning-to-reason-with-llms/",
    # images, even on scholarly hosts
    "https://cdn-images-1.medium.com/max/1024/1*abc.png",
    "https://substackcdn.com/image/fetch/w_1456,c_limit/https%3A%2F%2Fsubstack-post-media.png",
    "https://example.com/figure.jpeg",
    "https://arxiv.org/html/2401.05566v1/x1.png",
    # Substack subscribe, share and comment links
    "https://www.aipapertrails.com/subscribe?utm_source=post&utm_medium=web",
    "https://aipapertrails.substack.com/subscribe",
    "https://www.aipapertrails.com/p/large-reasoning-models-research-at/comments",
    "https://www.aipapertrails.com/p/large-reasoning-models-research-at?utm_source=substack&utm_medium=email"
    "&utm_content=share&action=share",
    "https://substack.com/app-link/post?publication_id=1&post_id=2&utm_source=post&isFreemail=true&comments=true",
    # not http(s), not a URL, fragments
    "mailto:someone@example.com",
    "ftp://example.com/paper.pdf",
    "#footnote-1",
    "",
    "http://[::1",
    # pages on scholarly hosts that are not publications
    "https://www.researchgate.net/profile/Jane-Doe",
    "https://ieeexplore.ieee.org/Xplore/home.jsp",
    "https://doi.org/",
    "https://doi.org/not-a-doi",
    "https://hdl.handle.net/",
    # listings and pages about papers, on any host: not one paper
    "https://neurips.aipapertrails.com",
    "https://lab.example.org/papers/",
    "https://lab.example.org/papers/2024",
    "https://lab.example.org/paper/index.html",
    "https://lab.example.org/papers/tags/rl",
    "https://conf.example.org/posters/about",
    "https://lab.example.org/paper/123-slug/figures/more",
    "https://lab.example.org/papers/deep-nets-2019/slides",
    "https://lab.example.org/papers/deep-nets-2019/code",
    "https://huggingface.co/papers/trending",
    "https://conf.example.org/forum?id=a",
]

# A path that names one paper, on any host, is a paper known by its URL.
PATH_NAMED = [
    ("https://neurips.aipapertrails.com/paper/D1PeGJtVEu", "url:neurips.aipapertrails.com/paper/D1PeGJtVEu"),
    ("https://www.lab.example.org/papers/abc123/", "url:lab.example.org/papers/abc123"),
    ("https://lab.example.org/paper/1234/deep-nets-for-all", "url:lab.example.org/paper/1234/deep-nets-for-all"),
    ("https://icml.cc/virtual/2024/poster/33245", "url:icml.cc/virtual/2024/poster/33245"),
    ("https://conf.example.org/2025/poster/118", "url:conf.example.org/2025/poster/118"),
    ("https://or-mirror.example.org/forum?id=abcdEF12&noteId=x", "url:or-mirror.example.org/forum?id=abcdEF12"),
    ("https://finder.example.com/paper/4OsgYD7em5?utm_source=x", "url:finder.example.com/paper/4OsgYD7em5"),
]


@pytest.mark.parametrize(("url", "expected"), PATH_NAMED)
def test_a_path_that_names_a_paper_is_a_url_paper_on_any_host(url: str, expected: str) -> None:
    assert canonical_id(url) == expected


def test_id_precedence_ranks_arxiv_first_and_title_last() -> None:
    from digest.domain.paper_ids import id_rank, title_id

    ordered = [
        "arxiv:1706.03762",
        "openreview:abcde",
        "neurips:2020/ab",
        "doi:10.1/x",
        "hdl:1721.1/6125",
        "url:x.org/paper/1",
        "title:attention is all you need",
    ]
    assert sorted(reversed(ordered), key=id_rank) == ordered
    assert id_rank("myrule:1") < id_rank("url:x.org/a.pdf")
    assert title_id("Attention Is All You Need!") == "title:attention is all you need"
    assert title_id("HyperNetworks") == "title:hypernetworks"
    assert title_id("BERT") is None  # too little to resolve by


@pytest.mark.parametrize("url", NOT_PAPERS)
def test_links_that_are_not_papers_get_no_id(url: str) -> None:
    assert canonical_id(url) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10.1038/nature14539.", "doi:10.1038/nature14539"),
        ("10.1038/nature14539)", "doi:10.1038/nature14539"),
        ("10.1038/nature14539,", "doi:10.1038/nature14539"),
        ("10.1038/nature14539;", "doi:10.1038/nature14539"),
        ("10.1000/abc(1)", "doi:10.1000/abc(1)"),  # balanced parentheses are the DOI's own
        ("10.1000/abc(1)).", "doi:10.1000/abc(1)"),
        ("10.1000/(ab)cd", "doi:10.1000/(ab)cd"),
        ("10.1000/ABC%2FDEF", "doi:10.1000/abc/def"),
        ("10.48550/arXiv.2401.05566v2", "arxiv:2401.05566"),
        ("10.48550/arXiv.2413.05566", None),
        ("11.1000/abc", None),
        ("10.1/abc", None),
    ],
)
def test_doi_id_lower_cases_decodes_and_drops_trailing_punctuation(raw: str, expected: str | None) -> None:
    assert doi_id(raw) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2401.05566", "arxiv:2401.05566"),
        ("2401.05566v3", "arxiv:2401.05566"),
        ("arXiv:2401.05566", "arxiv:2401.05566"),
        ("ARXIV:2401.05566v1", "arxiv:2401.05566"),
        (" arXiv:1706.03762 ", "arxiv:1706.03762"),
        ("arXiv:hep-th/9901001v2", "arxiv:hep-th/9901001"),
        ("math.GT/0309136", "arxiv:math/0309136"),
        ("Math.GT/0309136", "arxiv:math/0309136"),
        ("2401.123456", None),
        ("9912.12345", None),
        ("2413.12345", None),
        ("1412.12345", None),
        ("1501.1234", None),
        ("2401.00000", None),
        ("hep-th/0704001", None),
        ("notanarchive/9901001", None),
        ("2401.05566v", None),
        ("arXiv:", None),
        ("", None),
    ],
)
def test_arxiv_id_accepts_only_arxivs_grammar(text: str, expected: str | None) -> None:
    assert arxiv_id(text) == expected


# --- user rules ---------------------------------------------------------------------------------------------

PAPER_FINDER = compile_rules(
    [(r"^https?://neurips\.aipapertrails\.com/paper/(?P<id>[A-Za-z0-9_-]+)", "openreview:{id}")]
)


def test_a_user_rule_maps_a_mirror_to_openreview_ids() -> None:
    assert canonical_id("https://neurips.aipapertrails.com/paper/4OsgYD7em5", PAPER_FINDER) == "openreview:4OsgYD7em5"
    assert canonical_id("http://neurips.aipapertrails.com/paper/GqYSunGmp7", PAPER_FINDER) == "openreview:GqYSunGmp7"
    # pages the rule does not match stay what they were
    assert (
        canonical_id("https://neurips.aipapertrails.com/paper/4OsgYD7em5")
        == "url:neurips.aipapertrails.com/paper/4OsgYD7em5"
    )  # without the rule: a path-named paper
    assert canonical_id("https://neurips.aipapertrails.com", PAPER_FINDER) is None
    assert canonical_id("https://arxiv.org/abs/2501.12948", PAPER_FINDER) == "arxiv:2501.12948"


def test_a_rule_with_positional_groups_fills_a_positional_template() -> None:
    rule = PaperRule(re.compile(r"mirror\.example/(\w+)/(\w+)"), "pmlr:{0}/{1}")
    assert canonical_id("https://mirror.example/v139/radford21a", [rule]) == "pmlr:v139/radford21a"


def test_an_arxiv_id_from_a_rule_is_canonicalised_again() -> None:
    rules = compile_rules([(r"papers\.example/arxiv/(?P<id>[^/?#]+)", "arxiv:{id}")])
    assert canonical_id("https://papers.example/arxiv/2401.05566v2", rules) == "arxiv:2401.05566"
    assert canonical_id("https://papers.example/arxiv/arXiv:2401.05566v2", rules) == "arxiv:2401.05566"
    # a rule cannot smuggle in an id that breaks arXiv's grammar
    assert canonical_id("https://papers.example/arxiv/2413.05566", rules) is None


def test_a_doi_from_a_rule_is_canonicalised_again() -> None:
    rules = compile_rules([(r"journal\.example/article/(?P<doi>10\.[^?#]+)", "DOI:{doi}")])
    assert canonical_id("https://journal.example/article/10.1038/NATURE14539.", rules) == "doi:10.1038/nature14539"


def test_rules_win_over_built_in_forms_and_the_first_matching_rule_wins() -> None:
    rules = compile_rules(
        [
            (r"arxiv\.org/abs/2401\.05566", "openreview:Forced1234"),
            (r"arxiv\.org/abs/", "openreview:Never12345"),
        ]
    )
    assert canonical_id("https://arxiv.org/abs/2401.05566v2", rules) == "openreview:Forced1234"
    assert canonical_id("https://arxiv.org/abs/1706.03762", rules) == "openreview:Never12345"


def test_a_rule_whose_template_names_a_missing_group_does_not_match() -> None:
    rules = compile_rules([(r"mirror\.example/(?P<id>\w+)", "openreview:{key}")])
    assert canonical_id("https://mirror.example/abc123", rules) is None
    # ... and built-in forms still apply to other URLs
    assert canonical_id("https://openreview.net/forum?id=abc123", rules) == "openreview:abc123"


# --- where a paper lives --------------------------------------------------------------------------------------


def test_landing_and_pdf_urls_of_known_schemes() -> None:
    assert landing_url("arxiv:2401.05566") == "https://arxiv.org/abs/2401.05566"
    assert pdf_url("arxiv:2401.05566") == "https://arxiv.org/pdf/2401.05566"
    assert landing_url("openreview:MPTlWIVSMU") == "https://openreview.net/forum?id=MPTlWIVSMU"
    assert pdf_url("openreview:MPTlWIVSMU") == "https://openreview.net/pdf?id=MPTlWIVSMU"
    assert pdf_url("acl:N19-1423") == "https://aclanthology.org/N19-1423.pdf"
    seen = "https://nips.cc/virtual/2020/public/poster_3f5ee243547dee91fbd053c1c4a845aa.html"
    assert landing_url("neurips:2020/3f5ee243547dee91fbd053c1c4a845aa", seen) == seen
    assert pdf_url("neurips:2020/3f5ee243547dee91fbd053c1c4a845aa", seen) is None
    assert pdf_url("url:example.com/a.pdf", "https://example.com/a.pdf") == "https://example.com/a.pdf"


# --- properties -----------------------------------------------------------------------------------------------


def _new_style(yy: int, mm: int, number: int) -> str:
    digits = 4 if yy < 15 else 5
    return f"{yy:02d}{mm:02d}.{number:0{digits}d}"


# Valid new-style ids: April 2007 to (say) December 2039, four digits until 2014, five from 2015.
new_arxiv_ids = (
    st.tuples(st.integers(7, 39), st.integers(1, 12), st.integers(1, 99999))
    .filter(lambda t: (t[0], t[1]) >= (7, 4) and (t[0] >= 15 or t[2] <= 9999))
    .map(lambda t: _new_style(*t))
)
old_arxiv_ids = st.builds(
    lambda archive, ym, number: f"{archive}/{ym[0] % 100:02d}{ym[1]:02d}{number:03d}",
    st.sampled_from(["hep-th", "math", "cs", "astro-ph", "cond-mat", "quant-ph", "q-bio", "nlin"]),
    st.tuples(st.integers(1991, 2007), st.integers(1, 12)).filter(lambda ym: ym <= (2007, 3)),
    st.integers(1, 999),
)
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
doi_ids = st.builds(
    lambda prefix, parts, last: f"doi:10.{prefix}/{''.join(parts)}{last}",
    st.integers(1000, 999999999),
    st.lists(
        st.sampled_from([*_ALNUM, "-", ".", "_", ";", ":", "/", "(x)", "<", ">", "#", "?", "%", "+"]), max_size=20
    ),
    st.sampled_from(list(_ALNUM)),
)
openreview_ids = st.from_regex(r"[A-Za-z0-9_-]{5,14}", fullmatch=True).map(lambda r: f"openreview:{r}")
acl_ids = st.one_of(
    st.builds(
        lambda y, venue, n: f"acl:{y}.{venue}.{n}",
        st.integers(2016, 2030),
        st.sampled_from(["acl-main", "acl-long", "emnlp-main", "findings-emnlp", "naacl-short"]),
        st.integers(1, 999),
    ),
    st.builds(
        lambda letter, y, n: f"acl:{letter}{y:02d}-{n:04d}",
        st.sampled_from("PNDEWQ"),
        st.integers(0, 99),
        st.integers(1, 9999),
    ),
)
pmlr_ids = st.builds(
    lambda v, key: f"pmlr:v{v}/{key}", st.integers(1, 300), st.from_regex(r"[a-z]{2,12}[0-9]{2}[a-z]?", fullmatch=True)
)
hdl_ids = st.builds(
    lambda prefix, suffix: f"hdl:{prefix}/{suffix}",
    st.from_regex(r"[0-9]{4,5}(\.[0-9]{1,3})?", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,10}(/[A-Za-z0-9][A-Za-z0-9._-]{0,5})?", fullmatch=True),
)


@given(
    st.one_of(
        new_arxiv_ids.map(lambda r: f"arxiv:{r}"),
        old_arxiv_ids.map(lambda r: f"arxiv:{r}"),
        openreview_ids,
        doi_ids,
        acl_ids,
        pmlr_ids,
        hdl_ids,
    )
)
def test_the_landing_url_of_an_id_canonicalises_back_to_that_id(paper_id: str) -> None:
    url = landing_url(paper_id)
    assert url is not None
    assert canonical_id(url) == paper_id


@given(
    arxiv=new_arxiv_ids,
    version=st.one_of(st.none(), st.integers(1, 20)),
    scheme=st.sampled_from(["http", "https"]),
    host=st.sampled_from(["arxiv.org", "www.arxiv.org", "export.arxiv.org"]),
    tail=st.sampled_from(["", "?context=cs.LG", "#S2", "/"]),
)
def test_every_url_form_of_one_arxiv_id_maps_to_that_id(
    arxiv: str, version: int | None, scheme: str, host: str, tail: str
) -> None:
    v = f"v{version}" if version else ""
    expected = f"arxiv:{arxiv}"
    forms = [
        f"{scheme}://{host}/abs/{arxiv}{v}",
        f"{scheme}://{host}/abs/arXiv:{arxiv}{v}",
        f"{scheme}://{host}/pdf/{arxiv}{v}",
        f"{scheme}://{host}/pdf/{arxiv}{v}.pdf",
        f"{scheme}://{host}/html/{arxiv}{v}",
        f"{scheme}://{host}/format/{arxiv}{v}",
        f"{scheme}://huggingface.co/papers/{arxiv}{v}",
        f"{scheme}://www.alphaxiv.org/abs/{arxiv}{v}",
        f"{scheme}://alphaxiv.org/overview/{arxiv}{v}",
        f"{scheme}://doi.org/10.48550/arXiv.{arxiv}",
        f"{scheme}://dx.doi.org/10.48550/ARXIV.{arxiv}",
    ]
    for url in forms:
        if tail == "/" and (url.endswith(".pdf") or "10.48550" in url):  # no trailing slash after a PDF or DOI
            continue
        assert canonical_id(url + tail) == expected, url + tail


def _obeys_grammar(yy: int, mm: int, number: str) -> bool:
    """arXiv's new-style grammar, written from its documentation (the test's own oracle)."""
    if not 1 <= mm <= 12 or int(number) == 0:
        return False
    if yy >= 91 or (yy, mm) < (7, 4):  # 91..99 are the 1990s: before new-style ids existed
        return False
    return len(number) == (4 if yy < 15 else 5)


@given(
    st.integers(0, 99),
    st.integers(0, 99),
    st.from_regex(r"[0-9]{4,6}", fullmatch=True),
    st.one_of(st.none(), st.integers(1, 30)),
)
def test_arxiv_id_never_accepts_an_id_that_breaks_the_grammar(
    yy: int, mm: int, number: str, version: int | None
) -> None:
    text = f"{yy:02d}{mm:02d}.{number}" + (f"v{version}" if version else "")
    got = arxiv_id(text)
    if _obeys_grammar(yy, mm, number):
        assert got == f"arxiv:{yy:02d}{mm:02d}.{number}"
    else:
        assert got is None
        assert canonical_id(f"https://arxiv.org/abs/{text}") is None


# --- the fast split ------------------------------------------------------------------------------------------

URL_PIECES = [
    "http://",
    "https://",
    "HTTP://",
    "hTtPs://",
    "ftp://",
    "//",
    "javascript:",
    "arxiv.org",
    "x.example",
    "user@host",
    ":8080",
    "[::1]",
    "[bad",
    "]",
    "/abs/2401.05566",
    "/path",
    "?",
    "?id=abc",
    "#",
    "#frag",
    "&",
    "=",
    " ",
    "\t",
    "\n",
    "\x00",
    "\x7f",
    "é",
    "\uff45",
    "%20",
    ";",
    "..",
    "@",
    ":",
]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(URL_PIECES), st.text(max_size=6)), max_size=8))
@example(["http://", "[bad"])
@example(["http://", "x]y", "/p"])
@example(["https://", "[::1]", ":8080", "/abs/2401.05566"])
@example(["HTTP://", "arxiv.org", "/abs/2401.05566", "?", "#frag"])
@example(["http://", "x.example", "#", "?id=abc"])
@example(["http://", "x.example", " ", "/path"])
@example(["http://", "\uff45", "/path"])
def test_http_parts_splits_every_url_as_urlsplit_does(pieces: list[str]) -> None:
    from urllib.parse import urlsplit

    from digest.domain.paper_ids import http_parts

    url = "".join(pieces)
    try:
        parts = urlsplit(url)
        expected = (parts.netloc, parts.path, parts.query) if parts.scheme in ("http", "https") else None
    except ValueError:
        expected = None
    assert http_parts(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://gist.github.com/someone/report.pdf", None),  # a subdomain of a host that is never a paper
        ("https://notgithub.com/report.pdf", "url:notgithub.com/report.pdf"),  # not a subdomain: a label must end
        ("https://x.onlinelibrary.wiley.com/doi/10.1002/ece3.2314", "doi:10.1002/ece3.2314"),
        ("https://www.researchgate.net/publication/123456_A_Title", "url:researchgate.net/publication/123456_A_Title"),
        ("https://edu/paper.pdf", "url:edu/paper.pdf"),
    ],
)
def test_a_listed_domain_covers_its_subdomains_label_by_label(url: str, expected: str | None) -> None:
    assert canonical_id(url) == expected


@pytest.mark.parametrize(("url", "expected"), PAPERS, ids=[u for u, _ in PAPERS])
def test_every_url_form_of_a_paper_is_the_paper_as_an_items_own_link(url: str, expected: str) -> None:
    """publication_id answers most links from their host alone: every form of the table must still get its id."""
    assert publication_id(url) == expected


@pytest.mark.parametrize(("url", "expected"), PATH_NAMED)
def test_a_path_that_only_names_a_paper_is_not_the_paper_as_an_items_own_link(url: str, expected: str) -> None:
    """Except on a conference site whose numbered poster pages are its publication pages (SCHOLARLY_HOSTS)."""
    own = expected if expected.startswith("url:icml.cc/") else None
    assert canonical_id(url) == expected and publication_id(url) == own
