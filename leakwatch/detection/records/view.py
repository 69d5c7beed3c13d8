"""A record as the matcher reads it: one line, names first, then the birth date, then the rest,
shortest first.

Labels are dropped (a label is never taken for a name). A date under another date's label (a
visit, a timestamp) is dropped, and so is any value that is only a date when the record has a
birth-date field; when the record has labelled names, a value of letters only under an unknown
label (a city, a ward) is dropped too: it can hold no identifier, and the names are known. The
pairs of names to probe the blocking index with come with the line: the labelled last and first
names (whole, however many words), or with no name label the short values of letters only.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from leakwatch.detection.normalise import InvalidValue, date_forms, name
from leakwatch.detection.records import labels
from leakwatch.detection.records.base import Record

MAX_LINE = 2000
_TIME = re.compile(r"[T ]\d\d?:\d\d(?::\d\d(?:[.,]\d+)?)?(?:Z|[+\-]\d\d:?\d\d)?\s*$")


def _birth(value: str) -> tuple[str, ...]:
    """A birth-date field's ISO forms (a time after it, as databases write dates, is dropped)."""
    return date_forms(_TIME.sub("", value)) or (value,)


def _is_date(value: str) -> bool:
    return value[0].isdigit() and bool(date_forms(_TIME.sub("", value)))


_NORMAL: dict[str, str | None] = {}
"""Values read from documents and their normal names: emptied with the normalisers' caches
(``forget``) when a document's scan ends."""


def forget() -> None:
    """Drop the normal names remembered from the documents read so far."""
    _NORMAL.clear()


def _normal(value: str) -> str | None:
    """The normal form of a name, cached: a dump repeats its first names and cities."""
    normal = _NORMAL.get(value, "")
    if normal == "":
        try:
            normal = name(value)
        except InvalidValue:
            normal = None
        if len(_NORMAL) > 200_000:
            _NORMAL.clear()
        _NORMAL[value] = normal
    return normal


CANDIDATE = re.compile(r"[\d@]")
"""A digit or an ``@``: every identifier and every date holds one. A value, a record's line or a
line of text without any can match nothing."""


def _no_identifier(value: str) -> bool:
    """A value with no digit and no ``@``: it can hold no identifier (a city, a ward)."""
    return CANDIDATE.search(value) is None


def _clean(value: str) -> str:
    return " ".join(value.split()) if ("  " in value or "\n" in value or "\t" in value or "\r" in value) else value


class View(NamedTuple):
    """A record as the matcher reads it."""

    line: str
    pairs: tuple[tuple[str, str], ...]
    """(last, first) pairs of normal names to probe the blocking index with."""
    named: bool
    """The pairs come from fields labelled as names: they are the record's names, all of them."""


@lru_cache(maxsize=4096)
def _plan(names: tuple[str, ...]) -> tuple[tuple[str | None, ...], bool, bool]:
    """Per field label of a record, its kind; whether the record has names, and a birth date. A
    table's records share their labels: the plan is made once per table (once per set of columns
    its rows fill)."""
    kinds = tuple(labels.kind(label) if label else None for label in names)
    return kinds, any(k in labels.NAME_KINDS for k in kinds), labels.BIRTH in kinds


def render(record: Record) -> View:
    """The record's line and the (last, first) pairs of normal names to probe with."""
    names, values = zip(*record.fields, strict=True) if record.fields else ((), ())
    kinds, has_names, has_birth = _plan(names)
    whole = "\x1f".join(values)
    if "  " in whole or "\n" in whole or "\t" in whole or "\r" in whole:
        values = tuple(map(_clean, values))
    last: list[str] = []
    first: list[str] = []
    full: list[str] = []
    births: list[str] = []
    rest: list[str] = []
    for k, value in zip(kinds, values, strict=True):
        if not value:
            continue
        if k == labels.LAST:
            last.append(value)
        elif k == labels.FIRST:
            first.append(value)
        elif k == labels.FULL:
            full.append(value)
        elif k == labels.BIRTH:
            births.extend(_birth(value))
        elif k == labels.OTHER_DATE:
            continue
        elif k in labels.VALUE_KINDS:
            rest.append(value)
        elif (has_birth and _is_date(value)) or (has_names and _no_identifier(value)):
            continue
        else:
            rest.append(value)
    pairs: list[tuple[str, str]] = []
    if last or first:
        lasts = [n for v in last if (n := _normal(v))]
        firsts = [n for v in first if (n := _normal(v))]
        pairs = [(a, b) for a in lasts[:3] for b in firsts[:3]]
    elif not full:
        short = [n for v in rest if len(v.split()) <= 4 and (n := _normal(v))][:6]
        pairs = [(a, b) for i, a in enumerate(short) for b in short[i + 1 :]]
    line = " ".join(last + first + full)
    rest.sort(key=len)  # identifiers are short: long values come last, where ``MAX_LINE`` cuts
    for part in (births, rest):
        if part:
            line += " | " + " | ".join(part)
    return View(line[:MAX_LINE].replace("\n", " "), tuple(pairs), bool(pairs) and bool(last or first))
