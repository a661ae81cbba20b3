"""Math in posts (issue 17): what of MathML the sanitiser keeps, how the math engines' output is brought to
MathML with its TeX before sanitising, and how math, `<sup>` and `<sub>` read as text.

Research blogs publish math in a handful of shapes: KaTeX (MathML with a TeX annotation, plus a visual copy in
spans), MathJax 2 (`<script type="math/tex">`, plus previews and rendered frames), MathJax 3 (custom elements
that draw glyphs with CSS, plus assistive MathML), Substack's LaTeX blocks (an empty div whose TeX is in a JSON
attribute), Distill's `<d-math>`, MathJax pages rendered on the server (LessWrong: the TeX in an aria-label), raw
MathML, and formula images whose alt text is the TeX. The stored HTML keeps presentation MathML (browsers draw
it); everything that reads text (excerpts, the e-mail's text part, search) reads the TeX source when one is
given, else the MathML's text in reading order, between TeX's own inline delimiters \\( \\) (display: \\[ \\]),
which a digest's HTML shows as `<code>`.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser, LexborNode

# --- the allowlist ---------------------------------------------------------------------------------------------

# Presentation MathML as MathML Core draws it (the lists of Miniflux and DOMPurify agree on these), with
# `semantics` and `annotation` for the TeX source. Not here: `maction` (its actions include a status line and
# toggles; before sanitising it is replaced by its first child, and any left is dropped with its content),
# `annotation-xml` (an HTML integration point: dropped with its content), `mglyph` and `malignmark` (the
# classic namespace-confusion payloads), the MathML 3 elementary math (`mstack`, `mlongdiv`: no browser draws
# them).
MATHML_TAGS = frozenset(
    {
        "math",
        "mi",
        "mn",
        "mo",
        "ms",
        "mtext",
        "mspace",
        "mrow",
        "mfrac",
        "msqrt",
        "mroot",
        "mstyle",
        "merror",
        "mpadded",
        "mphantom",
        "menclose",
        "mfenced",
        "msub",
        "msup",
        "msubsup",
        "munder",
        "mover",
        "munderover",
        "mmultiscripts",
        "mprescripts",
        "none",
        "mtable",
        "mtr",
        "mtd",
        "mlabeledtr",
        "semantics",
        "annotation",
    }
)
MATHML_DROP_WITH_CONTENT = frozenset({"annotation-xml", "maction"})
# Layout attributes only: no href or xlink:* (links belong in <a>, whose URLs are checked), no id or class, no
# style, mathcolor, mathbackground or mathsize (our HTML keeps no colours or styles anywhere).
_SCRIPTING = {"mathvariant", "displaystyle", "scriptlevel", "dir"}
MATHML_ATTRIBUTES: dict[str, set[str]] = {
    "math": {"display", "dir", "displaystyle"},
    "mi": {"mathvariant", "dir"},
    "mn": {"mathvariant", "dir"},
    "mtext": {"mathvariant", "dir"},
    "ms": {"mathvariant", "dir", "lquote", "rquote"},
    "mo": {
        "mathvariant",
        "dir",
        "form",
        "fence",
        "separator",
        "stretchy",
        "symmetric",
        "largeop",
        "movablelimits",
        "accent",
        "lspace",
        "rspace",
        "minsize",
        "maxsize",
    },
    "mspace": {"width", "height", "depth"},
    "mpadded": {"width", "height", "depth", "lspace", "voffset"},
    "mstyle": set(_SCRIPTING),
    "mrow": {"dir"},
    "mfrac": {"linethickness"},
    "munder": {"accentunder"},
    "mover": {"accent"},
    "munderover": {"accent", "accentunder"},
    "menclose": {"notation"},
    "mfenced": {"open", "close", "separators"},
    "mtable": {
        "columnalign",
        "rowalign",
        "columnlines",
        "rowlines",
        "columnspacing",
        "rowspacing",
        "frame",
        "displaystyle",
    },
    "mtr": {"columnalign", "rowalign"},
    "mlabeledtr": {"columnalign", "rowalign"},
    "mtd": {"columnspan", "rowspan", "columnalign", "rowalign"},
    "annotation": {"encoding"},
}
TEX_ENCODINGS = frozenset({"application/x-tex", "text/x-tex", "tex", "latex", "application/x-latex", "text/latex"})

# --- before sanitising -----------------------------------------------------------------------------------------

# Only a body holding one of these tags is parsed and rewritten before sanitising. The engines write them exactly
# so (class or type first, double quotes), and one pattern that begins with "<" is one pass over the body, where
# a substring search per marker is a whole pass each when the marker is absent.
_NEEDS_PREPARING = re.compile(
    r'<(?:maction|d-math|span class="(?:katex|mjx-chtml)|div class="latex-rendered|'
    r'script type="math/tex)'
)
_MATHJAX2_COPIES = (
    ".MathJax_Preview, .MathJax_Display, .MathJax_SVG_Display, .MathJax_MathML, .MJX_Assistive_MathML,"
    ' [id^="MathJax-Element-"][id$="-Frame"]'
)
_CDATA_GUARD = re.compile(r"^\s*%?\s*<!\[CDATA\[|%?\s*\]\]>\s*$")


def needs_preparing(html: str) -> bool:
    """Whether a raw body holds math in a shape the sanitiser alone would lose or double."""
    return _NEEDS_PREPARING.search(html) is not None


# Parsed, serialised and parsed again by another parser, markup can change meaning (mutation XSS: text in a
# <style> inside an <mglyph> inside <mtext> is text to one parse and an <img> to the next). So before a prepared
# body is serialised, every element the sanitiser drops with its content goes, and with it every raw-text element
# and the namespace-confusion ones: what is left is ordinary elements and escaped text, which parse back the same.
REPARSE_UNSAFE = frozenset(
    {
        "mglyph",
        "malignmark",
        "xmp",
        "noembed",
        "noframes",
        "plaintext",
        "iframe",
        "noscript",
        "script",
        "style",
        "textarea",
        "title",
        "template",
        "svg",
        "annotation-xml",
    }
)


def prepare(html: str, drop: str) -> str:
    """A raw body with each math engine's output brought to MathML with its TeX (see `normalise`), serialised
    for the sanitiser; the body unchanged when there is nothing to rewrite. `drop`: a selector of the elements
    the sanitiser drops with their content (with REPARSE_UNSAFE), removed before serialising."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser("<body>" + html)  # in body context, so a leading <script> is not moved to <head>
    if not normalise(tree) or tree.body is None:
        return html
    for node in tree.body.css(drop):
        node.decompose()
    return tree.body.inner_html or ""


def normalise(tree: LexborHTMLParser) -> bool:
    """Rewrite, in place, every math engine's output to MathML that keeps its TeX; whether anything changed.

    KaTeX's visual copy (`.katex-html`) goes, or a formula would read twice; its display wrapper marks its
    MathML as a block. MathJax 2's scripts become MathML and its previews and rendered frames go. `maction` is
    replaced by its first child. Substack's LaTeX blocks, Distill's `<d-math>` and server-rendered MathJax
    (its TeX in the aria-label of `.mjx-math`) become MathML holding their TeX."""
    changed = False
    for node in tree.css(".katex-display math"):
        node.attrs["display"] = "block"
        changed = True
    for node in tree.css(".katex-html"):
        node.decompose()
        changed = True
    scripts = tree.css('script[type^="math/tex"]')
    if scripts:
        for node in tree.css(_MATHJAX2_COPIES):
            node.decompose()
        for node in scripts:
            tex = _CDATA_GUARD.sub("", node.text(deep=True)).strip()
            node.replace_with(_math_node(tex, "mode=display" in (node.attributes.get("type") or "")))
        changed = True
    for node in reversed(tree.css("maction")):  # innermost first
        first = next(iter(node.iter(include_text=False)), None)
        if first is not None:
            node.replace_with(first)
        else:
            node.decompose()
        changed = True
    for node in tree.css("div.latex-rendered[data-attrs]"):
        substack = _substack_tex(node.attributes.get("data-attrs") or "")
        if substack:
            node.replace_with(_math_node(substack, True))
            changed = True
    for node in tree.css("d-math"):
        node.replace_with(_math_node(node.text(deep=True).strip(), "block" in node.attributes))
        changed = True
    for node in tree.css(".mjx-chtml"):
        label = node.css_first(".mjx-math[aria-label]")
        if label is not None:
            display = "MJXc-display" in (node.attributes.get("class") or "")
            node.replace_with(_math_node((label.attributes.get("aria-label") or "").strip(), display))
            changed = True
    return changed


def _substack_tex(data_attrs: str) -> str | None:
    """The TeX of a Substack LaTeX block: `persistentExpression` in its JSON `data-attrs`."""
    try:
        value = json.loads(data_attrs).get("persistentExpression")
    except (ValueError, AttributeError):
        return None
    return value.strip() if isinstance(value, str) and value.strip() else None


def _math_node(tex: str, display: bool) -> LexborNode:
    """MathML holding a TeX source: shown as its source (an `mtext`) where no engine drew it, and read as TeX
    through its annotation like KaTeX's."""
    from selectolax.lexbor import LexborHTMLParser

    text = html_lib.escape(tex, quote=False)
    block = ' display="block"' if display else ""
    node = LexborHTMLParser(
        f'<math{block}><semantics><mtext>{text}</mtext><annotation encoding="application/x-tex">'
        f"{text}</annotation></semantics></math>"
    ).css_first("math")
    assert node is not None
    return node


# --- math as text ------------------------------------------------------------------------------------------------

INLINE = ("\\(", "\\)")
DISPLAY = ("\\[", "\\]")
# A display formula in one of these is part of its text; elsewhere it becomes a paragraph of its own, so that an
# excerpt (which reads paragraphs) reads it between the sentences around it.
_PROSE = frozenset(
    {
        "p",
        "li",
        "blockquote",
        "pre",
        "figure",
        "figcaption",
        "td",
        "th",
        "dt",
        "dd",
        "caption",
        "summary",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "a",
    }
)


def math_as_text(root: LexborNode | LexborHTMLParser) -> None:
    """Replace every `<math>` under `root` by its TeX between delimiters, as text (a paragraph for a display
    formula outside prose), so that lexbor's text extraction reads it in place and once."""
    from selectolax.lexbor import LexborHTMLParser

    parents = {}
    for node in reversed(root.css("math")):  # innermost first: a nested <math> is read with its parent
        tex, display = tex_of(node)
        opening, closing = DISPLAY if display else INLINE
        text = f"{opening}{tex}{closing}" if tex else ""
        parent = node.parent
        if display and text and not _within_prose(node):
            paragraph = LexborHTMLParser("<p></p>").css_first("p")
            assert paragraph is not None
            paragraph.insert_child(text)
            node.replace_with(paragraph)
        elif text:
            node.replace_with(text)
            if parent is not None:
                parents[parent.mem_id] = parent
        else:
            node.decompose()
    for parent in parents.values():
        parent.merge_text_nodes()  # "(" + "\(f\)" + ")" is one text: no separator goes between them


def _within_prose(node: LexborNode) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag in _PROSE:
            return True
        parent = parent.parent
    return False


def tex_of(node: LexborNode) -> tuple[str, bool]:
    """A `<math>` element's TeX (its TeX annotation, whitespace folded) or else its text in reading order, and
    whether it is a display formula."""
    display = (node.attributes.get("display") or "").lower() == "block"
    for annotation in node.css("annotation"):
        if (annotation.attributes.get("encoding") or "").strip().lower() in TEX_ENCODINGS:
            return " ".join(annotation.text(deep=True).split()), display
    return " ".join(_linear(node).split()), display


_TOKENS = frozenset({"mi", "mn", "mo", "mtext", "ms"})
_SCRIPTS = frozenset({"msub", "msup", "msubsup", "munder", "mover", "munderover", "mmultiscripts"})
_SILENT = frozenset({"annotation", "annotation-xml", "mphantom", "none", "mprescripts"})
# Math symbols on purpose here and below (RUF001: "ambiguous" characters): MathML writes U+2212 for minus, and so on.
# fmt: off
_SPACED = frozenset({"=", "<", ">", "≤", "≥", "≠", "≈", "≡", "∼", "≃", "≅", "∝", "→", "←", "↦", "⇒", "⇔", "⟹", "∈",  # noqa: RUF001
                     "∉", "⊂", "⊆", "⊃", "⊇", "+", "−", "-", "±", "∓", "×", ":=", "∧", "∨"})  # noqa: RUF001
# fmt: on
_PRIMES = frozenset({"′", "″", "‴", "'"})  # noqa: RUF001
_OPERATORS = re.compile(r"[\s+\-−=<>/,±×≤≥≠≈]")  # noqa: RUF001


def _linear(node: LexborNode) -> str:
    """MathML as a line of text: tokens in order, scripts as ^{…} and _{…}, fractions as a/b, roots as √(…)."""
    tag = node.tag
    if tag in _TOKENS:
        return " ".join(node.text(deep=True).split())
    if tag == "mspace":
        return " "
    if tag in _SILENT:
        return ""
    children = [child for child in node.iter(include_text=False)]
    if tag == "semantics":
        return _linear(children[0]) if children else ""
    parts = [_linear(child) for child in children]
    if tag in _SCRIPTS and parts:
        return _scripts(tag, parts)
    if tag == "mfrac" and len(parts) == 2:
        return f"{_parenthesised(parts[0])}/{_parenthesised(parts[1])}"
    if tag == "msqrt":
        return "√" + _parenthesised(_row(children, parts))
    if tag == "mroot" and len(parts) == 2:
        return f"√[{parts[1]}]{_parenthesised(parts[0])}"
    if tag == "mtable":
        return "[" + "; ".join(parts) + "]"
    if tag in ("mtr", "mlabeledtr"):
        return ", ".join(parts)
    if tag == "mfenced":
        separator = (node.attributes.get("separators") or ",")[:1]
        opening = node.attributes.get("open") or "("
        closing = node.attributes.get("close") or ")"
        return opening + f"{separator} ".join(parts) + closing
    return _row(children, parts)


def _row(children: list[LexborNode], parts: list[str]) -> str:
    """Children side by side; relations and binary operators spaced (not a leading sign), a space after a
    script when a letter follows (∑_j e, not ∑_je)."""
    out: list[str] = []
    after_script = False
    for index, (child, part) in enumerate(zip(children, parts, strict=True)):
        if not part:
            continue
        if child.tag == "mo" and part in _SPACED and index > 0:
            out.append(f" {part} ")
        elif child.tag == "mo" and part == ",":
            out.append(", ")
        else:
            if after_script and part[:1].isalnum():
                out.append(" ")
            out.append(part)
        after_script = child.tag in _SCRIPTS
    return "".join(out)


def _scripts(tag: str, parts: list[str]) -> str:
    base, rest = parts[0], parts[1:]
    if tag in ("msup", "mover"):
        return base + _script("^", rest[0] if rest else "")
    if tag in ("msub", "munder"):
        return base + _script("_", rest[0] if rest else "")
    if tag in ("msubsup", "munderover") and len(rest) >= 2:
        return base + _script("_", rest[0]) + _script("^", rest[1])
    pairs = zip(rest[::2], rest[1::2], strict=False)  # mmultiscripts: sub, sup, sub, sup...
    return base + "".join(_script("_", sub) + _script("^", sup) for sub, sup in pairs)


def _script(mark: str, text: str) -> str:
    if not text:
        return ""
    if mark == "^" and text in _PRIMES:
        return text
    return f"{mark}{text}" if len(text) == 1 else f"{mark}{{{text}}}"


def _parenthesised(text: str) -> str:
    return f"({text})" if len(text) > 1 and _OPERATORS.search(text) else text


# --- <sup> and <sub> in prose ----------------------------------------------------------------------------------

_SUPERSCRIPT_CHARS = "0123456789+-−=()ni"  # noqa: RUF001
_SUPERSCRIPTS = str.maketrans(_SUPERSCRIPT_CHARS, "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ⁿⁱ")
_SUBSCRIPT_CHARS = "0123456789+-−=()"  # noqa: RUF001
_SUBSCRIPTS = str.maketrans(_SUBSCRIPT_CHARS, "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎")
_ORDINALS = frozenset({"st", "nd", "rd", "th"})
_MARKS = frozenset({"TM", "SM", "™", "®", "©"})
_WORD = re.compile(r"[A-Za-z0-9]+|.")


def script_text(text: str, *, superscript: bool, after_digit: bool) -> str:
    """How a `<sup>` or `<sub>` reads in plain text: Unicode super- or subscripts where every character has one
    (O(n²), H₂O, 10⁻³), else ^ or _ before the text, parenthesised unless it is one word (X^T, e^(iπ)); an
    ordinal after a digit (21st) and a trademark sign read as they are."""
    if superscript and ((after_digit and text.lower() in _ORDINALS) or text in _MARKS):
        return text
    chars, table, mark = (
        (_SUPERSCRIPT_CHARS, _SUPERSCRIPTS, "^") if superscript else (_SUBSCRIPT_CHARS, _SUBSCRIPTS, "_")
    )
    if all(ch in chars for ch in text):
        return text.translate(table)
    return mark + (text if _WORD.fullmatch(text) else f"({text})")


# --- formula images ------------------------------------------------------------------------------------------

# Services that draw TeX as an image, its alt text the TeX: WordPress's latex.php (WordPress.com and the WP LaTeX
# plugin), CodeCogs and QuickLaTeX. Every such address holds "latex", which a selector finds in lexbor's C.
_FORMULA_SOURCES = ("latex.php?", "latex.codecogs.com/", "quicklatex.com/")
FORMULA_IMAGES = 'img[alt][src*="latex"]'


def is_formula_image(src: str | None) -> bool:
    return bool(src) and any(source in src for source in _FORMULA_SOURCES)  # type: ignore[operator]
