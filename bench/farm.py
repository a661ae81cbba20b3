"""A feed farm: N Substack-like RSS feeds of K items, deterministic from a seed, with the truth beside it.

Each item has an HTML body of a few KB with images (Substack srcsets, commas in URLs), links to papers in
every URL form digest knows, and links that are not papers. `expected.json` records, per feed, the guids
and the canonical paper ids each item links, so a benchmark run can check that speed came from no
skipped work.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

WORDS = (
    "model",
    "reasoning",
    "attention",
    "scaling",
    "agent",
    "benchmark",
    "training",
    "inference",
    "token",
    "gradient",
    "policy",
    "reward",
    "vision",
    "diffusion",
    "sparse",
    "expert",
    "memory",
    "retrieval",
    "alignment",
    "safety",
    "theory",
    "data",
    "compute",
    "language",
    "transformer",
    "layer",
    "loss",
)
NOT_PAPERS = (
    "https://github.com/example/repo-{n}",
    "https://twitter.com/someone/status/{n}",
    "https://huggingface.co/org/model-{n}",
    "https://www.youtube.com/watch?v=v{n}",
    "https://blog.example.org/posts/{n}/",
    "https://example.substack.com/subscribe?utm_source=post",
    "https://en.wikipedia.org/wiki/Topic_{n}",
)


def _arxiv(rng: random.Random) -> str:
    year = rng.randint(15, 25)
    return f"{year:02d}{rng.randint(1, 12):02d}.{rng.randint(1, 29999):05d}"


def paper_link(rng: random.Random) -> tuple[str, str]:
    """(URL in one of the forms of issue 3, the canonical id digest must derive from it)."""
    kind = rng.randrange(10)
    if kind <= 3:
        aid = _arxiv(rng)
        forms = (
            f"https://arxiv.org/abs/{aid}",
            f"https://arxiv.org/pdf/{aid}v2",
            f"https://arxiv.org/pdf/{aid}.pdf",
            f"http://export.arxiv.org/abs/{aid}v1",
            f"https://arxiv.org/html/{aid}v3",
            f"https://huggingface.co/papers/{aid}",
            f"https://www.alphaxiv.org/abs/{aid}",
            f"https://doi.org/10.48550/arXiv.{aid}",
        )
        return rng.choice(forms), f"arxiv:{aid}"
    if kind == 4:
        oid = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(10))
        return rng.choice(
            (f"https://openreview.net/forum?id={oid}", f"https://openreview.net/pdf?id={oid}")
        ), f"openreview:{oid}"
    if kind == 5:
        year, h = rng.randint(2019, 2024), f"{rng.getrandbits(128):032x}"
        return (
            f"https://proceedings.neurips.cc/paper_files/paper/{year}/hash/{h}-Abstract-Conference.html",
            f"neurips:{year}/{h}",
        )
    if kind == 6:
        vol, key = rng.randint(100, 250), f"author{rng.randint(1, 999)}{rng.choice('abc')}"
        return f"https://proceedings.mlr.press/v{vol}/{key}.html", f"pmlr:v{vol}/{key}"
    if kind == 7:
        aid = f"{rng.randint(2018, 2025)}.acl-long.{rng.randint(1, 900)}"
        return f"https://aclanthology.org/{aid}.pdf", f"acl:{aid}"
    if kind == 8:
        doi = f"10.{rng.randint(1000, 9999)}/j.x.{rng.randint(1, 99999)}"
        return f"https://doi.org/{doi}", f"doi:{doi}"
    aid = _arxiv(rng)
    return f"https://arxiv.org/abs/{aid}?utm_source=newsletter&utm_medium=email", f"arxiv:{aid}"


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def item_body(rng: random.Random, feed: int, item: int) -> tuple[str, list[str]]:
    parts: list[str] = []
    ids: list[str] = []
    img = (
        f"https://substackcdn.com/image/fetch/$s_!x{feed}!,w_1456,c_limit,f_auto,q_auto:good/"
        f"https%3A%2F%2Fsubstack-post-media.s3.amazonaws.com%2Fpublic%2Fimages%2F{feed}-{item}.png"
    )
    parts.append(
        f'<div class="captioned-image-container"><figure><picture><source type="image/webp" '
        f'srcset="{img.replace("w_1456", "w_424")} 424w, {img.replace("w_1456", "w_848")} 848w, {img} 1456w">'
        f'<img src="{img}" srcset="{img.replace("w_1456", "w_424")} 424w, {img} 1456w" width="1456" '
        f'height="816" alt="figure"></picture><figcaption>Figure {item}</figcaption></figure></div>'
    )
    for para in range(rng.randint(5, 9)):
        text = _sentence(rng, rng.randint(25, 45))
        if rng.random() < 0.6:
            url, pid = paper_link(rng)
            ids.append(pid)
            title = _sentence(rng, rng.randint(4, 9)).rstrip(".")
            text += f' See <a href="{escape(url)}">{escape(title)}</a> for details.'
        if rng.random() < 0.5:
            text += f' Also <a href="{rng.choice(NOT_PAPERS).format(n=rng.randint(1, 10**6))}">this</a>.'
        heading = f"<h2>{_sentence(rng, 4).rstrip('.')}</h2>" if para % 3 == 0 else ""
        parts.append(f"{heading}<p>{text}</p>")
    parts.append('<p><a href="https://example.substack.com/subscribe?utm_medium=web">Subscribe now</a></p>')
    return "".join(parts), sorted(set(ids))


@dataclass(frozen=True)
class FarmTruth:
    items: int
    paper_ids: set[str]


def items_xml(
    rng: random.Random, feed: int, count: int, start: datetime, prefix: str = "post"
) -> tuple[list[str], list[dict[str, object]]]:
    xml_items, entries = [], []
    for i in range(count):
        body, ids = item_body(rng, feed, i)
        guid = f"https://feed{feed}.example.org/p/{prefix}-{i}"
        when = start - timedelta(hours=feed % 24 + i * 7)
        title = _sentence(rng, rng.randint(4, 10)).rstrip(".")
        xml_items.append(
            f"<item><title><![CDATA[{title}]]></title><description><![CDATA[{_sentence(rng, 12)}]]></description>"
            f'<link>{guid}</link><guid isPermaLink="false">{guid}</guid><dc:creator><![CDATA[Author {feed}]]>'
            f"</dc:creator><pubDate>{format_datetime(when, usegmt=True)}</pubDate>"
            f"<content:encoded><![CDATA[{body}]]></content:encoded></item>"
        )
        entries.append({"guid": guid, "papers": ids})
    return xml_items, entries


def feed_document(feed: int, xml_items: list[str], built: datetime) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" version="2.0"><channel>'
        f"<title><![CDATA[Feed {feed}]]></title><link>https://feed{feed}.example.org</link>"
        f"<description><![CDATA[Research notes {feed}]]></description><generator>Substack</generator>"
        f"<lastBuildDate>{format_datetime(built, usegmt=True)}</lastBuildDate>{''.join(xml_items)}"
        "</channel></rss>"
    )


def generate(out: Path, *, feeds: int, items: int, seed: int = 1, extra: dict[int, int] | None = None) -> FarmTruth:
    """Write feeds/feed-<n>.xml and expected.json; `extra` gives some feeds new items on top (`changed`).

    Files whose bytes would not change are not rewritten, so the server's validators stay valid for them.
    """
    out.mkdir(parents=True, exist_ok=True)
    (out / "feeds").mkdir(exist_ok=True)
    start = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    truth: dict[str, list[dict[str, object]]] = {}
    for n in range(feeds):
        xml_items, entries = items_xml(random.Random(seed * 1_000_003 + n), n, items, start)
        built = start
        added = (extra or {}).get(n, 0)
        if added:
            built = start + timedelta(days=1)
            more_xml, more = items_xml(random.Random(seed * 7_919 + n * 31 + added), n, added, built, "new-post")
            xml_items, entries = more_xml + xml_items, more + entries
        xml = feed_document(n, xml_items, built)
        path = out / "feeds" / f"feed-{n}.xml"
        if not path.exists() or path.read_text(encoding="utf-8") != xml:
            path.write_text(xml, encoding="utf-8")
        truth[f"feed-{n}.xml"] = entries
    (out / "expected.json").write_text(json.dumps(truth), encoding="utf-8")
    return FarmTruth(
        items=sum(len(v) for v in truth.values()), paper_ids={p for v in truth.values() for e in v for p in e["papers"]}
    )  # type: ignore[union-attr]
