"""What leakwatch remembers per source, in the database: a cursor, the items already seen (key and
sha256 of their content, never the content), health, conditional-request validators, and per
content hash the findings it gave (refs and field kinds only) so that the same content met on
another source is recorded without being scanned again."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, select

from leakwatch.models import Finding
from leakwatch.sources.health import Health
from leakwatch.storage.store import utcnow


class SourceStateRow(SQLModel, table=True):
    __tablename__ = "source_state"
    source: str = Field(primary_key=True)
    cursor: str | None = None
    health: str = "ok"
    health_reason: str = ""
    failures: int = 0
    last_run_at: dt.datetime | None = None
    last_ok_at: dt.datetime | None = None
    last_error: str = ""
    last_new_at: dt.datetime | None = None
    gap_mean: float | None = None
    """Mean seconds between two polls that brought new items: what 'usually' means for staleness."""
    gap_count: int = 0
    items_seen: int = 0
    validators: str = "{}"
    """JSON: URL -> ETag / Last-Modified of the last complete listing."""


class SeenItemRow(SQLModel, table=True):
    __tablename__ = "source_seen_item"
    source: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    content_hash: str = Field(index=True)
    """sha256 of the fetched content; empty when the item could never be fetched (gone)."""
    seen_at: dt.datetime = Field(default_factory=utcnow)


class ContentScanRow(SQLModel, table=True):
    """The findings content gave, by content hash: types, datasets, refs, field kinds, terms. No value."""

    __tablename__ = "source_content_scan"
    content_hash: str = Field(primary_key=True)
    findings: str = "[]"
    first_source: str = ""
    scanned_at: dt.datetime = Field(default_factory=utcnow)


@dataclass
class SourceState:
    """A source's state as a driver sees it: the cursor and whether a key was seen."""

    engine: Engine
    source: str
    cursor: str | None = None
    health: Health = field(default_factory=Health)
    validators: dict[str, dict[str, str]] = field(default_factory=dict)
    row: SourceStateRow | None = None
    done_now: set[str] = field(default_factory=set)
    """Keys completed during this run (also when nothing is committed, as in ``sources check``)."""
    warnings: list[str] = field(default_factory=list)
    """What a driver noticed without failing: a listing that no longer reaches back to the cursor."""

    def gap(self, where: str, advice: str) -> None:
        """The listing does not reach back to what was seen: items came and went while we were away."""
        if self.cursor is not None:
            self.warnings.append(f"{where}: the listing does not reach back to the last item seen "
                                 f"({self.cursor}): items may have been missed ({advice})")

    def seen(self, key: str) -> bool:
        if key in self.done_now:
            return True
        with Session(self.engine) as s:
            return s.get(SeenItemRow, (self.source, key)) is not None

    def seen_many(self, keys: list[str]) -> set[str]:
        """The keys already seen among ``keys``, in batches (a tracker lists thousands each poll)."""
        found = {k for k in keys if k in self.done_now}
        wanted = sorted(set(keys) - found)
        with Session(self.engine) as s:
            for i in range(0, len(wanted), 500):
                query = select(SeenItemRow.key).where(SeenItemRow.source == self.source,
                                                      SeenItemRow.key.in_(wanted[i:i + 500]))  # type: ignore[attr-defined]
                found.update(s.exec(query))
        return found


def load_state(engine: Engine, source: str) -> SourceState:
    with Session(engine, expire_on_commit=False) as s:
        row = s.get(SourceStateRow, source)
    if row is None:
        return SourceState(engine, source)
    try:
        validators = json.loads(row.validators or "{}")
    except ValueError:
        validators = {}
    return SourceState(engine, source, row.cursor, Health(row.health, row.health_reason, row.failures),
                       validators if isinstance(validators, dict) else {}, row)


def state_row(session: Session, source: str) -> SourceStateRow:
    row = session.get(SourceStateRow, source)
    if row is None:
        row = SourceStateRow(source=source)
        session.add(row)
    return row


def all_states(engine: Engine) -> dict[str, SourceStateRow]:
    with Session(engine, expire_on_commit=False) as s:
        return {row.source: row for row in s.exec(select(SourceStateRow))}


FINDINGS_FORMAT = 2
"""Version of ``ContentScanRow.findings``. 1 (before migrations): a JSON list without ``hosts``.
2: ``{"format": 2, "findings": [...]}`` with ``hosts``. Every version ever written stays readable."""
_FINDING_FIELDS = ("type", "dataset", "ref", "fields", "confidence", "term", "term_kind", "score", "count", "label",
                   "hosts")
_TUPLES = ("fields", "hosts")


def findings_to_json(findings: list[Finding], item_target: str) -> str:
    """Findings without their target (kept as a suffix for archive members) and without any value."""
    out = []
    for f in findings:
        entry = {name: getattr(f, name) for name in _FINDING_FIELDS}
        for name in _TUPLES:
            entry[name] = list(entry[name])
        entry["member"] = f.target[len(item_target):] if f.target.startswith(item_target) else ""
        out.append(entry)
    return json.dumps({"format": FINDINGS_FORMAT, "findings": out}, ensure_ascii=False)


def findings_from_json(data: str, item_target: str) -> list[Finding]:
    """Findings as kept by any version: fields a version did not write take their defaults, fields
    this code does not know are dropped."""
    loaded = json.loads(data)
    entries = loaded["findings"] if isinstance(loaded, dict) else loaded
    out = []
    for entry in entries:
        kept = {k: v for k, v in entry.items() if k in _FINDING_FIELDS}
        for name in _TUPLES:
            kept[name] = tuple(kept.get(name) or ())
        out.append(Finding(target=item_target + (entry.get("member") or ""), **kept))
    return out
