"""HL7 v2 messages: what hospital systems exchange (admissions, lab results), and what their
integration engines log. Each ``PID`` segment is one record: PID-5 the names (``last^first^middle``),
PID-7 the birth date (``YYYYMMDD``), PID-3 the patient's identifiers (the INS/NIR among them), PID-11
the address, PID-13 and PID-14 the phones and e-mail, PID-19 a social security number. Segments end with a
carriage return, as messages are sent, or with a line end, as logs write them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from leakwatch.detection.records.base import make_record

if TYPE_CHECKING:
    from leakwatch.detection.records.base import Cursor

_SEGMENT = re.compile(r"PID\|[^\r\n]*")
_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")


def _components(field: str) -> list[str]:
    return [c.replace("\\S\\", "^").replace("\\F\\", "|") for c in field.split("^")]


def read(r: Cursor, start: int, end: int) -> int | None:
    """The ``PID`` segments of the line at ``start`` (a whole message when its segments end with
    carriage returns); None when it holds none."""
    text = r.text
    found = 0
    for m in _SEGMENT.finditer(text, start, end):
        if m.start() != start and text[m.start() - 1] not in "\r\n":
            continue
        fields = m.group().split("|")
        fields += [""] * (20 - len(fields))

        def field(i: int, fields: list[str] = fields) -> str:
            return fields[i]

        pairs: list[tuple[str, str]] = []
        for repeat in field(3).split("~"):
            ident = _components(repeat)
            if ident[0]:
                pairs.append(("nir" if "NIR" in repeat.upper() or "INS" in repeat.upper() else "id", ident[0]))
        names = _components(field(5).split("~")[0])
        pairs += [("last_name", names[0]), ("first_name", names[1] if len(names) > 1 else "")]
        if names[2:3] and names[2]:
            pairs.append(("prenoms", names[2]))
        born = _DATE.match(field(7))
        if born:
            pairs.append(("birth_date", "-".join(born.groups())))
        address = _components(field(11).split("~")[0])
        pairs += [("adresse", address[0]), ("ville", address[2] if len(address) > 2 else ""),
                  ("code_postal", address[4] if len(address) > 4 else "")]
        for contact in (c for i in (13, 14) for c in field(i).split("~")):
            parts = _components(contact)  # number^use^type^e-mail...
            pairs.append(("tel", parts[0]))
            if len(parts) > 3:
                pairs.append(("email", parts[3]))
        pairs.append(("nir", field(19)))
        record = make_record(pairs, "hl7")
        if record is not None:
            r.add(record)
            found += 1
    if not found:
        return None
    return end
