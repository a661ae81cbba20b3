"""Sanitise untrusted HTML with an allowlist (nh3) and turn it into plain text and an excerpt."""

from __future__ import annotations

import functools
import html as html_lib
import re
from typing import TYPE_CHECKING, TypedDict

from digest.clean import math
from digest.clean.urls import may_track, strip_tracking

if TYPE_CHECKING:
    from collections.abc import Iterator

    import nh3
    from selectolax.lexbor import LexborHTMLParser, LexborNode

# Everything else is dropped with its content, not just its tags: nothing inside these is prose. MathML is kept
# (math.MATHML_TAGS), except its HTML integration point and its actions.
DROP_WITH_CONTENT = frozenset(
    {
        "script",
        "style",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "form",
        "button",
        "input",
        "select",
        "textarea",
        "option",
        "svg",
        "noscript",
        "template",
        "canvas",
        "audio",
        "video",
        "source",
        "track",
        "head",
        "title",
        "meta",
        "link",
        "base",
        *math.MATHML_DROP_WITH_CONTENT,
    }
)
HTML_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "cite",
        "code",
        "col",
        "colgroup",
        "dd",
        "del",
        "details",
        "dfn",
        "div",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "ins",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "summary",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "time",
        "tr",
        "u",
        "ul",
        "var",
        "wbr",
    }
)
ALLOWED_TAGS = HTML_TAGS | math.MATHML_TAGS
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
    "time": {"datetime"},
    "abbr": {"title"},
    **math.MATHML_ATTRIBUTES,
}
_DROPPED_BEFORE_REPARSE = ", ".join(sorted(DROP_WITH_CONTENT | math.REPARSE_UNSAFE))
_TRACKING_PIXEL = re.compile(r"<img\b[^>]*\b(?:width|height)=\"[01]\"[^>]*>", re.IGNORECASE)
_CLOSING_PUNCT = ",.;:!?)]"


def _fold(text: str) -> str:
    """Fold whitespace; text() joins inline nodes with spaces, so close up before punctuation. (Folded text
    has single spaces only: a few str.replace calls, where a pattern starting with a whitespace class was
    tried at every position of every paragraph.)"""
    folded = " ".join(text.split())
    for mark in _CLOSING_PUNCT:
        if " " + mark in folded:
            folded = folded.replace(" " + mark, mark)
    return folded


# Only links whose query names a parameter that can be tracking are looked at more closely. Two steps, each
# cheap: links with a query at all, then that query's parameter names (one pattern over the whole document,
# with the names inside it, backtracked through every link). The link must be in an
# <a> tag: text (a <code> sample of HTML) can hold href="..." too, and text is never rewritten; in
# sanitised HTML a "<" in text is always escaped, so the last "<" before the link starts its tag. The pattern
# begins with a literal, which the regex engine jumps between; one that began at "<a\s" (or with "\b") was
# tried at every position: ~18 (or ~50) us an item against ~5.
_HREF_WITH_QUERY = re.compile(r'href="([^"?&;]*[?&;][^"]*)"')
_A_TAG = re.compile(r"<a\s")
_TRACKING_PARAM = may_track()


def in_a_start_tag(html: str, at: int) -> bool:
    """Whether `at` in sanitised HTML is inside an <a> start tag. ammonia escapes "<" and ">" in text and in
    attribute values alike, and keeps no attribute but href, title and rel on a link (none named like
    "data-href"), so the last "<" before `at` opens the tag `at` is in, if no ">" has closed it since."""
    lt = html.rfind("<", 0, at)
    return lt >= 0 and _A_TAG.match(html, lt) is not None and ">" not in html[lt:at]


def _detrack(match: re.Match[str]) -> str:
    if not _TRACKING_PARAM.search(match.group(1)) or not in_a_start_tag(match.string, match.start()):
        return match.group(0)
    cleaned = _detracked_value(match.group(1))
    return match.group(0) if cleaned is None else f'href="{cleaned}"'


@functools.lru_cache(maxsize=4096)  # share links and the week's papers recur across a feed's posts
def _detracked_value(value: str) -> str | None:
    """An escaped href value without its tracking parameters, or None when it has none to lose."""
    raw = html_lib.unescape(value)
    cleaned = strip_tracking(raw)
    return None if cleaned == raw else html_lib.escape(cleaned, quote=True)


def _base_for(url: str | None) -> str | None:
    """nh3 resolves relative links against an absolute http(s) base; anything else cannot serve as one."""
    from urllib.parse import urlsplit

    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


# Relative links are the only part of cleaning that needs the item's own base URL, and ammonia leaves
# absolute links as written whatever its policy for relative ones. So a body is cleaned first by one cleaner
# built once, which passes relative links through; only if its output holds one (its serialiser writes every
# attribute as ` name="value"`, so a look for href and src values that do not start absolute is exact) is the
# body cleaned again by nh3.clean against its base: nh3.clean builds ammonia's settings again on every call,
# which costs more than the shared cleaner and the look together.
_LINK_ATTRIBUTES = (' href="', ' src="')
_ABSOLUTE = ("http://", "https://", "mailto:")


def _holds_relative_link(cleaned: str) -> bool:
    """Whether ammonia's output has an href or src whose value does not start absolute (str.find: a pattern
    starting with a space stopped at every space of the document)."""
    for attribute in _LINK_ATTRIBUTES:
        at = cleaned.find(attribute)
        while at != -1:
            value = at + len(attribute)
            if not cleaned.startswith(_ABSOLUTE, value):
                return True
            at = cleaned.find(attribute, value)
    return False


class _Settings(TypedDict):
    tags: set[str]
    clean_content_tags: set[str]
    attributes: dict[str, set[str]]
    url_schemes: set[str]
    link_rel: str
    strip_comments: bool


def _settings() -> _Settings:
    """ammonia's settings apart from the relative-link policy; fresh sets each time (nh3 takes them over)."""
    return _Settings(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROP_WITH_CONTENT),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


@functools.cache
def _shared_cleaner() -> nh3.Cleaner:
    import nh3

    return nh3.Cleaner(**_settings(), url_relative="pass_through")


def ammonia_clean(html: str, base_url: str | None) -> str:
    """nh3.clean(html) with our settings and relative links made absolute against `base_url` (dropped
    without one), at the cost of a cleaner built once when the body has no relative link."""
    cleaned = str(_shared_cleaner().clean(html))
    if _holds_relative_link(cleaned):
        import nh3

        base = _base_for(base_url)
        relative = ("rewrite_with_base", base) if base else "deny"
        cleaned = nh3.clean(html, **_settings(), url_relative=relative)  # type: ignore[arg-type]
    return cleaned


# Distill's footnotes (distill.pub, the ICLR blog track) are inline elements holding a whole sentence: the sanitiser
# keeps their text and drops the tag, which glued it to the word before ("relationshipsIt largely follows"). Read
# as an aside in parentheses instead; the text, and any paper link in it, stays.
_FOOTNOTE_ELEMENT = re.compile(r"<(/?)d-footnote\b[^>]*>", re.IGNORECASE)


def sanitize_html(html: str | None, *, base_url: str) -> str:
    """Untrusted HTML -> HTML safe to show anywhere: allowlisted tags, absolute de-tracked links.

    nh3 (ammonia) absolutises links and applies the scheme allowlist itself, after its URL parser has
    normalised obfuscations such as "jav&#x09;ascript:"; only tracking parameters are ours to remove.
    """
    if not html:
        return ""
    if "d-footnote" in html:
        html = _FOOTNOTE_ELEMENT.sub(lambda m: ")" if m.group(1) else " (", html)
    if math.needs_preparing(html):  # KaTeX's visual copy, MathJax 2's scripts...: see math.normalise
        html = math.prepare(html, _DROPPED_BEFORE_REPARSE)
    cleaned = ammonia_clean(html, base_url)
    if "?" in cleaned:
        cleaned = _HREF_WITH_QUERY.sub(_detrack, cleaned)
    # 1x1 images are tracking beacons, never content. Attribute values come out of ammonia double-quoted.
    if "<img" in cleaned and ('="1"' in cleaned or '="0"' in cleaned):
        return _TRACKING_PIXEL.sub("", cleaned)
    return cleaned


def html_to_text(html: str | None) -> str:
    """Visible text of an HTML fragment (raw or sanitised), whitespace folded to single spaces; math as its TeX,
    <sup>/<sub> as scripts, footnote markers dropped."""
    if not html:
        return ""
    if "<" not in html and "&" not in html:
        return _fold(html)
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    if math.needs_preparing(html):  # a raw summary: KaTeX's visual copy, MathJax 2's scripts
        math.normalise(tree)
    for node in tree.css("script, style"):
        node.decompose()
    glued = _read_as_text(tree)
    root = tree.body or tree.root
    return _folded(root.text(separator=" ") if root else "", glued)


# text(separator=" ") puts a space between any two text nodes: "H", "2", "O" would read "H 2 O". A <sup>/<sub> or
# formula image becomes text between two of these marks (a noncharacter, never in real text); the separators
# next to them are then taken out, so a script joins the word it belongs to and keeps the spaces its source had.
_GLUE = "\ufdd0"


def _folded(text: str, glued: bool) -> str:
    if glued:
        text = text.replace(" " + _GLUE, "").replace(_GLUE + " ", "").replace(_GLUE, "")
    return _fold(text)


_READ_AS_TEXT = f"math, sup, sub, {math.FORMULA_IMAGES}"


def _read_as_text(tree: LexborHTMLParser) -> bool:
    """Prepare a parsed tree for text extraction: math becomes its TeX (math.math_as_text), a <sup> holding a
    footnote link goes (Pandoc's link holding a <sup> too), other <sup>/<sub> and formula images become glued
    text. Whether anything was glued (see _GLUE). Found by one lexbor query (none of it in Python), not by a
    substring search of the HTML per kind of node."""
    found = tree.css(_READ_AS_TEXT)
    if not found:
        return False
    if any(node.tag == "math" for node in found):
        math.math_as_text(tree)
        found = tree.css(_READ_AS_TEXT)  # a <sup> in a formula's <mtext> went with it
    if any(node.tag == "sup" for node in found) and _drop_pandoc_footnote_markers(tree):
        found = tree.css(_READ_AS_TEXT)
    glued = False
    for node in reversed(found):  # innermost first
        if node.tag == "img":
            alt = " ".join((node.attributes.get("alt") or "").split())
            if alt and math.is_formula_image(node.attributes.get("src")):
                opening, closing = math.INLINE
                node.replace_with(f"{_GLUE}{opening}{alt}{closing}{_GLUE}")
                glued = True
            continue
        if node.tag == "sup" and node.css_first('a[href*="#"]') is not None:
            node.decompose()  # a footnote marker: a stray digit in running text
            continue
        text = " ".join(node.text(deep=True).replace(_GLUE, "").split())
        if not text:
            node.decompose()
            continue
        before = node.prev
        after_digit = before is not None and (before.text_content or "")[-1:].isdigit()
        node.replace_with(
            _GLUE + math.script_text(text, superscript=node.tag == "sup", after_digit=after_digit) + _GLUE
        )
        glued = True
    return glued


def _drop_pandoc_footnote_markers(tree: LexborHTMLParser) -> bool:
    """Pandoc's footnote marker is a link holding only a <sup>; whether any went."""
    dropped = False
    for node in tree.css('a[href*="#"] > sup'):
        link = node.parent
        if link is not None and link.text(deep=True).strip() == node.text(deep=True).strip():
            link.decompose()
            dropped = True
    return dropped


def excerpt_of(html: str | None, *, limit: int = 320) -> str:
    """The opening prose of a post: paragraph text, skipping image captions, cut at a word boundary."""
    if not html:
        return ""
    from selectolax.lexbor import LexborHTMLParser

    return excerpt_from(LexborHTMLParser(html), html, limit=limit)


def excerpt_from(tree: LexborHTMLParser, html: str, *, limit: int = 320) -> str:
    """excerpt_of on a parsed tree. It rewrites the tree (footnote markers go, math and scripts become text):
    call it last."""
    # Footnote markers read as stray digits in running text (Substack's are links without a <sup>).
    for node in tree.css('a[href*="#footnote"]'):
        node.decompose()
    glued = _read_as_text(tree)
    parts: list[str] = []
    size = 0
    for node in tree.css("p, li, blockquote, pre"):
        if any(p.tag in ("figcaption", "figure", "li", "blockquote") for p in _ancestors(node)):
            continue
        text = _folded(node.text(separator=" "), glued)
        if not text:
            continue
        parts.append(text)
        size += len(text) + 1
        if size > limit:
            break
    text = " ".join(parts) if parts else html_to_text(html)
    return truncate(text, limit)


def _ancestors(node: LexborNode) -> Iterator[LexborNode]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def truncate(text: str, limit: int) -> str:
    """`text` cut at a word boundary to at most `limit` characters and an ellipsis, never inside a formula (its
    HTML rendering would lose the closing delimiter)."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    if "\\" in cut:
        cut = _before_open_formula(cut)
    return cut.rstrip(" ,;:.-—") + "…"


def _before_open_formula(cut: str) -> str:
    for opening, closing in (math.INLINE, math.DISPLAY):
        at = cut.rfind(opening)
        if at != -1 and cut.find(closing, at + len(opening)) == -1:
            cut = cut[:at]
    return cut


def first_image_in(tree: LexborHTMLParser) -> str | None:
    """The post's lead image: its first image that is not a formula drawn as an image."""
    img = tree.css_first("img[src]")
    if img is not None and math.is_formula_image(img.attributes.get("src")):
        img = next((i for i in tree.css("img[src]") if not math.is_formula_image(i.attributes.get("src"))), None)
    return (img.attributes.get("src") or None) if img is not None else None
