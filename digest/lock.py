"""An exclusive, non-blocking lock for `digest run`, held by the OS so a crash can never leave it stuck."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

EX_TEMPFAIL = 75  # sysexits.h: "try again later", what cron wrappers expect from an overlapping run


class LockHeld(Exception):
    pass


class LockError(Exception):
    """The lock file cannot be opened (a read-only folder, a full disk); the message is one line."""


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """flock is released by the kernel when the process dies, so a killed run frees the lock."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise LockError(f"cannot take the run lock {path}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise LockHeld(f"another digest run holds {path} (pid {holder})") from None
        try:  # the pid only informs whoever finds the lock held: a full disk must not stop the run here
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass
        yield
    finally:
        os.close(fd)
