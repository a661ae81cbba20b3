"""The benchmark: one command, a table. `python bench/run.py [--feeds 500,2000] [--items 20] [--no-peers]
[--repeat 3]`.

Serves a generated feed farm with nginx on 127.0.0.1 (ETag/Last-Modified, gzip), then times whole
processes (wall, CPU, peak RSS via GNU time) of digest and its peers on the same farm in the same run:
  cold     empty store, every feed fetched, parsed and stored
  warm     nothing changed: every feed answers 304
  changed  10% of the feeds gained one item
  compose  a digest over every stored item (10,000 at the default size) and its papers
Peers: lemon24/reader (update_feeds(workers=8, scheduled=False)), newsboat (-x reload, reload-threads 8),
and a floor (httpx + feedparser with its defaults, nothing stored). Correctness is checked: the items
and paper ids digest stored must equal what the generator says, or the run fails. Each measurement is
repeated (fresh stores each time) and the table shows the run with the median wall time, with the
fastest and slowest wall times beside it: on a shared VM one run of a command can be 30 % off another.
CPU is user + system time of the process and every process it started (digest's parser processes
included, through bench/reap.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.farm import generate  # noqa: E402

PYTHON = sys.executable
TIME = "/usr/bin/time"


@dataclass
class Measure:
    tool: str
    run: str
    feeds: int
    wall: float
    cpu: float
    rss_mb: float
    note: str = ""
    low: float = 0.0  # fastest and slowest wall time of the repeats
    high: float = 0.0


def median_of(runs: list[Measure]) -> Measure:
    """The run with the median wall time, carrying the spread of all of them."""
    ordered = sorted(runs, key=lambda m: m.wall)
    mid = ordered[len(ordered) // 2]
    mid.low, mid.high = ordered[0].wall, ordered[-1].wall
    return mid


def ensure_tools(peers: bool) -> None:
    missing = [
        pkg
        for cmd, pkg in (("nginx", "nginx-light"), ("newsboat", "newsboat"))
        if (cmd == "nginx" or peers) and not shutil.which(cmd) and not Path(f"/usr/sbin/{cmd}").exists()
    ]
    if not Path(TIME).exists():
        missing.append("time")
    if missing:
        print(f"installing {', '.join(missing)} from Debian's packages", file=sys.stderr)
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run(
            [*sudo, "apt-get", "install", "-y", "-qq", *missing],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    if peers:
        try:
            import reader  # noqa: F401
            import sgmllib  # noqa: F401  (reader's vendored feedparser needs it)
        except ImportError:
            print("installing reader (and sgmllib3k) from PyPI", file=sys.stderr)
            subprocess.run([PYTHON, "-m", "pip", "install", "-q", "reader", "sgmllib3k"], check=True)


NGINX_CONF = """
worker_processes 1;
daemon off;
error_log {root}/error.log warn;
pid {root}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  {access_log}
  client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
  uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
  types {{ application/rss+xml xml; }}
  sendfile on; tcp_nopush on; keepalive_requests 100000; keepalive_timeout 60;
  gzip on; gzip_types application/rss+xml; gzip_min_length 256; gzip_comp_level 1;
  etag on; if_modified_since exact;
  server {{ listen 127.0.0.1:{port}; root {feeds}; location / {{ }} }}
}}
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_nginx(feeds: Path, root: Path, access_log: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """nginx serving `feeds` on a free port of 127.0.0.1; with `access_log`, every request is logged there as
    `<uri> <status>` (bench/workers.py counts each run's requests)."""
    port = free_port()
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    conf = root / "nginx.conf"
    log = (
        f"log_format bench '$request_uri $status'; access_log {access_log} bench;" if access_log else "access_log off;"
    )
    conf.write_text(NGINX_CONF.format(root=root, port=port, feeds=feeds, access_log=log))
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    proc = subprocess.Popen([binary, "-c", str(conf), "-p", str(root)], stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            import urllib.request

            urllib.request.urlopen(f"http://127.0.0.1:{port}/feed-0.xml", timeout=1).read()
            return proc, f"http://127.0.0.1:{port}/"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("nginx did not start; see " + str(root / "error.log"))


def timed(
    tool: str, run: str, feeds: int, cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> Measure:
    """Wall, user+sys CPU and peak RSS of one whole process, as GNU time reports them."""
    fmt = "%e %U %S %M"
    res = subprocess.run([TIME, "-f", fmt, *cmd], capture_output=True, text=True, env=env, cwd=cwd)
    last = res.stderr.strip().splitlines()[-1] if res.stderr.strip() else ""
    if res.returncode != 0 or len(last.split()) != 4:
        raise SystemExit(f"{tool} {run} exited {res.returncode}:\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    wall, user, sys_, rss = last.split()
    return Measure(
        tool,
        run,
        feeds,
        float(wall),
        float(user) + float(sys_),
        int(rss) / 1024,
        note=res.stdout.strip().splitlines()[-1][:80] if res.stdout.strip() else "",
    )


# --- digest ----------------------------------------------------------------------------------------------


def digest_cmd(*args: str) -> list[str]:
    # Under a subreaper (bench/reap.py): digest's parser processes are the forkserver's children, and their
    # CPU is counted only if someone reaps that forkserver.
    return [PYTHON, "-S", str(HERE / "reap.py"), PYTHON, "-m", "digest", *args]


def check_store(db: Path, farm: Path, base: str) -> str:
    """The store must hold exactly the generator's items and paper ids."""
    con = sqlite3.connect(db)
    try:
        return check_rows(con, farm, base)
    finally:
        con.close()


def check_rows(con: Any, farm: Path, base: str) -> str:
    """check_store on an open connection (sqlite3's or psycopg's: the queries are plain SQL on digest's tables)."""
    truth = json.loads((farm / "expected.json").read_text())
    want_items = {(base + f, e["guid"]) for f, entries in truth.items() for e in entries}
    want_papers = {p for entries in truth.values() for e in entries for p in e["papers"]}
    got_items = set(con.execute("SELECT s.url, i.guid FROM items i JOIN sources s ON s.id = i.source_id"))
    got_papers = {
        r[0] for r in con.execute("SELECT DISTINCT p.canonical_id FROM papers p JOIN mentions m ON m.paper_id = p.id")
    }
    pairs = {
        (r[0], r[1])
        for r in con.execute(
            "SELECT i.guid, p.canonical_id FROM mentions m JOIN items i ON i.id = m.item_id "
            "JOIN papers p ON p.id = m.paper_id"
        )
    }
    want_pairs = {(e["guid"], p) for entries in truth.values() for e in entries for p in e["papers"]}
    problems = []
    if got_items != want_items:
        problems.append(
            f"items: {len(got_items)} stored, {len(want_items)} expected, "
            f"{len(want_items - got_items)} missing, {len(got_items - want_items)} unexpected"
        )
    if got_papers != want_papers:
        problems.append(f"papers: {len(got_papers)} stored, {len(want_papers)} expected")
    if pairs != want_pairs:
        problems.append(f"mentions: {len(pairs ^ want_pairs)} differ")
    if problems:
        raise SystemExit("correctness check failed: " + "; ".join(problems))
    return f"ok: {len(got_items)} items, {len(got_papers)} papers, {len(pairs)} mentions"


def write_config(work: Path, extra: str = "") -> Path:
    """digest's config for a benchmark run (no enrichment: the farm's papers are not on the network); `extra` is
    more TOML, such as a [fetch] table."""
    cfg = work / "digest.toml"
    cfg.write_text(
        '[enrich]\nafter_fetch = false\n[[digests]]\nname = "bench"\nlookback_days = 36500\n'
        "max_papers = 30\nmax_posts = 30\n" + extra
    )
    return cfg


def write_opml(work: Path, base: str, feeds: int) -> Path:
    """The farm as one OPML file: `digest sources import` adds every feed in one process."""
    opml = work / "farm.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><body>'
        + "".join(f'<outline type="rss" text="feed-{n}" xmlUrl="{base}feed-{n}.xml"/>' for n in range(feeds))
        + "</body></opml>"
    )
    return opml


def run_digest(farm: Path, base: str, feeds: int, work: Path, items: int) -> list[Measure]:
    db = work / "digest.db"
    cfg = write_config(work)
    env = {**os.environ, "DIGEST_HOME": str(work / "home")}
    opml = write_opml(work, base, feeds)
    subprocess.run(
        digest_cmd("--db", str(db), "--config", str(cfg), "sources", "import", str(opml)),
        check=True,
        env=env,
        capture_output=True,
    )
    out = []
    out.append(timed("digest", "cold", feeds, digest_cmd("--db", str(db), "--config", str(cfg), "fetch", "--all"), env))
    out[-1].note = check_store(db, farm, base)
    out.append(timed("digest", "warm", feeds, digest_cmd("--db", str(db), "--config", str(cfg), "fetch", "--all"), env))
    generate(farm, feeds=feeds, items=items, extra={n: 1 for n in range(0, feeds, 10)})
    out.append(
        timed("digest", "changed", feeds, digest_cmd("--db", str(db), "--config", str(cfg), "fetch", "--all"), env)
    )
    out[-1].note = check_store(db, farm, base)
    out.append(
        timed(
            "digest",
            "compose",
            feeds,
            digest_cmd("--db", str(db), "--config", str(cfg), "compose", "--preview", "--out", str(work / "issue")),
            env,
        )
    )
    generate(farm, feeds=feeds, items=items)  # back to the base farm for the peers
    return out


# --- peers ---------------------------------------------------------------------------------------------

READER_SCRIPT = """
import sys
from reader import make_reader
db, base, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = make_reader(db)
if not list(r.get_feeds(limit=1)):
    for i in range(n):
        r.add_feed(f"{base}feed-{i}.xml")
r.update_feeds(workers=8, scheduled=False)
print(r.get_entry_counts().total, "entries")
"""

FLOOR_SCRIPT = """
import sys, httpx, feedparser
from concurrent.futures import ThreadPoolExecutor
base, n = sys.argv[1], int(sys.argv[2])
client = httpx.Client()
def one(i):
    body = client.get(f"{base}feed-{i}.xml").content
    return len(feedparser.parse(body).entries)
with ThreadPoolExecutor(8) as pool:
    print(sum(pool.map(one, range(n))), "entries")
"""


def run_peers(base: str, feeds: int, work: Path) -> list[Measure]:
    out = []
    rdb = work / "reader.sqlite"
    for run in ("cold", "warm"):
        out.append(timed("reader", run, feeds, [PYTHON, "-c", READER_SCRIPT, str(rdb), base, str(feeds)]))
    nb = work / "newsboat"
    nb.mkdir(exist_ok=True)
    (nb / "urls").write_text("".join(f"{base}feed-{n}.xml\n" for n in range(feeds)))
    (nb / "config").write_text("reload-threads 8\nshow-read-feeds yes\n")
    cmd = ["newsboat", "-x", "reload", "-u", str(nb / "urls"), "-c", str(nb / "cache.db"), "-C", str(nb / "config")]
    env = {**os.environ, "HOME": str(nb), "XDG_CONFIG_HOME": str(nb), "XDG_DATA_HOME": str(nb)}
    for run in ("cold", "warm"):
        out.append(timed("newsboat", run, feeds, cmd, env=env, cwd=nb))
    out.append(timed("floor", "cold", feeds, [PYTHON, "-c", FLOOR_SCRIPT, base, str(feeds)]))
    return out


def table(measures: list[Measure]) -> str:
    ours = {(m.run, m.feeds): m for m in measures if m.tool == "digest"}
    lines = [
        f"{'tool':<9} {'run':<8} {'feeds':>6} {'wall s':>8} {'min-max s':>13} {'CPU s':>8} {'peak MB':>8}  "
        f"{'digest is':<16} note",
        "-" * 114,
    ]
    for m in measures:
        ratio = ""
        mine = ours.get((m.run, m.feeds))
        if m.tool != "digest" and mine and mine.wall > 0 and m.wall > 0:
            r = m.wall / mine.wall
            ratio = f"{r:.1f}x faster" if r >= 1 else f"{1 / r:.1f}x slower"
        spread = f"{m.low:.2f}-{m.high:.2f}" if m.high else ""
        lines.append(
            f"{m.tool:<9} {m.run:<8} {m.feeds:>6} {m.wall:>8.2f} {spread:>13} {m.cpu:>8.2f} "
            f"{m.rss_mb:>8.0f}  {ratio:<16} {m.note}"
        )
    return "\n".join(lines)


def machine() -> str:
    import platform

    cpu = "unknown CPU"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.platform()}"


def compile_digest() -> None:
    """Write digest's bytecode, as `pip install` does for every package it installs (the peers' included). An
    editable install (or PYTHONDONTWRITEBYTECODE, set on some machines) would otherwise have every timed run
    compile digest's modules from source: ~40 ms of a warm run here."""
    import compileall
    import importlib.util

    for package in ("digest", "digest.migrations"):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit(f"cannot find the {package} package to compile")
        for folder in spec.submodule_search_locations:
            compileall.compile_dir(folder, quiet=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--feeds", default="500,2000", help="comma-separated farm sizes (default 500,2000)")
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--no-peers", action="store_true", help="time digest only")
    ap.add_argument("--peers-at", default="500", help="sizes at which to run the peers (default 500)")
    ap.add_argument("--keep", type=Path, help="keep the farm and stores in this folder")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the median is shown (default 3)")
    args = ap.parse_args()
    ensure_tools(not args.no_peers)
    compile_digest()
    sizes = [int(x) for x in args.feeds.split(",")]
    peer_sizes = {int(x) for x in args.peers_at.split(",")}
    measures: list[Measure] = []
    root = args.keep or Path(tempfile.mkdtemp(prefix="digest-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # nginx's workers run as an unprivileged user and must read the farm
    print(f"machine: {machine()}", file=sys.stderr)
    for feeds in sizes:
        work = root / f"n{feeds}"
        shutil.rmtree(work, ignore_errors=True)
        farm = work / "farm"
        truth = generate(farm, feeds=feeds, items=args.items)
        print(
            f"farm: {feeds} feeds x {args.items} items = {truth.items} items, {len(truth.paper_ids)} paper ids",
            file=sys.stderr,
        )
        server, base = start_nginx(farm / "feeds", work / "nginx")
        try:
            runs: dict[tuple[str, str], list[Measure]] = {}
            for n in range(max(1, args.repeat)):
                stores = work / f"run{n}"
                stores.mkdir()
                these = run_digest(farm, base, feeds, stores, args.items)
                if not args.no_peers and feeds in peer_sizes:
                    these += run_peers(base, feeds, stores)
                for m in these:
                    runs.setdefault((m.tool, m.run), []).append(m)
            measures += [median_of(group) for group in runs.values()]
        finally:
            server.terminate()
            server.wait()
        print(table(measures), file=sys.stderr)
    print(f"machine: {machine()}")
    print(table(measures))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
