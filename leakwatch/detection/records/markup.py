"""HTML tables with a header row, HTML definition lists and labelled forms, and XML elements.

A table's header is its first row of ``<th>`` cells (or its first row when every cell reads as a
label); each later row is a record. Cells are found by tags, so rows written over many lines,
unclosed ``<td>`` and nested markup all read. XML is read by expat, a line at a time, until its
root element closes: an element whose children are all leaves is a record (children's tags as
labels, or their ``name`` attribute for generic ones: phpMyAdmin's and mysqldump's XML exports;
its attributes too), and so is a leaf element with two attributes or more. A document
with a DTD is left to the text (no entity is ever expanded).
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from leakwatch.detection.records import labels
from leakwatch.detection.records.base import label_records, make_record
from leakwatch.detection.records.delimited import is_label

if TYPE_CHECKING:
    from leakwatch.detection.records.base import Cursor

MAX_ROW = 64 * 1024
"""Characters from a ``<tr`` to the next (or to the table's end): a longer 'row' is text after a stray
``<tr`` or ``<table`` (in code, in an e-mail), and the table ends before it: read as a row, the
text would be lost but for a cell's first thousand characters."""
MAX_XML = 64 * 1024 * 1024
_TABLE_START = re.compile(r"<table\b", re.IGNORECASE)
_TABLE_END = re.compile(r"</table\s*>", re.IGNORECASE)
_ROW = re.compile(r"<tr\b[^>]*>", re.IGNORECASE)
_CELL = re.compile(r"<t([hd])\b[^>]*>", re.IGNORECASE)
_CELL_END = re.compile(r"</t[hdr]\s*>|</t(?:body|head|foot)\s*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
HTML_TAGS = frozenset(
    [
        "html", "head", "body", "div", "p", "span", "table", "tr", "td", "th", "br", "a", "ul", "ol", "li", "h1",
        "h2", "h3", "h4", "h5", "h6", "script", "style", "img", "meta", "link", "form", "input", "button", "select",
        "option", "label", "section", "article", "header", "footer", "nav", "main", "pre", "code", "b", "i", "u",
        "em", "strong", "small", "hr", "iframe", "svg", "path", "title", "center", "font", "blockquote", "dl", "dt",
        "dd", "thead", "tbody", "tfoot", "caption"
    ])
_XML_NAME = re.compile(r"<(?:\?xml\b|([A-Za-z_][\w.\-]*(?::[\w.\-]+)?)[\s>/])")


_TABLE_TAG = re.compile(r"<(/?)table\b[^>]*>", re.IGNORECASE)


def table_opening(text: str, limit: int) -> tuple[int, int] | None:
    """Where the HTML table ``text`` ends inside of (no ``</table>`` after its ``<table>``) opens: its
    ``<table>`` tag and, when its first row is a header row, that row too, as long as that fits in
    ``limit`` characters (a part cut from the table is read after it: ``records.carry``). None when
    ``text`` ends inside no table."""
    last = None
    for tag in _TABLE_TAG.finditer(text):
        last = tag
    if last is None or last.group(1):
        return None
    first = _ROW.search(text, last.end(), last.end() + limit)
    if first is None:
        return last.start(), last.end()
    second = _ROW.search(text, first.end(), last.start() + limit)
    end = second.start() if second is not None else len(text)
    cells = _cells(text[first.end() : end])
    if end - last.start() <= limit and cells and _is_header(cells):
        return last.start(), end
    return last.start(), last.end()


def _cells(chunk: str) -> list[tuple[str, str, int, int]]:
    """A row's cells, from the text after its ``<tr>``: per cell its kind (``h`` or ``d``), its
    text, where its tag starts and where it ends (its closing tag, else the next cell)."""
    starts = list(_CELL.finditer(chunk))
    out = []
    for i, cm in enumerate(starts):
        limit = starts[i + 1].start() if i + 1 < len(starts) else len(chunk)
        cell_end = _CELL_END.search(chunk, cm.end(), limit)
        out.append((cm.group(1).lower(), _cell_text(chunk[cm.end() : cell_end.start() if cell_end else limit]),
                    cm.start(), cell_end.end() if cell_end else limit))
    return out


def _is_vertical(table: list[list[tuple[str, str, int, int]]]) -> bool:
    """A table of labels and their values, a pair or more a row (a person's file): ``<th>`` then
    ``<td>`` each, or known labels in the pairs' first cells of two rows at least (in a table with
    a header, only the header's row has them)."""
    if len(table) < 2 or any(len(row) % 2 for row in table):
        return False
    if all(row[i][0] == "h" and row[i + 1][0] == "d" for row in table for i in range(0, len(row), 2)):
        return True
    return sum(1 for row in table if any(labels.kind(row[i][1]) for i in range(0, len(row), 2))) >= 2


def _pairs_of(row: list[tuple[str, str, int, int]]) -> list[tuple[str, str]]:
    return [(row[i][1], row[i + 1][1]) for i in range(0, len(row), 2) if row[i][1]]


def _is_header(cells: list[tuple[str, str, int, int]]) -> bool:
    """A header row: ``<th>`` cells only, or every cell a label."""
    return all(kind == "h" for kind, _, _, _ in cells) or all(is_label(t) for _, t, _, _ in cells if t)


def _cell_text(markup: str) -> str:
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", markup))).strip()


def _next(r: Cursor, key: str, pattern: re.Pattern[str], pos: int) -> re.Match[str] | None:
    """``pattern.search(r.text, pos)``, remembered for the document: a text of many unclosed
    ``<table>`` tags asks again from each one, and each search must not run to its end again
    (40,000 such lines took 10 s, quadratic)."""
    cached = r.memo.get(key)
    if cached is not None:
        since, found = cached
        if since <= pos and (found is None or found.start() >= pos):
            return found
    found = pattern.search(r.text, pos)
    r.memo[key] = (pos, found)
    return found


def read_table(r: Cursor, pos: int, end: int) -> int | None:
    text = r.text
    m = _TABLE_START.search(text, pos, end)
    if m is None:
        return None
    close = _next(r, "table_end", _TABLE_END, m.end())
    stop = close.end() if close else len(text)  # unclosed: it runs to the document's end, however long
    first = _next(r, "row", _ROW, m.end())
    if first is None or first.start() >= stop or first.start() - m.end() > MAX_ROW:
        return None
    # Rows are taken up to the first that runs away: the work is what the table holds, not what
    # the document holds after it.
    tags = [first]
    runaway: int | None = None
    for tag in _ROW.finditer(text, first.end(), stop):
        if tag.start() - tags[-1].start() > MAX_ROW:
            runaway = tags[-1].start()
            break
        tags.append(tag)
    else:
        if stop - tags[-1].start() > MAX_ROW:
            runaway = tags[-1].start()
    spans = [(tag.start(), tag.end(), nxt) for tag, nxt in zip(tags, [*(t.start() for t in tags[1:]), stop],
                                                                 strict=True)]
    if runaway is not None:  # the table ends before that row; the rest is text
        stop, close = runaway, None
        spans = [span for span in spans if span[0] < runaway]
    header: list[str] | None = None
    rows = 0
    # What lies in a row outside its cells, before, between or after them (a table opened by a tag
    # written in code, whose "rows" run through other text to a real table further on), is no cell:
    # it stays text, never dropped.
    outside = [(m.end(), tags[0].start())]
    table: list[list[tuple[str, str, int, int]]] = []
    for _, cells_from, row_end in spans:
        found = _cells(text[cells_from:row_end])
        read_to = 0  # in the row: where the last cell read ended
        for _, _, tag_at, cell_end in found:
            outside.append((cells_from + read_to, cells_from + tag_at))
            read_to = cell_end
        outside.append((cells_from + read_to, row_end))
        if found:
            table.append(found)
    if _is_vertical(table):  # a person's file: a label and its value per row
        for record in label_records([pair for row in table for pair in _pairs_of(row)], "html"):
            r.add(record)
            rows += 1
        table = []
    for found in table:
        cells = [t for _, t, _, _ in found]
        if header is None and rows == 0 and _is_header(found):
            header = cells
            continue
        names = header if header is not None and len(header) == len(cells) else [""] * len(cells)
        r.add(make_record(list(zip(names, cells, strict=True)), "html"))
        rows += 1
    if header is None and rows == 0:
        return None
    r.keep(pos, m.start())
    for a, b in outside:
        if b > a and _TAG.sub("", text[a:b]).strip():
            r.keep(a, b)
    if runaway is not None:
        line_start = text.rfind("\n", 0, runaway) + 1
        return line_start if line_start > pos else None
    stop_line = r.line_end(stop) if close else len(text)
    if close and text[stop:stop_line].strip():
        r.keep(stop, stop_line)
    return stop_line


_LIST_START = re.compile(r"<dl\b[^>]*>", re.IGNORECASE)
_LIST_END = re.compile(r"</dl\s*>", re.IGNORECASE)
_TERM = re.compile(r"<(/?)(dt|dd)\b[^>]*>", re.IGNORECASE)


def read_list(r: Cursor, pos: int, end: int) -> int | None:
    """An HTML definition list, as a web page prints one person's file: each ``<dt>`` a label, the
    ``<dd>`` after it its value (closing tags optional, as HTML allows). One list is one record, or
    several when a label comes again (a list of people). A list that does not close within
    ``MAX_ROW`` is left to the text; what lies outside its terms stays text."""
    text = r.text
    m = _LIST_START.search(text, pos, end)
    if m is None:
        return None
    close = _next(r, "list_end", _LIST_END, m.end())
    if close is None or close.start() - m.end() > MAX_ROW:
        return None
    found_pairs: list[tuple[str, str]] = []
    label, open_tag, content_from = "", "", m.end()
    outside: list[tuple[int, int]] = []

    def finish(upto: int) -> None:
        nonlocal label
        content = _cell_text(text[content_from:upto])
        if open_tag == "dt":
            label = content
        elif open_tag == "dd" and label and content:
            found_pairs.append((label, content))
        elif not open_tag:
            outside.append((content_from, upto))

    for tag in _TERM.finditer(text, m.end(), close.start()):
        finish(tag.start())
        open_tag = "" if tag.group(1) else tag.group(2).lower()
        content_from = tag.end()
    finish(close.start())
    found = label_records(found_pairs, "html")
    if not found:
        return None
    for record in found:
        r.add(record)
    stop = r.line_end(close.end())
    for a, b in [(pos, m.start()), *outside, (close.end(), stop)]:
        if b > a and _TAG.sub("", text[a:b]).strip():
            r.keep(a, b)
    return stop


_LABELLED = re.compile(
    r"(?:<label\b[^>]*>(?P<label>.*?)</label\s*>"
    r"|<(?P<mark>b|strong|em|u|span)\b[^>]*>(?P<marked>[^<:]{1,60}?)(?:\s*:\s*</(?P=mark)\s*>|</(?P=mark)\s*>\s*:))"
    r"\s*(?:<(?P<tag>span|div|p|b|strong|em|output|td)\b[^>]*>"
    r"(?P<inner>.*?)</(?P=tag)\s*>|<input\b[^>]*?\bvalue=\"(?P<value>[^\"]*)\"[^>]*>|(?P<text>[^<]+))",
    re.IGNORECASE)
"""A label and its value: ``<label>Nom</label><span>DUPONT</span>``, ``<b>Nom :</b> DUPONT<br>``."""
_ONLY_TAGS = re.compile(r"\s*(?:<[^>]*>\s*)*")
MAX_FORM_LINES = 400


def read_labels(r: Cursor, pos: int, end: int) -> int | None:
    """A web page's form or file of one person: ``<label>Nom</label>`` and its value (a ``<span>``,
    a ``<div>``, an ``<input value>``, text) on a line, line after line (lines of tags only between
    them): one record, or one per person when a label comes again."""
    text = r.text
    pairs: list[tuple[str, str]] = []
    body, read_to = pos, pos
    for _ in range(MAX_FORM_LINES):
        if body >= len(text):
            break
        nxt = r.line_end(body)
        found = list(_LABELLED.finditer(text, body, nxt))
        if found:
            pairs += [(_cell_text(m["label"] or m["marked"]).rstrip(" :"),
                       _cell_text(m["inner"] or "") or html.unescape(m["value"] or m["text"] or "").strip())
                      for m in found]
            read_to = nxt
        elif _ONLY_TAGS.fullmatch(text, body, nxt) is None:
            break
        body = nxt
    found_records = label_records(pairs, "html")
    if sum(1 for label, _ in pairs if labels.kind(label)) < 1 or not found_records:
        r.skip_to = read_to  # these lines are text: not tried again one by one
        return None
    for record in found_records:
        r.add(record)
    return read_to


_AMP = re.compile(r"&(#\d+;|#x[0-9a-fA-F]+;|([A-Za-z][\w.\-]*);)?")
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})


def _mend_amps(line: str) -> str:
    """A hand-made export's ampersands as XML wants them: a bare ``&`` (``Dupont & Fils``) escaped,
    an HTML entity XML does not know (``caf&eacute;``) as its character. Either made the parser stop,
    and the record it stood in was lost."""

    def mend(m: re.Match[str]) -> str:
        if m.group(1) is None:
            return "&amp;"
        name = m.group(2)
        if name is None or name in _XML_ENTITIES:
            return m.group(0)
        char = html.unescape(m.group(0))
        return "&amp;" + m.group(1) if char == m.group(0) else html.escape(char, quote=False)

    return _AMP.sub(mend, line) if "&" in line else line


_PMA_ROW = re.compile(r'<table\s+name="[^"<>]*"\s*>\s*<column\b')
"""A row of phpMyAdmin's XML export: a ``<table>`` that is no HTML. A part of a large export cut
after its root begins with one."""


def read_xml(r: Cursor, start: int, end: int) -> int | None:
    text = r.text
    m = _XML_NAME.match(text, start)
    if m is None or (m.group(1) and m.group(1).lower() in HTML_TAGS and _PMA_ROW.match(text, start) is None):
        return None
    parser = ET.XMLPullParser(events=("start", "end"))
    open_: list[ET.Element] = []
    depth = 0
    started = False
    pos = start
    done_at = None
    records_before = len(r.records)
    last_record: int | None = None
    mixed = False
    try:
        while pos < len(text) and pos - start < MAX_XML:
            nxt = r.line_end(pos)
            line = text[pos:nxt]
            if "<!DOCTYPE" in line or "<!ENTITY" in line:
                break
            if len(open_) == 1 and "<" not in line and line.strip():
                # Text in the root, outside any element: a page, or a ``<setup>`` written in code
                # followed by what is no XML (a root of text alone holds no record either).
                mixed = True
                break
            parser.feed(_mend_amps(line))
            for event, elem in parser.read_events():
                if event == "start":
                    if open_ and _has_text(open_[-1]):
                        mixed = True  # text before this element, in its parent: as checked at the end
                        break         # below, but at once (``<setup>`` in code takes in all that follows)
                    open_.append(elem)
                    started = True
                    continue
                open_.pop()
                if len(elem) and ((elem.text or "").strip() or any((c.tail or "").strip() for c in elem)):
                    mixed = True  # text between elements: a document, not data
                    break
                if (len(elem) or len(elem.attrib) >= 2) and _element(r, elem):
                    last_record = nxt
                if len(elem) and open_:  # a record read: drop it, memory stays bounded
                    open_[-1].remove(elem)
            if mixed:  # this line showed it: it is read again as whatever else it may be
                break
            depth = len(open_)
            pos = nxt
            if started and depth == 0:
                done_at = pos
                break
    except ET.ParseError:
        pass
    if mixed:
        del r.records[records_before:]
        r.spend(pos - start)
        r.skip_to = pos
        return None
    if done_at is None:  # cut short or broken: the records read, and their lines to the text too
        if last_record is None:
            r.spend(pos - start)
            return None
        # What follows the last record is read again, line by line: an element never closed (a
        # ``<setup>`` in code) took in everything after it as its text, tables and dumps included.
        r.spend(pos - last_record)
        r.keep(start, last_record)
        return last_record
    return done_at


_NAMING = ("name", "key", "field", "column")
"""The attribute that names a generic field element (``<field name="nom">DUPONT</field>``)."""


def _field_name(child: ET.Element) -> str | None:
    """The label a leaf element's attribute gives it, when it has text and one such attribute."""
    if not (child.text or "").strip():
        return None
    return next((child.attrib[a] for a in _NAMING if a in child.attrib), None)


def _has_text(parent: ET.Element) -> bool:
    """Text in ``parent`` before its last child began: before the first, or after the one before."""
    return bool((parent.text or "").strip()) or (len(parent) > 1 and bool((parent[-2].tail or "").strip()))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _element(r: Cursor, elem: ET.Element) -> bool:
    """Adds the element's record if it is one: True when it did."""
    children = list(elem)
    pairs: list[tuple[str, str]] = []
    if children and all(len(c) == 0 for c in children):
        named = [_field_name(c) for c in children]
        # A row of generic fields named by an attribute (phpMyAdmin's <column name="nom">, mysqldump
        # --xml's <field name="nom">): the attribute is the label; the row's own name is its table's.
        pairs = [(_local(k), v) for k, v in elem.attrib.items() if not (any(named) and k in _NAMING)]
        pairs += [(label or _local(c.tag), (c.text or "").strip()) for c, label in zip(children, named, strict=True)]
        pairs += [(_local(k), v) for c, label in zip(children, named, strict=True)
                  if len(c.attrib) < 2 and not label for k, v in c.attrib.items()]
    elif not children and len(elem.attrib) >= 2:
        pairs = [(_local(k), v) for k, v in elem.attrib.items()] + [(_local(elem.tag), (elem.text or "").strip())]
    record = make_record(pairs, "xml")
    r.add(record)
    return record is not None
