"""Prometheus metrics, on a registry of this process's own (no global state), served on
``settings.metrics_address`` (``127.0.0.1:9464``; empty: off). Counts and times only.

Incidents and outbox rows are counted from the database at scrape time, so they survive restarts.
"""

from __future__ import annotations

from collections.abc import Iterator
from threading import Thread
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from leakwatch.errors import ConfigError
from leakwatch.models import ScanResult

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from sqlalchemy.engine import Engine

_DETECTION_BUCKETS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400)


class _DatabaseCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # not queried at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from sqlalchemy import func
        from sqlmodel import select

        from leakwatch import outbox
        from leakwatch.incidents import IncidentRow
        from leakwatch.store import session

        try:
            alerts = outbox.counts(self.engine)
            with session(self.engine) as s:
                by = list(s.exec(select(IncidentRow.severity, IncidentRow.status, func.count())  # type: ignore[call-overload]
                                 .group_by(IncidentRow.severity, IncidentRow.status)))
        except SQLAlchemyError:
            return
        g = GaugeMetricFamily("leakwatch_alerts", "Alert deliveries in the outbox, by status.", labels=["status"])
        for status, n in alerts.items():
            g.add_metric([status], n)
        yield g
        g = GaugeMetricFamily("leakwatch_incidents", "Incidents by severity and status.",
                              labels=["severity", "status"])
        for severity, status, n in by:
            g.add_metric([severity, status], n)
        yield g


class Metrics:
    """This process's metrics (one per ``Services``, built on first use)."""

    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.items = Counter("leakwatch_items_fetched", "Items fetched and scanned.", ["source"], registry=r)
        self.bytes = Counter("leakwatch_bytes_scanned", "Bytes of items scanned.", ["source"], registry=r)
        self.findings = Counter("leakwatch_findings", "Findings (records, terms, canaries).", ["source", "type"],
                                registry=r)
        self.source_errors = Counter("leakwatch_source_errors", "Failed polls of a source.", ["source"], registry=r)
        self.last_success = Gauge("leakwatch_source_last_success_timestamp_seconds",
                                  "When a source was last polled without error.", ["source"], registry=r)
        self.healthy = Gauge("leakwatch_source_healthy", "1 while a source works, 0 while it fails.", ["source"],
                             registry=r)
        self.detection = Histogram("leakwatch_detection_latency_seconds",
                                   "Time from an item's publication to its detection.",
                                   buckets=_DETECTION_BUCKETS, registry=r)
        self.alerts_sent = Counter("leakwatch_alerts_sent", "Alert deliveries that reached a channel.", ["kind"],
                                   registry=r)
        r.register(_DatabaseCollector(engine))
        self.server: WSGIServer | None = None
        self.thread: Thread | None = None

    def scanned(self, source: str, size: int, result: ScanResult) -> None:
        self.items.labels(source).inc()
        self.bytes.labels(source).inc(result.bytes_scanned or size)
        for f in result.findings:
            self.findings.labels(source, f.type).inc()

    def detected(self, seconds: float) -> None:
        self.detection.observe(max(0.0, seconds))

    def health(self, source: str, ok: bool) -> None:
        self.healthy.labels(source).set(1 if ok else 0)

    def polled(self, source: str, ok: bool, when: float) -> None:
        if ok:
            self.last_success.labels(source).set(when)
        else:
            self.source_errors.labels(source).inc()

    def alert_sent(self, kind: str) -> None:
        self.alerts_sent.labels(kind).inc()

    def serve(self, address: str) -> str:
        """Start the HTTP endpoint on ``host:port``; returns the address bound."""
        host, _, port = address.rpartition(":")
        if not port.isdigit():
            raise ConfigError(f"metrics_address: expected host:port, got {address!r}")
        host = host.strip("[]") or "127.0.0.1"
        try:
            self.server, self.thread = start_http_server(int(port), host, registry=self.registry)
        except OSError as exc:
            raise ConfigError(f"metrics_address: cannot listen on {address}: {exc.strerror}") from None
        return f"{host}:{self.server.server_port}"

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
