"""What both exports (and the DPO's draft) say about an incident, in words and numbers: no value."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from leakwatch.incidents import as_utc

if TYPE_CHECKING:
    from leakwatch.export import IncidentFacts
    from leakwatch.incidents import IncidentRow


def duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


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
