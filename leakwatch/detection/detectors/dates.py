"""Dates as written in leaks: ISO, French numeric spellings and month names, two-digit years."""

from __future__ import annotations

import re
from collections.abc import Iterator

from leakwatch.detection.normalise import MONTHS, day_month, local_today, plausible_dates

_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))


_EN_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december"
              "|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec")


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
        r"|(?P<d2>[0-3]?\d)(?P<s2>[/.\-])(?P<m2>[0-3]?\d)(?P=s2)(?P<y2>(?:19|20)\d\d|\d\d)"
        r"|(?P<d3>[0-3]?\d)(?:er|st|nd|rd|th)?[\s\-]+(?P<m3>" + _MONTH_NAMES + r")\.?[\s\-]+(?P<y3>(?:19|20)\d\d|\d\d)"
        r"|(?P<d4>[0-3]?\d)(?:st|nd|rd|th)?,?\s+(?P<y4>(?:19|20)\d\d)"  # with the month before it
        r")(?=[ T]" + _MIDNIGHT + r"|(?![\w/]|[.\-]\d|[ T]\d\d?:\d\d))",
        re.IGNORECASE,
    )

    _month_before = re.compile(r"(?<![\w])(?P<m>" + _EN_MONTHS + r")\.?\s+$", re.IGNORECASE)
    """Month first (``March 12, 1965``, ``Mar 12 1965``: the English order, four-digit years only):
    found from its digits as the other spellings are (a search for month names everywhere cost
    three times the rest), then the month looked for just before them."""

    def candidates(self, text: str) -> Iterator[tuple[str, int, int]]:
        today = local_today()
        for m in self._pattern.finditer(text):
            start = m.start()
            if m["y1"]:
                forms = plausible_dates(int(m["y1"]), int(m["m1"]), int(m["d1"]), False, today)
            elif m["y2"]:
                day, month = day_month(int(m["d2"]), int(m["m2"]))
                forms = plausible_dates(int(m["y2"]), month, day, len(m["y2"]) == 2, today)
            elif m["y3"]:
                month = MONTHS.get(m["m3"].lower())
                if month is None:
                    continue
                forms = plausible_dates(int(m["y3"]), month, int(m["d3"]), len(m["y3"]) == 2, today)
            else:
                before = self._month_before.search(text, max(0, start - 12), start)
                month = MONTHS.get(before["m"].lower()) if before else None
                if before is None or month is None:
                    continue
                start = before.start()
                forms = plausible_dates(int(m["y4"]), month, int(m["d4"]), False, today)
            for iso in forms:
                yield iso, start, m.end()
