"""Structured leaks read as records: each value with the label of its field.

``read(text)`` splits a document into the records its structured parts hold (CSV/TSV with a header,
query output pasted from mysql and psql, fixed-width exports, JSON, SQL ``INSERT`` and ``COPY``,
``key=value`` and ``key: value`` lines, LDIF entries, HTML tables with a header row and definition
lists, XML elements, vCard, HL7 v2) and the rest, free text. Each part of a mixed paste is read as what it
is; a broken or truncated structure keeps the records read before the break and leaves the rest to
the text. One pass over the lines, each reader consuming whole lines: time is linear in the text,
and the work a failed attempt may cost is capped by a budget proportional to the text's size.
"""

from __future__ import annotations

from leakwatch.detection.records.base import MAX_FIELDS, MAX_VALUE, Record, Split, make_record


def read(text: str) -> Split:
    """Records of every structured part of ``text`` and the free text left. Never raises: a reader
    that fails unexpectedly is logged (its name, never the text) and the whole text stays text."""
    from leakwatch import log
    from leakwatch.detection.records.reader import Reader

    try:
        return Reader(text).run()
    except Exception as exc:  # a reader's bug must never stop a scan
        log.warning("records_unread", error=exc.__class__.__name__, action="the document is scanned as text")
        return Split(text)


__all__ = ["MAX_FIELDS", "MAX_VALUE", "Record", "Split", "make_record", "read"]
