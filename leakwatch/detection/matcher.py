"""Matches decoded text against the fingerprint index and scores each exposed record.

Identifier candidates are hashed and looked up exactly; names and dates near each hit corroborate it
(compared as record-scoped fingerprints, fuzzily for names). Last name + first name + birth date
found together match without any identifier: the date and a few letters of each name make a blocking
key, and names are compared only with the one or two records that share it.

A document's structured parts are read as records first (``leakwatch.detection.records``): each record is
matched as one line of its own (``scan_records``), so that its values corroborate each other
wherever they stood, and never another record's; the rest is matched as text.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz.distance import Indel

from leakwatch.detection import records
from leakwatch.detection.detectors import Detector, NirDetector
from leakwatch.detection.fingerprints import (
    BLOCK_KIND,
    EXACT_NAME,
    DatasetIndex,
    Index,
    RecordInfo,
    gram_fps,
    merged_block_keys,
    split_qgrams,
    window_keys,
)
from leakwatch.detection.normalise import IDENTIFIER_KINDS, InvalidValue, forget_values, name, postcode
from leakwatch.detection.records import Record
from leakwatch.detection.records.view import CANDIDATE, View, render
from leakwatch.detection.records.view import forget as forget_normal_names
from leakwatch.models import Finding

_WORD = re.compile(r"(?<![^\W_])[^\W\d_]+(?:['’\-][^\W\d_]+)*(?![^\W_])")
"""A word of letters; letters glued to digits (an id such as ``D3641048``, the ``T`` and ``Z`` of a
timestamp) are no word, and no name."""
_POSTCODE = re.compile(r"(?<![\w])\d{5}(?![\w])")
MAX_SPAN_WORDS = 3
MAX_BLOCK = 50
"""Name + date matching compares names only when a blocking key is shared by at most this many records."""
NEAR_WORDS = 5
_ROW_BREAK = re.compile(r"\)\s*,\s*\(")
_NEWLINE = re.compile(r"\n")
"""Between two rows of a SQL INSERT written on one line: a date never corroborates across it."""
_IDLE_LINE = re.compile(r"^[^\d@\n]*\n", re.MULTILINE)
"""A line with no digit and no ``@`` (``view.CANDIDATE``): it holds no identifier and no date, and
matching never looks past a line, so it can match nothing (most of a document's prose and code)."""


_FULL = frozenset({"date", "last_name", "first_name"})
_USED = "\x00"
"""Stands for a word already matched as one of the names: it is no other name."""
_Window = tuple[str, int, int, list[str]]
"""A date candidate's ISO form, the window of words around it, and those words."""


@dataclass
class _Hit:
    kinds: set[str] = field(default_factory=set)
    spans: list[tuple[int, int]] = field(default_factory=list)
    corroborated: set[str] = field(default_factory=set)
    dates: set[int] = field(default_factory=set)
    """Starts of the written dates that are this record's own birth date."""


@dataclass
class MatchOptions:
    proximity: int = 300
    name_threshold: float = 0.7


class TextMatcher:
    """Scans one text at a time against an index; holds only per-call state."""

    def __init__(self, index: Index, detectors: dict[str, Detector], options: MatchOptions) -> None:
        self.index = index
        self.detectors = detectors
        self.options = options
        self._normal_words: dict[str, str] = {}
        self.known_phrases: dict[int, dict[str, bool]] = {}
        """Per dataset, phrases already looked up in its known names."""

    def scan_document(self, text: str, target: str) -> tuple[list[Finding], dict[str, int]]:
        """Match a document: its structured parts record by record (``leakwatch.detection.records``), the
        rest as text. Also says how many records each format gave."""
        if self.index.empty or not text:
            return [], {}
        try:
            split = records.read(text)
            return self.scan(split.text, target) + self.scan_records(split.records, target), dict(split.formats)
        finally:
            self.forget()

    def forget(self) -> None:
        """Drop every value remembered while matching (normal forms of words, names looked up, the
        normalisers' caches): a long-lived process keeps nothing read from a document it is done with."""
        self._normal_words.clear()
        self.known_phrases.clear()
        forget_values()
        forget_normal_names()

    def scan_records(self, records: Sequence[Record], target: str) -> list[Finding]:
        """Match records read from a structured part (``leakwatch.detection.records``): each is one line of
        its own, whose values corroborate each other wherever they stood, and never another's."""
        if self.index.empty or not records:
            return []
        # A record whose line holds no digit and no "@" holds no identifier and no date: it can match
        # nothing (a row of names and cities only).
        views = [view for view in map(render, records) if CANDIDATE.search(view.line)]
        return self.scan("\n".join(view.line for view in views), target, views)

    def scan(self, text: str, target: str, hints: list[View] | None = None) -> list[Finding]:
        """Match free text; with ``hints`` (one per line), each line is a record (``scan_records``)."""
        if self.index.empty or not text:
            return []
        if hints is None:
            text = _IDLE_LINE.sub("", text)
        kinds = self.index.kinds()
        candidates: dict[str, list[tuple[str, int, int]]] = {}
        nir = self.detectors["nir"]
        nirs, shapes = nir.read(text) if isinstance(nir, NirDetector) else (list(nir.candidates(text)), [])
        for kind in IDENTIFIER_KINDS:
            if kind in kinds and kind in self.detectors:
                candidates[kind] = nirs if kind == "nir" else list(self.detectors[kind].candidates(text))
        # Digits of a grouped NIR ("1 65 03 75 112 123 45") can read as a phone number: a number
        # written as a NIR claims its span, whether or not any dataset holds NIRs, and whether or
        # not its key is right (a typo'd NIR is still no phone). An opaque id is given up only to
        # a valid NIR.
        for kind, claimed in (("phone", shapes), ("card", shapes), ("text_id", nirs)):
            if candidates.get(kind) and claimed:
                candidates[kind] = _outside(candidates[kind], claimed)
        dates = list(self.detectors["date"].candidates(text)) if "date" in kinds else []
        masked = sorted((s, e) for cands in candidates.values() for _, s, e in cands)
        words = _Words(text, masked, self._normal_words)
        if len(self._normal_words) > 500_000:  # one huge document's words
            self._normal_words.clear()
        findings: list[Finding] = []
        lines = _RecordLines(text, hints) if hints is not None else None
        for ds in self.index.datasets:
            findings.extend(_DatasetScan(self, ds, text, target, words, lines).run(candidates, dates))
        return findings


def _outside(cands: list[tuple[str, int, int]], claimed: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Candidates that do not overlap a claimed span (both lists in text order)."""
    starts = [s for _, s, _ in claimed]
    ends = list(itertools.accumulate((e for _, _, e in claimed), max))
    out = []
    for cand in cands:
        _, start, end = cand
        i = bisect.bisect_left(starts, end) - 1  # the last claimed span starting before this one ends
        if i >= 0 and ends[i] > start:
            continue
        out.append(cand)
    return out


class _Words:
    """A document's words, normalised as names, tokenised only where a window needs them (a line
    at a time, cached) and shared by every dataset's scan. Words inside identifier candidates are
    left out: an e-mail's local part is no independent evidence of a name."""

    LONG_LINE = 4096

    def __init__(self, text: str, masked: list[tuple[int, int]], cache: dict[str, str]) -> None:
        self.text = text
        self.cache = cache
        self.mask_starts = [s for s, _ in masked]
        self.mask_ends = list(itertools.accumulate((e for _, e in masked), max))
        self._lines: dict[int, tuple[list[tuple[str, int]], list[int]]] = {}

    def _tokenise(self, lo: int, hi: int) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        cache, starts, ends = self.cache, self.mask_starts, self.mask_ends
        j = bisect.bisect_left(starts, hi)
        masked = j > 0 and ends[j - 1] > lo  # some identifier lies in [lo, hi): test each word
        for m in _WORD.finditer(self.text, lo, hi):
            pos = m.start()
            if masked:
                i = bisect.bisect_right(starts, pos) - 1
                if i >= 0 and pos < ends[i]:
                    continue
            raw = m.group()
            normal = cache.get(raw)
            if normal is None:
                try:
                    normal = name(raw)
                except InvalidValue:
                    normal = ""
                cache[raw] = normal
            if normal:
                out.append((normal, pos))
        return out

    def between(self, lo: int, hi: int) -> list[tuple[str, int]]:
        text, long = self.text, self.LONG_LINE
        # The line's ends are looked for within LONG_LINE only: on a line of megabytes (a minified
        # dump, a SQL INSERT on one line), looking for them from each date ran through the whole
        # line each time (quadratic).
        before = text.rfind("\n", max(0, lo - long), lo)
        if before == -1 and lo > long:
            return self._tokenise(lo, hi)
        line_start = before + 1
        line_end = text.find("\n", lo, line_start + long + 1)
        if line_end == -1:
            if line_start + long + 1 < len(text):
                return self._tokenise(lo, hi)
            line_end = len(text)
        if hi > line_end or line_end - line_start > long:
            return self._tokenise(lo, hi)
        cached = self._lines.get(line_start)
        if cached is None:
            words = self._tokenise(line_start, line_end)
            cached = self._lines[line_start] = (words, [pos for _, pos in words])
        words, positions = cached
        return words[bisect.bisect_left(positions, lo) : bisect.bisect_left(positions, hi)]


class _RecordLines:
    """Record mode: each line of the text is one record; its window is the whole line."""

    def __init__(self, text: str, hints: list[View]) -> None:
        self.starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]
        self.hints = hints
        self.length = len(text)
        self._named_words: dict[int, list[str]] = {}

    def line(self, pos: int) -> tuple[int, int, int]:
        """(line number, start, end) of the line holding ``pos``."""
        i = bisect.bisect_right(self.starts, pos) - 1
        end = self.starts[i + 1] - 1 if i + 1 < len(self.starts) else self.length
        return i, self.starts[i], end

    def view(self, pos: int) -> View:
        """The record whose line holds ``pos``."""
        return self.hints[self.line(pos)[0]]

    def named_words(self, line: int) -> list[str]:
        """The words of a record's labelled names, each once (read once for all its dates)."""
        words = self._named_words.get(line)
        if words is None:
            pairs = self.hints[line].pairs
            words = self._named_words[line] = list(dict.fromkeys(
                w for pair in pairs for name in pair for w in name.split()))
        return words


class _DatasetScan:
    def __init__(self, matcher: TextMatcher, ds: DatasetIndex, text: str, target: str, words: _Words,
                 lines: _RecordLines | None = None) -> None:
        self.lines = lines
        self.m = matcher
        self.ds = ds
        self.text = text
        self.target = target
        self.words = words
        self._gram_cache: dict[tuple[int, str], dict[str, list[bytes]]] = {}
        self._salted: dict[tuple[int, str], hashlib.blake2b] = {}

    def run(self, candidates: dict[str, list[tuple[str, int, int]]],
            dates: list[tuple[str, int, int]]) -> list[Finding]:
        ds = self.ds
        hits: dict[int, _Hit] = defaultdict(_Hit)
        for kind, cands in candidates.items():
            if kind not in ds.kinds or not cands:
                continue
            held = ds.hits(kind, ds.hasher.global_fps(kind, (v for v, _, _ in cands)))
            for i in sorted(held):
                _, start, end = cands[i]
                for rec in held[i]:
                    hit = hits[rec]
                    hit.kinds.add(kind)
                    hit.spans.append((start, end))
        infos = ds.records(hits)
        date_starts = [start for _, start, _ in dates]
        for rec, hit in hits.items():
            info = infos.get(rec)
            if info is None:
                continue
            # A record's identifiers often share one window (a row's NIR, e-mail and phone; in record
            # mode, always its line): each window is read once.
            for lo, hi in dict.fromkeys(self._window(start, end) for start, end in hit.spans):
                own = self._date_in_window(info, dates, date_starts, lo, hi)
                if own is not None:
                    hit.corroborated.add("date")
                    hit.dates.add(own)
                hit.corroborated |= self._names_in_window(info, lo, hi)
        findings = [self._finding(info_rec, hit, infos) for info_rec, hit in hits.items() if info_rec in infos]
        # A date written beside an identifier, with the names of the record that identifier belongs
        # to, is that record's: another record's names and birth date (a homonym, a near name, the
        # same patient under a second ref) do not make it theirs.
        explained = {start for hit in hits.values() if hit.corroborated >= _FULL for start in hit.dates}
        findings.extend(self._name_date_matches([d for d in dates if d[1] not in explained], set(hits),
                                                candidates.get("nir", [])))
        return findings

    def _date_in_window(self, info: RecordInfo, dates: list[tuple[str, int, int]], date_starts: list[int],
                        lo: int, hi: int) -> int | None:
        """Where the record's own birth date is written in the window (record-scoped compare), if it is."""
        own = info.scoped.get("date")
        if own is None:
            return None
        i = bisect.bisect_left(date_starts, lo)
        while i < len(dates) and dates[i][1] < hi:
            if self.ds.hasher.scoped_exact("date", info.salt, dates[i][0]) == own:
                return dates[i][1]
            i += 1
        return None

    def _finding(self, rec: int, hit: _Hit, infos: dict[int, RecordInfo]) -> Finding:
        strong = bool(hit.corroborated & {"date", "last_name", "first_name"}) or len(hit.kinds) > 1
        fields = tuple(sorted(hit.kinds | hit.corroborated))
        return self._make(infos[rec], fields, "high" if strong else "medium")

    def _make(self, info: RecordInfo, fields: tuple[str, ...], confidence: str) -> Finding:
        kind = "canary" if self.ds.purpose == "canary" else "record"
        return Finding(type=kind, target=self.target, dataset=self.ds.name, ref=info.ref, fields=fields,
                       confidence=confidence, label=self.ds.label)  # type: ignore[arg-type]

    def _name_date_matches(self, dates: list[tuple[str, int, int]], known: set[int],
                           nirs: list[tuple[str, int, int]]) -> list[Finding]:
        """Last name + first name + birth date with no identifier. The blocking key (the date and a few
        letters of each name) narrows 1.4 million records to about one; only those are compared.
        A record whose row holds a valid NIR that is not the record's own (it would have hit it,
        and the record would be ``known``) is another person with the same names and birth date:
        a homonym, not reported."""
        ds = self.ds
        if not {"last_name", "first_name", "date"} <= ds.kinds or BLOCK_KIND not in ds.arrays or not dates:
            return []
        windows = []
        for iso, start, end in dates:
            windows.append((iso, *self._near(start, end)))
        # A match needs one of the record's names written exactly: a phrase of 1 to 3 words that
        # is a name the dataset knows. A date with none near it is dismissed before any blocking key.
        windows = self._with_known_name(windows)
        keys: list[str] = []
        spans: list[tuple[str, int, int]] = []
        for iso, lo, hi, words in windows:
            view = self.lines.view(lo) if self.lines is not None else None
            pairs: set[str] = set()
            if view is None or not view.named:
                # Names stand next to each other, or one word apart (a middle name), in either order.
                pairs = window_keys(iso, [w for w in words if len(w) > 1], reach=2)
            if view is not None:  # a record's names, however far apart they were written (when
                # fields label them, those are the record's names: no other pair is probed)
                for a, b in view.pairs:
                    pairs |= window_keys(iso, [a, b], reach=1)
                    pairs.update(merged_block_keys(iso, a, b))
                    pairs.update(merged_block_keys(iso, b, a))
            keys.extend(pairs)
            spans.extend([(iso, lo, hi)] * len(pairs))
        # Windows share keys (one date in several windows, a name on every row of a table): each
        # key is hashed and looked up once.
        distinct = list(dict.fromkeys(keys))
        held = ds.hits(BLOCK_KIND, ds.hasher.global_fps(BLOCK_KIND, distinct))
        blocks = {distinct[i]: recs for i, recs in held.items() if len(recs) <= MAX_BLOCK}
        candidates: list[tuple[int, str, int, int]] = []
        for key, (iso, lo, hi) in zip(keys, spans, strict=True):
            recs = blocks.get(key)
            if recs:
                candidates.extend((rec, iso, lo, hi) for rec in recs if rec not in known)
        infos = ds.records(rec for rec, _, _, _ in candidates)
        found: dict[int, RecordInfo] = {}
        for rec, iso, lo, hi in candidates:
            info = infos.get(rec)
            if (info is not None and rec not in found and self._names_and_date(info, lo, hi)
                    and not self._other_nir(rec, iso, lo, hi, nirs)):
                found[rec] = info
        return [self._make(info, ("date", "first_name", "last_name"), "medium") for info in found.values()]

    def _other_nir(self, rec: int, iso: str, lo: int, hi: int, nirs: list[tuple[str, int, int]]) -> bool:
        """In record mode, whether the record ``lo`` starts (one row of a dump) holds a valid NIR of
        someone born in the month of ``iso`` (the birth date matched) while the dataset's record has
        one: then it is another person's own number (it missed that record). A NIR of someone born
        another month may be the insured parent's a child is covered under; a temporary number
        (NIA, 7 or 8) is replaced by the NIR: neither proves anything. Free text is left alone: a
        NIR near a date there may be the next person's."""
        if self.lines is None or not nirs or "nir" not in self.ds.kinds or not self.ds.holds("nir", rec):
            return False
        i = bisect.bisect_left(nirs, lo, key=lambda cand: cand[1])
        while i < len(nirs) and nirs[i][1] < hi:
            value = nirs[i][0]
            if value[0] in "12" and value[1:3] == iso[2:4] and value[3:5] == iso[5:7]:
                return True
            i += 1
        return False

    def _with_known_name(self, windows: list[_Window]) -> list[_Window]:
        """The windows in which some run of 1 to 3 words is a name the dataset knows (as
        ``_same_length_name`` reads phrases), looked up in one batch and remembered per matcher."""
        cache = self.m.known_phrases.setdefault(self.ds.id, {})
        if len(cache) > 1_000_000:
            cache.clear()
        # Single words first (most names are one word): only windows with none known are read
        # again as runs of two or three words.
        if not self._look_up_known(cache, {w for _, _, _, words in windows for w in words}):
            return windows
        keep = [any(cache[word] for word in words) for _, _, _, words in windows]
        rest = [i for i, k in enumerate(keep) if not k]
        phrases = {i: [p for p in _phrases(windows[i][3]) if " " in p] for i in rest}
        self._look_up_known(cache, {p for ps in phrases.values() for p in ps})
        for i, ps in phrases.items():
            keep[i] = any(cache[p] for p in ps)
        return [w for w, k in zip(windows, keep, strict=True) if k]

    def _look_up_known(self, cache: dict[str, bool], phrases: set[str]) -> bool:
        """Look up in the dataset's known names the phrases not in ``cache`` yet; False when the
        dataset keeps no known names."""
        unknown = [p for p in phrases if p not in cache]
        if unknown:
            found = self.ds.known_names(unknown)
            if found is None:
                return False
            cache.update(zip(unknown, found.tolist(), strict=True))
        return True

    def _names_and_date(self, info: RecordInfo, lo: int, hi: int) -> bool:
        """With no identifier, the names must be nearly certain: one written exactly (after case and
        accents), the other exactly, with one letter replaced, or within ``name_threshold``.
        The exact one is looked for first, hashing only phrases of the name's very length: most
        candidates sharing a blocking key by chance are dismissed at that cost."""
        targets = {k: split_qgrams(info.scoped[k]) for k in ("last_name", "first_name") if info.scoped.get(k)}
        if len(targets) < 2:
            return False
        labelled = self._labelled_names(lo)
        if self.lines is not None and self.lines.view(lo).named:
            # A record whose fields name its names: no other field's word is one (a city, a ward,
            # a doctor). Each field apart: no phrase runs from one field into the next.
            words = [w for value in labelled for w in (*value, _USED)]
        else:
            words = [w for w, _ in self._words_in(lo, hi)]
        for exact, other in (("last_name", "first_name"), ("first_name", "last_name")):
            span = self._same_length_name(info, exact, words, targets[exact], typos=0)
            if span is not None:
                # The other name is another word: "Bernard Sondéard" is no writing of Bernard
                # Bernard, whose tail key ("ard", "ard") it shares.
                i, j = span
                rest = words[:i] + [_USED] * (j + 1 - i) + words[j + 1 :]
                if words[i : j + 1] in labelled:
                    labelled.remove(words[i : j + 1])
                return self._near_name(info, other, rest, targets[other], labelled)
        return False

    def _labelled_names(self, lo: int) -> list[list[str]]:
        """In record mode, the names the record's fields hold, each whole (split in words)."""
        if self.lines is None:
            return []
        pairs = self.lines.view(lo).pairs
        lasts, firsts = dict.fromkeys(a for a, _ in pairs), dict.fromkeys(b for _, b in pairs)
        return [value.split() for value in (*lasts, *firsts)]  # Martin Martin: "martin" twice

    def _near_name(self, info: RecordInfo, kind: str, words: list[str], target: list[bytes],
                   labelled: list[list[str]]) -> bool:
        """The record's name written exactly, or a near spelling that is no name the dataset knows,
        first or last: "Julien" near the record's "Julie" is another person's name, not a typo.
        Where fields name the names, a near spelling is a whole field's value: "Da Cxsta" is no
        spelling of "Costa"."""
        if self._same_length_name(info, kind, words, target, typos=0) is not None:
            return True

        known = self.ds.knows_name
        floor = self.m.options.name_threshold
        if labelled:
            return any(len(value) <= MAX_SPAN_WORDS and (
                self._same_length_name(info, kind, value, target, typos=1, skip=known, whole=True) is not None
                or self._best_similarity(info, kind, value, target, floor, skip=known, whole=True) > 0)
                for value in labelled)
        return (self._same_length_name(info, kind, words, target, typos=1, skip=known) is not None
                or self._best_similarity(info, kind, words, target, floor, skip=known) > 0)

    def _same_length_name(self, info: RecordInfo, kind: str, words: list[str], target: list[bytes],
                          typos: int, skip: Callable[[str], bool] | None = None, whole: bool = False
                          ) -> tuple[int, int] | None:
        """The first and last word of a phrase of the name's length written exactly (``typos=0``) or
        with one letter replaced (``typos=1``: the differing bigrams are the one or two that hold
        that letter); None when there is none. A short name with one wrong letter falls under the
        similarity threshold; this accepts that typo only. A near phrase for which ``skip`` is true
        does not count; with ``whole``, only all the words together are a phrase. A name written
        exactly is confirmed by its exact form when the record has one (one hash for the phrase)."""
        exact = None if typos else info.scoped.get(EXACT_NAME[kind])
        for i in range(1 if whole else len(words)):
            length = 0
            for j in range(i, min(i + MAX_SPAN_WORDS, len(words))):
                length += len(words[j]) + 1  # the phrase's bigrams, padded: its length, plus one
                if length > len(target):
                    break
                if length < len(target) or (whole and j != len(words) - 1):
                    continue
                if exact is not None:
                    if self.ds.hasher.scoped_exact(EXACT_NAME[kind], info.salt, " ".join(words[i : j + 1])) == exact:
                        return i, j
                    continue
                seq = [g for k in range(i, j + 1) for g in self._qgrams(info, kind, words[k])]
                if seq == target:
                    return i, j
                if not typos:
                    continue
                wrong = [n for n, (a, b) in enumerate(zip(seq, target, strict=True)) if a != b]
                if (len(wrong) <= 2 and wrong[-1] - wrong[0] <= 1
                        and not (skip and skip(" ".join(words[i : j + 1])))):
                    return i, j
        return None

    def _near(self, start: int, end: int) -> tuple[int, int, list[str]]:
        """The few words each side of a date, within its line: where a leak writes the names.
        A record's line is its whole record. The window, and every word in it (one-letter words too)."""
        if self.lines is not None:
            line, lo, hi = self.lines.line(start)
            if self.lines.hints[line].named:  # its names are known from their labels: no need to read the words
                return lo, hi, self.lines.named_words(line)
            return lo, hi, [w for w, _ in self._words_in(lo, hi)]
        lo, hi = self._row(*self._window(start, end), start, end)
        words = self._words_in(lo, hi)
        # "né(e)": "e" is no word; "né le", "de la" do not count: a three-word last name after the
        # first name keeps both in reach.
        positions = [pos for w, pos in words if len(w) > 2]
        first = bisect.bisect_left(positions, start)
        first_after = bisect.bisect_left(positions, end, first)
        # From the line's start when fewer words stand before the date, else from just after the
        # word before the farthest one: a name's short words ("DA SILVA", "LE GALL", "LI Wei") stay
        # in with it, wherever the window begins.
        back = first - NEAR_WORDS
        near_lo = lo if back <= 0 else positions[back - 1] + 1
        near_hi = positions[first_after + NEAR_WORDS] if first_after + NEAR_WORDS < len(positions) else hi
        return near_lo, near_hi, [w for w, pos in words if near_lo <= pos < near_hi]

    def _row(self, lo: int, hi: int, start: int, end: int) -> tuple[int, int]:
        """A window cut to the SQL row ``(...), (...)`` it lies in, if the line holds several."""
        for m in _ROW_BREAK.finditer(self.text, lo, start):
            lo = m.end()
        m = _ROW_BREAK.search(self.text, end, hi)
        return lo, (m.start() if m else hi)

    def _window(self, start: int, end: int) -> tuple[int, int]:
        """The hit's line, cut to +-proximity characters around it; a record's whole line."""
        if self.lines is not None:
            return self.lines.line(start)[1:]
        text, prox = self.text, self.m.options.proximity
        line_start = text.rfind("\n", max(0, start - prox), start) + 1 or max(0, start - prox)
        line_end = text.find("\n", end, end + prox)
        if line_end == -1:
            line_end = min(len(text), end + prox)
        return max(line_start, start - prox), line_end

    def _words_in(self, lo: int, hi: int) -> list[tuple[str, int]]:
        return self.words.between(lo, hi)

    def _names_in_window(self, info: RecordInfo, lo: int, hi: int) -> set[str]:
        matched: set[str] = set()
        scoped = info.scoped
        named = self.lines is not None and self.lines.view(lo).named
        line_words = [w for w, _ in self._words_in(lo, hi)] if not named or "city" in scoped else []
        # A record whose fields name its names: those are its names (as ``_names_and_date`` reads
        # them), each field apart; its line need not be read word by word for them.
        words = [w for value in self._labelled_names(lo) for w in (*value, _USED)] if named else line_words
        for kind in ("last_name", "first_name"):
            target = scoped.get(kind)
            if target and self._name_matches(info, kind, words, split_qgrams(target)):
                matched.add(kind)
        if "first_name" not in matched and "first_initial" in scoped and "last_name" in matched:
            initials = {w for w in words if len(w) == 1}
            if any(self.ds.hasher.scoped_exact("first_initial", info.salt, i) == scoped["first_initial"]
                   for i in initials):
                matched.add("first_name")
        if "postcode" in scoped:
            for m in _POSTCODE.finditer(self.text, lo, hi):
                try:
                    pc = postcode(m.group())
                except InvalidValue:
                    continue
                if self.ds.hasher.scoped_exact("postcode", info.salt, pc) == scoped["postcode"]:
                    matched.add("postcode")
                    break
        if "city" in scoped:
            for phrase in _phrases(line_words):
                if self.ds.hasher.scoped_exact("city", info.salt, phrase) == scoped["city"]:
                    matched.add("city")
                    break
        return matched

    def _name_matches(self, info: RecordInfo, kind: str, words: list[str], target: list[bytes]) -> bool:
        """The record's name written in the words, exactly or within ``name_threshold``. The exact
        writing is looked for first: it hashes only phrases of the name's length."""
        return (self._same_length_name(info, kind, words, target, typos=0) is not None
                or self._best_similarity(info, kind, words, target, self.m.options.name_threshold) > 0)

    def _best_similarity(self, info: RecordInfo, kind: str, words: list[str], target: list[bytes],
                         floor: float, skip: Callable[[str], bool] | None = None, whole: bool = False) -> float:
        """The best similarity, at least ``floor`` (else 0), of a run of 1 to 3 words to the record's
        name, compared as keyed bigram sequences (rapidfuzz Indel). A phrase's bigrams are its
        words' bigrams, so each word is hashed once; phrases whose length alone, or whose shared
        bigrams, cannot reach ``floor`` are skipped before any comparison, and so are inexact
        phrases for which ``skip`` is true. With ``whole``, only all the words together are a phrase."""
        size = len(target)
        target_set = set(target)
        best = 0.0
        seqs: dict[int, list[bytes]] = {}
        common: dict[int, int] = {}
        others = self._other_names(info, kind, words, target, floor, skip) if skip else set()
        for i in range(1 if whole else len(words)):
            length = 0
            for j in range(i, min(i + MAX_SPAN_WORDS, len(words))):
                length += len(words[j]) + 1  # bigrams of the padded word
                if whole and j != len(words) - 1:
                    continue
                # Indel similarity is 2*LCS/(|a|+|b|): LCS is at most the shorter length...
                if 2 * min(length, size) < floor * (length + size):
                    if length > size:
                        break
                    continue
                for k in range(i, j + 1):
                    if k not in seqs:
                        seqs[k] = self._qgrams(info, kind, words[k])
                        common[k] = sum(1 for g in seqs[k] if g in target_set)
                # ... and at most the bigrams the two share.
                if 2 * sum(common[k] for k in range(i, j + 1)) < floor * (length + size):
                    continue
                seq = [g for k in range(i, j + 1) for g in seqs[k]]
                score = Indel.normalized_similarity(seq, target)
                if score < 1.0 and skip and score >= floor and (
                        others.intersection(range(i, j + 1)) or skip(" ".join(words[i : j + 1]))):
                    continue
                if score >= floor and score > best:
                    best = score
                    if best == 1.0:
                        return best
        return best

    def _other_names(self, info: RecordInfo, kind: str, words: list[str], target: list[bytes], floor: float,
                     skip: Callable[[str], bool]) -> set[int]:
        """The words that are by themselves another name near the record's ("Philippe" near
        "Philippine"): a phrase holding one ("philippe d", a stray letter after it) is that other
        name still, not a spelling of the record's."""
        out = set()
        for k, word in enumerate(words):
            score = Indel.normalized_similarity(self._qgrams(info, kind, word), target)
            if floor <= score < 1.0 and skip(word):
                out.add(k)
        return out

    def _qgrams(self, info: RecordInfo, kind: str, word: str) -> list[bytes]:
        """A word's keyed bigram sequence under this record's salt, hashed once per document."""
        key = (info.rec_no, kind)
        cache = self._gram_cache.get(key)
        if cache is None:
            cache = self._gram_cache[key] = {}
            self._salted[key] = self.ds.hasher.salted(kind, info.salt)
        seq = cache.get(word)
        if seq is None:
            seq = cache[word] = gram_fps(self._salted[key], word)
        return seq


def _phrases(words: list[str]) -> Iterable[str]:
    """Every run of 1 to 3 consecutive words (multi-word and compound names)."""
    seen: set[str] = set()
    for i in range(len(words)):
        for n in range(1, MAX_SPAN_WORDS + 1):
            if i + n > len(words):
                break
            phrase = " ".join(words[i : i + n])
            if phrase not in seen:
                seen.add(phrase)
                yield phrase
