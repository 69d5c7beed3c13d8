"""SQL dumps: ``INSERT`` with or without a column list, one row or many, MySQL (backticks,
``\\'``) and PostgreSQL (double quotes, ``''``) styles, ``COPY ... FROM stdin`` blocks, and the
``CREATE TABLE`` statements that name the columns of an ``INSERT`` or ``COPY`` without a list.

A statement cut short keeps the rows read before the cut; what follows is left to the text.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from leakwatch.detection.records.base import make_record

if TYPE_CHECKING:
    from leakwatch.detection.records.base import Cursor

_TOKEN = re.compile(r"""\s*(?:
    (?P<str>[EeNn]?'(?:[^'\\]|\\.|'')*')
  | (?P<quoted>"(?:[^"\\]|\\.|"")*" | `[^`]*` | \[[^\]\n]*\])
  | (?P<num>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<word>[A-Za-z_][\w$]*(?:\.[A-Za-z_"`][\w$"`]*)*)
  | (?P<punct>[(),;.])
  | (?P<comment>--[^\n]*|/\*.*?\*/)
  | (?P<other>\S)
)""", re.VERBOSE | re.DOTALL)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "", "\\": "\\", "'": "'", '"': '"'}
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_COPY = re.compile(r"COPY\s+(?:ONLY\s+)?(?P<table>[\w.\"`]+)\s*(?:\((?P<cols>[^)]*)\))?\s+FROM\s+stdin[^\n]*;?",
                   re.IGNORECASE)
_COPY_ESCAPE = re.compile(r"\\(.)")
_SKIP_DEFS = {"PRIMARY", "KEY", "UNIQUE", "CONSTRAINT", "INDEX", "FOREIGN", "CHECK", "FULLTEXT", "SPATIAL",
              "EXCLUDE", "LIKE"}
_INSERT_MODIFIERS = {"INTO", "IGNORE", "LOW_PRIORITY", "HIGH_PRIORITY", "DELAYED", "OR", "REPLACE", "TOP"}
MAX_ROW = 2000
"""Values in one row: a longer 'row' is no row."""


class _Tokens:
    def __init__(self, text: str, pos: int) -> None:
        self.text = text
        self.pos = pos

    def next(self) -> tuple[str, str] | None:
        while True:
            m = _TOKEN.match(self.text, self.pos)
            if m is None:
                return None
            self.pos = m.end()
            kind = m.lastgroup or "other"
            if kind != "comment":
                return kind, m.group(kind)


def _ident(token: str) -> str:
    token = token.split(".")[-1] if not token.startswith(("`", '"', "[")) else token
    return token.strip('`"[]').replace('""', '"')


def _string(token: str) -> str:
    if token[0] in "EeNn":
        token = token[1:]
    body = token[1:-1].replace("''", "'")
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), body) if "\\" in body else body


def _table_name(raw: str) -> str:
    return _ident(raw.replace("`", "").replace('"', "").split(".")[-1]).lower()


def read(r: Cursor, start: int, end: int) -> int | None:
    head = r.text[start : start + 6].upper()
    if head.startswith("COPY"):
        return _copy(r, start, end)
    if head.startswith("CREATE"):
        return _create(r, start)
    return _insert(r, start)


def _columns(tok: _Tokens) -> list[str] | None:
    """A parenthesised list of column names (the ``(`` already read)."""
    cols: list[str] = []
    while True:
        t = tok.next()
        if t is None:
            return None
        kind, value = t
        if kind in ("word", "quoted"):
            cols.append(_ident(value))
        elif value == ")":
            return cols
        elif value != ",":
            return None


def _insert(r: Cursor, start: int) -> int | None:
    tok = _Tokens(r.text, start)
    words = []
    table = None
    cols: list[str] | None = None
    dotted = False
    while True:  # INSERT [LOW_PRIORITY|IGNORE] [INTO] [schema.]name [(cols)] VALUES
        t = tok.next()
        if t is None or len(words) > 8:
            return None
        kind, value = t
        if kind == "word" and value.upper() in ("VALUES", "VALUE"):
            break
        if value == "(" and table is not None:
            cols = _columns(tok)
            if cols is None:
                return None
            continue
        if value == "." and table is not None and cols is None:  # [dbo].[Patients]: the name is the last
            dotted = True
            continue
        if kind in ("word", "quoted"):
            # SQL Server's scripts write no INTO: ``INSERT [dbo].[Patients] ([Nom], ...) VALUES``.
            if dotted or (words and words[-1].upper() == "INTO") or (
                    table is None and len(words) == 1 and value.upper() not in _INSERT_MODIFIERS):
                table = _table_name(value)
            dotted = False
            words.append(value)
            continue
        return None
    if table is None:
        return None
    labels = cols if cols is not None else r.tables.get(table, [])
    rows = 0
    last_end = tok.pos
    while True:
        t = tok.next()
        if t is None or t[1] != "(":
            break
        row = _row(tok)
        if row is None:
            break
        names = labels if len(labels) == len(row) else [""] * len(row)
        r.add(make_record(list(zip(names, row, strict=True)), "sql"))
        rows += 1
        last_end = tok.pos
        t = tok.next()
        if t is None or t[1] != ",":
            if t is not None and t[1] == ";":
                last_end = tok.pos
            break
    if rows == 0:
        r.spend(tok.pos - start)
        return None
    stop = r.line_end(last_end)
    tail = r.text[last_end:stop]
    if tail.strip(" \t\r\n;"):
        r.keep(last_end, stop)
    return stop


def _row(tok: _Tokens) -> list[str] | None:
    """The values of one row (the ``(`` already read); a function call's strings make its value."""
    values: list[str] = []
    current: list[str] = []
    depth = 0
    while len(values) < MAX_ROW:
        t = tok.next()
        if t is None:
            return None
        kind, value = t
        if value == "(":
            depth += 1
        elif value == ")":
            if depth == 0:
                values.append(" ".join(current))
                return values
            depth -= 1
        elif value == "," and depth == 0:
            values.append(" ".join(current))
            current = []
        elif kind == "str":
            current.append(_string(value))
        elif kind == "num" and depth == 0:
            current.append(value)
        elif kind == "word" and value.upper() == "NULL":
            continue
        elif value == ";":
            return None
    return None


def _create(r: Cursor, start: int) -> int | None:
    """Remembers a table's columns; the statement (labels and types only) is consumed."""
    tok = _Tokens(r.text, start)
    table = None
    while True:
        t = tok.next()
        if t is None or tok.pos - start > 1000:
            return None
        if t[1] == "(":
            break
        if t[0] in ("word", "quoted") and t[1].upper() not in ("CREATE", "TABLE", "TEMPORARY", "IF", "NOT",
                                                               "EXISTS", "UNLOGGED"):
            table = _table_name(t[1])
    if table is None:
        return None
    cols: list[str] = []
    depth = 0
    expect_name = True
    while True:
        t = tok.next()
        if t is None or tok.pos - start > 200_000:
            r.spend(tok.pos - start)
            return None
        kind, value = t
        if value == "(":
            depth += 1
        elif value == ")":
            if depth == 0:
                break
            depth -= 1
        elif value == "," and depth == 0:
            expect_name = True
        elif expect_name:
            expect_name = False
            if kind in ("word", "quoted") and (kind == "quoted" or value.upper() not in _SKIP_DEFS):
                cols.append(_ident(value))
    r.tables[table] = cols
    return r.line_end(tok.pos)


def _copy(r: Cursor, start: int, end: int) -> int | None:
    text = r.text
    m = _COPY.match(text, start, end)
    if m is None:
        return None
    table = _table_name(m["table"])
    labels = [_ident(c.strip()) for c in m["cols"].split(",")] if m["cols"] else r.tables.get(table, [])
    pos = end
    while pos < len(text):
        nxt = r.line_end(pos)
        line = text[pos:nxt].rstrip("\r\n")
        if line == "\\.":
            return nxt
        values = [("" if v == "\\N" else _COPY_ESCAPE.sub(lambda e: _ESCAPES.get(e.group(1), e.group(1)), v))
                  for v in line.split("\t")]
        names = labels if len(labels) == len(values) else [""] * len(values)
        r.add(make_record(list(zip(names, values, strict=True)), "sql"))
        pos = nxt
    return pos
