"""The demo's resolvers on loopback: OpenReview notes, Semantic Scholar batch, Crossref works and landing pages
answered from `sources/resolvers.json` in each API's documented shape, so `digest demo` shows what enrichment
adds (authors, abstracts, venues, a venue paper merged with its preprint) without leaving 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, str, bytes]
_JSON = "application/json; charset=utf-8"


class DemoApis:
    def __init__(self, data: dict[str, Any]) -> None:
        self.notes = {n["id"]: n for n in data["openreview"]["notes"]}
        self.s2: dict[str, Any] = data["s2"]
        self.works = {w["DOI"].lower(): w for w in data["crossref"]["items"]}
        self.pages: dict[str, str] = data["landing"]

    @classmethod
    def load(cls, path: Path) -> DemoApis:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def answer(self, method: str, target: str, body: bytes) -> Answer | None:
        """The answer to a request for one of the demo APIs; None for a path that is none of them."""
        parts = urlsplit(target)
        path, query = parts.path.lstrip("/"), parse_qs(parts.query)
        if method == "GET" and path == "api/openreview/notes":
            ids = ",".join(query.get("ids", [])).split(",")
            return 200, _JSON, json.dumps({"notes": [self.notes[i] for i in ids if i in self.notes]}).encode()
        if method == "POST" and path == "api/s2/paper/batch":
            asked: Sequence[str] = json.loads(body or b"{}").get("ids", [])
            return 200, _JSON, json.dumps([self.s2.get(i) for i in asked]).encode()
        if method == "GET" and path == "api/crossref/works":
            dois = [f.removeprefix("doi:").lower() for f in ",".join(query.get("filter", [])).split(",")]
            items = [self.works[d] for d in dois if d in self.works]
            message = {"total-results": len(items), "items": items, "items-per-page": len(items)}
            return 200, _JSON, json.dumps({"status": "ok", "message-type": "work-list", "message": message}).encode()
        if method == "GET" and path.startswith("landing/"):
            page = self.pages.get(path.removeprefix("landing/"))
            return (200, "text/html; charset=utf-8", page.encode()) if page is not None else (404, "text/html", b"")
        return None


class LoopbackPages:
    """Reads landing pages from the demo server instead of their hosts: `https://host/path` is asked as
    `<base>landing/host/path`; results come back under the URLs asked for."""

    def __init__(self, reader: Any, base: str) -> None:
        self.reader, self.base = reader, base

    def local(self, url: str) -> str:
        parts = urlsplit(url)
        host = parts.netloc.lower().removeprefix("www.")
        return f"{self.base}landing/{host}{parts.path}"

    def read(self, urls: Sequence[str]) -> dict[str, Any]:
        local = {self.local(u): u for u in urls}
        return {local[url]: result for url, result in self.reader.read(list(local)).items() if url in local}
