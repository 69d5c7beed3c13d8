"""Names from the outside world, shown literally.

File and archive-member names, URLs, page titles and error texts come from whoever published a
dump. Shown on a terminal they must stay text: no control character (an escape sequence can
rewrite the screen, set a hyperlink or a window title), no bidirectional override that reverses
what the analyst reads. ``printable`` writes those characters as ``\\xNN``/``\\uNNNN``; the
consoles of ``cli.common`` interpret no Rich markup and no ``:emoji:`` codes, so ``[link=...]`` and
``[/x]`` in a name are printed as they are. Logs use the same function (``log.py``).
"""

from __future__ import annotations

import unicodedata


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _keep(ch: str) -> bool:
    return ch.isprintable() or unicodedata.category(ch) == "Zs"


def printable(value: object) -> str:
    """``value`` as text with control, format (bidi), separator and unassigned characters escaped."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():
        return text
    return "".join(ch if _keep(ch) else _escape(ch) for ch in text)


def printable_text(value: str) -> str:
    """Several lines (an analyst's note): each line ``printable``, line breaks and tabs kept."""
    return "\n".join("\t".join(printable(part) for part in line.split("\t")) for line in value.split("\n"))


def duration(seconds: float) -> str:
    """A duration as a person reads it: "45 s", "12 min", "5.0 h", "2.0 days". One wording for
    alerts, ``incidents show``, exports, the DPO's draft and source health."""
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
