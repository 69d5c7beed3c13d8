"""``key=value`` log lines and ``key: value`` blocks.

A line with two ``key=value`` pairs or more, or one whose key is a known label, is one record: its
pairs, and the rest of the line (the message, the timestamp) as unlabelled text. Consecutive
``key: value`` lines (a form printout, YAML, a JSON object's lines cut from a truncated dump,
``key: value | key: value`` rows) make one record until a blank or other line, or a key seen
again; the block must hold a known label and two pairs or more, else it stays text.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from leakwatch.detection.records import labels
from leakwatch.detection.records.base import make_record

if TYPE_CHECKING:
    from leakwatch.detection.records.base import Cursor

# ``(?=[A-Za-z_])`` first: positions that cannot start a key are ruled out before the lookbehind.
_PAIR = re.compile(r"""(?=[A-Za-z_])(?:(?<=[\s,;&|{(?])|^)([A-Za-z_][\w.\-]{0,48})="""
                   r"""("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s,;&|]*)""")
_COLON = re.compile(r"""^\s*(?:-\s+)?(?:"([^"\n]{1,60})"|'([^'\n]{1,60})'|([^\W\d][\w .'’()/\-]{0,59}?))"""
                    r"""\s*:(?:\s+(.*?)|)\s*$""")
MAX_BLOCK_LINES = 400


def read(r: Cursor, pos: int, end: int) -> int | None:
    text = r.text
    line = text[pos:end]
    if "=" in line:
        found = _eq_line(r, line)
        if found:
            return end
    if ":" in line:
        return _colon_block(r, pos)
    return None


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        if value[0] == '"':
            try:
                return str(json.loads(value))
            except ValueError:
                pass
        return value[1:-1]
    return value


def _eq_line(r: Cursor, line: str) -> bool:
    pairs = [(m.group(1), _unquote(m.group(2)), m.span()) for m in _PAIR.finditer(line)]
    if not pairs or (len(pairs) < 2 and labels.kind(pairs[0][0]) is None):
        return False
    rest, last = [], 0
    for _, _, (a, b) in pairs:
        rest.append(line[last:a])
        last = b
    rest.append(line[last:])
    fields = [(k, v) for k, v, _ in pairs]
    message = " ".join(" ".join(rest).split())
    if message:
        fields.append(("", message))
    r.add(make_record(fields, "kv"))
    return True


def _colon_pairs(line: str) -> list[tuple[str, str]] | None:
    parts = line.split(" | ") if " | " in line else [line]
    out = []
    for part in parts:
        m = _COLON.match(part.strip(" |\r\n"))
        if m is None:
            return None
        key = m.group(1) or m.group(2) or m.group(3) or ""
        value = (m.group(4) or "").rstrip(",").strip()
        out.append((key.strip(), _unquote(value)))
    return out


def _colon_block(r: Cursor, pos: int) -> int | None:
    text = r.text
    first = _colon_pairs(text[pos : r.line_end(pos)])
    if not first:
        return None
    records: list[list[tuple[str, str]]] = [[]]
    seen: set[str] = set()
    known = False
    lines = 0
    end = pos
    while end < len(text) and lines < MAX_BLOCK_LINES:
        nxt = r.line_end(end)
        pairs = _colon_pairs(text[end:nxt]) if lines else first
        if not pairs:
            break
        lines += 1
        for key, value in pairs:
            if key in seen or (text[end:nxt].lstrip().startswith("- ") and key == pairs[0][0] and records[-1]):
                records.append([])
                seen = set()
            seen.add(key)
            known = known or labels.kind(key) is not None
            if value:
                records[-1].append((key, value))
        end = nxt
    if not known or sum(len(p) for p in records) < 2:
        r.skip_to = end  # these lines are text: not tried again one by one
        return None
    for pairs in records:
        r.add(make_record(pairs, "kv"))
    return end
