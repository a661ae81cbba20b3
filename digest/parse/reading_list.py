"""Reading-list pages: a list of papers someone keeps. Each paper becomes an item, with its note.

Two shapes, tried in this order:

**Text listings** (title + abstract blocks, no links): the text of a page such as a Hugging Face papers page, copied
as text. Every line is a unit (a web page's paragraphs arrive one per line); blank lines do not matter. A document
is read as a text listing only when all of this holds, so that a page with links or prose notes never is:
  * it is plain text: no HTML tags and no markdown links (`[x](y)`);
  * an *abstract line* is long (at least 200 characters and 30 words) and starts like a sentence (a capital, a
    digit, a quote or a parenthesis);
  * a *title line* is short (at most 300 characters, 40 words), does not end like a sentence or a lead-in
    (`.`, `,`, `;`, `:`), holds no URL, is title-like (`is_title_like`: not generic, not all lowercase) and is no
    page furniture (see below);
  * each abstract's title is the nearest line above it that is not furniture (nor a one-name byline under a title
    line); when that line is not a title line the abstract has no title (it is prose, belongs to no paper and counts
    against the document). An abstract line right below another abstract (only furniture between) continues that
    abstract's paragraphs; a leading "Abstract:" is dropped;
  * at least 3 title + abstract blocks, covering at least 60 % of the document's characters, and at most one
    block in five has more than one paragraph (a listing gives one abstract per title; study notes and blog
    posts have sections of several paragraphs and lines that head nothing).
Furniture is skipped wherever it is: upvote and comment counts, `· 3 authors` and other lines with `·`, author
lists ("A. Vaswani, N. Shazeer"), dates and `Published on ...`/`Submitted by ...`, the site's labels (`Subscribe`,
`GitHub 212`, `Previous day`, "Get trending papers in your email inbox!"). A label the copy glued to the next line
("SubscribeOn Diffusion ...": `Subscribe` then a capital) is cut off it. A URL on a line of its own, or after a
short label ("Paper: <url>"), under a title or right under its abstract, is the paper's link when it is a paper's
(the first such). A block becomes `PaperInfo(url=<link or "">, title, abstract, title_is_metadata=True)` with its
abstract, linkified, as the note; without a link the item's guid, and so its paper's id, is
`title:<normalised title>` (`paper_ids.title_id`; a title too short for `title_id`, such as "BERT", keeps
its words the same way: its abstract tells it apart) and its `url` None. A title listed twice is one item
(its first place).

**Pages with links** (HTML, or markdown served as text): every paper link becomes an item. A paper link is an
`<a href>`, a markdown link or autolink, or a paper URL written as plain text (it is made a link first). A paper's
note is the text around its link: the table row (and the rows below it whose first cell is empty), the list item,
the section the link heads (up to the next heading of the same or a higher level), or else its paragraph. Links
resolve against the page (its `<base href>` if it has one): for finding papers, and in each note, whose links and
images are made absolute before it is handed on (the clean stage would otherwise resolve them against the item's
own link, the paper's URL).

**Titles** (`split_title`): what a list-keeper appends to a title is cut off it, from the end, one part at a time:
parts after `, `, `; `, a spaced dash (em, en, `-`, `--`), ` | `, a trailing `(...)` or `[...]`, and, citation style,
`Title. Authors. Venue Year.` A part is cut when it is
  * a venue and/or year ("NeurIPS 2021", "ICLR'22", "CVPR2019", "arXiv", "Journal of ML Research 2014", "2017"):
    kept as `PaperInfo.venue` / `PaperInfo.year`;
  * an affiliation ("Google Research & Stanford", "Univ Montreal", "US Naval Research Lab", "Cornel & Samsumg AI"):
    capitalised words, no colon, and a known organisation or an organisation word (University, Lab, Research,
    AI, ...) in one of its `&`/`and` parts, not only title words ("Machine Learning Research" is no affiliation);
  * authors ("D. Bahdanau, K. Cho, Y. Bengio", "Vaswani et al.", "..."); a complete list becomes
    `PaperInfo.authors`; full names without initials only next to another part already cut;
and something is left. So a title with a comma stays whole: in "Reduced, Reused and Recycled: The Life of a
Dataset ..., Google and Univ. California, NeurIPS 2021" the part "Reused and Recycled: The Life ..." is none of those,
and cutting stops there. What is left must be title-like (`is_title_like`), or the list names no title.
A trailing parenthesis that is not a venue, year or author list is the list-keeper's gloss and goes ("(Transformer)",
"(Stochastic Weight Averaging)", "(and Attention Mechanism)", "(contrastive loss)", "[pdf]"), except one word that
is an acronym (two capitals, or a capital and a digit): "(GPT-3)", "(GANs)" stay, as "(GELUs)" in "Gaussian Error
Linear Units (GELUs)" is part of the paper's real title. Text right after a link ("[Title](url) (NeurIPS 2021)",
"<a>Title</a> (Vaswani et al., 2017)") gives venue and year the same way. A link whose own text names nothing
("paper", "here", "[pdf]", a bare URL) takes its title from the text before it in its line, list item or cell, or
from an earlier cell of its table row, when that text reads as a title. A cleaned title that is title-like is the
listing's own title (`title_is_metadata=True`); otherwise the paper has no title from the list.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from digest.domain.paper_ids import normalize_title
from digest.domain.titles import is_title_like
from digest.parse.types import PaperInfo, ParsedFeed, ParseError, RawItem

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

    from digest.domain.paper_ids import PaperRule

_FRONT_MATTER = re.compile(r"\A---\s*\n.*?\n---\s*\n", re.DOTALL)
_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_DELIMITER_CELL = re.compile(r"^\s*:?-{2,}:?\s*$")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_LEAF_BLOCKS = frozenset({*_HEADINGS, "p", "ul", "ol", "dl", "table", "blockquote", "pre", "figure", "hr", "details"})
# Elements whose edge ends the text that belongs to a link ("before it in its line", "right after it").
_TEXT_BREAKS = frozenset(
    {*_LEAF_BLOCKS, "li", "td", "th", "tr", "dd", "dt", "br", "div", "a", "section", "article", "caption"}
)
_WS = re.compile(r"\s+")


def strip_templates(text: str) -> str:
    """Jekyll front matter and Liquid/Jinja syntax are not content, and `{{ ... }}` is never a link."""
    return _TEMPLATE.sub("", _FRONT_MATTER.sub("", text, count=1))


def split_row(line: str) -> list[str]:
    """Cells of a markdown table row. `\\|` and any `|` inside $math$ or `code` stay in the cell."""
    cells: list[str] = []
    current: list[str] = []
    math = code = False
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if ch == "\\" and i + 1 < n and line[i + 1] == "|":
            current.append("\\|" if math or code else "|")
            i += 2
            continue
        if ch == "`":
            code = not code
        elif ch == "$" and not code:
            if line.startswith("$$", i):
                current.append("$$")
                math = not math
                i += 2
                continue
            math = not math
        elif ch == "|" and not math and not code:
            cells.append("".join(current))
            current = []
            i += 1
            continue
        current.append(ch)
        i += 1
    cells.append("".join(current))
    if cells and not cells[0].strip():
        cells = cells[1:]
    if cells and not cells[-1].strip():
        cells = cells[:-1]
    return cells


def markdown_to_html(text: str) -> str:
    """Render markdown; pipe tables (header row or not, as kramdown allows) are rendered row by row."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True})
    out: list[str] = []
    prose: list[str] = []
    table: list[str] = []

    def flush_prose() -> None:
        if prose:
            out.append(md.render("\n".join(prose)))
            prose.clear()

    def flush_table() -> None:
        if table:
            rows = []
            for line in table:
                cells = split_row(line)
                if cells and all(_DELIMITER_CELL.match(c) or not c.strip() for c in cells):
                    continue
                rows.append("<tr>" + "".join(f"<td>{md.renderInline(c.strip())}</td>" for c in cells) + "</tr>")
            out.append("<table>" + "".join(rows) + "</table>")
            table.clear()

    for line in text.splitlines():
        if line.lstrip().startswith("|"):
            flush_prose()
            table.append(line)
        else:
            flush_table()
            prose.append(line)
    flush_prose()
    flush_table()
    return "\n".join(out)


def looks_like_markdown(text: str, content_type: str | None, url: str) -> bool:
    ct = (content_type or "").lower()
    if "markdown" in ct or urlsplit(url).path.lower().endswith((".md", ".markdown")):
        return True
    if "html" in ct and re.search(r"<(?:html|body)\b", text[:4096], re.IGNORECASE):
        return False
    return bool(re.search(r"\]\([^)\s]*\)", text))


def _fold(text: str | None) -> str:
    return " ".join(text.split()) if text else ""


# --- titles: what a list-keeper appends to a title ----------------------------------------------------------------


@dataclass(frozen=True)
class TitleParts:
    """A reading list's title of a paper, with what its tail said: venue, year, authors (a complete list only)."""

    title: str | None
    venue: str | None = None
    year: int | None = None
    authors: tuple[str, ...] = ()

    def under(self, later: TitleParts) -> TitleParts:
        """These parts, completed by `later` ones where they say nothing (the part nearest the title wins)."""
        return TitleParts(self.title, self.venue or later.venue, self.year or later.year, self.authors or later.authors)


# Conference, journal and preprint names, case-folded: a part that is one of these (with a year or not) is a venue.
_VENUES = frozenset(
    {
        "neurips",
        "nips",
        "icml",
        "iclr",
        "cvpr",
        "iccv",
        "eccv",
        "acl",
        "emnlp",
        "naacl",
        "eacl",
        "aacl",
        "coling",
        "conll",
        "tacl",
        "lrec",
        "aaai",
        "ijcai",
        "kdd",
        "sigkdd",
        "www",
        "thewebconf",
        "sigir",
        "wsdm",
        "cikm",
        "recsys",
        "uai",
        "aistats",
        "colt",
        "alt",
        "corl",
        "rss",
        "icra",
        "iros",
        "miccai",
        "tmlr",
        "jmlr",
        "tpami",
        "pami",
        "ijcv",
        "tnnls",
        "tip",
        "tog",
        "siggraph",
        "siggraph asia",
        "bmvc",
        "wacv",
        "3dv",
        "interspeech",
        "icassp",
        "mlsys",
        "sysml",
        "osdi",
        "sosp",
        "nsdi",
        "eurosys",
        "isca",
        "asplos",
        "hpca",
        "micro",
        "ppopp",
        "vldb",
        "sigmod",
        "icde",
        "colm",
        "ecml",
        "ecml-pkdd",
        "icdm",
        "sdm",
        "icdar",
        "ijcnn",
        "icann",
        "accv",
        "nature",
        "science",
        "pnas",
        "nature communications",
        "nature machine intelligence",
        "neural computation",
        "arxiv",
        "arxiv preprint",
        "biorxiv",
        "medrxiv",
        "ssrn",
        "openreview",
        "distill",
        "preprint",
        "tech report",
        "technical report",
        "white paper",
        "whitepaper",
        "blog",
        "blog post",
        "thesis",
        "phd thesis",
        "corr",
        "ieee",
        "acm",
        "proceedings of the ieee",
    }
)
_VENUE_PREFIXES = (
    "journal of",
    "transactions on",
    "ieee transactions",
    "acm transactions",
    "annals of",
    "advances in neural information processing",
    "international conference on",
    "international journal of",
    "conference on",
    "symposium on",
)
_VENUE_QUALIFIER = re.compile(
    r"[\s,(-]*\b(?:oral|spotlight|poster|(?:best|outstanding) (?:student )?paper(?: award)?"
    r"|main(?: conference| track)?|long paper|short paper|accepted)\)?$",
    re.IGNORECASE,
)
_YEAR_END = re.compile(r"(?:^|(?<=[\s(,'\u2019A-Za-z]))((?:19|20)\d{2})\)?$")
_SHORT_YEAR_END = re.compile(r"\s?['\u2019](\d{2})$")
_ARXIV_ID_TAIL = re.compile(r"(?:^|\s)arxiv:\s*[\w./-]+$", re.IGNORECASE)
_ELLIPSIS = re.compile(r"(?:\.{2,}|\u2026|etc\.?)$")
_ET_AL = re.compile(r"\s*\bet\.?\s+al\b\.?", re.IGNORECASE)

# Organisations by a word of their name, and the words that make a name an organisation's.
_KNOWN_ORGS = frozenset(
    {
        "google",
        "deepmind",
        "openai",
        "microsoft",
        "facebook",
        "meta",
        "apple",
        "amazon",
        "nvidia",
        "intel",
        "baidu",
        "alibaba",
        "tencent",
        "huawei",
        "samsung",
        "anthropic",
        "salesforce",
        "uber",
        "twitter",
        "adobe",
        "bytedance",
        "allenai",
        "huggingface",
        "mila",
        "mellon",
        "stanford",
        "berkeley",
        "harvard",
        "princeton",
        "yale",
        "oxford",
        "cambridge",
        "toronto",
        "montreal",
        "caltech",
        "cornell",
        "columbia",
        "tsinghua",
        "peking",
        "fudan",
        "zhejiang",
        "naver",
        "kakao",
        "sony",
        "qualcomm",
        "deepseek",
        "mistral",
        "cohere",
        "eleutherai",
        "hopkins",
        "purdue",
        "michigan",
        "washington",
        "edinburgh",
        "imperial",
        "mcgill",
        "waterloo",
        "tuebingen",
        "tübingen",
    }
)
# Organisations known by their initials, written in capitals ("FAIR", not the "Fair" of a title).
_KNOWN_ACRONYMS = frozenset(
    {
        "MSR",
        "FAIR",
        "AWS",
        "IBM",
        "AI2",
        "IDSIA",
        "INRIA",
        "Inria",
        "CNRS",
        "MPI",
        "ETH",
        "EPFL",
        "MIT",
        "CMU",
        "NYU",
        "UCL",
        "UCLA",
        "UCSD",
        "UIUC",
        "PKU",
        "KAIST",
        "RIKEN",
        "UCB",
        "JHU",
        "KAUST",
        "SJTU",
        "USTC",
        "HKUST",
        "NVIDIA",
    }
)
_ORG_WORDS = frozenset(
    {
        "university",
        "univ",
        "uni",
        "universiteit",
        "université",
        "universität",
        "universidad",
        "università",
        "universidade",
        "institute",
        "institut",
        "instituto",
        "inst",
        "lab",
        "labs",
        "laboratory",
        "laboratories",
        "research",
        "college",
        "school",
        "dept",
        "department",
        "centre",
        "center",
        "academy",
        "polytechnic",
        "politecnico",
        "inc",
        "ltd",
        "corp",
        "corporation",
        "gmbh",
        "ai",
        "brain",
        "foundation",
    }
)
_ORG_PREFIXES = frozenset({"uc", "ut", "cs", "tu", "eth", "u"})  # "UC Berkeley", "CS Toronto", "TU Munich"
_CONNECTORS = frozenset(
    {"of", "de", "des", "du", "la", "le", "van", "von", "der", "den", "di", "da", "für", "the", "at", "y", "e"}
)
# Words of titles, never of names: "Machine Learning Research" is no lab, "Deep Learning" no author.
_TITLE_WORDS = frozenset(
    {
        "learning",
        "learn",
        "learned",
        "deep",
        "neural",
        "network",
        "networks",
        "net",
        "nets",
        "model",
        "models",
        "modeling",
        "modelling",
        "data",
        "language",
        "languages",
        "vision",
        "visual",
        "attention",
        "transformer",
        "transformers",
        "training",
        "image",
        "images",
        "text",
        "graph",
        "graphs",
        "reinforcement",
        "machine",
        "machines",
        "generative",
        "adversarial",
        "large",
        "small",
        "fast",
        "efficient",
        "scaling",
        "survey",
        "review",
        "part",
        "benchmark",
        "dataset",
        "datasets",
        "analysis",
        "optimization",
        "representation",
        "representations",
        "retrieval",
        "search",
        "generation",
        "understanding",
        "recognition",
        "detection",
        "classification",
        "segmentation",
        "translation",
        "memory",
        "knowledge",
        "reasoning",
        "policy",
        "agents",
        "agent",
        "robust",
        "embedding",
        "embeddings",
        "encoder",
        "decoder",
        "gradient",
        "boosting",
        "descent",
        "beyond",
        "towards",
        "toward",
        "via",
        "using",
        "with",
        "without",
        "all",
        "you",
        "need",
        "more",
        "less",
        "better",
        "simple",
        "new",
        "study",
        "approach",
        "method",
        "methods",
        "framework",
        "system",
        "systems",
        "theory",
        "inference",
        "estimation",
        "prediction",
        "architecture",
        "architectures",
        "layer",
        "layers",
        "loss",
        "optimal",
        "supervised",
        "unsupervised",
        "contrastive",
        "diffusion",
        "sparse",
        "dense",
        "speech",
        "audio",
        "video",
        "code",
        "question",
        "answering",
        "dialogue",
        "feedback",
        "human",
        "alignment",
        "evaluation",
        "tasks",
        "task",
        "transfer",
        "adaptation",
        "prompting",
        "computing",
        "computer",
        "intelligence",
        "artificial",
        "statistical",
        "statistics",
        "science",
        "sciences",
        "engineering",
        "patterns",
        "pattern",
        "processing",
        "information",
        "natural",
    }
)


_NOT_NAME_WORDS = _TITLE_WORDS | _KNOWN_ORGS | _ORG_WORDS


def _two_digit_year(yy: int) -> int:
    return 2000 + yy if yy < 50 else 1900 + yy


def _split_year(text: str) -> tuple[str, int | None]:
    """A trailing year off its text: 'NeurIPS 2021' -> ('NeurIPS', 2021); "ICLR'22", 'CVPR2019', '2017' too."""
    t = text.strip()
    m = _YEAR_END.search(t)
    if m:
        return t[: m.start()].rstrip(" ,(-'\u2019"), int(m[1])
    m = _SHORT_YEAR_END.search(t)
    if m and t[: m.start()].strip():
        return t[: m.start()].rstrip(), _two_digit_year(int(m[1]))
    return t, None


def _venue(text: str) -> tuple[str | None, int | None] | None:
    """(venue, year) when the whole text is a venue and/or a year: ('NeurIPS', 2021), ('arXiv', None),
    (None, 2017); None when it is anything else."""
    t = _fold(text).strip(" .,;:")
    if _ARXIV_ID_TAIL.search(t):  # "arXiv:1706.03762", "arXiv preprint arXiv:1706.03762"
        t = _ARXIV_ID_TAIL.sub("", t).strip() or "arXiv"
    while (q := _VENUE_QUALIFIER.search(t)) and q.start() > 0:
        t = t[: q.start()]
    rest, year = _split_year(t)
    while (q := _VENUE_QUALIFIER.search(rest)) and q.start() > 0:
        rest = rest[: q.start()]
    rest = rest.strip(" .,;:-")
    if not rest:
        return (None, year) if year else None
    lead = re.match(r"(?:in\s+)?(?:proc(?:eedings)?\.?\s+(?:of\s+)?(?:the\s+)?)?", rest, re.IGNORECASE)
    rest = rest[lead.end() :] if lead and lead.end() < len(rest) else rest  # "In Proceedings of NeurIPS"
    key = rest.casefold()
    core = re.sub(r"^(?:ieee|acm|findings of(?: the)?)\s+|\s+(?:workshops?|findings|conference)$", "", key)
    if key in ("arxiv preprint", "corr"):
        return "arXiv", year
    if key in _VENUES or core in _VENUES or key.startswith(_VENUE_PREFIXES):
        return rest, year
    return None


def _is_initials(token: str) -> bool:
    return bool(re.fullmatch(r"[A-Z]\.(?:-?[A-Z]\.)*", token))


def _is_name_word(token: str) -> bool:
    """A capitalised word of a name ("Bahdanau", "O'Neil", "Jean-Pierre", "Le"), not a title word or acronym."""
    letters = token.replace("-", "").replace("'", "").replace("\u2019", "")
    return (
        letters.isalpha()
        and token[:1].isupper()
        and not token.isupper()
        and token.casefold().rstrip(".") not in _NOT_NAME_WORDS
        and token not in _KNOWN_ACRONYMS
    )


def _is_person(text: str, *, loose: bool) -> bool:
    """'D. Bahdanau', 'Quoc V. Le', 'Bahdanau D.' always; 'Ashish Vaswani' (no initial) only when `loose`."""
    tokens = text.split()
    if not 2 <= len(tokens) <= 5 or tokens[0].casefold() in _CONNECTORS or tokens[-1].casefold() in _CONNECTORS:
        return False
    initials = names = 0
    for token in tokens:
        if _is_initials(token):
            initials += 1
        elif _is_name_word(token):
            names += 1
        elif token.casefold() not in _CONNECTORS:
            return False
    return names >= 1 and (initials >= 1 or (loose and names >= 2))


def _author_list(text: str, *, loose: bool, single: bool = False) -> tuple[tuple[str, ...], bool] | None:
    """(names, complete) when the text is a list of authors; complete is False for "et al." and "..." lists.
    Names without initials count only when `loose`, and then two of them, one with "et al.", or one alone when
    `single` (a part of a tail already cut: "Title, Ashish Vaswani, Noam Shazeer, NeurIPS 2017")."""
    t = text.strip(" ,;")
    etal = bool(_ET_AL.search(t))
    t = _ET_AL.sub("", t)
    parts = [p.strip() for p in re.split(r"\s*(?:,|;|\u00b7|\band\b|&)\s*", t) if p.strip()]
    names: list[str] = []
    elided = etal
    strict = False
    for part in parts:
        if _ELLIPSIS.fullmatch(part):
            elided = True
        elif _is_person(part, loose=False):
            names.append(part)
            strict = True
        elif _is_person(part, loose=loose) or (etal and len(parts) == 1 and _is_name_word(part)):
            names.append(part)  # "Vaswani et al."
        else:
            return None
    if not names or not (strict or etal or single or len(names) >= 2):
        return None
    return tuple(names), not elided


def _org_part(words: list[str]) -> bool:
    """One organisation's name: a known one, a name with an organisation word, or "UC Berkeley"-style."""
    folded = [w.casefold().strip(".,") for w in words]
    content = [w for w in folded if w not in _CONNECTORS]
    has_org_word = any(w in _ORG_WORDS for w in content)
    if any(w.strip(".,") in _KNOWN_ACRONYMS for w in words):
        return True
    if any(w in _KNOWN_ORGS for w in content):  # "Google Research", "Stanford Vision Lab"; not "Meta Learning"
        return has_org_word or not any(w in _TITLE_WORDS for w in content)
    if len(folded) >= 2 and folded[0] in _ORG_PREFIXES:
        return True
    return has_org_word and not all(w in _TITLE_WORDS or w in _ORG_WORDS for w in content)


def _is_affiliation(text: str) -> bool:
    """'Google Research & Stanford', 'Google and Univ. California', 'Cornel & Samsumg AI', 'IDSIA Switzerland'."""
    t = text.strip(" .")
    if not t or re.search(r"[:?!\"\u201c\u201d]", t) or len(t.split()) > 8:
        return False
    strong = False
    for conjunct in re.split(r"\s*(?:&|/|\+|\band\b)\s*", t):
        words = conjunct.split()
        if not words or len(words) > 5:
            return False
        if any(not (w[:1].isupper() or w[:1].isdigit()) and w.casefold() not in _CONNECTORS for w in words):
            return False
        strong = strong or _org_part(words)
    return strong


@dataclass(frozen=True)
class _Tail:
    """What one appended part says. `elided`: it shortens the author list ("et al.", "..."), which is then no list."""

    venue: str | None = None
    year: int | None = None
    authors: tuple[str, ...] = ()
    elided: bool = False


def _tail_part(part: str, *, after_tail: bool) -> _Tail | None:
    """What one appended part says (venue, year, authors), or None when it is not an appended part but title."""
    t = part.strip(" ,;")
    if not t:
        return None
    if _ELLIPSIS.fullmatch(t):
        return _Tail(elided=True)
    venue = _venue(t)
    if venue is not None:
        return _Tail(venue=venue[0], year=venue[1])
    rest, year = _split_year(t)  # "Google 2020", "Vaswani et al. 2017"
    if _is_affiliation(rest):  # before names: "Universiteit van Amsterdam" reads like one
        return _Tail(year=year)
    authors = _author_list(rest, loose=after_tail, single=after_tail)
    if authors is not None:
        return _Tail(year=year, authors=authors[0], elided=not authors[1])
    return None


def _merge(tails: Iterable[_Tail]) -> _Tail:
    """Parts in the order they are written: the first venue and year stated; the authors of all the parts, in
    order ("D. Bahdanau, K. Cho, Y. Bengio" is three parts), unless one of them elides some."""
    venue = year = None
    authors: list[str] = []
    elided = False
    for tail in tails:
        venue, year = venue or tail.venue, year or tail.year
        authors.extend(tail.authors)
        elided = elided or tail.elided
    return _Tail(venue, year, () if elided else tuple(authors), elided)


def _is_acronym(text: str) -> bool:
    """'GPT-3', 'GANs', 'GELUs', 'T5': one word with two capitals, or a capital and a digit."""
    if not text or any(ch.isspace() for ch in text) or not re.fullmatch(r"[\w.+\-]+", text):
        return False
    upper = sum(ch.isupper() for ch in text)
    return upper >= 2 or (upper >= 1 and any(ch.isdigit() for ch in text))


def _group(inner: str) -> tuple[str, _Tail]:
    """What a parenthesis or bracket holds: ("keep", _) an acronym that is part of the name, ("meta", tail) a
    venue, year or author list ("NeurIPS 2021", "Vaswani et al., 2017"), ("gloss", _) anything else."""
    t = _fold(inner)
    if _is_acronym(t):
        return "keep", _Tail()
    parts = [p for p in re.split(r"\s*[,;]\s+", t) if p.strip()]
    # Names inside parentheses need initials or "et al.": "(Stochastic Weight Averaging)" is a gloss, no author.
    tails = [_tail_part(p, after_tail=False) for p in parts]
    if parts and all(tail is not None for tail in tails):
        return "meta", _merge(tail for tail in tails if tail is not None)
    return "gloss", _Tail()


_SEPARATOR = re.compile(r"(?:[,;]|\s[\u2014\u2013|]|\s-{1,2})\s+")
_GROUP_END = re.compile(r"\s*[(\[]([^()\[\]]*)[)\]]$")
_TRIM = " \t.,;:|-\u2014\u2013"


def _trim_end(text: str) -> str:
    """Separators off the end of a head, and a sentence's period, but not an ellipsis: "Title, ..." keeps its "..."
    for the next cut to read as an elided list."""
    t = text.rstrip(" \t,;:|-\u2014\u2013")
    return t[:-1].rstrip() if t.endswith(".") and not t.endswith("..") else t


def _has_words(text: str) -> bool:
    """Something is left to be a title once a part is cut (whether it is one is judged at the end: a head such as
    "Title, Vaswani et al." is no title yet, but becomes one)."""
    return len(re.findall(r"\w{2,}", text)) >= 1


def _ends_with_initial(text: str) -> bool:
    last = text.rsplit(None, 1)[-1] if text.strip() else ""
    return bool(re.fullmatch(r"(?:[A-Z]\.-?)*[A-Z]", last))


def _citation(s: str) -> tuple[str, _Tail] | None:
    """'Title. A. Vaswani, N. Shazeer. NeurIPS 2017' -> ('Title', tail); None when it is not that style."""
    cuts = [m for m in re.finditer(r"\.\s+", s) if not _ends_with_initial(s[: m.start()])]
    if not cuts:
        return None
    last = cuts[-1]
    venue = _venue(s[last.end() :])
    if venue is not None:
        head = s[: last.start()]
        if len(cuts) >= 2:
            prev = cuts[-2]
            authors = _author_list(head[prev.end() :], loose=True)
            if authors is not None and _has_words(head[: prev.start()]):
                return head[: prev.start()], _Tail(venue[0], venue[1], authors[0], not authors[1])
        return (head, _Tail(venue[0], venue[1])) if _has_words(head) else None
    authors = _author_list(s[last.end() :], loose=False)
    if authors is not None and _has_words(s[: last.start()]):
        return s[: last.start()], _Tail(authors=authors[0], elided=not authors[1])
    return None


def _cut_once(s: str, after_tail: bool) -> tuple[str, _Tail] | None:
    """The title with its last appended part cut off, and what that part said; None when nothing is appended."""
    group = _GROUP_END.search(s)
    if group and group.start() > 0:
        kind, tail = _group(group[1])
        head = _trim_end(s[: group.start()])
        return (head, tail) if kind != "keep" and _has_words(head) else None
    seps = list(_SEPARATOR.finditer(s))
    if seps:
        sep = seps[-1]
        found = _tail_part(s[sep.end() :], after_tail=after_tail)
        head = _trim_end(s[: sep.start()])
        if found is not None and _has_words(head):
            return head, found
    return _citation(s)


def split_title(text: str | None) -> TitleParts:
    """A reading list's title of a paper without what the list-keeper appended to it (see the module docstring)."""
    s = _trim_end(_fold(text).lstrip(_TRIM))
    if not s:
        return TitleParts(None)
    whole = _venue(s)
    if whole is not None:  # the link text is a venue: "NeurIPS 2021", "arXiv"
        return TitleParts(None, whole[0], whole[1])
    tails: list[_Tail] = []
    while (cut := _cut_once(s, bool(tails))) is not None:
        s, tail = cut
        tails.append(tail)
    tail = _merge(reversed(tails))  # cut from the end: reversed, they are in the order they are written
    s = s.rstrip(_TRIM)
    return TitleParts(s if is_title_like(s) else None, tail.venue, tail.year, tail.authors)


_LEADING_GROUP = re.compile(r"\s*[(\[]([^()\[\]]*)[)\]]")
_LEADING_PART = re.compile(
    r"\s*(?:[,;]|[\u2014\u2013|]|-{1,2})\s*([^,;()\[\]\u2014\u2013|]+?)(?=\s*(?:[,;()\[\]"
    r"\u2014\u2013|]|\.\s|\.?$))"
)


def leading_tail(text: str) -> TitleParts:
    """What the text right after a title link appends to it: " (NeurIPS 2021), if time allows" -> NeurIPS 2021."""
    t = _fold(text)
    tails: list[_Tail] = []
    while t:
        m = _LEADING_GROUP.match(t)
        if m:
            kind, tail = _group(m[1])
            if kind != "meta":
                break
        else:
            m = _LEADING_PART.match(t)
            found = _tail_part(m[1], after_tail=bool(tails)) if m else None
            if m is None or found is None:
                break
            tail = found
        tails.append(tail)
        t = t[m.end() :]
    tail = _merge(tails)
    return TitleParts(None, tail.venue, tail.year, tail.authors)


_LINE_MARKERS = re.compile(r"^(?:#{1,6}\s+|[-*\u2022+>]\s+|\d{1,3}[.)]\s+)+")
# "Read this first: <url>", "See also <url>", "Source: <url>": words that lead to a link, not a title.
# (Verbs and labels only: "On ...", "From ...", "Look, Listen and Learn" begin real titles.)
_LEAD_IN = re.compile(
    r"(?:read|see|check|download|watch|click|visit|note|also|source|link|pdf|code|slides|video"
    r"|available|published|here)\b",
    re.IGNORECASE,
)
# Prose, not a title: a person speaking ("we", "my", "I really ..."), or a sentence break inside.
_PROSE = re.compile(r"\b(?:[Ww]e|[Mm]y|[Oo]ur|us|me|you|your)\b|\bI\s+[a-z]|[.!?]\s+[a-z]")


def context_title(text: str) -> TitleParts | None:
    """The title in the text a generic link follows ("Attention Is All You Need (2017): <url>"), if it reads as
    one: a short line, no URL, no sentence of prose ("we", "I", a sentence break) around it."""
    t = _LINE_MARKERS.sub("", _fold(text)).strip(" \t:|-\u2014\u2013([{*_\"'\u201c\u201d")
    if not t or "://" in t or len(t) > 300 or len(t.split()) > 40:
        return None
    parts = split_title(t)
    if parts.title is None or _PROSE.search(parts.title) or _LEAD_IN.match(parts.title):
        return None
    return parts


# --- links ---------------------------------------------------------------------------------------------------------

# A URL in text: up to whitespace or a character that cannot end it in running text; trailing punctuation is trimmed.
_BARE_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
# A comment or a tag, quoted attribute values read whole (`alt="a > b"` does not end the tag).
_HTML_TOKEN = re.compile(r"<!--.*?-->|<(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.DOTALL)
_ESCAPED_END = re.compile(r"&(?:lt|gt|quot|#39|#x27|apos);")


_CLOSERS = {")": "(", "]": "[", "}": "{"}


def _trim_url(url: str) -> str:
    """A URL as running text ends it: no trailing sentence punctuation, no unbalanced closing bracket."""
    cut = _ESCAPED_END.search(url)
    if cut:
        url = url[: cut.start()]
    while url and (
        url[-1] in ".,;:!?*_~'\"" or (url[-1] in _CLOSERS and url.count(url[-1]) > url.count(_CLOSERS[url[-1]]))
    ):
        url = url[:-1]
    return url


def linkify(markup: str) -> str:
    """URLs written as text in HTML become links (not inside a link, script or style): a paper URL pasted in a
    list item or a cell is a paper link like any other."""
    out: list[str] = []
    pos = 0
    in_link = in_raw = 0

    def link_text(segment: str) -> str:
        pieces: list[str] = []
        last = 0
        for m in _BARE_URL.finditer(segment):
            url = _trim_url(m[0])
            if len(url) <= len("https://"):
                continue
            pieces.append(segment[last : m.start()])
            pieces.append(f'<a href="{url}">{url}</a>')
            last = m.start() + len(url)
        pieces.append(segment[last:])
        return "".join(pieces)

    for token in _HTML_TOKEN.finditer(markup):
        text = markup[pos : token.start()]
        out.append(link_text(text) if text and not in_link and not in_raw and "://" in text else text)
        tag = re.match(r"<\s*(/?)\s*([a-zA-Z][\w-]*)", token[0])
        if tag:
            name, closing = tag[2].lower(), bool(tag[1])
            if name == "a":
                in_link = max(0, in_link - 1) if closing else in_link + 1
            elif name in ("script", "style", "textarea", "title"):
                in_raw = max(0, in_raw - 1) if closing else in_raw + 1
        out.append(token[0])
        pos = token.end()
    rest = markup[pos:]
    out.append(link_text(rest) if rest and not in_link and not in_raw and "://" in rest else rest)
    return "".join(out)


_NO_REWRITE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # already absolute (http:, mailto:, data:, ...)


def absolutize(root: LexborNode, base: str) -> None:
    """Every link and image under `root` made absolute against the page, so that a note read away from its page
    (and cleaned against its paper's URL) still points where the page pointed. An empty href (left by template
    syntax) points nowhere and is dropped."""
    for node in root.css("[href], [src]"):
        for name in ("href", "src"):
            if name not in node.attributes:
                continue
            value = (node.attributes.get(name) or "").strip()
            if not value:
                del node.attrs[name]
            elif not _NO_REWRITE.match(value):
                node.attrs[name] = urljoin(base, value)


# --- text listings -------------------------------------------------------------------------------------------------

_GLUED_LABEL = re.compile(r"^(?:Subscribe|Upvote|Follow|Share|Sign up|Sign in|Log in|Login)(?=[A-Z0-9\"\u201c(])")
_FURNITURE = re.compile(
    r"^(?:[\d.,]+\s*[kKmM]?"  # upvote, comment, star counts
    r"|[\u25b2\u2191\u2b06]\s*[\d.,]*[kKmM]?"
    r"|\d+\s+(?:authors?|upvotes?|comments?|likes?|stars?|citations?|views?)"
    r"|(?:upvotes?|comments?|likes?)\s*[\d.,]*"
    r"|(?:submitted|published|updated|posted|added)(?:\s+(?:by|on|at)\b.*)?"
    r"|get trending papers.*|subscribe|sign up|sign in|log in|login|daily papers|trending(?: papers)?"
    r"|(?:github|arxiv page|arxiv|pdf|paper page|project page|code|view pdf|view arxiv page|collections?|models?"
    r"|datasets?|spaces?|docs|papers|week|month|today|previous(?: day| page)?|next(?: day| page)?|load more"
    r"|show more|see more|view all|tos|privacy|about|jobs|pricing|enterprise|company|website|search|share"
    r"|add to collection|cite|bibtex)(?:\s+[\d.,]+\s*[kKmM]?)?"
    r"|[\u2190\u2192].*|.*[\u2190\u2192]"
    r"|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:,?\s+\d{4})?"
    r"|\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?(?:\s+\d{4})?"
    r"|\d{4}-\d{2}-\d{2})[!.]?$",
    re.IGNORECASE,
)
_MIN_ABSTRACT_CHARS = 200
_MIN_ABSTRACT_WORDS = 30
_MIN_BLOCKS = 3
_MIN_COVERAGE = 0.6
_MAX_MULTI_PARAGRAPH = 0.2


def _is_furniture(line: str) -> bool:
    """A line of the page around the papers: counts, dates, the site's labels, author strips."""
    t = line.strip(" \t*_")
    return (
        not t
        or bool(_FURNITURE.match(t))
        or "\u00b7" in t
        or (not t.endswith(".") and _author_list(t, loose=True) is not None)
    )


def _is_abstract_line(line: str) -> bool:
    return (
        len(line) >= _MIN_ABSTRACT_CHARS
        and len(line.split()) >= _MIN_ABSTRACT_WORDS
        and (line[0].isupper() or line[0].isdigit() or line[0] in "\"'\u201c([")
    )


def _title_line(line: str) -> str | None:
    """The title a line states, without markdown markers or a label glued to it; None when it is no title."""
    t = _GLUED_LABEL.sub("", _LINE_MARKERS.sub("", line.strip()))
    t = re.sub(r"^(\*\*|__)(.+)\1$", r"\2", t).strip()
    if (
        not t
        or len(t) > 300
        or len(t.split()) > 40
        or t[-1] in ".,;:"
        or "://" in t
        or _is_furniture(t)
        or not is_title_like(t)
    ):
        return None
    return t


_LABELLED_URL = re.compile(r"(?:[A-Za-z][\w .-]{0,20}:\s*)?<?(https?://\S+?)>?")


def _url_line(line: str) -> str | None:
    """The URL of a line that is nothing but one ("https://arxiv.org/abs/...", "Paper: <https://...>")."""
    m = _LABELLED_URL.fullmatch(_LINE_MARKERS.sub("", line.strip()))
    return _trim_url(m[1]) if m else None


def _is_byline(lines: list[str], j: int, stop: int) -> bool:
    """One author's name right under a title line ("Ada Lovelace"): the block's byline, not its title."""
    return j - 1 > stop and _is_person(lines[j], loose=True) and _title_line(lines[j - 1]) is not None


def _title_above(lines: list[str], i: int, stop: int) -> tuple[str | None, int, list[str]]:
    """The title of the abstract at `i` (None when the nearest line above it that is not furniture is no title
    line), that line's index (`i` when there is only furniture up to `stop`), and the URL lines between."""
    links: list[str] = []
    for j in range(i - 1, stop, -1):
        if (url := _url_line(lines[j])) is not None:
            links.insert(0, url)
        elif not _is_furniture(lines[j]) and not _is_byline(lines, j, stop):
            return _title_line(lines[j]), j, links
    return None, i, links


def _urls_under(lines: list[str], start: int, stop: int) -> list[str]:
    """URL lines right under an abstract (only furniture between): that paper's links."""
    links: list[str] = []
    for line in lines[start:stop]:
        if (url := _url_line(line)) is not None:
            links.append(url)
        elif not _is_furniture(line):
            break
    return links


_ABSTRACT_LABEL = re.compile(r"^abstract\s*[:.\u2014-]\s*", re.IGNORECASE)


@dataclass
class TextPaper:
    """One title + abstract block of a text listing; `links`: the URL lines in it (the paper's, if one is one)."""

    title: str
    paragraphs: list[str]
    links: list[str] = field(default_factory=list)
    chars: int = 0  # characters of the document it covers


def text_listing(text: str) -> list[TextPaper] | None:
    """The title + abstract blocks of a text listing, or None when the text is not one (rules: module docstring)."""
    if re.search(
        r"<(?:a|p|div|span|li|ul|ol|table|tr|td|h[1-6]|br|body|html|article|section|img)\b[^>]*>", text, re.IGNORECASE
    ) or re.search(r"\]\([^)\s]+\)", text):
        return None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    blocks: list[TextPaper] = []
    owner: TextPaper | None = None  # the block of the last abstract line, None when that one had no title
    last_abstract = -1
    for i, line in enumerate(lines):
        if not _is_abstract_line(line):
            continue
        title, title_at, links = _title_above(lines, i, last_abstract)
        paragraph = _ABSTRACT_LABEL.sub("", line)
        if title is not None:
            if owner is not None:
                owner.links.extend(_urls_under(lines, last_abstract + 1, title_at))
            owner = TextPaper(title, [paragraph], links, len(lines[title_at]) + len(line))
            blocks.append(owner)
        elif title_at == i and owner is not None:  # only furniture since the last abstract: it goes on
            owner.paragraphs.append(paragraph)
            owner.chars += len(line)
        else:
            owner = None  # a long paragraph under no title: prose
        last_abstract = i
    if owner is not None:
        owner.links.extend(_urls_under(lines, last_abstract + 1, len(lines)))
    if len(blocks) < _MIN_BLOCKS:
        return None
    covered = sum(b.chars for b in blocks)
    multi = sum(len(b.paragraphs) > 1 for b in blocks)
    if covered < _MIN_COVERAGE * sum(len(line) for line in lines) or multi > _MAX_MULTI_PARAGRAPH * len(blocks):
        return None
    return blocks


def _title_paper_id(title: str) -> str:
    """`title:<normalised title>`; a short title ("BERT") that `title_id` refuses keeps its words."""
    from digest.domain.paper_ids import title_id

    return title_id(title) or f"title:{normalize_title(title)}"


def _text_items(papers: list[TextPaper], url: str, rules: Sequence[PaperRule]) -> list[RawItem]:
    from digest.domain.paper_ids import canonical_id

    items: list[RawItem] = []
    seen: set[str] = set()
    for paper in papers:
        parts = split_title(paper.title)
        title = parts.title or paper.title
        link, link_id = next(((u, i) for u in paper.links if (i := canonical_id(u, rules))), (None, None))
        pid = link_id or _title_paper_id(title)
        if pid in seen or pid == "title:":
            continue  # a paper listed twice: its first place is its item
        seen.add(pid)
        abstract = "\n\n".join(paper.paragraphs)
        note = "".join(f"<p>{linkify(html.escape(p, quote=False))}</p>" for p in paper.paragraphs)
        items.append(
            RawItem(
                guid=pid,
                url=link,
                title=title,
                author=None,
                published=None,
                summary_html=None,
                content_html=note,
                base_url=url,
                paper=PaperInfo(
                    url=link or "",
                    title=title,
                    authors=parts.authors,
                    abstract=abstract,
                    title_is_metadata=True,
                    venue=parts.venue,
                    year=parts.year,
                ),
            )
        )
    return items


# --- pages with links ----------------------------------------------------------------------------------------------


@dataclass
class _Unit:
    """A row, list item, section or paragraph: its paper link, what the list says of the paper, its note."""

    url: str
    anchor: str
    parts: TitleParts
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Link:
    paper_id: str
    url: str
    anchor: str
    parts: TitleParts


def _text(node: LexborNode) -> str:
    return _WS.sub(" ", node.text(separator=" ")).strip()


def _leaf_blocks(root: LexborNode) -> list[LexborNode]:
    """Blocks in document order, outermost only (a table is one block, not its cells' paragraphs)."""
    blocks: list[LexborNode] = []

    def walk(node: LexborNode) -> None:
        child = node.child
        while child is not None:
            if child.tag in _LEAF_BLOCKS:
                blocks.append(child)
            elif child.tag not in ("-text", "script", "style", "template"):
                walk(child)
            child = child.next

    walk(root)
    return blocks


def _sibling_text(node: LexborNode, *, forward: bool, limit: int = 300) -> str:
    """The text beside a link in its line: its siblings up to a break (block, line break, another link)."""
    pieces: list[str] = []
    size = 0
    sibling = node.next if forward else node.prev
    while sibling is not None and size < limit:
        if sibling.tag in _TEXT_BREAKS:
            break
        piece = (sibling.text_content or "") if sibling.tag == "-text" else sibling.text(separator=" ")
        pieces.append(piece)
        size += len(piece)
        sibling = sibling.next if forward else sibling.prev
    return "".join(pieces if forward else reversed(pieces))


def _cell_of(node: LexborNode) -> LexborNode | None:
    parent = node.parent
    while parent is not None and parent.tag not in ("td", "th"):
        if parent.tag in _TEXT_BREAKS:
            return None
        parent = parent.parent
    return parent


def _title_beside(a: LexborNode) -> TitleParts | None:
    """For a link whose own text names nothing: the title written before it in its line ("see" is none), else in an
    earlier cell of its table row (the nearest that reads as a title)."""
    found = context_title(_sibling_text(a, forward=False))
    if found is not None:
        return found
    cell = _cell_of(a)
    if cell is None:
        return None
    cell = cell.prev
    while cell is not None:
        if cell.tag in ("td", "th") and (found := context_title(_text(cell))) is not None:
            return found
        cell = cell.prev
    return None


def _link_parts(a: LexborNode, anchor: str) -> TitleParts:
    """What the list says of the paper a link points at: title (and venue, year, authors) from the link's own text
    and the text right after it, or from the text beside it when the link's text names nothing."""
    own = split_title(anchor)
    if own.title is None:
        beside = _title_beside(a)
        if beside is None:
            return own
        own = beside
    return own.under(leading_tail(_sibling_text(a, forward=True)))


def _page_base(tree_root: LexborNode | None, url: str) -> str:
    base = tree_root.css_first("base[href]") if tree_root is not None else None
    href = (base.attributes.get("href") or "").strip() if base is not None else ""
    return urljoin(url, href) if href else url


def _link_items(page: str, url: str, rules: Sequence[PaperRule]) -> tuple[list[RawItem], str | None]:
    """Items of a page with links, and the page's own title (its h1, else its <title>)."""
    from selectolax.lexbor import LexborHTMLParser

    from digest.domain.paper_ids import canonical_id

    tree = LexborHTMLParser(linkify(page))
    root = tree.body or tree.root
    if root is None:
        raise ParseError("empty reading-list page")
    base = _page_base(tree.root, url)
    absolutize(root, base)

    def paper_links(node: LexborNode) -> list[_Link]:
        found = []
        for a in node.css("a[href]"):
            href = (a.attributes.get("href") or "").strip()
            pid = canonical_id(href, rules) if href else None
            if pid:
                anchor = _text(a)
                found.append(_Link(pid, href, anchor, _link_parts(a, anchor)))
        return found

    units: dict[str, _Unit] = {}
    order: list[str] = []

    def start(links: list[_Link]) -> _Unit | None:
        link = links[0]
        if link.paper_id in units:
            return None  # a paper listed twice: its first place is its item
        units[link.paper_id] = _Unit(url=link.url, anchor=link.anchor, parts=link.parts)
        order.append(link.paper_id)
        return units[link.paper_id]

    blocks = _leaf_blocks(root)
    section: _Unit | None = None
    section_level = 7
    for index, block in enumerate(blocks):
        tag = block.tag
        if tag in _HEADINGS:
            level = int(tag[1])
            if section is not None and level <= section_level:
                section = None
            if section is None:
                links = paper_links(block)
                nxt = blocks[index + 1] if index + 1 < len(blocks) else None
                if not links and nxt is not None and nxt.tag == "p" and len(_text(nxt)) < 300:
                    # "# LeNet" then "📜 [Back-propagation Applied to ...](...)": that line heads the section.
                    links = paper_links(nxt)
                if links:
                    section = start(links)
                    section_level = level
        if section is not None:
            section.notes.append(block.html or "")
        elif tag == "table":
            current: _Unit | None = None
            for row in block.css("tr"):
                row_cells = row.css("td, th")
                cells = f"<p>{''.join(c.html or '' for c in row_cells)}</p>"
                links = paper_links(row)
                # A row whose first cell is empty continues the entry above ("||| more notes"); any other row
                # starts an entry of its own, a paper or not, so its notes never land on the paper above it.
                if row_cells and _text(row_cells[0]):
                    current = start(links) if links else None
                    if current is not None:
                        current.notes.append(cells)
                elif links and (unit := start(links)) is not None:
                    unit.notes.append(cells)  # "||| and [another paper](...)": its own item; the entry goes on
                elif current is not None:
                    current.notes.append(cells)
        elif tag in ("ul", "ol"):
            for li in block.css("li"):
                if li.parent is not None and li.parent.mem_id != block.mem_id:
                    continue  # nested items belong to their outer item
                links = paper_links(li)
                if links and (unit := start(links)):
                    unit.notes.append(li.html or "")
        else:
            for link in paper_links(block):
                if unit := start([link]):
                    unit.notes.append(block.html or "")
    items = []
    for pid in order:
        unit = units[pid]
        title = unit.parts.title
        items.append(
            RawItem(
                guid=pid,
                url=unit.url,
                title=title,
                author=None,
                published=None,  # "pdf", "here" name no item either
                summary_html=None,
                content_html="".join(unit.notes) or f"<p>{html.escape(unit.anchor)}</p>",
                base_url=base,
                paper=PaperInfo(
                    url=unit.url,
                    title=title,
                    authors=unit.parts.authors,
                    title_is_metadata=True,
                    venue=unit.parts.venue,
                    year=unit.parts.year,
                ),
            )
        )
    title_node = root.css_first("h1") or tree.css_first("title")
    return items, (_text(title_node) if title_node is not None else None)


def parse_reading_list(
    body: bytes, *, url: str, content_type: str | None, rules: Sequence[PaperRule] = ()
) -> ParsedFeed:
    raw_text = body.decode("utf-8", "replace")
    front = _FRONT_MATTER.match(raw_text)
    front_title = re.search(r"^title:\s*['\"]?(.+?)['\"]?\s*$", front.group(0), re.MULTILINE) if front else None
    text = strip_templates(raw_text)
    papers = text_listing(text)
    page_title: str | None = None
    if papers is not None:
        items = _text_items(papers, url, rules)
        heading = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
        page_title = heading.group(1).strip() if heading else None
    else:
        page = markdown_to_html(text) if looks_like_markdown(text, content_type, url) else text
        items, page_title = _link_items(page, url, rules)
    if not items:
        raise ParseError("no paper links found on the reading-list page")
    page_title = page_title or (front_title.group(1) if front_title else None)
    return ParsedFeed(title=page_title or "Reading list", site_url=url, items=items)


def read(body: bytes, *, fmt: str, url: str, content_type: str | None, rules: Sequence[PaperRule]) -> ParsedFeed:
    """The adapter's reader (domain/adapters.py)."""
    return parse_reading_list(body, url=url, content_type=content_type, rules=rules)
