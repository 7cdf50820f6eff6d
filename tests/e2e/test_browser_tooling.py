"""The browser tooling itself: headless chromium draws a Chart.js chart from the vendored file.

A page served from this machine (http.server in a thread, no stack needed) loads
static/vendor/chart.umd.min.js from a local URL and draws a bar chart from the JSON block it
embeds, the way the console's pages will. Proves chromium, Playwright, the vendored library,
`page_json`, `screenshot` and the JS error check work together before the console's tests use them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.async_api import Page

from tests.support.browser import assert_no_js_errors, page_json, page_log, screenshot
from tools.vendor_js import VENDOR

ORDERS_BY_CHANNEL = {"labels": ["web", "marketplace", "store", "phone"], "values": [12, 7, 3, 1]}

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Chart smoke test</title></head>
<body>
<h1>Orders by channel</h1>
<div style="width: 640px; height: 320px"><canvas id="orders-by-channel"></canvas></div>
<script type="application/json" id="orders-by-channel-data">DATA</script>
<script src="/static/vendor/chart.umd.min.js"></script>
<script>
  const data = JSON.parse(document.getElementById("orders-by-channel-data").textContent);
  new Chart(document.getElementById("orders-by-channel"), {
    type: "bar",
    data: {labels: data.labels, datasets: [{label: "orders", data: data.values}]},
    options: {animation: false, responsive: true, maintainAspectRatio: false},
  });
  console.log("chart drawn");
</script>
</body>
</html>
""".replace("DATA", json.dumps(ORDERS_BY_CHANNEL))


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/":
            self._send(PAGE.encode(), "text/html; charset=utf-8")
        elif self.path == "/static/vendor/chart.umd.min.js":
            body = (VENDOR / "chart.umd.min.js").read_bytes()
            self._send(body, "text/javascript; charset=utf-8")
        else:
            self.send_error(HTTPStatus.NOT_FOUND)

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep the test output quiet
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    # Port 0: the kernel picks a free one, so parallel runs never collide.
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


async def test_a_vendored_chart_renders_the_embedded_data(page: Page, site: str) -> None:
    await page.goto(f"{site}/")

    embedded = await page_json(page, "orders-by-channel-data")
    assert embedded == ORDERS_BY_CHANNEL
    drawn = await page.evaluate(
        """() => {
            const chart = Chart.getChart(document.getElementById("orders-by-channel"));
            if (chart === undefined) return null;
            return {
                type: chart.config.type,
                labels: chart.data.labels,
                values: chart.data.datasets[0].data,
                width: chart.width,
            };
        }"""
    )
    assert drawn is not None, "Chart.getChart found no chart on the canvas"
    assert drawn["type"] == "bar"
    assert {"labels": drawn["labels"], "values": drawn["values"]} == embedded
    assert drawn["width"] > 0

    path = await screenshot(page, "browser-tooling-chart")
    assert path.is_file() and path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert path.stat().st_size > 2_000  # a drawn chart, not a blank page
    assert any(entry.text == "chart drawn" for entry in page_log(page).console)
    assert_no_js_errors(page)


@pytest.mark.js_errors_allowed
async def test_a_script_error_is_reported(page: Page, site: str) -> None:
    await page.goto(f"{site}/")
    # Waits for the page's error event itself (the watcher, registered first, has it by then).
    async with page.expect_event("pageerror") as error:
        await page.evaluate("() => { setTimeout(() => { throw new Error('boom'); }, 0); }")
    await error.value

    with pytest.raises(AssertionError, match="boom"):
        assert_no_js_errors(page)


async def test_page_json_rejects_an_element_that_is_not_a_json_block(page: Page, site: str) -> None:
    await page.goto(f"{site}/")

    with pytest.raises(AssertionError, match="not a <script"):
        await page_json(page, "orders-by-channel")
    with pytest.raises(AssertionError, match="no element"):
        await page_json(page, "no-such-id")
