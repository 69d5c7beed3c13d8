"""``key=value`` log lines and ``key: value`` blocks.

A line with two ``key=value`` pairs or more, or one whose key is a known label, is one record: its
pairs, and the rest of the line (the message, the timestamp) as unlabelled text. Consecutive
``key: value`` lines (a form printout, YAML, a JSON object's lines cut from a truncated dump,
``key: value | key: value`` rows, an LDIF directory entry) make one record until a blank or other
line, or a key seen again; the block must hold a known label and two pairs or more, else it stays
text. So do consecutive lines of one ``key = value`` pair each (an INI section, an object a log
dumps a field a line). psql's expanded rows (``-[ RECORD 1 ]``, then ``label | value`` lines) are
records too.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from leakwatch.detection.records import labels
from leakwatch.detection.records.base import make_record

if TYPE_CHECKING:
    from leakwatch.detection.records.base import Cursor

# ``(?=[A-Za-z_])`` first: positions that cannot start a key are ruled out before the lookbehind.
_PAIR = re.compile(r"""(?=[A-Za-z_])(?:(?<=[\s,;&|{(?])|^)([A-Za-z_][\w.\-]{0,48})="""
                   r"""("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s,;&|]*)""")
_COLON = re.compile(r"""^\s*(?:-\s+)?(?:"([^"\n]{1,60})"|'([^'\n]{1,60})'|([^\W\d][\w .'’()/°#\-]{0,59}?))"""
                    r"""\s*:(?:\s+(.*?)|)\s*$""")
_GAP = re.compile(r"[ \t]{3,}|\t")
"""Between two pairs on one line of a form: three spaces or more, or a tab."""
_EQ_WHOLE = re.compile(r"\s*([A-Za-z_][\w.\-]{0,59})\s*=\s*(.*?)\s*")
_BASE64_VALUE = re.compile(r"^\s*([A-Za-z][\w;\-]{0,59}):: ?([A-Za-z0-9+/]+={0,2})\s*$")
MAX_BLOCK_LINES = 400


def read(r: Cursor, pos: int, end: int) -> int | None:
    text = r.text
    line = text[pos:end]
    if line.startswith("-[ RECORD "):
        return _expanded(r, pos)
    if line.startswith("dn:"):  # an LDIF entry (RFC 2849): its name's ``uid=...,ou=...`` are no fields
        return _colon_block(r, pos, ldif=True)
    if "=" in line:
        if _eq_pair(line) is not None and _eq_pair(text[end : r.line_end(end)]) is not None:
            block = _colon_block(r, pos, parse=_eq_pair)  # ``key = value`` lines: an INI section, a dump
            if block is not None:
                return block
        found = _eq_line(r, line)
        if found:
            return end
    if ":" in line:
        return _colon_block(r, pos)
    return None


_EXPANDED_FIELD = re.compile(r"([^\W\d][\w .\-]{0,59}?)\s*\|(?: (.*?))?\s*$")
MAX_EXPANDED_LINES = 10_000


def _expanded(r: Cursor, pos: int) -> int | None:
    """psql's expanded output (``\\x``): a ``-[ RECORD n ]`` rule before each row, then one
    ``label | value`` line per column."""
    text = r.text
    records: list[list[tuple[str, str]]] = []
    end = pos
    for _ in range(MAX_EXPANDED_LINES):
        if end >= len(text):
            break
        nxt = r.line_end(end)
        line = text[end:nxt].rstrip("\r\n")
        if line.startswith("-[ RECORD "):
            records.append([])
        elif (m := _EXPANDED_FIELD.fullmatch(line)) is not None:
            if m.group(2):
                records[-1].append((m.group(1).strip(), m.group(2)))
        else:
            break
        end = nxt
    found = [record for pairs in records if (record := make_record(pairs, "kv")) is not None]
    if not found:
        r.skip_to = end  # these lines are text: not tried again one by one
        return None
    for record in found:
        r.add(record)
    return end


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        if value[0] == '"':
            try:
                return str(json.loads(value))
            except ValueError:
                pass
        return value[1:-1]
    return value


def _eq_line(r: Cursor, line: str) -> bool:
    pairs = [(m.group(1), _unquote(m.group(2)), m.span()) for m in _PAIR.finditer(line)]
    if not pairs or (len(pairs) < 2 and labels.kind(pairs[0][0]) is None):
        return False
    rest, last = [], 0
    for _, _, (a, b) in pairs:
        rest.append(line[last:a])
        last = b
    rest.append(line[last:])
    fields = [(k, v) for k, v, _ in pairs]
    message = " ".join(" ".join(rest).split())
    if message:
        fields.append(("", message))
    r.add(make_record(fields, "kv"))
    return True


def _ldif_base64(line: str) -> list[tuple[str, str]] | None:
    """An LDIF attribute in base64 (``givenName:: SsOpcsO0bWU=``, how ldapsearch writes any value
    that is not plain ASCII), decoded; a binary value (a photo) reads as empty."""
    m = _BASE64_VALUE.match(line)
    if m is None:
        return None
    try:
        value = base64.b64decode(m.group(2), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        value = ""
    return [(m.group(1), value)]


def _colon_pairs(line: str) -> list[tuple[str, str]] | None:
    if "::" in line and (encoded := _ldif_base64(line)) is not None:
        return encoded
    if " | " in line:
        return _pairs(line.split(" | "))
    if _GAP.search(line.strip()):  # a form's page as a PDF's text gives it: "Nom : X    Prénom : Y"
        spread = _pairs([part for part in _GAP.split(line) if part.strip()])
        if spread is not None:
            return spread
    return _pairs([line])


def _pairs(parts: list[str]) -> list[tuple[str, str]] | None:
    """Each part a ``key: value`` pair, else None."""
    out = []
    for part in parts:
        m = _COLON.match(part.strip(" |\r\n"))
        if m is None:
            return None
        key = m.group(1) or m.group(2) or m.group(3) or ""
        value = (m.group(4) or "").rstrip(",").strip()
        out.append((key.strip(), _unquote(value)))
    return out


def _logical_line(r: Cursor, pos: int, folded: bool) -> tuple[str, int]:
    """The line at ``pos`` and where the next begins; with ``folded``, the lines starting with a
    space after it are joined to it, that space dropped."""
    text = r.text
    end = r.line_end(pos)
    if not folded or end >= len(text) or text[end] != " ":
        return text[pos:end], end
    parts = [text[pos:end].rstrip("\r\n")]
    while end < len(text) and text[end] == " ":
        nxt = r.line_end(end)
        parts.append(text[end + 1 : nxt].rstrip("\r\n"))
        end = nxt
    return "".join(parts) + "\n", end


def _eq_pair(line: str) -> list[tuple[str, str]] | None:
    """A line that is one ``key = value`` pair, whole (an INI file's, an object dumped a field a line)."""
    m = _EQ_WHOLE.fullmatch(line.rstrip("\r\n"))
    if m is None or _PAIR.search(m.group(2)) is not None:  # ``a=1 b=2``: a log line's pairs, not one
        return None
    return [(m.group(1).strip(), _unquote(m.group(2)))]


def _colon_block(r: Cursor, pos: int, ldif: bool = False,
                 parse: Callable[[str], list[tuple[str, str]] | None] | None = None) -> int | None:
    """A block of ``key: value`` lines from ``pos``. In an LDIF entry (``ldif``), a line that starts
    with a space continues the one before (RFC 2849's folding) and a key seen again is another value
    of a multi-valued attribute (``objectClass``, a second ``mail``), not another record."""
    text = r.text
    first, first_end = _logical_line(r, pos, ldif)
    parse = parse or _colon_pairs
    first_pairs = parse(first)
    if not first_pairs:
        return None
    records: list[list[tuple[str, str]]] = [[]]
    seen: set[str] = set()
    known = False
    lines = 0
    end = pos
    while end < len(text) and lines < MAX_BLOCK_LINES:
        line, nxt = _logical_line(r, end, ldif) if lines else (first, first_end)
        pairs = parse(line) if lines else first_pairs
        if not pairs:
            break
        lines += 1
        for key, value in pairs:
            if not ldif and (key in seen or (line.lstrip().startswith("- ") and key == pairs[0][0] and records[-1])):
                records.append([])
                seen = set()
            seen.add(key)
            known = known or labels.kind(key) is not None
            if value:
                records[-1].append((key, value))
        end = nxt
    if not known or sum(len(p) for p in records) < 2:
        r.skip_to = end  # these lines are text: not tried again one by one
        return None
    for pairs in records:
        r.add(make_record(pairs, "kv"))
    return end
