"""The operations console: server-rendered pages at /console/ (docs/console.md).

A back-end-for-front-end that is a pure client of the services' public APIs: every page is
made of calls to order-capture, inventory, orchestration, returns, notifications and
insights' own /v1 API, each made with the operator's own bearer token (kept in an HttpOnly
cookie, never handed to page JavaScript). So each API's scopes and channel/location narrowing
are the console's: nothing a page shows could not be fetched with that token. A section whose
API refuses the token says which scope it lacks; one whose API is down or slow says so; a page
is never a 500 because one of its sections is.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from libs.auth.principal import Principal
from libs.auth.scopes import Scope
from libs.auth.tokens import InvalidToken
from libs.observability.logging import get_logger
from libs.runtime import ServiceContainer
from services.insights.adapters.oms_api import Answer, OmsApi
from services.insights.config import InsightsSettings

log = get_logger(__name__)

CONSOLE_DIR = Path(__file__).resolve().parents[1] / "console"
PREFIX = "/console"
COOKIE = "oms_console_token"
# No inline script or style anywhere: chart data travels in <script type="application/json">
# blocks that console.js reads. The token never reaches a script at all (HttpOnly cookie).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Same-origin requests keep their Referer (the POST forms' origin check reads it when a
    # browser sends no Origin); nothing leaks to other sites.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# The KPI tables the dashboard charts and exports (GET /v1/kpis/<table>), in page order.
KPI_TABLES = (
    "orders",
    "rates",
    "lead-times",
    "backorders",
    "holds",
    "returns",
    "refunds",
    "locations",
    "stock-outs",
)
EXPORTABLE = frozenset({*KPI_TABLES, "summary", "low-stock"})
PRESET_DAYS = (7, 30, 90)
ORDER_NUMBER = re.compile(r"[A-Za-z]{2,10}-\d{3,}")
# The saga states an order waits in without being held (GET /v1/sagas?state=...).
WAITING_STATES = ("waiting_for_stock", "backordered")

templates = Jinja2Templates(directory=CONSOLE_DIR / "templates")


def _json_block(value: Any) -> Markup:
    """JSON safe inside <script type="application/json">: no `</script>` or comment opener can
    close the block early, whatever the strings hold."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # escaped above: safe inside a script data block


templates.env.filters["json_block"] = _json_block
templates.env.globals["new_key"] = lambda: str(uuid.uuid4())


@asynccontextmanager
async def _close_api(app: FastAPI) -> AsyncIterator[None]:
    yield
    api: OmsApi | None = getattr(app.state, "console_api", None)
    if api is not None:
        await api.aclose()


router = APIRouter(prefix=PREFIX, include_in_schema=False, lifespan=_close_api)


def install_console(app: FastAPI, container: ServiceContainer) -> None:
    """The console's pages, its static files and its one API client per process."""
    settings = container.settings
    if not isinstance(settings, InsightsSettings):
        raise TypeError("the console needs insights' settings")
    app.state.console_api = OmsApi(
        {
            "order_capture": settings.ORDER_CAPTURE_URL,
            "inventory": settings.INVENTORY_URL,
            "orchestration": settings.ORCHESTRATION_URL,
            "returns": settings.RETURNS_URL,
            "notifications": settings.NOTIFICATIONS_URL,
            "insights": settings.INSIGHTS_URL,
        },
        timeout_s=settings.CONSOLE_API_TIMEOUT_S,
    )
    app.state.console_secure_cookie = settings.ENV == "production"
    app.include_router(router)
    app.mount(
        f"{PREFIX}/static", StaticFiles(directory=CONSOLE_DIR / "static"), name="console-static"
    )


# --- The operator: the token in the cookie, verified as the APIs verify it -------------------


@dataclass(frozen=True)
class Operator:
    token: str
    principal: Principal

    @property
    def is_admin(self) -> bool:
        return Scope.ADMIN in self.principal.scopes

    def allows(self, scope: Scope) -> bool:
        return self.principal.allows(scope)


class LoginRequired(Exception):
    """The page needs a (valid) token: the browser goes to the login page."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


def _api(request: Request) -> OmsApi:
    api: OmsApi = request.app.state.console_api
    return api


def _verify(request: Request, token: str) -> Principal:
    container: ServiceContainer = request.app.state.container
    return container.access.verifier.verify(token)


def _operator(request: Request) -> Operator:
    token = request.cookies.get(COOKIE)
    if not token:
        raise LoginRequired()
    try:
        return Operator(token, _verify(request, token))
    except InvalidToken:
        raise LoginRequired("Your token has expired or is not valid: log in again.") from None


def _to_login(request: Request, message: str) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = {"next": here}
    if message:
        query["message"] = message
    response = RedirectResponse(f"{PREFIX}/login?{urlencode(query)}", status_code=303)
    if message:
        response.delete_cookie(COOKIE, path=PREFIX)
    return response


def _safe_next(target: str) -> str:
    """Only a console page of this site: never an open redirect to another host."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(f"{PREFIX}/"):
        return f"{PREFIX}/orders"
    return target


def _render(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    *,
    operator: Operator | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    page = templates.TemplateResponse(
        request,
        name,
        {"operator": operator, "prefix": PREFIX, **context},
        status_code=status_code,
        headers=PAGE_HEADERS,
    )
    return page


def _refused_for_origin(request: Request) -> bool:
    """A cross-site form post (CSRF): the Origin (or, without one, the Referer) must be this
    site. The SameSite=Strict cookie already keeps it off cross-site posts; this is the second
    lock, for browsers or proxies that lose the first."""
    own = f"{request.url.scheme}://{request.url.netloc}"
    origin = request.headers.get("origin")
    if origin is not None:
        return origin != own
    referer = request.headers.get("referer", "")
    return not (referer == own or referer.startswith(own + "/"))


async def _form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (the console's forms), first value of each."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return {key: values[0] for key, values in parse_qs(body, keep_blank_values=True).items()}


def _forbidden_origin(request: Request, operator: Operator | None) -> HTMLResponse:
    return _render(
        request,
        "error.html",
        {
            "title": "Refused",
            "message": "This form was not sent from the console's own pages.",
        },
        operator=operator,
        status_code=403,
    )


# --- Sections: one API answer each, or a short notice why there is none ---------------------


@dataclass(frozen=True)
class Section:
    answer: Answer
    notice: str = ""

    @property
    def ok(self) -> bool:
        return self.answer.ok and not self.notice

    @property
    def body(self) -> Any:
        return self.answer.body

    def items(self) -> list[dict[str, Any]]:
        return self.answer.items()


def section(answer: Answer, *, scope: Scope | str, what: str) -> Section:
    """`answer`, with the notice a page shows when it is not one: which scope the token lacks,
    that nothing was found, or that the service is unavailable."""
    if answer.ok:
        return Section(answer)
    if answer.status is None:
        return Section(answer, f"{what}: {answer.failure}.")
    problem = answer.problem
    if answer.status == 403:
        extensions = problem.get("extensions") or {}
        required = extensions.get("required_scopes") or [str(scope)]
        if problem.get("code") == "insufficient_scope":
            needs = " ".join(str(s) for s in required)
            return Section(answer, f"{what}: your token lacks the scope {needs}.")
        return Section(answer, f"{what}: {problem.get('detail') or 'not allowed for this token'}.")
    if answer.status == 404:
        return Section(answer, f"{what}: none found.")
    if answer.status == 405:
        return Section(answer, f"{what}: not offered by this version of the service.")
    detail = problem.get("detail") or problem.get("title") or f"answered {answer.status}"
    return Section(answer, f"{what}: {detail}.")


def _expired(*answers: Answer) -> bool:
    """The token was refused by an API (it expired since the page checked it)."""
    return any(a.status == 401 for a in answers)


async def _gather(calls: Mapping[str, Awaitable[Answer]]) -> dict[str, Answer]:
    """The calls at once; each page's sections are independent reads."""
    answers = await asyncio.gather(*calls.values())
    return dict(zip(calls, answers, strict=True))


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def age(value: Any, now: datetime | None = None) -> str:
    """How long ago, for a person: 3 d 4 h, 2 h 5 min, 40 s."""
    since = _parse_time(value)
    if since is None:
        return ""
    seconds = int(((now or datetime.now(UTC)) - since).total_seconds())
    if seconds < 0:
        return "just now"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"


def when(value: Any) -> str:
    """A time as the pages show it: UTC, to the second."""
    parsed = _parse_time(value)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if parsed else ""


templates.env.filters["age"] = age
templates.env.filters["when"] = when


# --- Login -------------------------------------------------------------------------------------


@router.get("/")
async def home(request: Request) -> Response:
    return RedirectResponse(f"{PREFIX}/orders", status_code=303)


@router.get("/login")
async def login_page(request: Request) -> Response:
    return _render(
        request,
        "login.html",
        {
            "next": _safe_next(request.query_params.get("next", f"{PREFIX}/orders")),
            "message": request.query_params.get("message", ""),
        },
    )


@router.post("/login")
async def login(request: Request) -> Response:
    if _refused_for_origin(request):
        return _forbidden_origin(request, None)
    form = await _form(request)
    token = form.get("token", "").strip()
    target = _safe_next(form.get("next", ""))
    try:
        principal = _verify(request, token)
    except InvalidToken:
        return _render(
            request,
            "login.html",
            {"next": target, "message": "That token is not valid (or has expired)."},
            status_code=401,
        )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=bool(request.app.state.console_secure_cookie),
        path=PREFIX,
        max_age=_lifetime_s(token),
    )
    log.info("console.login", client_id=principal.client_id)
    return response


def _lifetime_s(token: str) -> int | None:
    """The cookie lives as long as the token (its `exp`, read from the token the verifier has
    just accepted), never longer; a token without one gives a cookie for the browser session."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if not isinstance(exp, int | float):
        return None
    return max(0, int(exp - datetime.now(UTC).timestamp()))


@router.post("/logout")
async def logout(request: Request) -> Response:
    if _refused_for_origin(request):
        return _forbidden_origin(request, None)
    response = RedirectResponse(f"{PREFIX}/login?message=Logged+out.", status_code=303)
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


# --- Orders ------------------------------------------------------------------------------------


@router.get("/orders")
async def orders(request: Request) -> Response:
    try:
        operator = _operator(request)
    except LoginRequired as exc:
        return _to_login(request, exc.message)
    q = request.query_params.get("q", "").strip()
    filters = {
        key: request.query_params.get(key, "").strip()
        for key in ("status", "channel", "from", "to")
    }
    api = _api(request)
    found: Section | None = None
    results: list[dict[str, Any]] = []
    searched = bool(q or any(filters.values()))
    if q and ORDER_NUMBER.fullmatch(q):
        answer = await api.get(
            "order_capture", f"/v1/orders/by-number/{quote(q, safe='')}", token=operator.token
        )
        found = section(answer, scope=Scope.ORDERS_READ, what="Orders")
        results = [answer.body] if answer.ok and isinstance(answer.body, dict) else []
    elif searched:
        params: dict[str, str | int] = {
            "status": filters["status"],
            "channel": filters["channel"],
            "limit": 50,
        }
        if filters["from"]:
            params["created_from"] = f"{filters['from']}T00:00:00Z"
        if filters["to"]:
            params["created_to"] = f"{_next_day(filters['to'])}T00:00:00Z"
        if q and "@" in q:
            params["customer_email"] = q
        elif q:
            params["channel_order_ref"] = q
        answer = await api.get("order_capture", "/v1/orders", token=operator.token, params=params)
        found = section(answer, scope=Scope.ORDERS_READ, what="Orders")
        results = answer.items()
        if q and "@" not in q:
            # Exact references only, whatever the API made of the filter.
            results = [o for o in results if o.get("channel_order_ref") == q]
    if found is not None and _expired(found.answer):
        return _to_login(request, "Your token has expired: log in again.")
    if found is not None and found.answer.status == 404:
        found = None  # "no such order number" is an empty result, not a notice
    return _render(
        request,
        "orders.html",
        {
            "nav": "orders",
            "q": q,
            "filters": filters,
            "searched": searched,
            "found": found,
            "results": results,
            "statuses": ORDER_STATUSES,
            "channels": CHANNELS,
        },
        operator=operator,
    )


ORDER_STATUSES = (
    "pending",
    "confirmed",
    "on_hold",
    "backordered",
    "partially_shipped",
    "shipped",
    "delivered",
    "completed",
    "cancelled",
)
CHANNELS = ("web", "mobile_app", "pos", "marketplace", "b2b_portal")


def _next_day(text: str) -> str:
    try:
        return (date.fromisoformat(text) + timedelta(days=1)).isoformat()
    except ValueError:
        return text


@router.get("/orders/{order_id}")
async def order_detail(request: Request, order_id: str) -> Response:
    try:
        operator = _operator(request)
    except LoginRequired as exc:
        return _to_login(request, exc.message)
    api = _api(request)
    token = operator.token
    ref = quote(order_id, safe="")
    # The order first: only an order the token may see has sections at all (an order of
    # another channel is "not found" to a narrowed token, and so is all that belongs to it).
    order = section(
        await api.get("order_capture", f"/v1/orders/{ref}", token=token),
        scope=Scope.ORDERS_READ,
        what="Order",
    )
    if _expired(order.answer):
        return _to_login(request, "Your token has expired: log in again.")
    if not order.ok:
        return _render(
            request,
            "error.html",
            {"nav": "orders", "title": "Order", "message": order.notice},
            operator=operator,
            status_code=order.answer.status if order.answer.status in (403, 404) else 200,
        )
    answers = await _gather(
        {
            "timeline": api.get(
                "order_capture", f"/v1/orders/{ref}/timeline", token=token, params={"limit": 200}
            ),
            "saga": api.get("orchestration", f"/v1/sagas/{ref}", token=token),
            "routing": api.get("orchestration", f"/v1/orders/{ref}/routing-decisions", token=token),
            "payments": api.get("orchestration", f"/v1/orders/{ref}/payments", token=token),
            "fulfilments": api.get(
                "orchestration",
                "/v1/fulfillments",
                token=token,
                params={"order_id": order_id, "limit": 100},
            ),
            "returns": api.get(
                "returns", "/v1/returns", token=token, params={"order_id": order_id, "limit": 100}
            ),
            "notifications": api.get(
                "notifications",
                "/v1/notifications",
                token=token,
                params={"order_id": order_id, "limit": 100},
            ),
            "deliveries": api.get(
                "notifications",
                "/v1/deliveries",
                token=token,
                params={"order_id": order_id, "limit": 100},
            ),
        }
    )
    if _expired(*answers.values()):
        return _to_login(request, "Your token has expired: log in again.")
    sections = {
        "timeline": section(answers["timeline"], scope=Scope.ORDERS_READ, what="Timeline"),
        "saga": section(answers["saga"], scope=Scope.ORDERS_READ, what="Saga"),
        "routing": section(answers["routing"], scope=Scope.ORDERS_READ, what="Routing decisions"),
        "payments": section(answers["payments"], scope=Scope.ORDERS_READ, what="Payments"),
        "fulfilments": section(answers["fulfilments"], scope=Scope.ORDERS_READ, what="Fulfilments"),
        "returns": section(answers["returns"], scope=Scope.ORDERS_READ, what="Returns"),
        "notifications": section(
            answers["notifications"], scope=Scope.NOTIFICATIONS_READ, what="Notifications"
        ),
        "deliveries": section(
            answers["deliveries"], scope=Scope.WEBHOOKS_READ, what="Webhook deliveries"
        ),
    }
    return _render(
        request,
        "order.html",
        {
            "nav": "orders",
            "order": order.body,
            "sections": sections,
            "decisions": routing_tables(sections["routing"].body),
        },
        operator=operator,
    )


@dataclass(frozen=True)
class RoutingTable:
    """One routing decision as the page shows it: a row per candidate location, a column per
    hard filter (its verdict and why), the score, and the chosen locations marked."""

    decision: dict[str, Any]
    filter_names: list[str]
    rows: list[dict[str, Any]]


def routing_tables(body: Any) -> list[RoutingTable]:
    items = body.get("items", []) if isinstance(body, dict) else []
    tables = []
    for decision in items:
        if not isinstance(decision, dict):
            continue
        chosen = {
            str(part.get("location_code") or part.get("location") or "")
            for part in decision.get("parts", [])
            if isinstance(part, dict)
        }
        names: list[str] = []
        rows = []
        for candidate in decision.get("candidates", []):
            verdicts = {}
            for verdict in candidate.get("filters", []):
                name = str(verdict.get("name"))
                if name not in names:
                    names.append(name)
                verdicts[name] = verdict
            rows.append(
                {
                    **candidate,
                    "verdicts": verdicts,
                    "chosen": candidate.get("location_code") in chosen,
                }
            )
        rows.sort(key=lambda r: (not r["chosen"], -(r.get("total") or -1e9)))
        tables.append(RoutingTable(decision, names, rows))
    return tables


# --- Exceptions --------------------------------------------------------------------------------


@router.get("/exceptions")
async def exceptions(request: Request) -> Response:
    try:
        operator = _operator(request)
    except LoginRequired as exc:
        return _to_login(request, exc.message)
    api = _api(request)
    token = operator.token
    calls: dict[str, Awaitable[Answer]] = {
        "holds": api.get("orchestration", "/v1/holds", token=token, params={"limit": 100}),
        **{
            state: api.get(
                "orchestration", "/v1/sagas", token=token, params={"state": state, "limit": 100}
            )
            for state in WAITING_STATES
        },
        "stuck": api.get(
            "orchestration", "/v1/sagas", token=token, params={"stuck": "true", "limit": 100}
        ),
    }
    if operator.is_admin:
        calls["dead_letters"] = api.get(
            "insights", "/v1/dead-letters", token=token, params={"status": "pending", "limit": 100}
        )
    answers = await _gather(calls)
    if _expired(*answers.values()):
        return _to_login(request, "Your token has expired: log in again.")
    holds = section(answers["holds"], scope=Scope.ORDERS_READ, what="Held orders")
    waiting: list[dict[str, Any]] = []
    waiting_notices = []
    seen: set[str] = set()
    for key in (*WAITING_STATES, "stuck"):
        found = section(answers[key], scope=Scope.ORDERS_READ, what="Waiting orders")
        if not found.ok:
            waiting_notices.append(found.notice)
        for saga in found.items():
            if saga.get("order_id") in seen or saga.get("state") in ("on_hold", "cancelled"):
                continue
            seen.add(str(saga.get("order_id")))
            waiting.append({**saga, "why": "stuck" if key == "stuck" else key})
    dead_letters = (
        section(answers["dead_letters"], scope=Scope.ADMIN, what="Dead letters")
        if "dead_letters" in answers
        else None
    )
    return _render(
        request,
        "exceptions.html",
        {
            "nav": "exceptions",
            "holds": holds,
            "waiting": waiting,
            "waiting_notice": waiting_notices[0] if waiting_notices else "",
            "dead_letters": dead_letters,
            "done": request.query_params.get("done", ""),
            "failed": request.query_params.get("failed", ""),
        },
        operator=operator,
    )


# What each button asks of which service.
ACTIONS: dict[str, tuple[str, str]] = {
    "release": ("orchestration", "/v1/orders/{id}/release"),
    "approve": ("orchestration", "/v1/orders/{id}/approve"),
    "reject": ("orchestration", "/v1/orders/{id}/reject"),
    "redrive": ("insights", "/v1/dead-letters/{id}/redrive"),
}
DONE = {
    "release": "released",
    "approve": "approved",
    "reject": "rejected",
    "redrive": "re-driven",
}


@router.post("/exceptions/{action}/{target_id}")
async def act(request: Request, action: str, target_id: str) -> Response:
    try:
        operator = _operator(request)
    except LoginRequired as exc:
        return _to_login(request, exc.message)
    if _refused_for_origin(request):
        return _forbidden_origin(request, operator)
    if action not in ACTIONS:
        return _render(
            request,
            "error.html",
            {"nav": "exceptions", "title": "Unknown action", "message": action},
            operator=operator,
            status_code=404,
        )
    form = await _form(request)
    # The form's own key (a hidden field made with the page): a second submit of the same
    # form is the same request to the service, which acts once.
    key = form.get("idempotency_key") or str(uuid.uuid4())
    body: dict[str, Any] | None = None
    if action in ("release", "approve"):
        body = {"note": form.get("note", "")[:500]}
    elif action == "reject":
        body = {"reason": form.get("reason") or "rejected in the console"}
    service, path = ACTIONS[action]
    answer = await _api(request).post(
        service,
        path.format(id=quote(target_id, safe="")),
        token=operator.token,
        idempotency_key=key,
        body=body,
    )
    if _expired(answer):
        return _to_login(request, "Your token has expired: log in again.")
    label = form.get("label", target_id)[:80]
    if answer.ok:
        outcome = {"done": f"{label} {DONE[action]}."}
    else:
        notice = section(answer, scope=Scope.ORDERS_WRITE, what=f"{label}").notice
        outcome = {"failed": notice}
    return RedirectResponse(f"{PREFIX}/exceptions?{urlencode(outcome)}", status_code=303)


# --- Stock ---------------------------------------------------------------------------------------


@router.get("/stock")
async def stock(request: Request) -> Response:
    try:
        operator = _operator(request)
    except LoginRequired as exc:
        return _to_login(request, exc.message)
    api = _api(request)
    token = operator.token
    sku = request.query_params.get("sku", "").strip()
    calls: dict[str, Awaitable[Answer]] = {
        "low_stock": api.get("insights", "/v1/kpis/low-stock", token=token),
    }
    if sku:
        ref = quote(sku, safe="")
        calls["stock"] = api.get("inventory", f"/v1/stock/{ref}", token=token)
        calls["movements"] = api.get(
            "inventory", f"/v1/stock/{ref}/movements", token=token, params={"limit": 100}
        )
        calls["inbound"] = api.get(
            "inventory", "/v1/inbound", token=token, params={"sku": sku, "limit": 100}
        )
    answers = await _gather(calls)
    if _expired(*answers.values()):
        return _to_login(request, "Your token has expired: log in again.")
    sections = {
        "low_stock": section(answers["low_stock"], scope=Scope.INVENTORY_READ, what="Low stock"),
    }
    locations: list[dict[str, Any]] = []
    if sku:
        sections["stock"] = section(answers["stock"], scope=Scope.INVENTORY_READ, what="Stock")
        sections["movements"] = section(
            answers["movements"], scope=Scope.INVENTORY_READ, what="Ledger"
        )
        sections["inbound"] = section(
            answers["inbound"], scope=Scope.INVENTORY_READ, what="Incoming stock"
        )
        locations = stock_by_location(sections["stock"], sections["inbound"])
    low_rows = sections["low_stock"].body.get("rows", []) if sections["low_stock"].ok else []
    return _render(
        request,
        "stock.html",
        {
            "nav": "stock",
            "sku": sku,
            "sections": sections,
            "locations": locations,
            "low_stock": low_rows,
        },
        operator=operator,
    )


OPEN_INBOUND = frozenset({"expected", "partially_received", "open", "scheduled", "in_transit"})


def stock_by_location(stock_section: Section, inbound: Section) -> list[dict[str, Any]]:
    """One row per location: on hand, reserved, available, and what is still to come in."""
    incoming: dict[str, int] = {}
    for item in inbound.items():
        if item.get("status") in ("received", "cancelled"):
            continue
        code = str(item.get("location_code"))
        incoming[code] = incoming.get(code, 0) + int(item.get("remaining") or 0)
    rows = []
    body = stock_section.body if stock_section.ok and isinstance(stock_section.body, dict) else {}
    for location in body.get("locations", []):
        code = str(location.get("location_code"))
        rows.append({**location, "incoming": incoming.pop(code, 0)})
    rows += [
        {"location_code": code, "on_hand": None, "reserved": None, "available": None, "incoming": n}
        for code, n in sorted(incoming.items())
    ]
    return rows


# --- Dashboard -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """The dashboard's range: whole UTC days, `first` to `last` inclusive."""

    first: date
    last: date
    granularity: str
    channel: str

    @property
    def api_params(self) -> dict[str, str | int]:
        params: dict[str, str | int] = {
            "from": f"{self.first.isoformat()}T00:00:00Z",
            "to": f"{(self.last + timedelta(days=1)).isoformat()}T00:00:00Z",
            "granularity": self.granularity,
        }
        if self.channel:
            params["channel"] = self.channel
        return params

    @property
    def page_query(self) -> str:
        query = {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "granularity": self.granularity,
        }
        if self.channel:
            query["channel"] = self.channel
        return urlencode(query)


def period_of(query: Mapping[str, str], today: date) -> Period:
    def day(name: str, default: date) -> date:
        try:
            return date.fromisoformat(query.get(name, ""))
        except ValueError:
            return default

    days = query.get("days", "")
    last = day("to", today)
    first = day("from", last - timedelta(days=6))
    if days.isdigit() and int(days) > 0:
        last, first = today, today - timedelta(days=int(days) - 1)
    granularity = "hour" if query.get("granularity") == "hour" else "day"
    return Period(first, last, granularity, query.get("channel", "").strip())


@router.get("/dashboard")
async def dashboard(request: Request) -> Response:
    try:
        operator = _operator(request)
    except LoginRequired as exc:
        return _to_login(request, exc.message)
    period = period_of(request.query_params, datetime.now(UTC).date())
    api = _api(request)
    params = period.api_params
    calls = {
        "summary": api.get("insights", "/v1/kpis/summary", token=operator.token, params=params),
        **{
            table: api.get("insights", f"/v1/kpis/{table}", token=operator.token, params=params)
            for table in KPI_TABLES
        },
    }
    answers = await _gather(calls)
    if _expired(*answers.values()):
        return _to_login(request, "Your token has expired: log in again.")
    location_tables = {"locations", "stock-outs"}
    tables = {
        table: section(
            answer,
            scope=Scope.INVENTORY_READ if table in location_tables else Scope.ORDERS_READ,
            what=f"KPI {table}",
        )
        for table, answer in answers.items()
    }
    summary = tables["summary"].body.get("rows", [{}]) if tables["summary"].ok else [{}]
    return _render(
        request,
        "dashboard.html",
        {
            "nav": "dashboard",
            "period": period,
            "presets": PRESET_DAYS,
            "tables": tables,
            "summary": summary[0] if summary else {},
            "channels": CHANNELS,
            "export_query": urlencode(params),
        },
        operator=operator,
    )


@router.get("/exports/{name}")
async def export(request: Request, name: str) -> Response:
    """A KPI table as CSV: the API's own CSV (Accept: text/csv) with the operator's token, so
    a narrowed token's export holds only what the API gives it."""
    try:
        operator = _operator(request)
    except LoginRequired as exc:
        return _to_login(request, exc.message)
    table = name.removesuffix(".csv")
    if table not in EXPORTABLE or not name.endswith(".csv"):
        return _render(
            request,
            "error.html",
            {"title": "No such table", "message": table},
            operator=operator,
            status_code=404,
        )
    params = {
        key: value
        for key, value in request.query_params.items()
        if key in ("from", "to", "granularity", "channel", "location")
    }
    answer = await _api(request).get(
        "insights", f"/v1/kpis/{table}", token=operator.token, params=params, accept="text/csv"
    )
    if _expired(answer):
        return _to_login(request, "Your token has expired: log in again.")
    if not answer.ok:
        notice = section(answer, scope=Scope.ORDERS_READ, what=f"KPI {table}").notice
        return _render(
            request,
            "error.html",
            {"nav": "dashboard", "title": "Export", "message": notice},
            operator=operator,
            status_code=answer.status or 503,
        )
    return Response(
        answer.text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{table}.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
