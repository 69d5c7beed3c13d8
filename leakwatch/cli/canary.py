"""``canary create|list``: synthetic records whose sighting proves a leak and names its channel."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import typer
from rich.table import Table

from leakwatch.cli.common import JSON_OPTION, err, one_line_errors, out, print_json, services
from leakwatch.display import printable

# leakwatch.datasets.canary.MAX_COUNT, copied so that building the CLI does not import leakwatch.datasets.canary
# (sqlalchemy, numpy); keep the two equal.
MAX_COUNT = 10_000

app = typer.Typer(help="Canary records: plant them in an export; any sighting is a critical finding.",
                  no_args_is_help=True)


@app.command("create")
@one_line_errors
def create(
    label: str = typer.Option(..., "--label", "-l",
                              help="Names the channel the canaries go to (e.g. crm-export-2026-03)."),
    count: int = typer.Option(5, "--count", "-n", help=f"How many records (1 to {MAX_COUNT})."),
    schema_path: Path | None = typer.Option(None, "--schema", "-s",
                                            help="Dataset schema (TOML) the records must fit; default: patients."),
) -> None:
    """Generate canary records that look real for the schema, store only their fingerprints (dataset
    canary-LABEL, refs LABEL#ROW) and print them ONCE as CSV on stdout, for planting.

    They are not kept anywhere in plaintext: redirect stdout to the file you plant, or copy them
    now. E-mails use the canary_domain setting (a domain you control). Any later sighting, even of
    a single identifier, is a critical finding naming LABEL.
    """
    from leakwatch.datasets import canary
    from leakwatch.datasets.schema import load_schema

    schema = load_schema(schema_path) if schema_path is not None else canary.default_schema()
    svc = services()
    svc.verify_key()
    batch = canary.create(svc.engine, svc.master_key, schema, label, count, svc.settings.canary_domain,
                          svc.settings.default_region, key_version=svc.key.version)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(batch.header)
    writer.writerows(batch.rows)
    sys.stdout.flush()
    err.print(f"created {len(batch.rows)} canary record(s) for label {batch.label} (dataset {batch.dataset}); "
              "printed above once and not kept: plant them now", markup=False)


@app.command("list")
@one_line_errors
def list_(as_json: bool = JSON_OPTION) -> None:
    """Canary labels with their record counts and creation dates."""
    from leakwatch.datasets import canary

    rows = canary.datasets(services().engine)
    if as_json:
        for r in rows:
            print_json({"label": r.label, "dataset": r.name, "records": r.record_count, "kinds": r.kind_list,
                        "created_at": r.imported_at.isoformat()})
        return
    if not rows:
        err.print("no canary yet: leakwatch canary create --label LABEL", markup=False)
        return
    table = Table()
    for column in ("label", "records", "kinds", "created (UTC)"):
        table.add_column(column)
    for r in rows:
        table.add_row(printable(r.label or ""), str(r.record_count), ", ".join(r.kind_list),
                      r.imported_at.strftime("%Y-%m-%d %H:%M"))
    out.print(table)
