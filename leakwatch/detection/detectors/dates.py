"""Dates as written in leaks: ISO, French numeric spellings and month names, two-digit years."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from leakwatch.detection.normalise import MONTHS, plausible_dates

_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))


_MIDNIGHT = r"00:00(?::00(?:[.,]0+)?)?(?:Z|[+\-]00:?00)?(?![\d:.,])"
"""A time of exactly midnight: a date stored as a datetime (``1947-01-28 00:00:00``, as databases
dump a birth date column), not an event's timestamp."""


class DateDetector:
    """Yields each plausible birth date (ISO) of a written date; timestamps with a time are skipped,
    but for midnight exactly (a date stored as a datetime)."""

    kind = "date"
    # ``(?=\d)`` first: a date starts with a digit, and ``re`` rules out other positions with one
    # character test before the lookbehind (1.7 times faster, the same matches).
    _pattern = re.compile(
        r"(?=\d)(?<![\w/.\-])(?:"
        r"(?P<y1>(?:19|20)\d\d)[\-/.](?P<m1>[01]?\d)[\-/.](?P<d1>[0-3]?\d)"
        r"|(?P<d2>[0-3]?\d)(?P<s2>[/.\-])(?P<m2>[01]?\d)(?P=s2)(?P<y2>(?:19|20)\d\d|\d\d)"
        r"|(?P<d3>[0-3]?\d)(?:er)?\s+(?P<m3>" + _MONTH_NAMES + r")\.?\s+(?P<y3>(?:19|20)\d\d|\d\d)"
        r")(?=[ T]" + _MIDNIGHT + r"|(?![\w/]|[.\-]\d|[ T]\d\d?:\d\d))",
        re.IGNORECASE,
    )

    def candidates(self, text: str) -> Iterator[tuple[str, int, int]]:
        today = dt.date.today()
        for m in self._pattern.finditer(text):
            if m["y1"]:
                forms = plausible_dates(int(m["y1"]), int(m["m1"]), int(m["d1"]), False, today)
            elif m["y2"]:
                forms = plausible_dates(int(m["y2"]), int(m["m2"]), int(m["d2"]), len(m["y2"]) == 2, today)
            else:
                month = MONTHS.get(m["m3"].lower())
                if month is None:
                    continue
                forms = plausible_dates(int(m["y3"]), month, int(m["d3"]), len(m["y3"]) == 2, today)
            for iso in forms:
                yield iso, m.start(), m.end()
