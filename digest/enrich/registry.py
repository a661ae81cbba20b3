"""The resolvers by name, built from `[enrich]`: the one place that knows every resolver and its settings."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from digest.enrich import Enricher

if TYPE_CHECKING:
    from datetime import datetime

    import httpx
    from sqlalchemy import Engine

    from digest.config import EnrichConfig
    from digest.enrich.landing import LandingReader
    from digest.enrich.run import EnrichSummary, PageReader


def _api_spacing(cfg: EnrichConfig) -> float:
    # arXiv asks for 3 s between requests; the others for about one request a second
    return min(cfg.spacing, 1.0)


def _arxiv(cfg: EnrichConfig, client: httpx.Client) -> Enricher:
    from digest.enrich.arxiv import ArxivEnricher

    return ArxivEnricher(client, api_url=cfg.arxiv_api, spacing=cfg.spacing)


def _openreview(cfg: EnrichConfig, client: httpx.Client) -> Enricher:
    from digest.enrich.openreview import OpenReviewEnricher

    return OpenReviewEnricher(
        client, api_url=cfg.openreview_api, legacy_api_url=cfg.openreview_legacy_api, spacing=_api_spacing(cfg)
    )


def _s2_key(cfg: EnrichConfig) -> str | None:
    return os.environ.get(cfg.semantic_scholar_key_env) or None if cfg.semantic_scholar_key_env else None


def _s2(cfg: EnrichConfig, client: httpx.Client) -> Enricher:
    from digest.enrich.semantic_scholar import SemanticScholarEnricher

    return SemanticScholarEnricher(
        client, api_url=cfg.semantic_scholar_api, api_key=_s2_key(cfg), spacing=_api_spacing(cfg)
    )


def _crossref(cfg: EnrichConfig, client: httpx.Client) -> Enricher:
    from digest.enrich.crossref import CrossrefEnricher

    return CrossrefEnricher(client, api_url=cfg.crossref_api, mailto=cfg.mailto, spacing=_api_spacing(cfg))


def _title(cfg: EnrichConfig, client: httpx.Client) -> Enricher:
    from digest.enrich.crossref import CrossrefTitleSearch
    from digest.enrich.semantic_scholar import S2TitleSearch
    from digest.enrich.titles import TitleResolver

    return TitleResolver(
        [
            S2TitleSearch(client, api_url=cfg.semantic_scholar_api, api_key=_s2_key(cfg), spacing=_api_spacing(cfg)),
            CrossrefTitleSearch(client, api_url=cfg.crossref_api, mailto=cfg.mailto, spacing=_api_spacing(cfg)),
        ]
    )


# Name -> builder; `landing` is not an API and is built by `landing_reader`. The CLI's help lists these.
RESOLVERS: dict[str, Callable[[EnrichConfig, httpx.Client], Enricher]] = {
    "arxiv": _arxiv,
    "openreview": _openreview,
    "s2": _s2,
    "crossref": _crossref,
    "title": _title,
}


def landing_reader(cfg: EnrichConfig, user_agent: str) -> LandingReader | None:
    if "landing" not in cfg.resolvers or not cfg.max_pages:
        return None
    from digest.enrich.landing import LandingReader

    return LandingReader(
        user_agent=user_agent, host_spacing=cfg.host_spacing, max_pages=cfg.max_pages, timeout=cfg.timeout
    )


@contextmanager
def api_client(cfg: EnrichConfig, user_agent: str) -> Iterator[httpx.Client]:
    """The metadata APIs' client: routed through the environment's proxies and trusting its CA files exactly as
    the feed fetcher does (fetch/proxy.py, fetch/http.tls_context), not by httpx's own reading of them."""
    import httpx

    from digest.enrich.routing import ProxyRouting
    from digest.fetch.http import tls_context
    from digest.fetch.proxy import proxy_settings

    ua = f"{user_agent} (mailto:{cfg.mailto})" if cfg.mailto else user_agent
    with httpx.Client(
        timeout=httpx.Timeout(cfg.timeout, connect=min(10.0, cfg.timeout)),
        trust_env=False,
        transport=ProxyRouting(proxy_settings(), tls_context),
        headers={"User-Agent": ua},
    ) as client:
        yield client


def enrichers(cfg: EnrichConfig, client: httpx.Client) -> list[Enricher]:
    """The configured API resolvers, in the configured order."""
    return [RESOLVERS[name](cfg, client) for name in cfg.resolvers if name in RESOLVERS]


def enrich_configured(
    engine: Engine,
    cfg: EnrichConfig,
    user_agent: str,
    *,
    now: datetime,
    pages: Callable[[LandingReader], PageReader] | None = None,
) -> EnrichSummary:
    """One enrich run with the configured resolvers; `pages` may wrap the landing reader (the demo reads
    pages from its loopback server)."""
    from digest.enrich.run import enrich_all

    reader = landing_reader(cfg, user_agent)
    try:
        with api_client(cfg, user_agent) as client:
            return enrich_all(
                engine,
                enrichers(cfg, client),
                now=now,
                limit=cfg.max_papers,
                pages=(pages(reader) if pages else reader) if reader is not None else None,
                max_pages=cfg.max_pages,
            )
    finally:
        if reader is not None:
            reader.close()
