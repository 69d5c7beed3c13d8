"""The same import and scan against a real PostgreSQL, as several instances sharing the work use it.

Uses LEAKWATCH_TEST_PG_URL, else postgres on 127.0.0.1:5432 (database ``test``); a fresh database
is created for the test and dropped after. Skipped, with the reason, when no server answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SCHEMA, Cli
from synth import Person, leak_csv_semicolon, leak_name_date, to_csv


@pytest.mark.postgres
def test_import_and_scan_on_postgresql(cli: Cli, pg_url: str, crowd: list[Person], tmp_path: Path) -> None:
    cli.env["LEAKWATCH_DATABASE_URL"] = pg_url
    cli("init", check=0)
    src = tmp_path / "patients.csv"
    src.write_text(to_csv(crowd[:100], repeats=0.05, seed=1))  # some patients seen twice
    report = json.loads(cli("fingerprints", "import", str(src), "--schema", str(SCHEMA), "--json", check=0).stdout)
    assert report["duplicates"] > 0 and report["records"] == 100
    # A second instance on the same database sees the dataset: nothing was written to the home.
    assert not (cli.home / "leakwatch.db").exists()
    listing = json.loads(cli("fingerprints", "list", "--json", check=0).stdout)
    assert listing["records"] == 100
    leak = tmp_path / "leak.txt"
    leak.write_text(leak_csv_semicolon(crowd[:3]) + leak_name_date(crowd[3:5]))
    result = cli("scan", str(leak), "--json", check=1)
    records = {r["ref"]: r["confidence"] for line in result.stdout.splitlines() for r in json.loads(line)["records"]}
    assert records == {crowd[0].ipp: "high", crowd[1].ipp: "high", crowd[2].ipp: "high",
                       crowd[3].ipp: "medium", crowd[4].ipp: "medium"}
    # Re-importing replaces the dataset atomically on PostgreSQL too.
    src.write_text(to_csv(crowd[100:110]))
    cli("fingerprints", "import", str(src), "--schema", str(SCHEMA), check=0)
    assert cli("scan", str(leak), "--json", check=0).stdout == ""
