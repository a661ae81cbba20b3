"""Which proxy a request goes through, from the environment, as curl and Python's own clients read it.

`http_proxy` for http URLs, `https_proxy` for https URLs, `all_proxy` for either when its own is unset; each may
be written in capitals too, and the lower-case one wins (curl and urllib agree; a capital HTTP_PROXY is ignored
under CGI, where a request's `Proxy:` header would set it). `no_proxy` is a comma-separated list of host names
(a name matches itself and its subdomains; a leading dot changes nothing), `host:port`, IP addresses, IP ranges
in CIDR form (`10.0.0.0/8`, as curl and Go accept) and `*` for everything.

A proxy is an `http://` URL, with `user:password@` for Basic authentication; https URLs are tunnelled through it
with CONNECT, so TLS is still verified end to end. Any other proxy (`socks5://`, `https://`) is not usable, and
every request that would go through it fails with one line naming the variable, rather than going out directly
behind the user's back. Both the feed fetcher (fetch/http.py) and the metadata APIs' httpx client
(enrich/registry.py) route through `ProxySettings.for_url`, so the two can never disagree.
"""

from __future__ import annotations

import base64
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class Proxy:
    """One configured proxy. `shown` is its URL without credentials, for messages; `problem` is why it is not
    usable (then every request routed to it fails with that line)."""

    variable: str
    url: str
    host: str = ""
    port: int = 0
    authorization: str | None = None  # the Proxy-Authorization header's value
    shown: str = ""
    problem: str | None = None


@dataclass(frozen=True)
class ProxySettings:
    http: Proxy | None = None
    https: Proxy | None = None
    no_proxy: tuple[str, ...] = ()

    def for_url(self, scheme: str, host: str, port: int) -> Proxy | None:
        """The proxy a request to (scheme, host, port) goes through, or None to go direct."""
        proxy = self.https if scheme == "https" else self.http
        if proxy is None or bypassed(host, port, self.no_proxy):
            return None
        return proxy


NO_PROXY = ProxySettings()


def _variable(env: Mapping[str, str], name: str) -> tuple[str, str] | None:
    """(the variable's name as set, its value) for `name`, lower case first."""
    candidates = [name, name.upper()]
    if name == "http_proxy" and "REQUEST_METHOD" in env:
        candidates = [name]  # CGI: HTTP_PROXY may come from the request's Proxy header ("httpoxy")
    for var in candidates:
        value = env.get(var, "").strip()
        if value:
            return var, value
    return None


def parse_proxy(variable: str, value: str) -> Proxy:
    """A proxy from a variable's value; `problem` says why it cannot be used."""
    url = value if "://" in value else f"http://{value}"
    try:
        parts = urlsplit(url)
        port = parts.port or 80
    except ValueError as exc:
        return Proxy(variable, value, shown=value, problem=f"{variable} is not a proxy URL: {exc}")
    host = parts.hostname or ""
    shown = f"{parts.scheme}://{host}:{port}" if host else url
    if parts.scheme != "http":
        return Proxy(
            variable,
            value,
            shown=shown,
            problem=(f"the proxy in {variable} ({shown}) is not usable: only http:// proxies are supported"),
        )
    if not host:
        return Proxy(variable, value, shown=shown, problem=f"the proxy in {variable} has no host")
    authorization = None
    if parts.username is not None:
        secret = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(secret.encode()).decode("ascii")
    return Proxy(variable, url, host=host, port=port, authorization=authorization, shown=shown)


def proxy_settings(env: Mapping[str, str] | None = None) -> ProxySettings:
    """The proxies the environment (`os.environ` by default) asks for."""
    env = os.environ if env is None else env
    every = _variable(env, "all_proxy")
    chosen: dict[str, Proxy | None] = {}
    for scheme in ("http", "https"):
        found = _variable(env, f"{scheme}_proxy") or every
        chosen[scheme] = parse_proxy(*found) if found else None
    if chosen["http"] is None and chosen["https"] is None:
        return NO_PROXY
    bypass = _variable(env, "no_proxy")
    entries = tuple(e.strip().lower() for e in bypass[1].split(",") if e.strip()) if bypass else ()
    return ProxySettings(http=chosen["http"], https=chosen["https"], no_proxy=entries)


def bypassed(host: str, port: int, entries: tuple[str, ...]) -> bool:
    """Whether `no_proxy` `entries` send a request to (host, port) direct."""
    host = host.lower().strip("[]").rstrip(".")
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in entries:
        if entry == "*":
            return True
        name, want_port = _entry_port(entry)
        if want_port is not None and want_port != port:
            continue
        if address is not None:
            try:
                if address in ipaddress.ip_network(name.strip("[]"), strict=False):
                    return True
            except ValueError:
                pass
            continue
        name = name.lstrip(".").rstrip(".")
        if name and (host == name or host.endswith("." + name)):
            return True
    return False


def _entry_port(entry: str) -> tuple[str, int | None]:
    """A no_proxy entry split into name and port: `host:8080`, `[::1]:8080`; an IPv6 address alone has none."""
    if entry.startswith("["):
        close = entry.find("]")
        rest = entry[close + 1 :]
        port = rest[1:] if rest.startswith(":") else ""
        return entry[: close + 1], int(port) if port.isdigit() else None
    if entry.count(":") == 1:
        name, _, port = entry.partition(":")
        return name, int(port) if port.isdigit() else None
    return entry, None
