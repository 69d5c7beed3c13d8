"""HL7 v2 messages: what hospital systems exchange (admissions, lab results), and what their
integration engines log. Each ``PID`` segment is one record: PID-5 the names (``last^first^middle``),
PID-7 the birth date (``YYYYMMDD``), PID-3 the patient's identifiers (the INS/NIR among them), PID-11
the address, PID-13 and PID-14 the phones and e-mail, PID-19 a social security number. Segments end with a
carriage return, as messages are sent, or with a line end, as logs write them. The ``P`` records
of ASTM E1394 and HPRIM Santé (laboratory results, as French labs exchange them) are read the same
way, by their own positions, and so are the 12 header lines of an HPRIM Médecins result."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from leakwatch.detection.records.base import make_record

if TYPE_CHECKING:
    from leakwatch.detection.records.base import Cursor

_SEGMENT = re.compile(r"PID\|[^\r\n]*")
_PATIENT = re.compile(r"P\|\d*\|[^\r\n]*")
"""An ASTM E1394 / HPRIM Santé patient record (what laboratories' instruments and French lab
systems exchange results in): P-6 the names, P-8 the birth date, P-11 the address, P-13 the phone."""
_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")


def _components(field: str) -> list[str]:
    """A field's components, and empty ones after them: an absent component reads empty."""
    return [c.replace("\\S\\", "^").replace("\\F\\", "|") for c in field.split("^")] + [""] * 5


def read(r: Cursor, start: int, end: int) -> int | None:
    """The ``PID`` segments of the line at ``start`` (a whole message when its segments end with
    carriage returns); None when it holds none."""
    text = r.text
    found = 0
    for m in _SEGMENT.finditer(text, start, end):
        if m.start() != start and text[m.start() - 1] not in "\r\n":
            continue
        fields = m.group().split("|") + [""] * 20  # an absent field reads empty
        pairs: list[tuple[str, str]] = []
        for repeat in fields[3].split("~"):
            ident = _components(repeat)
            if ident[0]:
                pairs.append(("nir" if "NIR" in repeat.upper() or "INS" in repeat.upper() else "id", ident[0]))
        last, first, middle = _components(fields[5].split("~")[0])[:3]
        pairs += [("last_name", last), ("first_name", first), ("prenoms", middle)]
        born = _DATE.match(fields[7])
        if born:
            pairs.append(("birth_date", "-".join(born.groups())))
        street, _, city, _, postcode = _components(fields[11].split("~")[0])[:5]
        pairs += [("adresse", street), ("ville", city), ("code_postal", postcode)]
        for contact in (c for i in (13, 14) for c in fields[i].split("~")):
            number, _, _, email = _components(contact)[:4]  # number^use^type^e-mail...
            pairs += [("tel", number), ("email", email)]
        pairs.append(("nir", fields[19]))
        record = make_record(pairs, "hl7")
        if record is not None:
            r.add(record)
            found += 1
    if not found:
        return None
    return end


def read_patient(r: Cursor, start: int, end: int) -> int | None:
    """An ASTM / HPRIM ``P`` record at ``start``; None when the line is none."""
    m = _PATIENT.match(r.text, start, end)
    if m is None:
        return None
    fields = m.group().split("|") + [""] * 20
    last, first, middle = _components(fields[5].split("~")[0])[:3]
    born = _DATE.match(fields[7])
    if not last or born is None:
        return None
    pairs = [("id", c) for i in (2, 3, 4) if (c := _components(fields[i])[0])]
    pairs += [("last_name", last), ("first_name", first), ("prenoms", middle), ("nom_naissance", fields[6]),
              ("birth_date", "-".join(born.groups()))]
    street, _, city, _, postcode = _components(fields[10])[:5]
    pairs += [("adresse", street), ("ville", city), ("code_postal", postcode), ("tel", fields[12])]
    r.add(make_record(pairs, "hl7"))
    return end


_HEADER_LINES = 12
_NAME_LINE = re.compile(r"[^\W\d_][^\W\d_ '’\-]*(?:[ '’\-]+[^\W\d_]+)*")
_DMY = re.compile(r"\d\d/\d\d/(?:\d\d)?\d\d")
_HEADER_LABELS = ("code_patient", "nom", "prenom", "adresse", "adresse_suite", "ville", "date_naissance",
                  "num_secu", "dossier", "date_prelevement", "prescripteur", "destinataire")


def read_letter(r: Cursor, start: int) -> int | None:
    """The 12 lines that open an HPRIM Médecins result (what French labs send GPs, one file per
    result): patient code, last name, first name, two address lines, postcode and city, birth date,
    NIR, file number, sampling date, prescriber, recipient; each on its own line, unlabelled. The
    result's text after them stays text."""
    text = r.text
    lines, pos = [], start
    for _ in range(_HEADER_LINES):
        if pos >= len(text):
            return None
        end = r.line_end(pos)
        lines.append(text[pos:end].strip())
        pos = end
    if not (_NAME_LINE.fullmatch(lines[1]) and _NAME_LINE.fullmatch(lines[2]) and _DMY.fullmatch(lines[6])
            and lines[0] and not lines[0].startswith("****")):
        return None
    r.add(make_record(list(zip(_HEADER_LABELS, lines, strict=True)), "hprim"))
    return pos
