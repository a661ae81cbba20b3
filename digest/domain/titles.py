"""Whether text names a paper: the judgement of a title shared by the reading-list parser (parse/reading_list.py)
and the mention finder (clean/mentions.py). Pure; regular expressions only."""

from __future__ import annotations

import re

# Words that never make a title on their own: "this paper", "the source", "link", "here", "[pdf]"...
GENERIC_WORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "our",
        "their",
        "his",
        "her",
        "my",
        "your",
        "one",
        "another",
        "other",
        "some",
        "paper",
        "papers",
        "work",
        "works",
        "study",
        "studies",
        "article",
        "articles",
        "preprint",
        "preprints",
        "post",
        "blog",
        "link",
        "links",
        "here",
        "there",
        "source",
        "sources",
        "pdf",
        "html",
        "abs",
        "abstract",
        "arxiv",
        "openreview",
        "code",
        "repo",
        "github",
        "website",
        "site",
        "page",
        "project",
        "poster",
        "slides",
        "video",
        "talk",
        "full",
        "text",
        "version",
        "read",
        "more",
        "see",
        "click",
        "via",
        "and",
        "or",
        "of",
        "on",
        "in",
        "at",
        "to",
        "for",
        "from",
        "by",
        "with",
        "is",
        "interesting",
        "recent",
        "new",
        "latest",
        "position",
        "previous",
        "earlier",
        "following",
        "related",
        "original",
        "above",
        "below",
        "references",
        "reference",
        "bibliography",
        "footnotes",
        "footnote",
        "notes",
        "resources",
        "reading",
        "further",
        "introduction",
        "conclusion",
        "conclusions",
        "summary",
        "appendix",
        "acknowledgements",
        "acknowledgments",
        "discussion",
        "background",
        "overview",
        "versions",
        "camera",
        "ready",
        "proceedings",
        "workshop",
        "oral",
        "spotlight",
        "supplementary",
        "supplement",
        "accepted",
        "iclr",
        "icml",
        "neurips",
        "nips",
        "acl",
        "emnlp",
        "naacl",
        "cvpr",
        "iccv",
        "eccv",
        "aaai",
        "ijcai",
        "colm",
        "tmlr",
        "jmlr",
        "corl",
        "kdd",
        "www",
        "sigir",
        # words that describe a work rather than name it ("An investigation", "A recent analysis")
        "investigation",
        "analysis",
        "survey",
        "approach",
        "method",
        "methods",
        "result",
        "results",
        "findings",
        "experiments",
        "evaluation",
        "seminal",
        "classic",
        "great",
        "nice",
        "excellent",
        "authors",
        "researchers",
        "team",
        "followup",
        "follow",
        "up",
    }
)
# "Lake et al. 2017", "Vaswani et al. (2017)": a citation names authors, not the paper.
# Two patterns: one alternation searched at every position cost more (a mention's title is checked once per
# link, tens of thousands of times in a 500-feed run).
_ET_AL = re.compile(r"\bet\.?\s*al\b")
# "Smith 2020", "Smith and Jones (2019)", "Wilson, Izmailov, 2020", "Hinton, Vinyals, & Dean 2015"
_AUTHOR_YEAR = re.compile(
    r"[A-Z][\w'\u2019-]+(?:(?:\s*,\s*(?:(?:and|&)\s+)?|\s+(?:and|&)\s+)[A-Z][\w'\u2019-]+)*"
    r",?\s*\(?(?:19|20)\d{2}[a-z]?\)?$"
)
_URLISH_START = re.compile(r"(?:https?://|www\.)|[\w-]+(?:\.[\w-]+)+/\S*$", re.IGNORECASE)  # or "://" anywhere
# Bare ids name no paper: "2401.05566", "arXiv:hep-th/9901001v2", "math.GT/0309136", "doi:10.1038/nature14539".
_IDISH = re.compile(
    r"^(?:arxiv:)?\s*(?:\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[a-z-]+)?/\d{7})(?:v\d+)?$"
    r"|^doi:\s*10\.\d{4,9}/\S+$|^[\d\s.,:;()\[\]-]+$",
    re.IGNORECASE,
)
WORD = re.compile(r"[\w][\w'\u2019-]*")
_MIXED_WORD = re.compile(r"[^\W\d_][\w-]*\d|\d[\w-]*[^\W\d_]")  # a word of letters and digits: "gpt-4", "3d"
_EDGE_PUNCT = " \t\n.,;:!?()[]{}\"'\u201c\u201d\u2018\u2019\u00ab\u00bb*_-\u2014\u2013"


def fold(text: str | None) -> str:
    # str.split() and re's \s agree on what whitespace is; split is C all the way (a few times faster).
    return " ".join(text.split()) if text else ""


def is_title_like(text: str | None) -> bool:
    """Text that names something: not generic ("this paper", "here"), not a URL, not a bare id or number."""
    t = fold(text).strip(_EDGE_PUNCT)
    if (
        len(t) < 3
        or "://" in t
        or _URLISH_START.match(t)
        or _IDISH.match(t)
        or ("et" in t and _ET_AL.search(t))
        or _AUTHOR_YEAR.match(t)
    ):
        return False
    # Titles and names carry a capital, or a digit inside a word ("DeepSeek-R1", "e-SNLI: ...", "gpt-4o"); an
    # all-lowercase anchor is running text that happens to be linked ("logical reasoning", "long video", "an
    # example from chapter 28").
    if not any(ch.isupper() for ch in t) and not _MIXED_WORD.search(t):
        return False
    words = WORD.findall(t)
    return bool(words) and not all(w.lower() in GENERIC_WORDS for w in words)
