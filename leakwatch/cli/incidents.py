"""``incidents list|show|ack``: what the daemon found, for the analyst. Refs and field kinds, never values."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from leakwatch.cli.common import JSON_OPTION, fail, one_line_errors, out, print_json, services
from leakwatch.display import printable

if TYPE_CHECKING:
    from leakwatch.incidents import IncidentRow

app = typer.Typer(help="Incidents: exposures of your records, each with its sightings.", no_args_is_help=True)


def _when(value: dt.datetime | None) -> str:
    from leakwatch.incidents import as_utc

    v = as_utc(value)
    return v.strftime("%Y-%m-%d %H:%M") if v else ""


def _after(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}min"
    return f"{seconds / 3600:.1f}h"


def _get(incident_id: int) -> IncidentRow:
    from leakwatch.incidents import IncidentRow
    from leakwatch.store import session

    with session(services().engine) as s:
        incident = s.get(IncidentRow, incident_id)
    if incident is None:
        raise fail(f"no incident {incident_id} (see: leakwatch incidents list)")
    return incident


@app.command("list")
@one_line_errors
def list_(
    status: str | None = typer.Option(None, "--status", help="Only open or acked incidents."),
    limit: int = typer.Option(200, "--limit", min=1, help="At most this many, latest activity first."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Incidents, latest activity first: severity, dataset, records, sightings, last seen
    (``incidents show ID`` or --json for kinds, first seen and time to detection)."""
    from leakwatch import incidents
    from leakwatch.store import session

    if status not in (None, "open", "acked"):
        raise fail(f"--status: expected open or acked, got {status!r}")
    with session(services().engine) as s:
        rows = incidents.list_incidents(s, status, limit)
    if as_json:
        for row in rows:
            print_json(incidents.incident_json(row))
        return
    if not rows:
        out.print("no incident")
        return
    table = Table()
    for column in ("id", "severity", "status", "dataset", "records", "canaries", "sightings", "last seen (UTC)"):
        table.add_column(column, no_wrap=column != "dataset", min_width=12 if column == "dataset" else None)
    for r in rows:
        table.add_row(str(r.id), r.severity, r.status, printable(r.dataset or "(terms)"), str(r.records),
                      str(r.canaries), str(r.sightings), _when(r.last_seen))
    out.print(table)


@app.command("show")
@one_line_errors
def show(
    incident_id: int = typer.Argument(..., metavar="ID", help="Incident id (see incidents list)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """One incident: its sightings (source, URL, published, seen) and the refs of the exposed records,
    with the kinds of field that matched. Look the refs up in your own systems."""
    from leakwatch import incidents
    from leakwatch.incidents import as_utc
    from leakwatch.store import session

    incident = _get(incident_id)
    with session(services().engine) as s:
        sightings = incidents.sightings_of(s, incident_id)
        refs = incidents.refs_of(s, incident_id)
    if as_json:
        obj = incidents.incident_json(incident)
        obj["sightings_list"] = [
            {"source": x.source, "key": x.item_key, "url": x.url, "records": x.records, "canaries": x.canaries,
             "kinds": [k for k in x.kinds.split(",") if k],
             "published_at": (p.isoformat() if (p := as_utc(x.published_at)) else None),
             "seen_at": (v.isoformat() if (v := as_utc(x.seen_at)) else None)} for x in sightings]
        obj["refs"] = [{"dataset": r.dataset, "ref": r.ref, "type": r.type,
                        "fields": [f for f in r.fields.split(",") if f], "confidence": r.confidence,
                        "label": r.label} for r in refs]
        print_json(obj)
        return
    out.print(f"incident  {incident.id} ({incident.status})")
    out.print(f"severity  {incident.severity}")
    out.print(f"dataset   {printable(incident.datasets.replace(',', ', ') or '(watch terms only)')}")
    out.print(f"records   {incident.records} (high {incident.high}, medium {incident.medium}, low {incident.low})"
              + (f", canaries {incident.canaries}" if incident.canaries else ""))
    out.print(f"kinds     {', '.join(incident.kind_list)}")
    if incident.terms:
        out.print(f"terms     {printable(incident.terms)}")
    out.print(f"seen      {_when(incident.first_seen)} .. {_when(incident.last_seen)} UTC, "
              f"{incident.sightings} sighting(s)")
    if incident.detection_seconds is not None:
        out.print(f"detected  {_after(incident.detection_seconds)} after publication")
    table = Table(title="sightings", title_justify="left")
    for column in ("source", "url", "records", "published (UTC)", "seen (UTC)"):
        table.add_column(column)
    for x in sightings:
        table.add_row(printable(x.source), printable(x.url or x.item_key), str(x.records + x.canaries),
                      _when(x.published_at), _when(x.seen_at))
    out.print(table)
    table = Table(title="exposed records", title_justify="left")
    for column in ("dataset", "ref", "type", "fields", "confidence"):
        table.add_column(column)
    for r in refs:
        table.add_row(printable(r.dataset), printable(r.ref), r.type + (f" ({printable(r.label)})" if r.label else ""),
                      r.fields.replace(",", ", "), r.confidence)
    out.print(table)


@app.command("ack")
@one_line_errors
def ack(incident_id: int = typer.Argument(..., metavar="ID", help="Incident id."),
        as_json: bool = JSON_OPTION) -> None:
    """Mark an incident as handled. A later sighting still updates it, and alerts again only if its
    severity rises."""
    from leakwatch import incidents
    from leakwatch.store import session

    _get(incident_id)
    with session(services().engine) as s:
        incident = incidents.ack(s, incident_id)
    assert incident is not None
    if as_json:
        print_json(incidents.incident_json(incident))
        return
    out.print(f"incident {incident_id} acknowledged")
