"""The Grafana dashboard (deploy/grafana/oms-dashboard.json) and the Prometheus alert rules
(deploy/prometheus/alerts.yml) use only metric families the services expose, and are shaped
as Grafana and Prometheus read them. No Prometheus here (promtool is not installed): the
check is the structure and the names, which is what a rename in the code would break."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped,unused-ignore]
from prometheus_client import REGISTRY
from sqlalchemy import MetaData

from libs import registry
from libs.observability.metrics import ScrapeRead, outbox_read
from libs.outbox.tables import outbox_table
from services.notifications.adapters.metrics import PENDING_READ
from services.orchestration.adapters.metrics import SAGAS_READ

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "deploy" / "grafana" / "oms-dashboard.json"
ALERTS = REPO / "deploy" / "prometheus" / "alerts.yml"

# The families the services read from their databases when scraped (create_service_app's
# scrape_reads, and the outbox's every service has): they are not in the registry.
SCRAPE_READS: tuple[ScrapeRead, ...] = (
    outbox_read(outbox_table(MetaData())),
    SAGAS_READ,
    PENDING_READ,
)

METRIC = re.compile(r"\boms_[a-z0-9_]+\b")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
DURATION = re.compile(r"^[0-9]+[smhd]$")


def exposed() -> set[str]:
    """Every sample name the services can expose: their modules imported (the composition
    root and the app between them import whatever defines a counter), then the registry read,
    plus the scrape reads."""
    for service in registry.SERVICES:
        for module in ("bootstrap", "api.app"):
            importlib.import_module(f"services.{service.name}.{module}")
    names: set[str] = set()
    for family in REGISTRY.collect():
        if family.name.startswith("oms_"):
            names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    for read in SCRAPE_READS:
        names.update(read.names)
        names.add(f"oms_{read.name}_query_success")
    return names


def dashboard() -> dict[str, Any]:
    document = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def panels(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in document["panels"]:
        yield panel
        yield from panel.get("panels", [])  # a collapsed row keeps its panels inside


def test_every_metric_the_dashboard_and_the_alerts_use_is_one_the_services_expose() -> None:
    known = exposed()
    used: dict[str, set[str]] = {}
    for panel in panels(dashboard()):
        for target in panel.get("targets", []):
            for name in METRIC.findall(target["expr"]):
                used.setdefault(name, set()).add(f"panel {panel['title']!r}")
    for variable in dashboard()["templating"]["list"]:
        for name in METRIC.findall(json.dumps(variable.get("query", ""))):
            used.setdefault(name, set()).add(f"variable {variable['name']}")
    for rule in alert_rules():
        for name in METRIC.findall(rule["expr"]):
            used.setdefault(name, set()).add(f"alert {rule['alert']}")
    assert used, "no metric found: the expressions moved?"
    unknown = {name: sorted(where) for name, where in used.items() if name not in known}
    assert not unknown, f"not exposed by any service: {unknown}"


def test_the_dashboard_is_a_grafana_dashboard_on_a_chosen_prometheus() -> None:
    document = dashboard()
    assert document["schemaVersion"] >= 39 and document["uid"] and document["title"]
    variables = {v["name"]: v for v in document["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [panel["id"] for panel in panels(document)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels(document):
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], f"{panel['title']!r} queries nothing"
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]


def test_every_alert_rule_has_a_severity_a_summary_and_a_runbook() -> None:
    document = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    assert set(document) == {"groups"}
    rules = alert_rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["expr"].strip(), rule["alert"]
        assert DURATION.match(rule.get("for", "0s")), rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert rule["annotations"]["summary"] and len(rule["annotations"]["runbook"]) > 80
    # What the issue asks alerts for, by the family each watches.
    watched = " ".join(rule["expr"] for rule in rules)
    for family in (
        "oms_consumer_lag",
        "oms_outbox_oldest_age_seconds",
        "oms_consumer_dead_lettered_total",
        'status=~"5.."',
        "oms_webhook_attempts_total",
        "oms_saga_oldest_unchanged_seconds",
    ):
        assert family in watched, f"no alert on {family}"
