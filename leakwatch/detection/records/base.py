"""What the format readers share: the record, the split of a document, and the cursor they
read a document with (kept apart from ``reader``, which imports every format reader)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

MAX_FIELDS = 200
MAX_VALUE = 1000
"""A value longer than this is no field but text (a notes column holding a pasted list, a JSON
document in a SQL column): it is matched as free text, to its end."""


@dataclass(frozen=True, slots=True)
class Record:
    """One record's fields: ``(label as written, value)``; the label is ``""`` for text around the
    fields (the message of a log line) and for columns with no header."""

    fields: tuple[tuple[str, str], ...]
    format: str
    text: tuple[str, ...] = ()
    """Its values too long to be fields (``MAX_VALUE``): read with the document's free text."""


@dataclass
class Split:
    text: str
    """The document with the structured parts taken out: free text, matched as today."""
    records: list[Record] = field(default_factory=list)
    formats: Counter[str] = field(default_factory=Counter)


def make_record(pairs: list[tuple[str, str]], fmt: str) -> Record | None:
    """A record of the non-empty values (at most ``MAX_FIELDS``), the long ones as its text; None
    when every value is empty."""
    out = tuple((label if len(label) <= 100 else label[:100], value)
                for label, value in pairs[:MAX_FIELDS] if value and not value.isspace())
    if not out:
        return None
    if any(len(value) > MAX_VALUE for _, value in out):
        return Record(tuple(f for f in out if len(f[1]) <= MAX_VALUE), fmt,
                      tuple(value for _, value in out if len(value) > MAX_VALUE))
    return Record(out, fmt)


def by_label(pairs: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Label and value pairs written one after the other (a form, a vertical table, a definition
    list) as records: a new one each time a label comes again (a list of people)."""
    records: list[list[tuple[str, str]]] = [[]]
    seen: set[str] = set()
    for label, value in pairs:
        if label in seen:
            records.append([])
            seen.clear()
        seen.add(label)
        records[-1].append((label, value))
    return records


def label_records(pairs: list[tuple[str, str]], fmt: str) -> list[Record]:
    """``by_label``'s records; none unless one holds two values or more (a label and its value
    alone is a caption, no record). In a list, a record of one value (the last person, an e-mail
    only) is kept: it is someone's, and what it holds is read nowhere else."""
    groups = by_label(pairs)
    if not any(len(group) >= 2 for group in groups):
        return []
    return [record for group in groups if (record := make_record(group, fmt)) is not None]


class Cursor:
    """One document being read: its records, the spans of free text left, and the budget of failed
    attempts. The format readers take it; ``reader.Reader`` adds the pass over the lines."""

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
        self.overflow: list[str] = []
        """Values too long to be fields, given back to the free text."""
        self.skip_to = 0
        """Lines before this position were found to be text by a reader that looked ahead."""
        self.memo: dict[str, tuple[int, re.Match[str] | None]] = {}
        """A reader's searches ahead, remembered (``markup._next``)."""

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
            if record.text:
                self.overflow.extend(record.text)

    def keep(self, start: int, end: int) -> None:
        """Leave ``text[start:end]``, inside a consumed part, to the free text."""
        if end > start:
            self._keeps.append((start, end))
