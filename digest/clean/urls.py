"""Make links absolute, safe and free of tracking parameters. Pure functions."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})

# Parameters that only say who sent the click; removing them never changes what a link points at.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "ttclid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "__hssc",
        "__hstc",
        "__hsfp",
        "hsctatracking",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_conv",
        "vero_id",
        "wickedid",
        "_openstat",
        "rb_clickid",
        "ref_src",
        "ref_url",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "matomo_", "hsa_", "_branch_")
# Parameters that track only on these hosts; elsewhere the same names may carry meaning.
HOST_TRACKING_PARAMS: dict[str, frozenset[str]] = {
    "substack.com": frozenset(
        {"publication_id", "post_id", "isfreemail", "r", "triedredirect", "token", "triggershare", "showwelcome"}
    ),
    "twitter.com": frozenset({"s", "t"}),
    "x.com": frozenset({"s", "t"}),
    "youtube.com": frozenset({"si"}),
    "youtu.be": frozenset({"si"}),
    "open.spotify.com": frozenset({"si"}),
    "linkedin.com": frozenset({"trk", "trkcampaign"}),
    "medium.com": frozenset({"source"}),  # ?source=rss----<hash>---4 on every feed link
}
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")


def may_track(
    names: frozenset[str] = TRACKING_PARAMS.union(*HOST_TRACKING_PARAMS.values()),
    prefixes: tuple[str, ...] = TRACKING_PREFIXES,
) -> re.Pattern[str]:
    """A quick test of a query (raw or HTML-escaped) for a parameter that may be tracking, made from the lists
    above so that the two cannot disagree: whatever `strip_tracking` removes, it finds (it may also find a name
    that is tracking only on some hosts; `strip_tracking` then decides)."""
    exact = "|".join(re.escape(n) for n in sorted(names, key=lambda n: (-len(n), n)))
    start = "|".join(re.escape(p) for p in prefixes)
    return re.compile(rf"[?&;](?:{start}|(?:{exact})(?=[=&;#]|$))", re.IGNORECASE)


def _is_tracking(name: str, host: str) -> bool:
    lowered = name.lower()
    if lowered.startswith(TRACKING_PREFIXES) or lowered in TRACKING_PARAMS:
        return True
    return any(
        (host == h or host.endswith("." + h)) and lowered in params for h, params in HOST_TRACKING_PARAMS.items()
    )


def strip_tracking(url: str) -> str:
    """Drop utm_* and similar click-tracking parameters, keeping every other parameter in order."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    host = (parts.hostname or "").lower()
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not _is_tracking(k, host)]
    if len(kept) == len(pairs):
        return url
    return urlunsplit(parts._replace(query=urlencode(kept, doseq=True)))


def absolute_url(href: str | None, base: str | None) -> str | None:
    """Resolve `href` against `base`; None unless the result is http(s) or mailto.

    Browsers drop tabs, newlines and other control characters inside URLs, so "jav&#x09;ascript:"
    is javascript: to them; we strip them the same way before deciding on the scheme.
    """
    if not href:
        return None
    cleaned = _CONTROL.sub("", href.strip())
    if not cleaned:
        return None
    try:
        resolved = urljoin(base or "", cleaned)
        scheme = urlsplit(resolved).scheme.lower()
    except ValueError:
        return None
    if scheme not in SAFE_SCHEMES:
        return None
    if scheme in ("http", "https") and not urlsplit(resolved).netloc:
        return None
    return resolved


def clean_link(href: str | None, base: str | None) -> str | None:
    """An absolute, safe, de-tracked link, or None if the link must not survive."""
    url = absolute_url(href, base)
    return strip_tracking(url) if url and not url.startswith("mailto:") else url
