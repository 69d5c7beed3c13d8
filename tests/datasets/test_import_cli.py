"""Importing a real, dirty export through the CLI: bad fields cost only themselves, refs are checked,
and French numbering (overseas mobiles, unallocated ranges, NIA, keyless NIR) is taken as written."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from conftest import SCHEMA, Cli
from synth import FIELDS, OVERSEAS_MOBILE, Person, complete, people, secrets, to_csv, usable_phone


def import_json(cli: Cli, path: Path, *args: str, check: int = 0) -> dict:
    result = cli("fingerprints", "import", str(path), "--schema", str(SCHEMA), "--json", *args, check=check)
    return json.loads(result.stdout)


def column(report: dict, name: str) -> dict:
    return next(c for c in report["columns"] if c["column"] == name)


def scan(cli: Cli, path: Path) -> dict[str, str]:
    result = cli("scan", str(path), "--json")
    assert result.returncode in (0, 1), result.stderr
    return {r["ref"]: r["confidence"] for line in result.stdout.splitlines() if line.strip()
            for r in json.loads(line)["records"]}


def write_csv(path: Path, rows: list[list[str]], header: list[str] = FIELDS) -> Path:
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


def test_a_dirty_export_imports_every_person_with_a_report(cli: Cli, tmp_path: Path) -> None:
    cli("init", check=0)
    crowd = people(600, seed=21)
    text = to_csv(crowd, repeats=0.03, seed=21)
    repeated = len(text.splitlines()) - 1 - len(crowd)
    assert repeated > 5
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    result = cli("fingerprints", "import", str(path), "--schema", str(SCHEMA), "--json", check=0)
    report = json.loads(result.stdout)
    # Every patient is kept (each has an e-mail at least): one record per distinct ref.
    assert report["records"] == len({p.ipp for p in crowd}) == len(crowd)
    assert report["rows"] == len(crowd) + repeated and report["duplicates"] == repeated
    assert report["skipped"] == 0
    # Overseas, unallocated and placeholder phones are not dropped; typos (digits missing) are.
    written = [dict(zip(FIELDS, r, strict=True)) for r in csv.reader(io.StringIO(text))][1:]
    typos = [r for r in written if r["phone"].isdigit() and len(r["phone"]) < 10 and set(r["phone"]) != {"0"}]
    phone = column(report, "phone")
    assert phone["dropped"] == len(typos) > 0
    assert all(r["reason"].startswith("phone: ") for r in phone["reasons"])
    assert phone["values"] + phone["missing"] == report["rows"]
    wrong_keys = [r for r in written if r["nir"].isdigit() and len(r["nir"]) == 15 and set(r["nir"]) != {"0"}
                  and r["nir"][13:] != _key(r["nir"][:13])]
    assert column(report, "nir")["dropped"] == len(wrong_keys) > 0
    assert column(report, "birth_date")["dropped"] == 0  # every spelling of a date is read
    assert column(report, "last_name")["dropped"] == 0 and column(report, "first_name")["dropped"] == 0
    # The report names lines, never a value.
    dropped_lines = {line for r in phone["reasons"] for line in r["first_lines"]}
    assert dropped_lines <= {i + 2 for i, r in enumerate(written) if r in typos}
    human = cli("fingerprints", "import", str(path), "--schema", str(SCHEMA), check=0)
    for p in crowd:
        for value in secrets(p) | {p.phone} - {""}:
            if len(value) >= 6:
                assert value not in result.stdout + result.stderr + human.stdout + human.stderr
    assert f"{repeated} repeated row(s) merged" in human.stdout
    assert "column 'phone': dropped" in human.stderr


def _key(body: str) -> str:
    from stdnum.fr import nir

    return nir.calc_check_digits(body)


def test_rows_without_ref_or_anything_usable_are_skipped_and_said(cli: Cli, tmp_path: Path) -> None:
    cli("init", check=0)
    ok = complete(people(30, seed=22))[:3]
    rows = [p.row for p in ok]
    rows.insert(1, ["", ok[0].nir[:-1] + "9", "x@example.org", "", "", "", "", ""])          # line 3: no ref
    rows.insert(3, ["IPP-NOTHING", "N/A", "", "inconnu", "Martin", "", "NULL", "75012"])     # line 5
    path = write_csv(tmp_path / "export.csv", rows)
    report = import_json(cli, path)
    assert report["records"] == 3 and report["skipped"] == 2
    reasons = {r["reason"]: r["first_lines"] for r in report["skipped_rows"]}
    assert reasons == {"no ref (column 'ipp' is empty)": [3],
                       "nothing usable: no valid identifier, and not last name + first name + date": [5]}
    # Placeholders are missing values, not bad ones.
    assert report["dropped"] == 0
    assert column(report, "phone")["missing"] == 1 and column(report, "nir")["missing"] == 1  # rows with a ref


def test_a_column_of_the_wrong_kind_stops_the_import_unless_confirmed(cli: Cli, tmp_path: Path) -> None:
    cli("init", check=0)
    crowd = people(40, seed=23)
    header = ["ipp", "nir", "email", "postcode", "last_name", "first_name", "birth_date", "phone"]  # swapped
    path = write_csv(tmp_path / "export.csv", [p.row for p in crowd], header)
    result = cli("fingerprints", "import", str(path), "--schema", str(SCHEMA), check=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "column 'phone'" in lines[0] and "--accept-column phone" in lines[0]
    assert "Traceback" not in result.stderr
    assert cli("fingerprints", "list", "--json", check=0).stdout == ""
    report = import_json(cli, path, "--accept-column", "phone")
    assert report["records"] == len(crowd) and column(report, "phone")["dropped"] > 20
    result = cli("fingerprints", "import", str(path), "--schema", str(SCHEMA), "--accept-column", "tel", check=2)
    assert "'tel' is not a column of the schema" in result.stderr


def test_one_ref_on_rows_that_differ_is_an_error_naming_the_lines(cli: Cli, tmp_path: Path) -> None:
    cli("init", check=0)
    a, b, c = complete(people(30, seed=24))[:3]
    rows = [a.row, b.row, c.row, [b.ipp, *c.row[1:]]]  # line 5: b's ref on c's person
    path = write_csv(tmp_path / "export.csv", rows)
    result = cli("fingerprints", "import", str(path), "--schema", str(SCHEMA), check=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "lines 3 and 5" in lines[0] and "column 'ipp'" in lines[0]
    for value in secrets(b) | secrets(c) | {b.ipp, c.last_name}:
        assert value not in result.stderr
    assert cli("fingerprints", "list", "--json", check=0).stdout == ""  # nothing imported
    # The same row twice is one record, even under --strict.
    write_csv(path, [a.row, b.row, c.row, b.row])
    report = import_json(cli, path, "--strict")
    assert report["records"] == 3 and report["duplicates"] == 1 and report["duplicate_lines"] == [5]


def test_an_identifier_as_ref_and_a_name_on_two_lines_are_refused(cli: Cli, tmp_path: Path) -> None:
    cli("init", check=0)
    path = write_csv(tmp_path / "export.csv", [p.row for p in people(3, seed=25)])
    nir_ref = tmp_path / "nir_ref.toml"
    nir_ref.write_text('name = "p"\nref = "nir"\n[fields]\nnir = "nir"\nlast_name = "last_name"\n')
    result = cli("fingerprints", "import", str(path), "--schema", str(nir_ref), check=2)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "ref column 'nir' is of kind 'nir'" in result.stderr
    two_lines = tmp_path / "two_lines.toml"
    two_lines.write_text('name = "p2\\n"\nref = "ipp"\n[fields]\nnir = "nir"\n')
    result = cli("fingerprints", "import", str(path), "--schema", str(two_lines), check=2)
    assert len(result.stderr.strip().splitlines()) == 1 and "dataset name" in result.stderr
    assert cli("fingerprints", "list", "--json", check=0).stdout == ""


def test_a_csv_without_header_row_never_prints_its_first_record(cli: Cli, tmp_path: Path) -> None:
    cli("init", check=0)
    crowd = complete(people(20, seed=26))[:5]
    path = tmp_path / "no_header.csv"
    path.write_text("".join(",".join(p.row) + "\n" for p in crowd), encoding="utf-8")
    result = cli("fingerprints", "import", str(path), "--schema", str(SCHEMA), check=2)
    assert "header row" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    first = crowd[0]
    for value in (*first.row, first.phone[1:], first.nir[:13]):
        assert value not in result.stderr, "a value of the first record was printed"


def _overseas_person(seed: int) -> Person:
    p = next(p for p in people(400, seed=seed) if p.phone[:4] in OVERSEAS_MOBILE and usable_phone(p))
    return p


def test_a_person_known_by_an_overseas_mobile_is_found_high_in_every_spelling(cli: Cli, tmp_path: Path) -> None:
    cli("init", check=0)
    p = _overseas_person(27)
    others = complete(people(50, seed=28))[:10]
    # Their export has no NIR and no e-mail: the mobile is their only identifier.
    mine = [p.ipp, "", "", p.phone, p.last_name, p.first_name, p.birth_written, p.postcode]
    path = write_csv(tmp_path / "export.csv", [mine, *(o.row for o in others)])
    assert import_json(cli, path)["records"] == 11
    cc = OVERSEAS_MOBILE[p.phone[:4]]
    n = p.phone[1:]  # 692123456
    spellings = [
        f"{p.phone[:4]} {p.phone[4:6]} {p.phone[6:8]} {p.phone[8:]}",   # 0692 12 34 56
        f"+{cc} {n[:3]} {n[3:5]} {n[5:7]} {n[7:]}",                      # +262 692 12 34 56
        f"00{cc}{n}",                                                    # 00262692123456
        f"+33 {n[0]} {n[1:3]} {n[3:5]} {n[5:7]} {n[7:]}",                # +33 6 92 ...: the common mistake
        p.phone,
    ]
    for i, spelling in enumerate(spellings):
        leak = tmp_path / f"leak{i}.txt"
        leak.write_text(f"Patient: {p.first_name} {p.last_name.upper()}, mobile {spelling}, RDV demain.\n",
                        encoding="utf-8")
        assert scan(cli, leak) == {p.ipp: "high"}, spelling


def test_unallocated_numbers_keyless_nirs_and_nias_match_as_written(cli: Cli, tmp_path: Path) -> None:
    cli("init", check=0)
    a, b, c = complete(people(30, seed=29))[:3]
    from stdnum.fr import nir as stdnum_nir

    nia = "7" + a.nir[1:13]
    nia += stdnum_nir.calc_check_digits(nia)
    rows = [[a.ipp, nia, "", "0701234567", a.last_name, a.first_name, a.birth_written, a.postcode],  # NIA
            [b.ipp, b.nir[:13], "", "", b.last_name, b.first_name, b.birth_written, b.postcode],    # no key
            c.row]
    path = write_csv(tmp_path / "export.csv", rows)
    report = import_json(cli, path)
    assert report["records"] == 3 and report["dropped"] == 0
    leak = tmp_path / "leak.txt"
    leak.write_text(f"{a.last_name} {a.first_name} tel. 07 01 23 45 67\n\n"
                    f"{b.first_name} {b.last_name} NIR {b.nir[0]} {b.nir[1:3]} {b.nir[3:5]} {b.nir[5:7]} "
                    f"{b.nir[7:10]} {b.nir[10:13]} {b.nir[13:]}\n\nassuré {nia}\n", encoding="utf-8")
    assert scan(cli, leak) == {a.ipp: "high", b.ipp: "high"}


def test_a_name_that_is_also_a_placeholder_word_is_kept_in_a_name_column(cli: Cli, tmp_path: Path) -> None:
    """"Sans" means "without" and is a French surname; "Na" is a Korean one and "Nil" a Catalan first
    name: in a name's column they are the names, and the person is found by names and birth date.
    "NULL" and "inconnu" there are still missing (a name that says none)."""
    cli("init", check=0)
    a, b, c, d = complete(people(40, seed=31))[:4]
    rows = [[a.ipp, "", "", "", "Sans", "Luc", "14/11/1999", a.postcode],
            [b.ipp, "", "", "", "NA", "Mi-rae", "1984-02-29", b.postcode],
            [c.ipp, "", "", "", "Puig", "Nil", "03/07/2001", c.postcode],
            [d.ipp, d.nir, "", "", "NULL", "inconnu", d.birth_written, d.postcode]]
    report = import_json(cli, write_csv(tmp_path / "export.csv", rows))
    assert report["records"] == 4
    assert column(report, "last_name")["missing"] == 1 and column(report, "first_name")["missing"] == 1
    leak = tmp_path / "leak.csv"
    leak.write_text("nom;prenom;date_naissance;ville\nSANS;Luc;14/11/1999;Albi\nNa;Mi-rae;29/02/1984;Paris\n"
                    "PUIG;Nil;2001-07-03;Girona\n", encoding="utf-8")
    assert scan(cli, leak) == {a.ipp: "medium", b.ipp: "medium", c.ipp: "medium"}


def test_an_export_with_a_stray_nul_imports_and_its_person_is_found(cli: Cli, tmp_path: Path) -> None:
    """A NUL typed into a name by a legacy system made the whole export "binary": nothing imported.
    The NUL is dropped, as the scanner drops it, so the leak without it matches."""
    cli("init", check=0)
    a, b = complete(people(40, seed=33))[:2]
    rows = [[a.ipp, "", "", "", "Ber\x00trand", "Inès", "14/11/1969", a.postcode],
            [b.ipp, b.nir, "", "", b.last_name, b.first_name, b.birth_written, b.postcode]]
    report = import_json(cli, write_csv(tmp_path / "export.csv", rows))
    assert report["records"] == 2 and report["skipped"] == 0
    leak = tmp_path / "leak.csv"
    leak.write_text("nom;prenom;date_naissance;ville\nBERTRAND;Ines;1969-11-14;Albi\n", encoding="utf-8")
    assert scan(cli, leak) == {a.ipp: "medium"}
    binary = tmp_path / "export.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    result = cli("fingerprints", "import", str(binary), "--schema", str(SCHEMA), check=2)
    assert "binary file, expected CSV or JSON Lines" in result.stderr
