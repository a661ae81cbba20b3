"""`digest demo`: the whole pipeline on bundled feeds over loopback HTTP, into a fresh store."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from digest.demo.apis import LoopbackPages

if TYPE_CHECKING:
    from digest.cli import Context

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


def _demo_enrich(c: Context, base: str) -> str:
    """`digest enrich` with every resolver answered by the demo server."""
    from digest.cli import now_utc
    from digest.enrich.registry import enrich_configured

    cfg = c.config.enrich.model_copy(update={
        "openreview_api": f"{base}api/openreview", "semantic_scholar_api": f"{base}api/s2",
        "crossref_api": f"{base}api/crossref"})
    return enrich_configured(c.engine, cfg, c.config.fetch.user_agent, now=now_utc(),
                             pages=lambda reader: LoopbackPages(reader, base)).line()


def run_demo(c: Context, out: Path) -> None:
    from digest.cli import _compose_to, _fetch, now_utc, print_status
    from digest.compose.render import available_themes
    from digest.config import Config, LoadedConfig
    from digest.demo.apis import DemoApis
    from digest.demo.server import serve
    from digest.store import repository as repo

    out.mkdir(parents=True, exist_ok=True)
    if c.config_path is None:
        # The demo does not depend on the user's config, and never leaves 127.0.0.1: its resolvers are answered
        # by the demo server (no arXiv API: the sample's arXiv papers are named by their listings and posts).
        # Its digest covers all the sample data (the Substack sample goes back to 2018), whenever it runs.
        c._loaded = LoadedConfig(Config.model_validate({
            "enrich": {"after_fetch": False, "resolvers": ["landing", "openreview", "s2", "crossref"],
                       "spacing": 0, "host_spacing": 0, "openreview_legacy_api": None},
            "digests": [{"name": "demo", "title": "Research digest (demo)", "lookback_days": 36500,
                         "max_papers": 30, "max_posts": 20}],
        }), None)
    if c.db is None:
        c.db = _fresh_store(out)
    apis = DemoApis.load(sources_dir() / "resolvers.json")
    with serve(sources_dir(), apis) as base:
        typer.echo(f"serving {len(DEMO_SOURCES)} sample feeds and paper metadata APIs at {base}")
        with repo.session(c.engine) as s, s.begin():
            for name, file, tags, kind, adapter in DEMO_SOURCES:
                if repo.find_source(s, name) is None:
                    repo.add_source(s, url=base + file, name=name, tags=tags, kind=kind, adapter=adapter,
                                    now=now_utc())
        first = _fetch(c, every=True, names=[])
        typer.echo(f"first fetch:  {first.line()}")
        again = _fetch(c, every=True, names=[])
        typer.echo(f"second fetch: {again.line()}")
        if c.config_path is None:
            typer.echo(f"metadata:     {_demo_enrich(c, base)}")
    cfg = c.config.digests[0]
    now = now_utc()
    # Every theme renders the same issue; the previews first, then the issue is recorded (default theme).
    paths: list[Path] = []
    for theme in available_themes():
        if theme != cfg.theme:
            paths += _compose_to(c, cfg, now=now, since=None, theme=theme, record=False,
                                 out_dir=out / "themes" / theme)[1]
    paths = _compose_to(c, cfg, now=now, since=None, theme=None, record=True, out_dir=out)[1] + paths
    typer.echo("")
    typer.echo(f"digest written to {out}")
    for p in paths:
        typer.echo(f"  {p}")
    typer.echo(f"store: {c.store_url}")
    typer.echo("")
    print_status(c)
