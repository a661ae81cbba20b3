"""Screenshots of each theme for docs/screenshots/: `<theme>-<width>-<label>.png` at 600 and 375 px.

The store is built once from the test fixtures (the seed Substack feed and a Hugging Face daily-papers listing,
served on 127.0.0.1, fetched by `digest fetch`); three of the feed's papers get a thumbnail as a landing page's
og:image would give them. Each theme is composed with `digest compose --preview` and opened in Debian's headless
Chromium; every image request is answered with a local placeholder and everything else is refused, so nothing
leaves the machine. The same store file serves a "before" and an "after" (pass --store to keep it).

    python docs/screenshots/take.py --label before --store /tmp/shots/store.db
    python docs/screenshots/take.py --label after --store /tmp/shots/store.db

Needs ImageMagick (Debian's imagemagick: placeholders, and a 32-colour palette to keep the PNGs small).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
THEMES = ("default", "dark", "compact")
WIDTHS = (600, 375)
HEIGHT = 1000  # the top of each issue: masthead, contents and the first cards
CONFIG = """[enrich]
after_fetch = false
[[digests]]
name = "shots"
title = "Research digest"
lookback_days = 36500
max_papers = 5
max_posts = 3
"""


def _digest(store: Path, config: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "digest", "--db", f"sqlite:///{store}", "--config", str(config), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"digest {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def build_store(store: Path, config: Path) -> None:
    served = Path(tempfile.mkdtemp(prefix="digest-shots-serve-"))
    shutil.copy(FIXTURES / "feeds" / "aipapertrails_substack.rss.xml", served / "seed.rss")
    shutil.copy(FIXTURES / "listings" / "hf_daily_papers_2026-08-13.json", served / "hf.json")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        _digest(store, config, "sources", "add", f"{base}/seed.rss", "--name", "AI PaperTrails")
        _digest(
            store,
            config,
            "sources",
            "add",
            f"{base}/hf.json",
            "--name",
            "HF daily papers",
            "--kind",
            "listing",
            "--adapter",
            "hf-daily",
        )
        _digest(store, config, "fetch")
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(served, ignore_errors=True)
    with sqlite3.connect(store) as db:  # what three landing pages' og:image would have given
        ids = [
            pid
            for (pid,) in db.execute(
                "SELECT p.id FROM papers p JOIN mentions m ON m.paper_id = p.id JOIN items i ON i.id = m.item_id "
                "JOIN sources s ON s.id = i.source_id WHERE s.kind = 'feed' AND p.title IS NOT NULL "
                "GROUP BY p.id ORDER BY count(*) DESC, p.id LIMIT 3"
            )
        ]
        db.executemany(
            "UPDATE papers SET thumbnail_url = ? WHERE id = ?",
            [(f"https://figures.example.org/{pid}/figure-1.png", pid) for pid in ids],
        )


def _convert() -> str:
    """ImageMagick 7's `magick`, else Debian's ImageMagick 6 under its own name (`convert` may be another tool)."""
    found = shutil.which("magick") or shutil.which("convert-im6.q16")
    if found is None:
        raise SystemExit("ImageMagick is needed (apt-get install imagemagick)")
    return found


def _placeholders(into: Path) -> dict[str, bytes]:
    """A flat 'figure' (a bar chart) for paper thumbnails, a flat 'photo' for posts' lead images."""
    figure, photo = into / "figure.png", into / "photo.png"
    subprocess.run(
        [
            _convert(),
            "-size",
            "1200x630",
            "xc:#eef2f7",
            "-fill",
            "#5b7db1",
            "-draw",
            "rectangle 180,400 330,560",
            "-draw",
            "rectangle 420,260 570,560",
            "-draw",
            "rectangle 660,330 810,560",
            "-draw",
            "rectangle 900,160 1050,560",
            str(figure),
        ],
        check=True,
    )
    subprocess.run(
        [
            _convert(),
            "-size",
            "1200x675",
            "xc:#e6dfd3",
            "-fill",
            "#b7a98f",
            "-draw",
            "circle 600,337 600,150",
            str(photo),
        ],
        check=True,
    )
    return {"figure": figure.read_bytes(), "photo": photo.read_bytes()}


def shoot(store: Path, config: Path, out: Path, label: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="digest-shots-"))
    images = _placeholders(work)
    written = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
            )
            for theme in THEMES:
                _digest(store, config, "compose", "--preview", "--theme", theme, "--out", str(work / theme))
                html = (work / theme / "digest.html").read_text(encoding="utf-8")
                for width in WIDTHS:
                    context = browser.new_context(viewport={"width": width, "height": HEIGHT})
                    page = context.new_page()

                    def answer(route):  # type: ignore[no-untyped-def]
                        if route.request.resource_type != "image":
                            route.abort()
                            return
                        kind = (
                            "figure"
                            if "figures.example.org" in route.request.url or "huggingface.co" in route.request.url
                            else "photo"
                        )
                        route.fulfill(status=200, content_type="image/png", body=images[kind])

                    page.route("**/*", answer)
                    page.set_content(html, wait_until="load")
                    raw = work / f"{theme}-{width}.png"
                    page.screenshot(path=str(raw))
                    context.close()
                    final = out / f"{theme}-{width}-{label}.png"
                    subprocess.run([_convert(), str(raw), "+dither", "-colors", "32", f"PNG8:{final}"], check=True)
                    written.append(final)
            browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", required=True, help="before or after: the file name's last part")
    parser.add_argument("--store", type=Path, help="the store to render (built here first if missing)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    store = args.store or Path(tempfile.mkdtemp(prefix="digest-shots-store-")) / "store.db"
    config = store.parent / "shots.toml"
    config.write_text(CONFIG, encoding="utf-8")
    if not store.exists():
        store.parent.mkdir(parents=True, exist_ok=True)
        build_store(store, config)
    for path in shoot(store, config, args.out, args.label):
        print(f"{path} {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
