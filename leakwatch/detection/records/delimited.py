"""CSV, TSV and pipe tables with a header row: any delimiter among ``, ; TAB |``, any quoting;
and fixed-width exports, their columns cut where the header's labels start.

A header is a line of two or more short labels (no value: nothing starting with a digit, no
``@``) followed by a row of as many fields. Rows are read while they keep the header's width; a
blank line ends the table, and so does a row of another width unless the next row has the
header's width again (the odd row, a delimiter unquoted in a value, is left to the text) or the two
make one row (a line break written raw in a value). A header none of whose labels is known is left
to the text too (it may be a first row of data).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from leakwatch.detection.normalise import date_forms
from leakwatch.detection.records import labels
from leakwatch.detection.records.base import by_label, make_record

if TYPE_CHECKING:
    from leakwatch.detection.records.base import Cursor

DELIMITERS = (",", ";", "\t", "|")
MAX_LABEL = 60
_RULE = re.compile(r"\s*[|+]?\s*:?-{2,}:?\s*(?:[|+]\s*:?-{2,}:?\s*)*[|+]?\s*$")
"""The rule under a table's header: Markdown's ``|---|---|``, the mysql client's ``+----+----+``,
psql's ``-----+-----``."""


_LABEL = re.compile(r"[^\W\d][\w .'’/°#()\-]*")
_DIGITS = re.compile(r"\d\d")
"""A date or a number: a value, not a label (``tel2`` is a label)."""
MAX_ROW_LINES = 20
"""A quoted field may hold line breaks; a 'row' longer than this is an unbalanced quote."""


def is_label(field: str) -> bool:
    """A column name: short, starting with a letter, words and a few signs (``Né(e) le``, ``N°``)."""
    field = field.strip().strip('"').strip()
    return (0 < len(field) <= MAX_LABEL and _LABEL.fullmatch(field) is not None and field.count(" ") < 5
            and field.count("(") == field.count(")") and _DIGITS.search(field) is None)


def _pipe_fields(line: str, outer: bool = True) -> list[str]:
    """The cells of a ``|`` table's line. ``outer``: the table has borders (``| a | b |``: Markdown,
    the mysql client), else its first and last cells may be empty (psql prints NULL so:
    ``    | DUPONT |``), and every ``|`` separates two cells."""
    if not outer:
        return [f.strip() for f in line.rstrip("\r\n").split("|")]
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|"):
        line = line[:-1]
    return [f.strip() for f in line.split("|")]


def table_header(line: str) -> tuple[str, list[str]] | None:
    """The delimiter and the labels when ``line`` is a table's header row."""
    stripped = line.strip()
    if len(stripped) > 4000:
        return None
    present = [d for d in DELIMITERS if d in stripped]
    if len(present) > 1:
        present.sort(key=stripped.count, reverse=True)
    for delim in present:
        parts = _pipe_fields(stripped) if delim == "|" else stripped.split(delim)
        named = [p for p in parts if p.strip()]
        if len(named) < 2 or not all(is_label(p) for p in named):
            continue
        fields = parts if delim == "|" else next(csv.reader([stripped], delimiter=delim), [])
        if len(fields) >= 2:
            return delim, [f.strip() for f in fields]
    return None


class _Lines:
    """Lines of the text from ``pos`` for csv.reader, with the position reached."""

    def __init__(self, r: Cursor, pos: int) -> None:
        self.r = r
        self.pos = pos

    def __iter__(self) -> Iterator[str]:
        text = self.r.text
        while self.pos < len(text):
            end = self.r.line_end(self.pos)
            line = text[self.pos : end]
            self.pos = end
            yield line


def _csv_rows(r: Cursor, lines: _Lines, delim: str) -> Iterator[tuple[int, list[str]]]:
    """The CSV rows from where ``lines`` stands, each with where it began. It stops at the text's
    end; at a row the reader refuses (a broken quote: what was tried is spent); and before a row of
    more than ``MAX_ROW_LINES`` lines (an unbalanced quote). ``lines.pos`` is then where that row
    began: it is left to the text."""
    reader = csv.reader(lines, delimiter=delim)
    while True:
        row_start, lines_before = lines.pos, reader.line_num
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            r.spend(lines.pos - row_start)
            lines.pos = row_start
            return
        if reader.line_num - lines_before > MAX_ROW_LINES:
            lines.pos = row_start
            return
        yield row_start, row


def _pipe_rows(lines: _Lines, outer: bool) -> Iterator[tuple[int, list[str]]]:
    """The rows of a ``|`` table from where ``lines`` stands, each with where it began; a blank
    line is a row of no field."""
    for line in lines:
        yield lines.pos - len(line), (_pipe_fields(line, outer) if line.strip() else [])


_COLUMN = re.compile(r"\S+(?: \S+)*")
_DASHES = re.compile(r"-+")
_WIDE_GAP = re.compile(r"\S {2,}\S")
_LABEL_FIRST = re.compile(r" *[^\W\d_]")
"""A header's first label starts with a letter (a log line, with its timestamp, never)."""
_DASH_RULE = re.compile(r"-+(?: +-+)+\s*")
MIN_COLUMNS = 3


def is_rule(line: str) -> bool:
    """A rule under a table's header: of a Markdown or terminal table (``_RULE``), or of dashes
    only (SQL*Plus, sqlcmd)."""
    line = line.rstrip("\r\n")
    return _RULE.match(line) is not None or _DASH_RULE.fullmatch(line) is not None


def column_starts(line: str, below: str = "") -> tuple[list[str], list[int], bool] | None:
    """The labels and where each starts when ``line`` is a fixed-width export's header: the columns
    of the dashes rule ``below`` it (SQL*Plus, sqlcmd: two columns or more, however close), else
    three labels or more two spaces or more apart. One label must be known. Also whether the rule
    was there (the rows begin after it)."""
    stripped = line.rstrip()
    if len(stripped) > 4000 or any(d in stripped for d in DELIMITERS):
        return None
    if _DASH_RULE.fullmatch(below.rstrip("\r\n")):
        spans = [(m.start(), m.end()) for m in _DASHES.finditer(below)]
        names = [stripped[a:b].strip() for a, b in spans]
        ruled = True
    elif "  " in stripped:
        columns = list(_COLUMN.finditer(stripped))
        if len(columns) < MIN_COLUMNS:
            return None
        spans, names, ruled = [c.span() for c in columns], [c.group() for c in columns], False
    else:
        return None
    if not all(is_label(n) for n in names) or not any(labels.kind(n) for n in names):
        return None
    return names, [a for a, _ in spans], ruled


def fixed_fields(line: str, starts: list[int]) -> list[str] | None:
    """A row cut at the header's column starts; None when a value runs across one (another layout,
    or text) or when the row is blank."""
    line = line.rstrip("\r\n")
    if not line.strip():
        return None
    for start in starts[1:]:
        if start < len(line) and line[start - 1] != " " and line[start] != " ":
            return None
    if starts[0] and line[: starts[0]].strip():
        return None
    bounds = [*starts[1:], len(line)]
    return [line[a:b].strip() for a, b in zip(starts, bounds, strict=True)]


def _read_fixed(r: Cursor, pos: int, end: int) -> int | None:
    """A fixed-width export: rows cut where the header's labels start (``column_starts``)."""
    text = r.text
    if _LABEL_FIRST.match(text, pos, end) is None or (
            not text.startswith("-", end) and _WIDE_GAP.search(text, pos, end) is None):  # no rule, no gap
        return None
    below_end = r.line_end(end) if end < len(text) else end
    head = column_starts(text[pos:end], text[end:below_end])
    if head is None:
        return None
    names, starts, ruled = head
    body, rows = (below_end if ruled else end), 0
    while body < len(text):
        nxt = r.line_end(body)
        fields = fixed_fields(text[body:nxt], starts)
        if fields is None:
            break
        r.add(make_record(list(zip(names, fields, strict=True)), "fixed"))
        rows += 1
        body = nxt
    return body if rows else None


def _read_vertical(r: Cursor, pos: int) -> int | None:
    """``label | value`` lines (a Word document's table of one person, as the document reader
    writes its rows): one record, or one per person when a label comes again. None unless two of
    the labels are known (in a table of two columns with a header, only the header's are)."""
    text = r.text
    pairs: list[tuple[str, str]] = []
    body = pos
    while body < len(text):
        nxt = r.line_end(body)
        fields = _pipe_fields(text[body:nxt]) if "|" in text[body:nxt] else []
        if len(fields) != 2 or not is_label(fields[0]):
            break
        pairs.append((fields[0], fields[1]))
        body = nxt
    if sum(1 for label, _ in pairs if labels.kind(label)) < 2:
        return None
    for fields_of in by_label(pairs):
        r.add(make_record(fields_of, "table"))
    return body


_HEADLESS_DELIMITERS = ("\t", ";", "|", ",")
"""Tried in this order: a comma is often inside a value (a note), a tab or a semicolon seldom."""
MIN_HEADLESS_ROWS = 3
MIN_HEADLESS_FIELDS = 3


def _read_headerless(r: Cursor, pos: int, end: int) -> int | None:
    """Rows of a table written without its header (MySQL's ``SELECT ... INTO OUTFILE``, ``COPY ...
    TO`` without ``HEADER``, bcp): three lines or more that one delimiter cuts into as many fields,
    three or more. Each row is a record of unlabelled fields, read as a line of its own: its names
    and its birth date are paired wherever they stand in it (``view.render``), never with another
    row's. Before, such rows were text, where names and a birth date far apart are not matched."""
    text = r.text
    line = text[pos:end]
    after = r.line_end(end) if end < len(text) else end
    below = text[end:after]
    for delim in _HEADLESS_DELIMITERS:
        count = line.count(delim)
        if count < MIN_HEADLESS_FIELDS - 1 or below.count(delim) != count:
            continue
        lines = _Lines(r, pos)
        outer = line.strip().startswith("|")
        width = (count - 1 if outer else count + 1) if delim == "|" else None
        found: list[list[str]] = []
        for row_start, row in _pipe_rows(lines, outer) if delim == "|" else _csv_rows(r, lines, delim):
            if width is None:
                width = len(row)
            odd = (is_rule(text[row_start:lines.pos]) if delim == "|"
                   else width < MIN_HEADLESS_FIELDS or lines.pos - row_start > MAX_LABEL * 200)
            if len(row) != width or odd:
                lines.pos = row_start
                break
            found.append(row)
        body = lines.pos
        if (len(found) < MIN_HEADLESS_ROWS or len(found[0]) < MIN_HEADLESS_FIELDS
                or not all(map(_data_like, found[:MIN_HEADLESS_ROWS]))):
            r.spend(body - pos)
            return None
        names = _date_columns(found)
        for fields in found:
            r.add(make_record(list(zip(names, fields, strict=True)), "headerless"))
        return body
    return None


_SENTENCE_END = re.compile(r"[.!?…:]\s*$")


def _data_like(fields: list[str]) -> bool:
    """Fields as a table holds them, not a sentence cut at its commas: short ones (an address at
    most) but one (a notes column), the last not ending as a sentence does."""
    long_ones = sum(1 for f in fields if len(f) > 60 or len(f.split()) > 3)
    return long_ones <= 1 and not _SENTENCE_END.search(fields[-1])


SAMPLE_ROWS = 200


def _date_columns(rows: list[list[str]]) -> list[str]:
    """Labels for a headerless table's columns: where two columns or more hold dates, the one of the
    earliest dates is the birth date and the others are other dates (a visit, an update), as their
    labels would have said; every other column, and a lone date column, stays unlabelled."""
    width = len(rows[0])
    sample = rows[:SAMPLE_ROWS]
    years: dict[int, list[int]] = {}
    for j in range(width):
        values = [row[j].strip()[:10] for row in sample if row[j].strip()]
        dated = [forms[0] for v in values if v[:1].isdigit() and (forms := date_forms(v))]
        if values and len(dated) * 3 >= len(values) * 2:
            years[j] = sorted(int(iso[:4]) for iso in dated)
    if len(years) < 2:
        return [""] * width
    birth = min(years, key=lambda j: years[j][len(years[j]) // 2])
    return ["date_naissance" if j == birth else "date_autre" if j in years else "" for j in range(width)]


MAX_JOINED = 5
"""Lines one row may be cut into by line breaks written raw in its values."""


def _after_odd_row(r: Cursor, pending: tuple[int, list[str]], row: list[str], row_start: int, width: int,
                   may_join: bool) -> tuple[list[str] | None, tuple[int, list[str]] | None]:
    """A table goes on past a row of another width (``pending``: where it began, its fields) when
    the next ``row`` fits: the odd row alone (a delimiter unquoted in a value) is left to the text;
    or when the two make one row, cut by a line break written raw in a value (``may_join``: only in
    a table whose rows have shown its width: rows short of a column each are not paired up).
    Returns the row to read now (None: none yet) and what is still pending (None with no row: the
    table ends at the odd row)."""
    start, odd = pending
    if len(row) == width:
        r.keep(start, row_start)
        return row, None
    joined = [*odd[:-1], odd[-1] + " " + row[0], *row[1:]]
    if may_join and len(odd) < width and len(joined) <= width and r.text.count("\n", start, row_start) < MAX_JOINED:
        return (joined, None) if len(joined) == width else (None, (start, joined))
    return None, None


def read(r: Cursor, pos: int, end: int) -> int | None:
    text = r.text
    head = table_header(text[pos:end])
    if head is None:
        return _read_fixed(r, pos, end) or _read_headerless(r, pos, end)
    delim, header = head
    width = len(header)
    known = any(labels.kind(h) for h in header)
    body = end
    rows = 0
    if delim == "|" and width == 2:
        vertical = _read_vertical(r, pos)  # "Nom | DUPONT", then "Prénom | Jean": a person's file
        if vertical is not None:
            return vertical
    if delim == "|":
        nxt = r.line_end(body)
        if _RULE.match(text, body, nxt):
            body = nxt
    lines = _Lines(r, body)
    outer = text[pos:end].strip().startswith("|")
    pending: tuple[int, list[str]] | None = None  # a row of another width, and where it began
    for row_start, row in _pipe_rows(lines, outer) if delim == "|" else _csv_rows(r, lines, delim):
        if delim != "|":
            if len(row) == width + 1 and not row[-1].strip():
                row = row[:-1]
            if not any(f.strip() for f in row):
                row = []
        if not row:  # a blank line ends the table
            lines.pos = row_start
            break
        if pending is not None:
            odd_start = pending[0]
            mended, pending = _after_odd_row(r, pending, row, row_start, width, rows > 0)
            if mended is None:
                if pending is None:  # the table ends before the odd row
                    lines.pos = odd_start
                    break
                continue
            row = mended
        if len(row) != width:
            pending = (row_start, row)
            continue
        r.add(make_record(list(zip(header, row, strict=True)), "table" if delim == "|" else "csv"))
        rows += 1
    if pending is not None:
        lines.pos = pending[0]
    body = lines.pos
    if rows == 0:
        return None
    if not known:
        r.keep(pos, end)
    return body
