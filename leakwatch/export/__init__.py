"""Hand-off of incidents to a SOC's tools: a STIX 2.1 bundle (``stix``) and a MISP event (``misp``).

Both carry the facts leakwatch holds: counts, kinds of field, confidence, first and last seen, time to
detection, where each sighting was, never a leaked value, and refs only when asked. Ids are derived
(uuid5) from a namespace of this installation and the incident's own ids, so exporting the same
incident twice gives the same ids and a re-import updates instead of duplicating. The namespace is
keyed by the master key: two installations never share ids, and the ids reveal nothing.

``stix2`` and ``pymisp`` are in the ``export`` extra: the daemon never needs them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import importlib
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from leakwatch import keys
from leakwatch.errors import LeakwatchError

if TYPE_CHECKING:
    from sqlmodel import Session

    from leakwatch.app import Services
    from leakwatch.incidents import IncidentRefRow, IncidentRow, SightingRow
    from leakwatch.notes import NoteRow

FORMATS = ("stix", "misp")
TLP_LEVELS = ("clear", "white", "green", "amber", "red")
"""TLP 2.0 ``clear`` is TLP 1.0 ``white`` (STIX 2.1's standard markings are TLP 1.0)."""

ROOT = uuid.UUID("6f1c3f4e-2d53-5b8e-9a55-6c65616b7761")
"""leakwatch's own namespace, from which each installation's is derived."""

CONFIDENCE_SCORE = {"high": 85, "medium": 50, "low": 15}
"""STIX confidence (0-100) for leakwatch's confidence, on the scale's 'high/medium/low' bands."""


class ExtraMissing(LeakwatchError):
    """The export extra is not installed."""


def require(fmt: str) -> None:
    """One clear line when the library a format needs is not installed."""
    module = {"stix": "stix2", "misp": "pymisp"}[fmt]
    try:
        importlib.import_module(module)
    except ImportError:
        raise ExtraMissing(f"--format {fmt} needs {module}, in the export extra: "
                           "pip install 'leakwatch[export]'") from None


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


def organisation(services: Services, s: Session) -> str:
    """The ``organisation`` setting, else the first watch term of kind ``org``, else a placeholder."""
    from sqlmodel import select

    from leakwatch.terms import WatchTerm

    if services.settings.organisation:
        return services.settings.organisation
    term = s.exec(select(WatchTerm.term).where(WatchTerm.kind == "org").order_by(WatchTerm.id)).first()
    return term or "the organisation (set organisation in config.toml)"


def collect(services: Services, incident_ids: list[int] | None, since: dt.datetime | None,
            include_refs: bool, tlp: str = "amber") -> Export:
    """The facts of the incidents named, or of those active since a date (last seen at or after it)."""
    from sqlmodel import select

    from leakwatch import incidents, notes
    from leakwatch.incidents import IncidentRow
    from leakwatch.store import session

    with session(services.engine) as s:
        if incident_ids is not None:
            rows = []
            for incident_id in incident_ids:
                row = s.get(IncidentRow, incident_id)
                if row is None:
                    raise LeakwatchError(f"no incident {incident_id} (see: leakwatch incidents list)")
                rows.append(row)
        else:
            assert since is not None
            rows = list(s.exec(select(IncidentRow).where(IncidentRow.last_seen >= since)  # type: ignore[arg-type]
                               .order_by(IncidentRow.id)))
        facts = []
        for row in rows:
            assert row.id is not None
            facts.append(IncidentFacts(row, incidents.sightings_of(s, row.id), notes.notes_of(s, row.id),
                                       incidents.refs_of(s, row.id) if include_refs else None))
        org = organisation(services, s)
    return Export(facts, org, namespace(services.master_key), tlp, include_refs, listing=incident_ids is None)


def render(export: Export, fmt: str) -> str:
    """The export as text (JSON), in ``stix`` or ``misp`` format."""
    require(fmt)
    if fmt == "stix":
        from leakwatch.export import stix

        return stix.bundle(export)
    from leakwatch.export import misp

    return misp.document(export)
