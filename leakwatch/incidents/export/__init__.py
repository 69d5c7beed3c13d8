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
import importlib
from typing import TYPE_CHECKING

from leakwatch.errors import LeakwatchError
from leakwatch.incidents.export.facts import Export, IncidentFacts, namespace

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

__all__ = ["FORMATS", "TLP_LEVELS", "Export", "ExtraMissing", "IncidentFacts", "collect", "organisation",
           "render", "require"]

FORMATS = ("stix", "misp")
TLP_LEVELS = ("clear", "white", "green", "amber", "red")
"""TLP 2.0 ``clear`` is TLP 1.0 ``white`` (STIX 2.1's standard markings are TLP 1.0)."""


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


def organisation(setting: str, s: Session) -> str:
    """The ``organisation`` setting, else the first watch term of kind ``org``, else a placeholder."""
    from sqlmodel import select

    from leakwatch.detection.terms import WatchTerm

    if setting:
        return setting
    term = s.exec(select(WatchTerm.term).where(WatchTerm.kind == "org").order_by(WatchTerm.id)).first()
    return term or "the organisation (set organisation in config.toml)"


def collect(engine: Engine, master: bytes, organisation_setting: str, incident_ids: list[int] | None,
            since: dt.datetime | None, include_refs: bool, tlp: str = "amber") -> Export:
    """The facts of the incidents named, or of those active since a date (last seen at or after it).
    ``master`` keys the export ids; ``organisation_setting`` is the ``organisation`` setting."""
    from sqlmodel import select

    from leakwatch.incidents import fold, notes
    from leakwatch.incidents.fold import IncidentRow
    from leakwatch.storage.store import session

    with session(engine) as s:
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
            facts.append(IncidentFacts(row, fold.sightings_of(s, row.id), notes.notes_of(s, row.id),
                                       fold.refs_of(s, row.id) if include_refs else None))
        org = organisation(organisation_setting, s)
    return Export(facts, org, namespace(master), tlp, include_refs, listing=incident_ids is None)


def render(export: Export, fmt: str) -> str:
    """The export as text (JSON), in ``stix`` or ``misp`` format."""
    require(fmt)
    if fmt == "stix":
        from leakwatch.incidents.export import stix

        return stix.bundle(export)
    from leakwatch.incidents.export import misp

    return misp.document(export)
