"""Several ``leakwatch run`` on one PostgreSQL: the work is shared, not repeated.

- **Source leases** (``source_lease``): one row per source holds who polls it (``holder``, until
  ``expires_at``) and when it is next due (``due_at``). An instance claims the due sources whose
  lease is free or lapsed in one ``UPDATE ... FOR UPDATE SKIP LOCKED``, renews the lease while the
  poll runs and, releasing it, moves ``due_at`` one interval on. So each source is polled once per
  interval however many instances run, and a killed instance's sources are taken over once its
  lease lapses (``cluster.lease`` seconds, a few renew periods).
- **Shared scan queue** (``scan_job``, ``scan_part``): a drop-folder text file over
  ``cluster.split_bytes`` is cut at line ends into parts; each part's scan starts a few proximity
  windows earlier (the overlap), so a record on a cut is read whole by one part. Any instance claims
  a queued part (``SKIP LOCKED``), scans it with its worker processes and marks it done with its
  findings (refs and field kinds, never a value). The instance that marks the last part folds the
  item once: the job row is locked while parts are counted, and the seen-item primary key refuses a
  second recording. A killed instance's parts go back to the queue when their lease lapses.
- **Heartbeats** (``instance``): each instance's row, for ``leakwatch status`` and the metrics.

Timestamps are the database's (``now()``): hosts' clocks need not agree. On SQLite (one instance)
none of this runs: the daemon schedules its sources itself, as before.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import os
import random
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Column, DateTime, UniqueConstraint, text
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel

from leakwatch import keys, log
from leakwatch.detection.documents import SAMPLE, detect_encoding
from leakwatch.detection.records import carry
from leakwatch.errors import ConfigError
from leakwatch.models import Item, ScanResult
from leakwatch.pipeline import Scanning, merge, scan_stream
from leakwatch.recording import SightingSink, record_item
from leakwatch.storage.store import as_utc, utcnow

if TYPE_CHECKING:
    from leakwatch.settings import ClusterSettings, Settings
    from leakwatch.sources.spec import SourceSpec


class Services(Scanning, Protocol):
    """What an instance sharing the database needs of the composition root (``app.Services``):
    the scanning members for the parts it scans, the engine, and the key (its check value)."""

    @property
    def engine(self) -> Engine: ...

    @property
    def master_key(self) -> bytes: ...

    @property
    def key_path(self) -> Path: ...


def _ts(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


class InstanceRow(SQLModel, table=True):
    """A running ``leakwatch run``: alive while its heartbeat is younger than ``cluster.lease``."""

    __tablename__ = "instance"
    id: str = Field(primary_key=True)
    """``host:pid:random``."""
    host: str = ""
    pid: int = 0
    started_at: dt.datetime | None = _ts()
    heartbeat_at: dt.datetime | None = _ts()
    key_check: str = ""
    """A one-way check value of the host's key (HMAC of a fixed label): instances holding different
    keys would each match nothing the others imported, so a mismatch stops the newcomer."""


class SourceLeaseRow(SQLModel, table=True):
    """Who polls a source now, and when it is next due."""

    __tablename__ = "source_lease"
    source: str = Field(primary_key=True)
    interval_seconds: float = 3600.0
    due_at: dt.datetime | None = _ts()
    holder: str | None = None
    expires_at: dt.datetime | None = _ts()
    last_poll_at: dt.datetime | None = _ts()
    """When the last poll started."""
    last_done_at: dt.datetime | None = _ts()
    last_holder: str | None = None
    polls: int = 0


class ScanJobRow(SQLModel, table=True):
    """A large item shared out in parts; folded once, when its last part is done."""

    __tablename__ = "scan_job"
    __table_args__ = (UniqueConstraint("source", "item_key"),)
    id: int | None = Field(default=None, primary_key=True)
    source: str
    item_key: str
    path: str
    name: str = ""
    sha256: str = ""
    size: int = 0
    parts: int = 0
    queued_at: dt.datetime | None = _ts()
    folded_at: dt.datetime | None = _ts()
    folded_by: str | None = None


class ScanPartRow(SQLModel, table=True):
    """Bytes ``scan_from``..``byte_to`` of a job's file (``byte_from`` is where the part proper starts)."""

    __tablename__ = "scan_part"
    job_id: int = Field(primary_key=True, foreign_key="scan_job.id")
    part_no: int = Field(primary_key=True)
    byte_from: int = 0
    byte_to: int = 0
    scan_from: int = 0
    head_from: int = 0
    head_to: int = 0
    """Bytes of the header (or SQL statement head) the part continues, read before it; none when equal."""
    tables: str = ""
    """``from-to`` byte spans, comma-separated, of the ``CREATE TABLE`` statements read before the part."""
    state: str = Field(default="queued", index=True)
    """``queued`` (free, or leased by ``holder`` until ``lease_until``) or ``done``."""
    holder: str | None = None
    lease_until: dt.datetime | None = _ts()
    attempts: int = 0
    findings: str | None = None
    queued_at: dt.datetime | None = _ts()
    done_at: dt.datetime | None = _ts()
    done_by: str | None = None


def key_check(master: bytes) -> str:
    return keys.derive(master, "_cluster", "key-check").hex()[:16]


MAX_ATTEMPTS = 5
"""A part taken this many times without being done (each holder killed, or the scan crashing) is
not taken again: ``leakwatch status`` counts it as stuck, rather than every instance retrying it."""

INSTANCE_ID = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def shared(engine: Engine) -> bool:
    """True when instances may share the database (PostgreSQL)."""
    return engine.dialect.name == "postgresql"




# ---- instances --------------------------------------------------------------------------------------

class Member:
    """This process as one of the instances sharing the database."""

    def __init__(self, services: Services, specs: list[SourceSpec]) -> None:
        self.services = services
        self.engine = services.engine
        self.conf = services.settings.cluster
        self.specs = {s.name: s for s in specs}
        self.id = INSTANCE_ID

    def join(self) -> None:
        """Register this instance and a lease row per source (a new source starts due, its phase
        spread by the daemon's jitter; an existing one keeps its schedule, its interval follows the
        definition)."""
        jitter = self.services.settings.daemon.jitter
        check = key_check(self.services.master_key)
        with self.engine.begin() as c:
            other = c.execute(text("SELECT id FROM instance WHERE key_check <> :k AND key_check <> '' "
                                   "AND heartbeat_at > now() - make_interval(secs => :lease) LIMIT 1"),
                              {"k": check, "lease": self.conf.lease}).scalar()
            if other is not None:
                raise ConfigError(f"{self.services.key_path}: this host's key differs from the key of instance "
                                  f"{other} on the same database: it would match nothing the others imported; "
                                  "give every host the same key (docs/deployment.md)")
            c.execute(text("INSERT INTO instance (id, host, pid, started_at, heartbeat_at, key_check) VALUES "
                           "(:id, :host, :pid, now(), now(), :k) ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()"),
                      {"id": self.id, "host": socket.gethostname(), "pid": os.getpid(), "k": check})
            for spec in self.specs.values():
                c.execute(text("INSERT INTO source_lease (source, interval_seconds, due_at, polls) "
                               "VALUES (:s, :iv, now() + make_interval(secs => :j), 0) "
                               "ON CONFLICT (source) DO UPDATE SET interval_seconds = EXCLUDED.interval_seconds"),
                          {"s": spec.name, "iv": spec.interval, "j": random.uniform(0, jitter)})
        log.event("joined", instance=self.id, sources=len(self.specs))

    def heartbeat(self) -> None:
        with self.engine.begin() as c:
            done = c.execute(text("UPDATE instance SET heartbeat_at = now() WHERE id = :id RETURNING id"),
                             {"id": self.id}).first()
            if done is None:
                c.execute(text("INSERT INTO instance (id, host, pid, started_at, heartbeat_at, key_check) "
                               "VALUES (:id, :host, :pid, now(), now(), :k)"),
                          {"id": self.id, "host": socket.gethostname(), "pid": os.getpid(),
                           "k": key_check(self.services.master_key)})
            c.execute(text("DELETE FROM instance WHERE heartbeat_at < now() - interval '1 day'"))

    def leave(self) -> None:
        """A clean stop: what this instance holds goes back at once, not after the lease lapses."""
        with self.engine.begin() as c:
            c.execute(text("UPDATE source_lease SET holder = NULL, expires_at = NULL WHERE holder = :me"),
                      {"me": self.id})
            c.execute(text("UPDATE scan_part SET holder = NULL, lease_until = NULL "
                           "WHERE holder = :me AND state = 'queued'"), {"me": self.id})
            c.execute(text("DELETE FROM instance WHERE id = :me"), {"me": self.id})

    # ---- source leases -----------------------------------------------------------------------------

    def claim_sources(self) -> list[str]:
        """The due sources whose lease is free or lapsed, now leased to this instance."""
        if not self.specs:
            return []
        with self.engine.begin() as c:
            rows = c.execute(text(
                "UPDATE source_lease AS l SET holder = :me, expires_at = now() + make_interval(secs => :lease), "
                "last_poll_at = now() FROM ("
                "  SELECT source, holder FROM source_lease WHERE source = ANY(:names) AND due_at <= now()"
                "  AND (holder IS NULL OR expires_at < now()) ORDER BY due_at FOR UPDATE SKIP LOCKED"
                ") AS due WHERE l.source = due.source RETURNING l.source, due.holder"),
                {"me": self.id, "lease": self.conf.lease, "names": list(self.specs)}).all()
        for source, before in rows:
            if before is not None and before != self.id:
                log.warning("lease_taken_over", source=source, instance=self.id, previous=before,
                            note="the previous holder stopped renewing (killed or stuck)")
        return [r[0] for r in rows]

    def renew_source(self, source: str) -> bool:
        with self.engine.begin() as c:
            done = c.execute(text("UPDATE source_lease SET expires_at = now() + make_interval(secs => :lease) "
                                  "WHERE source = :s AND holder = :me RETURNING source"),
                             {"s": source, "me": self.id, "lease": self.conf.lease}).first()
        return done is not None

    def release_source(self, source: str) -> None:
        """The poll is over: free the lease and move ``due_at`` to the next slot of its cadence
        after now (polls missed while a long poll ran are coalesced, as APScheduler did)."""
        with self.engine.begin() as c:
            c.execute(text(
                "UPDATE source_lease SET holder = NULL, expires_at = NULL, last_done_at = now(), "
                "last_holder = :me, polls = polls + 1, due_at = due_at + make_interval(secs => interval_seconds * "
                "(floor(extract(epoch FROM now() - due_at) / interval_seconds) + 1)) "
                "WHERE source = :s AND holder = :me"), {"s": source, "me": self.id})

    # ---- shared scan queue ------------------------------------------------------------------------

    def claim_part(self) -> Part | None:
        """A free part of an item of a source this instance has enabled (so a host without the
        drop folder's mount, which does not enable that source, leaves its parts to those that do)."""
        if not self.specs:
            return None
        with self.engine.begin() as c:
            row = c.execute(text(
                "UPDATE scan_part AS p SET holder = :me, lease_until = now() + make_interval(secs => :lease), "
                "attempts = p.attempts + 1 FROM ("
                "  SELECT p.job_id, p.part_no FROM scan_part p JOIN scan_job j ON j.id = p.job_id"
                "  WHERE p.state = 'queued' AND j.source = ANY(:names)"
                "  AND p.attempts < :tries AND (p.holder IS NULL OR p.lease_until < now())"
                "  ORDER BY p.job_id, p.part_no LIMIT 1"
                "  FOR UPDATE OF p SKIP LOCKED"
                ") AS free, scan_job AS j WHERE p.job_id = free.job_id AND p.part_no = free.part_no "
                "AND j.id = p.job_id RETURNING p.job_id, p.part_no, p.scan_from, p.byte_to, p.attempts, "
                "j.source, j.item_key, j.path, j.name, j.parts, p.head_from, p.head_to, p.tables"),
                {"me": self.id, "lease": self.conf.lease, "names": list(self.specs), "tries": MAX_ATTEMPTS}).first()
        if row is not None and row[4] == MAX_ATTEMPTS:
            log.warning("part_last_attempt", source=row[5], item=row[8], part=row[1], attempts=row[4],
                        note="scanned and lost this many times (killed instances or a crash): not retried after this")
        return Part(*row) if row is not None else None

    def renew_part(self, part: Part) -> bool:
        with self.engine.begin() as c:
            done = c.execute(text("UPDATE scan_part SET lease_until = now() + make_interval(secs => :lease) "
                                  "WHERE job_id = :j AND part_no = :p AND holder = :me AND state = 'queued' "
                                  "RETURNING job_id"),
                             {"j": part.job_id, "p": part.part_no, "me": self.id, "lease": self.conf.lease}).first()
        return done is not None

    def scan_part(self, part: Part) -> ScanResult:
        """Scan one part's bytes (overlap included) through the one scanning path."""
        item = Item(source=part.source, key=part.item_key, content=b"", name=part.name)
        with open(part.path, "rb") as fh:
            carried = carry.Carry()
            if part.head_to > part.head_from or part.tables:  # decoded as the whole file is (offer)
                encoding = detect_encoding(fh.read(SAMPLE))

                def read(a: int, b: int) -> str:
                    fh.seek(a)
                    return fh.read(b - a).decode(encoding, errors="replace")

                if part.head_to > part.head_from:
                    carried.head = read(part.head_from, part.head_to)
                spans = [span.split("-") for span in part.tables.split(",") if span]
                carried.schema = "".join(read(int(a), int(b)) + "\n" for a, b in spans)
            fh.seek(part.scan_from)
            return scan_stream(self.services, item, _Window(fh, part.byte_to - part.scan_from),
                               part.byte_to - part.scan_from, carried=carried)

    def complete_part(self, part: Part, result: ScanResult, sink: SightingSink | None) -> bool:
        """Mark the part done with its findings; the instance marking the last part folds the item
        (with its sighting and alerts) in the same transaction. True when this call folded it."""
        from leakwatch.sources.state import findings_from_json, findings_to_json

        with Session(self.engine, expire_on_commit=False) as s:
            s.execute(text("SELECT id FROM scan_job WHERE id = :j FOR UPDATE"), {"j": part.job_id})
            marked = s.execute(text(
                "UPDATE scan_part SET state = 'done', findings = :f, holder = NULL, lease_until = NULL, "
                "done_at = now(), done_by = :me WHERE job_id = :j AND part_no = :p AND state = 'queued' "
                "RETURNING job_id"),
                {"f": findings_to_json(result.findings, part.name), "me": self.id, "j": part.job_id,
                 "p": part.part_no}).first()
            if marked is None:  # done meanwhile by the taker of a lapsed lease: its result stands
                s.rollback()
                return False
            left = s.execute(text("SELECT count(*) FROM scan_part WHERE job_id = :j AND state <> 'done'"),
                             {"j": part.job_id}).scalar_one()
            job = s.get(ScanJobRow, part.job_id)
            if left or job is None or job.folded_at is not None:
                s.commit()
                return False
            item = Item(source=job.source, key=job.item_key, content=b"", name=job.name,
                        meta={"path": job.path, "sha256": job.sha256, "size": job.size})
            found = []
            for (data,) in s.execute(text("SELECT findings FROM scan_part WHERE job_id = :j ORDER BY part_no"),
                                     {"j": job.id}):
                found.extend(findings_from_json(data or "[]", item.target))
            merged = list(merge(found))
            folded = ScanResult(item, findings=merged, bytes_scanned=job.size)
            job.folded_at, job.folded_by = utcnow(), self.id
            s.add(job)
            recorded = record_item(s, job.source, job.item_key, job.sha256, item, folded,
                                   findings_to_json(merged, item.target), sink)
            s.commit()
        log.event("item_folded", source=job.source, parts=job.parts, findings=len(merged), recorded=recorded,
                  instance=self.id)
        self._move_done(job.source, item)
        return True

    def _move_done(self, source: str, item: Item) -> None:
        spec = self.specs.get(source)
        if spec is None or spec.driver != "folder" or not spec.params.get("done"):
            return
        from leakwatch.sources.folder import move_done

        move_done(self.services.settings.home, source, str(spec.params["done"]), item)


@dataclass(frozen=True)
class Part:
    job_id: int
    part_no: int
    scan_from: int
    byte_to: int
    attempts: int
    source: str
    item_key: str
    path: str
    name: str
    parts: int
    head_from: int = 0
    head_to: int = 0
    tables: str = ""


class _Window(io.RawIOBase):
    """``n`` bytes of a file from its current position."""

    def __init__(self, fh: io.BufferedReader, n: int) -> None:
        self.fh, self.left = fh, n

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        if size is None or size < 0 or size > self.left:
            size = self.left
        data = self.fh.read(size)
        self.left -= len(data)
        return data


# ---- queueing a large item ------------------------------------------------------------------------

def is_queued(engine: Engine, source: str, key: str) -> bool:
    """True when the item is already shared out in parts (being scanned, or folded)."""
    if not shared(engine):
        return False
    with engine.connect() as c:
        return c.execute(text("SELECT 1 FROM scan_job WHERE source = :s AND item_key = :k"),
                         {"s": source, "k": key}).first() is not None


def offer(engine: Engine, settings: Settings, item: Item) -> bool:
    """Queue a large text file in parts for every instance; False when it is scanned here whole
    (SQLite, small, an archive or UTF-16 text: those are not cut at byte offsets)."""
    from leakwatch.detection.archives import sniff
    from leakwatch.detection.documents import is_binary

    conf = settings.cluster
    size = int(item.meta.get("size") or 0)
    if not shared(engine) or size <= conf.split_bytes or "path" not in item.meta:
        return False
    path = Path(item.meta["path"])
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE)
    why = ("archive" if sniff(sample) else "binary" if is_binary(sample)
           else "utf-16 text" if detect_encoding(sample).startswith("utf-16") else None)
    if why is not None:
        log.event("not_split", source=item.source, item=item.name, why=why,
                  note="scanned whole by this instance")
        return False
    overlap = max(4 * settings.proximity, 4096)  # proximity counts characters, up to 4 bytes each
    parts = cut(path, size, conf.part_bytes, overlap)
    carried = part_carry(path, [(a, b) for a, b, _ in parts], detect_encoding(sample))
    with engine.begin() as c:
        job_id = c.execute(text(
            "INSERT INTO scan_job (source, item_key, path, name, sha256, size, parts, queued_at) "
            "VALUES (:s, :k, :path, :name, :sha, :size, :n, now()) ON CONFLICT (source, item_key) DO NOTHING "
            "RETURNING id"), {"s": item.source, "k": item.key, "path": str(path), "name": item.name or path.name,
                              "sha": item.meta["sha256"], "size": size, "n": len(parts)}).scalar()
        if job_id is None:
            return True  # queued meanwhile by another instance
        c.execute(text("INSERT INTO scan_part (job_id, part_no, byte_from, byte_to, scan_from, head_from, head_to, "
                       "tables, state, attempts, queued_at) "
                       "VALUES (:j, :p, :a, :b, :f, :hf, :ht, :t, 'queued', 0, now())"),
                  [{"j": job_id, "p": n, "a": a, "b": b, "f": f, "hf": hf, "ht": ht,
                    "t": ",".join(f"{x}-{y}" for x, y in tables)}
                   for n, ((a, b, f), ((hf, ht), tables)) in enumerate(zip(parts, carried, strict=True))])
    log.event("item_queued", source=item.source, item=item.name, bytes=size, parts=len(parts),
              note="shared out to every instance")
    return True


def cut(path: Path, size: int, part_bytes: int, overlap: int) -> list[tuple[int, int, int]]:
    """(start, end, scan_from) of each part: ends just after a line end (a line longer than a part
    stays whole), and each scan starts at the beginning of the line ``overlap`` bytes before the
    part, so a record across a cut is read whole by the part before or the part after."""
    bounds = [0]
    with path.open("rb") as fh:
        while bounds[-1] < size:
            pos = bounds[-1] + part_bytes
            if pos >= size:
                bounds.append(size)
                break
            fh.seek(pos)
            while True:
                block = fh.read(64 * 1024)
                if not block:
                    bounds.append(size)
                    break
                nl = block.find(b"\n")
                if nl >= 0:
                    bounds.append(pos + nl + 1)
                    break
                pos += len(block)
        parts = []
        for start, end in itertools.pairwise(bounds):
            scan_from = start
            if start > 0:
                back = max(0, start - overlap)
                fh.seek(max(0, back - 64 * 1024))
                window = fh.read(back - max(0, back - 64 * 1024))
                nl = window.rfind(b"\n")
                scan_from = back - len(window) + nl + 1 if nl >= 0 else back
            parts.append((start, end, scan_from))
    return parts


Span = tuple[int, int]


def part_carry(path: Path, bounds: list[Span], encoding: str) -> list[tuple[Span, list[Span]]]:
    """Per part, what it needs from the file before it (``records.carry``), as byte spans: the
    header row or SQL statement head it continues ((0, 0) for none), and the ``CREATE TABLE``
    statements seen so far. Found in one pass over the file, a part at a time, so that a part deep
    in a dump is read with its table's labels without reading back to its start."""
    out: list[tuple[Span, list[Span]]] = []
    head: tuple[str, int, int] | None = None
    tables: list[tuple[str, Span]] = []
    unfinished: tuple[str, int] | None = None  # a CREATE TABLE cut by the part's end, and where it starts

    def size(s: str) -> int:
        return len(s.encode(encoding, errors="replace"))

    with path.open("rb") as fh:
        for start, end in bounds:
            out.append(((head[1], head[2]) if head else (0, 0), [span for _, span in tables]))
            fh.seek(start)
            part = fh.read(end - start).decode(encoding, errors="replace")
            found = carry.opening(part, head[0] if head else None)
            if found is None:
                head = None
            elif head is None or found is not head[0]:
                at = start + size(part[: part.rfind(found)])
                head = (found, at, at + size(found))
            text, base = (unfinished[0] + part, unfinished[1]) if unfinished else (part, start)
            spans, cut = carry.creates(text)
            for i, j in spans:
                a = base + size(text[:i])
                tables.append((text[i:j] + "\n", (a, a + size(text[i:j]))))
                if unfinished and i == 0:  # begun before the part, ended in it: read before it too
                    out[-1][1].append(tables[-1][1])
            kept = carry.latest([statement for statement, _ in tables])
            tables = tables[len(tables) - len(kept):]
            unfinished = (text[cut:], base + size(text[:cut])) if cut is not None else None
    return out


# ---- status ---------------------------------------------------------------------------------------

def status(engine: Engine, conf: ClusterSettings, specs: list[SourceSpec]) -> dict[str, Any]:
    """Instances, their leases, the scan queue and each source's lag against its interval."""
    from leakwatch.sources.state import all_states

    now = utcnow()
    out: dict[str, Any] = {"database": engine.dialect.name, "instances": [], "queue": {},
                           "sources": []}
    leases: dict[str, SourceLeaseRow] = {}
    if shared(engine):
        with Session(engine) as s:
            from sqlmodel import select

            now = s.execute(text("SELECT now()")).scalar_one()  # the database's clock, as the leases use
            instances = list(s.exec(select(InstanceRow).order_by(InstanceRow.id)))
            leases = {row.source: row for row in s.exec(select(SourceLeaseRow))}
            parts = s.execute(text(
                "SELECT p.holder, p.lease_until, p.attempts, p.queued_at, j.source, j.name, p.job_id, p.part_no "
                "FROM scan_part p JOIN scan_job j ON j.id = p.job_id WHERE p.state = 'queued'")).all()
        for inst in instances:
            beat = as_utc(inst.heartbeat_at)
            alive = beat is not None and (now - beat).total_seconds() <= conf.lease
            out["instances"].append({
                "id": inst.id, "host": inst.host, "pid": inst.pid, "alive": alive, "key_check": inst.key_check,
                "heartbeat_age": round((now - beat).total_seconds(), 1) if beat else None,
                "sources": sorted(r.source for r in leases.values()
                                  if r.holder == inst.id and (as_utc(r.expires_at) or now) >= now),
                "parts": sum(1 for p in parts if p[0] == inst.id and (as_utc(p[1]) or now) >= now)})
        oldest = min((as_utc(p[3]) for p in parts if p[3] is not None), default=None)  # type: ignore[type-var]
        held = [p[0] is not None and (as_utc(p[1]) or now) >= now for p in parts]
        leased = sum(held)
        stuck = sum(1 for p, h in zip(parts, held, strict=True) if p[2] >= MAX_ATTEMPTS and not h)
        out["queue"] = {"parts": len(parts), "leased": leased, "waiting": len(parts) - leased - stuck, "stuck": stuck,
                        "items": len({p[6] for p in parts}),
                        "oldest_seconds": round((now - oldest).total_seconds(), 1) if oldest else 0.0}
    states = all_states(engine)
    for spec in specs:
        lease = leases.get(spec.name)
        state = states.get(spec.name)
        last = as_utc(state.last_run_at) if state else None
        if lease is not None and lease.due_at is not None:
            due = as_utc(lease.due_at)
            assert due is not None
            holder = lease.holder if (as_utc(lease.expires_at) or now) >= now else None
        else:
            due = last + dt.timedelta(seconds=spec.interval) if last else None
            holder = None
        lag = max(0.0, (now - due).total_seconds()) if due else None
        out["sources"].append({"source": spec.name, "interval": spec.interval, "holder": holder,
                               "last_poll": last.isoformat() if last else None,
                               "next_due": due.isoformat() if due else None,
                               "lag_seconds": round(lag, 1) if lag is not None else None,
                               "polls": lease.polls if lease else None})
    return out
