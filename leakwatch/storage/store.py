"""The storage base: engine, session, ``utcnow``/``as_utc``, and the dataset tables with small queries.

Fingerprints are stored as packed arrays (``FingerprintChunk``): the scanner loads them once into
sorted numpy arrays, so neither import nor scan pays for millions of rows. Tables of other parts
(sources, incidents, alerts) live in their own modules and share ``SQLModel.metadata``; this module
imports none of them. The schema is made and versioned by migrations (``dbschema``), not here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Column, LargeBinary, event, text
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import OperationalError
from sqlmodel import Field, Session, SQLModel, create_engine, delete, select


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """An aware UTC datetime: a naive one (SQLite gives them back) is taken as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class DatasetRow(SQLModel, table=True):
    __tablename__ = "dataset"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    purpose: str = "records"
    """``records`` for the organisation's data, ``canary`` for planted canary records."""
    label: str | None = None
    ref_field: str = ""
    kinds: str = ""
    """Comma-separated kinds the schema declares (``nir,email,last_name``)."""
    record_count: int = 0
    skipped_rows: int = 0
    imported_at: dt.datetime = Field(default_factory=utcnow)
    source_name: str = ""
    key_version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    """The key version (``leakwatch key list``) the fingerprints were made under."""
    key_id: str | None = None
    """The short id of that key version, for messages (see ``keys.Key.key_id``)."""
    key_check: str | None = None
    """``keys.Key.check`` of that key version: a MAC of a fixed label, never the key. None for a
    dataset imported before key checks existed."""

    @property
    def kind_list(self) -> list[str]:
        return [k for k in self.kinds.split(",") if k]


class RecordRow(SQLModel, table=True):
    """One protected record: the organisation's own reference, a random salt and record-scoped
    fingerprints of its quasi-identifiers (names, postcode, city). No plaintext value."""

    __tablename__ = "record"
    dataset_id: int = Field(primary_key=True, foreign_key="dataset.id")
    rec_no: int = Field(primary_key=True)
    ref: str
    salt: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    scoped: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class FingerprintChunk(SQLModel, table=True):
    """A packed run of global fingerprints of one kind: little-endian uint64 hashes and, aligned,
    uint32 record numbers."""

    __tablename__ = "fingerprint_chunk"
    dataset_id: int = Field(primary_key=True, foreign_key="dataset.id")
    kind: str = Field(primary_key=True)
    chunk_no: int = Field(primary_key=True)
    hashes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    rec_nos: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


def _sqlite_pragmas(busy_timeout: float):  # type: ignore[no-untyped-def]
    def on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    return on_connect


def make_engine(url: str, busy_timeout: float = 30.0) -> Engine:
    """An engine for SQLite (file created 0600) or PostgreSQL. Creates no table: ``dbschema`` checks
    the schema's version and upgrades it. SQLite waits ``busy_timeout`` seconds for another process's
    lock, then raises an OperationalError that ``is_busy`` recognises (``busy`` words it)."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.touch(mode=0o600)
        engine = create_engine(url, connect_args={"timeout": busy_timeout})
        event.listen(engine, "connect", _sqlite_pragmas(busy_timeout))
    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


def is_busy(exc: BaseException) -> bool:
    """SQLite's "database is locked" (past busy_timeout) or PostgreSQL's lock_timeout."""
    if not isinstance(exc, OperationalError):
        return False
    orig = exc.orig
    message = str(orig).lower()
    return ("database is locked" in message or "database table is locked" in message
            or getattr(orig, "sqlstate", None) == "55P03")


def safe_url(url: str) -> str:
    """The URL without a password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url


@contextmanager
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


def datasets(engine: Engine, purpose: str | None = None) -> list[DatasetRow]:
    with session(engine) as s:
        query = select(DatasetRow).order_by(DatasetRow.name)
        if purpose:
            query = query.where(DatasetRow.purpose == purpose)
        return list(s.exec(query))


def dataset_by_name(engine: Engine, name: str) -> DatasetRow | None:
    with session(engine) as s:
        return s.exec(select(DatasetRow).where(DatasetRow.name == name)).first()


def delete_dataset_rows(conn: Connection | Session, dataset_id: int) -> None:
    """A dataset's fingerprints, records and row, inside the caller's transaction."""
    chunk, record, dataset = FingerprintChunk.__table__, RecordRow.__table__, DatasetRow.__table__  # type: ignore[attr-defined]
    conn.execute(delete(chunk).where(chunk.c.dataset_id == dataset_id))
    conn.execute(delete(record).where(record.c.dataset_id == dataset_id))
    conn.execute(delete(dataset).where(dataset.c.id == dataset_id))


def delete_dataset(engine: Engine, name: str, also: Callable[[Connection, Row[Any]], None] | None = None) -> bool:
    """Delete dataset ``name``; ``also(conn, row)`` (its id, purpose, record count and key version)
    runs in the same transaction: the audit entry (``audit.delete_dataset``)."""
    with engine.begin() as conn:
        table = DatasetRow.__table__  # type: ignore[attr-defined]
        row = conn.execute(select(table.c.id, table.c.purpose, table.c.record_count, table.c.key_version)
                           .where(table.c.name == name)).first()
        if row is None:
            return False
        delete_dataset_rows(conn, row.id)
        if also is not None:
            also(conn, row)
        return True


def chunks(engine: Engine, dataset_id: int) -> list[FingerprintChunk]:
    with session(engine) as s:
        query = select(FingerprintChunk).where(FingerprintChunk.dataset_id == dataset_id)
        return list(s.exec(query.order_by(FingerprintChunk.kind, FingerprintChunk.chunk_no)))


class StoredRecord(NamedTuple):
    ref: str
    salt: bytes
    scoped: bytes


def records(engine: Engine, dataset_id: int, rec_nos: Iterable[int]) -> dict[int, StoredRecord]:
    """Records by number, read as plain rows: a scan of a dump of the organisation's own records
    fetches one per row, and building ORM objects cost more than the query."""
    wanted = sorted(set(rec_nos))
    out: dict[int, StoredRecord] = {}
    columns = (RecordRow.rec_no, RecordRow.ref, RecordRow.salt, RecordRow.scoped)
    with engine.connect() as conn:
        for i in range(0, len(wanted), 500):
            batch = wanted[i : i + 500]
            query = select(*columns).where(RecordRow.dataset_id == dataset_id,
                                           RecordRow.rec_no.in_(batch))  # type: ignore[attr-defined]
            out.update((rec_no, StoredRecord(ref, salt, scoped))
                       for rec_no, ref, salt, scoped in conn.execute(query).all())
    return out


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
