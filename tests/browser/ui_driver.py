"""Drive the InterestLens web UI with Playwright and Debian's Chromium, as an analyst would.

Used by the browser tests, and on its own to capture every view of a running UI:

    python tests/browser/ui_driver.py --url http://127.0.0.1:7860 --out out/screenshots \
        --ask "哪些用户群最关心价格？" --ask "Which segments care most about quality?" --user u0013
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update"]
VIEWPORT = {"width": 1400, "height": 1000}
TABS = ("Chat", "Data", "Segments", "User", "Pipeline", "Settings")
SLOW_MS = 300_000  # a cold first answer or a run on a busy 2-core machine


def launch(playwright):
    """Return headless Debian Chromium (Playwright's own browser download is not used)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=CHROMIUM_ARGS)


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_ui(store: Path, port: int, *extra: str, log: Path) -> subprocess.Popen:
    """Start ``interestlens ui`` on ``port`` and return once it answers HTTP (or raise)."""
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "interestlens", "ui", "--store", str(store), "--port",
             str(port), *extra], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"interestlens ui exited with {process.returncode}: "
                               f"{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(1)
    process.terminate()
    raise RuntimeError(f"interestlens ui did not answer within 180 s: {log.read_text()[-2000:]}")


def open_app(context, url: str):
    """Open the app in a new page of ``context`` and wait until the session has loaded."""
    page = context.new_page()
    page.goto(url)
    page.locator("#il-dataset").get_by_text(re.compile("Current data|No data")).wait_for(
        timeout=SLOW_MS)
    return page


def tab(page, name: str) -> None:
    """Switch to the view whose tab label starts with ``name``."""
    page.get_by_role("tab", name=re.compile(f"^{name}")).click()
    page.wait_for_timeout(500)


def ask(page, question: str) -> tuple[str, list[str]]:
    """Ask ``question`` in the chat; return the answer text and the titles of its tool steps."""
    tab(page, "Chat")
    chat = page.locator("#il-chatbot")
    n_steps = chat.locator(".thought-group .title").count()
    n_bot = chat.locator(".bot-row").count()
    n_asked = chat.locator(".user-row").count()
    box = page.locator("#il-question textarea")
    box.fill(question)
    box.press("Enter")
    # The question shows at once with a "Working" step, which a fast answer soon replaces.
    page.wait_for_function(f"document.querySelectorAll('#il-chatbot .user-row').length > {n_asked}",
                           timeout=30_000)
    chat.get_by_text("Working").wait_for(state="detached", timeout=SLOW_MS)
    answer = chat.locator(".bot-row [data-testid=bot]").last  # after the tool steps
    text, stable_since = "", time.monotonic()
    while time.monotonic() - stable_since < 1.5:  # the answer streams in: wait until it stops
        page.wait_for_timeout(300)
        latest = answer.inner_text()
        if latest != text:
            text, stable_since = latest, time.monotonic()
    assert chat.locator(".bot-row").count() > n_bot
    titles = chat.locator(".thought-group .title").all_inner_texts()[n_steps:]
    return text, [t.strip() for t in titles]


def show_last_turn(page) -> None:
    """Scroll the conversation so the last question and its tool steps are in view."""
    page.locator("#il-chatbot .user-row").last.evaluate(
        "e => e.scrollIntoView({block: 'start'})")
    page.evaluate("window.scrollTo(0, 0)")


def upload(page, *paths: Path) -> str:
    """Upload files in the Data view; return the preview text (or the message shown instead)."""
    tab(page, "Data")
    clear = page.locator("#il-upload button[aria-label=Clear]")
    if clear.count():
        clear.click()
        page.locator("#il-preview p").first.wait_for(state="detached")
    page.locator("#il-upload input[type=file]").set_input_files([str(p) for p in paths])
    preview = page.locator("#il-preview")
    preview.get_by_text(paths[0].name).first.wait_for(timeout=120_000)
    return preview.inner_text()


def preview_path(page, path: str) -> str:
    """Preview a server file or folder in the Data view; return the preview or its message."""
    tab(page, "Data")
    page.locator("#il-path textarea, #il-path input").first.fill(path)
    page.get_by_role("button", name="Preview this path").click()
    preview = page.locator("#il-preview")
    preview.get_by_text(Path(path).name).first.wait_for(timeout=120_000)
    return preview.inner_text()


def run(page) -> str:
    """Run the pipeline from the Data view; return the outcome shown in the page."""
    tab(page, "Data")
    page.locator("#il-run").click()
    status = page.locator("#il-run-status")
    status.get_by_text(re.compile("Done in|Run failed|first")).wait_for(timeout=SLOW_MS)
    settle(page)
    return status.inner_text()


def segment_rows(page) -> list[list[str]]:
    """Return the cells of the segments table, top to bottom."""
    tab(page, "Segments")
    rows = page.locator("#il-segments .virtual-row")
    rows.first.wait_for(timeout=60_000)
    return [[c.strip() for c in rows.nth(i).locator("[role=gridcell]").all_inner_texts()]
            for i in range(rows.count())]


def open_segment(page, row: int) -> str:
    """Click row ``row`` of the segments table; return the segment card's text."""
    tab(page, "Segments")
    cells = page.locator("#il-segments .virtual-row").nth(row).locator("[role=gridcell]")
    segment_id = cells.first.inner_text()
    cells.nth(1).click()
    card = page.locator("#il-card")
    card.locator("h3", has_text=segment_id.strip()).wait_for(timeout=30_000)
    page.locator("#il-dataset").click()  # leave the cell, so its selection frame is gone
    return card.inner_text()


def wait_for_map(page) -> int:
    """Wait until the segment map is drawn; return how many points it shows."""
    tab(page, "Segments")
    points = page.locator("#il-map .scatterlayer .point")
    points.first.wait_for(timeout=SLOW_MS)
    return points.count()


def look_up(page, user: str) -> tuple[str, str]:
    """Look up ``user`` in the User view; return the profile and recommendations texts."""
    tab(page, "User")
    page.locator("#il-user input").fill(user)
    page.locator("#il-lookup").click()
    page.locator("#il-profile h3", has_text=user).wait_for(timeout=SLOW_MS)
    recs = page.locator("#il-recs")
    recs.get_by_text(re.compile("Recommended|No recommendations|⚠")).wait_for(timeout=SLOW_MS)
    settle(page)
    return page.locator("#il-profile").inner_text(), recs.inner_text()


def pipeline_stages(page) -> list[str]:
    """Open the Pipeline view; return the labels of the diagram's boxes once it is drawn."""
    tab(page, "Pipeline")
    nodes = page.locator("#il-mermaid svg g.node .nodeLabel")
    nodes.first.wait_for(timeout=60_000)
    return [" ".join(t.split()) for t in nodes.all_inner_texts()]


def settle(page) -> None:
    """Wait until no component shows a pending update."""
    page.wait_for_function("() => !document.querySelector('.pending')", timeout=SLOW_MS)


def shot(page, out_dir: Path, name: str) -> Path:
    """Save a full-page screenshot as ``out_dir/name.png``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.png"
    settle(page)
    page.screenshot(path=str(path), full_page=True)
    return path


def capture_views(page, out_dir: Path, *, questions: list[str], user: str | None,
                  preview: str | None = None) -> list[Path]:
    """Visit every view (asking ``questions``, previewing a server path, looking up ``user``)
    and screenshot each."""
    shots = []
    for i, question in enumerate(questions):
        ask(page, question)
        show_last_turn(page)
        shots.append(shot(page, out_dir, f"chat-{i + 1}"))
    if preview:
        preview_path(page, preview)
    tab(page, "Data")
    shots.append(shot(page, out_dir, "data"))
    wait_for_map(page)
    if len(segment_rows(page)) > 1:
        open_segment(page, 1)
    shots.append(shot(page, out_dir, "segments"))
    if user:
        look_up(page, user)
    shots.append(shot(page, out_dir, "user"))
    pipeline_stages(page)
    shots.append(shot(page, out_dir, "pipeline"))
    tab(page, "Settings")
    shots.append(shot(page, out_dir, "settings"))
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--ask", action="append", default=[], help="a chat question (repeat)")
    parser.add_argument("--user", help="a user id to look up")
    parser.add_argument("--preview", help="a server file or folder to preview in the Data view")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = open_app(browser.new_context(viewport=VIEWPORT), args.url)
        for path in capture_views(page, args.out, questions=args.ask, user=args.user,
                                  preview=args.preview):
            print(path)
        browser.close()


if __name__ == "__main__":
    main()
