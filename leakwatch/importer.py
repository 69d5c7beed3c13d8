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
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection, Engine

from leakwatch import normalise
from leakwatch.documents import detect_encoding
from leakwatch.errors import InputError
from leakwatch.fingerprints import BLOCK_KIND, GLOBAL_KINDS, Hasher, block_keys, encode_scoped
from leakwatch.normalise import InvalidValue
from leakwatch.schema import Schema
from leakwatch.store import DatasetRow, FingerprintChunk, RecordRow, utcnow

CHUNK_ENTRIES = 1 << 20
BATCH_ROWS = 5000
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
    """Normalises one row's fields and turns them into fingerprints. Raises RowError (no value in it)."""

    def __init__(self, master: bytes, schema: Schema, region: str) -> None:
        self.schema = schema
        self.region = region
        self.hasher = Hasher(master, schema.name)

    def fingerprint(self, line: int, row: dict[str, str]) -> Fingerprinted:
        ref = (row.get(self.schema.ref) or "").strip()
        if not ref:
            raise RowError(line, f"column {self.schema.ref!r} (ref) is empty")
        salt = os.urandom(16)
        global_fps: list[tuple[str, int]] = []
        scoped: dict[str, bytes] = {}
        h = self.hasher
        names: dict[str, str] = {}
        birth: str | None = None
        for column, kind in self.schema.fields.items():
            raw = row.get(column)
            if raw is None or not str(raw).strip():
                continue
            try:
                value = normalise.normalise(kind, str(raw), self.region)
            except InvalidValue as exc:
                raise RowError(line, f"column {column!r}: {exc}") from None
            if kind in GLOBAL_KINDS:
                global_fps.append((kind, h.global_fp(kind, value)))
            elif kind == "date":
                if birth is None:
                    birth = value
                    scoped["date"] = h.scoped_exact("date", salt, value)
            elif kind in ("last_name", "first_name"):
                if kind in scoped:
                    continue  # a second column of the same kind: the first one is the record's name
                scoped[kind] = h.scoped_qgrams(kind, salt, value)
                names[kind] = value
                if kind == "first_name":
                    scoped["first_initial"] = h.scoped_exact("first_initial", salt, value[0])
            else:
                scoped[kind] = h.scoped_exact(kind, salt, value)
        if birth and len(names) == 2:
            for key in block_keys(birth, names["last_name"], names["first_name"]):
                global_fps.append((BLOCK_KIND, h.global_fp(BLOCK_KIND, key)))
        if not global_fps:
            raise RowError(line, "no identifier, and not last name + first name + date, in this row")
        return Fingerprinted(ref, salt, encode_scoped(scoped), global_fps)


# ---- reading ----------------------------------------------------------------------------

def read_rows(path: Path, fh: IO[bytes]) -> Iterator[Row]:
    """Rows of a CSV (delimiter sniffed, header row) or JSON Lines file."""
    sample = fh.read(64 * 1024)
    fh.seek(0)
    if b"\x00" in sample[:8192] and not sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{path}: binary file, expected CSV or JSON Lines")
    encoding = detect_encoding(sample)
    text = io.TextIOWrapper(fh, encoding=encoding, errors="strict", newline="")
    first = sample.decode(encoding, errors="ignore").lstrip("\ufeff").lstrip()
    try:
        if path.suffix.lower() in (".jsonl", ".ndjson", ".json") or first.startswith("{"):
            yield from _json_rows(path, text)
        else:
            yield from _csv_rows(path, text, sample.decode(encoding, errors="ignore"))
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
        if not isinstance(obj, dict):
            raise RowError(line_no, "expected a JSON object per line")
        yield line_no, {k: "" if v is None else str(v) for k, v in obj.items()}


def _csv_rows(path: Path, text: io.TextIOWrapper, sample: str) -> Iterator[Row]:
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
    header = [h.strip().lstrip("\ufeff") for h in header]
    width = len(header)
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != width:
                raise RowError(reader.line_num, f"expected {width} fields, found {len(row)}")
            yield reader.line_num, dict(zip(header, row, strict=True))
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


def _work(batch: list[Row], skip_invalid: bool) -> tuple[list[Fingerprinted], list[RowError]]:
    assert _worker is not None
    return fingerprint_batch(_worker, batch, skip_invalid)


def fingerprint_batch(fp: RecordFingerprinter, batch: list[Row], skip_invalid: bool
                      ) -> tuple[list[Fingerprinted], list[RowError]]:
    out: list[Fingerprinted] = []
    errors: list[RowError] = []
    for line, row in batch:
        try:
            out.append(fp.fingerprint(line, row))
        except RowError as exc:
            if not skip_invalid:
                return out, [exc]
            errors.append(exc)
    return out, errors


# ---- writing ----------------------------------------------------------------------------

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
    _hashes: dict[str, list[int]] = field(default_factory=dict)
    _recs: dict[str, list[int]] = field(default_factory=dict)
    dataset_id: int = 0

    def __post_init__(self) -> None:
        table = DatasetRow.__table__  # type: ignore[attr-defined]
        old = self.conn.execute(select(table.c.id).where(table.c.name == self.name)).scalar()
        if old is not None:
            self.conn.execute(delete(FingerprintChunk.__table__).where(  # type: ignore[attr-defined]
                FingerprintChunk.__table__.c.dataset_id == old))  # type: ignore[attr-defined]
            self.conn.execute(delete(RecordRow.__table__).where(  # type: ignore[attr-defined]
                RecordRow.__table__.c.dataset_id == old))  # type: ignore[attr-defined]
            self.conn.execute(delete(table).where(table.c.id == old))
        self.dataset_id = self.conn.execute(insert(table).values(
            name=self.name, purpose=self.purpose, label=self.label, ref_field=self.ref_field,
            kinds=",".join(self.schema_kinds), record_count=0, skipped_rows=0, imported_at=utcnow(),
            source_name=self.source_name,
        )).inserted_primary_key[0]

    def add(self, records: list[Fingerprinted]) -> None:
        rows = []
        for rec in records:
            rec_no = self.count
            self.count += 1
            rows.append({"dataset_id": self.dataset_id, "rec_no": rec_no, "ref": rec.ref,
                         "salt": rec.salt, "scoped": rec.scoped})
            for kind, h in rec.global_fps:
                self._hashes.setdefault(kind, []).append(h)
                self._recs.setdefault(kind, []).append(rec_no)
        if rows:
            self.conn.execute(insert(RecordRow.__table__), rows)  # type: ignore[attr-defined]

    def finish(self, skipped: int = 0) -> None:
        for kind, hashes in self._hashes.items():
            h = np.array(hashes, dtype="<u8")
            r = np.array(self._recs[kind], dtype="<u4")
            order = np.argsort(h, kind="stable")
            h, r = h[order], r[order]
            rows = [{"dataset_id": self.dataset_id, "kind": kind, "chunk_no": i // CHUNK_ENTRIES,
                     "hashes": h[i : i + CHUNK_ENTRIES].tobytes(), "rec_nos": r[i : i + CHUNK_ENTRIES].tobytes()}
                    for i in range(0, len(h), CHUNK_ENTRIES)]
            self.conn.execute(insert(FingerprintChunk.__table__), rows)  # type: ignore[attr-defined]
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
    with fh, engine.begin() as conn:
        writer = DatasetWriter(conn, schema.name, schema.kinds, schema.ref, source_name=path.name)
        skipped: list[tuple[int, str]] = []
        batches = _batches(path, schema, read_rows(path, fh), fh, progress)
        try:
            for records, errors in _fingerprint_all(master, schema, region, batches, skip_invalid, workers):
                if errors and not skip_invalid:
                    raise InputError(f"{path}:{errors[0].line}: {errors[0].reason}")
                skipped.extend((e.line, e.reason) for e in errors)
                writer.add(records)
        except RowError as exc:
            raise InputError(f"{path}:{exc.line}: {exc.reason}") from None
        if writer.count == 0:
            raise InputError(f"{path}: no valid record to import")
        writer.finish(len(skipped))
    return ImportReport(schema.name, writer.count, skipped)


def _batches(path: Path, schema: Schema, rows: Iterator[Row], fh: IO[bytes],
             progress: Callable[[int], None] | None) -> Iterator[list[Row]]:
    batch: list[Row] = []
    checked = False
    for line, row in rows:
        if not checked:
            check_header(path, schema, row)
            checked = True
        batch.append((line, row))
        if len(batch) >= BATCH_ROWS:
            yield batch
            batch = []
            if progress:
                progress(fh.tell())
    if batch:
        yield batch
    if progress:
        progress(fh.tell())


def _fingerprint_all(master: bytes, schema: Schema, region: str, batches: Iterator[list[Row]],
                     skip_invalid: bool, workers: int
                     ) -> Iterator[tuple[list[Fingerprinted], list[RowError]]]:
    if workers <= 1:
        fp = RecordFingerprinter(master, schema, region)
        for batch in batches:
            yield fingerprint_batch(fp, batch, skip_invalid)
        return
    with ProcessPoolExecutor(workers, initializer=_init_worker,
                             initargs=(master, schema.model_dump_json(), region)) as pool:
        pending = []
        for batch in batches:
            pending.append(pool.submit(_work, batch, skip_invalid))
            if len(pending) >= workers * 2:
                yield pending.pop(0).result()
        for fut in pending:
            yield fut.result()
