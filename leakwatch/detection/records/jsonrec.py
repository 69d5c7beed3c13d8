"""JSON: objects on one line each, arrays, pretty-printed documents over many lines, nesting.

A record is an object with its nested objects' values (labelled by their last two keys, so that
``patient.nom`` reads as a last name and ``medecin.nom`` as someone else's); each element of a list
of objects is a record of its own (but a list of one object, or of typed values, is its parent's
property: FHIR's ``"name": [{"family", "given"}]``), and so is each of a dict's children when they
all share one set of keys (``{"p1": {...}, "p2": {...}}``). A table written column by column, or as
its column names once and rows as arrays, is read row by row. A top-level array cut short keeps
the elements read.
A document the mongo shell printed on one line (keys unquoted, ``ObjectId(...)``, single quotes)
is read as the JSON it stands for.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from leakwatch.detection.records import labels
from leakwatch.detection.records.base import make_record
from leakwatch.detection.records.delimited import is_label

if TYPE_CHECKING:
    from leakwatch.detection.records.base import Cursor

_decoder = json.JSONDecoder()
_lenient = json.JSONDecoder(strict=False)
"""Takes a tab or another control character inside a string, as a careless exporter writes one."""
_ESCAPE = re.compile(r'\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}|(?P<bad>[^\n]))')


def _mend_escapes(chunk: str) -> str:
    """Backslashes that escape nothing JSON knows (a Windows path ``C:\\Photos`` written as is,
    PostgreSQL's ``\\N``, ``\\'``), each as ``/``: the same length, so that positions hold."""
    return _ESCAPE.sub(lambda m: m.group(0) if m.group("bad") is None else "/" + m.group("bad"), chunk)


_WS = " \t\r\n"
MAX_DEPTH = 64
WINDOW = 4096
"""Characters a value is first decoded from; four times more while it may run past them."""


class _Invalid(ValueError):
    """Not JSON from there; ``pos``: where, in the document."""

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.pos = pos


def _decode(text: str, pos: int) -> tuple[object, int]:
    """``raw_decode(text, pos)``, reading a window that grows only while the value may run past it.
    The decoder's error counts the lines from the start of the string it was given: given the whole
    document, each failed attempt cost the document's length (2 MB of unclosed '{' lines: 5 min)."""
    size, decoder, mend = WINDOW, _decoder, 0
    while True:
        chunk = text[pos : pos + size]
        if mend:  # to the end of the line that failed (a JSON line: one pass), else all of it
            upto = len(chunk) if mend < 0 else mend
            chunk = _mend_escapes(chunk[:upto]) + chunk[upto:]
        try:
            value, stop = decoder.raw_decode(chunk)
        except RecursionError:  # nested deeper than a record ever is: what it read is spent
            raise _Invalid(pos + len(chunk)) from None
        except json.JSONDecodeError as exc:
            # A broken exporter's strings: read them rather than lose the record (a few passes at most).
            if exc.msg.startswith("Invalid \\escape") and mend >= 0:
                line_end = chunk.find("\n", exc.pos)
                mend = -1 if mend or line_end == -1 else line_end
                continue
            if exc.msg.startswith("Invalid control character") and decoder is _decoder and chunk[exc.pos] != "\n":
                decoder = _lenient
                continue
            cut = exc.pos >= len(chunk) - 16 or exc.msg.startswith("Unterminated string")
            if pos + size >= len(text) or not cut:  # the parser failed before the window's end
                raise _Invalid(pos + exc.pos) from None
            size *= 4
            continue
        return value, pos + stop


def read(r: Cursor, start: int, end: int) -> int | None:
    text = r.text
    nxt = start + 1
    while nxt < len(text) and text[nxt] in " \t\r":
        nxt += 1
    # '{' must open a key or be alone on its line; '[' must open a value: not "[INFO]", not "{x}".
    follow = text[nxt] if nxt < len(text) else ""
    number = text[start] == "[" and (follow.isdigit() or follow == "-")
    if follow not in ('"', "\n", "}", "]", "{", "[") and not number:
        return _shell_object(r, start, end) if _SHELL_KEY.match(text, start, end) else None
    if follow == "\n" and text[start] == "{":  # alone on its line: a key must follow, on the next ones
        token = _TOKEN.match(text, nxt)
        if token is None or token.group(1) not in ('"', "}"):
            return None
    try:
        value, stop = _decode(text, start)
    except (ValueError, RecursionError) as exc:
        failed_at: int | None = getattr(exc, "pos", None)
        if text[start] == "[" and follow in "{[\n":
            return _array_prefix(r, start, start if failed_at is None else failed_at)
        inner = _INNER_ARRAY.search(text, start, min(end, start + WINDOW)) if text[start] == "{" else None
        if inner is not None and failed_at is not None and failed_at >= len(text) - 16:
            return _array_prefix(r, text.index("[", inner.start()), failed_at)  # an export's wrapper, cut
        r.spend((end if failed_at is None else failed_at) - start)
        return None
    _records(r, value)
    return _after(r, _more_objects(r, stop))


_INNER_ARRAY = re.compile(r'"\s*:\s*\[\s*(?=\{)')
"""The array of objects an export's wrapper holds (``{"export": ..., "rows": [{...``)."""
_NEXT_OBJECT = re.compile(r"[ \t]*,[ \t]*(?=\{)")


def _more_objects(r: Cursor, stop: int) -> int:
    """Objects that follow on the same line, a comma between (a part of minified JSON, cut between
    two objects of its array): each is read as a record; where they end."""
    text = r.text
    while (m := _NEXT_OBJECT.match(text, stop)) is not None:
        try:
            value, stop = _decode(text, m.end())
        except (ValueError, RecursionError):
            break
        _records(r, value)
    return stop


_STRING = r"'(?:[^'\\\n]|\\.)*'" + r'|"(?:[^"\\\n]|\\.)*"'
_TOKEN = re.compile(r"[ \t\r\n]{0,4096}(\S)")
"""The first character after blank space (within 4 kB)."""
_SHELL_KEY = re.compile(r"\{\s*[A-Za-z_$][\w$]*\s*:")
_SHELL_TOKEN = re.compile(
    rf"""(?P<string>{_STRING})"""
    rf"""|(?:new\s+)?(?:ObjectId|ISODate|Date|NumberLong|NumberInt|NumberDecimal|Long|Int32|Double|Decimal128|UUID)"""
    rf"""\(\s*(?P<arg>{_STRING}|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)?\s*\)"""
    r"""|(?<=[{,])(?P<key>\s*[A-Za-z_$][\w$]*)(?=\s*:)"""
)
"""What the mongo shell (and JavaScript) writes where JSON would not: strings in single quotes,
``ObjectId('...')``, ``ISODate("...")`` and the like around a value, keys without quotes."""


def _as_json(token: re.Match[str]) -> str:
    literal = token.group("string") or token.group("arg")
    if token.group("key") is not None:
        return json.dumps(token.group("key").strip())
    if literal is None:
        return "null"
    if literal[0] == "'":
        body = literal[1:-1].replace("\\'", "'").replace('"', '\\"')
        return f'"{body}"'
    return literal


def _shell_object(r: Cursor, start: int, end: int) -> int | None:
    """A document on one line as the mongo shell prints it (``{ _id: ObjectId('...'), nom: 'X',
    ddn: ISODate("...") }``): read as the JSON it stands for. Printed over many lines, its
    ``key: value`` lines are read as a block (``keyvalue``)."""
    line = _SHELL_TOKEN.sub(_as_json, r.text[start:end].rstrip().rstrip(","))
    try:
        value = _lenient.decode(line)
    except ValueError:
        try:
            value = _lenient.decode(_mend_escapes(line))
        except ValueError:
            r.spend(end - start)
            return None
    if not isinstance(value, dict):
        return None
    _records(r, value)
    return end


def _after(r: Cursor, stop: int) -> int:
    """The line end after a JSON value; text after the value on its line is left to the text."""
    line_end = r.line_end(stop)
    tail = r.text[stop:line_end].strip(_WS + ",")
    if tail:
        r.keep(stop, line_end)
    return line_end


def _array_prefix(r: Cursor, start: int, failed_at: int) -> int | None:
    """The complete elements of a top-level array that is cut short or broken further on."""
    text = r.text
    pos = start + 1
    last = None
    while True:
        while pos < len(text) and text[pos] in _WS + ",":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            break
        try:
            value, pos = _decode(text, pos)
        except (ValueError, RecursionError):
            break
        _records(r, value)
        last = pos
    if last is None:
        r.spend(max(failed_at, pos) - start)
        return None
    return r.line_end(last)


def _scalar(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    return None


def _records(r: Cursor, value: object) -> None:
    stack: list[tuple[object, str, int]] = [(value, "", 0)]
    while stack:
        node, key, depth = stack.pop()
        if depth > MAX_DEPTH:
            continue
        if isinstance(node, list):
            table = _header_first(node)
            if table is not None:  # [["nom", "prenom", ...], ["DUPONT", "Jean", ...], ...]
                for row in table:
                    r.add(make_record(row, "json"))
                continue
            scalars = [s for v in node if (s := _scalar(v)) is not None]
            if scalars and len(scalars) == len(node):
                r.add(make_record([(key, " ; ".join(scalars))], "json"))
            stack.extend((v, "", depth + 1) for v in reversed(node) if isinstance(v, dict | list))
        elif isinstance(node, dict):
            columns = _by_column(node)
            if columns is not None:  # pandas' to_json(): {"nom": {"0": ...}, "prenom": {"0": ...}}
                for row in columns:
                    r.add(make_record(row, "json"))
                continue
            split = _by_row(node)
            if split is not None:  # {"columns": ["nom", ...], "data": [["DUPONT", ...], ...]}
                rows, used = split
                for row in rows:
                    r.add(make_record(row, "json"))
                node = {k: v for k, v in node.items() if k not in used}  # the rest: one record as usual
            pairs: list[tuple[str, str]] = []
            _flatten(node, key, pairs, stack, depth)
            r.add(make_record(pairs, "json"))


def _by_column(node: dict[str, object]) -> list[list[tuple[str, str]]] | None:
    """The rows of a table written column by column (pandas' default ``to_json``): each value an
    object of scalars under the same row keys (``"0"``, ``"1"``...), the keys naming columns one of
    which is a known label. None for any other object."""
    columns = list(node.items())
    if len(columns) < 2 or not all(isinstance(v, dict) and v for _, v in columns):
        return None
    rows = list(columns[0][1])  # type: ignore[arg-type]
    if not all(str(i).isdigit() for i in rows) or not any(labels.kind(str(k)) for k, _ in columns):
        return None
    if any(list(v) != rows for _, v in columns):  # type: ignore[call-overload]
        return None
    out = []
    for i in rows:
        row = [(str(k), s) for k, v in columns if (s := _scalar(v[i])) is not None]  # type: ignore[index]
        out.append(row)
    return out


def _names(value: object) -> list[str] | None:
    """Column names: a list of strings, or of objects that each have a ``name`` (a field list)."""
    if not isinstance(value, list) or len(value) < 2:
        return None
    if all(isinstance(v, str) for v in value):
        return value  # type: ignore[return-value]
    if all(isinstance(v, dict) and isinstance(v.get("name"), str) for v in value):
        return [v["name"] for v in value]  # type: ignore[index]
    return None


def _rows(header: list[str], body: list[object]) -> list[list[tuple[str, str]]] | None:
    """The records of rows written as arrays under ``header``, when every row has its width and
    one of its names is a known label."""
    if not body or not all(isinstance(row, list) and len(row) == len(header) for row in body):
        return None
    if not any(labels.kind(name) for name in header):
        return None
    return [[(name, s) for name, v in zip(header, row, strict=True) if (s := _scalar(v)) is not None]
            for row in body]  # type: ignore[arg-type]


def _header_first(node: list[object]) -> list[list[tuple[str, str]]] | None:
    """A table as a list of arrays whose first is its header row (Google Sheets' ``values``, CSV
    to JSON tools)."""
    if len(node) < 2 or not isinstance(node[0], list):
        return None
    header = _names(node[0])
    if header is None or not all(is_label(name) for name in header):
        return None
    return _rows(header, node[1:])


def _by_row(node: dict[str, object]) -> tuple[list[list[tuple[str, str]]], set[str]] | None:
    """The rows of a table written as its column names once and each row as an array: pandas'
    ``to_json(orient="split")``, BI tools and DataTables (``{"columns": [...], "data": [[...]]}``,
    ``{"fields": [{"name": ...}], "rows": [[...]]}``), a header row first (``{"values": [[...]]}``).
    Also the keys it used. None for any other object."""
    headers = [(k, names) for k, v in node.items() if (names := _names(v)) is not None]
    bodies = [(k, v) for k, v in node.items() if isinstance(v, list) and v and isinstance(v[0], list)]
    for body_key, body in bodies:
        for header_key, header in headers:
            rows = _rows(header, body)
            if rows is not None:
                return rows, {header_key, body_key}
        rows = _header_first(body)
        if rows is not None:
            return rows, {body_key}
    return None


_TYPED_VALUE = frozenset({"system", "value", "use", "type", "rank", "period", "label", "kind", "primary"})
"""The keys of an object that is one value of its parent (FHIR's ContactPoint and Identifier: a
phone, an e-mail, a NIR with its system), never a person of its own."""


def _properties(items: list[object]) -> bool:
    """Whether a list of objects holds its parent's properties rather than records of their own:
    one object alone (FHIR's ``name``, ``address``: a one-element list is no table), or typed
    values (``telecom``: ``[{"system": "phone", "value": ...}, {"system": "email", ...}]``)."""
    if not items or not all(isinstance(x, dict) for x in items):
        return False
    return len(items) == 1 or all(set(x) <= _TYPED_VALUE for x in items)  # type: ignore[arg-type]


def _flatten(node: dict[str, object], parent: str, pairs: list[tuple[str, str]],
             stack: list[tuple[object, str, int]], depth: int) -> None:
    """An object's values, and its nested objects', into one record; lists of objects and sibling
    objects of one shape go back on the stack as records of their own."""
    children = [v for v in node.values() if isinstance(v, dict)]
    siblings = len(children) >= 2 and len({tuple(c) for c in children}) == 1 and len(children[0]) >= 2
    for k, v in node.items():
        k = str(k)
        label = f"{parent}.{k}" if parent else k
        s = _scalar(v)
        if s is not None:
            pairs.append((label, s))
        elif isinstance(v, dict):
            if siblings or depth >= MAX_DEPTH:
                stack.append((v, k, depth + 1))
            else:
                _flatten(v, k, pairs, stack, depth + 1)
        elif isinstance(v, list):
            scalars = [s for x in v if (s := _scalar(x)) is not None]
            if scalars:
                pairs.append((label, " ; ".join(scalars)))
            if _properties(v) and depth < MAX_DEPTH:  # FHIR's "name": [{"family": ..., "given": [...]}]
                for x in v:
                    _flatten(x, k, pairs, stack, depth + 1)  # type: ignore[arg-type]
                continue
            stack.extend((x, "", depth + 1) for x in reversed(v) if isinstance(x, dict | list))
