"""Large structured dumps of the organisation's own records, as they leak: recall across cuts, and speed.

A ransomware dump is mostly one big export: a CSV table, a SQL dump, a JSON API export, an XML file.
`leakwatch scan` reads such a file in 8 MB documents and matches 1 MB parts on every core; each
cut must lose nothing. This bench writes one such dump per form (tens of MB, every row one of the
records imported, names and birth date in separate columns with no identifier, so only the
columns' labels pair them: the hardest case for a cut), and for each:

- the truth: the records the matcher finds in the whole text read as one document, in process;
- `leakwatch scan` with `LEAKWATCH_SCAN_WORKERS=1` and with the default (one worker per core):
  records found, records lost against the truth, records found that the truth does not hold,
  wall time, CPU and MB/s.

    .venv/bin/python bench/dumps.py                   # 100,000 records, 60,000 rows per form (~15 MB each)
    .venv/bin/python bench/dumps.py --rows 20000      # quicker

Measured on the 2-core machine (1 Dec 2026, 100k records, 60k rows): see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from base64 import b64encode
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthdata
from synthdata import Person

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "fingerprints" / "patients.example.toml"
COLUMNS = ["nom", "service", "date_visite", "ville", "prenom", "commentaire", "date_naissance"]


def _cells(p: Person, rng: random.Random) -> list[str]:
    return [synthdata.upper_plain(p.last_name), rng.choice(["URG", "CARDIO", "PEDIA"]),
            f"20{rng.randint(10, 24)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            rng.choice(["PARIS", "CRETEIL", "SAINT-DENIS"]), p.first_name,
            "RAS, " * rng.randint(1, 40), p.birth_written or p.birth_date]


def csv_dump(people: list[Person], rng: random.Random) -> str:
    rows = [";".join(COLUMNS)] + [";".join(_cells(p, rng)) for p in people]
    return "\n".join(rows) + "\n"


def outfile_dump(people: list[Person], rng: random.Random) -> str:
    """MySQL's ``SELECT ... INTO OUTFILE``: tab-separated rows, no header."""
    return "\n".join("\t".join(_cells(p, rng)) for p in people) + "\n"


def sql_dump(people: list[Person], rng: random.Random) -> str:
    def q(v: str) -> str:
        return "'" + v.replace("'", "''") + "'"
    rows = ["(" + ", ".join(q(c) for c in _cells(p, rng)) + ")" for p in people]
    return (f"-- dump\n\nINSERT INTO `patients` ({', '.join(COLUMNS)}) VALUES\n" + ",\n".join(rows) + ";\n")


def mysql_dump(people: list[Person], rng: random.Random) -> str:
    """mysqldump's defaults: the columns named once, in CREATE TABLE; each INSERT line a few
    hundred rows that name none."""
    def q(v: str) -> str:
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
    create = ("CREATE TABLE `patients` (\n  `id` int NOT NULL,\n" + "".join(f"  `{c}` varchar(255),\n" for c in COLUMNS)
              + "  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n")
    rows = [f"({i},{','.join(q(c) for c in _cells(p, rng))})" for i, p in enumerate(people)]
    inserts = "".join(f"INSERT INTO `patients` VALUES {','.join(rows[i : i + 300])};\n"
                      for i in range(0, len(rows), 300))
    return (f"-- MySQL dump 10.13\n\nDROP TABLE IF EXISTS `patients`;\n{create}\n"
            f"LOCK TABLES `patients` WRITE;\n{inserts}")


def json_dump(people: list[Person], rng: random.Random) -> str:
    rows = [{"dossier": i, "patient": dict(zip(COLUMNS, _cells(p, rng), strict=True)), "meta": {"lit": i % 40}}
            for i, p in enumerate(people)]
    return json.dumps({"export": "urgences", "rows": rows}, indent=2, ensure_ascii=False) + "\n"


def xml_dump(people: list[Person], rng: random.Random) -> str:
    rows = ["  <patient>\n" + "".join(f"    <{k}>{escape(v)}</{k}>\n" for k, v in zip(COLUMNS, _cells(p, rng),
                                                                               strict=True)) + "  </patient>"
            for p in people]
    return "<?xml version='1.0' encoding='UTF-8'?>\n<patients>\n" + "\n".join(rows) + "\n</patients>\n"


def html_dump(people: list[Person], rng: random.Random) -> str:
    """A web application's export page: a ``<th>`` header row, then one cell per line, no blank line."""
    head = "  <tr>" + "".join(f"<th>{c}</th>" for c in COLUMNS) + "</tr>\n"
    rows = ["  <tr>\n" + "".join(f"    <td>{escape(v)}</td>\n" for v in _cells(p, rng)) + "  </tr>\n"
            for p in people]
    return ("<!DOCTYPE html>\n<html><head><title>Export</title></head><body>\n<table class=\"grid\">\n"
            + head + "".join(rows) + "</table>\n</body></html>\n")


def export_dump(people: list[Person], rng: random.Random) -> str:
    """The import's own CSV leaked whole: every row holds a NIR, an e-mail and a phone, each a hit."""
    rows = [",".join(synthdata.FIELDS)] + [",".join(_csv_cell(c) for c in p.row) for p in people]
    return "\n".join(rows) + "\n"


def _aligned(table: list[list[str]], sep: str) -> tuple[list[str], list[int]]:
    widths = [max(len(row[j]) for row in table) for j in range(len(table[0]))]
    return [sep.join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in table], widths


def terminal_dump(people: list[Person], rng: random.Random) -> str:
    """A query's output saved from the mysql client: ``+----+`` rules around the header, ``| a | b |`` rows."""
    lines, widths = _aligned([COLUMNS] + [_cells(p, rng) for p in people], " | ")
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    return "\n".join(["mysql> SELECT * FROM patients;", rule, f"| {lines[0]} |", rule,
                      *(f"| {line} |" for line in lines[1:]), rule, f"{len(people)} rows in set (2.31 sec)"]) + "\n"


def sqlplus_dump(people: list[Person], rng: random.Random) -> str:
    """Oracle SQL*Plus spooled to a file: upper-case labels over a dashes rule, one space apart."""
    lines, widths = _aligned([[c.upper() for c in COLUMNS]] + [_cells(p, rng) for p in people], " ")
    return "\n".join([lines[0].rstrip(), " ".join("-" * w for w in widths), *(line.rstrip() for line in lines[1:]),
                      "", f"{len(people)} rows selected."]) + "\n"


def ldif_dump(people: list[Person], rng: random.Random) -> str:
    """An LDAP directory's export: one entry per person, a blank line between entries."""
    attrs = ["sn", "ou", "modifyTimestamp", "l", "givenName", "description", "birthDate"]
    entries = []
    for i, p in enumerate(people):
        values = dict(zip(attrs, _cells(p, rng), strict=True))
        entries.append("\n".join([f"dn: uid=p{i},ou=people,dc=example,dc=org", "objectClass: top",
                                  "objectClass: inetOrgPerson",
                                  *(f"{k}: {v}" if v.isascii() else f"{k}:: {b64encode(v.encode()).decode()}"
                                    for k, v in values.items())]))
    return "\n\n".join(entries) + "\n"


def _csv_cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value


FORMS: dict[str, tuple[str, Callable[[list[Person], random.Random], str]]] = {
    "csv": ("export.csv", csv_dump), "sql": ("dump.sql", sql_dump), "mysql": ("mysqldump.sql", mysql_dump),
    "json": ("export.json", json_dump), "xml": ("export.xml", xml_dump), "html": ("export.html", html_dump),
    "export": ("export-ids.csv", export_dump), "terminal": ("select.txt", terminal_dump),
    "sqlplus": ("spool.lst", sqlplus_dump), "ldif": ("people.ldif", ldif_dump),
    "outfile": ("patients.tsv", outfile_dump)}

TRUTH = r"""
import json, sys
from leakwatch.app import build
svc = build()
text = open(sys.argv[1], encoding=sys.argv[2], errors="replace").read()
found, _ = svc.matcher.scan_document(text, "whole")
print(json.dumps(sorted({f.ref for f in found if f.ref})))
"""


def scan(env: dict[str, str], path: Path, workers: int | None) -> dict[str, object]:
    env = dict(env)
    if workers is not None:
        env["LEAKWATCH_SCAN_WORKERS"] = str(workers)
    before = os.times()
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "leakwatch", "scan", str(path), "--json"], env=env,
                       capture_output=True, text=True, cwd=path.parent)
    wall = time.perf_counter() - t0
    after = os.times()
    if r.returncode not in (0, 1):
        raise SystemExit(f"scan failed ({r.returncode}): {r.stderr.strip()[:300]}")
    refs = {x["ref"] for line in r.stdout.splitlines() for x in json.loads(line).get("records", [])}
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return {"refs": refs, "wall": wall, "cpu": cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--rows", type=int, default=60_000, help="rows of each dump (records, each once)")
    ap.add_argument("--forms", default=",".join(FORMS), help="among " + ", ".join(FORMS))
    ap.add_argument("--seed", type=int, default=20210)
    ap.add_argument("--crlf", action="store_true", help="write every dump with Windows line ends (CRLF)")
    ap.add_argument("--encoding", default="utf-8",
                    help="of every dump: utf-8, cp1252 (a Windows export), utf-16 (Excel's 'Unicode text')...")
    ap.add_argument("--code", type=Path, default=ROOT,
                    help="checkout whose leakwatch/ is measured (the code before a change, on the same data)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="leakwatch-dumps-"))
    os.chmod(tmp, 0o700)
    try:
        run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace, tmp: Path) -> None:
    people = synthdata.People(args.seed)
    records = [people.draw("P") for _ in range(args.records)]
    synthdata.write_records_csv(tmp / "records.csv", records)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAKWATCH_")}
    # The measured code comes first on the path; the subprocesses run in the temporary directory,
    # so that no leakwatch/ of the current directory shadows it.
    code = tmp / "code"
    shutil.copytree(args.code / "leakwatch", code / "leakwatch", ignore=shutil.ignore_patterns("__pycache__"))
    env.update(LEAKWATCH_HOME=str(tmp / "home"), PYTHONHASHSEED="0", PYTHONPATH=str(code))
    lw = [sys.executable, "-m", "leakwatch"]
    subprocess.run([*lw, "init"], env=env, check=True, capture_output=True, cwd=tmp)
    subprocess.run([*lw, "fingerprints", "import", str(tmp / "records.csv"), "--schema", str(SCHEMA)], env=env,
                   check=True, capture_output=True, cwd=tmp)
    (tmp / "records.csv").unlink()
    rng = random.Random(args.seed + 1)
    rows = rng.sample(records, min(args.rows, len(records)))
    print(f"{args.records} records imported; each dump holds {len(rows)} of them, names and birth date apart, "
          f"no identifier (but in `export`: the import's own CSV); {os.cpu_count()} cores; code: {args.code}")
    print(f"{'form':5} {'MB':>6} {'truth':>7} | {'workers':>7} {'found':>7} {'lost':>5} {'extra':>5} "
          f"{'wall s':>7} {'CPU s':>7} {'MB/s':>6}")
    for form in args.forms.split(","):
        name, write = FORMS[form]
        path = tmp / name
        path.write_text(write(rows, random.Random(args.seed + 2)), encoding=args.encoding, errors="replace",
                        newline="\r\n" if args.crlf else None)
        mb = path.stat().st_size / 1e6
        truth_run = subprocess.run([sys.executable, "-c", TRUTH, str(path), args.encoding], env=env,
                                   capture_output=True, text=True, check=True, cwd=tmp)
        truth = set(json.loads(truth_run.stdout))
        for workers in (1, None):
            r = scan(env, path, workers)
            refs: set[str] = r["refs"]  # type: ignore[assignment]
            label = str(workers or os.cpu_count())
            print(f"{form:5} {mb:6.1f} {len(truth):7} | {label:>7} {len(refs):7} {len(truth - refs):5} "
                  f"{len(refs - truth):5} {r['wall']:7.1f} {r['cpu']:7.1f} {mb / r['wall']:6.2f}")
        path.unlink()


if __name__ == "__main__":
    main()
