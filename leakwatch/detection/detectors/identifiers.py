"""Detectors for identifier kinds: whole tokens only, validated before they are ever hashed."""

from __future__ import annotations

import re
from collections.abc import Iterator

from leakwatch.detection import normalise
from leakwatch.detection.normalise import InvalidValue

_SEP = r"[ .\-]?"
# Each pattern opens with a lookahead for its first character, ``(?=[1-478])``, before the
# lookbehind: ``re`` then rules out most positions with one character test (over 5 MB of the
# bench's text: NIR 1.3, card and IBAN 1.5, phone 2.5 times faster), the same matches.


class NirDetector:
    """French social security numbers (and NIA), compact or grouped (``1 65 03 75 112 123 45``), with
    or without their key, 2A/2B kept."""

    kind = "nir"
    # A lookahead finds overlapping starts, so a stray digit before a grouped NIR cannot hide it.
    _pattern = re.compile(
        r"(?=[1-478])(?<![\w.\-])(?=([1-478]" + _SEP + r"\d\d" + _SEP + r"\d\d" + _SEP + r"(?:\d\d|2[ABab])"
        + _SEP + r"\d" + _SEP + r"\d\d" + _SEP + r"\d" + _SEP + r"\d\d(?:" + _SEP + r"\d\d)?(?![\w]|[.\-]\d)))"
    )

    _not_digit = re.compile(r"[^0-9AB]")

    def read(self, text: str) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
        """The valid NIRs (``candidates``), and every span written as a NIR, valid or not (a wrong
        or missing key): its digits are no phone. One pass for both."""
        valid: list[tuple[str, int, int]] = []
        shapes: list[tuple[str, int, int]] = []
        for m in self._pattern.finditer(text):
            raw, start, end = m.group(1), m.start(1), m.end(1)
            shapes.append(("", start, end))
            compact = self._not_digit.sub("", raw.upper())
            if compact.isdigit() and len(compact) == 15:  # the common case, checked as normalise.nir does
                if 97 - int(compact[:13]) % 97 == int(compact[13:]):
                    valid.append((compact, start, end))
                continue
            try:
                value = normalise.nir(raw)
            except InvalidValue:
                continue
            valid.append((value, start, end))
        return valid, shapes

    def candidates(self, text: str) -> Iterator[tuple[str, int, int]]:
        yield from self.read(text)[0]


class PhoneDetector:
    """Phone numbers, national (default region) or international, as whole digit groups."""

    kind = "phone"
    _pattern = re.compile(
        r"(?=[+0(])(?<![\w+.\-])(?=((?:\+|00|\(\+)\d{1,3}\)?[ .\-]?(?:\(0\)[ .\-]?)?\d(?:[ .\-]?\d){6,12}"
        r"|\(?0\d\)?(?:[ .\-]?\d){6,11})(?![\w]|[.\-]\d))"
    )
    _paren_code = re.compile(r"^\((\+\d{1,3})\)")
    """``(+33) 6 12 34 56 78``: the country code in brackets, as French forms print it."""

    def __init__(self, region: str = "FR") -> None:
        self.region = region

    def candidates(self, text: str) -> Iterator[tuple[str, int, int]]:
        last_end = -1
        for m in self._pattern.finditer(text):
            if m.start(1) < last_end:
                continue
            raw = m.group(1)
            if raw.startswith("(+"):
                if ")" not in raw[:6]:
                    continue
                raw = self._paren_code.sub(r"\1", raw)
            value = normalise.phone_candidate(raw, self.region)
            if value:
                last_end = m.end(1)
                yield value, m.start(1), m.end(1)


class EmailDetector:
    """E-mail addresses, anchored on ``@``; the whole address, never the tail of a longer one."""

    kind = "email"
    _local_reversed = re.compile(r"[\w.%+\-']{1,64}")
    """The local part read backwards from the ``@``: one match, not a search of the 64 characters
    before it (which made a million ``@`` take seconds)."""
    _domain = re.compile(r"(?:[\w\-]{1,63}\.)+[^\W\d_]{2,63}(?![\w\-]|\.[\w\-])")

    def candidates(self, text: str) -> Iterator[tuple[str, int, int]]:
        found = []
        pos = text.find("@")
        while pos != -1:
            right = self._domain.match(text, pos + 1)
            address = self._address(text[max(0, pos - 64):pos], pos, right.group()) if right else None
            if address is not None:
                found.append((address[0], address[1], right.end()))  # type: ignore[union-attr]
            pos = text.find("@", pos + 1)
        hidden = list(self._obfuscated(text))
        yield from sorted(found + hidden, key=lambda c: c[1]) if hidden else found

    def _address(self, before: str, at: int, domain: str) -> tuple[str, int] | None:
        """The normal address whose local part ends ``before`` (the text up to its ``@``, at ``at``)
        and whose domain is ``domain``, and where it starts; None when there is none."""
        left = self._local_reversed.match(before[-64:][::-1])
        if left is None:
            return None
        local = left.group()[::-1].lstrip(".'")
        try:
            return normalise.email(f"{local}@{domain}"), at - len(local)
        except InvalidValue:
            return None

    _at = re.compile(r"[\[({]\s*(?:at|@)\s*[\])}]|@(?=\s)", re.IGNORECASE)
    """``[at]``, ``(at)``, ``{@}``, or an ``@`` with spaces around it: found from its first
    character (a pattern that may start with spaces is tried at every position of the text)."""
    _dot = re.compile(r"\s*[\[({]\s*(?:dot|\.)\s*[\])}]\s*", re.IGNORECASE)
    _obfuscated_domain = re.compile(r"(?:[\w\-]{1,63}(?:\s*[\[({]\s*(?:dot|\.)\s*[\])}]\s*|\.))+[^\W\d_]{2,63}"
                                    r"(?![\w\-]|\.[\w\-])", re.IGNORECASE)

    def _obfuscated(self, text: str) -> Iterator[tuple[str, int, int]]:
        """Addresses written to slip past scrapers: ``jean.dupont [at] example [dot] org``,
        ``jean.dupont(at)example.org``, ``jean.dupont @ example.org``."""
        for m in self._at.finditer(text):
            lo = max(0, m.start() - 72)
            before = text[lo:m.start()]
            kept = before.rstrip(" \t")
            if m.group() == "@" and len(kept) == len(before):
                continue  # an address as written: the loop above read it
            after = m.end()
            while after < len(text) and text[after] in " \t":
                after += 1
            right = self._obfuscated_domain.match(text, after)
            address = self._address(kept, lo + len(kept), self._dot.sub(".", right.group())) if right else None
            if address is not None:
                yield address[0], address[1], right.end()  # type: ignore[union-attr]


class IbanDetector:
    kind = "iban"
    _pattern = re.compile(r"(?=[A-Z])(?<![\w])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![\w])")

    def candidates(self, text: str) -> Iterator[tuple[str, int, int]]:
        for m in self._pattern.finditer(text):
            raw = m.group()
            # A greedy match may have swallowed a following word: retry with fewer groups. The
            # mod-97 check first: ten times cheaper than the full validation, which few pass.
            while raw:
                if _mod97(raw):
                    try:
                        yield normalise.iban(raw), m.start(), m.start() + len(raw)
                        break
                    except InvalidValue:
                        pass
                cut = raw.rfind(" ")
                raw = raw[:cut] if cut > 8 else ""


def _mod97(raw: str) -> bool:
    """ISO 13616's check (country and check digits moved to the end, letters as 10-35): a
    necessary condition of a valid IBAN."""
    compact = raw.replace(" ", "")
    return int((compact[4:] + compact[:4]).translate(_LETTERS)) % 97 == 1


_LETTERS = str.maketrans({chr(c): str(c - 55) for c in range(ord("A"), ord("Z") + 1)})


class CardDetector:
    kind = "card"
    _pattern = re.compile(r"(?=\d)(?<![\w.\-])\d{4}(?:[ \-]?\d{2,6}){2,4}(?![\w]|[.\-]\d)")

    def candidates(self, text: str) -> Iterator[tuple[str, int, int]]:
        for m in self._pattern.finditer(text):
            try:
                yield normalise.card(m.group()), m.start(), m.end()
            except InvalidValue:
                continue


class TextIdDetector:
    """Opaque identifiers (patient numbers...): every token with a digit, compared whole."""

    kind = "text_id"
    _pattern = re.compile(r"(?<![\w\-/])[A-Za-z0-9][\w\-/]{2,63}(?![\w\-/])")

    def candidates(self, text: str) -> Iterator[tuple[str, int, int]]:
        for m in self._pattern.finditer(text):
            token = m.group()
            if any(ch.isdigit() for ch in token):
                yield token.upper(), m.start(), m.end()
