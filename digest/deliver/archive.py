"""A static archive of delivered issues: index.html, one page per issue, and an Atom feed of the issues."""

from __future__ import annotations

import hashlib
import html as html_lib
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from digest.deliver.files import write_atomic

if TYPE_CHECKING:
    from digest.store.models import DigestIssue


def _atom_time(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# The archive's own header on an issue page, between these marks, is the only thing added to the mailed HTML.
NAV_START = "<!-- digest archive: the way back -->"
NAV_END = "<!-- /digest archive -->"
_BODY = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


def issue_page(mailed: str, *, title: str) -> str:
    """An issue's page: its HTML as mailed, with a bar back to the index (and the feed) right after <body>. The
    mail itself (the stored message, the Atom entry's content) is never changed. The bar's colours are its own,
    dark on every theme, light or dark: it must read the same above any issue."""
    bar = (
        f'{NAV_START}<div class="digest-archive-nav" style="margin:0;padding:10px 16px;background:#1d1d1b;'
        'color:#f4f4f1;font-family:Helvetica,Arial,sans-serif;font-size:14px;line-height:1.4;text-align:center;">'
        f'<a href="../index.html" style="color:#f4f4f1;">&larr; {html_lib.escape(title)}: all issues</a>'
        ' &middot; <a href="../feed.atom" style="color:#f4f4f1;">Atom feed</a></div>'
        f"{NAV_END}"
    )
    body = _BODY.search(mailed)
    at = body.end() if body else 0
    return mailed[:at] + bar + mailed[at:]


def write_archive(
    out: Path, issues: Sequence[DigestIssue], *, title: str, base_url: str | None, now: datetime
) -> list[Path]:
    """Issues newest first. Pages are the issues' own HTML as delivered with a way back to the index (issue_page);
    the feed carries the HTML exactly as delivered. The counts are those each issue showed (its masthead's)."""
    import jinja2

    from digest.compose.render import builtin_themes_dir

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(builtin_themes_dir() / "_archive")),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    base = (base_url.rstrip("/") + "/") if base_url else ""
    written: list[Path] = []
    rows = []
    for issue in issues:
        when = issue.sent_at or issue.created_at
        path = f"issues/{when:%Y-%m-%d}-{issue.name}-{issue.id}.html"
        page = out / path
        write_atomic(page, issue_page(issue.html or "", title=title))
        written.append(page)
        rows.append(
            {
                "path": path,
                "subject": issue.subject or f"{issue.name} {when:%Y-%m-%d}",
                "name": issue.name,
                "date": f"{when:%Y-%m-%d}",
                "papers": issue.paper_count,
                "posts": issue.post_count,
                "updated": _atom_time(when),
                "entry_id": f"urn:digest:{issue.name}:{issue.id}:{when:%Y%m%d%H%M%S}",
                "html": issue.html or "",
            }
        )
    index = out / "index.html"
    write_atomic(index, env.get_template("index.html.j2").render(title=title, issues=rows, now=now))
    feed = out / "feed.atom"
    feed_id = "urn:digest:archive:" + hashlib.sha256(f"{title}\x1f{base}".encode()).hexdigest()[:16]
    updated = rows[0]["updated"] if rows else _atom_time(now)
    write_atomic(
        feed,
        env.get_template("feed.atom.j2").render(title=title, issues=rows, base=base, feed_id=feed_id, updated=updated),
    )
    return [*written, index, feed]
