"""A loopback HTTP server for the demo's bundled feeds, with the validators a real feed server sends."""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from digest.demo.apis import DemoApis

CONTENT_TYPES = {
    ".rss.xml": "application/rss+xml; charset=utf-8",
    ".atom.xml": "application/atom+xml; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml",
}
_STARTED = formatdate(usegmt=True)


def _content_type(name: str) -> str:
    return next((ct for ext, ct in CONTENT_TYPES.items() if name.endswith(ext)), "application/octet-stream")


def _handler(files: dict[str, bytes], apis: DemoApis | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "digest-demo/1"

        def _api(self, method: str) -> bool:
            """Answer a request for one of the demo's resolver APIs; False when it is for a file."""
            if apis is None:
                return False
            length = int(self.headers.get("Content-Length") or 0)
            answer = apis.answer(method, self.path, self.rfile.read(length) if length else b"")
            if answer is None:
                return False
            status, content_type, body = answer
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return True

        def do_POST(self) -> None:
            if not self._api("POST"):
                self.send_error(404)

        def do_GET(self) -> None:
            if self._api("GET"):
                return
            name = self.path.split("?", 1)[0].lstrip("/")
            body = files.get(name)
            if body is None:
                self.send_error(404)
                return
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            encoded = body
            gzipped = "gzip" in (self.headers.get("Accept-Encoding") or "")
            if gzipped:
                encoded = gzip.compress(body, mtime=0)
            self.send_response(200)
            self.send_header("Content-Type", _content_type(name))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", _STARTED)
            if gzipped:
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)

        def log_message(self, format: str, *args: object) -> None:  # quiet: the demo prints its own story
            pass

    return Handler


@contextmanager
def serve(folder: Path, apis: DemoApis | None = None) -> Iterator[str]:
    """Serve every file in `folder` (and the demo's resolver APIs, if given) on 127.0.0.1 at a free port;
    yields the base URL."""
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != "SOURCES.md"}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(files, apis))
    thread = threading.Thread(target=httpd.serve_forever, name="demo-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
