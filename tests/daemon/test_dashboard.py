"""The Grafana dashboard queries only metrics the exporter really exposes: a daemon pass over real
sources (a drop folder and a dated leak index), with a channel down, then a scrape of the real
metrics endpoint, against every expression of docs/grafana/leakwatch.json."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import urllib.request
from collections.abc import Callable
from pathlib import Path

from lw_channels import Listing, Receiver
from prometheus_client.parser import text_string_to_metric_families
from synth import Person, leak_csv_semicolon, leak_sql

from leakwatch.app import Services
from leakwatch.daemon import Daemon, enabled_specs

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = json.loads((ROOT / "docs" / "grafana" / "leakwatch.json").read_text(encoding="utf-8"))
METRIC = re.compile(r"\b(leakwatch_[a-z0-9_]+)(\{[^}]*\})?")


def expressions() -> list[str]:
    return [t["expr"] for panel in DASHBOARD["panels"] for t in panel.get("targets", [])]


def scrape(svc: Services) -> dict[str, list[dict[str, str]]]:
    """Sample name -> label sets, from the real HTTP endpoint."""
    m = svc.metrics
    address = m.serve("127.0.0.1:0")
    try:
        with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as resp:
            text = resp.read().decode()
    finally:
        m.close()
    samples: dict[str, list[dict[str, str]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(dict(sample.labels))
    return samples


def test_every_metric_the_dashboard_queries_is_exposed(
        make_services: Callable[..., Services], crowd: list[Person], tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "dump.csv").write_text(leak_csv_semicolon(crowd[:15]), encoding="utf-8")
    listing = Listing()
    listing.publish("leak.sql", leak_sql(crowd[100:104]).encode(),
                    (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).isoformat())
    listing.start()
    dead = Receiver()  # never started: the alerts wait in the outbox
    svc = make_services(
        allow_private_urls=["127.0.0.1"],
        sources=[{"name": "drop", "driver": "folder", "enabled": True, "interval": "1m",
                  "params": {"path": str(drop), "min_age": 0}},
                 {"name": "index", "driver": "json_api", "enabled": True, "interval": "1m",
                  "params": {"url": listing.url, "title": "title", "date": "date", "link": "url",
                             "fetch_url": True}}],
        alerts={"routes": [{"min_severity": "medium", "urls": [dead.url]}], "retry_initial": 60.0})
    try:
        asyncio.run(Daemon(svc, enabled_specs(svc)).once())
    finally:
        listing.stop()
        svc.close()
    exposed = scrape(svc)

    queried = {name for expr in expressions() for name, _ in METRIC.findall(expr)}
    assert len(queried) >= 10
    missing = sorted(queried - set(exposed))
    assert not missing, f"the dashboard queries metrics the exporter does not expose: {missing}"
    for expr in expressions():  # label matchers name labels the metric has, with values it takes
        for name, matchers in METRIC.findall(expr):
            for label, value in re.findall(r'(\w+)="([^"]*)"', matchers):
                assert any(s.get(label) == value for s in exposed[name]), (expr, label, value)

    # What the panels show is what happened in the pass.
    def value(name: str, **labels: str) -> float:
        m = svc.metrics
        found = m.registry.get_sample_value(name, labels)
        assert found is not None, (name, labels)
        return found

    assert value("leakwatch_items_fetched_total", source="drop") == 1
    assert value("leakwatch_items_fetched_total", source="index") == 1
    assert value("leakwatch_bytes_scanned_total", source="drop") == len(leak_csv_semicolon(crowd[:15]).encode())
    assert value("leakwatch_sources", health="ok") == 2
    assert value("leakwatch_incidents", severity="high", status="open") == 1
    assert value("leakwatch_alerts", status="pending") == 2
    assert value("leakwatch_alerts_oldest_pending_age_seconds") > 0
    assert value("leakwatch_detection_latency_seconds_count") == 1
    assert 7000 < value("leakwatch_detection_latency_seconds_sum") < 7400


def test_the_dashboard_covers_what_an_operator_watches() -> None:
    exprs = "\n".join(expressions())
    for needed in ("leakwatch_sources", "leakwatch_source_healthy", "leakwatch_items_fetched_total",
                   "leakwatch_bytes_scanned_total", "leakwatch_findings_total", "leakwatch_incidents",
                   'leakwatch_alerts{status="pending"}', "leakwatch_alerts_oldest_pending_age_seconds",
                   "leakwatch_detection_latency_seconds_bucket"):
        assert needed in exprs, needed
    assert DASHBOARD["uid"] == "leakwatch"
    [variable] = DASHBOARD["templating"]["list"]
    assert (variable["name"], variable["type"], variable["query"]) == ("datasource", "datasource", "prometheus")
    ids = [p["id"] for p in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))
    for panel in DASHBOARD["panels"]:
        if panel["type"] != "row":
            assert panel["targets"] and panel["datasource"]["uid"] == "${datasource}"
