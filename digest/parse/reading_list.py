"""Reading-list pages (HTML, or markdown served as text): each paper link becomes an item with its note.

A paper's note is the text around its link: the table row (and the rows below it whose first cell is empty),
the list item, or the section the link heads (up to the next heading of the same or a higher level).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from digest.parse.types import PaperInfo, ParsedFeed, ParseError, RawItem

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

    from digest.clean.paper_ids import PaperRule

_FRONT_MATTER = re.compile(r"\A---\s*\n.*?\n---\s*\n", re.DOTALL)
_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_DELIMITER_CELL = re.compile(r"^\s*:?-{2,}:?\s*$")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_LEAF_BLOCKS = frozenset({*_HEADINGS, "p", "ul", "ol", "dl", "table", "blockquote", "pre", "figure", "hr",
                          "details"})
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


@dataclass
class _Unit:
    """A row, list item, section or paragraph: its paper link and the HTML of its note."""

    url: str
    title: str
    parts: list[str] = field(default_factory=list)


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


def parse_reading_list(body: bytes, *, url: str, content_type: str | None,
                       rules: Sequence[PaperRule] = ()) -> ParsedFeed:
    from selectolax.lexbor import LexborHTMLParser

    from digest.clean.paper_ids import canonical_id

    raw_text = body.decode("utf-8", "replace")
    front = _FRONT_MATTER.match(raw_text)
    front_title = re.search(r"^title:\s*['\"]?(.+?)['\"]?\s*$", front.group(0), re.MULTILINE) if front else None
    text = strip_templates(raw_text)
    page = markdown_to_html(text) if looks_like_markdown(text, content_type, url) else text
    tree = LexborHTMLParser(page)
    root = tree.body or tree.root
    if root is None:
        raise ParseError("empty reading-list page")

    def paper_links(node: LexborNode) -> list[tuple[str, str, str]]:
        found = []
        for a in node.css("a[href]"):
            href = urljoin(url, (a.attributes.get("href") or "").strip())
            pid = canonical_id(href, rules) if href else None
            if pid:
                found.append((pid, href, _text(a)))
        return found

    units: dict[str, _Unit] = {}
    order: list[str] = []

    def start(links: list[tuple[str, str, str]]) -> _Unit | None:
        pid, href, anchor = links[0]
        if pid in units:
            return None  # a paper listed twice: its first place is its item
        units[pid] = _Unit(url=href, title=anchor)
        order.append(pid)
        return units[pid]

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
            section.parts.append(block.html or "")
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
                        current.parts.append(cells)
                elif links and (unit := start(links)) is not None:
                    unit.parts.append(cells)  # "||| and [another paper](...)": its own item; the entry goes on
                elif current is not None:
                    current.parts.append(cells)
        elif tag in ("ul", "ol"):
            for li in block.css("li"):
                if li.parent is not None and li.parent.mem_id != block.mem_id:
                    continue  # nested items belong to their outer item
                links = paper_links(li)
                if links and (unit := start(links)):
                    unit.parts.append(li.html or "")
        else:
            for link in paper_links(block):
                if unit := start([link]):
                    unit.parts.append(block.html or "")
    if not order:
        raise ParseError("no paper links found on the reading-list page")
    items = []
    title_node = root.css_first("h1") or tree.css_first("title")
    for pid in order:
        unit = units[pid]
        title = unit.title or None
        items.append(RawItem(
            guid=pid, url=unit.url, title=title, author=None, published=None, summary_html=None,
            content_html="".join(unit.parts) or f"<p>{html.escape(unit.title)}</p>", base_url=url,
            paper=PaperInfo(url=unit.url, title=title, title_is_metadata=False),
        ))
    page_title = (_text(title_node) if title_node is not None else None) or (front_title.group(1) if front_title
                                                                              else None)
    return ParsedFeed(title=page_title or "Reading list", site_url=url, items=items)
