"""``fingerprints import|list|delete``: manage the salted fingerprints of your datasets."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from leakwatch.cli.common import JSON_OPTION, err, fail, one_line_errors, out, print_json, progress, services

app = typer.Typer(help="Import, list and delete datasets of salted fingerprints.", no_args_is_help=True)


@app.command("import")
@one_line_errors
def import_(
    file: Path = typer.Argument(..., help="CSV (any delimiter, header row) or JSON Lines file of records."),
    schema_path: Path = typer.Option(..., "--schema", "-s", help="Dataset schema (TOML), see fingerprints/."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid",
                                      help="Count and skip rows that fail validation instead of stopping."),
    workers: int = typer.Option(0, "--workers", help="Processes that fingerprint rows (0: one per core)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Fingerprint a record table: only keyed hashes and each record's ref are stored.

    Every field is normalised (NIR key checked, phones to E.164, dates to ISO, names without
    accents) before hashing with a key derived for this dataset. The import is one transaction:
    a bad row stops it with FILE:LINE and exit 2 (or is skipped with --skip-invalid), and
    importing a dataset again replaces it atomically. Delete the plaintext file once imported.
    """
    from leakwatch.importer import import_file
    from leakwatch.schema import load_schema

    svc = services()
    schema = load_schema(schema_path)
    size = file.stat().st_size if file.exists() else 0
    n = workers or (os.cpu_count() or 1)
    if size < 4 * 1024 * 1024:
        n = 1  # starting processes costs more than a small file takes
    with progress() as bar:
        task = bar.add_task(f"importing {schema.name}", total=size or None)
        report = import_file(svc.engine, svc.master_key, schema, file, svc.settings.default_region,
                             skip_invalid=skip_invalid, workers=n,
                             progress=lambda pos: bar.update(task, completed=pos))
    if as_json:
        print_json({"dataset": report.dataset, "records": report.records, "skipped": len(report.skipped),
                    "skipped_lines": [{"line": line, "reason": reason} for line, reason in report.skipped]})
        return
    out.print(f"imported {report.records} record(s) into dataset {escape(report.dataset)}")
    if report.skipped:
        err.print(f"skipped {len(report.skipped)} invalid row(s):", markup=False)
        for line, reason in report.skipped[:20]:
            err.print(f"  {file}:{line}: {reason}", markup=False)
        if len(report.skipped) > 20:
            err.print(f"  ... and {len(report.skipped) - 20} more (use --json for all)", markup=False)


@app.command("list")
@one_line_errors
def list_(as_json: bool = JSON_OPTION) -> None:
    """Datasets with their record counts, kinds and import time."""
    from leakwatch import store

    rows = store.datasets(services().engine)
    if as_json:
        for r in rows:
            print_json({"dataset": r.name, "purpose": r.purpose, "label": r.label, "records": r.record_count,
                        "skipped": r.skipped_rows, "kinds": r.kind_list, "imported_at": r.imported_at.isoformat()})
        return
    table = Table()
    for column in ("dataset", "purpose", "records", "kinds", "imported (UTC)"):
        table.add_column(column)
    for r in rows:
        table.add_row(escape(r.name), r.purpose + (f" ({escape(r.label)})" if r.label else ""),
                      str(r.record_count), ", ".join(r.kind_list), r.imported_at.strftime("%Y-%m-%d %H:%M"))
    out.print(table)


@app.command("delete")
@one_line_errors
def delete(name: str = typer.Argument(..., help="Dataset name.")) -> None:
    """Delete a dataset and all its fingerprints."""
    from leakwatch import indexcache, store
    from leakwatch.fingerprints import load_index

    svc = services()
    if not store.delete_dataset(svc.engine, name):
        raise fail(f"no dataset named {name!r}")
    # The mapped copy of its fingerprints in the home goes too (what is left is mapped again).
    indexcache.prune(svc.settings.home / "index", set())
    load_index(svc.engine, svc.master_key, svc.settings.home / "index")
    out.print(f"deleted dataset {escape(name)}")
