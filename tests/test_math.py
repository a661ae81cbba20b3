"""Math survives cleaning (issue 17): MathML kept in the stored HTML, TeX in excerpts, the text part and the
search text, `<code>` spans where a formula was in the HTML e-mail, and no new XSS vector.

Every document here is a real sample (tests/fixtures/math/, sources in tests/fixtures/SOURCES.md) fed through the
real parse and clean stages, and for the store, compose and browser checks through a loopback fetch into a real
store.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from digest.clean.html import excerpt_of, html_to_text, sanitize_html, truncate
from digest.clean.items import Item, clean_items
from digest.parse.feed import parse_feed
from tests.conftest import FIXTURES, Cli, store_rows

MATH = FIXTURES / "math"
BASE = "https://blog.example/posts/math/"
WHEN = "Mon, 30 Nov 2026 08:00:00 GMT"
TEX = 'annotation encoding="application/x-tex"'
MATHML_NS = "http://www.w3.org/1998/Math/MathML"


def fixture(name: str) -> str:
    return (MATH / name).read_text(encoding="utf-8")


def rss(*bodies: tuple[str, str], link: str = "https://blog.example/") -> bytes:
    """An RSS 2.0 feed holding each (title, HTML body) as an item; the HTML is escaped, not put in CDATA (a
    MathJax 2 body holds "]]>")."""
    items = "".join(
        f"<item><title>{html_lib.escape(title)}</title><link>{link}posts/{n}/</link>"
        f"<guid isPermaLink='false'>math-{n}</guid><pubDate>{WHEN}</pubDate>"
        f"<content:encoded>{html_lib.escape(body, quote=False)}</content:encoded></item>"
        for n, (title, body) in enumerate(bodies)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
        f'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Math blog</title>'
        f"<link>{link}</link>{items}</channel></rss>"
    ).encode()


@cache
def cleaned(name: str) -> tuple[Item, ...]:
    """A fixture through the real parse and clean stages: feeds as they are, HTML bodies as one feed item."""
    body = (MATH / name).read_bytes() if name.endswith(".xml") else rss((name, fixture(name)))
    return tuple(clean_items(parse_feed(body, url="https://blog.example/feed").items))


def one(name: str) -> Item:
    [item] = cleaned(name)
    return item


def tex_annotations(html: str) -> list[str]:
    return [html_lib.unescape(m) for m in re.findall(rf"<{TEX}>(.*?)</annotation>", html, re.DOTALL)]


# --- the stored HTML keeps the math --------------------------------------------------------------------------


def test_raw_mathml_is_kept_in_the_stored_html_and_its_xlink_dropped() -> None:
    for name in ("feedparser__atommathml.xml", "feedparser__rss2.0mathml.xml"):
        item = one(name)
        assert "<math><mrow><mrow><mi>a</mi><mo>+</mo><mi>b</mi></mrow></mrow></math>" in item.content_html, name
        assert "xlink" not in item.content_html and "golem" not in item.content_html
        assert item.excerpt == r"\(a + b\)"


def test_jekyll_katex_keeps_its_mathml_once_and_loses_the_visual_copy() -> None:
    item = one("kramdown-math-katex__katex-span.html")
    assert tex_annotations(item.content_html) == ["a^2+b^2=c^2"]
    assert "<msup><mi>a</mi><mn>2</mn></msup>" in item.content_html
    assert item.content_html.count("<math") == 1
    assert "strut" not in item.content_html and "mord" not in item.content_html
    assert "a2+b2=c2" not in html_to_text(item.content_html)  # KaTeX's visual copy, read as text
    assert item.excerpt == r"Erst einmal eine Formel wie \(a^2+b^2=c^2\) innerhalb eines Satzes."


def test_katex_display_math_is_a_block_formula() -> None:
    item = one("kramdown-math-katex__katex.html")
    assert '<math display="block">' in item.content_html
    assert item.excerpt == (
        r"\[\Delta = \frac{1}{2} \begin{vmatrix}a & b & c \\ d & e & f \\ g & h & i"
        r"\end{vmatrix}\]"
    )


SOFTMAX = r"\mathrm{softmax}(x)_i = \frac{e^{x_i}}{\sum_j e^{x_j}}"
ATTENTION = r"\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\left(\frac{QK^\top}{\sqrt{d_k}}\right)V"
KATEX_EXCERPT = (
    rf"Softmax: \({SOFTMAX}\) and inline TeX such as \(O(n^2)\) read as a sentence. Scaled dot-product "
    rf"attention is \[{ATTENTION}\] where \(d_k\) is the key dimension."
)


def test_a_katex_post_reads_as_a_sentence_with_its_formulas_in_tex() -> None:
    item = one("katex-0.16.47__render.html")
    assert item.excerpt == KATEX_EXCERPT
    assert tex_annotations(item.content_html) == [SOFTMAX, "O(n^2)", ATTENTION, "d_k"]
    assert item.content_html.count("<math") == 4 and "katex" not in item.content_html


def test_mathjax2_scripts_become_mathml_holding_their_tex() -> None:
    item = one("kramdown-1.x__mathjax_span.html")
    assert "<script" not in item.content_html and "math/tex" not in item.content_html
    assert tex_annotations(item.content_html) == [r"\lambda_\alpha > 5", "1\n+ 1", "5+5", "5+5"]
    assert item.excerpt == (
        r"This is \(\lambda_\alpha > 5\) some math. With \(1 + 1\) new line characters in "
        r"between. \(5+5\) inline math, $5.00 $$no math$$ $$5+5$$ inline math \(5+5\) $$5+5$$"
    )


def test_mathjax2_display_scripts_lose_their_cdata_guard_and_read_as_blocks() -> None:
    item = one("kramdown-1.x__mathjax_block.html")
    annotations = tex_annotations(item.content_html)
    assert annotations[3] == "\\begin{align*}\n&=5 \\\\\n&=6 \\\\\n\\end{align*}"
    assert not [a for a in annotations if "CDATA" in a or "]]" in a]
    assert item.content_html.count('<math display="block">') == 9
    assert item.excerpt.startswith(
        r"This is a para. \(\text{LaTeX} \lambda_5\) \[\lambda_5 = \alpha + 4\] "
        r"\(\lambda_\alpha > 5\) This is a para. \[\begin{align*} &=5 \\ &=6 \\ "
        r"\end{align*}\] \[5+5\]"
    )


def test_mathjax2_previews_are_not_read_twice() -> None:
    assert one("kramdown-1.x__mathjax_preview.html").excerpt == r"This is a \(5 + 5\) statement \[5 + 5\]"


@pytest.mark.parametrize("name", ["mathjax-3.2.2__chtml.html", "mathjax-3.2.2__svg.html"])
def test_mathjax3_output_keeps_its_assistive_mathml_and_reads_it_in_order(name: str) -> None:
    item = one(name)
    assert item.content_html.count("<math") == 4
    assert "<svg" not in item.content_html and "mjx" not in item.content_html.lower()
    assert item.excerpt.startswith(
        r"Softmax: \(softmax(x)_i = e^{x_i}/(∑_j e^{x_j})\) and inline TeX such as "
        r"\(O(n^2)\) read as a sentence. Scaled dot-product attention is \["
    )
    assert item.excerpt.endswith(r"\] where \(d_k\) is the key dimension.")


def test_forum_mathjax_pages_give_their_aria_label_tex() -> None:
    item = one("forummagnum_mjpage.html")
    assert tex_annotations(item.content_html) == [
        "\\pi'",
        "t=1",
        r"G_t = \sum_{k=0}^\infty \gamma^k r_{t+k+1}",
        r"\gamma < 1",
    ]
    assert "MJXc" not in item.content_html and "<style" not in item.content_html
    assert item.excerpt == (
        r"Let \(\pi'\) be fixed in \(t=1\), then the return is "
        r"\[G_t = \sum_{k=0}^\infty \gamma^k r_{t+k+1}\] and it is finite for \(\gamma < 1\)."
    )


def test_distill_d_math_becomes_mathml_holding_its_tex() -> None:
    # Distill's template (distillpub/template) writes formulas as <d-math> and <d-math block>, TeX as their text.
    [item] = clean_items(
        parse_feed(
            rss(
                (
                    "Distill",
                    "<p>The loss <d-math>\\mathcal{L}(\\theta)</d-math> falls.</p>"
                    "<d-math block>\\nabla_\\theta \\mathcal{L}</d-math>",
                )
            ),
            url="https://blog.example/feed",
        ).items
    )
    assert tex_annotations(item.content_html) == [r"\mathcal{L}(\theta)", r"\nabla_\theta \mathcal{L}"]
    assert item.excerpt == r"The loss \(\mathcal{L}(\theta)\) falls. \[\nabla_\theta \mathcal{L}\]"


def test_substack_latex_blocks_keep_their_tex_and_the_post_reads_with_unicode_scripts() -> None:
    item = one("substack_latex_block.rss.xml")
    formula = r"\text{Attention}(Q, K, V) = \text{softmax}\left(\frac{QK^\top}{\sqrt{d_k}}\right)V"
    assert tex_annotations(item.content_html) == [formula]
    assert '<math display="block">' in item.content_html
    assert item.excerpt.startswith(
        rf"Self-attention costs O(n²) in the sequence length, because every query meets "
        rf"every key: \[{formula}\] Water is H₂O; the score matrix is n×n."  # noqa: RUF001
    )


def test_formula_images_read_as_their_tex_and_are_never_the_lead_image() -> None:
    item = one("wordpress_latex_images.rss.xml")
    assert item.excerpt == (
        r"Let \(\hat{\theta}\) be an estimator of \(\theta\). Its mean squared error splits as "
        r"\(\mathbb{E}[(\hat{\theta}-\theta)^2] = \mathrm{Var}(\hat{\theta}) + "
        r"\mathrm{Bias}(\hat{\theta})^2\) so an unbiased estimator can still lose to a biased one."
    )
    assert item.content_html.count('src="https://s0.wp.com/latex.php?latex=') == 3  # the images stay
    assert item.image_url == "https://estimators.example.files.wordpress.com/2026/11/mse.png?w=1024"


def test_the_search_text_of_a_summary_holds_the_tex_once() -> None:
    katex = fixture("kramdown-math-katex__katex-span.html")
    doc = (
        b'<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        b"<channel><title>T</title><link>https://blog.example/</link><item><title>S</title>"
        b"<link>https://blog.example/s</link><description>" + html_lib.escape(katex).encode() + b"</description>"
        b"<content:encoded>&lt;p&gt;Body.&lt;/p&gt;</content:encoded></item></channel></rss>"
    )
    [item] = clean_items(parse_feed(doc, url="https://blog.example/feed").items)
    assert item.summary == r"Erst einmal eine Formel wie \(a^2+b^2=c^2\) innerhalb eines Satzes."
    wp = one("wordpress_latex_images.rss.xml")
    assert wp.summary == r"Let \(\hat{\theta}\) be an estimator […]"


# --- sup and sub --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Attention is O(n<sup>2</sup>) in time.</p>", "Attention is O(n²) in time."),
        ("<p>Water is H<sub>2</sub>O.</p>", "Water is H₂O."),
        ("<p>A rate of 10<sup>-3</sup> and x<sup>n+1</sup>.</p>", "A rate of 10⁻³ and xⁿ⁺¹."),
        ("<p>The transpose X<sup>T</sup> and e<sup>iπ</sup>.</p>", "The transpose X^T and e^(iπ)."),
        ("<p>The loss L<sub>train</sub> and w<sub>i,j</sub>.</p>", "The loss L_train and w_(i,j)."),
        ("<p>Italic <em>x</em><sup>2</sup> too.</p>", "Italic x² too."),
        ("<p>The 21<sup>st</sup> century.</p>", "The 21st century."),
        (
            '<p>A claim<sup><a href="#fn1">1</a></sup> and another<sup id="fnref:2" role="doc-noteref">'
            '<a href="#fn:2" class="footnote">2</a></sup>.</p>',
            "A claim and another.",
        ),
        (
            '<p>Pandoc\'s note<a href="#fn3" class="footnote-ref" id="fnref3" role="doc-noteref"><sup>3</sup></a>'
            " here.</p>",
            "Pandoc's note here.",
        ),
        ("<p>A bare marker<sup>4</sup> is a superscript.</p>", "A bare marker⁴ is a superscript."),
    ],
)
def test_sup_and_sub_read_as_scripts_without_stray_spaces(html: str, text: str) -> None:
    assert excerpt_of(sanitize_html(html, base_url=BASE)) == text
    assert html_to_text(html) == text


# --- what the sanitiser lets through -------------------------------------------------------------------------


def test_maction_keeps_only_its_first_child_and_annotation_xml_goes_with_its_content() -> None:
    out = sanitize_html(
        '<math><maction actiontype="toggle"><mi>a</mi><mi>b</mi></maction></math>'
        '<math><semantics><mi>c</mi><annotation-xml encoding="text/html"><b>d</b></annotation-xml>'
        '<annotation encoding="application/x-tex">c</annotation></semantics></math>',
        base_url=BASE,
    )
    assert out == (
        "<math><mi>a</mi></math><math><semantics><mi>c</mi>"
        '<annotation encoding="application/x-tex">c</annotation></semantics></math>'
    )


def test_mathml_attributes_are_allowlisted() -> None:
    out = sanitize_html(
        '<math display="block" xmlns="http://www.w3.org/1998/Math/MathML" onclick="x()">'
        '<mi mathvariant="bold" href="https://x.example/" style="color:red" class="c" id="i">a</mi>'
        '<mo stretchy="false" mathcolor="red" xlink:href="javascript:x()">(</mo>'
        '<mfrac linethickness="0"><mn>1</mn><mn>2</mn></mfrac></math>',
        base_url=BASE,
    )
    assert out == (
        '<math display="block"><mi mathvariant="bold">a</mi><mo stretchy="false">(</mo>'
        '<mfrac linethickness="0"><mn>1</mn><mn>2</mn></mfrac></math>'
    )


def test_the_hostile_mathml_fixture_keeps_nothing_that_runs() -> None:
    out = sanitize_html(fixture("hostile_mathml.html"), base_url=BASE)
    # Text may quote hostile words (a TeX source is text); the markup may not hold them.
    markup = " ".join(re.findall(r"<[^>]*>", out.lower()))
    for bad in (
        "<script",
        "javascript",
        "onerror",
        "onclick",
        "<maction",
        "annotation-xml",
        "<mglyph",
        "<svg",
        "<style",
        "<img",
        "xlink",
        "href",
        "mathcolor",
        "mathbackground",
        "style=",
        "selection",
    ):
        assert bad not in markup, (bad, out)
    tree = LexborHTMLParser(f"<body>{out}</body>")
    assert len(tree.css("math")) == 11
    assert ">click me<" in out and ">first<" in out and ">second<" not in out  # maction: its first child only
    assert "<script" not in out.lower() and "<img" not in out.lower()  # not even escaped: nothing runs or loads


# Markup hidden where the sanitiser drops it with its content, or where it is text (raw text, templates, integration
# points, namespace confusion): ammonia alone keeps none of it as markup. A body that is prepared (a trigger below)
# is parsed, serialised and parsed again: none of it may come back as markup then either.
HIDDEN = [
    "<style><img src=HIDDEN onerror=alert(1)></style>",
    "<noscript><img src=HIDDEN></noscript>",
    "<math><mtext><table><mglyph><style><img src=HIDDEN onerror=alert(1)>",
    '<math><mtext><mglyph><svg><mtext><style><a title="</style><img src=HIDDEN onerror=alert(1)>">',
    "<template><img src=HIDDEN></template>",
    "<xmp><img src=HIDDEN></xmp>",
    "<noembed><img src=HIDDEN></noembed>",
    "<textarea><img src=HIDDEN></textarea>",
    "<title><img src=HIDDEN></title>",
    "<iframe><img src=HIDDEN></iframe>",
    '<math><annotation-xml encoding="text/html"><img src=HIDDEN></annotation-xml></math>',
    '<script type="math/tex"><img src=HIDDEN onerror=alert(1)></script>',
    "<!--<img src=HIDDEN>-->",
]
TRIGGERS = [
    '<span class="katex-html">x</span>',
    '<script type="math/tex">x^2</script>',
    "<math><maction><mi>a</mi></maction></math>",
    "<d-math>z</d-math>",
    '<div class="latex-rendered" data-attrs="{&quot;persistentExpression&quot;:&quot;y&quot;}"></div>',
    '<span class="mjx-chtml"><span class="mjx-math" aria-label="w"></span></span>',
]


def exposed(html: str) -> list[str]:
    """Elements of sanitised HTML that come from hidden markup, or run: tags never allowed, HIDDEN in a value."""
    tree = LexborHTMLParser(f"<body>{html}</body>")
    nodes = tree.body.traverse(include_text=False) if tree.body else ()
    return [
        f"{node.tag} {dict(node.attributes)}"
        for node in nodes
        if node.tag in ("script", "style", "svg", "maction", "annotation-xml", "mglyph")
        or any("HIDDEN" in (value or "") or name.startswith("on") for name, value in node.attributes.items())
    ]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.sampled_from(HIDDEN),
            st.sampled_from(TRIGGERS),
            st.sampled_from(["<p>", "</p>", "<b>", "text", "<", ">", " "]),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_the_prepare_step_never_brings_back_markup_the_sanitiser_alone_keeps_hidden(parts: list[str]) -> None:
    from digest.clean.html import ammonia_clean

    body = "".join(parts)
    # Concatenation can expose a snippet to every parser ("<" then "text<style>..." opens a tag named "text<style"):
    # ammonia on the same body, without the prepare step, is the measure of what is markup.
    assert len(exposed(sanitize_html(body, base_url=BASE))) <= len(exposed(ammonia_clean(body, BASE)))
    if all(part in HIDDEN + TRIGGERS for part in parts):  # whole snippets only: nothing is markup to any parser
        assert exposed(sanitize_html(body, base_url=BASE)) == []


# --- excerpts never cut a formula ----------------------------------------------------------------------------


def test_truncation_never_splits_a_formula() -> None:
    text = r"Before \(a + b + c + d\) after words here"
    for limit in range(8, len(text)):
        cut = truncate(text, limit)
        assert cut.count(r"\(") == cut.count(r"\)"), (limit, cut)


# --- through the store, the compose and the e-mail ------------------------------------------------------------


@pytest.fixture
def math_issue(tmp_path: Path, make_httpserver) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The KaTeX post, the Substack post and a post whose TeX is hostile, fetched over loopback into a store and
    composed with `digest compose --preview` in the default theme."""
    hostile = (
        '<p>Escaping: <math><semantics><mi>w</mi><annotation encoding="application/x-tex">'
        "&lt;/code&gt;&lt;script&gt;alert(1)&lt;/script&gt;</annotation></semantics></math> done.</p>"
    )
    config = tmp_path / "digest.toml"
    config.write_text('[enrich]\nafter_fetch = false\n[[digests]]\nname = "math"\nlookback_days = 36500\n')
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    make_httpserver.expect_request("/math.rss").respond_with_data(
        rss(("KaTeX post", fixture("katex-0.16.47__render.html")), ("Hostile TeX", hostile)),
        content_type="application/rss+xml",
    )
    make_httpserver.expect_request("/substack.rss").respond_with_data(
        (MATH / "substack_latex_block.rss.xml").read_bytes(), content_type="application/rss+xml"
    )
    try:
        cli = Cli(db_url, config)
        cli("sources", "add", make_httpserver.url_for("/math.rss"), "--name", "math")
        cli("sources", "add", make_httpserver.url_for("/substack.rss"), "--name", "substack")
        assert "new items 3" in cli("fetch").stdout
        cli("compose", "--preview", "--out", str(tmp_path / "out"))
    finally:
        make_httpserver.clear()
    from digest.store.db import open_engine

    engine = open_engine(db_url)
    try:
        rows = dict(store_rows(engine, "SELECT title, content_html FROM items"))
    finally:
        engine.dispose()
    out = tmp_path / "out"
    yield {"html": (out / "digest.html").read_text(), "text": (out / "digest.txt").read_text(), "stored": rows}


def test_the_store_keeps_the_mathml_and_the_email_shows_tex_in_code_spans(math_issue: dict[str, Any]) -> None:
    assert tex_annotations(math_issue["stored"]["KaTeX post"]) == [SOFTMAX, "O(n^2)", ATTENTION, "d_k"]
    email = math_issue["html"]
    for tex in (SOFTMAX, "O(n^2)", ATTENTION, "d_k"):
        assert f">{html_lib.escape(tex, quote=False)}</code>" in email, tex
    assert "Softmax: <code" in email and "</code> and inline TeX such as <code" in email
    assert r"\(" not in email and r"\[" not in email  # markers became code spans
    assert "&lt;/code&gt;&lt;script&gt;alert(1)&lt;/script&gt;</code>" in email
    assert "<script" not in email and "<math" not in email


def test_the_text_part_reads_the_formulas_as_tex(math_issue: dict[str, Any]) -> None:
    text = " ".join(math_issue["text"].split())
    assert KATEX_EXCERPT in text
    assert "Self-attention costs O(n²) in the sequence length" in text


# --- in a browser ----------------------------------------------------------------------------------------------


def open_in(browser: Any, html: str) -> tuple[Any, list[str], list[str]]:
    """The page with every request recorded and aborted, and every dialog, console error and page error noted."""
    context = browser.new_context()
    page = context.new_page()
    requests: list[str] = []
    events: list[str] = []

    def record_and_abort(route: Any) -> None:
        requests.append(route.request.url)
        route.abort()

    page.route("**/*", record_and_abort)
    page.on("dialog", lambda d: (events.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("pageerror", lambda exc: events.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: events.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.set_content(html, wait_until="load")
    return page, requests, events


def test_hostile_mathml_from_a_feed_runs_nothing_in_chromium(
    browser,
    engine,
    add_source,
    fetch_all,  # type: ignore[no-untyped-def]
    serve_feed,
) -> None:
    add_source(serve_feed("/hostile.rss", rss(("Hostile", fixture("hostile_mathml.html")))), name="hostile")
    [report] = fetch_all().reports
    assert report.outcome == "ok"
    [(stored,)] = store_rows(engine, "SELECT content_html FROM items")
    page, requests, events = open_in(browser, f"<!DOCTYPE html><html><body>{stored}</body></html>")
    try:
        for element in page.query_selector_all("math, math *"):
            if element.is_visible():
                element.hover()
                element.click()
        page.wait_for_timeout(100)
        assert events == [] and requests == []
        assert page.evaluate(f"[...document.querySelectorAll('math')].every(m => m.namespaceURI === '{MATHML_NS}')")
        assert page.evaluate("document.querySelectorAll('math').length") == 11
        assert (
            page.evaluate(
                "document.querySelectorAll('script, maction, annotation-xml, mglyph, svg, style, "
                "[style], [href]').length"
            )
            == 0
        )
        assert page.evaluate(
            "[...document.querySelectorAll('*')].every(e => [...e.attributes].every("
            "a => !a.name.startsWith('on') && !a.name.includes(':') && !/javascript/i.test(a.value)))"
        )
        assert page.url == "about:blank"
    finally:
        page.context.close()


def test_the_email_with_formulas_opens_cleanly_in_chromium(browser, math_issue: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    page, _requests, events = open_in(browser, math_issue["html"])
    try:
        assert events == []
        codes = page.evaluate("[...document.querySelectorAll('p.excerpt code')].map(c => c.textContent)")
        assert {SOFTMAX, "O(n^2)", ATTENTION, "d_k", "</code><script>alert(1)</script>"} <= set(codes)
        assert page.evaluate("document.querySelectorAll('script').length") == 0
    finally:
        page.context.close()


def test_stored_katex_renders_as_math_in_chromium(browser, math_issue: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    page, _requests, events = open_in(browser, f"<!DOCTYPE html><body>{math_issue['stored']['KaTeX post']}</body>")
    try:
        assert events == []
        boxes = page.evaluate("[...document.querySelectorAll('math')].map(m => m.getBoundingClientRect().width)")
        assert len(boxes) == 4 and all(w > 5 for w in boxes)  # laid out as formulas, not hidden
        assert page.evaluate("document.querySelector('math').namespaceURI") == MATHML_NS
    finally:
        page.context.close()
