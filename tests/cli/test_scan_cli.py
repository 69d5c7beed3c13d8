"""The detection core through the CLI, as an analyst uses it: init, import, scan, in many leak forms."""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import SCHEMA, Cli
from synth import (
    Person,
    complete,
    leak_csv_semicolon,
    leak_html,
    leak_json,
    leak_logs,
    leak_name_date,
    leak_prose,
    leak_sql,
    people,
    to_csv,
)
from synth import (
    secrets as person_secrets,
)


def scan_json(cli: Cli, *paths: str, expect: int = 1) -> list[dict]:
    result = cli("scan", *paths, "--json", check=expect)
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def found(docs: list[dict]) -> dict[str, tuple[str, set[str]]]:
    return {r["ref"]: (r["confidence"], set(r["fields"])) for d in docs for r in d["records"]}


# ---- init ---------------------------------------------------------------------------------

def test_init_creates_a_private_key_and_never_overwrites_it(cli: Cli) -> None:
    cli("init", check=0)
    key = cli.home / "key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(key.read_bytes()) == 32
    before = key.read_bytes()
    again = cli("init", check=0)
    assert "kept" in again.stdout
    assert key.read_bytes() == before


def test_init_refuses_a_key_readable_by_others(cli: Cli) -> None:
    cli("init", check=0)
    os.chmod(cli.home / "key", 0o644)
    result = cli("init", check=2)
    assert "chmod 600" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_key_file_can_live_apart_from_the_database(cli: Cli, tmp_path: Path) -> None:
    elsewhere = tmp_path / "vault" / "leakwatch.key"
    cli.env["LEAKWATCH_KEY_FILE"] = str(elsewhere)
    cli("init", check=0)
    assert elsewhere.exists() and not (cli.home / "key").exists()


# ---- import -------------------------------------------------------------------------------

def test_import_then_list(imported: Cli, crowd: list[Person]) -> None:
    listing = imported("fingerprints", "list", "--json", check=0)
    row = json.loads(listing.stdout)
    assert row["dataset"] == "patients" and row["records"] == len(crowd)
    assert {"nir", "email", "phone", "last_name", "first_name", "date", "postcode"} <= set(row["kinds"])


def test_a_bad_value_is_dropped_from_its_record_and_strict_stops_at_it(cli: Cli, tmp_path: Path) -> None:
    cli("init", check=0)
    crowd = complete(people(40, seed=5))[:20]
    text = to_csv(crowd).splitlines()
    fields = text[8].split(",")
    fields[1] = fields[1][:13] + ("00" if fields[1][13:] != "00" else "01")  # NIR with a wrong key
    text[8] = ",".join(fields)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(text) + "\n")
    result = cli("fingerprints", "import", str(bad), "--schema", str(SCHEMA), "--strict", check=2)
    assert f"{bad}:9: column 'nir'" in result.stderr
    assert fields[1] not in result.stderr
    assert cli("fingerprints", "list", "--json", check=0).stdout == ""   # nothing half-written
    human = cli("fingerprints", "import", str(bad), "--schema", str(SCHEMA), check=0)
    assert "imported 20 record(s) from 20 row(s)" in human.stdout
    assert "column 'nir': dropped 1 of 20 value(s): nir: the number's checksum" in human.stderr
    assert "(first lines: 9)" in human.stderr and fields[1] not in human.stdout + human.stderr
    report = json.loads(cli("fingerprints", "import", str(bad), "--schema", str(SCHEMA), "--json",
                            check=0).stdout)
    assert report["records"] == 20 and report["skipped"] == 0 and report["dropped"] == 1
    nir = next(c for c in report["columns"] if c["column"] == "nir")
    assert nir["dropped"] == 1 and nir["reasons"][0]["first_lines"] == [9]
    # The record keeps its other fields: its e-mail still finds it.
    leak = tmp_path / "leak.txt"
    leak.write_text(f"mail: {crowd[7].email}\n")
    assert set(found(scan_json(cli, str(leak)))) == {crowd[7].ipp}
    # --skip-invalid, the old way to get this, is still understood.
    old = cli("fingerprints", "import", str(bad), "--schema", str(SCHEMA), "--skip-invalid", check=0)
    assert "--skip-invalid is the default now" in old.stderr


def test_malformed_csv_and_missing_columns_are_one_line_errors(cli: Cli, tmp_path: Path) -> None:
    cli("init", check=0)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text(to_csv(people(3, seed=6)) + "IPP1,only,three\n")
    result = cli("fingerprints", "import", str(ragged), "--schema", str(SCHEMA), check=2)
    assert f"{ragged}:5: expected 8 fields, found 3" in result.stderr
    other = tmp_path / "other.csv"
    other.write_text("a;b\n1;2\n")
    result = cli("fingerprints", "import", str(other), "--schema", str(SCHEMA), check=2)
    assert "needs a header row" in result.stderr and "Traceback" not in result.stderr
    binary = tmp_path / "dump.bin"
    binary.write_bytes(os.urandom(4096) + b"\x00" * 100)
    result = cli("fingerprints", "import", str(binary), "--schema", str(SCHEMA), check=2)
    assert "binary" in result.stderr


def test_reimport_replaces_the_dataset_and_a_failed_one_keeps_the_old(cli: Cli, tmp_path: Path) -> None:
    cli("init", check=0)
    first, second = people(10, seed=7), people(10, seed=8)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(to_csv(first))
    b.write_text(to_csv(second))
    cli("fingerprints", "import", str(a), "--schema", str(SCHEMA), check=0)
    cli("fingerprints", "import", str(b), "--schema", str(SCHEMA), check=0)
    leak = tmp_path / "leak.txt"
    leak.write_text(leak_csv_semicolon(first[:2] + second[:2]))
    assert set(found(scan_json(cli, str(leak)))) == {p.ipp for p in second[:2]}
    broken = tmp_path / "broken.csv"
    broken.write_text(to_csv(first) + "IPPX,1,2\n")
    cli("fingerprints", "import", str(broken), "--schema", str(SCHEMA), check=2)
    assert set(found(scan_json(cli, str(leak)))) == {p.ipp for p in second[:2]}


def test_json_lines_import(cli: Cli, tmp_path: Path) -> None:
    cli("init", check=0)
    crowd = people(5, seed=9)
    path = tmp_path / "patients.jsonl"
    path.write_text("".join(json.dumps(p.__dict__) + "\n" for p in crowd))
    cli("fingerprints", "import", str(path), "--schema", str(SCHEMA), check=0)
    leak = tmp_path / "leak.txt"
    leak.write_text(leak_csv_semicolon(crowd[:1]))
    assert set(found(scan_json(cli, str(leak)))) == {crowd[0].ipp}


# ---- scan: leak forms ---------------------------------------------------------------------

def test_leaks_in_many_forms_are_found_with_refs_and_confidence(imported: Cli, crowd: list[Person],
                                                                tmp_path: Path) -> None:
    forms = {
        "semicolon.csv": (leak_csv_semicolon, crowd[0:10], "high"),
        "dump.json": (leak_json, crowd[10:15], "high"),
        "prose.txt": (leak_prose, crowd[15:20], "high"),
        "table.html": (leak_html, crowd[20:25], "high"),
        "auth.log": (leak_logs, crowd[25:30], "medium"),
        "users.sql": (leak_sql, crowd[30:35], "high"),
        "names.txt": (leak_name_date, crowd[35:40], "medium"),
    }
    for name, (fmt, rows, _) in forms.items():
        (tmp_path / name).write_text(fmt(rows), encoding="utf-8")
    docs = scan_json(imported, *(str(tmp_path / n) for n in forms))
    by_target = {Path(d["target"]).name: d for d in docs}
    for name, (_, rows, confidence) in forms.items():
        got = found([by_target[name]])
        assert set(got) == {p.ipp for p in rows}, name
        assert {c for c, _ in got.values()} == {confidence}, name
        assert by_target[name]["dataset"] == "patients"
    # What matched is reported by kind.
    whole = complete(crowd[0:10])[0]  # a patient whose export holds every field
    assert found([by_target["semicolon.csv"]])[whole.ipp][1] >= {"nir", "phone", "email", "last_name",
                                                                     "first_name", "date"}
    assert found([by_target["names.txt"]])[crowd[35].ipp][1] == {"last_name", "first_name", "date"}


def test_near_misses_are_not_reported(imported: Cli, crowd: list[Person], tmp_path: Path) -> None:
    p = crowd[50]
    other_day = p.birth.replace(day=p.birth.day % 28 + 1)
    wrong_key = p.nir[:13] + f"{(int(p.nir[13:]) % 97) + 1:02d}"
    lines = [
        f"{p.last_name.upper()} {p.first_name} {other_day.strftime('%d/%m/%Y')}",   # same name, other birth date
        f"secu {wrong_key}",                                                      # NIR with a wrong key
        f"Bonjour {p.first_name} {p.last_name}, merci de votre visite.",           # a name alone
        f"ref 99{p.phone}12",                                                      # phone inside a longer digit run
        f"contact x{p.email}",                                                     # e-mail as tail of another
    ]
    leak = tmp_path / "near.txt"
    leak.write_text("\n\n".join(lines))
    result = imported("scan", str(leak), "--json", check=0)
    assert result.stdout == ""


def test_identifier_alone_is_medium_and_corroborated_is_high(imported: Cli, crowd: list[Person],
                                                            tmp_path: Path) -> None:
    p, q = crowd[60], crowd[61]
    leak = tmp_path / "mixed.txt"
    leak.write_text(f"row 1: {p.nir}\n\nrow 2: {q.nir} {q.last_name.upper()}\n")
    got = found(scan_json(imported, str(leak)))
    assert got[p.ipp] == ("medium", {"nir"})
    assert got[q.ipp] == ("high", {"nir", "last_name"})


def test_typos_missing_accents_and_swapped_names_still_corroborate(imported: Cli, crowd: list[Person],
                                                                  tmp_path: Path) -> None:
    p = crowd[70]
    typo = p.last_name[:-2] + ("x" if p.last_name[-2] != "x" else "y") + p.last_name[-1]
    leak = tmp_path / "typo.txt"
    leak.write_text(f"{p.first_name.upper()} {typo.upper()} ; tel {p.phone}\n")
    confidence, fields = found(scan_json(imported, str(leak)))[p.ipp]
    assert confidence == "high" and {"phone", "first_name"} <= fields


def test_human_output_names_refs_and_kinds_but_no_value(imported: Cli, crowd: list[Person],
                                                       tmp_path: Path) -> None:
    p = crowd[80]
    leak = tmp_path / "leak.csv"
    leak.write_text(leak_csv_semicolon([p]))
    result = imported("scan", str(leak), check=1)
    assert p.ipp in result.stdout and "high" in result.stdout and "nir" in result.stdout
    for value in (p.nir, p.email, p.phone, p.last_name, p.first_name):
        assert value.lower() not in result.stdout.lower()


# ---- scan: containers and hostile input ---------------------------------------------------

@pytest.mark.subprocess_cli
def test_archives_and_stdin_are_scanned(imported: Cli, crowd: list[Person], tmp_path: Path) -> None:
    a, b, c, d = crowd[90:91], crowd[91:92], crowd[92:93], crowd[93:94]
    (tmp_path / "leak.csv.gz").write_bytes(gzip.compress(leak_csv_semicolon(a).encode()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("export/patients.csv", leak_csv_semicolon(b))
        zf.writestr("inner.tar.gz", _tar_gz("deep.sql", leak_sql(c)))
    (tmp_path / "dump.zip").write_bytes(buf.getvalue())
    docs = scan_json(imported, str(tmp_path / "leak.csv.gz"), str(tmp_path / "dump.zip"))
    assert set(found(docs)) == {a[0].ipp, b[0].ipp, c[0].ipp}
    assert any(d_["target"].endswith("dump.zip!inner.tar.gz!inner.tar!deep.sql") for d_ in docs)
    piped = imported("scan", "-", "--json", input=leak_csv_semicolon(d).encode("cp1252"), check=1)
    assert set(found([json.loads(line) for line in piped.stdout.splitlines()])) == {d[0].ipp}


def _tar_gz(name: str, text: str) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tf:
        data = text.encode()
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue())


def test_binaries_and_archive_bombs_are_skipped_with_a_note(imported: Cli, tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(20000) + b"\x00" * 64)
    # 32 MB of 'A' in 32 KB: 32 gzip members of 1 MB each (one stream to gunzip, made in milliseconds),
    # past the expansion ratio, where the 300 MB of one gzip.compress took 2 s to make and 60 MB to trip it
    (tmp_path / "bomb.gz").write_bytes(gzip.compress(b"A" * (1024 * 1024)) * 32)
    result = imported("scan", str(tmp_path), "--json", check=0)
    assert "photo.jpg: skipped: binary content" in result.stderr
    assert "bomb.gz: skipped: archive expands beyond" in result.stderr
    assert "Traceback" not in result.stderr


def test_other_encodings_are_read(imported: Cli, crowd: list[Person], tmp_path: Path) -> None:
    rows = crowd[100:103]
    for i, encoding in enumerate(("utf-16", "cp1252", "utf-8-sig")):
        (tmp_path / f"leak{i}.txt").write_bytes(leak_prose(rows[i : i + 1]).encode(encoding))
    assert set(found(scan_json(imported, str(tmp_path)))) == {p.ipp for p in rows}


def test_missing_path_is_a_usage_error(imported: Cli, tmp_path: Path) -> None:
    result = imported("scan", str(tmp_path / "nope.txt"), check=2)
    assert result.stderr.strip() == f"leakwatch: error: {tmp_path / 'nope.txt'}: no such file or directory"


# ---- the monitor must never become the next leak ------------------------------------------

def test_no_planted_plaintext_anywhere_after_import_and_scan(cli: Cli, tmp_path: Path) -> None:
    crowd = people(40, seed=11)
    cli("init", check=0)
    src = tmp_path / "in" / "patients.csv"
    src.parent.mkdir()
    src.write_text(to_csv(crowd))
    outputs = [cli("fingerprints", "import", str(src), "--schema", str(SCHEMA))]
    src.unlink()
    leak = tmp_path / "in" / "leak.txt"
    leak.write_text(leak_csv_semicolon(crowd[:20]) + leak_prose(crowd[20:30]))
    outputs.append(cli("scan", str(leak)))
    outputs.append(cli("scan", str(leak), "--json"))
    outputs.append(cli("fingerprints", "list"))
    leak.unlink()
    blobs = [o.stdout.encode() + o.stderr.encode() for o in outputs]
    blobs += [f.read_bytes() for f in cli.home.rglob("*") if f.is_file()]
    secrets = set()
    for p in crowd:
        secrets |= person_secrets(p)
        secrets |= {n for n in (p.last_name, p.first_name) if len(n) >= 5}
    assert any(b for b in blobs), "nothing was written"
    for blob in blobs:
        for value in secrets:
            for form in {value, value.upper(), value.lower()}:
                assert form.encode() not in blob, "a planted value was written"
                assert form.encode("utf-16-le") not in blob, "a planted value was written"


@pytest.mark.subprocess_cli
def test_a_large_dump_is_matched_on_every_core_without_loss(imported: Cli, crowd: list[Person],
                                                          tmp_path: Path) -> None:
    """Over two megabytes, parts go to worker processes: records on every side of every cut are
    found, once each, and the workers are gone when the command ends."""
    filler = "ligne de bruit sans donnée personnelle, rien à signaler ici\n" * 9000   # ~0.55 MB
    planted = crowd[110:130]
    chunks = []
    for i in range(0, len(planted), 4):
        chunks.append(filler)
        chunks.append(leak_csv_semicolon(planted[i : i + 4]))
    big = tmp_path / "big.txt"
    big.write_text("".join(chunks))
    assert big.stat().st_size > 2 * 1024 * 1024
    imported.env["LEAKWATCH_SCAN_WORKERS"] = "2"
    imported.env["LEAKWATCH_SCAN_PARALLEL_FROM"] = "0"  # these 2+ MB files are matched by the workers
    result = imported("scan", str(big), "--json", check=1)
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    refs = [r["ref"] for d in docs for r in d["records"]]
    assert sorted(refs) == sorted(p.ipp for p in planted)
    assert {r["confidence"] for d in docs for r in d["records"]} == {"high"}
    assert "Traceback" not in result.stderr and "Exception" not in result.stderr


@pytest.mark.subprocess_cli
def test_a_large_export_keeps_its_header_in_every_part(imported: Cli, crowd: list[Person], tmp_path: Path) -> None:
    """A 2+ MB CSV export, read on two workers in 1 MB parts: each patient's names and birth date
    sit four columns apart, with no identifier, so only the header's labels pair them; a part
    that lost the header would lose its patients (85 % of them went unseen before parts carried it)."""
    planted = [p for p in complete(crowd) if p.birth_date][:40]
    header = "nom;service;date_visite;ville;prenom;commentaire;date_naissance\n"
    blank = ";URG;2023-05-12;PARIS;;" + "patient non identifié, dossier en attente de rapprochement " * 2 + ";\n"
    rows = [blank * 400 + ";".join([p.last_name.upper(), "URG", "2023-05-12", "PARIS", p.first_name, "RAS",
                                    p.birth_date]) + "\n" for p in planted]
    export = tmp_path / "export.csv"
    export.write_text(header + "".join(rows), encoding="utf-8")
    assert len(export.read_text(encoding="utf-8")) > 2 * 1024 * 1024
    imported.env["LEAKWATCH_SCAN_WORKERS"] = "2"
    imported.env["LEAKWATCH_SCAN_PARALLEL_FROM"] = "0"  # these 2+ MB files are matched by the workers
    reported = found(scan_json(imported, str(export)))
    assert set(reported) == {p.ipp for p in planted}
    assert {fields == {"date", "first_name", "last_name"} for _, fields in reported.values()} == {True}


@pytest.mark.subprocess_cli
def test_usage_errors_are_one_line_with_exit_2(cli: Cli) -> None:
    for args, expected in [(["nosuch"], "No such command 'nosuch'"),
                           (["scan"], "Missing argument"),
                           (["fingerprints", "import", "x.csv", "--workers", "many"], "'--workers'")]:
        result = cli(*args, check=2)
        assert expected in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_bad_setting_names_where_it_came_from(cli: Cli) -> None:
    cli.env["LEAKWATCH_PROXIMITY"] = "wide"
    result = cli("fingerprints", "list", check=2)
    assert result.stderr.startswith("leakwatch: error: environment LEAKWATCH_PROXIMITY: proximity:")
    del cli.env["LEAKWATCH_PROXIMITY"]
    cli.home.mkdir(parents=True)
    (cli.home / "config.toml").write_text("proximity = 'wide'\n")
    result = cli("fingerprints", "list", check=2)
    assert f"{cli.home / 'config.toml'}: proximity:" in result.stderr


def test_a_phone_number_read_inside_a_strangers_grouped_nir_is_not_a_hit(cli: Cli, tmp_path: Path) -> None:
    """'1 65 03 06 123 456 78' is a NIR; its tail '06 123 456 78' is also our patient's mobile."""
    from dataclasses import replace

    from stdnum.fr import nir as stdnum_nir

    body = "1650306123456"
    stranger_nir = body + stdnum_nir.calc_check_digits(body)
    patient = replace(people(1, seed=12)[0], phone="06" + stranger_nir[7:])
    cli("init", check=0)
    src = tmp_path / "p.csv"
    src.write_text(to_csv([patient]))
    cli("fingerprints", "import", str(src), "--schema", str(SCHEMA), check=0)
    grouped = f"{stranger_nir[0]} {stranger_nir[1:3]} {stranger_nir[3:5]} {stranger_nir[5:7]} " \
              f"{stranger_nir[7:10]} {stranger_nir[10:13]} {stranger_nir[13:]}"
    leak = tmp_path / "leak.txt"
    leak.write_text(f"assuré: {grouped}\n")
    assert cli("scan", str(leak), "--json", check=0).stdout == ""
    leak.write_text(f"tel: {patient.phone}\n")           # the phone itself is still found
    assert cli("scan", str(leak), "--json", check=1).stdout


def test_a_file_that_starts_as_html_loses_nothing_written_after_it(imported: Cli, crowd: list[Person],
                                                                  tmp_path: Path) -> None:
    """A paste that opens with an HTML table then carries code with '<' and a CSV dump: what HTML
    parsing swallows is still scanned as text, and terms are not counted twice."""
    html_rows, csv_rows = crowd[140:142], crowd[142:145]
    code = "for (i = 0; i<n; i++) { total += a[i]; }  <!-- unterminated comment\n"
    leak = tmp_path / "mixed.html"
    leak.write_text(leak_html(html_rows) + "\n" + code + leak_csv_semicolon(csv_rows) + "<p>-- end of paste</p>\n")
    docs = scan_json(imported, str(leak))
    assert set(found(docs)) == {p.ipp for p in html_rows + csv_rows}
    assert len(docs) == 1


def test_name_and_birth_date_alone_tolerate_one_wrong_letter_not_two(imported: Cli, crowd: list[Person],
                                                                   tmp_path: Path) -> None:
    from synth import fr_date, strip_accents

    short = [p for p in crowd if len(strip_accents(p.last_name)) == 5 and " " not in p.last_name][:2]
    assert len(short) == 2
    one, two = short

    def swap(name: str, *at: int) -> str:
        chars = list(strip_accents(name).upper())
        for i in at:
            chars[i] = "Q" if chars[i] != "Q" else "W"
        return "".join(chars)

    leak = tmp_path / "names.txt"
    leak.write_text(f"{swap(one.last_name, 2)} {one.first_name} {fr_date(one.birth)}\n"
                    f"{swap(two.last_name, 1, 3)} {two.first_name} {fr_date(two.birth)}\n")
    assert set(found(scan_json(imported, str(leak)))) == {one.ipp}


def test_delete_removes_a_dataset_and_its_fingerprints(imported: Cli, crowd: list[Person], tmp_path: Path) -> None:
    leak = tmp_path / "leak.csv"
    leak.write_text(leak_csv_semicolon(crowd[:2]))
    imported("scan", str(leak), check=1)
    imported("fingerprints", "delete", "patients", check=0)
    assert imported("fingerprints", "list", "--json", check=0).stdout == ""
    assert imported("scan", str(leak), "--json", check=0).stdout == ""
    assert "no dataset named 'patients'" in imported("fingerprints", "delete", "patients", check=2).stderr


def test_a_near_name_that_another_record_bears_is_another_person(cli: Cli, crowd: list[Person],
                                                                tmp_path: Path) -> None:
    """With no identifier, "Julien" born on Julie Vallet's birthday is not Julie: Julien is a first
    name the dataset holds, so it is another person's name, not a typo. Near spellings that are
    nobody's name in the dataset still match."""
    from dataclasses import replace

    from synth import fr_date

    julie = replace(crowd[0], last_name="Vallet", first_name="Julie")
    julien = replace(crowd[1], first_name="Julien")  # another patient: "Julien" is a known first name
    diaz = replace(crowd[2], last_name="Diaz", first_name="Aurélie")
    dias = replace(crowd[3], last_name="Dias")
    marcelle = replace(crowd[4], last_name="Labbé", first_name="Marcelle")
    gilles = replace(crowd[5], last_name="Marie", first_name="Gilles")
    gillet = replace(crowd[6], last_name="Gillet")  # a known last name, near the first name Gilles
    records = [julie, julien, diaz, dias, marcelle, gilles, gillet] + [
        p for p in crowd[7:80] if p.first_name not in ("Marcel", "Julien")]
    cli("init", check=0)
    csv_path = tmp_path / "patients.csv"
    csv_path.write_text(to_csv(records), encoding="utf-8")
    cli("fingerprints", "import", str(csv_path), "--schema", str(SCHEMA), check=0)

    strangers = tmp_path / "strangers.txt"
    strangers.write_text(f"VALLET Julien {fr_date(julie.birth)}\n"        # another known first name
                         f"DIAS Aurélie {fr_date(diaz.birth)}\n"          # another known last name
                         f"GILLET;MARIE;{fr_date(gilles.birth)}\n")       # names swapped, one known
    assert cli("scan", str(strangers), "--json", check=0).stdout == ""

    typos = tmp_path / "typos.txt"
    typos.write_text(f"VALLET Juxie {fr_date(julie.birth)}\n"          # a letter replaced
                     f"LABBE Marcel {fr_date(marcelle.birth)}\n")     # nobody here is called Marcel
    assert set(found(scan_json(cli, str(typos)))) == {julie.ipp, marcelle.ipp}
