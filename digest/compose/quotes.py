"""What a post says about a paper: its stored context trimmed to whole sentences around the link. Pure.

The clean stage stores up to 280 characters of the block around each paper link (`mentions.context`),
cut at words and marked with "…" where it was cut, so its first and last sentences are often halves. A
card quotes whole sentences where it can: the one holding the link's anchor text, then its neighbours
while they fit; only a sentence too long to fit is cut, at a word, with "…". The text is untrusted (any
blog's words): it is returned as plain text for templates to escape, never as markup.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

QUOTE_CHARS = 280  # as many as the store keeps (clean/mentions.py CONTEXT_CHARS)
CUT = "…"

# Words ending in a full stop that do not end a sentence. "etc." is left out: it ends sentences as often.
ABBREVIATIONS = frozenset(
    "e.g. i.e. al. cf. vs. viz. approx. ca. fig. figs. eq. eqs. sec. secs. ch. no. nos. vol. pp. p. dr. mr. mrs. "
    "ms. prof. st. jr. sr. inc. ltd. co. corp. resp. ref. refs. tab. appx. app. thm. def. lem. prop. cor. "
    "alg. est. dept. univ. n.b. u.s. u.k. a.k.a.".split()
)
_OPENERS = "\"'\u201c\u2018([\u00ab"  # straight and curly quotes, brackets, guillemets
_CLOSERS = "\"'\u201d\u2019)]\u00bb"
# A candidate sentence end: terminal punctuation, any closing quotes or brackets, then white space.
_END = re.compile(r"[.!?…]+[" + re.escape(_CLOSERS) + r"]*\s+")
_LAST_END = re.compile(r"[.!?]+(?=[" + re.escape(_CLOSERS) + r"]*$)")  # the full stop ending a text
_ENUMERATOR = re.compile(r"^[(\[]?(?:\d{1,3}|[a-z]|[ivx]{1,4})[.)\]]$", re.IGNORECASE)  # "2." of a list in prose
_INITIAL = re.compile(r"^[A-Z]\.$")  # "J. Smith"
_DOTTED = re.compile(r"^(?:[A-Za-z]\.){2,}$")  # "U.S.", "e.g." written without the list
# Characters that are invisible or reorder what is shown (bidi overrides can make text read backwards):
# nothing a quote needs, and a way for a hostile post to disguise what it says.
_HIDDEN = re.compile("[\x00-\x08\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
# A quote must say something beyond the paper's name: at least this many words once title, anchor and the
# words of a bare reference ("[pdf] [code]", "arXiv 2017") go.
MIN_OWN_WORDS = 2
_LINK_WORDS = frozenset(
    "pdf code paper papers arxiv abs html link links here github project page website slides video poster blog "
    "post preprint doi pp vol proceedings openreview pmlr acl neurips icml iclr cvpr emnlp naacl aaai et al".split()
)


class _Unit(NamedTuple):
    """A sentence of the context; `cut_start`/`cut_end` when the store cut it there (the "…" ends)."""

    start: int
    end: int
    cut_start: bool
    cut_end: bool


def _clean(text: str) -> str:
    """One space between words and no invisible controls: offsets into this text are what the cuts use."""
    return " ".join(_HIDDEN.sub("", text).split())


def _ends_here(text: str, at: int, punct: str) -> bool:
    """Whether terminal punctuation `punct`, ending at `at`, ends a sentence: not the full stop of an
    abbreviation ("e.g.", "et al.", "Fig.") or an initial ("J. Smith")."""
    if not punct.endswith("."):
        return True  # "!", "?", "…"
    word = text[:at].rsplit(" ", 1)[-1].lstrip(_OPENERS)
    return not (word.lower() in ABBREVIATIONS or _INITIAL.match(word) or _DOTTED.match(word))


def _is_boundary(text: str, match: re.Match[str]) -> bool:
    """Whether the punctuation at `match` ends a sentence: a capital (or digit) follows and it ends one."""
    rest = text[match.end() :].lstrip(_OPENERS)
    if not rest or not (rest[0].isupper() or rest[0].isdigit()):
        return False
    punct = match.group().rstrip().rstrip(_CLOSERS)
    return _ends_here(text, match.start() + len(punct), punct)


def _ends_whole(text: str) -> bool:
    """Whether `text` ends with a whole sentence: the store's cut fell just after one ("skills.…")."""
    m = _LAST_END.search(text)
    return m is not None and _ends_here(text, m.end(), m.group())


def _units(text: str, cut_start: bool, cut_end: bool) -> list[_Unit]:
    """The sentences of `text` as spans; the first and last carry the store's cuts, the ones quoted only if
    the anchor is in them."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _END.finditer(text):
        if _is_boundary(text, m):
            spans.append((start, m.start() + len(m.group().rstrip())))
            start = m.end()
    spans.append((start, len(text)))
    last = len(spans) - 1
    return [_Unit(a, b, cut_start and n == 0, cut_end and n == last) for n, (a, b) in enumerate(spans) if b > a]


def _find(text: str, *needles: str | None) -> tuple[int, int] | None:
    """Where the first of `needles` found (any case, any spacing) stands in `text` (its spaces collapsed).

    A plain search of lower-cased strings: a pattern per anchor cost more to compile than the rest of a
    quote. Where lower-casing changes a string's length ("İ"), a case-blind pattern keeps the offsets right."""
    lowered = text.lower()
    for needle in needles:
        wanted = " ".join((needle or "").split())
        if not wanted:
            continue
        if len(lowered) == len(text) and len(wanted.lower()) == len(wanted):
            at = lowered.find(wanted.lower())
            if at >= 0:
                return at, at + len(wanted)
        else:
            m = re.search(re.escape(wanted), text, re.IGNORECASE)
            if m:
                return m.start(), m.end()
    return None


def _word_cut(text: str, at: tuple[int, int] | None, budget: int) -> tuple[int, int] | None:
    """A window of at most `budget` characters of `text`, starting and ending at word boundaries, holding
    the anchor at `at` where it can (a third of the room before it, as the store cut the context);
    None if no whole word fits."""
    if len(text) <= budget:
        return 0, len(text)
    anchor = at[0] if at else 0
    start = max(0, min(anchor - budget // 3, len(text) - budget))
    end = start + budget
    if start > 0 and text[start - 1] != " ":
        nxt = text.find(" ", start)
        if nxt < 0 or nxt >= end:
            return None
        start = nxt + 1
    if end < len(text) and text[end] != " ":
        cut = text.rfind(" ", start, end)
        if cut <= start:
            return None
        end = cut
    while end > start and text[end - 1] in " ,;:-(\u2013\u2014":  # a clause left hanging: no "word,…"
        end -= 1
    return (start, end) if end > start else None


def _norm_words(text: str) -> str:
    """Lower-case words without punctuation, space-separated and padded, for comparing titles and contexts."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " " + " ".join(re.sub(r"[\W_]+", " ", folded).split()) + " "


def adds_nothing(quote: str, *names: str | None) -> bool:
    """Whether `quote` only repeats the paper's name (title or anchor): a bare list item "Attention Is All You
    Need [pdf]" says nothing a card's title does not, so the card shows no quote."""
    rest = _norm_words(quote)
    for name in sorted((n for n in names if n), key=len, reverse=True):
        norm = _norm_words(name)
        if norm.strip():
            rest = rest.replace(norm, " ")
    own = [w for w in rest.split() if any(c.isalpha() for c in w) and w not in _LINK_WORDS]
    return len(own) < MIN_OWN_WORDS


def quote(
    context: str | None, *, anchor: str | None = None, title: str | None = None, limit: int = QUOTE_CHARS
) -> str | None:
    """The post's words about the paper, at most `limit` characters, or None when it has none worth showing.

    A context that is whole and fits is shown as it is. Otherwise the sentences kept are the one holding the
    anchor (else the title; else the first whole one) and as many whole neighbours as fit; a half sentence
    the store cut is kept only when the anchor is in it, marked "…" where cut. A sentence longer than
    `limit` is cut at words around the anchor, with "…"; a single word longer than that gives no quote.
    """
    if not context:
        return None
    text = _clean(context)
    cut_start, cut_end = text.startswith(CUT), text.endswith(CUT)
    text = text.strip(CUT + " ")
    if not text:
        return None
    cut_end = cut_end and not _ends_whole(text)
    if not (cut_start or cut_end) and len(text) <= limit:
        return None if adds_nothing(text, title, anchor) else _announcing(text)
    units = _units(text, cut_start, cut_end)
    at = _find(text, anchor, title)
    whole = [n for n, u in enumerate(units) if not (u.cut_start or u.cut_end)]
    if at is not None:
        first = next(n for n, u in enumerate(units) if u.end > at[0])
        last = next(n for n, u in enumerate(units) if u.end >= at[1])
    else:
        first = last = whole[0] if whole else 0

    def size(a: int, b: int) -> int:
        """Characters of units a..b joined by spaces, with the "…" either cut end adds."""
        return units[b].end - units[a].start + units[a].cut_start + units[b].cut_end

    if size(first, last) <= limit:
        grew = True
        while grew:  # the next sentence first (what the post goes on to say), then the one before
            grew = False
            if last + 1 < len(units) and not units[last + 1].cut_end and size(first, last + 1) <= limit:
                last, grew = last + 1, True
            if first > 0 and not units[first - 1].cut_start and size(first - 1, last) <= limit:
                first, grew = first - 1, True
        # A list's "2." is a sentence to the splitter, but no quote should begin or end on one.
        while first < last and _ENUMERATOR.match(text[units[first].start : units[first].end]):
            first += 1
        while last > first and _ENUMERATOR.match(text[units[last].start : units[last].end]):
            last -= 1
        out = (
            (CUT if units[first].cut_start else "")
            + text[units[first].start : units[last].end]
            + (CUT if units[last].cut_end else "")
        )
    else:  # the anchor's sentence alone is too long: words around the anchor
        start, end = units[first].start, units[last].end
        span = text[start:end]
        local = (at[0] - start, at[1] - start) if at is not None else None
        window = _word_cut(span, local, limit - 2)
        if window is None:
            return None
        a, b = window
        out = (
            (CUT if a > 0 or units[first].cut_start else "")
            + span[a:b]
            + (CUT if b < len(span) or units[last].cut_end else "")
        )
    return None if adds_nothing(out, title, anchor) else _announcing(out)


def _announcing(quote: str) -> str:
    """A quote ending on a colon announces words it does not hold (a post's "this paper says:" before a
    blockquote, which is another block): end it with "…", as a cut, not with a colon that leads nowhere."""
    return quote[:-1].rstrip() + CUT if quote.endswith(":") else quote
