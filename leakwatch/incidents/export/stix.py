"""A STIX 2.1 bundle for incidents, built with ``stix2``.

Per incident: an ``incident`` (counts, kinds of field, confidence, first and last seen, time to
detection as ``leakwatch_*`` properties, and the STIX ``confidence``), for each sighting a ``url``
observable (or a ``file`` one named by the item when the source gives no URL) and an
``observed-data`` object, and a ``grouping`` tying them. One ``identity`` for the organisation
creates them all, and every object carries the TLP marking. Ids are deterministic (see
``leakwatch.incidents.export``); URL observables take STIX's own deterministic id from their value.
"""

from __future__ import annotations

import datetime as dt
import json
import posixpath
from typing import Any

import stix2

from leakwatch.incidents.export.facts import (
    CONFIDENCE_SCORE,
    ROOT,
    Export,
    IncidentFacts,
    iso,
    modified,
    summary,
    title,
    uid,
)
from leakwatch.storage.store import as_utc

TLP = {"clear": stix2.TLP_WHITE, "white": stix2.TLP_WHITE, "green": stix2.TLP_GREEN,
       "amber": stix2.TLP_AMBER, "red": stix2.TLP_RED}

_IDENTITY_CREATED = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
"""A fixed time for the organisation's identity: the same object in every export."""
_LEAKWATCH = stix2.v21.Identity(
    id=f"identity--{uid(ROOT, 'identity', 'leakwatch')}", created=_IDENTITY_CREATED, modified=_IDENTITY_CREATED,
    name="leakwatch", identity_class="system", description="The leak monitor, author of the extension.")
EXTENSION = stix2.v21.ExtensionDefinition(
    id=f"extension-definition--{uid(ROOT, 'extension', 'incident', 1)}", created=_IDENTITY_CREATED,
    modified=_IDENTITY_CREATED, created_by_ref=_LEAKWATCH.id, name="leakwatch exposure properties",
    description="Counts, kinds of field, confidence and times of a leakwatch incident and its sightings "
                "(leakwatch_* top-level properties). Never a leaked value.",
    schema="https://github.com/leakwatch/leakwatch/blob/main/docs/export.md#stix-21", version="1.0.0",
    extension_types=["toplevel-property-extension"])
_EXT = {EXTENSION.id: {"extension_type": "toplevel-property-extension"}}


def _incident_objects(export: Export, facts: IncidentFacts, identity: stix2.Identity,
                      marking: stix2.MarkingDefinition) -> list[Any]:
    inc, ns = facts.incident, export.namespace
    created, changed = as_utc(inc.first_seen), modified(facts)
    common: dict[str, Any] = {"created_by_ref": identity.id, "object_marking_refs": [marking.id]}
    properties: dict[str, Any] = {
        "leakwatch_incident_id": inc.id,
        "leakwatch_severity": inc.severity,
        "leakwatch_status": inc.status,
        "leakwatch_datasets": [d for d in inc.datasets.split(",") if d],
        "leakwatch_records": inc.records,
        "leakwatch_counts": {"high": inc.high, "medium": inc.medium, "low": inc.low, "canaries": inc.canaries},
        "leakwatch_field_kinds": inc.kind_list,
        "leakwatch_confidence": inc.confidence,
        "leakwatch_first_seen": iso(inc.first_seen),
        "leakwatch_last_seen": iso(inc.last_seen),
        "leakwatch_sightings": inc.sightings,
    }
    if inc.terms:
        properties["leakwatch_watch_terms"] = [t for t in inc.terms.split(",") if t]
    if inc.hosts:  # defanged: not a domain-name observable, whose value must be a real name
        properties["leakwatch_lookalike_hosts"] = inc.host_list
    if inc.first_published is not None:
        properties["leakwatch_first_published"] = iso(inc.first_published)
    if inc.detection_seconds is not None:
        properties["leakwatch_detection_seconds"] = round(inc.detection_seconds, 3)
    if inc.acked_at is not None:
        properties["leakwatch_acknowledged"] = iso(inc.acked_at)
    if facts.refs is not None:
        properties["leakwatch_refs"] = [
            {"dataset": r.dataset, "ref": r.ref, "type": r.type, "fields": [f for f in r.fields.split(",") if f],
             "confidence": r.confidence} for r in facts.refs]
    incident = stix2.v21.Incident(
        id=f"incident--{uid(ns, 'incident', inc.id)}", created=created, modified=changed, name=title(inc),
        description=summary(inc), confidence=CONFIDENCE_SCORE[inc.confidence],
        labels=["data-exposure", f"severity-{inc.severity}"], extensions=_EXT, allow_custom=True,
        **common, **properties)
    objects: list[Any] = [incident]
    observed = []
    for x in facts.sightings:
        if x.url:
            observable: Any = stix2.v21.URL(value=x.url, object_marking_refs=[marking.id])
        else:  # a file dropped in a folder: named by its key
            observable = stix2.v21.File(name=posixpath.basename(x.item_key) or x.item_key,
                                        object_marking_refs=[marking.id])
        seen = as_utc(x.seen_at)
        first = min(as_utc(x.published_at) or seen, seen)  # type: ignore[type-var]
        data = stix2.v21.ObservedData(
            id=f"observed-data--{uid(ns, 'sighting', inc.id, x.id)}", created=seen, modified=seen,
            first_observed=first, last_observed=seen, number_observed=1, object_refs=[observable.id],
            confidence=CONFIDENCE_SCORE[inc.confidence], extensions=_EXT, allow_custom=True,
            leakwatch_source=x.source, leakwatch_records=x.records, leakwatch_canaries=x.canaries,
            leakwatch_field_kinds=[k for k in x.kinds.split(",") if k], **common)
        if observable.id not in {o.id for o in objects}:
            objects.append(observable)
        objects.append(data)
        observed.append(data.id)
    grouping = stix2.v21.Grouping(
        id=f"grouping--{uid(ns, 'grouping', inc.id)}", created=created, modified=changed, name=title(inc),
        context="suspicious-activity", object_refs=[incident.id, *observed], **common)
    objects.append(grouping)
    return objects


def bundle(export: Export) -> str:
    """The bundle as JSON, the same bytes for the same facts. Bundle ids are derived from the incidents
    it holds."""
    marking = TLP[export.tlp]
    identity = stix2.v21.Identity(id=f"identity--{uid(export.namespace, 'identity', export.organisation)}",
                                  name=export.organisation, identity_class="organization",
                                  created=_IDENTITY_CREATED, modified=_IDENTITY_CREATED,
                                  object_marking_refs=[marking.id])
    objects: list[Any] = [marking, _LEAKWATCH, EXTENSION, identity]
    seen: set[str] = set()
    for facts in export.facts:
        for obj in _incident_objects(export, facts, identity, marking):
            if obj.id not in seen:
                seen.add(obj.id)
                objects.append(obj)
    ids = ",".join(str(f.incident.id) for f in export.facts)
    out = stix2.v21.Bundle(id=f"bundle--{uid(export.namespace, 'bundle', ids, export.tlp, export.include_refs)}",
                           objects=objects, allow_custom=True)
    # stix2 orders custom properties as a set would: sorted keys give the same bytes every time.
    return json.dumps(json.loads(out.serialize()), indent=2, sort_keys=True, ensure_ascii=False)
