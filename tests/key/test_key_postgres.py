"""Key versions, the key check and the audit trail on a real PostgreSQL, as instances sharing one
database use them: a second instance with another key is refused, rotation keeps the old dataset
found."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from conftest import SCHEMA, Cli
from synth import Person, leak_csv_semicolon, to_csv


@pytest.mark.postgres
def test_key_check_rotation_and_audit_on_postgresql(cli: Cli, pg_url: str, crowd: list[Person],
                                                    tmp_path: Path) -> None:
    cli.env["LEAKWATCH_DATABASE_URL"] = pg_url
    cli("init", check=0)
    src = tmp_path / "patients.csv"
    src.write_text(to_csv(crowd[:60]), encoding="utf-8")
    cli("fingerprints", "import", str(src), "--schema", str(SCHEMA), check=0)
    leak = tmp_path / "leak.txt"
    leak.write_text(leak_csv_semicolon(crowd[:2]), encoding="utf-8")

    # Another instance, same database, another key: refused.
    other = tmp_path / "other.key"
    other.write_bytes(secrets.token_bytes(32))
    other.chmod(0o600)
    cli.env["LEAKWATCH_KEY_FILE"] = str(other)
    res = cli("scan", str(leak), check=2)
    assert res.stderr.startswith(f"leakwatch: error: wrong key: {other} (LEAKWATCH_KEY_FILE)")
    del cli.env["LEAKWATCH_KEY_FILE"]

    cli("key", "rotate", check=0)
    found = cli("scan", str(leak), "--json", check=1)
    assert {r["ref"] for line in found.stdout.splitlines() for r in json.loads(line)["records"]} == \
        {crowd[0].ipp, crowd[1].ipp}
    assert cli("key", "retire", "1", check=2).stderr.count("'patients'") == 1
    cli("fingerprints", "import", str(src), "--schema", str(SCHEMA), check=0)
    assert json.loads(cli("fingerprints", "list", "--json", check=0).stdout)["key_version"] == 2
    cli("key", "retire", "1", check=0)
    assert cli("scan", str(leak), "--json", check=1).stdout
    actions = [json.loads(x)["action"] for x in cli("audit", "--json", check=0).stdout.splitlines()]
    assert actions == ["key_create", "import", "key_refused", "key_rotate", "import", "key_retire"]
