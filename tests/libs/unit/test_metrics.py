"""The metrics every service exposes (libs.observability.metrics): requests labelled by route
template, never by raw path; the exposition; several processes adding up to one service."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
from fastapi import APIRouter, FastAPI
from prometheus_client import REGISTRY
from prometheus_client.metrics_core import GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families

from libs.observability.metrics import (
    UNMATCHED,
    HttpMetricsMiddleware,
    events_published,
    records_handled,
    render,
)
from libs.processes import METRICS_DIRECTORY_ENV, shared_metrics_directory

ROOT = Path(__file__).resolve().parents[3]


def requests_seen(method: str, route: str, status: int) -> float:
    return (
        REGISTRY.get_sample_value(
            "oms_http_request_duration_seconds_count",
            {"method": method, "route": route, "status": str(status)},
        )
        or 0.0
    )


def an_app() -> FastAPI:
    router = APIRouter()
    nested = APIRouter(prefix="/shelves")

    @nested.get("/{shelf}/things/{thing_id}")
    async def read_shelved_thing(shelf: str, thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    router.include_router(nested)

    @router.get("/things/{thing_id}")
    async def read_thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @router.post("/things", status_code=201)
    async def make_thing() -> dict[str, str]:
        return {"id": "new"}

    @router.get("/broken")
    async def broken() -> None:
        raise RuntimeError("a bug no handler answers")

    app = FastAPI()
    app.include_router(router, prefix="/v1")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(HttpMetricsMiddleware)
    return app


async def test_requests_are_labelled_by_route_template_method_and_status() -> None:
    template = "/v1/things/{thing_id}"
    shelved = "/v1/shelves/{shelf}/things/{thing_id}"
    before = {
        "read": requests_seen("GET", template, 200),
        "shelved": requests_seen("GET", shelved, 200),
        "probed": requests_seen("GET", "/healthz", 200),
        "made": requests_seen("POST", "/v1/things", 201),
        "not_allowed": requests_seen("DELETE", "/v1/things", 405),
        "not_found": requests_seen("GET", UNMATCHED, 404),
        "invented": requests_seen("other", UNMATCHED, 404),
        "failed": requests_seen("GET", "/v1/broken", 500),
    }
    transport = httpx.ASGITransport(app=an_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://oms") as http:
        for thing_id in ("a", "b", "c-3f2a"):
            assert (await http.get(f"/v1/things/{thing_id}")).status_code == 200
        assert (await http.get("/v1/shelves/top/things/d")).status_code == 200
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.post("/v1/things")).status_code == 201
        assert (await http.delete("/v1/things")).status_code == 405
        assert (await http.get("/v1/no-such/thing")).status_code == 404
        assert (await http.request("BREW", "/coffee")).status_code == 404
        assert (await http.get("/v1/broken")).status_code == 500

    assert requests_seen("GET", template, 200) == before["read"] + 3
    assert requests_seen("GET", shelved, 200) == before["shelved"] + 1
    assert requests_seen("GET", "/healthz", 200) == before["probed"] + 1
    assert requests_seen("POST", "/v1/things", 201) == before["made"] + 1
    assert requests_seen("DELETE", "/v1/things", 405) == before["not_allowed"] + 1
    assert requests_seen("GET", UNMATCHED, 404) == before["not_found"] + 1
    assert requests_seen("other", UNMATCHED, 404) == before["invented"] + 1
    assert requests_seen("GET", "/v1/broken", 500) == before["failed"] + 1
    # No series was made of a raw path: an id in the path never becomes a label value.
    routes = {
        sample.labels["route"]
        for family in REGISTRY.collect()
        if family.name == "oms_http_request_duration_seconds"
        for sample in family.samples
    }
    assert not {"/v1/things/a", "/v1/things/b", "/v1/things/c-3f2a", "/coffee"} & routes
    assert not {"/things/{thing_id}", "/{shelf}/things/{thing_id}"} & routes  # no prefix lost


def test_the_exposition_has_the_process_values_and_those_read_at_scrape_time() -> None:
    events_published(["oms.order.placed", "oms.order.placed", "oms.order.cancelled"])
    records_handled(["oms.order.events", "oms.order.events"], 0.004)
    backlog = GaugeMetricFamily("oms_outbox_backlog", "Outbox rows not yet published", value=7)

    families = {f.name: f for f in text_string_to_metric_families(render([backlog]).decode())}

    published = {
        s.labels["type"]: s.value
        for s in families["oms_events_published"].samples
        if s.name == "oms_events_published_total"
    }
    assert published["oms.order.placed"] >= 2 and published["oms.order.cancelled"] >= 1
    handled = families["oms_consumer_handle_seconds"].samples
    assert any(
        s.name == "oms_consumer_handle_seconds_count" and s.labels["topic"] == "oms.order.events"
        for s in handled
    )
    assert families["oms_outbox_backlog"].samples[0].value == 7
    assert "oms_http_request_duration_seconds" in families


def test_the_metrics_directory_is_new_for_each_run_and_removed_after_it() -> None:
    inherited = os.environ.get(METRICS_DIRECTORY_ENV)
    with shared_metrics_directory("order-capture") as first:
        assert os.environ[METRICS_DIRECTORY_ENV] == first
        assert Path(first).is_dir() and not list(Path(first).iterdir())
        (Path(first) / "counter_1.db").write_bytes(b"")
    with shared_metrics_directory("order-capture") as second:
        assert second != first and not list(Path(second).iterdir())
    assert not Path(first).exists() and not Path(second).exists()
    assert os.environ.get(METRICS_DIRECTORY_ENV) == inherited


def test_a_scrape_of_any_process_adds_up_the_values_of_all_of_them(tmp_path: Path) -> None:
    """What a service of several processes does: each child counts in the shared directory,
    and whichever child answers the scrape reports the sum (prometheus-client reads the
    variable when it is imported, so each process here is a new interpreter, as the
    supervisor's children are)."""
    env = {**os.environ, METRICS_DIRECTORY_ENV: str(tmp_path)}
    publish = textwrap.dedent(
        """
        from libs.observability.metrics import events_published, set_consumer_lag
        events_published(["oms.order.placed"] * {count})
        set_consumer_lag("oms.order.events", 0, {lag})
        """
    )
    for count, lag in ((2, 5), (3, 0)):
        subprocess.run(
            [sys.executable, "-c", publish.format(count=count, lag=lag)],
            env=env,
            cwd=ROOT,
            check=True,
        )
    scrape = "import sys, libs.observability.metrics as m; sys.stdout.write(m.render().decode())"
    exposition = subprocess.run(
        [sys.executable, "-c", scrape], env=env, cwd=ROOT, check=True, capture_output=True
    ).stdout.decode()

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
    }
    assert samples[("oms_events_published_total", (("type", "oms.order.placed"),))] == 5
    # The partition's owner reports its lag; a process that left it reads 0 and loses.
    lag_key = ("oms_consumer_lag", (("partition", "0"), ("topic", "oms.order.events")))
    assert samples[lag_key] == 5
