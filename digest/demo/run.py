"""`digest demo`: the whole pipeline on bundled feeds over loopback HTTP, into a fresh store."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from digest.demo.apis import LoopbackPages

if TYPE_CHECKING:
    from digest.app import Runtime

# name, file, tags, kind, adapter (listings served from 127.0.0.1 are not recognised by URL: named here)
DEMO_SOURCES = (
    ("aipapertrails", "aipapertrails.rss.xml", ["substack", "papers"], "feed", None),
    ("reasoning-notes", "reasoning-notes.atom.xml", ["blog"], "feed", None),
    ("paper-club", "paper-club.rss.xml", ["reading-group"], "feed", None),
    ("hf-daily", "hf-daily-papers.json", ["listing"], "listing", "hf-daily"),
    ("reading-list", "reading-list.md", ["listing"], "listing", "reading-list"),
)


def sources_dir() -> Path:
    return Path(str(files("digest.demo") / "sources"))


def _fresh_store(out: Path) -> str:
    db = out / "demo.db"
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return f"sqlite:///{db}"


DEMO_CONFIG = {
    # The demo does not depend on the user's config, and never leaves 127.0.0.1: its resolvers are answered
    # by the demo server (no arXiv API: the sample's arXiv papers are named by their listings and posts).
    # Its digest covers all the sample data (the Substack sample goes back to 2018), whenever it runs.
    "enrich": {
        "after_fetch": False,
        "resolvers": ["landing", "openreview", "s2", "crossref"],
        "spacing": 0,
        "host_spacing": 0,
        "openreview_legacy_api": None,
    },
    "digests": [
        {"name": "demo", "title": "Research digest (demo)", "lookback_days": 36500, "max_papers": 30, "max_posts": 20}
    ],
}


def fresh_store_url(out: Path) -> str:
    """A new store in `out` (the demo starts from nothing each time)."""
    out.mkdir(parents=True, exist_ok=True)
    return _fresh_store(out)


def run_demo(rt: Runtime, out: Path, *, own_config: bool) -> list[Path]:
    """The whole pipeline over loopback into `rt`'s store; returns the files written. With `own_config` (no user
    config given) the lookups are answered by the demo server too."""
    from digest.compose.render import available_themes
    from digest.demo.apis import DemoApis
    from digest.demo.server import serve
    from digest.store import repository as repo

    out.mkdir(parents=True, exist_ok=True)
    apis = DemoApis.load(sources_dir() / "resolvers.json")
    with serve(sources_dir(), apis) as base:
        typer.echo(f"serving {len(DEMO_SOURCES)} sample feeds and paper metadata APIs at {base}")
        with rt.store.session() as s, s.begin():
            for name, file, tags, kind, adapter in DEMO_SOURCES:
                if repo.find_source(s, name) is None:
                    repo.add_source(
                        s, url=base + file, name=name, tags=tags, kind=kind, adapter=adapter, now=rt.clock()
                    )
        first = rt.fetch_run(every=True)
        typer.echo(f"first fetch:  {first.line()}")
        again = rt.fetch_run(every=True)
        typer.echo(f"second fetch: {again.line()}")
        if own_config:
            api = f"{base}api/"
            overrides: dict[str, object] = {
                "openreview_api": api + "openreview",
                "crossref_api": api + "crossref",
                "semantic_scholar_api": api + "s2",
            }
            enriched = rt.enrich_run(config_overrides=overrides, pages=lambda reader: LoopbackPages(reader, base))
            typer.echo(f"metadata:     {enriched}")
    cfg = rt.config.digests[0]
    now = rt.clock()
    # Every theme renders the same issue; the previews first, then the issue is recorded (default theme).
    paths: list[Path] = []
    for theme in available_themes():
        if theme != cfg.theme:
            paths += rt.compose_run(cfg, now=now, theme=theme, record=False, out_dir=out / "themes" / theme).paths
    done = rt.compose_run(cfg, now=now, out_dir=out)
    v = done.composed.view
    typer.echo(f"composed {v.name}: {v.paper_count} papers, {v.post_count} posts", err=True)
    return done.paths + paths
