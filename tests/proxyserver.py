"""A forwarding HTTP proxy on 127.0.0.1 for tests: absolute-form GETs are forwarded, CONNECT is tunnelled.

What a corporate proxy does, as RFC 9110 describes it: a request for an http URL arrives with the whole URL in
its request line and is sent on; a request for an https URL arrives as `CONNECT host:port`, answered "200
Connection established", and bytes are then copied both ways (the TLS inside is the client's and the site's).
With `credentials` set, a request without the matching `Proxy-Authorization: Basic` gets 407. Every request is
recorded (method, target, Proxy-Authorization) so a test can say what went through the proxy.
"""

from __future__ import annotations

import base64
import http.client
import select
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


@dataclass
class ProxyLog:
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # (method, target, authorization)
    credentials: str | None = None  # "user:password" the proxy insists on

    @property
    def targets(self) -> list[str]:
        return [target for _, target, _ in self.requests]


def _handler(log: ProxyLog) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _allowed(self) -> bool:
            auth = self.headers.get("Proxy-Authorization")
            log.requests.append((self.command, self.path, auth))
            if log.credentials is None:
                return True
            if auth == "Basic " + base64.b64encode(log.credentials.encode()).decode():
                return True
            self.send_response(407)
            self.send_header("Proxy-Authenticate", 'Basic realm="test"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return False

        def do_GET(self) -> None:
            if not self._allowed():
                return
            target = urlsplit(self.path)
            if target.scheme != "http" or not target.hostname:
                self.send_error(400, "a proxy wants the absolute form")
                return
            upstream = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=10)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            try:
                upstream.request(
                    "GET", (target.path or "/") + (f"?{target.query}" if target.query else ""), headers=headers
                )
                answer = upstream.getresponse()
                body = answer.read()
            except OSError:
                self.send_error(502, "Bad Gateway")
                return
            finally:
                upstream.close()
            self.send_response(answer.status, answer.reason)
            for name, value in answer.getheaders():
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_CONNECT(self) -> None:
            if not self._allowed():
                return
            host, _, port = self.path.rpartition(":")
            try:
                upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
            except (OSError, ValueError):
                self.send_error(502, "Bad Gateway")
                return
            self.send_response(200, "Connection established")
            self.end_headers()
            self.wfile.flush()
            ends = [self.connection, upstream]
            try:
                while True:
                    readable, _, _ = select.select(ends, [], [], 10)
                    if not readable:
                        break
                    for end in readable:
                        data = end.recv(65536)
                        if not data:
                            return
                        (upstream if end is self.connection else self.connection).sendall(data)
            except OSError:
                pass
            finally:
                upstream.close()
                self.close_connection = True

    return Handler


@contextmanager
def serve_proxy(credentials: str | None = None) -> Iterator[tuple[str, ProxyLog]]:
    """A proxy on 127.0.0.1; yields its URL (`http://127.0.0.1:PORT`) and its log."""
    log = ProxyLog(credentials=credentials)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(log))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()
