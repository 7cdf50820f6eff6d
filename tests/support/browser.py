"""Real-browser tests: Debian's chromium, headless, driven by Playwright (async API).

A pytest plugin (tests/conftest.py lists it in `pytest_plugins`), so every test folder can ask for
its fixtures:

- `browser`: one headless chromium per test module (launching costs about 1.3 s: Playwright's
  driver and the browser process), closed at the module's end whatever happened;
- `page`: a fresh browser context and page per test (no cookies or storage shared between
  tests), every action and navigation bounded by ACTION_TIMEOUT_MS, its console messages and
  page errors collected; when the test logged a JavaScript error, its teardown fails it (unless
  the test is marked `js_errors_allowed`); when the test failed, a screenshot of the page is saved
  as `.local/screenshots/failed-<test>.png`.

Helpers: `screenshot(page, name)` (a full-page PNG at `.local/screenshots/<name>.png`),
`page_json(page, element_id)` (the JSON a page embeds in a `<script type="application/json">`),
`page_log(page)` and `assert_no_js_errors(page)`.

The browser is /usr/bin/chromium (OMS_CHROMIUM overrides it), which `make test` installs
(`make browser`, deploy/local/browser.sh), never one `playwright install` would download. When it
is missing the fixtures fail, never skip: a skipped browser test would pass `make test` with the
console untested. `OMS_BROWSER_TESTS=0` skips them explicitly, on a machine without chromium.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

import pytest
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Error,
    Page,
    ViewportSize,
    async_playwright,
)

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = ROOT / ".local" / "screenshots"
CHROMIUM = Path(os.environ.get("OMS_CHROMIUM", "/usr/bin/chromium"))
# Every click, fill, wait and navigation gives up after this long, so a page that never shows
# what a test waits for fails the test in seconds instead of reaching pytest-timeout's 300 s.
ACTION_TIMEOUT_MS = 15_000
# Starting chromium takes about half a second here; a loaded machine gets room, not a hang.
LAUNCH_TIMEOUT_MS = 60_000
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
# Screenshot names become file names the closing notes of issues link to: keep them plain.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def browser_tests_enabled() -> bool:
    """False only when OMS_BROWSER_TESTS=0 is set explicitly."""
    return os.environ.get("OMS_BROWSER_TESTS", "1").strip() != "0"


@dataclass(frozen=True)
class ConsoleEntry:
    type: str  # "log", "warning", "error", ...
    text: str
    url: str


@dataclass
class PageLog:
    """What a page said while a test drove it."""

    console: list[ConsoleEntry] = field(default_factory=list)
    # Uncaught exceptions thrown by the page's scripts ("pageerror").
    page_errors: list[str] = field(default_factory=list)

    def js_errors(self) -> list[str]:
        """Uncaught exceptions, then console.error messages (a failed resource load included,
        except the /favicon.ico chromium asks for by itself, which no page's script loads)."""
        return self.page_errors + [
            f"console.error: {entry.text} ({entry.url})"
            for entry in self.console
            if entry.type == "error" and urlsplit(entry.url).path != "/favicon.ico"
        ]


_LOGS: WeakKeyDictionary[Page, PageLog] = WeakKeyDictionary()


def watch(page: Page) -> PageLog:
    """Start collecting the page's console messages and uncaught errors."""
    log = PageLog()

    def on_console(message: ConsoleMessage) -> None:
        location = message.location
        log.console.append(ConsoleEntry(message.type, message.text, location.get("url", "")))

    def on_page_error(error: Error) -> None:
        log.page_errors.append(f"{error.name}: {error.message}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    _LOGS[page] = log
    return log


def page_log(page: Page) -> PageLog:
    try:
        return _LOGS[page]
    except KeyError:
        raise AssertionError("this page is not watched: open it with the `page` fixture") from None


def assert_no_js_errors(page: Page) -> None:
    """Fail when the page threw an uncaught exception or logged a console error."""
    errors = page_log(page).js_errors()
    assert not errors, f"the page at {page.url} logged JavaScript errors:\n" + "\n".join(errors)


async def screenshot(page: Page, name: str) -> Path:
    """A full-page PNG at .local/screenshots/<name>.png (replaced on every run); prints its path."""
    if not _NAME.match(name):
        raise ValueError(f"screenshot name {name!r}: letters, digits, '.', '_' and '-' only")
    path = SCREENSHOT_DIR / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


async def page_json(page: Page, element_id: str) -> Any:
    """The JSON in the page's `<script type="application/json" id="element_id">`, parsed.

    Pages embed their charts' data this way, so a test compares what the page drew from with
    what the API answers. The text is parsed here by Python's json, not by the page's scripts.
    """
    found = await page.evaluate(
        """(id) => {
            const element = document.getElementById(id);
            if (element === null) return {missing: true};
            return {tag: element.tagName, type: element.type || "", text: element.textContent};
        }""",
        element_id,
    )
    assert not found.get("missing"), f"no element with id {element_id!r} on {page.url}"
    assert found["tag"] == "SCRIPT" and found["type"] == "application/json", (
        f"#{element_id} on {page.url} is a <{found['tag'].lower()} type={found['type']!r}>, "
        'not a <script type="application/json">'
    )
    return json.loads(found["text"])


def _require_chromium() -> None:
    if not browser_tests_enabled():
        pytest.skip("browser tests switched off (OMS_BROWSER_TESTS=0)")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium. Install it with "
            "`make browser` (deploy/local/browser.sh ensure; as root: apt-get install -y "
            "--no-install-recommends chromium), or set OMS_BROWSER_TESTS=0 to skip these tests",
            pytrace=False,
        )


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """A headless chromium for the module's tests, closed at the end even after a failure."""
    _require_chromium()
    started = time.monotonic()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, timeout=LAUNCH_TIMEOUT_MS
        )
        print(f"chromium {launched.version} launched in {time.monotonic() - started:.2f} s")
        try:
            yield launched
        finally:
            await launched.close()


# Whether a test's call phase failed, for the `page` fixture's teardown.
_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


@pytest.fixture
async def page(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """A new page in a new context; fails the test if the page logged a JavaScript error."""
    context = await browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(ACTION_TIMEOUT_MS)
    try:
        opened = await context.new_page()
        watch(opened)
        yield opened
        if request.node.stash.get(_FAILED, False):
            name = "failed-" + re.sub(r"[^A-Za-z0-9._-]+", "_", request.node.name)
            try:
                await screenshot(opened, name)
            except Error as error:  # a crashed page: the failure itself says more
                print(f"no failure screenshot: {error.message}")
        elif request.node.get_closest_marker("js_errors_allowed") is None:
            assert_no_js_errors(opened)
    finally:
        await context.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "js_errors_allowed: the `page` fixture does not fail the test on the page's JS errors",
    )
