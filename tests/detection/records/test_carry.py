"""A long dump cut into parts (1 MB parts on the scan workers, 8 MB documents as it is read) is read
as it was written: a part that continues a table or a SQL statement carries its header or column
list, so its rows keep their labels; nothing is read twice, nothing is carried where no table goes
on."""

from __future__ import annotations

import io
import json
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lw_formats import FORMATS
from lw_records import Scan
from synth import Person, strip_accents

from leakwatch.detection import documents, records
from leakwatch.detection.limits import Limits
from leakwatch.detection.parallel import split
from leakwatch.models import Document

LABELS = ["nom", "service", "date_visite", "ville", "prenom", "commentaire", "date_naissance"]


def _cells(p: Person, i: int) -> list[str]:
    return [p.last_name.upper(), "URG", f"2023-0{1 + i % 9}-1{i % 10}", "PARIS", p.first_name,
            "RAS " * (1 + i % 7), p.birth_date]


def csv_table(people: list[Person], delimiter: str = ";") -> str:
    """An export whose names and birth date never stand side by side: only the header pairs them."""
    rows = [delimiter.join(LABELS)] + [delimiter.join(_cells(p, i)) for i, p in enumerate(people)]
    return "\n".join(rows) + "\n"


def pipe_table(people: list[Person]) -> str:
    rows = ["| " + " | ".join(LABELS) + " |", "|" + "---|" * len(LABELS)]
    rows += ["| " + " | ".join(_cells(p, i)) + " |" for i, p in enumerate(people)]
    return "\n".join(rows) + "\n"


def sql_insert(people: list[Person]) -> str:
    """A multi-row INSERT written one row per line, as mysqldump --extended-insert with line breaks
    and most ORMs' bulk exports write it."""
    def q(value: str) -> str:
        return "'" + value.replace("'", "''") + "'"
    rows = [f"({', '.join(q(c) for c in _cells(p, i))})" for i, p in enumerate(people)]
    return (f"-- dump\n\nINSERT INTO `patients` ({', '.join(LABELS)}) VALUES\n" + ",\n".join(rows) + ";\n")


def mysqldump(people: list[Person]) -> str:
    """mysqldump's defaults: the columns named once, in CREATE TABLE; INSERTs of a few rows a line
    that name none."""
    def q(value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    create = ("CREATE TABLE `patients` (\n" + "".join(f"  `{c}` varchar(255),\n" for c in LABELS)
              + "  PRIMARY KEY (`nom`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n")
    rows = [f"({', '.join(q(c) for c in _cells(p, i))})" for i, p in enumerate(people)]
    inserts = "".join(f"INSERT INTO `patients` VALUES {','.join(rows[i : i + 3])};\n"
                      for i in range(0, len(rows), 3))
    return (f"-- MySQL dump 10.13\n\nDROP TABLE IF EXISTS `patients`;\n{create}\n"
            f"LOCK TABLES `patients` WRITE;\n{inserts}")


def sql_copy(people: list[Person]) -> str:
    rows = ["\t".join(_cells(p, i)) for i, p in enumerate(people)]
    return f"COPY public.patients ({', '.join(LABELS)}) FROM stdin;\n" + "\n".join(rows) + "\n\\.\n"


def json_pretty(people: list[Person]) -> str:
    """An API export: each record an object of several lines, the names nested under ``patient``."""
    rows = [{"dossier": i, "patient": dict(zip(LABELS, _cells(p, i), strict=True)), "meta": {"lit": i % 40}}
            for i, p in enumerate(people)]
    return json.dumps({"export": "urgences", "rows": rows}, indent=2, ensure_ascii=False) + "\n"


def xml_elements(people: list[Person]) -> str:
    rows = ["  <patient>\n" + "".join(f"    <{k}>{escape(v)}</{k}>\n"
                                      for k, v in zip(LABELS, _cells(p, i), strict=True)) + "  </patient>"
            for i, p in enumerate(people)]
    return "<?xml version='1.0'?>\n<patients>\n" + "\n".join(rows) + "\n</patients>\n"


def html_table(people: list[Person]) -> str:
    """A web page's export: a header row of ``<th>``, then one cell per line, no blank line."""
    head = "<table class=\"export\">\n  <tr>" + "".join(f"<th>{k}</th>" for k in LABELS) + "</tr>\n"
    rows = ["  <tr>\n" + "".join(f"    <td>{escape(v)}</td>\n" for v in _cells(p, i)) + "  </tr>\n"
            for i, p in enumerate(people)]
    return "<html><body>\n" + head + "".join(rows) + "</table>\n</body></html>\n"


def _aligned(people: list[Person], labels: list[str], sep: str) -> tuple[list[str], list[int]]:
    table = [labels] + [_cells(p, i) for i, p in enumerate(people)]
    widths = [max(len(row[j]) for row in table) for j in range(len(labels))]
    return [sep.join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table], widths


def mysql_client(people: list[Person]) -> str:
    """A query's output saved from the mysql client: its header between two ``+----+`` rules."""
    lines, widths = _aligned(people, LABELS, " | ")
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    return "\n".join(["mysql> SELECT * FROM patients;", rule, f"| {lines[0]} |", rule,
                      *(f"| {line} |" for line in lines[1:]), rule]) + "\n"


def sqlplus(people: list[Person]) -> str:
    """Oracle SQL*Plus spooled to a file: labels over a dashes rule, columns one space apart."""
    lines, widths = _aligned(people, [label.upper() for label in LABELS], " ")
    return "\n".join([lines[0], " ".join("-" * w for w in widths), *lines[1:]]) + "\n"


def fixed_width(people: list[Person]) -> str:
    """A fixed-width export: labels two spaces apart or more, no rule."""
    lines, _ = _aligned(people, LABELS, "   ")
    return "\n".join(lines) + "\n"


FORMS = {"json": json_pretty, "html": html_table, "xml": xml_elements, "csv": csv_table,
         "tsv": lambda ps: csv_table(ps, "\t"), "pipe": pipe_table, "sql": sql_insert, "copy": sql_copy,
         "mysqldump": mysqldump, "mysql_client": mysql_client, "sqlplus": sqlplus, "fixed_width": fixed_width}


def read_parts(parts: list[str]) -> list[records.Record]:
    return [rec for part in parts for rec in records.read(part).records]


def labelled(rec: records.Record) -> bool:
    return {label.lower().rsplit(".", 1)[-1] for label, _ in rec.fields} >= {"nom", "prenom", "date_naissance"}


@pytest.mark.parametrize("form", sorted(FORMS))
@settings(max_examples=15, deadline=None)
@given(size=st.integers(min_value=150, max_value=1500))
def test_every_row_of_a_cut_table_is_read_once_with_its_labels(form: str, size: int, patients: list[Person]) -> None:
    """A row of a table is a line; a pretty-printed record spans lines and is cut after it ends
    when a quarter part holds its end (parts are 1 MB, records a few hundred bytes)."""
    text = FORMS[form](patients[:60])
    # A pretty-printed record (an HTML row of one cell per line too) is cut after it ends when the
    # quarter part the cutter looks in holds its end: parts are 1 MB and records hundreds of bytes.
    parts = split(text, size * 8 if form in ("json", "xml") else max(size, 300) * 6 if form == "html" else size)
    assert len(parts) > 1
    surnames = {p.last_name.upper() for p in patients[:60]}
    read = [rec for rec in read_parts(parts) if any(value in surnames for _, value in rec.fields)]
    assert len(read) == 60, f"{len(read)} rows read from {len(parts)} parts"
    assert all(labelled(rec) for rec in read)
    names = [value for rec in read for label, value in rec.fields if label.lower().rsplit(".", 1)[-1] == "nom"]
    assert sorted(names) == sorted(p.last_name.upper() for p in patients[:60])


@settings(max_examples=25, deadline=None)
@given(size=st.integers(min_value=100, max_value=3000),
       prose=st.text(alphabet=st.sampled_from("abc de;|,\t()\n"), max_size=400))
def test_text_that_continues_no_table_is_cut_as_it_is(size: int, prose: str, patients: list[Person]) -> None:
    """A table without a header (its first line is data), prose: the parts, put back together, are
    the text itself. After a blank line, the table before it goes on no more: its five rows are
    the only ones read with its labels, although the headless rows have its width."""
    headless = "\n".join(";".join(_cells(p, i)) for i, p in enumerate(patients[:40])) + "\n"
    for text in (headless, prose):
        assert "".join(split(text, size)) == text
    parts = split(csv_table(patients[:5]) + "\n" + prose + "\n" + headless, size)
    assert sum(labelled(rec) for rec in read_parts(parts)) == 5


def test_a_part_after_a_blank_line_or_a_new_statement_carries_nothing(patients: list[Person]) -> None:
    table = csv_table(patients[:30])
    text = table + "\n" + "Compte rendu sans tableau.\n" * 40
    parts = split(text, len(table) - 50)
    assert parts[1].startswith("\nCompte rendu")
    two = sql_insert(patients[:20]) + sql_insert(patients[20:40]).removeprefix("-- dump\n\n")
    cut = two.index("INSERT", 20)
    assert "".join(split(two, cut - 5)) == two, "a part starting with its own INSERT carries no other one"


def test_a_file_read_in_chunks_carries_the_header_to_each(monkeypatch: pytest.MonkeyPatch,
                                                         patients: list[Person]) -> None:
    monkeypatch.setattr(documents, "CHUNK", 2048)
    text = csv_table(patients[:80])
    data = text.encode()
    docs = [d for d in documents.stream_documents(io.BytesIO(data), "dump.csv", Limits(), len(data))
            if isinstance(d, Document)]
    assert len(docs) > 2
    assert "".join(d.text for d in docs) == text, "the text itself is unchanged"
    assert [d.head for d in docs] == [""] + [";".join(LABELS) + "\n"] * (len(docs) - 1)
    read = [rec for d in docs for rec in records.read(d.head + d.text).records]
    assert len(read) == 80 and all(labelled(rec) for rec in read)


def test_names_and_birth_dates_apart_are_matched_in_every_chunk(monkeypatch: pytest.MonkeyPatch, scan: Scan,
                                                                patients: list[Person]) -> None:
    """Through the scanning path: no identifier, the names and the birth date four columns apart,
    the file read in chunks much smaller than it."""
    monkeypatch.setattr(documents, "CHUNK", 1024)
    people = [p for p in patients if p.birth_date][:100]
    rows = [[strip_accents(p.last_name).upper(), "URG", "2023-05-12", "PARIS", p.first_name, "RAS", p.birth_date]
            for p in people]
    text = ";".join(LABELS) + "\n" + "\n".join(";".join(r) for r in rows) + "\n"
    assert len(text) > 4 * 1024
    found = scan(text, "export.csv")
    assert set(found) == {p.ipp for p in people}
    assert all(set(fields) == {"date", "first_name", "last_name"} for fields in found.values())


def test_an_html_table_read_in_chunks_keeps_its_header(monkeypatch: pytest.MonkeyPatch, scan: Scan,
                                                       patients: list[Person]) -> None:
    """A web export of one cell per line, no blank line, larger than a chunk: every chunk after the
    first continues the table, and its rows are read with the ``<th>`` labels the first one held
    (before, they were text: one value per line, names never beside a birth date, all lost)."""
    monkeypatch.setattr(documents, "CHUNK", 2048)
    people = [p for p in patients if p.birth_date][:60]
    text = html_table(people)
    data = text.encode()
    docs = [d for d in documents.stream_documents(io.BytesIO(data), "export.html", Limits(), len(data))
            if isinstance(d, Document)]
    assert len(docs) > 3 and "".join(d.text for d in docs) == text
    assert all(d.head.startswith('<table class="export">') for d in docs[1:])
    found = scan(text, "export.html")
    assert set(found) == {p.ipp for p in people}
    assert all(set(fields) == {"date", "first_name", "last_name"} for fields in found.values())


@pytest.mark.parametrize("wrapped", [False, True], ids=["array", "wrapper object"])
def test_minified_json_longer_than_four_chunks_loses_no_record(monkeypatch: pytest.MonkeyPatch, scan: Scan,
                                                               patients: list[Person], wrapped: bool) -> None:
    """An API's dump: one JSON line of many MB. Past four chunks the line was cut anywhere: each
    part after the first began inside an object and was read as text, where names and a birth date
    far apart are lost, and a wrapper object cut short lost its first part too (19 and 0 of 36
    people planted in an 84 MB export). It is now cut between two objects, and a part read on
    past its first object."""
    monkeypatch.setattr(documents, "CHUNK", 1024)
    people = [p for p in patients if p.birth_date][:120]
    rows = [{"id": f"D{i:05d}", "nom": p.last_name, "ville": "Créteil", "date_visite": "2023-11-14",
             "prenom": p.first_name, "date_naissance": p.birth_date} for i, p in enumerate(people)]
    text = json.dumps({"export": "patients", "rows": rows} if wrapped else rows, ensure_ascii=False)
    assert "\n" not in text and len(text) > 2 * 4 * 1024
    found = scan(text, "export.json")
    assert set(found) == {p.ipp for p in people}
    assert all(set(fields) == {"date", "first_name", "last_name"} for fields in found.values())


@pytest.mark.parametrize("fmt", ["pma_xml", "mysql_vertical", "kv_lines", "hprim_letters", "psql_expanded",
                                 "vcard", "hl7", "yaml", "xml", "json_pretty"])
def test_records_of_every_form_survive_the_cuts_of_a_large_file(monkeypatch: pytest.MonkeyPatch, scan: Scan,
                                                               patients: list[Person], fmt: str) -> None:
    """A file larger than a chunk is read in pieces. Cut inside a record, a record's names went to one
    piece and its birth date to the next (mysql's \\G rows, a log's indented dumps, HPRIM letters,
    whose records hold blank lines); and a piece of phpMyAdmin's XML export began with a row's
    ``<table name=...>``, taken for HTML: every row after the first piece was lost."""
    monkeypatch.setattr(documents, "CHUNK", 2048)
    people = [p for p in patients if p.birth_date][:100]
    text = FORMATS[fmt]([{"id": f"D{i:05d}", "last": p.last_name, "city": "Créteil", "visit": "2023-11-14",
                          "first": p.first_name, "dob": p.birth_date} for i, p in enumerate(people)])
    assert len(text) > 4 * 2048
    assert set(scan(text, "export.txt")) == {p.ipp for p in people}


@pytest.mark.parametrize("fmt", ["xml", "pma_xml", "mysqldump_xml", "html_vertical", "html"])
def test_minified_xml_or_html_longer_than_four_chunks_loses_no_record(monkeypatch: pytest.MonkeyPatch, scan: Scan,
                                                                      patients: list[Person], fmt: str) -> None:
    """An export written on one line (a serializer's default): cut anywhere past four chunks, each
    piece after the first began inside an element and was read as text (at 64 kB chunks, 2 to 4 of
    36 people planted in 2-5 MB of such XML were found). A line of many MB is now written one element
    a line, as pretty-printed, and cut between two records."""
    monkeypatch.setattr(documents, "CHUNK", 8192)
    people = [p for p in patients if p.birth_date][:200]
    text = FORMATS[fmt]([{"id": f"D{i:05d}", "last": p.last_name, "city": "Créteil", "visit": "2023-11-14",
                          "first": p.first_name, "dob": p.birth_date} for i, p in enumerate(people)]).replace("\n", "")
    assert len(text) > 2 * 8192
    assert set(scan(text, "export.xml")) == {p.ipp for p in people}


def test_an_html_table_longer_than_8_mb_loses_no_row() -> None:
    """A document read from a chunked file can hold 10 MB of one table (a chunk and what the cut
    before it left). The table's end was looked for within 8 MB only: the rows after that, and any
    text after the table, were neither records nor text (4,200 of 60,000 rows of a 16 MB export)."""
    rows = "".join(f"<tr><td>R{i:07d}</td><td>x</td></tr>\n" for i in range(330_000))
    text = "<table>\n<tr><th>ref</th><th>note</th></tr>\n" + rows + "</table>\nFIN du document 42\n"
    assert len(text) > 9_000_000
    split = records.read(text)
    refs = {value for rec in split.records for label, value in rec.fields if label == "ref"}
    assert len(refs) == 330_000 and "R0329999" in refs
    assert "FIN du document 42" in split.text
