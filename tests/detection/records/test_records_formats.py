"""Structured leaks read as records (issue 10): a case table per format, matched in process against
one imported dataset. Each case is written in every format; the refs reported must be exactly
those expected (nothing more: no new false records)."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from lw_formats import FORMATS, FR, Row, xlsx_bytes
from lw_records import BRETON, COSTA, JULIE, ROBIN_A, ROBIN_B, Scan
from stdnum.fr import nir as stdnum_nir
from synth import OVERSEAS_MOBILE, PHONE_PLACEHOLDERS, Person, fr_date, strip_accents, typo, usable_phone

from leakwatch import pipeline
from leakwatch.app import Services
from leakwatch.detection import records
from leakwatch.models import Item


def dossier(p: Person) -> str:
    """A dossier number, digits as hospitals give them (the near-name people's refs end in their
    names: ``IPPJULIE``, which no export writes)."""
    return "D" + str(zlib.crc32(p.ipp.encode()) % 1_000_000).zfill(6)


def row(p: Person, **override: str) -> Row:
    base = {"id": dossier(p), "last": p.last_name, "city": "Créteil", "ward": "Cardiologie",
            "first": p.first_name, "visit": "2023-11-14", "dob": fr_date(p.birth)}
    base.update(override)
    return {k: v for k, v in base.items() if v}


def other_nir(p: Person, nia: bool = False, years: int = 0) -> str:
    """A valid number of someone born the same month (``years`` earlier), not ``p``'s (nor any
    record's: the body is drawn from the tail of the register)."""
    born = f"{(int(p.nir[1:3]) - years) % 100:02d}{p.nir[3:5]}"
    body = f"{'8' if nia else p.nir[0]}{born}99{987 if nia else 986}{p.nir[10:13]}"
    return body + stdnum_nir.calc_check_digits(body)


@dataclass(frozen=True)
class Case:
    name: str
    rows: Callable[[list[Person]], list[Row]]
    expect: Callable[[list[Person]], dict[str, set[str]]]
    """Refs expected, each with the kinds of field that must be among those matched."""


NAMES_DATE = {"date", "first_name", "last_name"}

CASES = [
    Case("names and birth date far apart",
         lambda c: [row(c[0])], lambda c: {c[0].ipp: NAMES_DATE}),
    Case("upper case without accents, one typo",
         lambda c: [row(c[1], last=typo(strip_accents(c[1].last_name).upper()),
                        first=strip_accents(c[1].first_name).lower())],
         lambda c: {c[1].ipp: NAMES_DATE}),
    Case("with an identifier",
         lambda c: [row(c[2], email=c[2].email, nir=c[2].nir)],
         lambda c: {c[2].ipp: NAMES_DATE | {"email", "nir"}}),
    Case("identifier alone among labels",
         lambda c: [{"id": "D1", "city": "Paris", "phone": c[3].phone}],
         lambda c: {c[3].ipp: {"phone"}}),
    Case("two records' values never combine",
         lambda c: [row(c[4], first=c[5].first_name, dob=fr_date(c[5].birth)),
                    row(c[5], first=c[4].first_name, dob=fr_date(c[4].birth))],
         lambda c: {}),
    Case("a stranger with a record's birth date and last name",
         lambda c: [row(c[6], first=c[7].first_name)], lambda c: {}),
    Case("Julien is not Julie", lambda c: [row(JULIE, first="Julien")], lambda c: {}),
    Case("Juxie is Julie with a typo", lambda c: [row(JULIE, first="Juxie")], lambda c: {JULIE.ipp: NAMES_DATE}),
    Case("a longer last name holding the record's, with a typo, is another person",
         lambda c: [row(COSTA, last="Da Cxsta")], lambda c: {}),
    Case("the record's last name with a typo, the whole field",
         lambda c: [row(COSTA, last="Cxsta")], lambda c: {COSTA.ipp: NAMES_DATE}),
    Case("a row is the record its identifier names, not a homonym record's",
         lambda c: [row(ROBIN_A, nir=ROBIN_A.nir)], lambda c: {ROBIN_A.ipp: NAMES_DATE | {"nir"}}),
    Case("names and a birth date alone cannot tell homonym records apart",
         lambda c: [row(ROBIN_A)], lambda c: {ROBIN_A.ipp: NAMES_DATE, ROBIN_B.ipp: NAMES_DATE}),
    Case("a homonym whose row holds a NIR that is not the record's is another person",
         lambda c: [row(c[12], nir=other_nir(c[12])), row(ROBIN_A, nir=other_nir(ROBIN_A))], lambda c: {}),
    Case("a temporary number (NIA) contradicts no NIR",
         lambda c: [row(c[13], nir=other_nir(c[13], nia=True))], lambda c: {c[13].ipp: NAMES_DATE}),
    Case("a child's row with the NIR of the parent it is covered under (born another year) is the child",
         lambda c: [row(c[15], nir=other_nir(c[15], years=30))], lambda c: {c[15].ipp: NAMES_DATE}),
    Case("a compound first name written as one word",
         lambda c: [row(BRETON, first="ERNSTOTTO")], lambda c: {BRETON.ipp: NAMES_DATE}),
    Case("a compound first name with a typo on its hyphen",
         lambda c: [row(BRETON, first="ERNSTXOTTO")], lambda c: {BRETON.ipp: NAMES_DATE}),
    Case("a visit date is not a birth date",
         lambda c: [row(c[8], dob="01/01/2001", visit=c[8].birth_date)], lambda c: {}),
    Case("the last entry of a list holds an identifier only",
         lambda c: [row(c[16], phone=c[16].phone), {"phone": c[17].phone}],
         lambda c: {c[16].ipp: NAMES_DATE | {"phone"}, c[17].ipp: {"phone"}}),
    Case("many records, one planted",
         lambda c: [row(c[9], last="Zzyzx", first="Quentin") for _ in range(3)] + [row(c[10])]
         + [row(c[11], last="Xylo") for _ in range(3)],
         lambda c: {c[10].ipp: NAMES_DATE}),
]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_table(fmt: str, case: Case, scan: Scan, patients: list[Person]) -> None:
    text = FORMATS[fmt](case.rows(patients))
    found = scan(text)
    expected = case.expect(patients)
    assert set(found) == set(expected), (fmt, case.name, sorted(found))
    for ref, kinds in expected.items():
        assert kinds <= set(found[ref]), (fmt, case.name, found[ref])


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "sql_postgres", "xml"])
def test_a_record_without_a_nir_is_contradicted_by_none(fmt: str, scan: Scan, crowd: list[Person],
                                                       patients: list[Person]) -> None:
    """The export had no NIR for this patient (a placeholder): a NIR in the leak's row cannot say
    it is someone else, so the names and birth date stand."""
    p = next(p for p in crowd if not stdnum_nir.is_valid(p.nir) and len(p.nir) != 13 and p.birth_date
             and p not in patients and p.last_name and p.first_name)
    stranger = patients[14]
    found = scan(FORMATS[fmt]([row(p, nir=other_nir(stranger))]))
    assert found.keys() == {p.ipp} and set(found[p.ipp]) >= NAMES_DATE


def test_a_paste_mixes_formats_and_prose(scan: Scan, patients: list[Person]) -> None:
    """Each part of a paste is read as what it is."""
    a, b, c, d, e = patients[20:25]
    text = ("Voici ce que j'ai trouvé sur le forum, dump complet plus bas.\n\n"
            + FORMATS["csv"]([row(a)]) + "\nEt la suite en JSON :\n" + FORMATS["jsonl"]([row(b)])
            + "\n-- et la base\n" + FORMATS["sql_postgres"]([row(c)])
            + f"\nPour info {d.first_name} {d.last_name}, né le {fr_date(d.birth)}, est aussi dedans.\n"
            + FORMATS["xml"]([row(e)]))
    assert set(scan(text)) == {a.ipp, b.ipp, c.ipp, d.ipp, e.ipp}


@pytest.mark.parametrize("fmt,cut", [("json_pretty", "\n    {\n"), ("sql_mysql", "),("), ("xml", "  <patient>\n"),
                                     ("html", "<tr>\n"), ("csv", "\n")])
def test_a_truncated_structure_keeps_what_was_read(fmt: str, cut: str, scan: Scan, patients: list[Person]) -> None:
    a, b = patients[30:32]
    text = FORMATS[fmt]([row(a), row(b)])
    truncated = text[: text.rindex(cut) + len(cut) + 12]  # cut inside the last record
    assert a.ipp in scan(truncated)


def test_a_broken_quote_falls_back_to_text(scan: Scan, patients: list[Person]) -> None:
    a, b = patients[32:34]
    text = (f'nom,prenom,date_naissance\n"{a.last_name},{a.first_name},{fr_date(a.birth)}\n\n'
            f"{b.last_name.upper()} {b.first_name} {fr_date(b.birth)}\n")
    assert b.ipp in scan(text)


_CODE_WITH_PLACEHOLDERS = '''class closing:
    """Code like this:

        with closing(<module>.open(<arguments>)) as f:
            <block>

    is equivalent to this:

        f = <module>.open(<arguments>)
        try:
            <block>
        finally:
            f.close()
    """

    def __init__(self, thing):
        self.thing = thing

    def __exit__(self, *exc_info):
        self.thing.close()

'''
"""The standard library's docstrings write placeholders so; the bench's code blocks hold them."""


@pytest.mark.parametrize("fmt,read_as", [("html", "html"), ("sql_mysql", "sql"), ("csv", "csv"), ("xml", "xml"),
                                         ("mssql", "sql")])
def test_placeholders_in_code_are_no_xml_that_swallows_the_dumps_after_them(
        fmt: str, read_as: str, scan: Scan, patients: list[Person]) -> None:
    """A ``<block>`` alone on its line in code opens no XML document: read as one, it took in the
    code after it as its text, then an HTML export as XML (its header lost), then everything up to
    where the parse broke, SQL of the next block included, as text: 5 of 30 SQL Server rows of the
    bench, whose names and birth date stand apart, were lost."""
    a, b = patients[41:43]
    page = "<html><body><h1>export</h1>" if fmt == "html" else ""  # the page's start on the table's line
    text = (_CODE_WITH_PLACEHOLDERS + page + _render(fmt, [row(a)]) + "\n" + _CODE_WITH_PLACEHOLDERS
            + _render(fmt, [row(b)]))
    assert records.read(text).formats == {read_as: 2}
    assert set(scan(text)) == {a.ipp, b.ipp}


def _render(fmt: str, rows: list[Row]) -> str:
    if fmt == "mssql":
        cols = [k for k in ("id", "last", "city", "ward", "first", "visit", "dob") if k in rows[0]]
        return "".join("INSERT [dbo].[Patients] (" + ", ".join(f"[{FR[k]}]" for k in cols) + ") VALUES ("
                       + ", ".join("N'" + r[k].replace("'", "''") + "'" for k in cols) + ")\nGO\n" for r in rows)
    return FORMATS[fmt](rows)


@pytest.mark.parametrize("fmt", ["jsonl", "json_pretty", "fhir_ndjson", "mongosh_compact"])
@pytest.mark.parametrize("raw", ["C:\\Photos\\N12.jpg", "\\N", "l\\'hôpital", "Bât. A\tporte 3"],
                         ids=["windows path", "postgres NULL", "escaped quote", "tab"])
def test_json_a_careless_exporter_wrote_is_read(fmt: str, raw: str, scan: Scan, patients: list[Person]) -> None:
    """A backslash that escapes nothing JSON knows and a raw tab inside a string make the line
    invalid JSON: its record was lost (names and birth date far apart, no identifier)."""
    a, b = patients[40:42]
    text = FORMATS[fmt]([row(a, city="PLACEHOLDER"), row(b)]).replace("PLACEHOLDER", raw)
    assert set(scan(text)) == {a.ipp, b.ipp}


ODD_VALUES = {"csv": "Bât. A;porte 3", "csv_de": "Bât. A;porte 3", "tsv": "Bât. A\tporte 3",
              "markdown": "Bât. A|porte 3", "psql": "Bât. A|porte 3", "mysql_cli": "Bât. A|porte 3"}


@pytest.mark.parametrize("fmt", sorted(ODD_VALUES))
@pytest.mark.parametrize("odd", ["delimiter unquoted", "line break raw"])
def test_a_malformed_row_does_not_end_the_table(fmt: str, odd: str, scan: Scan, patients: list[Person]) -> None:
    """One row written by a careless exporter (a delimiter unquoted in a value, a line break written
    raw) ended the table: every row after it was read as text, where names and a birth date far
    apart are not matched (17 of 20 people lost here). The table now goes on past it; a row cut by
    a line break is joined again."""
    people = patients[50:70]
    rows = [row(p, city="PLACEHOLDER") if i == 3 else row(p) for i, p in enumerate(people)]
    value = ODD_VALUES[fmt] if odd == "delimiter unquoted" else "Bât. A\nporte 3"
    found = scan(FORMATS[fmt](rows).replace("PLACEHOLDER", value))
    expected = {p.ipp for i, p in enumerate(people) if i != 3 or odd == "line break raw"}
    assert expected <= set(found), sorted(p.ipp for p in people if p.ipp not in found)
    assert set(found) <= {p.ipp for p in people}


@pytest.mark.parametrize("fmt", ["xml", "xml_attributes", "pma_xml", "mysqldump_xml"])
@pytest.mark.parametrize("raw", ["Dupont & Fils", "caf&eacute; &copy; 2024"], ids=["bare ampersand", "HTML entities"])
def test_xml_a_hand_made_export_wrote_is_read(fmt: str, raw: str, scan: Scan, patients: list[Person]) -> None:
    """A bare ``&`` or an HTML entity XML does not know, as hand-made exports write them, stopped the
    parser: the record it stood in was lost (names and birth date apart, no identifier)."""
    people = patients[72:78]
    rows = [row(p, city="PLACEHOLDER") if i == 2 else row(p) for i, p in enumerate(people)]
    assert set(scan(FORMATS[fmt](rows).replace("PLACEHOLDER", raw))) == {p.ipp for p in people}


def test_rows_without_a_header_with_a_long_notes_column(scan: Scan, patients: list[Person]) -> None:
    """``SELECT ... INTO OUTFILE`` of a table with a notes column: a long field does not make the
    rows prose (bench/dumps.py's ``outfile`` form found 14 of 39,876 people before)."""
    people = patients[80:86]
    lines = [f"{strip_accents(p.last_name).upper()}\tURG\t2023-0{i + 1}-14\tPARIS\t{p.first_name}\t"
             f"{'RAS, ' * 20}\t{fr_date(p.birth)}" for i, p in enumerate(people)]
    assert set(scan("\n".join(lines) + "\n")) == {p.ipp for p in people}


def test_labels_and_timestamps_never_match(scan: Scan, patients: list[Person]) -> None:
    a = patients[35]
    text = ("nom;prenom;date_naissance;email;tel\n\n"
            f"{a.birth_date}T08:15:00Z INFO nom=prenom first_name=last_name dob=nom\n"
            f"last_name: first_name\nprenom: nom\n")
    assert scan(text) == {}


def test_pathological_input_falls_back_to_text(scan: Scan, patients: list[Person]) -> None:
    """Thousands of structures that never close: read as text, in linear time, and the person in
    the prose that follows is still found."""
    a = patients[36]
    text = ('{"a": [\n' * 3000 + "<note>\n" * 3000 + "INSERT INTO t VALUES ('x',\n" * 3000
            + f"{a.last_name.upper()} {a.first_name} {fr_date(a.birth)}\n")
    assert a.ipp in scan(text)


def test_a_table_across_a_chunk_boundary_keeps_its_header(scan: Scan, patients: list[Person]) -> None:
    """A file larger than one read chunk is cut at a blank line near the chunk's end, so a table
    after it is read whole, its header with its rows."""
    from leakwatch.detection.documents import CHUNK

    a = patients[37]
    filler = ("lorem ipsum dolor sit amet " * 37 + "\n") * (CHUNK // 1000 - 2)
    table = FORMATS["csv"]([row(patients[38 + i % 2], last="Zzyzx") for i in range(200)] + [row(a)])
    text = filler + "\n" + table
    assert len(filler) < CHUNK < len(text)
    assert set(scan(text)) == {a.ipp}


def test_a_spreadsheet_is_read_record_by_record(services: Services, patients: list[Person]) -> None:
    """A workbook's sheet comes out of documents.py as CSV text, its header first: its rows are
    read as records by their labels (names and birth date far apart, a visit date beside), and
    counted as such."""
    a, b = patients[60:62]
    rows = [row(p, last=f"Zzyzx{i}") for i, p in enumerate(patients[62:80])] + [row(a), row(b, email=b.email)]
    result = pipeline.scan_item(services, Item(source="test", key="export.xlsx", content=xlsx_bytes(rows),
                                               name="export.xlsx"))
    found = {f.ref: set(f.fields) for f in result.findings if f.type == "record"}
    assert set(found) == {a.ipp, b.ipp}
    assert found[a.ipp] >= NAMES_DATE and found[b.ipp] >= NAMES_DATE | {"email"}
    assert result.structured.get("csv") == len(rows), result.structured
    assert not result.skipped


def test_dirty_exports_overseas_mobiles_and_placeholders(scan: Scan, crowd: list[Person]) -> None:
    """The index holds the export as it is (main's synth): an overseas mobile alone among labels
    is matched by itself; a person whose export holds a placeholder phone is matched by names and
    birth date, and the placeholder written in the leak matches nobody."""
    overseas = next(p for p in crowd if p.phone[:4] in OVERSEAS_MOBILE and usable_phone(p)
                    and p.birth_written[:1].isdigit() and not p.birth_written.startswith("00/00"))
    placeholder = next(p for p in crowd if p.phone in PHONE_PLACEHOLDERS and p.phone
                       and p.birth_written[:1].isdigit() and not p.birth_written.startswith("00/00"))
    for fmt in ("csv", "jsonl", "html", "xml"):
        text = FORMATS[fmt]([{"id": "D1", "city": "Saint-Pierre", "phone": overseas.phone},
                             row(placeholder, phone=placeholder.phone)])
        found = scan(text)
        assert set(found) == {overseas.ipp, placeholder.ipp}, (fmt, sorted(found))
        assert set(found[overseas.ipp]) == {"phone"}
        assert set(found[placeholder.ipp]) >= NAMES_DATE


def test_a_small_json_export_is_read_object_by_object(scan: Scan, patients: list[Person]) -> None:
    """A JSON file read whole (8 MB or less) was flattened, each nested object on a line of its own:
    a MongoDB export's birth date (``{"$date": ...}``) or a name object stood apart from the rest of
    its record and nothing matched. The record reader reads each object whole."""
    import json

    a, b = patients[80:82]
    mongo = "".join(json.dumps(doc) + "\n" for doc in [
        {"_id": {"$oid": "5f1d7f0a"}, "lastName": a.last_name, "firstName": a.first_name,
         "birthDate": {"$date": f"{a.birth_date}T00:00:00.000Z"}, "ward": "URG"},
        {"_id": {"$oid": "5f1d7f0b"}, "lastName": "Zzyzx", "firstName": "Quentin",
         "birthDate": {"$date": "1990-01-01T00:00:00.000Z"}}])
    api = json.dumps([{"id": 7, "name": {"first": b.first_name, "last": b.last_name},
                       "meta": {"visit": "2023-11-14"}, "dob": fr_date(b.birth)}], indent=2)
    assert set(scan(mongo, "users.json")) == {a.ipp}
    assert set(scan(api, "patients.json")) == {b.ipp}


def test_sql_server_scripts_and_datetimes_at_midnight(scan: Scan, patients: list[Person]) -> None:
    """SQL Server's "Generate Scripts" write no INTO, bracket their names, quote N'...' and CAST
    their dates; a dump's INSERT without a column list, and no CREATE TABLE in the paste, stores a
    birth date as a datetime at midnight: both are read."""
    a, b = patients[84:86]
    ssms = ("SET IDENTITY_INSERT [dbo].[Patients] ON\nGO\n"
            f"INSERT [dbo].[Patients] ([Id], [Nom], [Prenom], [Service], [DateNaissance]) VALUES (1, "
            f"N'{a.last_name.upper()}', N'{a.first_name}', N'URG', "
            f"CAST(N'{a.birth_date}T00:00:00.000' AS DateTime))\nGO\n")
    bare = (f"INSERT INTO `patients` VALUES (1,'{b.last_name}','{b.first_name}','{b.birth_date} 00:00:00',"
            "'2023-11-14 10:12:00'),(2,'Zzyzx','Quentin','1990-01-01 00:00:00','2023-11-14 10:13:00');\n")
    assert set(scan(ssms, "export.sql")) == {a.ipp}
    assert set(scan(bare, "dump.sql")) == {b.ipp}


def test_a_table_written_column_by_column_is_read_row_by_row(scan: Scan, patients: list[Person]) -> None:
    """pandas' default ``DataFrame.to_json()``: each column an object of its values by row index.
    Each row is a record; a column is never one (its values are several people's)."""
    import json

    a, b, c = patients[86:89]
    table = {"nom": [a.last_name, "Zzyzx", b.last_name], "prenom": [a.first_name, "Quentin", c.first_name],
             "ddn": [a.birth_date, "1990-01-01", b.birth_date], "service": ["URG", "URG", "CARDIO"]}
    text = json.dumps({col: {str(i): v for i, v in enumerate(values)} for col, values in table.items()})
    assert set(scan(text, "export.json")) == {a.ipp}  # b's last name and date with c's first name: nobody


def test_a_dump_that_went_through_a_wrong_encoding_is_read_as_it_was_meant(scan: Scan, crowd: list[Person],
                                                                           patients: list[Person]) -> None:
    """Every accented name of the dump written JÃ©rÃ´me for Jérôme (UTF-8 read as Windows-1252 and
    saved again): before, a name with two accents never matched; the text is repaired first."""
    people = [p for p in patients if not (p.last_name + p.first_name).isascii() and p.birth_date][:6]
    assert len(people) >= 4
    text = "nom;prenom;ddn\n" + "".join(f"{p.last_name};{p.first_name};{fr_date(p.birth)}\n" for p in people)
    mojibake = text.encode("utf-8").decode("cp1252", errors="replace")
    assert mojibake != text
    found = scan(mojibake, "export.csv")
    assert set(found) == {p.ipp for p in people}
