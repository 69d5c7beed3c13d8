"""The outbox: every alert is a row per (alert, route URL), written in the transaction that found
it, then sent and marked sent. Nothing is lost when a channel is down or the process dies:

- a failed send stays ``pending`` and is retried with exponential backoff (per route, so one dead
  channel neither blocks nor repeats another's alerts);
- a row is leased while it is being sent; a daemon killed mid-send leaves the lease, which is
  released at the next start (or when it expires), and the alert is sent again. So a send that had
  reached the channel when the process died is delivered twice: at most one duplicate, never a loss.

Route URLs hold secrets: the table keeps a keyed hash of the URL (to find it in the settings at
send time) and its masked form, never the URL itself.

A ``webhook+json://`` route stores the JSON document as the body, written once; it is signed at
each attempt (see ``webhook``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import random
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import UniqueConstraint, func, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, select

from leakwatch import keys, log
from leakwatch.incidents import alerts, fold, webhook
from leakwatch.models import SEVERITY_ORDER
from leakwatch.settings import AlertRoute, AlertSettings, is_webhook
from leakwatch.storage.store import as_utc, utcnow
from leakwatch.storage.store import session as db_session

STATUSES = ("pending", "sent", "failed")


class OutboxRow(SQLModel, table=True):
    """One alert for one route URL."""

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("alert_key", "route_key"),)
    id: int | None = Field(default=None, primary_key=True)
    alert_key: str = Field(index=True)
    kind: str
    severity: str
    incident_id: int | None = Field(default=None, index=True)
    route_key: str = Field(index=True)
    route_label: str
    title: str
    body: str
    status: str = Field(default="pending", index=True)
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(default_factory=utcnow)
    lease_owner: str | None = None
    lease_until: dt.datetime | None = None
    last_error: str | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)
    sent_at: dt.datetime | None = None


@dataclass(frozen=True)
class Route:
    url: str
    key: str
    include_refs: bool
    secret: str | None = None
    """The signing secret of ``webhook+json://`` URLs."""


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def route_key(master: bytes, url: str) -> str:
    """A keyed hash of the URL: the table never holds the URL, which may carry a secret."""
    return hmac.new(keys.derive(master, "_outbox", "route"), url.encode(), hashlib.sha256).hexdigest()[:32]


class Outbox:
    """The outbox of one database, for one alert configuration and master key (route URLs are
    found by keyed hash). ``on_sent(kind)`` is told of every delivery that reached a channel.
    ``other_keys``: the secrets of the keyring's other versions, under which rows queued before a
    ``leakwatch key rotate`` were hashed: those rows still find their route."""

    def __init__(self, engine: Engine, settings: AlertSettings, master: bytes,
                 on_sent: Callable[[str], None] | None = None, other_keys: Iterable[bytes] = ()) -> None:
        self.engine = engine
        self.settings = settings
        self.master = master
        self.on_sent = on_sent
        self.other_keys = tuple(k for k in other_keys if k != master)

    def routes_for(self, kind: str, severity: str) -> list[Route]:
        """The route URLs an alert goes to, each once (the first route naming a URL wins)."""
        out: dict[str, Route] = {}
        for route in self.settings.routes:
            if kind == "operator":
                if not route.operator:
                    continue
            elif kind == "incident" and SEVERITY_ORDER[severity] < SEVERITY_ORDER[route.min_severity]:
                continue
            for url in route.urls:
                key = route_key(self.master, url)
                out.setdefault(key, _route(route, url, key))
        return list(out.values())

    def routes_by_key(self) -> dict[str, Route]:
        """Every route URL by its key, under the current key and every other version given (alerts
        queued before a key rotation keep their route); the first route naming a URL wins."""
        out: dict[str, Route] = {}
        for master in (self.master, *self.other_keys):
            for route in self.settings.routes:
                for url in route.urls:
                    key = route_key(master, url)
                    out.setdefault(key, _route(route, url, key))
        return out

    def enqueue_incident(self, session: Session, folded: fold.Folded) -> int:
        routes = self.routes_for("incident", folded.incident.severity)
        refs: list[fold.IncidentRefRow] = []
        if any(r.include_refs for r in routes) and folded.incident.id is not None:
            refs = fold.refs_of(session, folded.incident.id, limit=alerts.MAX_REFS)
        return enqueue(session, alerts.incident_alert(folded, refs), routes)

    def enqueue_operator(self, session: Session, source: str, state: str, reason: str) -> int:
        alert = alerts.operator_alert(source, state, reason, utcnow())
        return self.enqueue_alert(session, alert)

    def enqueue_alert(self, session: Session, alert: alerts.Alert) -> int:
        """Queue an operator alert made elsewhere (a wrong key) for every route that takes them."""
        return enqueue(session, alert, self.routes_for(alert.kind, alert.severity))

    def backoff(self, attempts: int) -> float:
        s = self.settings
        delay = min(s.retry_max, s.retry_initial * 2 ** max(0, attempts - 1))
        return delay * random.uniform(0.85, 1.15)

    def release_stale_leases(self) -> int:
        return release_stale_leases(self.engine)

    def counts(self) -> dict[str, int]:
        return counts(self.engine)

    def deliver_due(self, stop: threading.Event | None = None, limit: int = 200,
                    only: str | None = None) -> DeliveryReport:
        """Send every due pending row (or only those of alert ``only``), oldest first; a route that
        fails is backed off as a whole. Blocking (apprise is synchronous): the daemon runs it in a
        thread. Never raises for a channel."""
        report = DeliveryReport()
        settings = self.settings
        now = utcnow()
        routes = self.routes_by_key()
        backed_off: set[str] = set()
        with db_session(self.engine) as s:
            query = (select(OutboxRow)
                     .where(OutboxRow.status == "pending", OutboxRow.next_attempt_at <= now,
                            or_(OutboxRow.lease_until.is_(None), OutboxRow.lease_until < now))  # type: ignore[union-attr,operator]
                     .order_by(OutboxRow.id).limit(limit))
            if only is not None:
                query = query.where(OutboxRow.alert_key == only)
            due = list(s.exec(query))
            for row in due:
                if stop is not None and stop.is_set():
                    break
                if row.route_key in backed_off:
                    continue
                assert row.id is not None
                route = routes.get(row.route_key)
                problem = "route no longer configured" if route is None else alerts.check_url(route.url)
                if problem:
                    _set(s, row.id, status="failed", last_error=problem)
                    report.failed += 1
                    log.error("alert_failed", alert=row.alert_key, route=row.route_label, reason=problem)
                    continue
                assert route is not None
                if not _claim(s, row.id, utcnow(), settings.send_timeout * 2 + 5):
                    continue
                attempts = row.attempts + 1  # as the claim counted in the database
                reason = send_row(route, row, settings.send_timeout)
                done = utcnow()
                if reason is None:
                    _set(s, row.id, status="sent", sent_at=done, last_error=None, lease_owner=None,
                         lease_until=None)
                    report.sent += 1
                    if self.on_sent is not None:
                        self.on_sent(row.kind)
                    log.event("alert_sent", alert=row.alert_key, incident=row.incident_id,
                              route=row.route_label, attempts=attempts)
                    continue
                delay = self.backoff(attempts)
                retry_at = done + dt.timedelta(seconds=delay)
                s.exec(update(OutboxRow)  # type: ignore[call-overload]
                       .where(OutboxRow.route_key == row.route_key, OutboxRow.status == "pending",  # type: ignore[arg-type]
                              OutboxRow.next_attempt_at < retry_at)  # type: ignore[arg-type]
                       .values(next_attempt_at=retry_at)
                       .execution_options(synchronize_session=False))
                _set(s, row.id, last_error=reason, next_attempt_at=retry_at, lease_owner=None, lease_until=None)
                backed_off.add(row.route_key)
                report.retried += 1
                log.warning("alert_retry", alert=row.alert_key, route=row.route_label, attempts=attempts,
                            retry_in=f"{delay:.0f}s", reason=reason)
        return report


def _route(route: AlertRoute, url: str, key: str) -> Route:
    return Route(url, key, route.include_refs, route.secret.get_secret_value() if route.secret else None)


def enqueue(session: Session, alert: alerts.Alert, routes: list[Route]) -> int:
    """Add one row per route URL in the caller's transaction; an alert already queued for a route
    is not queued again. Returns the number of rows added."""
    added = 0
    for route in routes:
        exists = session.exec(select(OutboxRow.id).where(OutboxRow.alert_key == alert.key,
                                                         OutboxRow.route_key == route.key)).first()
        if exists is not None:
            continue
        body = (webhook.body(alert, route.include_refs, utcnow().isoformat()) if is_webhook(route.url)
                else alert.text(route.include_refs))
        session.add(OutboxRow(alert_key=alert.key, kind=alert.kind, severity=alert.severity,
                              incident_id=alert.incident_id, route_key=route.key,
                              route_label=alerts.mask_url(route.url), title=alert.title, body=body))
        added += 1
    session.flush()
    return added


# ---- delivery -------------------------------------------------------------------------------------

def send_row(route: Route, row: OutboxRow, timeout: float) -> str | None:
    """One delivery: a signed POST of the stored document for a webhook, apprise otherwise."""
    if is_webhook(route.url):
        if not route.secret:
            return "webhook route without a secret"
        event = _event(row.body) or row.kind
        return webhook.post(route.url, route.secret, row.body, row.alert_key, event, timeout)
    return alerts.send(route.url, row.title, row.body, row.severity, timeout)


def _event(body: str) -> str | None:
    try:
        value = json.loads(body).get("event")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def release_stale_leases(engine: Engine) -> int:
    """Free the leases of processes of this host that are gone (a daemon killed mid-send)."""
    host = socket.gethostname()
    freed = 0
    with db_session(engine) as s:
        rows = s.exec(select(OutboxRow).where(OutboxRow.status == "pending",
                                              OutboxRow.lease_owner.is_not(None)))  # type: ignore[union-attr]
        for row in rows:
            owner_host, _, pid = (row.lease_owner or "").rpartition(":")
            if owner_host != host or not pid.isdigit() or _alive(int(pid)):
                continue
            row.lease_owner = row.lease_until = None
            s.add(row)
            freed += 1
        s.commit()
    if freed:
        log.warning("outbox_leases_released", rows=freed,
                    note="sends interrupted by a crash are retried; at most one duplicate each")
    return freed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _claim(s: Session, row_id: int, now: dt.datetime, lease: float) -> bool:
    stmt = (update(OutboxRow)
            .where(OutboxRow.id == row_id, OutboxRow.status == "pending",  # type: ignore[arg-type]
                   or_(OutboxRow.lease_until.is_(None), OutboxRow.lease_until < now))  # type: ignore[union-attr,operator]
            .values(lease_owner=_owner(), lease_until=now + dt.timedelta(seconds=lease),
                    attempts=OutboxRow.attempts + 1)
            .execution_options(synchronize_session=False))
    claimed = s.exec(stmt).rowcount == 1  # type: ignore[call-overload]
    s.commit()
    return claimed


def _set(s: Session, row_id: int, **values: object) -> None:
    """Write some columns of one row and commit (the objects read earlier are left alone)."""
    s.exec(update(OutboxRow).where(OutboxRow.id == row_id).values(**values)  # type: ignore[call-overload,arg-type]
           .execution_options(synchronize_session=False))
    s.commit()


def counts(engine: Engine) -> dict[str, int]:
    """Outbox rows by status."""
    with db_session(engine) as s:
        rows = s.exec(select(OutboxRow.status, func.count()).group_by(OutboxRow.status))  # type: ignore[call-overload]
        found = {status: n for status, n in rows}
    return {status: int(found.get(status, 0)) for status in STATUSES}


def rows(engine: Engine, status: str | None = None, limit: int = 200) -> list[OutboxRow]:
    with db_session(engine) as s:
        query = select(OutboxRow).order_by(OutboxRow.id.desc()).limit(limit)  # type: ignore[union-attr]
        if status:
            query = query.where(OutboxRow.status == status)
        return list(s.exec(query))


def outbox_json(row: OutboxRow) -> dict[str, object]:
    def iso(value: dt.datetime | None) -> str | None:
        v = as_utc(value)
        return v.isoformat() if v else None

    return {"id": row.id, "alert": row.alert_key, "kind": row.kind, "severity": row.severity,
            "incident": row.incident_id, "route": row.route_label, "status": row.status,
            "attempts": row.attempts, "last_error": row.last_error, "created_at": iso(row.created_at),
            "next_attempt_at": iso(row.next_attempt_at) if row.status == "pending" else None,
            "sent_at": iso(row.sent_at)}
