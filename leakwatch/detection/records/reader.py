"""The pass over a document's lines that hands each structured part to the reader of its format."""

from __future__ import annotations

import re

from leakwatch.detection.records import delimited, hl7, jsonrec, keyvalue, markup, sql, vcard
from leakwatch.detection.records.base import Cursor, Split

_TABLE = re.compile(r"<table\b", re.IGNORECASE)
_LIST = re.compile(r"<dl\b", re.IGNORECASE)
_LABEL = re.compile(r"<label\b|:\s*</(?:b|strong|em|u|span)>|</(?:b|strong|em|u|span)>\s*:", re.IGNORECASE)
_INDENT = re.compile(r"[ \t\r\ufeff]*")
_SQL_START = re.compile(r"(?:INSERT\s|COPY\s|CREATE\s+(?:TEMPORARY\s+)?TABLE\s)", re.IGNORECASE)


class Reader(Cursor):
    """The pass over a document's lines, handing each structured part to its format's reader."""

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
        if self.overflow:
            rest += "\n".join(self.overflow) + "\n"
        return Split(rest, self.records, self.formats)

    def _try(self, pos: int, end: int) -> int | None:
        text = self.text
        start = _INDENT.match(text, pos, end).end()  # type: ignore[union-attr]  # it matches the empty string
        if start >= end or text[start] == "\n":
            return None
        if pos == 0 or ("*" in text[pos - 3 : pos - 1] and text.startswith("****", text.rfind("\n", 0, pos - 1) + 1)):
            # a file's first line, or the first after a ``****LAB****``/``****FIN****`` marker
            new = hl7.read_letter(self, pos)
            if new is not None:
                return new
        c = text[start]
        if c in "{[":
            new = jsonrec.read(self, start, end)
            if new is not None:
                return new
        if c == "<" or text.find("<", start, end) != -1:
            new = markup.read_table(self, pos, end) if _TABLE.search(text, start, end) else None
            if new is None and _LIST.search(text, start, end):
                new = markup.read_list(self, pos, end)
            if new is None and _LABEL.search(text, start, end):
                new = markup.read_labels(self, pos, end)
            if new is None and c == "<":
                new = markup.read_xml(self, start, end)
            if new is not None:
                return new
        if (c == "P" and text.startswith("PID|", start)) or text.find("\rPID|", start, end) != -1:
            new = hl7.read(self, start, end)
            if new is not None:
                return new
        if c == "P" and text.startswith("P|", start):
            new = hl7.read_patient(self, start, end)
            if new is not None:
                return new
        if c in "Bb" and text.startswith(("BEGIN:VCARD", "begin:vcard", "BEGIN:vcard"), start):
            new = vcard.read(self, start, end)
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
