"""Matches decoded text against the fingerprint index and scores each exposed record.

Identifier candidates are hashed and looked up exactly; names and dates near each hit corroborate it
(compared as record-scoped fingerprints, fuzzily for names). Last name + first name + birth date
found together match without any identifier: the date is the blocking key, names are compared only
against the few records that share it.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz.distance import Indel

from leakwatch.detectors import Detector
from leakwatch.fingerprints import DatasetIndex, Index, RecordInfo, split_qgrams
from leakwatch.models import Finding
from leakwatch.normalise import IDENTIFIER_KINDS, InvalidValue, name, postcode

_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_POSTCODE = re.compile(r"(?<![\w])\d{5}(?![\w])")
MAX_SPAN_WORDS = 3
MAX_BLOCK = 400
"""Name + date matching compares names only when a date is shared by at most this many records."""


@dataclass
class _Hit:
    kinds: set[str] = field(default_factory=set)
    spans: list[tuple[int, int]] = field(default_factory=list)
    corroborated: set[str] = field(default_factory=set)


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

    def scan(self, text: str, target: str) -> list[Finding]:
        if self.index.empty or not text:
            return []
        kinds = self.index.kinds()
        candidates: dict[str, list[tuple[str, int, int]]] = {}
        for kind in IDENTIFIER_KINDS:
            if kind in kinds and kind in self.detectors:
                candidates[kind] = list(self.detectors[kind].candidates(text))
        dates = list(self.detectors["date"].candidates(text)) if "date" in kinds else []
        masked = sorted((s, e) for cands in candidates.values() for _, s, e in cands)
        findings: list[Finding] = []
        for ds in self.index.datasets:
            findings.extend(_DatasetScan(self, ds, text, target, masked).run(candidates, dates))
        return findings


class _DatasetScan:
    def __init__(self, matcher: TextMatcher, ds: DatasetIndex, text: str, target: str,
                 masked: list[tuple[int, int]]) -> None:
        self.m = matcher
        self.ds = ds
        self.text = text
        self.target = target
        self.masked_starts = [s for s, _ in masked]
        self.masked_max_end = list(itertools.accumulate((e for _, e in masked), max))
        self._words: dict[tuple[int, int], list[tuple[str, int]]] = {}
        self._qgram_cache: dict[tuple[int, str, str], bytes] = {}

    def run(self, candidates: dict[str, list[tuple[str, int, int]]],
            dates: list[tuple[str, int, int]]) -> list[Finding]:
        ds = self.ds
        hits: dict[int, _Hit] = defaultdict(_Hit)
        for kind, cands in candidates.items():
            if kind not in ds.kinds or not cands:
                continue
            fps = [ds.hasher.global_fp(kind, v) for v, _, _ in cands]
            for (_, start, end), recs in zip(cands, ds.lookup(kind, fps), strict=True):
                for rec in recs.tolist():
                    hit = hits[rec]
                    hit.kinds.add(kind)
                    hit.spans.append((start, end))
        date_recs: list[tuple[int, int, set[int]]] = []
        if dates and "date" in ds.kinds:
            fps = [ds.hasher.global_fp("date", v) for v, _, _ in dates]
            for (_, start, end), recs in zip(dates, ds.lookup("date", fps), strict=True):
                if len(recs):
                    date_recs.append((start, end, set(recs.tolist())))
        infos = ds.records(hits)
        for rec, hit in hits.items():
            info = infos.get(rec)
            if info is None:
                continue
            for start, end in hit.spans:
                lo, hi = self._window(start, end)
                if any(lo <= ds_ <= hi and rec in recs for ds_, _, recs in date_recs):
                    hit.corroborated.add("date")
                hit.corroborated |= self._names_in_window(info, lo, hi)
        findings = [self._finding(info_rec, hit, infos) for info_rec, hit in hits.items() if info_rec in infos]
        findings.extend(self._name_date_matches(date_recs, set(hits)))
        return findings

    def _finding(self, rec: int, hit: _Hit, infos: dict[int, RecordInfo]) -> Finding:
        strong = bool(hit.corroborated & {"date", "last_name", "first_name"}) or len(hit.kinds) > 1
        fields = tuple(sorted(hit.kinds | hit.corroborated))
        return self._make(infos[rec], fields, "high" if strong else "medium")

    def _make(self, info: RecordInfo, fields: tuple[str, ...], confidence: str) -> Finding:
        kind = "canary" if self.ds.purpose == "canary" else "record"
        return Finding(type=kind, target=self.target, dataset=self.ds.name, ref=info.ref, fields=fields,
                       confidence=confidence, label=self.ds.label)  # type: ignore[arg-type]

    def _name_date_matches(self, date_recs: list[tuple[int, int, set[int]]], known: set[int]) -> list[Finding]:
        if not {"last_name", "first_name"} <= self.ds.kinds:
            return []
        found: dict[int, RecordInfo] = {}
        for start, end, recs in date_recs:
            todo = recs - known - set(found)
            if not todo or len(recs) > MAX_BLOCK:
                continue
            lo, hi = self._window(start, end)
            for rec, info in self.ds.records(todo).items():
                if {"last_name", "first_name"} <= self._names_in_window(info, lo, hi):
                    found[rec] = info
        return [self._make(info, ("date", "first_name", "last_name"), "medium") for info in found.values()]

    def _window(self, start: int, end: int) -> tuple[int, int]:
        """The hit's line, cut to +-proximity characters around it."""
        text, prox = self.text, self.m.options.proximity
        line_start = text.rfind("\n", max(0, start - prox), start) + 1 or max(0, start - prox)
        line_end = text.find("\n", end, end + prox)
        if line_end == -1:
            line_end = min(len(text), end + prox)
        return max(line_start, start - prox), line_end

    def _words_in(self, lo: int, hi: int) -> list[tuple[str, int]]:
        """Normalised words of a window, with identifier spans masked (an e-mail's local part is
        no independent evidence of a name)."""
        key = (lo, hi)
        if key not in self._words:
            out = []
            for m in _WORD.finditer(self.text, lo, hi):
                if self._is_masked(m.start()):
                    continue
                try:
                    out.append((name(m.group()), m.start()))
                except InvalidValue:
                    continue
            self._words[key] = out
        return self._words[key]

    def _is_masked(self, pos: int) -> bool:
        i = bisect.bisect_right(self.masked_starts, pos) - 1
        return i >= 0 and pos < self.masked_max_end[i]

    def _names_in_window(self, info: RecordInfo, lo: int, hi: int) -> set[str]:
        matched: set[str] = set()
        words = [w for w, _ in self._words_in(lo, hi)]
        scoped = info.scoped
        threshold = self.m.options.name_threshold
        for kind in ("last_name", "first_name"):
            target = scoped.get(kind)
            if not target:
                continue
            target_seq = split_qgrams(target)
            for phrase in _phrases(words):
                seq = split_qgrams(self._qgrams(info, kind, phrase))
                if Indel.normalized_similarity(seq, target_seq) >= threshold:
                    matched.add(kind)
                    break
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
            for phrase in _phrases(words):
                if self.ds.hasher.scoped_exact("city", info.salt, phrase) == scoped["city"]:
                    matched.add("city")
                    break
        return matched

    def _qgrams(self, info: RecordInfo, kind: str, phrase: str) -> bytes:
        key = (info.rec_no, kind, phrase)
        seq = self._qgram_cache.get(key)
        if seq is None:
            seq = self.ds.hasher.scoped_qgrams(kind, info.salt, phrase)
            self._qgram_cache[key] = seq
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
