"""A MISP event per incident, built with ``pymisp``'s ``MISPEvent``.

The event carries: the TLP tag and the incident type (``rsit:information-content-security="data-leak"``),
an ``incident`` object (MISP's template after STIX 2.1's incident) with the summary, one ``link``
attribute per sighting URL (with its source, first and last seen), and the counts and kinds of field
as attributes. Uuids come from the incident, so the same incident exported twice is the same event:
MISP updates it on re-import instead of adding another (timestamps are left to MISP, as pymisp
does, so that the re-import counts as newer).

One incident (``export ID``) is written as ``{"Event": {...}}`` (MISP's JSON import,
``MISPEvent.load_file``, ``PyMISP.add_event``); ``export --since`` writes ``{"response": [{"Event": ...},
...]}`` as MISP's own search API returns events, even when it holds one or none.
"""

from __future__ import annotations

import json
from typing import Any

from pymisp import MISPEvent, MISPObject

from leakwatch.incidents.export.facts import Export, IncidentFacts, summary, title, uid
from leakwatch.storage.store import as_utc

THREAT_LEVEL = {"critical": 1, "high": 1, "medium": 2, "low": 3}
"""MISP threat levels: 1 high, 2 medium, 3 low."""
CRITICALITY = {"critical": "Extreme", "high": "High", "medium": "Moderate", "low": "Low"}
INCIDENT_TYPE_TAG = 'rsit:information-content-security="data-leak"'


def _stamp(attribute: Any, ns: Any, *parts: object) -> None:
    attribute.uuid = uid(ns, *parts)
    attribute.to_ids = False  # facts about an exposure, not detection signatures
    attribute.distribution = 5  # inherit the event's


def event(export: Export, facts: IncidentFacts) -> MISPEvent:
    inc, ns = facts.incident, export.namespace
    ev = MISPEvent()
    ev.uuid = uid(ns, "misp-event", inc.id)
    ev.info = title(inc)
    ev.date = as_utc(inc.first_seen).date()  # type: ignore[union-attr]
    ev.threat_level_id = THREAT_LEVEL[inc.severity]
    ev.analysis = 2 if inc.status == "acked" else 1  # completed / ongoing
    ev.distribution = 0  # your organisation only: widen it in MISP if you mean to share
    ev.published = False
    ev.add_tag(f"tlp:{export.tlp}")
    ev.add_tag(INCIDENT_TYPE_TAG)

    obj = MISPObject("incident", standalone=False)
    obj.uuid = uid(ns, "misp-object", inc.id)
    obj.distribution = 5
    for relation, value in (("name", title(inc)), ("description", summary(inc)),
                            ("criticality", CRITICALITY[inc.severity]), ("detection_method", "automated-tool"),
                            ("determination", "successful-attempt"),
                            ("investigation_status", "closed" if inc.status == "acked" else "open"),
                            ("incident_type", "data-exfiltration")):
        attribute = obj.add_attribute(relation, value=value)
        _stamp(attribute, ns, "misp-object-attribute", inc.id, relation)
    ev.add_object(obj)

    numbers = {"records": inc.records, "records-high-confidence": inc.high,
               "records-medium-confidence": inc.medium, "records-low-confidence": inc.low,
               "canaries": inc.canaries, "sightings": inc.sightings}
    for name, value in numbers.items():
        a = ev.add_attribute("counter", value, category="Other", comment=f"leakwatch: {name}",
                             disable_correlation=True)
        _stamp(a, ns, "misp-attribute", inc.id, name)
    texts = {"field-kinds": ", ".join(inc.kind_list) or "none", "confidence": inc.confidence,
             "severity": inc.severity, "datasets": inc.datasets.replace(",", ", ") or "none"}
    if inc.terms:
        texts["watch-terms"] = inc.terms.replace(",", ", ")
    if inc.detection_seconds is not None:
        texts["time-to-detection-seconds"] = f"{inc.detection_seconds:.0f}"
    for name, value in texts.items():
        a = ev.add_attribute("text", value, category="Other", comment=f"leakwatch: {name}",
                             disable_correlation=True)
        _stamp(a, ns, "misp-attribute", inc.id, name)
    for host in inc.host_list:  # defanged: a text, not a domain attribute (refang it to block it)
        a = ev.add_attribute("text", host, category="Network activity",
                             comment="leakwatch: look-alike host, defanged (attacker infrastructure, not your data)")
        _stamp(a, ns, "misp-attribute", inc.id, "host", host)
    for x in facts.sightings:
        seen = as_utc(x.seen_at)
        if x.url:
            a = ev.add_attribute("link", x.url, category="External analysis",
                                 comment=f"leakwatch sighting on {x.source}: {x.records} record(s)"
                                         + (f", {x.canaries} canary(ies)" if x.canaries else ""),
                                 first_seen=as_utc(x.published_at) or seen, last_seen=seen)
        else:
            a = ev.add_attribute("text", f"{x.source}: {x.item_key}", category="External analysis",
                                 comment=f"leakwatch sighting without URL: {x.records} record(s)",
                                 first_seen=seen, last_seen=seen, disable_correlation=True)
        _stamp(a, ns, "misp-attribute", inc.id, "sighting", x.id)
    if facts.refs is not None:
        for r in facts.refs:
            a = ev.add_attribute("text", f"{r.dataset}:{r.ref}", category="Other",
                                 comment=f"exposed {r.type} ({r.fields.replace(',', ', ')}; {r.confidence})",
                                 disable_correlation=True)
            _stamp(a, ns, "misp-attribute", inc.id, "ref", r.dataset, r.ref)
    return ev


def document(export: Export) -> str:
    events = [{"Event": json.loads(event(export, f).to_json())} for f in export.facts]
    obj: dict[str, Any] = {"response": events} if export.listing else events[0]
    return json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True)
