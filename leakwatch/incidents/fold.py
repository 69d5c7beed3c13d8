"""Incidents: the findings of one item make a sighting; sightings of the same content, or of largely
overlapping record sets, fold into one incident. A dump reposted ten times is one incident with ten
sightings, and one alert (another only when its severity rises).

Only refs, field kinds, counts, source names, URLs and times are stored: never a matched value. The
content of an item is identified by a keyed hash (HMAC with a subkey of the master key), so the
database cannot be used to confirm that a given document was seen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import insert, text, update
from sqlmodel import Field, Session, SQLModel, select

from leakwatch import keys
from leakwatch.models import CONFIDENCE_ORDER, SEVERITY_ORDER, Finding, Item, ScanResult
from leakwatch.settings import Settings, SeveritySettings
from leakwatch.storage.store import as_utc, utcnow

_BATCH = 900
MAX_HOSTS = 20
"""Look-alike hosts kept per incident; the findings' counts say how many more were seen."""
_FOLD_LOCK = 0x6C6B7701
"""PostgreSQL advisory lock key taken by every fold: daemons sharing a database fold one at a time."""


class IncidentRow(SQLModel, table=True):
    """One exposure of records, however many times it was reposted."""

    __tablename__ = "incident"
    id: int | None = Field(default=None, primary_key=True)
    status: str = "open"
    """``open`` or ``acked``."""
    severity: str = "low"
    alerted_severity: str | None = None
    """The severity last queued as an alert; a new alert only when it rises above it."""
    dataset: str | None = None
    """The dataset with the most exposed records."""
    datasets: str = ""
    kinds: str = ""
    terms: str = ""
    records: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0
    canaries: int = 0
    sightings: int = 0
    first_seen: dt.datetime = Field(default_factory=utcnow)
    last_seen: dt.datetime = Field(default_factory=utcnow)
    first_published: dt.datetime | None = None
    detection_seconds: float | None = None
    """Time from the first sighting's publication to its detection, when the source dates items."""
    acked_at: dt.datetime | None = None
    hosts: str = Field(default="", sa_column_kwargs={"server_default": ""})
    """Look-alike hosts named by look-alike domain findings, defanged (``evil-acme[.]fr``), comma-joined,
    at most ``MAX_HOSTS``: attacker infrastructure, not protected data. Revision 0002."""

    @property
    def confidence(self) -> str:
        return "high" if self.high else "medium" if self.medium else "low"

    @property
    def kind_list(self) -> list[str]:
        return [k for k in self.kinds.split(",") if k]

    @property
    def host_list(self) -> list[str]:
        return [h for h in self.hosts.split(",") if h]


class SightingRow(SQLModel, table=True):
    """One item in which records of an incident were found."""

    __tablename__ = "sighting"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    source: str
    item_key: str
    url: str | None = None
    content_key: str | None = Field(default=None, index=True)
    published_at: dt.datetime | None = None
    seen_at: dt.datetime = Field(default_factory=utcnow)
    records: int = 0
    canaries: int = 0
    terms: str = ""
    kinds: str = ""


class IncidentRefRow(SQLModel, table=True):
    """A record (or canary) exposed by an incident: its ref and the kinds of field that matched."""

    __tablename__ = "incident_ref"
    incident_id: int = Field(primary_key=True, foreign_key="incident.id")
    dataset: str = Field(primary_key=True)
    ref: str = Field(primary_key=True, index=True)
    type: str = "record"
    fields: str = ""
    confidence: str = "medium"
    label: str | None = None


@dataclass
class Folded:
    """What recording one sighting did."""

    incident: IncidentRow
    sighting: SightingRow
    new: bool
    previous_severity: str | None
    alert: bool
    """True when an alert must be queued: a new incident, or its severity rose."""


@dataclass
class _Exposure:
    type: str
    fields: set[str] = field(default_factory=set)
    confidence: str = "low"
    label: str | None = None


def content_key(master: bytes, item: Item) -> str | None:
    """A keyed hash of the item's sha256 (computed here, or by the driver for a file scanned as a
    stream), so the same bytes give the same key on every source. None when unknown."""
    if item.content:
        digest = hashlib.sha256(item.content).hexdigest()
    elif isinstance(item.meta.get("sha256"), str):
        digest = item.meta["sha256"]
    else:
        return None
    return hmac.new(keys.derive(master, "_incidents", "content"), digest.encode(), hashlib.sha256).hexdigest()


def severity_for(incident: IncidentRow, thresholds: SeveritySettings) -> str:
    """A canary is always critical; otherwise the number of medium- or high-confidence records."""
    strong = incident.high + incident.medium
    if incident.canaries or strong >= thresholds.critical_records:
        return "critical"
    if strong >= thresholds.high_records:
        return "high"
    if strong >= 1:
        return "medium"
    return "low"


def _exposures(findings: Iterable[Finding]) -> tuple[dict[tuple[str, str], _Exposure], set[str], set[str]]:
    refs: dict[tuple[str, str], _Exposure] = {}
    terms: set[str] = set()
    hosts: set[str] = set()
    for f in findings:
        if f.type == "term":
            if f.term:
                terms.add(f.term)
            hosts.update(f.hosts)
            continue
        if not f.ref:
            continue
        key = (f.dataset or "", f.ref)
        exp = refs.setdefault(key, _Exposure(f.type))
        exp.fields.update(f.fields)
        if f.type == "canary":
            exp.type, exp.label, exp.confidence = "canary", f.label, "high"
        elif CONFIDENCE_ORDER[f.confidence] > CONFIDENCE_ORDER[exp.confidence]:
            exp.confidence = f.confidence
    return refs, terms, hosts


def _batches(keys_: Sequence[tuple[str, str]]) -> Iterable[Sequence[tuple[str, str]]]:
    for i in range(0, len(keys_), _BATCH):
        yield keys_[i : i + _BATCH]


def _match(session: Session, refs: Sequence[tuple[str, str]], ckey: str | None, overlap: float) -> IncidentRow | None:
    """The incident this sighting belongs to: the same content, else the best record overlap."""
    if ckey:
        hit = session.exec(select(SightingRow.incident_id).where(SightingRow.content_key == ckey)).first()
        if hit is not None:
            return session.get(IncidentRow, hit)
    if not refs:
        return None
    wanted = set(refs)
    shared: dict[int, int] = {}
    for batch in _batches(refs):
        query = (select(IncidentRefRow.incident_id, IncidentRefRow.dataset, IncidentRefRow.ref)
                 .where(IncidentRefRow.ref.in_(sorted({r for _, r in batch}))))  # type: ignore[attr-defined]
        for incident_id, dataset, ref in session.exec(query):
            if (dataset, ref) in wanted:
                shared[incident_id] = shared.get(incident_id, 0) + 1
    best: tuple[float, int] | None = None
    for incident_id, inter in shared.items():
        incident = session.get(IncidentRow, incident_id)
        if incident is None:
            continue
        size = incident.records + incident.canaries
        jaccard = inter / (len(refs) + size - inter)
        if jaccard >= overlap and (best is None or jaccard > best[0]):
            best = (jaccard, incident_id)
    return session.get(IncidentRow, best[1]) if best else None


def _merge_refs(session: Session, incident: IncidentRow, refs: dict[tuple[str, str], _Exposure]) -> None:
    """Add the sighting's refs to the incident, keeping counts by confidence up to date. Bulk
    statements on columns: a dump of a million records is a few thousand statements, not objects."""
    assert incident.id is not None
    keys_ = sorted(refs)
    for batch in _batches(keys_):
        query = (select(IncidentRefRow.dataset, IncidentRefRow.ref, IncidentRefRow.type, IncidentRefRow.fields,
                        IncidentRefRow.confidence)
                 .where(IncidentRefRow.incident_id == incident.id,
                        IncidentRefRow.ref.in_(sorted({r for _, r in batch}))))  # type: ignore[attr-defined]
        known = {(d, r): (t, f, c) for d, r, t, f, c in session.exec(query)}
        fresh: list[dict[str, object]] = []
        changed: list[dict[str, object]] = []
        for key in batch:
            exp = refs[key]
            row = known.get(key)
            if row is None:
                fresh.append({"incident_id": incident.id, "dataset": key[0], "ref": key[1], "type": exp.type,
                              "fields": ",".join(sorted(exp.fields)), "confidence": exp.confidence,
                              "label": exp.label})
                _count(incident, exp.type, exp.confidence, +1)
                continue
            type_, old_fields, confidence = row
            fields = ",".join(sorted(set(old_fields.split(",")) - {""} | exp.fields))
            if type_ == "record" and CONFIDENCE_ORDER[exp.confidence] > CONFIDENCE_ORDER[confidence]:
                _count(incident, "record", confidence, -1)
                confidence = exp.confidence
                _count(incident, "record", confidence, +1)
            if (fields, confidence) != (old_fields, row[2]):
                changed.append({"incident_id": incident.id, "dataset": key[0], "ref": key[1], "fields": fields,
                                "confidence": confidence})
        if fresh:
            session.execute(insert(IncidentRefRow), fresh)
        if changed:
            session.execute(update(IncidentRefRow), changed)


def _count(incident: IncidentRow, type_: str, confidence: str, delta: int) -> None:
    if type_ == "canary":
        incident.canaries += delta
        return
    incident.records += delta
    setattr(incident, confidence, getattr(incident, confidence) + delta)


def _join(*parts: Iterable[str]) -> str:
    return ",".join(sorted({p for part in parts for p in part if p}))


def fold_findings(session: Session, settings: Settings, master: bytes, item: Item, result: ScanResult,
         seen_at: dt.datetime | None = None) -> Folded | None:
    """Record the findings of one scanned item as a sighting, in the caller's transaction.
    Returns None when the item exposed nothing."""
    refs, terms, hosts = _exposures(result.findings)
    if not refs and not terms:
        return None
    seen = seen_at or utcnow()
    ckey = content_key(master, item)
    keys_ = sorted(refs)
    if session.get_bind().dialect.name == "postgresql":
        # Held until the item's transaction ends: another daemon folding the same dump at the same
        # instant waits, then finds this incident instead of making a second one. (On SQLite the
        # runner's item transaction holds the one write lock from its first insert, before this.)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _FOLD_LOCK})
    incident = _match(session, keys_, ckey, settings.severity.overlap)
    new = incident is None
    if incident is None:
        incident = IncidentRow(first_seen=seen, last_seen=seen)
        session.add(incident)
        session.flush()
    previous = None if new else incident.severity
    _merge_refs(session, incident, refs)
    kinds = {k for exp in refs.values() for k in exp.fields}
    per_dataset: dict[str, int] = {}
    for dataset, _ in keys_:
        per_dataset[dataset] = per_dataset.get(dataset, 0) + 1
    datasets = set(incident.datasets.split(",")) | set(per_dataset)
    incident.datasets = _join(datasets)
    if per_dataset and (incident.dataset is None or new):
        incident.dataset = max(per_dataset, key=lambda d: (per_dataset[d], d)) or None
    incident.kinds = _join(incident.kind_list, kinds)
    incident.terms = _join(incident.terms.split(","), terms)
    incident.hosts = ",".join(sorted(set(incident.host_list) | hosts)[:MAX_HOSTS])
    incident.sightings += 1
    incident.last_seen = max(as_utc(incident.last_seen) or seen, seen)
    published = as_utc(item.published_at)
    if published and (incident.first_published is None or published < as_utc(incident.first_published)):  # type: ignore[operator]
        incident.first_published = published
    if new and published:
        incident.detection_seconds = max(0.0, (seen - published).total_seconds())
    incident.severity = severity_for(incident, settings.severity)
    alerted = incident.alerted_severity
    alert = alerted is None or SEVERITY_ORDER[incident.severity] > SEVERITY_ORDER[alerted]
    if alert:
        incident.alerted_severity = incident.severity
        incident.status, incident.acked_at = "open", None  # worse than when it was acknowledged
    sighting = SightingRow(
        incident_id=incident.id, source=item.source, item_key=item.key, url=item.url, content_key=ckey,
        published_at=published, seen_at=seen,
        records=sum(1 for e in refs.values() if e.type == "record"),
        canaries=sum(1 for e in refs.values() if e.type == "canary"),
        terms=_join(terms), kinds=_join(kinds))
    session.add(incident)
    session.add(sighting)
    session.flush()
    return Folded(incident, sighting, new, previous, alert)


# ---- queries for the CLI -------------------------------------------------------------------------

def list_incidents(session: Session, status: str | None = None, limit: int = 200) -> list[IncidentRow]:
    query = select(IncidentRow).order_by(IncidentRow.last_seen.desc()).limit(limit)  # type: ignore[attr-defined]
    if status:
        query = query.where(IncidentRow.status == status)
    return list(session.exec(query))


def sightings_of(session: Session, incident_id: int) -> list[SightingRow]:
    query = select(SightingRow).where(SightingRow.incident_id == incident_id).order_by(SightingRow.id)
    return list(session.exec(query))


def refs_of(session: Session, incident_id: int, limit: int | None = None) -> list[IncidentRefRow]:
    query = (select(IncidentRefRow).where(IncidentRefRow.incident_id == incident_id)
             .order_by(IncidentRefRow.dataset, IncidentRefRow.ref))
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


def ack(session: Session, incident_id: int) -> IncidentRow | None:
    incident = session.get(IncidentRow, incident_id)
    if incident is None:
        return None
    if incident.status != "acked":
        incident.status = "acked"
        incident.acked_at = utcnow()
        session.add(incident)
        session.commit()
    return incident


def incident_json(incident: IncidentRow) -> dict[str, object]:
    def iso(value: dt.datetime | None) -> str | None:
        v = as_utc(value)
        return v.isoformat() if v else None

    return {
        "id": incident.id, "status": incident.status, "severity": incident.severity,
        "dataset": incident.dataset, "datasets": [d for d in incident.datasets.split(",") if d],
        "records": incident.records, "confidence": incident.confidence,
        "counts": {"high": incident.high, "medium": incident.medium, "low": incident.low,
                   "canaries": incident.canaries},
        "kinds": incident.kind_list, "terms": [t for t in incident.terms.split(",") if t],
        "sightings": incident.sightings, "first_seen": iso(incident.first_seen),
        "last_seen": iso(incident.last_seen), "first_published": iso(incident.first_published),
        "detection_seconds": incident.detection_seconds, "acked_at": iso(incident.acked_at),
        "hosts": incident.host_list,
    }
