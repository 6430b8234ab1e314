"""A demo store, the UI serving it on a free port, and headless Debian Chromium.

The browser tests skip when /usr/bin/chromium (Debian's ``chromium`` package) or playwright is
missing. Screenshots go to ``out/screenshots/`` (or ``$INTERESTLENS_SCREENSHOTS``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .ui_driver import CHROMIUM, VIEWPORT, free_port, launch, start_ui

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"
N_DEMO_USERS = 120


@pytest.fixture(scope="session")
def playwright_api():
    """Playwright's sync API; skips without Debian Chromium or the playwright package."""
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package "
                    "(apt-get install chromium fonts-noto-cjk)")
    return pytest.importorskip("playwright.sync_api",
                               reason="playwright is not installed (pip install -e '.[test]')")


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Folder of the screenshot artefacts (gitignored)."""
    folder = Path(os.environ.get("INTERESTLENS_SCREENSHOTS", ROOT / "out" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    return folder


@pytest.fixture(scope="session")
def demo_store(playwright_api, tmp_path_factory) -> Path:
    """A store built by ``interestlens demo`` from the seeded demo data."""
    out = tmp_path_factory.mktemp("ui-demo")
    done = subprocess.run([sys.executable, "-m", "interestlens", "demo", "--out", str(out),
                           "--users", str(N_DEMO_USERS)], capture_output=True, text=True,
                          timeout=1200)
    assert done.returncode == 0, done.stderr
    return out / "store"


@pytest.fixture(scope="session")
def ui_log(tmp_path_factory) -> Path:
    """What the UI server prints (stdout and stderr)."""
    return tmp_path_factory.mktemp("ui-log") / "ui.log"


@pytest.fixture(scope="session")
def ui_url(demo_store, ui_log):
    """URL of ``interestlens ui`` serving the demo store: uploads up to 1 MB, ../shared/data."""
    log = ui_log
    port = free_port()
    shared = [*(["--data-dir", str(SHARED_DATA)] if SHARED_DATA.is_dir() else [])]
    process = start_ui(demo_store, port, "--max-upload-mb", "1", *shared, log=log)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=60)


@pytest.fixture(scope="session")
def browser(playwright_api):
    """Headless Debian Chromium."""
    with playwright_api.sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    """A fresh browser context: its own cookies and storage, i.e. its own session."""
    ctx = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    yield ctx
    ctx.close()
