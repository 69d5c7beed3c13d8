"""The pass over a document's lines that hands each structured part to the reader of its format."""

from __future__ import annotations

import re
from collections import Counter

from leakwatch.records import Record, Split, delimited, jsonrec, keyvalue, markup, sql

_TABLE = re.compile(r"<table\b", re.IGNORECASE)
_SQL_START = re.compile(r"(?:INSERT\s|COPY\s|CREATE\s+(?:TEMPORARY\s+)?TABLE\s)", re.IGNORECASE)


class Reader:
    """One document: its records, the spans of free text left, and the budget of failed attempts."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.records: list[Record] = []
        self.formats: Counter[str] = Counter()
        self.tables: dict[str, list[str]] = {}
        """Column names of ``CREATE TABLE`` statements, for ``INSERT`` and ``COPY`` without a list."""
        self.budget = 4 * len(text) + (1 << 20)
        """Characters that attempts which read nothing may still cost: a pathological text (a
        thousand unclosed ``{``) falls back to text in linear time."""
        self._keeps: list[tuple[int, int]] = []
        self.skip_to = 0
        """Lines before this position were found to be text by a reader that looked ahead."""

    def line_end(self, pos: int) -> int:
        """The position after the line that ``pos`` is in (after its newline)."""
        end = self.text.find("\n", pos)
        return len(self.text) if end < 0 else end + 1

    def spend(self, n: int) -> bool:
        """Charge ``n`` characters of a failed attempt; False once the budget is spent."""
        self.budget -= n
        return self.budget > 0

    def add(self, record: Record | None) -> None:
        if record is not None:
            self.records.append(record)
            self.formats[record.format] += 1

    def keep(self, start: int, end: int) -> None:
        """Leave ``text[start:end]``, inside a consumed part, to the free text."""
        if end > start:
            self._keeps.append((start, end))

    def run(self) -> Split:
        text, n = self.text, len(self.text)
        spans: list[tuple[int, int]] = []
        pos = text_start = 0
        while pos < n:
            end = self.line_end(pos)
            self._keeps = []
            new = self._try(pos, end) if self.budget > 0 and pos >= self.skip_to else None
            if new is None or new <= pos:
                pos = end
                continue
            if pos > text_start:
                spans.append((text_start, pos))
            spans.extend(self._keeps)
            pos = text_start = new
        if not spans and text_start == 0:
            return Split(text, self.records, self.formats)
        if text_start < n:
            spans.append((text_start, n))
        rest = "".join(text[a:b] if text[b - 1] == "\n" else text[a:b] + "\n" for a, b in spans)
        return Split(rest, self.records, self.formats)

    def _try(self, pos: int, end: int) -> int | None:
        text = self.text
        start = pos
        while start < end and text[start] in " \t\r\ufeff":
            start += 1
        if start >= end or text[start] == "\n":
            return None
        c = text[start]
        if c in "{[":
            new = jsonrec.read(self, start, end)
            if new is not None:
                return new
        if c == "<" or text.find("<", start, end) != -1:
            new = markup.read_table(self, pos, end) if _TABLE.search(text, start, end) else None
            if new is None and c == "<":
                new = markup.read_xml(self, start, end)
            if new is not None:
                return new
        if c in "IiCc" and _SQL_START.match(text, start):
            new = sql.read(self, start, end)
            if new is not None:
                return new
        new = delimited.read(self, pos, end)
        if new is not None:
            return new
        return keyvalue.read(self, pos, end)
