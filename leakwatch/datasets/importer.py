"""``fingerprints import``: streams a CSV or JSON Lines file, normalises each field, and stores
only keyed fingerprints and the reference, in one transaction.

Plaintext lives only in this process's memory (and its worker processes', through pipes) while a
row is being fingerprinted; it is never written anywhere.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.engine import Connection, Engine

from leakwatch.datasets.schema import Schema
from leakwatch.detection import normalise, parallel
from leakwatch.detection.documents import detect_encoding, is_binary
from leakwatch.detection.fingerprints import BLOCK_KIND, GLOBAL_KINDS, KNOWN_NAME_KINDS, NAME_KINDS, Hasher
from leakwatch.detection.normalise import InvalidValue, is_placeholder
from leakwatch.errors import InputError
from leakwatch.keys import Key
from leakwatch.storage import audit, store
from leakwatch.storage.store import DatasetRow, FingerprintChunk, RecordRow, utcnow

CHUNK_ENTRIES = 1 << 20
BATCH_ROWS = 20_000
Row = tuple[int, dict[str, str]]
"""A line number and the row's columns."""


@dataclass
class Fingerprinted:
    ref: str
    salt: bytes
    scoped: bytes
    global_fps: list[tuple[str, int]]


class RowError(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


class RecordFingerprinter:
    """Normalises one row's fields and turns them into fingerprints. Raises RowError (no value in it).

    ``fingerprint`` takes a row as a dict; ``fingerprint_batch`` takes rows as tuples of
    ``columns`` (the ref first) and returns them packed, for the importer's worker processes.
    """

    CACHE_LIMIT = 200_000

    def __init__(self, master: bytes, schema: Schema, region: str, strict: bool = True,
                 row_key: bytes = b"") -> None:
        self.schema = schema
        self.region = region
        self.strict = strict
        """Strict: a bad value raises RowError. Else it is dropped from its record and tallied."""
        self.tally = Tally(len(schema.fields))
        # Rows with the same ref are compared (a patient seen twice, or two people?) by a keyed hash
        # of the row's cells, held in memory for the import only, under a key drawn for this import.
        self._row_hash = hashlib.blake2b(key=row_key or os.urandom(16), digest_size=8)
        self.hasher = Hasher(master, schema.name)
        self.columns: list[str] = [schema.ref, *(c for c in schema.fields if c != schema.ref)]
        pos = {c: i for i, c in enumerate(self.columns)}
        # Per schema field: its position in a tuple of ``columns``, name, what is done with its
        # normal form (_GLOBAL, _DATE, _NAME, _EXACT), kind, normaliser, and a cache of normal forms
        # for the kinds whose values repeat (names, dates, postcodes, cities).
        self._plan: list[tuple[int, str, int, str, Callable[[str], str], dict[str, str] | None]] = []
        for column, kind in schema.fields.items():
            norm: Callable[[str], str]
            if kind == "phone":
                def norm(value: str, _phone: Callable[[str, str], str] = normalise.phone) -> str:
                    return _phone(value, region)
            else:
                norm = normalise.NORMALISERS[kind]
            cache: dict[str, str] | None = {} if kind in _CACHED_KINDS else None
            action = (_GLOBAL if kind in GLOBAL_KINDS else _DATE if kind == "date"
                      else _NAME if kind in ("last_name", "first_name") else _EXACT)
            self._plan.append((pos[column], column, action, kind, norm, cache))
        self._known: dict[str, dict[str, bytes]] = {kind: {} for kind in KNOWN_NAME_KINDS}

    def fingerprint(self, line: int, row: dict[str, str]) -> Fingerprinted:
        values = tuple("" if (v := row.get(c)) is None else str(v) for c in self.columns)
        ref, salt, scoped, global_fps, _ = self._fingerprint(line, values, os.urandom(16))
        return Fingerprinted(ref, salt, scoped,
                             [(kind, int.from_bytes(d, "little")) for kind, d in global_fps])

    def _fingerprint(self, line: int, values: Sequence[str], salt: bytes
                     ) -> tuple[str, bytes, bytes, list[tuple[str, bytes]], bytes]:
        """(ref, salt, packed scoped fingerprints, [(kind, 8-byte little-endian global fp)], row hash).

        A value that is a placeholder (``is_placeholder``) is missing; one that fails its kind's
        check raises RowError when strict, else is dropped and tallied (column, reason, line)."""
        ref = values[0].strip()
        if not ref or is_placeholder(ref):
            raise RowError(line, f"no ref (column {self.schema.ref!r} is empty)")
        global_fps: list[tuple[str, bytes]] = []
        scoped: dict[str, str] = {}
        names: dict[str, str] = {}
        birth: str | None = None
        digest = self.hasher.global_digest
        tally = self.tally
        for j, (i, column, action, kind, norm, cache) in enumerate(self._plan):
            raw = values[i]
            if not raw or raw.isspace():
                tally.missing[j] += 1
                continue
            value = cache.get(raw) if cache is not None else None
            if value is None:
                # A placeholder could pass some kinds' checks ("inconnu" is a name): those kinds ask
                # first; the others (nir, email, phone, iban) only for a value that failed.
                if kind not in _CHECKED_KINDS and is_placeholder(raw, name=kind in NAME_KINDS):
                    tally.missing[j] += 1
                    continue
                try:
                    value = norm(raw)
                except InvalidValue as exc:
                    if kind in _CHECKED_KINDS and is_placeholder(raw):
                        tally.missing[j] += 1
                        continue
                    if self.strict:
                        raise RowError(line, f"column {column!r}: {exc}") from None
                    tally.drop(column, str(exc), line)
                    continue
                if cache is not None:
                    if len(cache) >= self.CACHE_LIMIT:
                        cache.clear()
                    cache[raw] = value
            if action == _GLOBAL:
                global_fps.append((kind, digest(kind, value)))
            elif action == _NAME:
                if kind in scoped:
                    continue  # a second column of the same kind: the first one is the record's name
                scoped[kind] = names[kind] = value
            elif action == _DATE:
                if birth is None:
                    birth = scoped["date"] = value
            else:
                scoped[kind] = value
        if birth and len(names) == 2:
            for d in self.hasher.block_digests(birth, names["last_name"], names["first_name"]):
                global_fps.append((BLOCK_KIND, d))
        if not global_fps:
            raise RowError(line, NOTHING_USABLE)
        for kind, value in names.items():
            global_fps.append(self._known_name(kind, value))
        row_hash = self._row_hash.copy()
        row_hash.update("\x1f".join(values).encode())
        return ref, salt, self.hasher.record_scoped(salt, scoped), global_fps, row_hash.digest()

    def _known_name(self, kind: str, normal_name: str) -> tuple[str, bytes]:
        """The known-name fingerprint of a normal name (names repeat: cached)."""
        known = KNOWN_NAME_KINDS[kind]
        cache = self._known[kind]
        digest = cache.get(normal_name)
        if digest is None:
            if len(cache) >= self.CACHE_LIMIT:
                cache.clear()
            digest = cache[normal_name] = self.hasher.global_digest(known, normal_name)
        return known, digest


NOTHING_USABLE = "nothing usable: no valid identifier, and not last name + first name + date"
FIRST_LINES = 5
"""How many line numbers the report gives per column and reason."""


@dataclass
class Tally:
    """What an import dropped and skipped, by column and reason, with the first line numbers;
    never a value. Workers tally their batches; the importer merges them."""

    columns: int
    rows: int = 0
    """Rows with a ref whose fields were read."""
    missing: list[int] = field(default_factory=list)
    """Per schema column: empty or placeholder values."""
    dropped: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    """(column, reason) -> [count, first line numbers]."""
    skipped: dict[str, list[Any]] = field(default_factory=dict)
    """reason -> [count, first line numbers], for rows skipped whole."""

    def __post_init__(self) -> None:
        if not self.missing:
            self.missing = [0] * self.columns

    def drop(self, column: str, reason: str, line: int) -> None:
        _count(self.dropped, (column, reason), line)

    def skip(self, reason: str, line: int) -> None:
        _count(self.skipped, reason, line)

    def merge(self, other: Tally) -> None:
        self.rows += other.rows
        self.missing = [a + b for a, b in zip(self.missing, other.missing, strict=True)]
        for mine, theirs in ((self.dropped, other.dropped), (self.skipped, other.skipped)):
            for key, (count, lines) in theirs.items():
                entry = mine.setdefault(key, [0, []])  # type: ignore[call-overload]
                entry[0] += count
                entry[1] = sorted(entry[1] + lines)[:FIRST_LINES]


def _count(counts: dict[Any, list[Any]], key: Any, line: int) -> None:
    entry = counts.get(key)
    if entry is None:
        counts[key] = [1, [line]]
    else:
        entry[0] += 1
        if len(entry[1]) < FIRST_LINES:
            entry[1].append(line)


_GLOBAL, _DATE, _NAME, _EXACT = range(4)
_KNOWN_NAMES = frozenset(KNOWN_NAME_KINDS.values())
_CACHED_KINDS = frozenset({"last_name", "first_name", "date", "postcode", "city"})
_CHECKED_KINDS = frozenset({"nir", "email", "phone", "iban"})
"""Kinds whose check no placeholder passes."""


@dataclass
class Packed:
    """A batch of fingerprinted records, packed to cross a pipe cheaply: refs, the records' 16-byte
    salts in one blob, scoped blobs, and per global kind the little-endian uint64 fingerprints with
    the uint32 index (within this batch) of the record each belongs to. Per record also its line
    (uint32) and the keyed hashes of its ref and of its normal forms (uint64), to find refs given
    twice; and the batch's tally."""

    refs: list[str]
    salts: bytes
    scoped: list[bytes]
    global_fps: dict[str, tuple[bytes, bytes]]
    errors: list[tuple[int, str]]
    lines: bytes = b""
    ref_hashes: bytes = b""
    row_hashes: bytes = b""
    tally: Tally | None = None


def fingerprint_batch(fp: RecordFingerprinter, lines: Sequence[int], rows: Sequence[Sequence[str]]) -> Packed:
    """Fingerprint rows given as tuples of ``fp.columns``. A strict fingerprinter stops at the first
    bad row (its error is the only one returned); else rows without a ref or without anything
    usable are skipped and tallied, and bad values dropped from their record and tallied."""
    refs: list[str] = []
    scoped: list[bytes] = []
    salts = os.urandom(16 * len(rows))
    used: list[bytes] = []
    hashes: dict[str, list[bytes]] = {}
    recs: dict[str, list[int]] = {}
    errors: list[tuple[int, str]] = []
    kept_lines: list[int] = []
    row_hashes: list[bytes] = []
    fp.tally = tally = Tally(len(fp.schema.fields))
    one = fp._fingerprint
    for j, (line, values) in enumerate(zip(lines, rows, strict=True)):
        salt = salts[16 * j : 16 * j + 16]
        try:
            ref, _, blob, global_fps, row_hash = one(line, values, salt)
        except RowError as exc:
            if fp.strict:
                errors.append((exc.line, exc.reason))
                break
            if exc.reason != NOTHING_USABLE:
                tally.rows -= 1  # no ref: its fields were not read
            tally.skip(exc.reason, exc.line)
            continue
        finally:
            tally.rows += 1
        n = len(refs)
        refs.append(ref)
        used.append(salt)
        scoped.append(blob)
        kept_lines.append(line)
        row_hashes.append(row_hash)
        for kind, digest in global_fps:
            hs = hashes.get(kind)
            if hs is None:
                hs = hashes[kind] = []
                recs[kind] = []
            hs.append(digest)
            recs[kind].append(n)
    ref_state = fp._row_hash
    ref_hashes = []
    for ref in refs:
        h = ref_state.copy()
        h.update(b"ref\x00" + ref.encode())
        ref_hashes.append(h.digest())
    return Packed(refs, b"".join(used), scoped,
                  {k: (b"".join(v), np.array(recs[k], dtype="<u4").tobytes()) for k, v in hashes.items()}, errors,
                  np.array(kept_lines, dtype="<u4").tobytes(), b"".join(ref_hashes), b"".join(row_hashes), tally)


# ---- reading ----------------------------------------------------------------------------

def read_rows(path: Path, fh: IO[bytes]) -> Iterator[Row]:
    """Rows of a CSV (delimiter sniffed, header row) or JSON Lines file, as dicts."""
    header, rows = read_table(path, fh)
    if header is None:
        yield from rows  # type: ignore[misc]
    else:
        for line, row in rows:
            yield line, dict(zip(header, row, strict=True))  # type: ignore[arg-type]


def read_table(path: Path, fh: IO[bytes]
               ) -> tuple[list[str] | None, Iterator[tuple[int, list[str] | dict[str, str]]]]:
    """The header of a CSV file (delimiter sniffed) and its rows as lists; or, for JSON Lines,
    None and the rows as dicts. Rows come with their line number."""
    sample = fh.read(64 * 1024)
    fh.seek(0)
    if is_binary(sample[:8192]):  # a stray NUL in a value is no binary: it is dropped (_without_nul)
        raise InputError(f"{path}: binary file, expected CSV or JSON Lines")
    encoding = detect_encoding(sample)
    text = io.TextIOWrapper(fh, encoding=encoding, errors="strict", newline="")
    first = sample.decode(encoding, errors="ignore").lstrip("\ufeff").lstrip()
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json") or first.startswith("{"):
        return None, _decoded(path, encoding, text, _json_rows(path, text))
    try:
        reader, header = _csv_reader(path, text, sample.decode(encoding, errors="ignore"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: undecodable bytes ({encoding}): {exc.reason}") from None
    return header, _decoded(path, encoding, text, _csv_rows(reader, len(header)))


def _decoded(path: Path, encoding: str, text: io.TextIOWrapper, rows: Iterator[Any]) -> Iterator[Any]:
    try:
        yield from rows
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: undecodable bytes ({encoding}): {exc.reason}") from None
    finally:
        with contextlib.suppress(ValueError):  # already closed when the caller stopped early
            text.detach()  # the caller owns the file


def _json_rows(path: Path, text: io.TextIOWrapper) -> Iterator[Row]:
    for line_no, line in enumerate(text, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise RowError(line_no, f"invalid JSON: {str(exc).split(':')[0]}") from None
        except RecursionError:
            raise RowError(line_no, "invalid JSON: nested too deeply") from None
        if not isinstance(obj, dict):
            raise RowError(line_no, "expected a JSON object per line")
        yield line_no, {k: "" if v is None else str(v) for k, v in obj.items()}


def _csv_reader(path: Path, text: io.TextIOWrapper, sample: str) -> tuple[Any, list[str]]:
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            "\n".join(sample.splitlines()[:50]), delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(_without_nul(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{path}: empty file") from None
    except csv.Error as exc:
        raise RowError(reader.line_num, f"malformed CSV: {exc}") from None
    return reader, [h.strip().lstrip("\ufeff") for h in header]


def _without_nul(lines: Iterable[str]) -> Iterator[str]:
    """Lines with their NULs dropped, as the scanner drops them: a value typed with one matches."""
    for line in lines:
        yield line.replace("\x00", "") if "\x00" in line else line


def _csv_rows(reader: Any, width: int) -> Iterator[tuple[int, list[str]]]:
    try:
        for row in reader:
            if len(row) != width:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                raise RowError(reader.line_num, f"expected {width} fields, found {len(row)}")
            yield reader.line_num, row
    except csv.Error as exc:
        raise RowError(reader.line_num, f"malformed CSV: {exc}") from None


def check_header(path: Path, schema: Schema, first: dict[str, str] | list[str]) -> None:
    """The schema's columns must be in the header. When none of them is, the first row may be a
    record (a file without a header row): its cells are never printed."""
    wanted = (schema.ref, *schema.fields)
    missing = [c for c in wanted if c not in first]
    if not missing:
        return
    if len(missing) == len(set(wanted)) and not isinstance(first, dict):  # JSON keys are names, not values
        raise InputError(f"{path}:1: none of the schema's columns ({', '.join(map(repr, wanted))}) is in the "
                         f"first row: the file needs a header row naming its {len(first)} column(s)")
    raise InputError(f"{path}:1: column(s) {', '.join(map(repr, missing))} named in the schema "
                     f"are not in the file (found: {', '.join(map(repr, first))})")


# ---- workers ----------------------------------------------------------------------------

_worker: RecordFingerprinter | None = None


def _init_worker(master: bytes, schema_json: str, region: str, strict: bool, row_key: bytes) -> None:
    global _worker
    _worker = RecordFingerprinter(master, Schema.model_validate_json(schema_json), region, strict, row_key)


def _work(lines: list[int], rows: list[tuple[str, ...]]) -> Packed:
    assert _worker is not None
    return fingerprint_batch(_worker, lines, rows)


# ---- writing ----------------------------------------------------------------------------

_INSERT_RECORD = {
    "qmark": "INSERT INTO record (dataset_id, rec_no, ref, salt, scoped) VALUES (?, ?, ?, ?, ?)",
    "format": "INSERT INTO record (dataset_id, rec_no, ref, salt, scoped) VALUES (%s, %s, %s, %s, %s)",
    "pyformat": "INSERT INTO record (dataset_id, rec_no, ref, salt, scoped) VALUES (%s, %s, %s, %s, %s)",
}
assert RecordRow.__tablename__ == "record"


@dataclass
class DatasetWriter:
    """Writes one dataset's records and fingerprints inside the caller's transaction, replacing any
    dataset of the same name."""

    conn: Connection
    name: str
    schema_kinds: list[str]
    ref_field: str
    purpose: str = "records"
    label: str | None = None
    source_name: str = ""
    key: Key | None = None
    """The key version the fingerprints are made under: its version and check are stored."""
    count: int = 0
    _hashes: dict[str, list[np.ndarray]] = field(default_factory=dict)
    _recs: dict[str, list[np.ndarray]] = field(default_factory=dict)
    dataset_id: int = 0

    def __post_init__(self) -> None:
        table = DatasetRow.__table__  # type: ignore[attr-defined]
        old = self.conn.execute(select(table.c.id).where(table.c.name == self.name)).scalar()
        self._replaced = old is not None
        if old is not None:
            store.delete_dataset_rows(self.conn, old)
        key = self.key
        self.dataset_id = self.conn.execute(insert(table).values(
            name=self.name, purpose=self.purpose, label=self.label, ref_field=self.ref_field,
            kinds=",".join(self.schema_kinds), record_count=0, skipped_rows=0, imported_at=utcnow(),
            source_name=self.source_name, key_version=key.version if key else 1,
            key_id=key.key_id if key else None, key_check=key.check if key else None,
        )).inserted_primary_key[0]
        # Records go to the driver's executemany directly: SQLAlchemy's insert() with a dict per
        # record cost as much as fingerprinting them. Other paramstyles fall back to insert().
        self._insert_sql = _INSERT_RECORD.get(self.conn.dialect.paramstyle, "")

    def add(self, records: list[Fingerprinted]) -> None:
        """Append records fingerprinted one by one (``RecordFingerprinter.fingerprint``)."""
        per_kind: dict[str, tuple[list[int], list[int]]] = {}
        for i, rec in enumerate(records):
            for kind, h in rec.global_fps:
                hs, rs = per_kind.setdefault(kind, ([], []))
                hs.append(h)
                rs.append(i)
        self._write([r.ref for r in records], [r.salt for r in records], [r.scoped for r in records],
                    {k: (np.array(hs, dtype="<u8"), np.array(rs, dtype="<u4")) for k, (hs, rs) in per_kind.items()})

    def add_packed(self, packed: Packed) -> None:
        """Append a batch from ``fingerprint_batch``."""
        salts = packed.salts
        self._write(packed.refs, [salts[i : i + 16] for i in range(0, len(salts), 16)], packed.scoped,
                    {k: (np.frombuffer(h, dtype="<u8"), np.frombuffer(r, dtype="<u4"))
                     for k, (h, r) in packed.global_fps.items()})

    def _write(self, refs: list[str], salts: list[bytes], scoped: list[bytes],
               global_fps: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        if not refs:
            return
        first = self.count
        self.count += len(refs)
        for kind, (hs, rs) in global_fps.items():
            self._hashes.setdefault(kind, []).append(hs)
            self._recs.setdefault(kind, []).append(rs.astype("<u4") + np.uint32(first))
        if self._insert_sql:
            self.conn.exec_driver_sql(self._insert_sql, list(zip(
                repeat(self.dataset_id), range(first, self.count), refs, salts, scoped)))
        else:
            self.conn.execute(insert(RecordRow.__table__), [  # type: ignore[attr-defined]
                {"dataset_id": self.dataset_id, "rec_no": n, "ref": ref, "salt": salt, "scoped": blob}
                for n, ref, salt, blob in zip(range(first, self.count), refs, salts, scoped, strict=True)])

    def drop(self, rec_nos: Sequence[int]) -> None:
        """Remove records already written (a row given twice), before ``finish``."""
        if not len(rec_nos):
            return
        table = RecordRow.__table__  # type: ignore[attr-defined]
        wanted = sorted(int(r) for r in rec_nos)
        for i in range(0, len(wanted), 1000):
            self.conn.execute(table.delete().where(table.c.dataset_id == self.dataset_id,
                                                   table.c.rec_no.in_(wanted[i : i + 1000])))
        self._dropped = np.array(wanted, dtype="<u4")

    def finish(self, skipped: int = 0) -> None:
        dropped = getattr(self, "_dropped", None)
        for kind in list(self._hashes):  # one kind at a time, each kind's parts freed once joined
            h = np.concatenate(self._hashes.pop(kind))
            r = np.concatenate(self._recs.pop(kind))
            if dropped is not None and kind not in _KNOWN_NAMES:
                keep = ~np.isin(r, dropped)
                h, r = h[keep], r[keep]
            if kind in _KNOWN_NAMES:
                h = np.unique(h)  # a set of names: no count, no record
                r = np.zeros(len(h), dtype="<u4")
            else:
                order = np.argsort(h, kind="stable")
                h, r = h[order], r[order]
                del order
            rows = [{"dataset_id": self.dataset_id, "kind": kind, "chunk_no": i // CHUNK_ENTRIES,
                     "hashes": h[i : i + CHUNK_ENTRIES].tobytes(), "rec_nos": r[i : i + CHUNK_ENTRIES].tobytes()}
                    for i in range(0, len(h), CHUNK_ENTRIES)]
            self.conn.execute(insert(FingerprintChunk.__table__), rows)  # type: ignore[attr-defined]
            del h, r, rows
        table = DatasetRow.__table__  # type: ignore[attr-defined]
        self.count -= 0 if dropped is None else len(dropped)
        self.conn.execute(table.update().where(table.c.id == self.dataset_id).values(
            record_count=self.count, skipped_rows=skipped))
        audit.record(self.conn, "canary_create" if self.purpose == "canary" else "import", dataset=self.name,
                     key_version=self.key.version if self.key else None, records=self.count, skipped=skipped,
                     replaced=self._replaced, kinds=self.schema_kinds)


MAPPING_CHECK_SHARE = 0.5
MAPPING_CHECK_MIN = 10
"""A column where more than half of the values present (at least ten) fail their kind's check is
probably mapped to the wrong kind (postcodes in the phone column): the import stops, unless the
analyst confirms the column (``accept_columns``)."""


@dataclass
class ColumnReport:
    column: str
    kind: str
    values: int
    """Values present (not empty, not a placeholder)."""
    missing: int
    dropped: list[tuple[str, int, list[int]]]
    """(reason, count, first line numbers)."""

    @property
    def dropped_count(self) -> int:
        return sum(count for _, count, _ in self.dropped)

    def to_json(self) -> dict[str, Any]:
        return {"column": self.column, "kind": self.kind, "values": self.values, "missing": self.missing,
                "dropped": self.dropped_count,
                "reasons": [{"reason": r, "count": c, "first_lines": lines} for r, c, lines in self.dropped]}


@dataclass
class ImportReport:
    """What an import kept, merged, skipped and dropped. Counts, reasons and line numbers only."""

    dataset: str
    records: int
    rows: int = 0
    duplicates: tuple[int, list[int]] = (0, [])
    """Rows that repeated an earlier row with the same ref (one record), and their first lines."""
    skipped: list[tuple[str, int, list[int]]] = field(default_factory=list)
    """Rows skipped whole: (reason, count, first line numbers)."""
    columns: list[ColumnReport] = field(default_factory=list)

    @property
    def skipped_count(self) -> int:
        return sum(count for _, count, _ in self.skipped)

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "records": self.records, "rows": self.rows,
                "duplicates": self.duplicates[0], "duplicate_lines": self.duplicates[1],
                "skipped": self.skipped_count,
                "skipped_rows": [{"reason": r, "count": c, "first_lines": lines} for r, c, lines in self.skipped],
                "dropped": sum(c.dropped_count for c in self.columns),
                "columns": [c.to_json() for c in self.columns]}


def import_file(engine: Engine, master: bytes, schema: Schema, path: Path, region: str,
                strict: bool = False, accept_columns: Sequence[str] = (), workers: int = 1,
                progress: Callable[[int], None] | None = None, key_version: int = 1) -> ImportReport:
    """Import ``path`` as dataset ``schema.name`` in one transaction; any error leaves the database
    as it was. ``master`` is the secret of key version ``key_version``.

    Strict: the first bad value stops the import. Else a bad value is dropped from its record, a
    row without a ref or without anything usable is skipped, and the report says how many, why
    and where. Either way a column mostly made of bad values stops the import (``MAPPING_CHECK_*``)
    unless named in ``accept_columns``, and a ref given to rows that differ is an error."""
    unknown = [c for c in accept_columns if c not in schema.fields]
    if unknown:
        raise InputError(f"--accept-column: {', '.join(map(repr, unknown))} is not a column of the schema")
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    columns = [schema.ref, *(c for c in schema.fields if c != schema.ref)]
    row_key = os.urandom(16)
    tally = Tally(len(schema.fields))
    lines: list[bytes] = []
    ref_hashes: list[bytes] = []
    row_hashes: list[bytes] = []
    with fh, engine.begin() as conn:
        writer = DatasetWriter(conn, schema.name, schema.kinds, schema.ref, source_name=path.name,
                               key=Key(key_version, master))
        batches = _batches(path, schema, columns, read_table(path, fh), fh, progress)
        packs = _fingerprint_all(master, schema, region, batches, strict, row_key, workers)
        try:
            for packed in packs:
                if packed.errors:
                    line, reason = packed.errors[0]
                    raise InputError(f"{path}:{line}: {reason}")
                assert packed.tally is not None
                tally.merge(packed.tally)
                lines.append(packed.lines)
                ref_hashes.append(packed.ref_hashes)
                row_hashes.append(packed.row_hashes)
                writer.add_packed(packed)
        except RowError as exc:
            raise InputError(f"{path}:{exc.line}: {exc.reason}") from None
        finally:  # a failed or interrupted import (SIGTERM, Ctrl-C) stops its workers now, not at exit
            packs.close()
            normalise.forget_values()  # the plaintext values the normalisers cached in this process
        report = _report(schema, writer, tally)
        _check_mapping(path, report, accept_columns)
        duplicates = _same_refs(path, schema, writer, np.frombuffer(b"".join(ref_hashes), dtype="<u8"),
                                np.frombuffer(b"".join(row_hashes), dtype="<u8"),
                                np.frombuffer(b"".join(lines), dtype="<u4"))
        writer.drop(duplicates)
        if writer.count - len(duplicates) == 0:
            why = "; ".join(f"{count} row(s): {reason}" for reason, count, _ in report.skipped)
            raise InputError(f"{path}: no usable record to import" + (f" ({why})" if why else ""))
        writer.finish(report.skipped_count)
    report.records = writer.count
    report.duplicates = (len(duplicates), sorted(int(lines_) for lines_ in
                                                 np.frombuffer(b"".join(lines), dtype="<u4")[duplicates])[:FIRST_LINES])
    return report


def _report(schema: Schema, writer: DatasetWriter, tally: Tally) -> ImportReport:
    per_column: dict[str, list[tuple[str, int, list[int]]]] = {}
    for (column, reason), (count, lines) in sorted(tally.dropped.items(), key=lambda kv: -kv[1][0]):
        per_column.setdefault(column, []).append((reason, count, lines))
    columns = []
    for j, (column, kind) in enumerate(schema.fields.items()):
        missing = tally.missing[j]
        columns.append(ColumnReport(column, kind, tally.rows - missing, missing, per_column.get(column, [])))
    skipped = [(reason, count, lines) for reason, (count, lines) in tally.skipped.items()]
    rows = tally.rows + sum(c for r, (c, _) in tally.skipped.items() if r != NOTHING_USABLE)
    return ImportReport(schema.name, writer.count, rows, skipped=skipped, columns=columns)


def _check_mapping(path: Path, report: ImportReport, accept_columns: Sequence[str]) -> None:
    for col in report.columns:
        bad = col.dropped_count
        if (col.column not in accept_columns and col.values >= MAPPING_CHECK_MIN
                and bad > MAPPING_CHECK_SHARE * col.values):
            reason = col.dropped[0][0]
            raise InputError(
                f"{path}: column {col.column!r}: {bad} of {col.values} values fail the {col.kind} check "
                f"({reason}): is it the right column for this kind? Fix the schema, or pass "
                f"--accept-column {col.column} to import the rest of its values anyway")


def _same_refs(path: Path, schema: Schema, writer: DatasetWriter, ref_hashes: np.ndarray,
               row_hashes: np.ndarray, lines: np.ndarray) -> list[int]:
    """Record numbers of rows that repeat an earlier row cell for cell with the same ref (one person seen twice:
    one record is kept). Raises InputError when a ref is on rows that differ, naming the lines."""
    if len(ref_hashes) < 2:
        return []
    order = np.argsort(ref_hashes, kind="stable")
    ordered = ref_hashes[order]
    same = ordered[1:] == ordered[:-1]
    if not same.any():
        return []
    in_group = np.zeros(len(order), dtype=bool)
    in_group[1:] |= same
    in_group[:-1] |= same
    candidates = sorted(int(r) for r in order[in_group])
    table = RecordRow.__table__  # type: ignore[attr-defined]
    by_ref: dict[str, list[int]] = {}
    for i in range(0, len(candidates), 1000):
        for rec_no, ref in writer.conn.execute(select(table.c.rec_no, table.c.ref).where(
                table.c.dataset_id == writer.dataset_id, table.c.rec_no.in_(candidates[i : i + 1000]))):
            by_ref.setdefault(ref, []).append(rec_no)
    repeated: list[int] = []
    conflicts: list[tuple[int, int]] = []
    for rec_nos in by_ref.values():
        rec_nos.sort()
        first = rec_nos[0]
        for other in rec_nos[1:]:
            if row_hashes[other] == row_hashes[first]:
                repeated.append(other)
            else:
                conflicts.append((int(lines[first]), int(lines[other])))
    if conflicts:
        conflicts.sort()
        where = "; ".join(f"lines {a} and {b}" for a, b in conflicts[:FIRST_LINES])
        more = f" and {len(conflicts) - FIRST_LINES} more" if len(conflicts) > FIRST_LINES else ""
        raise InputError(f"{path}: {len(conflicts)} ref(s) of column {schema.ref!r} name rows that differ "
                         f"({where}{more}): one ref must be one person. Fix the export; nothing was imported")
    return repeated


Batch = tuple[list[int], list[tuple[str, ...]]]
"""Line numbers, and the rows as tuples of the columns the schema reads (the ref first)."""


def _batches(path: Path, schema: Schema, columns: list[str],
             table: tuple[list[str], Iterator[tuple[int, list[str] | dict[str, str]]]],
             fh: IO[bytes], progress: Callable[[int], None] | None) -> Iterator[Batch]:
    header, rows = table
    pick: Callable[[Any], tuple[str, ...]]
    if header:  # CSV: rows are lists aligned on the header
        check_header(path, schema, header)
        where = {c: i for i, c in enumerate(header)}  # a repeated column: the last one, as a dict would
        index = [where[c] for c in columns]
        getter = itemgetter(*index)
        pick = getter if len(index) > 1 else (lambda row: (getter(row),))
    else:  # JSON Lines: rows are dicts; the first one's keys are checked as a header
        def pick(row: dict[str, str]) -> tuple[str, ...]:
            return tuple(row.get(c, "") for c in columns)
    lines: list[int] = []
    batch: list[tuple[str, ...]] = []
    checked = bool(header)
    for line, row in rows:
        if not checked:
            check_header(path, schema, row)  # type: ignore[arg-type]
            checked = True
        lines.append(line)
        batch.append(pick(row))
        if len(batch) >= BATCH_ROWS:
            yield lines, batch
            lines, batch = [], []
            if progress:
                progress(fh.tell())
    if batch:
        yield lines, batch
    if progress:
        progress(fh.tell())


def _fingerprint_all(master: bytes, schema: Schema, region: str, batches: Iterator[Batch],
                     strict: bool, row_key: bytes, workers: int) -> Iterator[Packed]:
    if workers <= 1:
        fp = RecordFingerprinter(master, schema, region, strict, row_key)
        for lines, rows in batches:
            yield fingerprint_batch(fp, lines, rows)
        return
    with parallel.process_pool(workers, _init_worker,
                               (master, schema.model_dump_json(), region, strict, row_key)) as pool:
        pending: deque[Future[Packed]] = deque()
        try:
            for lines, rows in batches:
                pending.append(pool.submit(_work, lines, rows))
                if len(pending) > workers + 1:
                    yield pending.popleft().result()
        except RowError:
            # The file is malformed further on: rows before it that are invalid are reported first.
            while pending:
                yield pending.popleft().result()
            raise
        while pending:
            yield pending.popleft().result()
