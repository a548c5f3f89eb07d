"""Browser tests of the admin: Playwright driving Debian's Chromium (headless, launched by its
path: no browser is downloaded), against the demo data (``seed_demo``) served by
``manage.py runserver`` on a free port of 127.0.0.1.

The demo database is migrated and seeded once per session into a SQLite file; each language
gets its own copy and its own server, so the flows that move money start from the same data.
Screenshots go to tests/e2e/artifacts/ (git-ignored). Marked ``e2e``: the SQLite pass of
``make test`` runs them; ``make e2e`` runs them alone.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"
AXE = HERE / "vendor" / "axe.min.js"
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
LANGUAGES = ["en", "zh-hans"]
WIDTH, HEIGHT = 1440, 900


def _env(db: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "DJANGO_DEBUG": "1",
        "DJANGO_SECRET_KEY": "e2e-only-" + "x" * 50,
        "LOG_LEVEL": "CRITICAL",
    }


def _manage(db: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=_env(db),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data, migrated and seeded once."""
    db = tmp_path_factory.mktemp("e2e") / "demo.sqlite3"
    _manage(db, "migrate", "--no-input")
    _manage(db, "seed_demo")
    return db


@dataclass
class Site:
    url: str
    lang: str
    db: Path

    def shot(self, page: Any, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{self.lang}-{name}.png"), full_page=True)


@pytest.fixture(scope="module", params=LANGUAGES)
def site(request: pytest.FixtureRequest, demo_db: Path) -> Iterator[Site]:
    """A server of a fresh copy of the demo data, for one language."""
    db = demo_db.with_name(f"demo-{request.param}-{request.module.__name__}.sqlite3")
    shutil.copy(demo_db, db)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=_env(db),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{url}/admin/login/", process)
        yield Site(url=url, lang=request.param, db=db)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_for(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server stopped"
        try:
            requests.get(url, timeout=5)
            return
        except requests.ConnectionError:
            time.sleep(0.3)
    raise AssertionError("the server did not start")


@pytest.fixture(autouse=True)
def _db() -> None:
    """No test database here: the server has its own (and Playwright's sync API runs an event
    loop, in which Django refuses database calls)."""


@pytest.fixture
def page(site: Site) -> Iterator[Any]:
    """A 1440 px wide page in the site's language (cookie and Accept-Language). Playwright
    starts and stops with each test: its event loop must not outlive the test, or the other
    tests of an xdist worker would run inside it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield from _page(browser, site)
        browser.close()


def _page(browser: Any, site: Site) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": WIDTH, "height": HEIGHT},
        locale="zh-CN" if site.lang == "zh-hans" else "en-US",
        extra_http_headers={"Accept-Language": site.lang},
    )
    context.add_cookies([{"name": "django_language", "value": site.lang, "url": site.url}])
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()
