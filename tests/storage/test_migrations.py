"""Schema migrations: a database made by the release before them (commit 23c7443), upgraded by this
code, keeps every row and still finds what it found; commands refuse a database of another version
with one line saying what to run. On SQLite and PostgreSQL.

The old database is built from ``tests/data/schema0`` (made by ``make.py`` with that release): its
schema as that release's SQL, every row it held, its key, a leak and what ``scan`` found in it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import Cli

from leakwatch.sources.state import findings_from_json, findings_to_json
from leakwatch.storage import dbschema, store

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "schema0"
ROWS: dict[str, list[dict[str, object]]] = json.loads((FIXTURE / "rows.json").read_text(encoding="utf-8"))
SERIAL = ("dataset", "incident", "sighting", "outbox", "watch_term")


def _value(column: sa.Column, raw: object) -> object:
    if isinstance(raw, dict):
        return base64.b64decode(str(raw["b64"]))
    if isinstance(raw, str) and isinstance(column.type, sa.DateTime):
        return dt.datetime.fromisoformat(raw).replace(tzinfo=dt.UTC)
    return raw


def make_old_database(url: str) -> sa.Engine:
    """The schema and rows the old release left, written with plain SQL (no code of ours)."""
    engine = sa.create_engine(url)
    ddl = (FIXTURE / f"ddl.{engine.dialect.name}.sql").read_text(encoding="utf-8")
    with engine.begin() as conn:
        for statement in filter(str.strip, ddl.split(";\n")):
            conn.execute(sa.text(statement))
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        for table in meta.sorted_tables:
            rows = [{k: _value(table.c[k], v) for k, v in row.items()} for row in ROWS[table.name]]
            if rows:
                conn.execute(table.insert(), rows)
        if engine.dialect.name == "postgresql":  # as the old release's inserts left its sequences
            for name in SERIAL:
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                     f"(SELECT COALESCE(MAX(id), 1) FROM {name}))"))
    return engine


def table_rows(engine: sa.Engine, name: str, columns: list[str]) -> list[tuple[object, ...]]:
    meta = sa.MetaData()
    table = sa.Table(name, meta, autoload_with=engine)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*(table.c[c] for c in columns)).order_by(*(table.c[c] for c in columns)))
        return [tuple(_normal(v) for v in row) for row in rows]


def _normal(value: object) -> object:
    """Datetimes compared as UTC instants (SQLite hands back naive ones, PostgreSQL aware ones)."""
    if isinstance(value, dt.datetime):
        return store.as_utc(value)
    return value


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def old_home(request: pytest.FixtureRequest, cli: Cli) -> tuple[Cli, sa.Engine]:
    cli.home.mkdir(parents=True)
    os.chmod(cli.home, 0o700)
    key = cli.home / "key"
    key.write_bytes((FIXTURE / "test.key").read_bytes())
    key.chmod(0o600)
    if request.param == "sqlite":
        url = f"sqlite:///{cli.home / 'leakwatch.db'}"
    else:
        url = request.getfixturevalue("pg_url")
        cli.env["LEAKWATCH_DATABASE_URL"] = url
    return cli, make_old_database(url)


def test_an_old_database_is_refused_then_upgraded_keeping_everything(old_home: tuple[Cli, sa.Engine],
                                                                     tmp_path: Path) -> None:
    cli, engine = old_home
    before = {name: table_rows(engine, name, list(rows[0])) for name, rows in ROWS.items() if rows}
    assert set(before) >= {"dataset", "record", "fingerprint_chunk", "incident", "sighting", "incident_ref",
                           "outbox", "source_state", "source_seen_item", "source_content_scan", "watch_term"}

    # Every command but the upgrade refuses it, in one line that says what to run.
    for args in (["incidents", "list"], ["scan", str(FIXTURE / "leak.txt")], ["run", "--once"]):
        refused = cli(*args, check=2)
        assert refused.stderr.count("\n") == 1 and "run: leakwatch db upgrade" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    status = cli("db", "status", "--json", check=1)
    assert json.loads(status.stdout)["revision"] is None and json.loads(status.stdout)["upgrade_needed"]

    upgraded = json.loads(cli("db", "upgrade", "--json", check=0).stdout)
    assert upgraded["from"] is None and upgraded["to"] == dbschema.HEAD
    assert json.loads(cli("db", "upgrade", "--json", check=0).stdout)["changed"] is False  # idempotent

    after = {name: table_rows(engine, name, list(ROWS[name][0])) for name in before}
    assert after == before  # every dataset, record, incident, sighting, outbox row, source state...
    assert table_rows(engine, "incident", ["hosts"]) == [("",)] * len(ROWS["incident"])
    # Revision 0003: the old datasets are under key version 1 with no key check, said out loud
    # ("unchecked": a wrong key would go unnoticed for them until re-imported); no audit entry yet.
    assert table_rows(engine, "dataset", ["key_version", "key_id", "key_check"]) == \
        [(1, None, None)] * len(ROWS["dataset"])
    datasets = [json.loads(line) for line in cli("fingerprints", "list", "--json", check=0).stdout.splitlines()]
    assert [(d["key_version"], d["key"]) for d in datasets] == [(1, "unchecked")] * len(ROWS["dataset"])
    assert table_rows(engine, "audit", ["id"]) == []

    # It still finds what it found, and the incidents made then are listed.
    leak = tmp_path / "leak.txt"
    leak.write_text((FIXTURE / "leak.txt").read_text(encoding="utf-8"), encoding="utf-8")
    scanned = cli("scan", str(leak), "--json", check=1)
    assert "imported before key checks" in scanned.stderr
    found = [json.loads(line) for line in scanned.stdout.splitlines()]
    for doc in found:
        doc["target"] = "leak.txt"
    assert found == json.loads((FIXTURE / "expected.json").read_text(encoding="utf-8"))
    listed = [json.loads(line) for line in cli("incidents", "list", "--json", check=0).stdout.splitlines()]
    assert sorted(i["id"] for i in listed) == sorted(int(str(r["id"])) for r in ROWS["incident"])
    assert all(i["hosts"] == [] for i in listed)
    # A new incident gets a fresh id after the old ones, and the look-alike host the leak names.
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "new.txt").write_text("Fuite Clinique des Lilas chez https://cliniquedes-lilas.fr/x\n", encoding="utf-8")
    (cli.home / "config.toml").write_text(f'[[sources]]\nname = "drop2"\ndriver = "folder"\nenabled = true\n'
                                          f'params = {{ path = "{drop}", min_age = 0 }}\n', encoding="utf-8")
    cli("run", "--once", check=0)
    listed = [json.loads(line) for line in cli("incidents", "list", "--json", check=0).stdout.splitlines()]
    newest = max(listed, key=lambda i: i["id"])
    assert newest["id"] > max(int(str(r["id"])) for r in ROWS["incident"])
    assert newest["hosts"] == ["cliniquedes-lilas[.]fr"]


def test_findings_cached_by_the_old_release_still_load() -> None:
    """``source_content_scan`` rows written before the cache had a format version (no ``hosts``)."""
    for row in ROWS["source_content_scan"]:
        findings = findings_from_json(str(row["findings"]), "https://example.org/x")
        assert findings and all(f.target.startswith("https://example.org/x") for f in findings)
        assert {f.type for f in findings} <= {"record", "term", "canary"}
    # And the current format keeps look-alike hosts, which the old one lost.
    again = findings_from_json(findings_to_json(findings, "t"), "t")
    assert again == [f.__class__(**{**f.__dict__, "target": "t" + f.target[len("https://example.org/x"):]})
                     for f in findings]


def test_a_newer_database_is_refused(cli: Cli) -> None:
    cli("init", check=0)
    engine = sa.create_engine(f"sqlite:///{cli.home / 'leakwatch.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    refused = cli("incidents", "list", check=2)
    assert "newer than this leakwatch" in refused.stderr and refused.stderr.count("\n") == 1
    assert "newer" in cli("db", "upgrade", check=2).stderr


def test_init_makes_an_empty_database_at_the_latest_revision(cli: Cli) -> None:
    out = cli("init", check=0).stdout
    assert f"schema {dbschema.HEAD}, created" in out
    assert f"schema {dbschema.HEAD}, up to date" in cli("init", check=0).stdout
    assert "up to date" in cli("db", "status", check=0).stdout


def test_the_code_head_is_the_scripts_head_and_the_baseline_is_the_old_schema(tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(dbschema.alembic_config())
    assert scripts.get_current_head() == dbschema.HEAD
    assert [s.revision for s in reversed(list(scripts.walk_revisions()))] == list(dbschema.KNOWN)
    # The baseline revision alone gives exactly the old release's SQLite schema.
    engine = store.make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(dbschema.alembic_config(conn), dbschema.BASELINE)
    with engine.connect() as conn:
        ddl = [sql for (sql,) in conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
            "AND name != 'alembic_version' ORDER BY type DESC, name")]
    assert ";\n\n".join(ddl) + ";\n" == (FIXTURE / "ddl.sqlite.sql").read_text(encoding="utf-8")


def test_the_models_match_the_latest_revision(tmp_path: Path) -> None:
    """No table or column in the code that no revision makes (``leakwatch db revision`` writes one)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import leakwatch.storage.tables  # noqa: F401

    engine = store.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    dbschema.upgrade(engine, "m")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_alerts_name_the_look_alike_hosts_of_an_incident() -> None:
    """What revision 0002 keeps reaches the analyst: the alert lists the hosts, defanged."""
    from leakwatch.incidents.alerts import incident_alert
    from leakwatch.incidents.fold import Folded, IncidentRow, SightingRow

    incident = IncidentRow(id=7, severity="low", terms="acme.fr", hosts="acme-login[.]fr,acrne[.]fr")
    sighting = SightingRow(incident_id=7, source="paste", item_key="k", url="https://paste.example/k")
    alert = incident_alert(Folded(incident, sighting, True, None, True), [])
    assert "Look-alike hosts: acme-login[.]fr, acrne[.]fr" in alert.body
    assert "acme-login.fr" not in alert.body
