"""The CPU-bound half of a fetch: parse one body and clean its items. It runs in worker processes, so it
imports only the parse and clean stages (no store, no HTTP): a worker is ready to parse as soon as it starts."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace

from digest.clean.items import Item, clean_items
from digest.domain.paper_ids import PaperRule
from digest.parse import ParsedFeed, ParseError, parse_document


@dataclass(frozen=True)
class Parsed:
    """What the parse and clean stages make of a body: the feed and its items, or why there are none."""

    feed: ParsedFeed | None = None
    items: Sequence[Item] = ()
    error: ParseError | None = None


def parse_and_clean(
    body: bytes, url: str, content_type: str | None, kind: str, adapter: str | None, rules: Sequence[PaperRule]
) -> Parsed:
    """CPU-bound, pure and picklable both ways, so it can run in a worker process. Never raises."""
    try:
        feed = parse_document(body, url=url, content_type=content_type, kind=kind, adapter=adapter, rules=rules)
        # The feed goes back without its raw items: they are every body again, before sanitising, and
        # doubled what a worker pickles and the writer's process unpickles. The writer needs the cleaned ones.
        return Parsed(feed=replace(feed, items=[]), items=clean_items(feed.items, rules))
    except ParseError as exc:
        return Parsed(error=exc)
    except Exception as exc:  # a bug must cost one source, not the run
        return Parsed(error=ParseError(f"internal error while reading the feed: {exc.__class__.__name__}: {exc}"))


def start_parser(main_pid: int) -> None:
    """A parser process's initializer: yield the CPU to the main process, and die with it.

    Parser processes are the forkserver's children, not the main process's, and each holds the forkserver's
    "alive" pipe and the resource tracker's pipe open: while one lives, both helpers live, and all of them keep
    the main process's stdout and stderr open, so a caller reading its output waits for ever. PR_SET_PDEATHSIG
    would watch the forkserver (and fires on the death of a parent *thread*), so each parser watches the main
    process itself, by a pidfd, from a thread that only waits; when it ends, the parser exits, and with the last
    parser gone the forkserver and the tracker see their pipes close and exit too.
    """
    import threading

    os.nice(10)
    threading.Thread(target=_exit_with, args=(main_pid,), name="exit-with-main", daemon=True).start()


def _exit_with(pid: int) -> None:
    import select
    import time

    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:  # gone already
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd (not Linux, or Linux before 5.3): ask once a second
        while True:
            time.sleep(1)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass
    select.select([fd], [], [])  # readable when the process has ended
    os._exit(1)
