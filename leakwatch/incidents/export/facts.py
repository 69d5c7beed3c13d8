"""The facts of incidents as both exports (and the DPO's draft) hand them over, their stable ids, and
what they say in words and numbers: no value."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from leakwatch import keys
from leakwatch.display import duration
from leakwatch.storage.store import as_utc

if TYPE_CHECKING:
    from leakwatch.incidents.fold import IncidentRefRow, IncidentRow, SightingRow
    from leakwatch.incidents.notes import NoteRow

ROOT = uuid.UUID("6f1c3f4e-2d53-5b8e-9a55-6c65616b7761")
"""leakwatch's own namespace, from which each installation's is derived."""

CONFIDENCE_SCORE = {"high": 85, "medium": 50, "low": 15}
"""STIX confidence (0-100) for leakwatch's confidence, on the scale's 'high/medium/low' bands."""


def namespace(master: bytes) -> uuid.UUID:
    """This installation's namespace for export ids: stable, and keyed so it tells nothing."""
    digest = hmac.new(keys.derive(master, "_export", "namespace"), b"ids", hashlib.sha256).hexdigest()
    return uuid.uuid5(ROOT, digest)


def uid(ns: uuid.UUID, *parts: object) -> str:
    return str(uuid.uuid5(ns, ":".join(str(p) for p in parts)))


@dataclass
class IncidentFacts:
    """One incident and what is told about it: sightings, notes, and refs when asked for."""

    incident: IncidentRow
    sightings: list[SightingRow]
    notes: list[NoteRow] = field(default_factory=list)
    refs: list[IncidentRefRow] | None = None


@dataclass
class Export:
    facts: list[IncidentFacts]
    organisation: str
    namespace: uuid.UUID
    tlp: str = "amber"
    include_refs: bool = False
    listing: bool = False
    """Incidents selected by date (``--since``) rather than by id: MISP gets a list even of one."""


def iso(value: dt.datetime | None) -> str | None:
    v = as_utc(value)
    return v.strftime("%Y-%m-%dT%H:%M:%SZ") if v else None


def title(inc: IncidentRow) -> str:
    if inc.records or inc.canaries:
        what = f"{inc.records} record(s)" + (f" and {inc.canaries} canary(ies)" if inc.canaries else "")
        return f"leakwatch incident {inc.id}: {what} of {inc.datasets.replace(',', ', ')} exposed"
    return f"leakwatch incident {inc.id}: watch term(s) {inc.terms.replace(',', ', ')} mentioned"


def summary(inc: IncidentRow) -> str:
    """The incident in a few lines of plain text: counts, kinds, confidence, times. Never a value."""
    lines = [
        f"Severity: {inc.severity}; status: {inc.status}",
        f"Records: {inc.records} (high confidence {inc.high}, medium {inc.medium}, low {inc.low})",
    ]
    if inc.canaries:
        lines.append(f"Canaries: {inc.canaries} (planted records: a confirmed leak)")
    if inc.terms:
        lines.append(f"Watch terms: {inc.terms.replace(',', ', ')}")
    if inc.hosts:
        lines.append(f"Look-alike hosts (defanged; attacker infrastructure, not your data): "
                     f"{', '.join(inc.host_list)}")
    lines += [
        f"Field kinds: {', '.join(inc.kind_list) or 'none'}",
        f"Confidence: {inc.confidence}",
        f"First seen: {iso(inc.first_seen)}; last seen: {iso(inc.last_seen)}; sightings: {inc.sightings}",
    ]
    if inc.first_published is not None:
        lines.append(f"First published: {iso(inc.first_published)}")
    if inc.detection_seconds is not None:
        lines.append(f"Time to detection: {duration(inc.detection_seconds)}")
    return "\n".join(lines)


def modified(facts: IncidentFacts) -> dt.datetime:
    """When the incident last changed: a sighting, its acknowledgement or a note."""
    inc = facts.incident
    times = [as_utc(inc.last_seen), as_utc(inc.first_seen), as_utc(inc.acked_at),
             *(as_utc(n.created_at) for n in facts.notes)]
    return max(t for t in times if t is not None)
