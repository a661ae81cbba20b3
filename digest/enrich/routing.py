"""An httpx transport that sends each request the way fetch/proxy.py says: direct or through a proxy.

httpx reads proxy variables itself with `trust_env`, but by its own rules (no CIDR ranges in `no_proxy`, SOCKS
attempted); the metadata APIs and the feeds must go the same way, so the decision is made once, in
`ProxySettings.for_url`, and this transport only keeps one httpx transport per route.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable

import httpx

from digest.fetch.http import FetchError
from digest.fetch.proxy import Proxy, ProxySettings


class ProxyRouting(httpx.BaseTransport):
    """Direct, or through the proxy `proxies` name for the request's URL; a proxy that is not usable fails the
    request with its one-line problem (never a silent direct request)."""

    def __init__(self, proxies: ProxySettings, tls: Callable[[], ssl.SSLContext]) -> None:
        self._proxies = proxies
        self._tls = tls
        self._context: ssl.SSLContext | None = None
        self._routes: dict[str | None, httpx.HTTPTransport] = {}
        self._lock = threading.Lock()

    def _route(self, proxy: Proxy | None, request: httpx.Request) -> httpx.HTTPTransport:
        key = proxy.url if proxy else None
        with self._lock:
            route = self._routes.get(key)
            if route is None:
                if self._context is None:
                    try:
                        self._context = self._tls()
                    except FetchError as exc:
                        raise httpx.ConnectError(exc.reason, request=request) from None
                route = httpx.HTTPTransport(verify=self._context, proxy=httpx.Proxy(proxy.url) if proxy else None)
                self._routes[key] = route
            return route

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        proxy = self._proxies.for_url(url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        if proxy is not None and proxy.problem:
            raise httpx.ProxyError(proxy.problem, request=request)
        return self._route(proxy, request).handle_request(request)

    def close(self) -> None:
        with self._lock:
            routes, self._routes = list(self._routes.values()), {}
        for route in routes:
            route.close()
