"""``leakwatch canary`` and canary findings in ``leakwatch scan``, run as an analyst runs them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import phonenumbers
import pytest
from stdnum import iban as stdnum_iban
from stdnum.fr import nir as stdnum_nir
from synth import grouped_nir, leak_csv_semicolon, people

CANARY_DOMAIN = "canary.example.net"


@pytest.fixture
def planted(cli):  # type: ignore[no-untyped-def]
    """A home with 4 canaries labelled crm-export-2026, and the CSV printed for planting."""
    cli.env["LEAKWATCH_CANARY_DOMAIN"] = CANARY_DOMAIN
    cli("init", check=0)
    result = cli("canary", "create", "--label", "crm-export-2026", "--count", "4", check=0)
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert "crm-export-2026" in result.stderr and "not kept" in result.stderr
    return cli, rows


def scan_json(cli, path: Path, check: int) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    out = cli("scan", str(path), "--json", check=check).stdout
    return [f for line in out.splitlines() for f in json.loads(line)["findings"]]


def test_canaries_look_real(planted) -> None:  # type: ignore[no-untyped-def]
    _, rows = planted
    assert len(rows) == 4
    assert list(rows[0]) == ["ipp", "nir", "email", "phone", "last_name", "first_name", "birth_date", "postcode"]
    for row in rows:
        birth = dt.date.fromisoformat(row["birth_date"])
        assert stdnum_nir.is_valid(row["nir"])
        assert row["nir"][1:5] == f"{birth.year % 100:02d}{birth.month:02d}"  # NIR agrees with the birth date
        assert 18 <= (dt.date.today() - birth).days // 365 <= 91
        assert phonenumbers.is_valid_number(phonenumbers.parse(row["phone"], "FR"))
        assert row["email"].endswith("@" + CANARY_DOMAIN)
        assert re.fullmatch(r"[A-ZÀ-Ÿ][\w' -]+", row["last_name"]) and row["first_name"]
        assert re.fullmatch(r"\d{5}", row["postcode"]) and re.fullmatch(r"\d{10}", row["ipp"])
    assert len({r["nir"] for r in rows}) == 4


def test_plaintext_is_not_kept(planted) -> None:  # type: ignore[no-untyped-def]
    cli, rows = planted
    stored = b"".join(p.read_bytes() for p in cli.home.rglob("*") if p.is_file())
    for row in rows:
        for column in ("ipp", "nir", "email", "phone"):
            value = row[column]
            assert value.encode() not in stored and value.replace(" ", "").encode() not in stored, column
    listed = [json.loads(line) for line in cli("canary", "list", "--json", check=0).stdout.splitlines()]
    assert [(c["label"], c["records"]) for c in listed] == [("crm-export-2026", 4)]
    assert dt.datetime.fromisoformat(str(listed[0]["created_at"])).date() == dt.datetime.now(dt.UTC).date()
    assert "crm-export-2026" in cli("canary", "list", check=0).stdout


def test_a_canary_in_a_dump_of_strangers_is_found_with_its_label(planted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli, rows = planted
    strangers = people(200, seed=41)
    dump = leak_csv_semicolon(strangers).splitlines()
    c = rows[2]
    dump.insert(120, ";".join([c["last_name"].upper(), c["first_name"].upper(), c["birth_date"],
                               grouped_nir(c["nir"]), c["phone"], c["email"].upper()]))
    path = tmp_path / "dump.csv"
    path.write_text("\n".join(dump) + "\n", encoding="utf-8")
    found = scan_json(cli, path, check=1)
    assert [(f["type"], f["label"], f["ref"], f["severity"]) for f in found] == [
        ("canary", "crm-export-2026", "crm-export-2026#3", "critical")]
    assert {"nir", "email", "phone"} <= set(found[0]["fields"])  # type: ignore[arg-type]
    table = cli("scan", str(path), check=1).stdout
    assert "canary" in table and "label crm-export-2026" in table and "critical" in table


def test_a_single_identifier_is_enough(planted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli, rows = planted
    only_email = tmp_path / "combo.txt"
    only_email.write_text(f"{rows[0]['email']}:hunter2\nsomeone@else.example:pass\n", encoding="utf-8")
    only_nir = tmp_path / "nir.txt"
    only_nir.write_text(f"ref 8812 secu {grouped_nir(rows[1]['nir'])} ok\n", encoding="utf-8")
    assert [(f["type"], f["ref"], f["fields"]) for f in scan_json(cli, only_email, check=1)] == [
        ("canary", "crm-export-2026#1", ["email"])]
    assert [(f["type"], f["ref"], f["fields"]) for f in scan_json(cli, only_nir, check=1)] == [
        ("canary", "crm-export-2026#2", ["nir"])]


def _other_digit(digits: str, i: int) -> str:
    return digits[:i] + str((int(digits[i]) + 1) % 10) + digits[i + 1 :]


def test_a_canary_with_one_digit_changed_is_not_found(planted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli, rows = planted
    c = rows[3]
    body = _other_digit(c["nir"][:13], 10)
    nir = body + stdnum_nir.calc_check_digits(body)  # still a valid NIR: it is looked up, and misses
    phone = _other_digit(c["phone"].replace(" ", ""), 6)
    local, domain = c["email"].split("@")
    email = f"{local}{7 if not local.endswith('7') else 8}@{domain}"
    path = tmp_path / "near.txt"
    path.write_text(f"{nir};{phone};{email}\n", encoding="utf-8")
    assert scan_json(cli, path, check=0) == []


def test_custom_schema(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("init", check=0)
    schema = tmp_path / "payroll.toml"
    schema.write_text('name = "payroll"\nref = "emp"\n[fields]\nemp = "text_id"\niban = "iban"\n'
                      'card = "card"\nnom = "last_name"\nville = "city"\n', encoding="utf-8")
    out = cli("canary", "create", "--label", "payroll-q1", "--count", "2", "--schema", str(schema), check=0).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [list(r) for r in rows] == [["emp", "iban", "card", "nom", "ville"]] * 2
    assert all(stdnum_iban.is_valid(r["iban"]) for r in rows)
    path = tmp_path / "leak.txt"
    path.write_text(f"virement vers {rows[1]['iban']}\n", encoding="utf-8")
    assert [(f["label"], f["ref"]) for f in scan_json(cli, path, check=1)] == [("payroll-q1", "payroll-q1#2")]


def test_bad_input_is_one_line_and_exit_2(planted) -> None:  # type: ignore[no-untyped-def]
    cli, _ = planted
    for args in (["--label", "Bad Label!"], ["--label", "ok", "--count", "0"],
                 ["--label", "ok", "--schema", "/nonexistent/schema.toml"],
                 ["--label", "crm-export-2026"]):  # exists already: planted canaries are never replaced
        result = cli("canary", "create", *args, check=2)
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("leakwatch: error: "), args
    assert "crm-export-2026" in cli("canary", "list", check=0).stdout


def test_count_help_states_the_real_limit(cli) -> None:  # type: ignore[no-untyped-def]
    """The CLI copies canary.MAX_COUNT for its help text (building the CLI imports no database code)."""
    from leakwatch.cli import canary as canary_cli
    from leakwatch.datasets import canary

    assert canary_cli.MAX_COUNT == canary.MAX_COUNT
    cli("init", check=0)
    cli("canary", "create", "--label", "x", "--count", str(canary.MAX_COUNT + 1), check=2)
