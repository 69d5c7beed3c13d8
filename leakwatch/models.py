"""Value types that flow through the pipeline: Source -> Item -> Finding -> Incident -> Alert."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

FindingType = Literal["record", "term", "canary"]
Confidence = Literal["low", "medium", "high"]
Severity = Literal["low", "medium", "high", "critical"]
SEVERITY_ORDER: dict[str, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}
CONFIDENCE_ORDER: dict[str, int] = {"low": 0, "medium": 1, "high": 2}
"""The one order of confidences: merging findings and folding incidents keep the higher."""


@dataclass(frozen=True)
class ItemRef:
    """What a source lists: enough to fetch an item later and to know whether it was seen."""

    source: str
    key: str
    url: str | None = None
    title: str | None = None
    published_at: dt.datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass
class Item:
    """One fetched thing to scan: a paste, a file, a listing entry. ``content`` is raw bytes."""

    source: str
    key: str
    content: bytes
    url: str | None = None
    title: str | None = None
    published_at: dt.datetime | None = None
    name: str | None = None
    """A file name hint (extension tells the format: .csv, .zip, .html ...)."""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> str:
        return self.url or self.name or f"{self.source}:{self.key}"


@dataclass(frozen=True)
class Document:
    """Decoded text of an item, or of one member of an archive inside it."""

    target: str
    text: str
    title: str | None = None
    records_only: bool = False
    head: str = ""
    """What this document (a chunk of a long file) needs from the text before it: the dump's
    ``CREATE TABLE`` statements, the header of the table or the head of the SQL statement it
    continues. Read before its text by the record matcher (``records.carry``), not part of the text."""
    """The raw text beside an HTML page's visible text: parsing HTML can swallow what is not HTML
    (code with ``<``, an unclosed comment), so records are matched in both; terms only once."""


@dataclass(frozen=True)
class Skipped:
    """Part of an item that was not scanned, and why (binary, too large, archive bomb...)."""

    target: str
    reason: str


@dataclass(frozen=True)
class Finding:
    """One exposure found in one document. Never holds a matched value.

    ``record``: a record of a dataset (``ref``, matched ``fields``, ``confidence``).
    ``term``: a watch term (``term``, ``term_kind``, ``score``, ``count``; for look-alike domains,
    ``hosts``: the look-alike host names seen, defanged: attacker infrastructure, not protected data).
    ``canary``: a canary record (``label``, ``ref``, ``fields``).
    """

    type: FindingType
    target: str
    dataset: str | None = None
    ref: str | None = None
    fields: tuple[str, ...] = ()
    confidence: Confidence = "medium"
    term: str | None = None
    term_kind: str | None = None
    score: float | None = None
    count: int = 1
    label: str | None = None
    hosts: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.type in ("record", "canary"):
            out.update(dataset=self.dataset, ref=self.ref, fields=list(self.fields),
                       confidence=self.confidence)
        if self.type == "canary":
            out["label"] = self.label
            out["severity"] = "critical"
        if self.type == "term":
            out.update(term=self.term, kind=self.term_kind, score=round(self.score or 0.0, 1),
                       count=self.count)
            if self.hosts:
                out["hosts"] = list(self.hosts)
        return out


@dataclass
class ScanResult:
    """What scanning one item gave: findings per document, and what was skipped."""

    item: Item
    findings: list[Finding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    documents: int = 0
    bytes_scanned: int = 0
    structured: dict[str, int] = field(default_factory=dict)
    """Records read from structured parts, by format (csv, json, sql, kv, html, xml, table)."""
