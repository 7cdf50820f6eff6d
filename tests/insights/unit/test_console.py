"""The console's edge, in-process with no service behind it: the login cookie, the security
headers, the redirect to the login page, the origin check of its forms, no CDN anywhere, and
how a page says that one of its sections could not be read (the services answered here by an
httpx MockTransport standing in for them; tests/e2e/test_console.py drives the real stack)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from libs.auth.scopes import Scope
from services.insights.adapters.oms_api import SERVICES, OmsApi
from services.insights.api.app import create_app
from services.insights.api.routes.console import CONSOLE_DIR, COOKIE
from services.insights.bootstrap import bootstrap
from services.insights.config import InsightsSettings
from tests.support.tokens import token

Handler = Callable[[httpx.Request], httpx.Response]
BASE = "http://console.test"


@pytest.fixture(scope="module")
def app_and_api() -> tuple[object, list[Handler]]:
    container = bootstrap(InsightsSettings())
    app = create_app(container, parts=("api",))
    app.state.container = container
    # The services, as each test says they answer (default: nothing found).
    answers: list[Handler] = [lambda request: httpx.Response(404, json={"code": "not_found"})]
    app.state.console_api = OmsApi(
        {name: f"http://{name}.test" for name in SERVICES},
        timeout_s=1,
        transport=httpx.MockTransport(lambda request: answers[-1](request)),
    )
    return app, answers


@pytest.fixture
async def browser_like(
    app_and_api: tuple[object, list[Handler]],
) -> AsyncIterator[httpx.AsyncClient]:
    app, answers = app_and_api
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
        base_url=BASE,
        headers={"Origin": BASE},
    ) as client:
        yield client
    del answers[1:]


def answer_with(app_and_api: tuple[object, list[Handler]], handler: Handler) -> None:
    app_and_api[1].append(handler)


async def log_in(client: httpx.AsyncClient, bearer_token: str) -> httpx.Response:
    return await client.post(
        "/console/login",
        content=f"token={bearer_token}&next=/console/stock",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


async def test_logged_out_pages_send_the_browser_to_the_login_page(
    browser_like: httpx.AsyncClient,
) -> None:
    for path in ("/console/orders", "/console/exceptions", "/console/stock", "/console/dashboard"):
        r = await browser_like.get(path + "?x=1")
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/console/login?next=")
    login = await browser_like.get("/console/login")
    assert login.status_code == 200
    assert 'name="token"' in login.text


async def test_logging_in_keeps_the_token_in_an_httponly_strict_cookie(
    browser_like: httpx.AsyncClient,
) -> None:
    r = await log_in(browser_like, token([Scope.ORDERS_READ], client_id="ops-1"))
    assert r.status_code == 303
    assert r.headers["location"] == "/console/stock"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    assert "Path=/console" in cookie
    # Development and test serve plain HTTP on 127.0.0.1; production sets Secure.
    assert "Secure" not in cookie
    assert (await browser_like.get("/console/")).headers["location"] == "/console/orders"
    out = await browser_like.post("/console/logout")
    assert out.status_code == 303
    assert out.headers["set-cookie"].startswith(f'{COOKIE}="";')
    assert (await browser_like.get("/console/orders")).status_code == 303


async def test_an_invalid_or_expired_token_is_refused(browser_like: httpx.AsyncClient) -> None:
    r = await log_in(browser_like, "not-a-token")
    assert r.status_code == 401
    assert "not valid" in r.text
    assert "set-cookie" not in r.headers
    expired = token([Scope.ADMIN], ttl_s=60, now=1_000_000)
    r = await log_in(browser_like, expired)
    assert r.status_code == 401
    # An expired token already in the cookie: back to the login page, saying why.
    browser_like.cookies.set(COOKIE, expired, path="/console")
    r = await browser_like.get("/console/orders")
    assert r.status_code == 303
    assert "message=" in r.headers["location"]


async def test_pages_send_a_content_security_policy_without_inline_script(
    browser_like: httpx.AsyncClient,
) -> None:
    await log_in(browser_like, token([Scope.ADMIN]))
    r = await browser_like.get("/console/orders")
    assert r.status_code == 200
    policy = r.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert r.headers["x-content-type-options"] == "nosniff"
    # Every script of the page is a file of the console or a JSON data block.
    for attributes in re.findall(r"<script([^>]*)>", r.text):
        assert "src=" in attributes or 'type="application/json"' in attributes


async def test_a_form_posted_from_another_site_is_refused(
    browser_like: httpx.AsyncClient, app_and_api: tuple[object, list[Handler]]
) -> None:
    await log_in(browser_like, token([Scope.ADMIN]))
    posted: list[httpx.Request] = []

    def orchestration(request: httpx.Request) -> httpx.Response:
        posted.append(request)
        return httpx.Response(200, json={})

    answer_with(app_and_api, orchestration)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for origin in ({"Origin": "https://evil.example"}, {"Origin": "", "Referer": ""}):
        r = await browser_like.post(
            "/console/exceptions/release/0190",
            content="idempotency_key=k1",
            headers={**form, **origin},
        )
        assert r.status_code == 403
    assert posted == []
    # From the console's own page, the service is asked once, with the form's key.
    r = await browser_like.post(
        "/console/exceptions/release/0190", content="idempotency_key=k1&label=OMS-1", headers=form
    )
    assert r.status_code == 303
    assert [p.headers["Idempotency-Key"] for p in posted] == ["k1"]
    assert posted[0].url.path == "/v1/orders/0190/release"
    assert posted[0].headers["Authorization"].startswith("Bearer ")


async def test_a_section_says_which_scope_the_token_lacks_or_that_its_service_is_down(
    browser_like: httpx.AsyncClient, app_and_api: tuple[object, list[Handler]]
) -> None:
    await log_in(browser_like, token([Scope.ORDERS_READ]))

    def services(request: httpx.Request) -> httpx.Response:
        if request.url.host == "inventory.test":
            return httpx.Response(
                403,
                json={
                    "code": "insufficient_scope",
                    "detail": "this operation needs the scope inventory:read",
                    "extensions": {"required_scopes": ["inventory:read"]},
                },
            )
        raise httpx.ConnectError("refused", request=request)

    answer_with(app_and_api, services)
    r = await browser_like.get("/console/stock?sku=LAMP-1")
    assert r.status_code == 200
    assert "Stock: your token lacks the scope inventory:read." in r.text
    assert "Low stock: insights cannot be reached." in r.text


def test_no_template_or_static_file_loads_anything_from_another_host() -> None:
    """No CDN: every script, style, font and image comes from the console's own files."""
    loads = re.compile(
        r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|@import\s+(?:url\()?["']?(?:https?:)?//|"""
        r"""url\(\s*["']?(?:https?:)?//|import\s*\(?\s*["'](?:https?:)?//""",
        re.IGNORECASE,
    )
    checked = 0
    for path in sorted(Path(CONSOLE_DIR).rglob("*")):
        if path.suffix not in (".html", ".js", ".css") or "node_modules" in path.parts:
            continue
        text = path.read_text(errors="replace")
        found = loads.findall(text)
        assert not found, f"{path} loads from another host: {found[:3]}"
        checked += 1
    assert checked >= 5
