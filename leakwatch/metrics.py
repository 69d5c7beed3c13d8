"""Prometheus metrics, on a registry of this process's own (no global state), served on
``settings.metrics_address`` (``127.0.0.1:9464``; empty: off). Counts and times only.

Incidents, sources by health and outbox rows (and the age of the oldest pending one) are counted from
the database at scrape time, so they survive restarts and count every instance sharing the database.
``docs/grafana/leakwatch.json`` is a dashboard on these metrics.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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

    from leakwatch.settings import Settings

_DETECTION_BUCKETS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400)


class _DatabaseCollector(Collector):
    def __init__(self, engine: Engine, settings: Settings | None) -> None:
        self.engine = engine
        self.settings = settings

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # not queried at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from sqlalchemy import func
        from sqlmodel import select

        from leakwatch.incidents import outbox
        from leakwatch.incidents.fold import IncidentRow
        from leakwatch.sources.state import SourceStateRow
        from leakwatch.storage.store import as_utc, session, utcnow

        try:
            alerts = outbox.counts(self.engine)
            with session(self.engine) as s:
                by = list(s.exec(select(IncidentRow.severity, IncidentRow.status, func.count())  # type: ignore[call-overload]
                                 .group_by(IncidentRow.severity, IncidentRow.status)))
                health = dict(s.exec(select(SourceStateRow.health, func.count())  # type: ignore[call-overload]
                                     .group_by(SourceStateRow.health)).all())
                oldest = s.exec(select(func.min(outbox.OutboxRow.created_at))
                                .where(outbox.OutboxRow.status == "pending")).one()
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
        g = GaugeMetricFamily("leakwatch_sources", "Sources polled at least once, by health.", labels=["health"])
        for state in ("ok", "degraded", "failing"):
            g.add_metric([state], int(health.get(state, 0)))
        yield g
        age = (utcnow() - as_utc(oldest)).total_seconds() if oldest is not None else 0.0  # type: ignore[operator]
        yield GaugeMetricFamily("leakwatch_alerts_oldest_pending_age_seconds",
                                "Age of the oldest alert delivery still pending in the outbox (0 when none).",
                                value=max(0.0, age))
        if self.settings is not None:
            yield from _cluster_metrics(self.engine, self.settings)


def _cluster_metrics(engine: Engine, settings: Settings) -> Iterator[GaugeMetricFamily]:
    """What ``leakwatch status`` shows, at scrape time: instances, leases, the scan queue, source lag."""
    from leakwatch import cluster
    from leakwatch.sources.spec import load_specs

    try:
        st = cluster.status(engine, settings.cluster, [s for s in load_specs(settings).values() if s.enabled])
    except (SQLAlchemyError, ConfigError):
        return
    if cluster.shared(engine):
        g = GaugeMetricFamily("leakwatch_instances_alive", "Instances whose heartbeat is within the lease.")
        g.add_metric([], sum(1 for i in st["instances"] if i["alive"]))
        yield g
        g = GaugeMetricFamily("leakwatch_leases_held", "Source and part leases held, by instance.",
                              labels=["instance", "kind"])
        for inst in st["instances"]:
            g.add_metric([inst["id"], "source"], len(inst["sources"]))
            g.add_metric([inst["id"], "part"], inst["parts"])
        yield g
        q = st["queue"]
        g = GaugeMetricFamily("leakwatch_scan_queue_parts",
                              "Parts of large items not yet scanned (stuck: given up after repeated losses).",
                              labels=["state"])
        g.add_metric(["leased"], q["leased"])
        g.add_metric(["waiting"], q["waiting"])
        g.add_metric(["stuck"], q["stuck"])
        yield g
        g = GaugeMetricFamily("leakwatch_scan_queue_oldest_seconds", "Age of the oldest part not yet scanned.")
        g.add_metric([], q["oldest_seconds"])
        yield g
    g = GaugeMetricFamily("leakwatch_source_lag_seconds", "How late a source's poll is against its interval.",
                          labels=["source"])
    for src in st["sources"]:
        if src["lag_seconds"] is not None:
            g.add_metric([src["source"]], src["lag_seconds"])
    yield g


class Metrics:
    """This process's metrics (one per ``Services``, built on first use). With ``settings``, what
    ``leakwatch status`` shows of the enabled sources (and on PostgreSQL of the instances sharing
    the database) is collected at scrape time too."""

    def __init__(self, engine: Engine, settings: Settings | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.items = Counter("leakwatch_items_fetched", "Items fetched and scanned.", ["source"], registry=r)
        self.bytes = Counter("leakwatch_bytes_scanned", "Bytes of items scanned.", ["source"], registry=r)
        self.findings = Counter("leakwatch_findings", "Findings (records, terms, canaries).", ["source", "type"],
                                registry=r)
        self.skipped = Counter("leakwatch_parts_skipped", "Parts of items not scanned (encrypted, truncated, "
                               "over a limit, binary...), by reason.", ["source", "reason"], registry=r)
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
        for kind in ("incident", "operator", "test"):
            self.alerts_sent.labels(kind)  # 0 from the start: a panel shows 0, not 'no data'
        r.register(_DatabaseCollector(engine, settings))
        self.server: WSGIServer | None = None
        self.thread: Thread | None = None

    def known(self, sources: Iterable[str]) -> None:
        """Expose each source's counters at 0 before its first item or error."""
        for source in sources:
            for counter in (self.items, self.bytes, self.source_errors):
                counter.labels(source)

    def scanned(self, source: str, size: int, result: ScanResult) -> None:
        self.items.labels(source).inc()
        self.bytes.labels(source).inc(result.bytes_scanned or size)
        for f in result.findings:
            self.findings.labels(source, f.type).inc()

    def skipped_part(self, source: str, reason: str) -> None:
        self.skipped.labels(source, skip_reason(reason)).inc()

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


def skip_reason(reason: str) -> str:
    """A skipped note's reason as a label of few values."""
    low = reason.lower()
    for label in ("encrypted", "truncated", "binary", "nested", "corrupt", "unreadable"):
        if label in low:
            return label
    if "expands beyond" in low or "larger than" in low or "took over" in low:
        return "limit"
    return "other"
