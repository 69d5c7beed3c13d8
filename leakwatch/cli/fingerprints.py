"""``fingerprints import|list|delete``: manage the salted fingerprints of your datasets."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.table import Table

from leakwatch.cli.common import JSON_OPTION, err, fail, one_line_errors, out, print_json, progress, services
from leakwatch.display import printable

app = typer.Typer(help="Import, list and delete datasets of salted fingerprints.", no_args_is_help=True)


@app.command("import")
@one_line_errors
def import_(
    file: Path = typer.Argument(..., help="CSV (any delimiter, header row) or JSON Lines file of records."),
    schema_path: Path = typer.Option(..., "--schema", "-s", help="Dataset schema (TOML), see fingerprints/."),
    strict: bool = typer.Option(False, "--strict",
                                help="Stop at the first bad value (exit 2, nothing imported) instead of dropping "
                                     "it from its record and reporting it."),
    accept_column: list[str] = typer.Option([], "--accept-column", metavar="COLUMN",
                                            help="Import COLUMN even when most of its values fail their kind's "
                                                 "check (repeatable); by default that stops the import."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", hidden=True,
                                      help="Deprecated: bad values are dropped and reported by default."),
    workers: int = typer.Option(0, "--workers", help="Processes that fingerprint rows (0: one per core)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Fingerprint a record table: only keyed hashes and each record's ref are stored.

    Every field is normalised (NIR key checked, phones to E.164 with overseas numbers under their
    own country code, dates to ISO, names without accents) before hashing with a key derived for
    this dataset. Empty fields and placeholders (NULL, N/A, -, inconnu, 00 00 00 00 00...) are
    missing. A value that fails its kind's check is dropped from its record only; a row is skipped
    whole only when it has no ref or nothing usable. The report gives, per column, how many values
    were dropped, why, and the first line numbers, never a value. --strict stops at the first bad
    value instead (exit 2, nothing imported).

    A column where more than half of the values fail (at least 10) is probably mapped to the
    wrong kind: the import stops with exit 2 unless you confirm it with --accept-column COLUMN.
    Rows repeating the same ref with the same values are one record; the same ref on rows that
    differ stops the import (exit 2) naming the lines.

    The import is one transaction, and importing a dataset again replaces it atomically. Delete
    the plaintext file once imported.

    The dataset is fingerprinted under the key's current version (leakwatch key show), and the
    database keeps that version and a key check. A key that does not match the datasets already
    imported is refused (exit 2): see docs/keys.md. Each import is an audit entry (leakwatch audit).
    """
    from leakwatch.datasets.importer import import_file
    from leakwatch.datasets.schema import load_schema
    from leakwatch.detection import parallel

    svc = services()
    schema = load_schema(schema_path)
    if skip_invalid:
        err.print("leakwatch: note: --skip-invalid is the default now: bad values are dropped and reported",
                  markup=False)
    svc.verify_key()  # a wrong key would make this dataset, and the scans of every other, blind
    size = file.stat().st_size if file.exists() else 0
    n = workers or (os.cpu_count() or 1)
    if size < 4 * 1024 * 1024:
        n = 1  # starting processes costs more than a small file takes
    try:  # SIGTERM rolls the import back and stops its workers, as Ctrl-C does
        with parallel.sigterm_interrupts(), progress() as bar:
            task = bar.add_task(f"importing {schema.name}", total=size or None)
            report = import_file(svc.engine, svc.master_key, schema, file, svc.settings.default_region,
                                 strict=strict, accept_columns=accept_column, workers=n,
                                 progress=lambda pos: bar.update(task, completed=pos),
                                 key_version=svc.key.version)
    except parallel.Terminated:
        raise fail(f"{file}: import terminated (SIGTERM): rolled back, dataset {schema.name} unchanged",
                   143) from None
    if as_json:
        print_json(report.to_json())
        return
    merged = f", {report.duplicates[0]} repeated row(s) merged" if report.duplicates[0] else ""
    out.print(f"imported {report.records} record(s) from {report.rows} row(s) into dataset "
              f"{printable(report.dataset)}{merged}")
    for reason, count, lines in report.skipped:
        err.print(f"skipped {count} row(s): {printable(reason)} (first lines: {_lines(lines)})")
    for col in report.columns:
        for reason, count, lines in col.dropped:
            err.print(f"column {printable(repr(col.column))}: dropped {count} of {col.values} value(s): "
                      f"{printable(reason)} (first lines: {_lines(lines)})")


def _lines(lines: list[int]) -> str:
    return ", ".join(map(str, lines))


@app.command("list")
@one_line_errors
def list_(as_json: bool = JSON_OPTION) -> None:
    """Datasets with their record counts, kinds, import time and key version.

    The key column says whether the key file read holds that version with the same key
    (``ok``), a different key (``WRONG KEY``), not that version (``missing``), or whether the
    dataset predates key checks (``unchecked``: re-import it). The forms column says
    ``current``, or which stored forms an older release did not write (without name + date
    keys, names and a birth date with no identifier are never matched): re-import it."""
    from leakwatch.datasets import forms, keycheck
    from leakwatch.errors import LeakwatchError
    from leakwatch.storage import store

    svc = services()
    rows = store.datasets(svc.engine)
    try:
        bad = {p.dataset: p for p in keycheck.problems(rows, svc.keyring)}
        status = {r.name: "unchecked" if r.key_check is None else "missing" if r.name in bad and
                  bad[r.name].read_id is None else "WRONG KEY" if r.name in bad else "ok" for r in rows}
    except LeakwatchError:
        status = {r.name: "no key file" for r in rows}
    lacking = {r.name: forms.missing(svc.engine, r) for r in rows}
    if as_json:
        for r in rows:
            print_json({"dataset": r.name, "purpose": r.purpose, "label": r.label, "records": r.record_count,
                        "skipped": r.skipped_rows, "kinds": r.kind_list, "imported_at": r.imported_at.isoformat(),
                        "key_version": r.key_version, "key_id": r.key_id, "key": status[r.name],
                        "missing_forms": [m.form for m in lacking[r.name]]})
        return
    table = Table()
    for column in ("dataset", "purpose", "records", "kinds", "imported (UTC)", "key", "forms"):
        table.add_column(column)
    for r in rows:
        table.add_row(printable(r.name), r.purpose + (f" ({printable(r.label)})" if r.label else ""),
                      str(r.record_count), ", ".join(r.kind_list), r.imported_at.strftime("%Y-%m-%d %H:%M"),
                      f"v{r.key_version} {status[r.name]}",
                      "re-import: no " + ", no ".join(m.form for m in lacking[r.name]) if lacking[r.name]
                      else "current")
    out.print(table)
    for r in rows:
        if forms.blind(lacking[r.name]):
            err.print(f"leakwatch: note: {printable(r.name)}: {printable(forms.advice(lacking[r.name]))}", markup=False)


@app.command("delete")
@one_line_errors
def delete(name: str = typer.Argument(..., help="Dataset name.")) -> None:
    """Delete a dataset and all its fingerprints (an audit entry: leakwatch audit)."""
    from leakwatch.detection import indexcache
    from leakwatch.storage import audit, store

    svc = services()
    if not audit.delete_dataset(svc.engine, name):
        raise fail(f"no dataset named {name!r}")
    # The mapped copy of its fingerprints in the home goes too (the others' files stay).
    indexcache.prune_except(svc.settings.home / "index", {row.id for row in store.datasets(svc.engine)})
    out.print(f"deleted dataset {printable(name)}")
