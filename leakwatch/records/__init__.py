"""Structured leaks read as records: each value with the label of its field.

``read(text)`` splits a document into the records its structured parts hold (CSV/TSV with a header,
JSON, SQL ``INSERT`` and ``COPY``, ``key=value`` and ``key: value`` lines, HTML tables with a
header row, XML elements) and the rest, free text. Each part of a mixed paste is read as what it
is; a broken or truncated structure keeps the records read before the break and leaves the rest to
the text. One pass over the lines, each reader consuming whole lines: time is linear in the text,
and the work a failed attempt may cost is capped by a budget proportional to the text's size.
"""

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


def read(text: str) -> Split:
    """Records of every structured part of ``text`` and the free text left. Never raises: a reader
    that fails unexpectedly is logged (its name, never the text) and the whole text stays text."""
    from leakwatch import log
    from leakwatch.records.reader import Reader

    try:
        return Reader(text).run()
    except Exception as exc:  # a reader's bug must never stop a scan
        log.warning("records_unread", error=exc.__class__.__name__, action="the document is scanned as text")
        return Split(text)


__all__ = ["Record", "Split", "make_record", "read"]
