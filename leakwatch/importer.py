"""``fingerprints import``: streams a CSV or JSON Lines file, normalises each field, and stores
only keyed fingerprints and the reference, in one transaction.

Plaintext lives only in this process's memory (and its worker processes', through pipes) while a
row is being fingerprinted; it is never written anywhere.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import struct
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.engine import Connection, Engine

from leakwatch import normalise, parallel, store
from leakwatch.documents import detect_encoding
from leakwatch.errors import InputError
from leakwatch.fingerprints import BLOCK_KIND, GLOBAL_KINDS, KNOWN_NAME_KINDS, Hasher, block_keys, encode_scoped
from leakwatch.normalise import InvalidValue, qgrams
from leakwatch.schema import Schema
from leakwatch.store import DatasetRow, FingerprintChunk, RecordRow, utcnow

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

    def __init__(self, master: bytes, schema: Schema, region: str) -> None:
        self.schema = schema
        self.region = region
        self.hasher = Hasher(master, schema.name)
        self.columns: list[str] = [schema.ref, *(c for c in schema.fields if c != schema.ref)]
        pos = {c: i for i, c in enumerate(self.columns)}
        h = self.hasher
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
        self._global = h._global
        self._exact = h._exact
        self._gram = h._gram
        self._headers: dict[tuple[str, int], bytes] = {}
        self._known: dict[str, dict[str, bytes]] = {kind: {} for kind in KNOWN_NAME_KINDS}

    def fingerprint(self, line: int, row: dict[str, str]) -> Fingerprinted:
        values = tuple("" if (v := row.get(c)) is None else str(v) for c in self.columns)
        ref, salt, scoped, global_fps = self._fingerprint(line, values, os.urandom(16))
        return Fingerprinted(ref, salt, scoped,
                             [(kind, int.from_bytes(d, "little")) for kind, d in global_fps])

    def _fingerprint(self, line: int, values: Sequence[str], salt: bytes
                     ) -> tuple[str, bytes, bytes, list[tuple[str, bytes]]]:
        """(ref, salt, packed scoped fingerprints, [(kind, 8-byte little-endian global fp)])."""
        ref = values[0].strip()
        if not ref:
            raise RowError(line, f"column {self.schema.ref!r} (ref) is empty")
        global_fps: list[tuple[str, bytes]] = []
        scoped: dict[str, bytes] = {}
        names: dict[str, str] = {}
        birth: str | None = None
        for i, column, action, kind, norm, cache in self._plan:
            raw = values[i]
            if not raw or raw.isspace():
                continue
            value = cache.get(raw) if cache is not None else None
            if value is None:
                try:
                    value = norm(raw)
                except InvalidValue as exc:
                    raise RowError(line, f"column {column!r}: {exc}") from None
                if cache is not None:
                    if len(cache) >= self.CACHE_LIMIT:
                        cache.clear()
                    cache[raw] = value
            if action == _GLOBAL:
                g = self._global[kind].copy()
                g.update(value.encode())
                global_fps.append((kind, g.digest()))
            elif action == _NAME:
                if kind in scoped:
                    continue  # a second column of the same kind: the first one is the record's name
                scoped[kind] = self._scoped_qgrams(kind, salt, value)
                names[kind] = value
                if kind == "first_name":
                    scoped["first_initial"] = self._scoped_exact("first_initial", salt, value[0])
            elif action == _DATE:
                if birth is None:
                    birth = value
                    scoped["date"] = self._scoped_exact("date", salt, value)
            else:
                scoped[kind] = self._scoped_exact(kind, salt, value)
        if birth and len(names) == 2:
            state = self._global[BLOCK_KIND]
            for key in block_keys(birth, names["last_name"], names["first_name"]):
                g = state.copy()
                g.update(key.encode())
                global_fps.append((BLOCK_KIND, g.digest()))
        if not global_fps:
            raise RowError(line, "no identifier, and not last name + first name + date, in this row")
        for kind, value in names.items():
            global_fps.append(self._known_name(kind, value))
        # The same bytes as encode_scoped(scoped), with the per-kind headers packed once.
        headers = self._headers
        parts = []
        for kind, blob in scoped.items():
            header = headers.get((kind, len(blob)))
            if header is None:
                header = headers[(kind, len(blob))] = encode_scoped({kind: b""})[:1] + struct.pack("<H", len(blob))
            parts.append(header)
            parts.append(blob)
        return ref, salt, b"".join(parts), global_fps

    def _known_name(self, kind: str, normal_name: str) -> tuple[str, bytes]:
        """The known-name fingerprint of a normal name (names repeat: cached)."""
        known = KNOWN_NAME_KINDS[kind]
        cache = self._known[kind]
        digest = cache.get(normal_name)
        if digest is None:
            if len(cache) >= self.CACHE_LIMIT:
                cache.clear()
            g = self._global[known].copy()
            g.update(normal_name.encode())
            digest = cache[normal_name] = g.digest()
        return known, digest

    def _scoped_exact(self, kind: str, salt: bytes, value: str) -> bytes:
        h = self._exact[kind].copy()
        h.update(salt + value.encode())
        return h.digest()

    def _scoped_qgrams(self, kind: str, salt: bytes, normal_name: str) -> bytes:
        """``Hasher.scoped_qgrams``, slicing the encoded name once when it is ASCII."""
        state = self._gram[kind].copy()
        state.update(salt)
        padded = f" {normal_name} "
        out = []
        if padded.isascii():
            data = padded.encode()
            for i in range(len(data) - 1):
                h = state.copy()
                h.update(data[i : i + 2])
                out.append(h.digest())
        else:
            for gram in qgrams(normal_name):
                h = state.copy()
                h.update(gram.encode())
                out.append(h.digest())
        return b"".join(out)


_GLOBAL, _DATE, _NAME, _EXACT = range(4)
_KNOWN_NAMES = frozenset(KNOWN_NAME_KINDS.values())
_CACHED_KINDS = frozenset({"last_name", "first_name", "date", "postcode", "city"})


@dataclass
class Packed:
    """A batch of fingerprinted records, packed to cross a pipe cheaply: refs, the records' 16-byte
    salts in one blob, scoped blobs, and per global kind the little-endian uint64 fingerprints with
    the uint32 index (within this batch) of the record each belongs to."""

    refs: list[str]
    salts: bytes
    scoped: list[bytes]
    global_fps: dict[str, tuple[bytes, bytes]]
    errors: list[tuple[int, str]]


def fingerprint_batch(fp: RecordFingerprinter, lines: Sequence[int], rows: Sequence[Sequence[str]],
                      skip_invalid: bool) -> Packed:
    """Fingerprint rows given as tuples of ``fp.columns``; without ``skip_invalid`` stops at the
    first bad row (its error is the only one returned)."""
    refs: list[str] = []
    scoped: list[bytes] = []
    salts = os.urandom(16 * len(rows))
    used: list[bytes] = []
    hashes: dict[str, list[bytes]] = {}
    recs: dict[str, list[int]] = {}
    errors: list[tuple[int, str]] = []
    one = fp._fingerprint
    for j, (line, values) in enumerate(zip(lines, rows, strict=True)):
        salt = salts[16 * j : 16 * j + 16]
        try:
            ref, _, blob, global_fps = one(line, values, salt)
        except RowError as exc:
            errors.append((exc.line, exc.reason))
            if not skip_invalid:
                break
            continue
        n = len(refs)
        refs.append(ref)
        used.append(salt)
        scoped.append(blob)
        for kind, digest in global_fps:
            hs = hashes.get(kind)
            if hs is None:
                hs = hashes[kind] = []
                recs[kind] = []
            hs.append(digest)
            recs[kind].append(n)
    return Packed(refs, b"".join(used), scoped,
                  {k: (b"".join(v), np.array(recs[k], dtype="<u4").tobytes()) for k, v in hashes.items()}, errors)


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
    if b"\x00" in sample[:8192] and not sample.startswith((b"\xff\xfe", b"\xfe\xff")):
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
    reader = csv.reader(text, dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{path}: empty file") from None
    except csv.Error as exc:
        raise RowError(reader.line_num, f"malformed CSV: {exc}") from None
    return reader, [h.strip().lstrip("\ufeff") for h in header]


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


def check_header(path: Path, schema: Schema, first: dict[str, str]) -> None:
    missing = [c for c in (schema.ref, *schema.fields) if c not in first]
    if missing:
        raise InputError(f"{path}:1: column(s) {', '.join(map(repr, missing))} named in the schema "
                         f"are not in the file (found: {', '.join(map(repr, first))})")


# ---- workers ----------------------------------------------------------------------------

_worker: RecordFingerprinter | None = None


def _init_worker(master: bytes, schema_json: str, region: str) -> None:
    global _worker
    _worker = RecordFingerprinter(master, Schema.model_validate_json(schema_json), region)


def _work(lines: list[int], rows: list[tuple[str, ...]], skip_invalid: bool) -> Packed:
    assert _worker is not None
    return fingerprint_batch(_worker, lines, rows, skip_invalid)


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
    count: int = 0
    _hashes: dict[str, list[np.ndarray]] = field(default_factory=dict)
    _recs: dict[str, list[np.ndarray]] = field(default_factory=dict)
    dataset_id: int = 0

    def __post_init__(self) -> None:
        table = DatasetRow.__table__  # type: ignore[attr-defined]
        old = self.conn.execute(select(table.c.id).where(table.c.name == self.name)).scalar()
        if old is not None:
            store.delete_dataset_rows(self.conn, old)
        self.dataset_id = self.conn.execute(insert(table).values(
            name=self.name, purpose=self.purpose, label=self.label, ref_field=self.ref_field,
            kinds=",".join(self.schema_kinds), record_count=0, skipped_rows=0, imported_at=utcnow(),
            source_name=self.source_name,
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

    def finish(self, skipped: int = 0) -> None:
        for kind in list(self._hashes):  # one kind at a time, each kind's parts freed once joined
            h = np.concatenate(self._hashes.pop(kind))
            r = np.concatenate(self._recs.pop(kind))
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
        self.conn.execute(table.update().where(table.c.id == self.dataset_id).values(
            record_count=self.count, skipped_rows=skipped))


@dataclass
class ImportReport:
    dataset: str
    records: int
    skipped: list[tuple[int, str]]


def import_file(engine: Engine, master: bytes, schema: Schema, path: Path, region: str,
                skip_invalid: bool = False, workers: int = 1,
                progress: Callable[[int], None] | None = None) -> ImportReport:
    """Import ``path`` as dataset ``schema.name`` in one transaction; any error leaves the database
    as it was."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    columns = [schema.ref, *(c for c in schema.fields if c != schema.ref)]
    with fh, engine.begin() as conn:
        writer = DatasetWriter(conn, schema.name, schema.kinds, schema.ref, source_name=path.name)
        skipped: list[tuple[int, str]] = []
        batches = _batches(path, schema, columns, read_table(path, fh), fh, progress)
        packs = _fingerprint_all(master, schema, region, batches, skip_invalid, workers)
        try:
            for packed in packs:
                if packed.errors and not skip_invalid:
                    line, reason = packed.errors[0]
                    raise InputError(f"{path}:{line}: {reason}")
                skipped.extend(packed.errors)
                writer.add_packed(packed)
        except RowError as exc:
            raise InputError(f"{path}:{exc.line}: {exc.reason}") from None
        finally:  # a failed or interrupted import (SIGTERM, Ctrl-C) stops its workers now, not at exit
            packs.close()
        if writer.count == 0:
            raise InputError(f"{path}: no valid record to import")
        writer.finish(len(skipped))
    return ImportReport(schema.name, writer.count, skipped)


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
                     skip_invalid: bool, workers: int) -> Iterator[Packed]:
    if workers <= 1:
        fp = RecordFingerprinter(master, schema, region)
        for lines, rows in batches:
            yield fingerprint_batch(fp, lines, rows, skip_invalid)
        return
    with parallel.process_pool(workers, _init_worker, (master, schema.model_dump_json(), region)) as pool:
        pending: deque[Future[Packed]] = deque()
        try:
            for lines, rows in batches:
                pending.append(pool.submit(_work, lines, rows, skip_invalid))
                if len(pending) > workers + 1:
                    yield pending.popleft().result()
        except RowError:
            # The file is malformed further on: rows before it that are invalid are reported first.
            while pending:
                yield pending.popleft().result()
            raise
        while pending:
            yield pending.popleft().result()
