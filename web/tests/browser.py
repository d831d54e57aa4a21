"""Helpers for the browser tests: Debian's Chromium driven by Playwright (never a
downloaded browser), axe-core injected from the vendored copy, and a guard that fails a
test on any console error (a Content-Security-Policy violation is one)."""
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
# The README's screenshots are refreshed only when asked (QUORUM_SCREENSHOTS=1): a plain
# test run must not rewrite committed files. Otherwise they go to a temporary folder.
README_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 760, "height": 620}
PHONE = {"width": 375, "height": 740}


# One Chromium per test run. Test modules import the fixture (web's and the console's),
# which makes one session fixture per module; Playwright's sync API allows one running
# instance per thread, so the first fixture starts it and the others borrow it.
_shared: dict = {}


@pytest.fixture(scope="session")
def browser():
    if "browser" in _shared:
        yield _shared["browser"]
        return
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium with apt")
    # Playwright's sync API runs an event loop in this thread; the live server and the
    # ORM calls of the test are still plain synchronous code.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
        _shared["browser"] = browser
        yield browser
        _shared.clear()
        browser.close()


class Page:
    """A Playwright page with the checks every browser test wants."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base_url = base_url
        self.console_errors: list[str] = []
        self.expected_errors: list[str] = []
        page.on("console", lambda message: message.type == "error"
                and self.console_errors.append(message.text))
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        # Anything fetched from outside the live server fails offline: name it.
        page.on("requestfailed", lambda request: not request.url.startswith(
            (base_url, "blob:", "data:")) and self.console_errors.append(
            f"request failed: {request.url}"))

    def goto(self, path: str):
        return self.page.goto(self.base_url + path)

    def axe(self) -> None:
        """No serious or critical accessibility violation on the page as it is now."""
        result = self.page.evaluate(
            "() => axe.run(document, {resultTypes: ['violations']})")
        bad = [{"id": v["id"], "impact": v["impact"], "help": v["help"],
                "nodes": [n["target"] for n in v["nodes"]][:5]}
               for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert bad == [], json.dumps(bad, indent=1)

    def screenshot(self, name: str) -> None:
        folder = (README_SCREENSHOTS if os.environ.get("QUORUM_SCREENSHOTS") == "1"
                  else Path(tempfile.gettempdir()) / "quorum-screenshots")
        folder.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(folder / f"{name}.png"))

    def expect_console_error(self, text: str) -> None:
        """A refusal the test provokes on purpose (the browser logs 4xx answers)."""
        self.expected_errors.append(text)

    def assert_no_console_errors(self) -> None:
        unexpected = [error for error in self.console_errors
                      if not any(text in error for text in self.expected_errors)]
        assert unexpected == [], unexpected


@contextmanager
def _page(browser, live_server, viewport):
    context = browser.new_context(viewport=viewport, locale="en-US")
    # An init script is not subject to the page's CSP, so axe needs no loosening of it.
    context.add_init_script(path=str(AXE))
    page = Page(context.new_page(), live_server.url)
    page.page.set_default_timeout(10_000)
    yield page
    page.assert_no_console_errors()
    context.close()


@pytest.fixture
def web(browser, live_server):
    with _page(browser, live_server, VIEWPORT) as page:
        yield page


@pytest.fixture
def second_web(browser, live_server):
    with _page(browser, live_server, PHONE) as page:
        yield page
