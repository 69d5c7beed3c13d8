"""``incidents list|show|ack|note|export|report``: what the daemon found, for the analyst, the SOC's tools
and the DPO. Refs and field kinds, never values."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from leakwatch.cli.common import JSON_OPTION, err, fail, one_line_errors, out, print_json, services
from leakwatch.display import duration, printable, printable_text

if TYPE_CHECKING:
    from leakwatch.incidents.fold import IncidentRow

app = typer.Typer(help="Incidents: exposures of your records, each with its sightings; notes, exports for the SOC's "
                       "tools and the DPO's notification draft.", no_args_is_help=True)


def _when(value: dt.datetime | None) -> str:
    from leakwatch.storage.store import as_utc

    v = as_utc(value)
    return v.strftime("%Y-%m-%d %H:%M") if v else ""


def _get(incident_id: int) -> IncidentRow:
    from leakwatch.incidents.fold import IncidentRow
    from leakwatch.storage.store import session

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
    from leakwatch.incidents import fold
    from leakwatch.storage.store import session

    if status not in (None, "open", "acked"):
        raise fail(f"--status: expected open or acked, got {status!r}")
    with session(services().engine) as s:
        rows = fold.list_incidents(s, status, limit)
    if as_json:
        for row in rows:
            print_json(fold.incident_json(row))
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
    """One incident: its sightings (source, URL, published, seen), the refs of the exposed records
    with the kinds of field that matched, and the analysts' notes. Look the refs up in your own systems."""
    from leakwatch.incidents import fold, notes
    from leakwatch.storage.store import as_utc, session

    incident = _get(incident_id)
    with session(services().engine) as s:
        sightings = fold.sightings_of(s, incident_id)
        refs = fold.refs_of(s, incident_id)
        noted = notes.notes_of(s, incident_id)
    if as_json:
        obj = fold.incident_json(incident)
        obj["sightings_list"] = [
            {"source": x.source, "key": x.item_key, "url": x.url, "records": x.records, "canaries": x.canaries,
             "kinds": [k for k in x.kinds.split(",") if k],
             "published_at": (p.isoformat() if (p := as_utc(x.published_at)) else None),
             "seen_at": (v.isoformat() if (v := as_utc(x.seen_at)) else None)} for x in sightings]
        obj["refs"] = [{"dataset": r.dataset, "ref": r.ref, "type": r.type,
                        "fields": [f for f in r.fields.split(",") if f], "confidence": r.confidence,
                        "label": r.label} for r in refs]
        obj["notes"] = [notes.note_json(n) for n in noted]
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
    if incident.hosts:
        out.print(f"hosts     {printable(incident.hosts.replace(',', ', '))} (look-alike, defanged)")
    out.print(f"seen      {_when(incident.first_seen)} .. {_when(incident.last_seen)} UTC, "
              f"{incident.sightings} sighting(s)")
    if incident.detection_seconds is not None:
        out.print(f"detected  {duration(incident.detection_seconds)} after publication")
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
    if noted:
        table = Table(title="notes", title_justify="left")
        for column in ("id", "written (UTC)", "author", "note"):
            table.add_column(column)
        for n in noted:
            table.add_row(str(n.id), _when(n.created_at), printable(n.author), printable_text(n.text))
        out.print(table)


@app.command("ack")
@one_line_errors
def ack(incident_id: int = typer.Argument(..., metavar="ID", help="Incident id."),
        as_json: bool = JSON_OPTION) -> None:
    """Mark an incident as handled. A later sighting still updates it, and alerts again only if its
    severity rises."""
    from leakwatch.incidents import fold
    from leakwatch.storage.store import session

    _get(incident_id)
    with session(services().engine) as s:
        incident = fold.ack(s, incident_id)
    assert incident is not None
    if as_json:
        print_json(fold.incident_json(incident))
        return
    out.print(f"incident {incident_id} acknowledged")


def _since(value: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"--since: expected a date or date-time (2026-11-30, 2026-11-30T08:00), got {value!r}") from None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _directory(path: Path) -> Path:
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise fail(f"{path}: no such directory {directory}")
    return directory


def _write(path: Path, text: str) -> None:
    """Write the whole file or nothing (a temp file beside it, renamed), readable by its owner only:
    with --include-refs it names exposed records."""
    import os
    import tempfile

    directory = _directory(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text if text.endswith("\n") else text + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise fail(f"{path}: cannot write: {exc.strerror}") from None


@app.command("export")
@one_line_errors
def export(
    incident_id: int | None = typer.Argument(None, metavar="ID", help="Incident id; or use --since."),
    fmt: str = typer.Option(..., "--format", "-f", help="stix (a STIX 2.1 bundle) or misp (a MISP event)."),
    since: str | None = typer.Option(None, "--since", metavar="DATE",
                                     help="Every incident last seen at or after DATE (UTC unless it says)."),
    tlp: str = typer.Option("amber", "--tlp", help="TLP marking: clear (white), green, amber or red."),
    include_refs: bool = typer.Option(False, "--include-refs",
                                      help="Also list the refs of the exposed records (never their values)."),
    output: Path | None = typer.Option(None, "--output", "-o", metavar="FILE",
                                       help="Write to FILE (mode 0600, all or nothing) instead of stdout."),
) -> None:
    """Hand incidents to a SOC's tools: a STIX 2.1 bundle (incident, url observables and observed-data
    per sighting, the organisation's identity, a grouping, TLP marking) or a MISP event (link
    attributes, counts and kinds, TLP and incident-type tags; import the file in MISP or pass it to
    PyMISP.add_event). Counts, kinds of field, sources and times, never a value; refs only with
    --include-refs. Ids are stable: exporting again updates the same objects instead of adding others.

    Needs the export extra: pip install 'leakwatch\\[export]'."""
    from leakwatch.incidents import export as exporting

    fmt, tlp = fmt.lower(), tlp.lower()
    if fmt not in exporting.FORMATS:
        raise fail(f"--format: expected stix or misp, got {fmt!r}")
    if tlp not in exporting.TLP_LEVELS:
        raise fail(f"--tlp: expected one of {', '.join(exporting.TLP_LEVELS)}, got {tlp!r}")
    if (incident_id is None) == (since is None):
        raise fail("give an incident ID or --since DATE (one of them)")
    when = _since(since) if since is not None else None
    if output is not None:
        _directory(output)
    exporting.require(fmt)
    svc = services()
    data = exporting.collect(svc.engine, svc.master_key, svc.settings.organisation,
                             [incident_id] if incident_id is not None else None, when, include_refs, tlp)
    text = exporting.render(data, fmt)
    if output is None:
        sys.stdout.write(text + "\n")
    else:
        _write(output, text)
    err.print(f"exported {len(data.facts)} incident(s) as {'STIX 2.1' if fmt == 'stix' else 'MISP'}"
              f"{f' to {printable(output)}' if output else ''}, TLP:{tlp.upper()}, "
              f"{'with refs' if include_refs else 'without refs'}")


@app.command("note")
@one_line_errors
def note(
    incident_id: int = typer.Argument(..., metavar="ID", help="Incident id."),
    text: str = typer.Argument(..., metavar="TEXT", help="The note; - reads it from stdin."),
    author: str | None = typer.Option(None, "--author", help="Who writes it (default: your login)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Add a note to an incident: what was done or decided (password reset, host notified, DPO told).
    Notes are kept with their time and author, never edited or deleted (add a correction instead),
    listed by incidents show and used as the measures taken in incidents report."""
    from leakwatch.incidents import notes
    from leakwatch.storage.store import session

    _get(incident_id)
    if text == "-":
        text = sys.stdin.read()
    with session(services().engine) as s:
        row = notes.add_note(s, incident_id, text, author)
    if as_json:
        print_json(notes.note_json(row))
        return
    out.print(f"note {row.id} added to incident {incident_id}")


@app.command("report")
@one_line_errors
def report(
    incident_id: int = typer.Argument(..., metavar="ID", help="Incident id."),
    html: bool = typer.Option(False, "--html", help="HTML instead of Markdown."),
    include_refs: bool = typer.Option(False, "--include-refs",
                                      help="Add an annex listing the refs of the exposed records."),
    output: Path | None = typer.Option(None, "--output", "-o", metavar="FILE",
                                       help="Write to FILE (mode 0600, all or nothing) instead of stdout."),
) -> None:
    """A draft of the personal data breach notification for the DPO (GDPR art. 33, 72 hours), with
    what the CNIL's form asks: nature of the breach, categories of data, approximate numbers of
    people and records, when it was discovered against when it was first published, where the data
    surfaced, likely consequences (for the DPO to complete) and measures taken (acknowledgement and
    notes). Refs only in an annex, with --include-refs."""
    from leakwatch.incidents import report as reporting

    if output is not None:
        _directory(output)
    _get(incident_id)
    svc = services()
    facts = reporting.gather(svc.engine, svc.master_key, svc.settings.organisation, incident_id, include_refs)
    text = reporting.html(facts) if html else reporting.markdown(facts)
    if output is None:
        sys.stdout.write(text)
    else:
        _write(output, text)
        err.print(f"report on incident {incident_id} written to {printable(output)}")
