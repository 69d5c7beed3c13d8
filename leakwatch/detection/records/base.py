"""What the format readers share: the record, the split of a document, and the cursor they
read a document with (kept apart from ``reader``, which imports every format reader)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

MAX_FIELDS = 200
MAX_VALUE = 1000
"""A value longer than this is cut: a record's field, not a document."""


@dataclass(frozen=True, slots=True)
class Record:
    """One record's fields: ``(label as written, value)``; the label is ``""`` for text around the
    fields (the message of a log line) and for columns with no header."""

    fields: tuple[tuple[str, str], ...]
    format: str


@dataclass
class Split:
    text: str
    """The document with the structured parts taken out: free text, matched as today."""
    records: list[Record] = field(default_factory=list)
    formats: Counter[str] = field(default_factory=Counter)


def make_record(pairs: list[tuple[str, str]], fmt: str) -> Record | None:
    """A record of the non-empty values, cut to the caps; None when every value is empty."""
    out = tuple((label if len(label) <= 100 else label[:100], value if len(value) <= MAX_VALUE else value[:MAX_VALUE])
                for label, value in pairs[:MAX_FIELDS] if value and not value.isspace())
    return Record(out, fmt) if out else None


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
