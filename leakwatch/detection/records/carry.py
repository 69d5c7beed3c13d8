"""What a part cut from a long document needs from the text before it, to be read as it was written.

A large dump is matched in parts: 8 MB documents as it is read, 1 MB parts on the scan workers. A
part cut inside a CSV table, a multi-row SQL ``INSERT`` or an HTML table would lose the header row
or the column list that labels its values (an HTML table's rows, their ``<table>`` too: read as
text, one cell per line), and with them every record whose names and birth date are not side
by side (a 7 MB CSV split on two workers lost 85 % of them). So each part is read after the head
of the table or statement it continues (``carried``): its header row, its ``INSERT INTO t (cols)
VALUES``, its ``COPY t (cols) FROM stdin;``, its ``<table>`` tag and ``<th>`` row, or a query
output's header (under the ``+----+`` rule of the mysql client, over the dashes rule of SQL*Plus).
A part that starts a new block (after a blank line, where the cutters prefer to cut; an HTML
table goes on to its ``</table>``) or a new statement carries no head. A SQL dump names its columns
once, in ``CREATE TABLE``, and inserts without naming them (mysqldump, ``pg_dump --inserts``): those
statements seen so far (``schema``) are read before every later part that inserts.

Only the record matcher reads the head: watch terms are matched in the text as written, once.
"""

from __future__ import annotations

import csv
import re
from collections import Counter

from leakwatch.detection.records.delimited import column_starts, fixed_fields, is_rule, table_header
from leakwatch.detection.records.markup import table_opening

MAX_CLOSING = 2000
"""Closing lines looked at for a cut."""
MAX_HEAD = 4000
"""A longer line is no header (``delimited`` refuses it too) and a longer statement head is data."""
HEAD_LINES = 3
"""A table's header is looked for among the first lines of its block."""
_SQL_HEAD = re.compile(
    r"[ \t]*(?:INSERT\s+(?:IGNORE\s+)?INTO\s+[^\s(;]+\s*\([^)\n;]*\)\s*VALUES"
    r"|COPY\s+(?:ONLY\s+)?[^\s(;]+\s*(?:\([^)\n;]*\))?\s+FROM\s+stdin[^\n]*)",
    re.IGNORECASE,
)
_SQL_STARTS = ("INSERT", "insert", "Insert", "COPY", "copy", "Copy")
_CREATE_STARTS = ("CREATE TABLE", "create table", "Create Table", "CREATE TEMPORARY TABLE", "create temporary table")
MAX_CREATE = 16 * 1024
"""A longer ``CREATE TABLE`` (to its ``;``) is not carried."""
MAX_SCHEMA = 64 * 1024
"""The ``CREATE TABLE`` statements carried: the latest that fit."""
_LABELS = re.compile(r"[^\W\d][\w.\-]*(?: +[^\W\d][\w.\-]*)+")
"""A line of words only: a header whose dashes rule may follow in the next part."""
_TABLE_CLOSE = re.compile(r"</table\s*>", re.IGNORECASE)
_CLOSING = re.compile(r"\n([ \t]*)(?:[}\]]|</[\w:.\-]+>)[ \t]*,?[ \t]*(?=\r?\n)")
"""A line that only closes a JSON object or array, or an XML element."""


_RECORD_MARK = re.compile(
    r"\n(?=\*{5,} *\d+\. row \*{5,}|-\[ RECORD \d+ \]|BEGIN:VCARD|MSH\||H\|)"  # a record starts below
    r"|^\*{4}FIN\*{4}[ \t\r]*\n",  # an HPRIM letter ends here
    re.MULTILINE)
"""A line that begins or ends a record in formats whose records hold blank lines or none between
them: the mysql client's ``\\G`` rows, psql's expanded rows, vCards, HL7 and HPRIM messages."""
_INDENT = re.compile(r"\n([ \t]*)(?=\S)")


def _dedent(text: str, lo: int, hi: int) -> int:
    """Where a line less indented than the one above it begins (not one that only closes a bracket):
    a new entry of a log's indented dump or of a YAML list; -1 if none does."""
    above = None
    for m in _INDENT.finditer(text, max(0, lo - 1), hi):
        width = len(m.group(1))
        if above is not None and width < above and text[m.end()] not in "]}":
            return m.start() + 1
        above = width
    return -1


def cut_point(text: str, lo: int, hi: int) -> int:
    """Where to cut ``text`` between ``lo`` and ``hi``: where a record of a format with markers
    begins or ends (``_RECORD_MARK``), else just after a blank line if there is one, else after the
    least indented line that closes a JSON object or an XML element (a pretty-printed record ends
    there: cut inside it, its names would go to one part and its birth date to the next), else
    before a line less indented than the one above it, else after the first line end from ``lo``;
    -1 when there is no line end from ``lo``."""
    mark = _RECORD_MARK.search(text, max(0, lo - 1), hi)
    if mark is not None:
        return mark.end()
    blank = text.find("\n\n", lo, hi)
    if blank != -1:
        return blank + 1
    closing: list[tuple[int, str, int]] = []  # indentation, what it closes, where it ends
    for m in _CLOSING.finditer(text, max(0, lo - 1), hi):
        closing.append((len(m.group(1)), m.group().strip().rstrip(","), m.end()))
        if len(closing) >= MAX_CLOSING:
            break
    if closing:
        least = min(indent for indent, _, _ in closing)
        outer = [c for c in closing if c[0] == least]
        # Unindented (an export written on one line, one element a line since): a record's end is
        # the rarest closing (a person's </table>, not each of its </tr>).
        counts = Counter(token for _, token, _ in outer)
        at = min(outer, key=lambda c: counts[c[1]])[2]
        return text.find("\n", at) + 1
    dedent = _dedent(text, lo, hi)
    if dedent != -1:
        return dedent
    end = text.find("\n", lo)
    return end + 1 if end != -1 else -1


def opening(text: str, carried: str | None) -> str | None:
    """The head the text after ``text`` may continue: in the block (lines between blank lines)
    ``text`` ends in, the last SQL statement head, else the block's first line when it is a table
    header. ``carried`` is the head ``text`` itself continued: it holds while ``text`` has no blank
    line. An HTML table goes on to its ``</table>``, blank lines or not: when ``text`` ends inside
    one, its ``<table>`` tag and header row. None when there is none."""
    html = table_opening(text, MAX_HEAD)
    if html is not None:
        return text[html[0] : html[1]]
    if carried is not None and _is_html(carried) and _TABLE_CLOSE.search(text) is None:
        return carried
    blanks = [i + len(sep) for sep in ("\n\n", "\n\r\n") if (i := text.rfind(sep)) != -1]
    block = max(blanks, default=0)
    continued = not blanks and not text.startswith(("\n", "\r\n"))  # the part began in a block
    line_start = max(text.rfind("\n" + word, max(0, block - 1)) for word in _SQL_STARTS)
    if line_start != -1 or (block == 0 and text.startswith(_SQL_STARTS)):
        m = _SQL_HEAD.match(text, line_start + 1)
        if m is not None and m.end() - m.start() <= MAX_HEAD:
            return m.group().strip()
    if continued and carried is not None:
        return carried
    while text.startswith(("\n", "\r"), block):
        block += 1
    return _table_head(text, block)


def _table_head(text: str, start: int) -> str | None:
    """The header of the table a block starting at ``start`` holds, if one of its first lines is
    one (a query's output has the query, or a ``+----+`` rule, above it): a delimited header, or a
    fixed-width one with its dashes rule under it when it has one."""
    for _ in range(HEAD_LINES):
        end = text.find("\n", start, start + MAX_HEAD + 2)
        if end == -1:
            return None
        line = text[start:end].rstrip("\r")
        if not line:
            return None
        if table_header(line) is not None:
            return line
        below_end = text.find("\n", end + 1, end + MAX_HEAD + 3)
        if below_end == -1 and end + 1 == len(text) and _LABELS.fullmatch(line):
            return line  # the last line: its rule, if it has one, begins the next part
        below = text[end + 1 : below_end].rstrip("\r") if below_end != -1 else ""
        fixed = column_starts(line, below)
        if fixed is not None:
            return line + "\n" + below if fixed[2] else line
        start = end + 1
    return None


def _is_html(head: str) -> bool:
    return head[:6].lower() == "<table"


def head_for(head: str | None, text: str) -> str:
    """``head`` and a line end when ``text`` continues the table or statement it opens, else ''."""
    if head and _is_html(head):
        rest = text.lstrip()
        if _TABLE_CLOSE.match(rest):
            return ""
        return head + ("\n<tr>\n" if rest[:3].lower() in ("<td", "<th") else "\n")
    if not head or text.startswith(("\n", "\r\n")):
        return ""
    end = text.find("\n", 0, MAX_HEAD * 16)
    first = (text[:end] if end != -1 else text[: MAX_HEAD * 16]).rstrip("\r")
    if head[:6].upper() == "INSERT":
        return head + "\n" if first.lstrip().startswith("(") else ""
    if head[:4].upper() == "COPY":
        return head + "\n" if first != "\\." and not first.startswith(_SQL_STARTS) else ""
    table = table_header(head)
    if table is None:
        header, _, rule = head.partition("\n")
        if not rule and column_starts(header, first) is not None:
            return head + "\n"  # the part begins with the header's rule
        fixed = column_starts(header, rule)
        return head + "\n" if fixed is not None and fixed_fields(first, fixed[1]) is not None else ""
    delim, fields = table
    if delim == "|":  # a row, or the rule under the header (the header ended the part before)
        return head + "\n" if first.count("|") == head.count("|") or is_rule(first) else ""
    row = next(csv.reader([first], delimiter=delim), [])
    return head + "\n" if len(row) == len(fields) else ""


def creates(text: str) -> tuple[list[tuple[int, int]], int | None]:
    """Where ``text``'s ``CREATE TABLE`` statements are (each starting a line, to its ``;``
    included), in order; and where the one ``text`` ends in the middle of starts (a cut inside it),
    or None."""
    found: list[tuple[int, int]] = []
    unfinished: int | None = None
    for word in _CREATE_STARTS:
        i = text.find(word)
        while i != -1:
            if i == 0 or text[i - 1] == "\n":
                end = text.find(";", i, i + MAX_CREATE)
                if end != -1:
                    found.append((i, end + 1))
                elif len(text) - i < MAX_CREATE:
                    unfinished = i if unfinished is None else max(unfinished, i)
            i = text.find(word, i + len(word))
    return sorted(found), unfinished


def latest(statements: list[str]) -> list[str]:
    """The latest statements that fit in ``MAX_SCHEMA``."""
    size = sum(map(len, statements))
    start = 0
    while size > MAX_SCHEMA and start < len(statements):
        size -= len(statements[start])
        start += 1
    return statements[start:]


def schema(text: str, carried: str) -> tuple[str, str]:
    """The ``CREATE TABLE`` statements of ``carried`` and then of ``text``, the latest within
    ``MAX_SCHEMA``: column names, no row. Also the statement ``text`` ends in the middle of (a
    cut inside it), to be completed by the next piece."""
    spans, unfinished = creates(text)
    tail = text[unfinished:] if unfinished is not None else ""
    if not spans:
        return carried, tail
    return "".join(latest([carried] + [text[i:j] + "\n" for i, j in spans])), tail


class Carry:
    """What the next piece of a long text needs from the pieces cut before it: the head of the
    table or statement it may continue (``opening``) and the dump's ``CREATE TABLE`` statements."""

    def __init__(self, head: str | None = None, schema: str = "") -> None:
        self.head = head
        self.schema = schema
        self.unfinished = ""
        """The start of a ``CREATE TABLE`` the last piece was cut inside."""

    def prefix(self, text: str) -> str:
        """What to read before ``text``: the schema when it inserts, the start of a ``CREATE
        TABLE`` it finishes, then the head it continues."""
        tables = self.schema if self.schema and ("INSERT" in text or "insert" in text) else ""
        return tables + self.unfinished + head_for(self.head, text)

    def after(self, text: str) -> None:
        """Take in ``text``, the piece just cut."""
        self.head = opening(text, self.head)
        self.schema, self.unfinished = schema(self.unfinished + text if self.unfinished else text, self.schema)
