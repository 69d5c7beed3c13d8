"""The stored forms a dataset lacks because an older release imported it.

An older import is matched with the forms it has, never refused; but what it lacks is said out loud
(``fingerprints list``, ``doctor``, a log line when the daemon loads its index): the name + date
blocking keys (without them, names and a birth date with no identifier are never matched), the
known names (without them, a near spelling that is another record's name, Julien for Julie, is
taken for a typo), the exact name forms (without them, names are compared by their bigrams alone:
the same results, more slowly). Read off the stored kinds and a sample of records: no value.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import select

from leakwatch.detection.fingerprints import BLOCK_KIND, EXACT_NAME, KNOWN_NAME_KINDS, NAME_KINDS, decode_scoped
from leakwatch.storage.store import DatasetRow, FingerprintChunk, RecordRow

SAMPLE = 200
"""Records read to tell which record-scoped forms the import wrote."""


@dataclass(frozen=True)
class Missing:
    form: str
    effect: str
    blind: bool
    """Something is never matched without it (not only matched more slowly)."""

    def __str__(self) -> str:
        return f"no {self.form}: {self.effect}"


def missing(engine: Engine, dataset: DatasetRow) -> list[Missing]:
    """What re-importing ``dataset`` with this release would add, most serious first."""
    with engine.connect() as conn:
        stored = set(conn.execute(select(FingerprintChunk.kind).distinct()
                                  .where(FingerprintChunk.dataset_id == dataset.id)).scalars())
        blobs = conn.execute(select(RecordRow.scoped).where(RecordRow.dataset_id == dataset.id)
                             .limit(SAMPLE)).scalars().all()
    records = [decode_scoped(blob) for blob in blobs]
    named = [r for r in records if any(kind in r for kind in NAME_KINDS)]
    out = []
    if any("date" in r and all(kind in r for kind in NAME_KINDS) for r in records) and BLOCK_KIND not in stored:
        out.append(Missing("name + date keys", "last name, first name and birth date without an identifier "
                           "are never matched", blind=True))
    if named and not set(KNOWN_NAME_KINDS.values()) <= stored:
        out.append(Missing("known names", "a near spelling that is another record's name (Julien for Julie) "
                           "is taken for a typo", blind=True))
    if named and not any(EXACT_NAME[kind] in r for r in named for kind in NAME_KINDS):
        out.append(Missing("exact name forms", "names are compared by their bigrams alone (the same results, "
                           "more slowly)", blind=False))
    return out


def advice(found: list[Missing]) -> str:
    """One line for an operator: what is missing and what to do."""
    return "; ".join(map(str, found)) + ": re-import the dataset (leakwatch fingerprints import)"


def blind(found: list[Missing]) -> bool:
    """Whether something is never matched for what ``found`` lacks."""
    return any(m.blind for m in found)
