"""Politeness per host: how many requests one process has in flight to any one host."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Protocol
from urllib.parse import urlsplit


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


class HostGate(Protocol):
    """`with gate(url):` around a request: it waits while `per_host` requests to that host are in flight."""

    def __call__(self, url: str) -> AbstractContextManager[object]: ...

    def close(self) -> None: ...


class LocalHostGate:
    """At most `per_host` requests in flight to any one host from this process."""

    def __init__(self, per_host: int) -> None:
        self.per_host = per_host
        self._lock = threading.Lock()
        self._gates: dict[str, threading.Semaphore] = {}

    def __call__(self, url: str) -> threading.Semaphore:
        host = host_of(url)
        with self._lock:
            if host not in self._gates:
                self._gates[host] = threading.BoundedSemaphore(self.per_host)
            return self._gates[host]

    def close(self) -> None:
        pass
