"""Makes this directory's fixture: a database as the release before migrations (commit 23c7443) left
it, to test that ``leakwatch db upgrade`` keeps everything. Run it once with THAT release installed
(``git worktree add /tmp/old 23c7443`` and its own venv); the files it writes are committed:

- ``ddl.sqlite.sql`` / ``ddl.postgresql.sql``: that release's schema (``create_all``), as its SQL;
- ``rows.json``: every row of every table (bytes as base64, times as ISO 8601);
- ``test.key``: the master key of this synthetic home (a test key: it protects 40 synthetic people);
- ``leak.txt`` and ``expected.json``: a document and what ``leakwatch scan --json`` found in it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from synth import leak_csv_semicolon, people, to_csv  # noqa: E402


def main() -> None:
    crowd = people(40, seed=11)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEAKWATCH_")}
        env.update(LEAKWATCH_HOME=str(home), LEAKWATCH_CANARY_DOMAIN="mail.example.org")

        def cli(*args: str) -> str:
            proc = subprocess.run([sys.executable, "-m", "leakwatch", *args], env=env, capture_output=True,
                                  text=True, timeout=300)
            assert proc.returncode in (0, 1), (args, proc.stdout, proc.stderr)
            return proc.stdout

        cli("init")
        csv_path = Path(tmp) / "patients.csv"
        csv_path.write_text(to_csv(crowd), encoding="utf-8")
        cli("fingerprints", "import", str(csv_path), "--schema", str(ROOT / "fingerprints" / "patients.example.toml"))
        cli("terms", "add", "Clinique des Lilas", "--kind", "org")
        cli("terms", "add", "cliniquedeslilas.fr", "--kind", "domain")
        cli("canary", "create", "--label", "crm-2026", "--count", "2")
        drop = Path(tmp) / "drop"
        drop.mkdir()
        (home / "config.toml").write_text(f"""
[alerts]
[[alerts.routes]]
min_severity = "low"
operator = true
urls = ["json://127.0.0.1:9/hook"]

[[sources]]
name = "drop"
driver = "folder"
enabled = true
params = {{ path = "{drop}", min_age = 0 }}
""", encoding="utf-8")
        leak = ("Fuite Clinique des Lilas, voir https://cliniquedes-lilas.fr/dump\n"
                + leak_csv_semicolon(crowd[:6]))
        (drop / "dump.csv").write_text(leak, encoding="utf-8")
        (drop / "again.csv").write_text(leak_csv_semicolon(crowd[3:7]), encoding="utf-8")
        cli("run", "--once")
        (HERE / "leak.txt").write_text(leak, encoding="utf-8")
        found = [json.loads(line) for line in cli("scan", str(drop / "dump.csv"), "--json").splitlines()]
        for doc in found:
            doc["target"] = "leak.txt"
        (HERE / "expected.json").write_text(json.dumps(found, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        (HERE / "test.key").write_bytes((home / "key").read_bytes() if (home / "key").exists()
                                        else next(home.glob("*.key")).read_bytes())
        db = sqlite3.connect(home / "leakwatch.db")
        ddl = [sql for (sql,) in db.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL "
                                               "AND name NOT LIKE 'sqlite_%' ORDER BY type DESC, name")]
        (HERE / "ddl.sqlite.sql").write_text(";\n\n".join(ddl) + ";\n", encoding="utf-8")
        rows: dict[str, list[dict[str, object]]] = {}
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        for table in tables:
            cur = db.execute(f'SELECT * FROM "{table}"')
            names = [d[0] for d in cur.description]
            rows[table] = [{n: _json(v) for n, v in zip(names, row, strict=True)} for row in cur]
        (HERE / "rows.json").write_text(json.dumps(rows, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex, CreateTable
    from sqlmodel import SQLModel

    import leakwatch.storage.tables  # noqa: F401

    dialect = postgresql.dialect()
    statements = []
    for table in SQLModel.metadata.sorted_tables:
        statements.append(str(CreateTable(table).compile(dialect=dialect)).strip())
        statements.extend(str(CreateIndex(ix).compile(dialect=dialect)).strip()
                          for ix in sorted(table.indexes, key=lambda i: i.name or ""))
    (HERE / "ddl.postgresql.sql").write_text(";\n\n".join(statements) + ";\n", encoding="utf-8")


def _json(value: object) -> object:
    if isinstance(value, bytes):
        return {"b64": base64.b64encode(value).decode()}
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


if __name__ == "__main__":
    main()
