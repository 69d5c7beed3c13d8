"""The same import and scan against a real PostgreSQL, as several instances sharing the work use it.

Uses LEAKWATCH_TEST_PG_URL, else postgres on 127.0.0.1:5432 (database ``test``); a fresh database
is created for the test and dropped after. Skipped, with the reason, when no server answers.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SCHEMA, Cli
from synth import Person, leak_csv_semicolon, leak_name_date, to_csv

psycopg = pytest.importorskip("psycopg")

ADMIN_URL = os.environ.get("LEAKWATCH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def pg_url() -> Iterator[str]:
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {ADMIN_URL.split('@')[-1]}: {exc.__class__.__name__}")
    name = f"leakwatch_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.mark.postgres
def test_import_and_scan_on_postgresql(cli: Cli, pg_url: str, crowd: list[Person], tmp_path: Path) -> None:
    cli.env["LEAKWATCH_DATABASE_URL"] = pg_url
    cli("init", check=0)
    src = tmp_path / "patients.csv"
    src.write_text(to_csv(crowd[:100]))
    cli("fingerprints", "import", str(src), "--schema", str(SCHEMA), check=0)
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
