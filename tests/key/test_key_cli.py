"""The key as an operator meets it, through the CLI: a wrong key is refused with exit 2 and says
why; rotation keeps old datasets found until they are re-imported; retirement waits for them; the
audit trail names who did what, with counts and never a value."""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
from pathlib import Path

import pytest
from conftest import SCHEMA, Cli
from synth import Person, leak_csv_semicolon, to_csv
from synth import secrets as person_secrets

ERROR = re.compile(r"^leakwatch: error: wrong key: (?P<path>\S+) \((?P<origin>[^)]+)\) holds .*"
                   r"key id (?P<expected>[0-9a-f]{12}); point LEAKWATCH_KEY_FILE, or the systemd credential "
                   r"leakwatch-key, at the right key")


def other_key(tmp_path: Path) -> Path:
    """A stranger's key: 32 random bytes, mode 0600, as a wrong LEAKWATCH_KEY_FILE or a restored backup."""
    path = tmp_path / "other.key"
    path.write_bytes(secrets.token_bytes(32))
    path.chmod(0o600)
    return path


def key_id(cli: Cli, **env: str) -> str:
    saved = dict(cli.env)
    cli.env.update(env)
    try:
        return next(v["key_id"] for v in json.loads(cli("key", "show", "--json", check=0).stdout)["versions"]
                    if v["current"])
    finally:
        cli.env.clear()
        cli.env.update(saved)


def refs_found(cli: Cli, leak: Path) -> set[str]:
    res = cli("scan", str(leak), "--json", check=1)
    return {r["ref"] for line in res.stdout.splitlines() for r in json.loads(line)["records"]}


def datasets(cli: Cli) -> dict[str, dict]:
    lines = cli("fingerprints", "list", "--json", check=0).stdout.splitlines()
    return {d["dataset"]: d for d in map(json.loads, lines)}


@pytest.fixture
def leak(tmp_path: Path, crowd: list[Person]) -> Path:
    path = tmp_path / "dump.csv"
    path.write_text(leak_csv_semicolon(crowd[:5]), encoding="utf-8")
    return path


def test_a_scan_with_another_key_exits_2_and_says_which_key_and_how_to_fix_it(
        imported: Cli, tmp_path: Path, leak: Path, crowd: list[Person]) -> None:
    cli = imported
    right = key_id(cli)
    wrong = other_key(tmp_path)
    cli.env["LEAKWATCH_KEY_FILE"] = str(wrong)
    read = key_id(cli)
    assert read != right
    res = cli("scan", str(leak), check=2)
    assert res.stdout == ""
    lines = res.stderr.splitlines()
    assert len(lines) == 1, lines
    m = ERROR.match(lines[0])
    assert m, lines[0]
    assert m["path"] == str(wrong) and m["origin"] == "LEAKWATCH_KEY_FILE" and m["expected"] == right
    assert f"holds key id {read} as version 1" in lines[0] and "dataset 'patients'" in lines[0]
    assert "Traceback" not in res.stderr
    # Pointing back at the right key, the same dump is found.
    del cli.env["LEAKWATCH_KEY_FILE"]
    assert refs_found(cli, leak) == {p.ipp for p in crowd[:5]}


def test_run_doctor_import_and_canary_refuse_another_key(imported: Cli, tmp_path: Path, crowd: list[Person]) -> None:
    cli = imported
    before = datasets(cli)["patients"]
    cli.env["LEAKWATCH_KEY_FILE"] = str(other_key(tmp_path))
    doctor = cli("doctor", check=2)
    key_line = next(line for line in doctor.stdout.splitlines() if line.split()[1] == "key")
    assert key_line.startswith("FAIL") and "wrong key" in key_line
    assert ERROR.match(doctor.stderr.strip()), doctor.stderr
    src = tmp_path / "patients.csv"
    src.write_text(to_csv(crowd[:20]), encoding="utf-8")
    res = cli("fingerprints", "import", str(src), "--schema", str(SCHEMA), check=2)
    assert ERROR.match(res.stderr.strip()), res.stderr
    assert cli("run", "--once", check=2).stderr.strip().startswith("leakwatch: error: wrong key:")
    assert cli("canary", "create", "--label", "x1", check=2).stdout == ""  # no canary printed, none stored
    # Nothing was replaced or added: the dataset is the one imported with the right key.
    listed = datasets(cli)
    assert set(listed) == {"patients"}
    assert listed["patients"]["records"] == before["records"] == len(crowd)
    assert listed["patients"]["imported_at"] == before["imported_at"]
    assert listed["patients"]["key"] == "WRONG KEY"


def test_a_keyring_missing_the_version_a_dataset_was_made_under_is_refused(
        imported: Cli, tmp_path: Path, leak: Path, crowd: list[Person]) -> None:
    """A backup of the key file taken before a rotation lacks the new version."""
    cli = imported
    backup = tmp_path / "key.backup"
    backup.write_bytes((cli.home / "key").read_bytes())
    backup.chmod(0o600)
    cli("key", "rotate", check=0)
    src = tmp_path / "patients.csv"
    src.write_text(to_csv(crowd), encoding="utf-8")
    cli("fingerprints", "import", str(src), "--schema", str(SCHEMA), check=0)
    cli.env["LEAKWATCH_KEY_FILE"] = str(backup)
    res = cli("scan", str(leak), check=2)
    assert "has no key version 2" in res.stderr or "holds no key version 2" in res.stderr, res.stderr
    assert len(res.stderr.splitlines()) == 1


def test_rotate_keeps_old_datasets_found_until_reimported_then_retire(
        imported: Cli, tmp_path: Path, leak: Path, crowd: list[Person]) -> None:
    cli = imported
    v1 = key_id(cli)
    res = cli("key", "rotate", check=0)
    assert "key version 2" in res.stdout and "patients: version 1" in res.stdout
    assert "leakwatch key retire 1" in res.stdout
    key_file = cli.home / "key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not [p for p in key_file.parent.iterdir() if p.name.startswith(".key.")]  # no temporary left
    v2 = key_id(cli)
    assert v2 != v1
    # The dataset made under version 1 is still found; the list says its version.
    assert datasets(cli)["patients"]["key_version"] == 1
    assert refs_found(cli, leak) == {p.ipp for p in crowd[:5]}
    # A new dataset goes under version 2; both are found in one scan.
    staff = tmp_path / "staff.csv"
    staff.write_text(to_csv(crowd[:3]), encoding="utf-8")
    staff_schema = tmp_path / "staff.toml"
    staff_schema.write_text(SCHEMA.read_text().replace('name = "patients"', 'name = "staff"'))
    cli("fingerprints", "import", str(staff), "--schema", str(staff_schema), check=0)
    listed = datasets(cli)
    assert (listed["staff"]["key_version"], listed["staff"]["key_id"]) == (2, v2)
    assert (listed["patients"]["key_version"], listed["patients"]["key_id"]) == (1, v1)
    res = cli("scan", str(leak), "--json", check=1)
    hits = {(r["dataset"], r["ref"]) for line in res.stdout.splitlines() for r in json.loads(line)["records"]}
    assert {("patients", p.ipp) for p in crowd[:5]} | {("staff", p.ipp) for p in crowd[:3]} == hits
    # Version 1 cannot be retired while patients uses it; version 2 never while current.
    res = cli("key", "retire", "1", check=2)
    assert res.stderr.strip() == ("leakwatch: error: key version 1 is still used by 1 dataset(s): 'patients'; "
                                  "re-import them under the current version first (leakwatch fingerprints import)")
    assert "is the current one" in cli("key", "retire", "2", check=2).stderr
    assert "has no key version 7" in cli("key", "retire", "7", check=2).stderr
    # Re-import the export; then version 1 goes, and everything is still found.
    src = tmp_path / "patients.csv"
    src.write_text(to_csv(crowd), encoding="utf-8")
    cli("fingerprints", "import", str(src), "--schema", str(SCHEMA), check=0)
    assert datasets(cli)["patients"]["key_version"] == 2
    cli("key", "retire", "1", check=0)
    shown = json.loads(cli("key", "show", "--json", check=0).stdout)
    assert [(v["version"], v["key_id"]) for v in shown["versions"]] == [(2, v2)]
    assert refs_found(cli, leak) == {p.ipp for p in crowd[:5]}
    assert cli("doctor", "--json").returncode in (0, 1)  # sources and routes aside, the key is fine
    doctor = [json.loads(x) for x in cli("doctor", "--json").stdout.splitlines()]
    assert next(d for d in doctor if d["check"] == "key")["ok"]


def test_the_database_holds_the_key_check_never_the_key(imported: Cli) -> None:
    cli = imported
    cli("key", "rotate", check=0)
    text = (cli.home / "key").read_text()
    assert text.startswith("leakwatch-keyring 1\n")
    secrets_hex = [line.split()[1] for line in text.splitlines()[1:] if line and not line.startswith("#")]
    assert len(secrets_hex) == 2
    db = b"".join(p.read_bytes() for p in cli.home.glob("leakwatch.db*"))
    for hexkey in secrets_hex:
        assert bytes.fromhex(hexkey) not in db and hexkey.encode() not in db
    # The legacy form (32 raw bytes, as leakwatch init and `head -c 32 /dev/urandom` write) is version 1 of it.
    assert key_id(cli, LEAKWATCH_KEY_FILE=str(_raw(cli.home, bytes.fromhex(secrets_hex[0])))) == \
        json.loads(cli("key", "show", "--json", check=0).stdout)["versions"][0]["key_id"]


def _raw(home: Path, secret: bytes) -> Path:
    path = home.parent / "raw.key"
    path.write_bytes(secret)
    path.chmod(0o600)
    return path


def test_a_systemd_credential_is_read_only_rotate_says_which_file_to_change(imported: Cli, tmp_path: Path) -> None:
    cli = imported
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "leakwatch-key").write_bytes((cli.home / "key").read_bytes())
    (creds / "leakwatch-key").chmod(0o400)
    cli.env["CREDENTIALS_DIRECTORY"] = str(creds)
    shown = json.loads(cli("key", "show", "--json", check=0).stdout)
    assert shown["source"] == "systemd credential leakwatch-key"
    res = cli("key", "rotate", check=2)
    assert "read-only copy made by systemd" in res.stderr and "LEAKWATCH_KEY_FILE=" in res.stderr
    assert len(res.stderr.splitlines()) == 1
    # A different key as the credential: the error names the credential.
    (creds / "leakwatch-key").chmod(0o600)
    (creds / "leakwatch-key").write_bytes(secrets.token_bytes(32))
    res = cli("fingerprints", "list", "--json", check=0)
    assert json.loads(res.stdout)["key"] == "WRONG KEY"
    err = cli("scan", "-", input=b"nothing", check=2).stderr
    assert f"{creds / 'leakwatch-key'} (systemd credential leakwatch-key)" in err


def test_a_malformed_keyring_is_one_line_with_its_line_number_and_no_key(cli: Cli) -> None:
    cli("init", check=0)
    key = cli.home / "key"
    secret = secrets.token_hex(32)
    key.write_text(f"leakwatch-keyring 1\n1 {secret} -\n2 {secret[:-2]}zz -\n")
    res = cli("scan", "-", input=b"x", check=2)
    assert res.stderr.strip() == f"leakwatch: error: {key}:3: expected VERSION HEX_KEY (64 hex digits) [CREATED]"
    key.write_text(f"leakwatch-keyring 1\n1 {secret} -\n1 {secret} -\n")
    assert f"{key}:3: key version 1 is repeated" in cli("scan", "-", input=b"x", check=2).stderr
    key.write_bytes(os.urandom(31))
    assert "must hold 32 bytes or be a leakwatch keyring, found 31" in cli("doctor", "--json").stdout


def test_audit_lists_who_did_what_with_counts_and_never_a_value(
        imported: Cli, tmp_path: Path, crowd: list[Person]) -> None:
    cli = imported
    cli("terms", "add", "Hôpital Saint-Exupéry", "--kind", "org", check=0)
    cli("terms", "remove", "Hôpital Saint-Exupéry", check=0)
    planted = cli("canary", "create", "--label", "crm-2026", "--count", "2", check=0).stdout
    cli("fingerprints", "delete", "canary-crm-2026", check=0)
    cli("key", "rotate", check=0)
    src = tmp_path / "patients.csv"
    src.write_text(to_csv(crowd[:50]), encoding="utf-8")
    cli("fingerprints", "import", str(src), "--schema", str(SCHEMA), check=0)
    cli("key", "retire", "1", check=0)
    wrong = other_key(tmp_path)
    cli.env["LEAKWATCH_KEY_FILE"] = str(wrong)
    cli("scan", "-", input=b"x", check=2)
    cli("doctor", check=2)  # the same refusal again within the hour: one audit entry
    del cli.env["LEAKWATCH_KEY_FILE"]

    entries = [json.loads(x) for x in cli("audit", "--json", check=0).stdout.splitlines()]
    assert [e["action"] for e in entries] == [
        "key_create", "import", "term_add", "term_remove", "canary_create", "delete", "key_rotate", "import",
        "key_retire", "key_refused"]
    import pwd
    import socket
    me = pwd.getpwuid(os.getuid()).pw_name
    for e in entries:
        assert e["uid"] == os.getuid() and e["user"].startswith(me) and e["host"] == socket.gethostname()
        assert e["at"].endswith("+00:00")
    first, reimport = entries[1], entries[7]
    assert (first["dataset"], first["key_version"], first["details"]["records"]) == ("patients", 1, len(crowd))
    assert (reimport["key_version"], reimport["details"]["records"], reimport["details"]["replaced"]) == (2, 50, True)
    assert entries[4]["dataset"] == "canary-crm-2026" and entries[4]["details"]["records"] == 2
    assert entries[2]["details"] == {"kind": "org", "term_id": 1}
    assert entries[9]["details"]["read_key_id"] == key_id(cli, LEAKWATCH_KEY_FILE=str(wrong))

    table = cli("audit", check=0).stdout
    assert len(table.splitlines()) == len(entries)
    assert "import" in table and "dataset=patients" in table and "records=50" in table
    everything = table + json.dumps(entries, ensure_ascii=False)
    values = {v for p in crowd for v in person_secrets(p) | {p.last_name, p.first_name}}
    values |= {cell for line in planted.splitlines()[1:] for cell in line.split(",") if len(cell) > 3}
    values |= {"Hôpital", "Saint-Exupéry", "Exup"}
    values |= {line.split()[1] for line in (cli.home / "key").read_text().splitlines()[1:]
               if line and not line.startswith("#")}
    leaked = [v for v in values if v and v in everything]
    assert not leaked, leaked[:3]
    assert [e["action"] for e in map(json.loads, cli("audit", "--json", "--action", "import").stdout.splitlines())] \
        == ["import", "import"]
    assert cli("audit", "--action", "nope", check=2).stderr.startswith("leakwatch: error: --action must be one of")


def test_a_dataset_imported_before_key_checks_is_said_out_loud_until_reimported(
        imported: Cli, tmp_path: Path, leak: Path, crowd: list[Person]) -> None:
    """A database from before key checks: its datasets have no check (as a migration leaves them)."""
    import sqlite3

    cli = imported
    with sqlite3.connect(cli.home / "leakwatch.db") as db:
        db.execute("UPDATE dataset SET key_check = NULL, key_id = NULL")
    res = cli("scan", str(leak), check=1)  # still scanned, with the right key...
    assert "leakwatch: note: dataset(s) 'patients' imported before key checks" in res.stderr
    doctor = cli("doctor")
    assert doctor.returncode == 1
    assert any(line.startswith("FAIL  key") and "re-import them" in line for line in doctor.stdout.splitlines())
    assert datasets(cli)["patients"]["key"] == "unchecked"
    src = tmp_path / "patients.csv"
    src.write_text(to_csv(crowd), encoding="utf-8")
    cli("fingerprints", "import", str(src), "--schema", str(SCHEMA), check=0)
    assert "imported before key checks" not in cli("scan", str(leak), check=1).stderr
    assert datasets(cli)["patients"]["key"] == "ok"
