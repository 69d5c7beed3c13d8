"""Renderers of rows (fields by meaning) in every structured form a leak takes, with their labels."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from base64 import b64encode
from collections.abc import Callable
from xml.sax.saxutils import escape, quoteattr

Row = dict[str, str]

FR = {"last": "nom", "first": "prenom", "dob": "date_naissance", "visit": "date_visite", "city": "ville",
      "ward": "service", "id": "dossier", "email": "email", "nir": "num_secu", "phone": "tel"}
EN = {"last": "last_name", "first": "first_name", "dob": "birth_date", "visit": "visit_date", "city": "city",
      "ward": "department", "id": "id", "email": "mail", "nir": "nir", "phone": "mobile"}
DE = {"last": "Nachname", "first": "Vorname", "dob": "Geburtsdatum", "visit": "Besuchsdatum", "city": "Wohnort",
      "ward": "Station", "id": "Fallnummer", "email": "E-Mail", "nir": "Sozialversicherungsnummer", "phone": "Telefon"}
ES = {"last": "apellidos", "first": "nombre", "dob": "fecha_nacimiento", "visit": "fecha_visita", "city": "ciudad",
      "ward": "servicio", "id": "expediente", "email": "correo", "nir": "nir", "phone": "telefono"}
IT = {"last": "cognome", "first": "nome_proprio", "dob": "data_nascita", "visit": "data_visita", "city": "citta",
      "ward": "reparto", "id": "cartella", "email": "email", "nir": "codice_nir", "phone": "cellulare"}
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


_FILLER = {"id": "D999999", "last": "Zzyzx", "first": "Quentin", "city": "Albi", "ward": "Accueil",
           "visit": "2023-11-14", "dob": "03/04/1950"}


def headerless_text(rows: list[Row], delimiter: str = ";") -> str:
    """Rows without their header, as MySQL's ``SELECT ... INTO OUTFILE`` or ``COPY ... TO`` write
    them; two rows of a stranger whom no record matches after them, as a table has more rows."""
    cols = _cols(rows)
    filler = {k: _FILLER.get(k, "") for k in cols}
    return csv_text([*rows, filler, filler], FR, delimiter).split("\n", 1)[1]


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


def _grid(rows: list[Row], labels: dict[str, str]) -> tuple[list[str], list[list[str]], list[int]]:
    cols = _cols(rows)
    table = [[labels[k] for k in cols], *([r.get(k, "") for k in cols] for r in rows)]
    widths = [max(len(line[j]) for line in table) for j in range(len(cols))]
    return cols, table, widths


def _padded(cells: list[str], widths: list[int], sep: str) -> str:
    return sep.join(c.ljust(w) for c, w in zip(cells, widths, strict=True))


def mysql_cli_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    """The mysql client's table, as pasted from a terminal: ``+----+`` rules, ``| a | b |`` rows."""
    _, table, widths = _grid(rows, labels)
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+\n"
    lines = ["| " + _padded(cells, widths, " | ") + " |\n" for cells in table]
    return ("mysql> SELECT * FROM patients;\n" + rule + lines[0] + rule + "".join(lines[1:]) + rule
            + f"{len(rows)} rows in set (0.00 sec)\n")


def psql_text(rows: list[Row], labels: dict[str, str] = EN) -> str:
    """psql's aligned output: `` a | b`` rows under a ``---+---`` rule, ``(n rows)`` after."""
    _, table, widths = _grid(rows, labels)
    lines = [" " + _padded(cells, widths, " | ") + "\n" for cells in table]
    rule = "-" + "-+-".join("-" * w for w in widths) + "-\n"
    return lines[0] + rule + "".join(lines[1:]) + f"({len(rows)} rows)\n"


def markdown_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    """A Markdown table, as forums and pastes render them."""
    _, table, _ = _grid(rows, labels)
    line = lambda cells: "| " + " | ".join(cells) + " |\n"  # noqa: E731
    return line(table[0]) + "|" + "|".join("---" for _ in table[0]) + "|\n" + "".join(line(r) for r in table[1:])


def ldif_text(rows: list[Row]) -> str:
    """An LDAP directory's LDIF export, as ldapsearch writes it: attributes in no fixed order, a
    multi-valued ``objectClass`` met again midway, long values folded onto lines that begin with a
    space, values that are not plain ASCII in base64 after two colons, a blank line between entries."""
    attrs = {"id": "uid", "last": "sn", "first": "givenName", "city": "l", "ward": "ou", "dob": "birthDate",
             "visit": "modifyTimestamp", "email": "mail", "nir": "employeeNumber", "phone": "mobile"}
    out = []
    for r in rows:
        lines = [f"dn: uid={r.get('id', 'x')},ou=people,dc=example,dc=org", "objectClass: top", "objectClass: person"]
        for k in ORDER:
            if k in r:
                value = r[k]
                lines.append(f"{attrs[k]}: {value}" if value.isascii()
                             else f"{attrs[k]}:: {b64encode(value.encode()).decode()}")
            if k == "last":
                lines += ["description: Compte patient cree par l'import du portail de prise de",
                          " rendez-vous, a verifier", "objectClass: inetOrgPerson",
                          "jpegPhoto:: /9j/4AAQSkZJRgABAQEASABIAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQE",
                          " BAUKBwcGCAwKDAwLCgsLDQ4SEA0OEQ4LCxAWEBETFBUVFQwPFxgWFBgSFBUU/9k="]
        out.append("\n".join(lines) + "\n")
    return "\n".join(out)


def yaml_text(rows: list[Row], labels: dict[str, str] = EN) -> str:
    """A YAML list of mappings."""
    return "patients:\n" + "".join(
        "".join(("  - " if i == 0 else "    ") + f"{labels[k]}: {r[k]}\n"
                for i, k in enumerate(k for k in _cols(rows) if k in r)) for r in rows)


def dl_list_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    """One HTML definition list of everyone, a person's terms after another's (a page listing people)."""
    return "<dl>\n" + "".join(f"  <dt>{labels[k]}</dt><dd>{escape(r[k])}</dd>\n"
                               for r in rows for k in _cols(rows) if k in r) + "</dl>\n"


def fixed_width_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    """A fixed-width export, columns padded with spaces, a header line."""
    _, table, widths = _grid(rows, labels)
    return "".join(_padded(cells, widths, "  ").rstrip() + "\n" for cells in table)


def dl_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    """An HTML definition list per person, as a web page prints a record."""
    return "".join("<dl>\n" + "".join(f"  <dt>{labels[k]}</dt><dd>{escape(r[k])}</dd>\n" for k in _cols(rows) if k in r)
                   + "</dl>\n" for r in rows)


def mysql_vertical_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    """The mysql client's vertical output (``\\G``): a starred rule per row, labels right-aligned."""
    cols = _cols(rows)
    width = max(len(labels[k]) for k in cols)
    return "".join(f"{'*' * 27} {i}. row {'*' * 27}\n" + "".join(f"{labels[k].rjust(width)}: {r.get(k, 'NULL')}\n"
                                                                for k in cols) for i, r in enumerate(rows, 1))


def psql_expanded_text(rows: list[Row], labels: dict[str, str] = EN) -> str:
    """psql's expanded output (``\\x``): a ``-[ RECORD n ]`` rule per row, ``label | value`` lines."""
    cols = _cols(rows)
    width = max(len(labels[k]) for k in cols)
    return "".join(f"-[ RECORD {i} ]" + "-" * (width - 8) + "+" + "-" * 20 + "\n"
                   + "".join(f"{labels[k].ljust(width)} | {r.get(k, '')}\n" for k in cols)
                   for i, r in enumerate(rows, 1))




def sqlplus_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    """Oracle SQL*Plus: upper-case labels padded, a dashes rule under them."""
    _, table, widths = _grid(rows, labels)
    table[0] = [c.upper() for c in table[0]]
    return ("SQL> select * from patients;\n\n" + _padded(table[0], widths, " ").rstrip() + "\n"
            + " ".join("-" * w for w in widths) + "\n"
            + "".join(_padded(r, widths, " ").rstrip() + "\n" for r in table[1:]) + f"\n{len(rows)} rows selected.\n")


def sqlcmd_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    """SQL Server sqlcmd: labels padded, a dashes rule, a rows-affected footer."""
    _, table, widths = _grid(rows, labels)
    return (_padded(table[0], widths, " ") + "\n" + " ".join("-" * w for w in widths) + "\n"
            + "".join(_padded(r, widths, " ") + "\n" for r in table[1:]) + f"\n({len(rows)} rows affected)\n")


def _sqlite_literal(v: str) -> str:
    return "'" + v.replace("'", "''") + "'" if v else "NULL"


def sqlite_dump_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    """sqlite3's ``.dump``: ``INSERT INTO t VALUES(...)`` after the ``CREATE TABLE``."""
    cols = _cols(rows)
    create = 'CREATE TABLE patients(' + ",".join(f'"{labels[k]}" TEXT' for k in cols) + ");\n"
    return ("PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n" + create
            + "".join("INSERT INTO patients VALUES(" + ",".join(_sqlite_literal(r.get(k, "")) for k in cols) + ");\n"
                      for r in rows)
            + "COMMIT;\n")


def _mongo_value(k: str, v: str) -> str:
    if k in ("dob", "visit"):
        d = v if "-" in v[:5] else f"{v[6:10]}-{v[3:5]}-{v[0:2]}"
        return f'ISODate("{d}T00:00:00.000Z")'
    return "'" + v.replace("'", "\\'") + "'"


def mongosh_text(rows: list[Row], labels: dict[str, str] = EN) -> str:
    """mongosh's pretty print: unquoted keys, single quotes, ObjectId and ISODate."""
    cols = _cols(rows)
    docs = ["  {\n    _id: ObjectId('65f1c0ffee0000000000000" + str(i) + "'),\n"
            + ",\n".join(f"    {labels[k]}: {_mongo_value(k, r[k])}" for k in cols if k in r) + "\n  }"
            for i, r in enumerate(rows)]
    return "[\n" + ",\n".join(docs) + "\n]\n"


def mongosh_compact_text(rows: list[Row], labels: dict[str, str] = EN) -> str:
    """mongosh's print of a short document: all of it on one line."""
    cols = _cols(rows)
    return "".join("{ _id: ObjectId('65f1c0ffee000000000000" + f"{i:02d}" + "'), "
                   + ", ".join(f"{labels[k]}: {_mongo_value(k, r[k])}" for k in cols if k in r) + " }\n"
                   for i, r in enumerate(rows))


def csv_title_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    """A title line and a blank one before the header."""
    return "Export patients du 03/05/2024 - service Cardiologie\n\n" + csv_text(rows, labels)


def excel_sep_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    """Excel's ``sep=;`` line before the header."""
    return "sep=;\n" + csv_text(rows, labels)


def csv_bom_crlf_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    """A byte-order mark and Windows line ends."""
    return "\ufeff" + csv_text(rows, labels).replace("\n", "\r\n")


def pma_xml_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    """phpMyAdmin's XML export: a ``<table name="...">`` per row, a ``<column name="...">`` per field."""
    cols = _cols(rows)
    body = "".join('        <table name="patients">\n' + "".join(
        f'            <column name={quoteattr(labels[k])}>{escape(r.get(k, ""))}</column>\n' for k in cols)
        + "        </table>\n" for r in rows)
    return ('<?xml version="1.0" encoding="utf-8"?>\n<pma_xml_export version="1.0">\n'
            '    <database name="hopital">\n' + body + "    </database>\n</pma_xml_export>\n")


def mysqldump_xml_text(rows: list[Row], labels: dict[str, str] = EN) -> str:
    """``mysqldump --xml``: a ``<row>`` per row, a ``<field name="...">`` per column, ``xsi:nil`` for NULL."""
    cols = _cols(rows)
    body = "".join("\t<row>\n" + "".join(
        (f"\t\t<field name={quoteattr(labels[k])}>{escape(r[k])}</field>\n" if r.get(k) else
         f'\t\t<field name={quoteattr(labels[k])} xsi:nil="true" />\n') for k in cols) + "\t</row>\n" for r in rows)
    return ('<?xml version="1.0"?>\n<mysqldump xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
            '<database name="hopital">\n\t<table_data name="patients">\n' + body
            + "\t</table_data>\n</database>\n</mysqldump>\n")


def json_split_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    """pandas' ``to_json(orient="split")``: the column names once, each row an array."""
    cols = _cols(rows)
    return json.dumps({"columns": [labels[k] for k in cols], "index": list(range(len(rows))),
                       "data": [[r.get(k) for k in cols] for r in rows]}, ensure_ascii=False) + "\n"


def json_fields_text(rows: list[Row], labels: dict[str, str] = EN) -> str:
    """A BI tool's or an API's export: a list of field objects, then the rows as arrays."""
    cols = _cols(rows)
    return json.dumps({"meta": {"count": len(rows)}, "fields": [{"name": labels[k], "type": "string"} for k in cols],
                       "rows": [[r.get(k) for k in cols] for r in rows]}, ensure_ascii=False, indent=2) + "\n"


def json_values_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    """Google Sheets' API (``values``): arrays, the header row first."""
    cols = _cols(rows)
    table = [[labels[k] for k in cols]] + [[r.get(k, "") for k in cols] for r in rows]
    return json.dumps({"range": "Patients!A1:J100", "values": table}, ensure_ascii=False) + "\n"


def hprim_text(rows: list[Row]) -> str:
    """HPRIM Santé, as a French laboratory sends results: H header, P patient (P-5 the NIR as the
    third patient id, ``NOM^PRENOM``, ``YYYYMMDD``, the phone in P-13), OBR and OBX for the test,
    L at the end; CR LF line ends."""
    def compact(written: str) -> str:
        day, month, year = written.split("/") if "/" in written else (written[8:10], written[5:7], written[:4])
        return f"{year}{month}{day}"

    out = ["H|~^\\&|RESULTATS.HPR|LABO^Laboratoire|HOPITAL||ORU|||||P|H2.2|202405031015"]
    for i, r in enumerate(rows, 1):
        visit = compact(r["visit"]) if "visit" in r else ""
        contact = r.get("phone", "") + (f"^^{r['email']}" if "email" in r else "")
        out += [f"P|{i}|{r.get('id', '')}||{r.get('nir', '')}|{r.get('last', '')}^{r.get('first', '')}^^^||"
                f"{compact(r['dob']) if 'dob' in r else ''}|U||^^{r.get('city', '')}^^||{contact}|||||"
                f"{r.get('ward', '')}",
                f"OBR|1|||SARSCOV2^PCR SARS-CoV-2|||{visit}0900",
                "OBX|1|CE|SARSCOV2^PCR SARS-CoV-2||NEG^Negatif||||||F"]
    out.append("L|1|N")
    return "\r\n".join(out) + "\r\n"


def hprim_letters_text(rows: list[Row]) -> str:
    """HPRIM Médecins: per result its 12 unlabelled header lines (code, last name, first name, two
    address lines, postcode and city, birth date, NIR, file, sampling date, prescriber, recipient),
    the result's text, ``****FIN****``; several results one after the other, as a mailbox's lab
    folder concatenates them."""
    out = []
    for r in rows:
        dob = r.get("dob", "")
        if dob[4:5] == "-":
            dob = f"{dob[8:10]}/{dob[5:7]}/{dob[:4]}"
        header = [r.get("id", ""), r.get("last", ""), r.get("first", ""), "12 RUE DES LILAS", "",
                  f"94000 {r.get('city', '').upper()}", dob, r.get("nir", ""), "240503-0117", "03/05/2024",
                  "DR MARTIN", "DR DURAND"]
        contact = " ".join(f"{label} : {r[k]}" for k, label in (("email", "Courriel"), ("phone", "Tél")) if k in r)
        body = ["****LAB****", "Biochimie", "Glycémie à jeun ........ 0,92 g/l", "",
                contact or f"Service : {r.get('ward', '')}", "****FIN****"]
        out.append("\r\n".join(header + body))
    return "\r\n".join(out) + "\r\n"


def fhir_text(rows: list[Row]) -> str:
    """A FHIR Bundle of Patient resources, as a FHIR server's search returns it: ``name`` a list of
    one ``{"family", "given": [...]}``, ``telecom`` a list of typed values, ``birthDate`` ISO."""
    entries = []
    for r in rows:
        telecom = [{"system": "phone", "value": r["phone"]}] if "phone" in r else []
        telecom += [{"system": "email", "value": r["email"]}] if "email" in r else []
        resource: dict[str, object] = {
            "resourceType": "Patient", "id": r.get("id", "x"),
            "meta": {"lastUpdated": r.get("visit", "2023-01-01") + "T10:00:00Z"},
            "identifier": [{"system": "urn:oid:1.2.250.1.213.1.4.8", "value": r["nir"]}] if "nir" in r else [],
            "name": [{"use": "official", "family": r.get("last", ""), "given": [r.get("first", "")]}],
            "telecom": telecom, "gender": "unknown",
            "address": [{"city": r.get("city", ""), "text": r.get("ward", "")}]}
        if "dob" in r:
            dob = r["dob"]
            resource["birthDate"] = dob if dob[4:5] == "-" else f"{dob[6:10]}-{dob[3:5]}-{dob[:2]}"
        entries.append({"fullUrl": f"https://fhir.example.org/Patient/{r.get('id', 'x')}", "resource": resource})
    return json.dumps({"resourceType": "Bundle", "type": "searchset", "total": len(rows), "entry": entries},
                      ensure_ascii=False, indent=2) + "\n"


def fhir_ndjson_text(rows: list[Row]) -> str:
    """A FHIR bulk export: one Patient resource a line (NDJSON)."""
    bundle = json.loads(fhir_text(rows))
    return "".join(json.dumps(e["resource"], ensure_ascii=False) + "\n" for e in bundle["entry"])


def ini_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    """An INI export: a ``[section]`` per person, ``key=value`` lines."""
    cols = _cols(rows)
    return "".join(f"[Patient{i}]\n" + "".join(f"{labels[k]}={r[k]}\n" for k in cols if k in r) + "\n"
                   for i, r in enumerate(rows, 1))


def kv_lines_text(rows: list[Row], labels: dict[str, str] = EN) -> str:
    """An object a log dumps a field a line: ``    key = value`` under the message."""
    cols = _cols(rows)
    return "".join("2024-05-03T10:00:00Z DEBUG patient loaded:\n"
                   + "".join(f"    {labels[k]} = {r[k]}\n" for k in cols if k in r) for r in rows)


def pdf_form_text(rows: list[Row]) -> str:
    """A patient file's page as a PDF's text layer gives it: three ``Label : value`` a line, spaces
    between them."""
    names = {"id": "N° dossier", "last": "Nom", "first": "Prénom", "dob": "Né(e) le", "visit": "Date de visite",
             "city": "Ville", "ward": "Service", "email": "Courriel", "nir": "N° sécu", "phone": "Téléphone"}
    out = []
    for r in rows:
        items = [f"{names[k]} : {r[k]}" for k in _cols(rows) if k in r]
        out.append("FICHE PATIENT\n" + "\n".join("    ".join(items[i : i + 3]) for i in range(0, len(items), 3)) + "\n")
    return "\n".join(out)


def html_vertical_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    """A web page's patient file: a table of one label and its value a row."""
    return "".join("<h2>Fiche patient</h2>\n<table>\n" + "".join(
        f"  <tr><th>{labels[k]}</th><td>{escape(r[k])}</td></tr>\n" for k in _cols(rows) if k in r) + "</table>\n"
        for r in rows)


def docx_vertical_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    """The same file in a Word document: its table's rows come out as ``label | value`` lines."""
    return "".join("Fiche patient\n" + "".join(f"{labels[k].replace('_', ' ').capitalize()} | {r[k]}\n"
                                               for k in _cols(rows) if k in r) + "\n" for r in rows)


def html_form_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    """A web page's patient file: ``<label>Nom</label><span>DUPONT</span>`` rows in divs."""
    return "<html><body>\n" + "".join('<div class="fiche">\n' + "".join(
        f'  <div class="row"><label>{labels[k]}</label><span>{escape(r[k])}</span></div>\n'
        for k in _cols(rows) if k in r) + "</div>\n" for r in rows) + "</body></html>\n"


def html_bold_form_text(rows: list[Row]) -> str:
    """An old web page's or an HTML e-mail's patient sheet: ``<b>Nom :</b> DUPONT<br>`` lines."""
    names = {"id": "Dossier", "last": "Nom", "first": "Prénom", "dob": "Date de naissance", "visit": "Date de visite",
             "city": "Ville", "ward": "Service", "email": "Courriel", "nir": "N° sécu", "phone": "Téléphone"}
    return "".join("<p>\n" + "".join(f"<b>{names[k]} :</b> {escape(r[k])}<br>\n" for k in _cols(rows) if k in r)
                   + "</p>\n" for r in rows)


def html_pairs_table_text(rows: list[Row], labels: dict[str, str] = FR) -> str:
    """A patient sheet as a table of two label and value pairs a row."""
    out = []
    for r in rows:
        items = [(labels[k], r[k]) for k in _cols(rows) if k in r]
        if len(items) % 2:
            items.append(("", ""))
        out.append("<table>\n" + "".join(f"<tr><td>{a}</td><td>{escape(b)}</td><td>{c}</td><td>{escape(d)}</td></tr>\n"
                                         for (a, b), (c, d) in zip(items[::2], items[1::2], strict=True))
                   + "</table>\n")
    return "".join(out)


FORMATS: dict[str, Callable[[list[Row]], str]] = {
    "csv": csv_text, "tsv": tsv_text, "kv": kv_text, "jsonl": jsonl_text, "json_pretty": json_pretty_text,
    "sql_mysql": sql_mysql_text, "sql_postgres": sql_postgres_text, "sql_create": sql_create_text,
    "sql_copy": sql_copy_text, "html": html_text, "xml": xml_text, "xml_attributes": xml_attributes_text,
    "colon": colon_text, "vcard": vcard_text, "hl7": hl7_text,
    # pasted from a terminal, a directory, a page, a mainframe
    "mysql_cli": mysql_cli_text, "mysql_vertical": mysql_vertical_text, "psql": psql_text,
    "psql_expanded": psql_expanded_text, "markdown": markdown_text, "fixed_width": fixed_width_text,
    "ldif": ldif_text, "yaml": yaml_text, "dl": dl_text, "dl_list": dl_list_text,
    "headerless_csv": headerless_text, "headerless_tsv": lambda rows: headerless_text(rows, "\t"),
    "headerless_comma": lambda rows: headerless_text(rows, ","),
    "sqlplus": sqlplus_text, "sqlcmd": sqlcmd_text,
    "sqlite_dump": sqlite_dump_text, "mongosh": mongosh_text, "mongosh_compact": mongosh_compact_text,
    "csv_title": csv_title_text, "excel_sep": excel_sep_text, "csv_bom_crlf": csv_bom_crlf_text,
    "pma_xml": pma_xml_text, "mysqldump_xml": mysqldump_xml_text, "json_split": json_split_text,
    "json_fields": json_fields_text, "json_values": json_values_text, "hprim": hprim_text,
    "hprim_letters": hprim_letters_text, "fhir": fhir_text, "fhir_ndjson": fhir_ndjson_text, "ini": ini_text,
    "kv_lines": kv_lines_text, "pdf_form": pdf_form_text, "html_vertical": html_vertical_text,
    "docx_vertical": docx_vertical_text, "html_form": html_form_text, "html_bold_form": html_bold_form_text,
    "html_pairs_table": html_pairs_table_text,
    # a neighbour's language: a subsidiary's export
    "csv_de": lambda rows: csv_text(rows, DE), "jsonl_es": lambda rows: jsonl_text(rows, ES),
    "sql_it": lambda rows: sql_postgres_text(rows, IT),
}
