"""Renderers of rows (fields by meaning) in every structured form a leak takes, with their labels."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from xml.sax.saxutils import escape

Row = dict[str, str]

FR = {"last": "nom", "first": "prenom", "dob": "date_naissance", "visit": "date_visite", "city": "ville",
      "ward": "service", "id": "dossier", "email": "email", "nir": "num_secu", "phone": "tel"}
EN = {"last": "last_name", "first": "first_name", "dob": "birth_date", "visit": "visit_date", "city": "city",
      "ward": "department", "id": "id", "email": "mail", "nir": "nir", "phone": "mobile"}
ORDER = ["id", "last", "city", "ward", "first", "visit", "dob", "email", "nir", "phone"]
"""Names and birth date never side by side."""


def _cols(rows: list[Row]) -> list[str]:
    return [k for k in ORDER if any(k in r for r in rows)]


def csv_text(rows: list[Row], labels: dict[str, str] = FR, delimiter: str = ";",
             quoting: int = csv.QUOTE_MINIMAL) -> str:
    cols = _cols(rows)
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n", quoting=quoting)
    w.writerow([labels[k] for k in cols])
    w.writerows([[r.get(k, "") for k in cols] for r in rows])
    return buf.getvalue()


def tsv_text(rows: list[Row]) -> str:
    return csv_text(rows, EN, "\t", csv.QUOTE_ALL)


def kv_text(rows: list[Row], labels: dict[str, str] = EN) -> str:
    def value(v: str) -> str:
        return json.dumps(v, ensure_ascii=False) if " " in v else v

    return "".join(f"2024-05-03T10:{i:02d}:00Z INFO app: patient updated "
                   + " ".join(f"{labels[k]}={value(r[k])}" for k in _cols(rows) if k in r) + "\n"
                   for i, r in enumerate(rows))


def jsonl_text(rows: list[Row], labels: dict[str, str] = EN) -> str:
    return "".join(json.dumps({"ts": "2024-05-03T10:00:00Z", "patient": {labels[k]: r[k] for k in _cols(rows)
                                                                         if k in r}}, ensure_ascii=False) + "\n"
                   for r in rows)


def json_pretty_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    objs = [{"dossier": r.get("id"), "patient": {labels[k]: r[k] for k in _cols(rows) if k in r and k != "id"}}
            for r in rows]
    return json.dumps({"export": "patients", "rows": objs}, indent=2, ensure_ascii=False) + "\n"


def sql_mysql_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    cols = _cols(rows)

    def lit(v: str) -> str:
        return "NULL" if not v else "'" + v.replace("'", "\\'") + "'"

    return ("INSERT INTO `patients` (" + ", ".join(f"`{labels[k]}`" for k in cols) + ") VALUES "
            + ",".join("(" + ",".join(lit(r.get(k, "")) for k in cols) + ")" for r in rows) + ";\n")


def sql_postgres_text(rows: list[Row], labels: dict[str, str] = EN) -> str:
    cols = _cols(rows)

    def lit(v: str) -> str:
        return "NULL" if not v else "'" + v.replace("'", "''") + "'"

    return "".join("INSERT INTO public.patients (" + ", ".join(f'"{labels[k]}"' for k in cols) + ") VALUES ("
                   + ", ".join(lit(r.get(k, "")) for k in cols) + ");\n" for r in rows)


def sql_create_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    """A MySQL dump: ``CREATE TABLE`` names the columns, ``INSERT`` has no column list."""
    cols = _cols(rows)
    create = ("CREATE TABLE `patients` (\n" + "".join(f"  `{labels[k]}` varchar(64) DEFAULT NULL,\n" for k in cols)
              + "  PRIMARY KEY (`" + labels[cols[0]] + "`)\n) ENGINE=InnoDB;\n")
    return create + sql_mysql_text(rows, labels).replace(
        " (" + ", ".join(f"`{labels[k]}`" for k in cols) + ")", "", 1)


def sql_copy_text(rows: list[Row], labels: dict[str, str] = EN) -> str:
    cols = _cols(rows)
    return ("COPY public.patients (" + ", ".join(labels[k] for k in cols) + ") FROM stdin;\n"
            + "".join("\t".join(r.get(k) or "\\N" for k in cols) + "\n" for r in rows) + "\\.\n")


def html_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    cols = _cols(rows)
    head = "".join(f"<th>{labels[k]}</th>" for k in cols)
    body = "".join("<tr>\n" + "".join(f"  <td>{escape(r.get(k, ''))}</td>\n" for k in cols) + "</tr>\n"
                   for r in rows)
    return f"<p>Export</p>\n<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>\n"


def xml_text(rows: list[Row], labels: dict[str, str] = EN) -> str:
    body = "".join("  <patient>\n" + "".join(f"    <{labels[k]}>{escape(r[k])}</{labels[k]}>\n"
                                              for k in _cols(rows) if k in r) + "  </patient>\n" for r in rows)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<patients>\n{body}</patients>\n'


def xml_attributes_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    body = "".join("  <patient " + " ".join(f'{labels[k]}="{escape(r[k])}"' for k in _cols(rows) if k in r)
                   + "/>\n" for r in rows)
    return f"<patients>\n{body}</patients>\n"


def colon_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    """A form printout: ``Nom : DUPONT`` lines, one block per person."""
    return "\n".join("".join(f"{labels[k].replace('_', ' ').capitalize()} : {r[k]}\n" for k in _cols(rows) if k in r)
                     for r in rows)


def vcard_text(rows: list[Row]) -> str:
    """An address book's export: N is ``last;first;;;``, the other fields as properties."""
    props = {"id": "UID", "city": "X-CITY", "ward": "X-WARD", "visit": "X-VISIT-DATE", "dob": "BDAY",
             "email": "EMAIL;TYPE=INTERNET", "nir": "X-NIR", "phone": "TEL;TYPE=CELL"}
    cards = []
    for r in rows:
        lines = ["BEGIN:VCARD", "VERSION:3.0", f"N:{r.get('last', '')};{r.get('first', '')};;;"]
        lines += [f"{props[k]}:{r[k]}" for k in _cols(rows) if k in r and k in props]
        cards.append("\r\n".join([*lines, "END:VCARD"]) + "\r\n")
    return "".join(cards)


def hl7_text(rows: list[Row]) -> str:
    """HL7 v2 admissions as an integration engine logs them: MSH, PID (names ``last^first``, birth
    date ``YYYYMMDD``, NIR as an INS in PID-3, phone in PID-13), PV1 with the visit date."""
    def compact(written: str) -> str:
        day, month, year = written.split("/") if "/" in written else (written[8:10], written[5:7], written[:4])
        return f"{year}{month}{day}"

    out = []
    for i, r in enumerate(rows):
        ids = f"{r.get('id', 'D0')}^^^HOSP^PI" + (f"~{r['nir']}^^^ASIP-SANTE-INS-NIR^INS" if "nir" in r else "")
        contact = r.get("phone", "") + (f"^NET^Internet^{r['email']}" if "email" in r else "")
        pid = ["PID", "1", "", ids, "", f"{r.get('last', '')}^{r.get('first', '')}", "",
               compact(r["dob"]) if "dob" in r else "", "U", "", "", f"^^{r.get('city', '')}", "", contact]
        visit = compact(r["visit"]) if "visit" in r else ""
        out.append(f"MSH|^~\\&|SIH|HOSP|EAI|HOSP|{visit}1015||ADT^A01|M{i:05d}|P|2.5\r" + "|".join(pid)
                   + f"\rPV1|1|I|{r.get('ward', '')}|||||||||||||||||||||||||||||||||||||||||{visit}\r\n")
    return "".join(out)


FORMATS: dict[str, Callable[[list[Row]], str]] = {
    "csv": csv_text, "tsv": tsv_text, "kv": kv_text, "jsonl": jsonl_text, "json_pretty": json_pretty_text,
    "sql_mysql": sql_mysql_text, "sql_postgres": sql_postgres_text, "sql_create": sql_create_text,
    "sql_copy": sql_copy_text, "html": html_text, "xml": xml_text, "xml_attributes": xml_attributes_text,
    "colon": colon_text, "vcard": vcard_text, "hl7": hl7_text,
}


def xlsx_bytes(rows: list[Row], labels: dict[str, str] = FR, sheet: str = "Patients") -> bytes:
    """A minimal xlsx workbook of one sheet, the header row first, cells as inline strings (as an
    export tool writes them): documents.py reads it as CSV text per sheet."""
    cols = _cols(rows)
    table = [[labels[k] for k in cols], *([r.get(k, "") for k in cols] for r in rows)]
    cells = "".join(f'<row r="{i}">' + "".join(f'<c r="{chr(65 + j)}{i}" t="inlineStr"><is><t>{escape(v)}</t></is></c>'
                                             for j, v in enumerate(row) if v) + "</row>"
                    for i, row in enumerate(table, 1))
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rels = "http://schemas.openxmlformats.org/package/2006/relationships"
    office = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
        'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="{rels}"><Relationship Id="rId1" '
        f'Type="{office}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook xmlns="{main}" xmlns:r="{office}"><sheets>'
        f'<sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0"?><Relationships xmlns="{rels}"><Relationship '
        f'Id="rId1" Type="{office}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0"?><worksheet xmlns="{main}"><sheetData>{cells}'
        "</sheetData></worksheet>",
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return buf.getvalue()
