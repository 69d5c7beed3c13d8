"""vCard (``.vcf``): an address book or a CRM's contacts leaked whole, one ``BEGIN:VCARD`` ...
``END:VCARD`` block per person. ``N`` holds the names as ``last;first;middle;prefix;suffix``,
``BDAY`` the birth date; each block is one record, its properties labelled as the matcher knows
them (``TEL;TYPE=CELL`` is a ``tel``, ``item1.EMAIL`` an ``email``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from leakwatch.detection.records.base import make_record

if TYPE_CHECKING:
    from leakwatch.detection.records.base import Cursor

MAX_LINES = 200
"""Lines of one card: a longer 'card' is text."""
_PROPERTY = re.compile(r"(?:[\w-]+\.)?([A-Za-z-]+)(?:;[^:\n]*)?:(.*)")
_ESCAPE = re.compile(r"\\([nN,;\\])")
_LABELS = {"FN": "full_name", "BDAY": "birth_date", "TEL": "tel", "EMAIL": "email", "ADR": "adresse",
           "NICKNAME": "surnom"}


def _unescape(value: str) -> str:
    return _ESCAPE.sub(lambda m: " " if m.group(1) in "nN" else m.group(1), value)


def read(r: Cursor, start: int, end: int) -> int | None:
    text = r.text
    if text[start:end].strip().upper() != "BEGIN:VCARD":
        return None
    lines: list[str] = []
    pos = end
    while pos < len(text) and len(lines) < MAX_LINES:
        nxt = r.line_end(pos)
        line = text[pos:nxt].rstrip("\r\n")
        pos = nxt
        if line.strip().upper() == "END:VCARD":
            break
        if line[:1] in (" ", "\t") and lines:  # a folded line goes on the one before
            lines[-1] += line[1:]
        else:
            lines.append(line)
    else:
        if len(lines) >= MAX_LINES:  # no card is that long: text
            r.spend(pos - start)
            return None
        # The text ends inside the card (a file cut short): what was read is the record.
    fields: list[tuple[str, str]] = []
    for line in lines:
        m = _PROPERTY.match(line)
        if m is None:
            continue
        name, value = m.group(1).upper(), m.group(2)
        if name == "N":
            parts = [_unescape(p) for p in re.split(r"(?<!\\);", value)] + ["", ""]
            fields += [("last_name", parts[0]), ("first_name", parts[1])]
        elif name == "ADR":
            fields.append(("adresse", " ".join(_unescape(p) for p in re.split(r"(?<!\\);", value) if p)))
        elif name not in ("VERSION", "PRODID", "UID", "REV", "PHOTO", "LOGO", "SOUND", "KEY"):
            fields.append((_LABELS.get(name, name.lower()), _unescape(value)))
    r.add(make_record(fields, "vcard"))
    return pos
