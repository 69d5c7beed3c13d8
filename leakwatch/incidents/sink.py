"""The runner's sink: what is done with every scanned item and every change of a source's health.

Findings are folded into incidents (``incidents.fold.fold_findings``) and alerts queued in the outbox, all in the
runner's transaction; the metrics count both. Its own module so that incidents, outbox and metrics
need not know each other; the metrics are named by the few counts taken (``Counts``), as ``metrics``
sits above the domains.
"""

from __future__ import annotations

from typing import Protocol

from sqlmodel import Session

from leakwatch import log
from leakwatch.incidents.fold import fold_findings
from leakwatch.incidents.outbox import Outbox
from leakwatch.models import Item, ScanResult
from leakwatch.settings import Settings
from leakwatch.storage.store import as_utc


class Counts(Protocol):
    """What the sink counts (``metrics.Metrics`` is one)."""

    def scanned(self, source: str, size: int, result: ScanResult) -> None: ...
    def detected(self, seconds: float) -> None: ...
    def health(self, source: str, ok: bool) -> None: ...


class IncidentSink:
    def __init__(self, settings: Settings, master: bytes, metrics: Counts, outbox: Outbox) -> None:
        self.settings = settings
        self.master = master
        self.metrics = metrics
        self.outbox = outbox

    def record(self, session: Session, item: Item, result: ScanResult) -> None:
        self.metrics.scanned(item.source, len(item.content), result)
        folded = fold_findings(session, self.settings, self.master, item, result)
        if folded is None:
            return
        incident = folded.incident
        log.event("sighting", incident=incident.id, source=item.source, url=item.url,
                  new=folded.new, severity=incident.severity, records=folded.sighting.records,
                  canaries=folded.sighting.canaries, incident_records=incident.records,
                  sightings=incident.sightings)
        if folded.sighting.published_at:
            seen = as_utc(folded.sighting.seen_at)
            assert seen is not None
            self.metrics.detected((seen - folded.sighting.published_at).total_seconds())
        if folded.alert:
            queued = self.outbox.enqueue_incident(session, folded)
            log.event("alert_queued", incident=incident.id, severity=incident.severity,
                      escalated=folded.previous_severity, deliveries=queued)

    def health_changed(self, session: Session, source: str, state: str, reason: str) -> None:
        self.metrics.health(source, state == "ok")
        queued = self.outbox.enqueue_operator(session, source, state, reason)
        log.event("source_health", level=30 if state != "ok" else 20, source=source, state=state,
                  reason=reason, deliveries=queued)
