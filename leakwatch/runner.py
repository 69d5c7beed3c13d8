"""``run_source``: one poll of one source. List new refs, fetch each, scan it through
``pipeline.scan_item``, and record it in one transaction with the sink's sighting.

Crash safety: an item is marked seen (key, content hash, cursor) in the same transaction as its
sighting, so a stop mid-item leaves it unseen (done again after a restart) or fully recorded.
The same content met again, on any source, is not scanned twice: the findings it gave (refs and
field kinds, never values) are kept per content hash and recorded as a new sighting.

``run_source`` never raises for a source's failure: the error goes into the report, the state and
the source's health; going to failing and recovering reach ``sink.health_changed`` once each.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import traceback
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session

from leakwatch import cluster
from leakwatch.display import duration
from leakwatch.errors import LeakwatchError
from leakwatch.log import event as log_event
from leakwatch.metrics import Metrics, skip_reason
from leakwatch.models import Finding, Item, ItemRef, ScanResult
from leakwatch.pipeline import Scanning, scan_item, scan_stream
from leakwatch.recording import SightingSink, record_item
from leakwatch.sources import DRIVERS, http
from leakwatch.sources.base import Driver, SourceContext, sha256
from leakwatch.sources.health import DEGRADED, FAILING, Health, SourceProblem, Transition, after_poll, blocked_page
from leakwatch.sources.http import FetchError, HttpClient
from leakwatch.sources.spec import SourceSpec
from leakwatch.sources.state import (
    ContentScanRow,
    SourceState,
    findings_from_json,
    findings_to_json,
    load_state,
    state_row,
)
from leakwatch.storage.store import as_utc, utcnow

log = logging.getLogger("leakwatch.runner")


class Services(Scanning, Protocol):
    """What a run needs of the composition root (``app.Services``): this layer does not import it."""

    @property
    def engine(self) -> Engine: ...

    @property
    def content_inflight(self) -> dict[str, list[Any]]: ...

    @property
    def metrics(self) -> Metrics: ...

    def refresh(self) -> bool: ...

    def http_client(self) -> HttpClient: ...


@dataclass
class ItemOutcome:
    key: str
    title: str | None
    url: str | None
    findings: list[Finding] = field(default_factory=list)
    duplicate: bool = False
    skipped: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "url": self.url, "duplicate": self.duplicate,
                "skipped": self.skipped, "findings": [f.to_json() | {"target": f.target} for f in self.findings]}


@dataclass
class RunReport:
    source: str
    listed: int = 0
    new: int = 0
    scanned: int = 0
    skipped_duplicates: int = 0
    queued: int = 0
    """Large items shared out in parts to every instance (PostgreSQL); folded when their last part is done."""
    findings: int = 0
    errors: list[str] = field(default_factory=list)
    health: str = "ok"
    health_reason: str = ""
    transition: Transition | None = None
    stopped: bool = False
    problem: str | None = None
    """Why the poll as a whole failed (listing, block page, configuration); None when it worked."""
    items: list[ItemOutcome] = field(default_factory=list)

    def log_fields(self) -> dict[str, Any]:
        """Counts and health for a log line: no title, URL or content."""
        return {"listed": self.listed, "new": self.new, "scanned": self.scanned,
                "skipped_duplicates": self.skipped_duplicates, "queued": self.queued, "findings": self.findings,
                "errors": len(self.errors), "health": self.health}

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "listed": self.listed, "new": self.new, "scanned": self.scanned,
                "skipped_duplicates": self.skipped_duplicates, "queued": self.queued, "findings": self.findings,
                "errors": self.errors,
                "health": self.health, "health_reason": self.health_reason, "stopped": self.stopped}


@dataclass
class _Run:
    services: Services
    spec: SourceSpec
    sink: SightingSink | None
    commit: bool
    state: SourceState
    report: RunReport
    memo: dict[str, str] = field(default_factory=dict)
    """Content hash -> findings JSON of this run, for duplicates when nothing is committed."""
    transient_item_errors: int = 0


async def run_source(services: Services, spec: SourceSpec, *, sink: SightingSink | None = None,
                     commit: bool = True, stop: asyncio.Event | None = None) -> RunReport:
    """One poll of ``spec``. With ``commit=False`` (``sources check``) nothing is written."""
    report = RunReport(spec.name)
    problem: str | None = None
    fatal = False
    completed = False
    try:
        state = load_state(services.engine, spec.name)
    except Exception as exc:  # the database itself: report, never raise
        message = str(exc) if isinstance(exc, LeakwatchError) else f"{spec.name}: cannot read the source's state: " \
            f"{exc.__class__.__name__}"
        log.error("%s", message)
        report.problem = message
        report.errors.append(message)
        report.health, report.health_reason = FAILING, message
        return report
    run = _Run(services, spec, sink, commit, state, report)
    ctx: SourceContext | None = None
    try:
        if services.refresh():
            log_event("reloaded", source=spec.name, why="datasets or watch terms changed in the database")
        params = spec.driver_params()
        driver: Driver = DRIVERS[spec.driver]()
        ctx = SourceContext(services.settings, spec, http.client(services), dict(state.validators))
        async with aclosing(driver.list_new(ctx, params, state)) as refs:  # type: ignore[type-var]
            async for ref in refs:
                report.listed += 1
                if state.seen(ref.key) or (commit and cluster.is_queued(services.engine, spec.name, ref.key)):
                    continue
                if stop is not None and stop.is_set():  # between items: the one in hand is finished
                    report.stopped = True
                    break
                report.new += 1
                await _one(run, driver, ctx, params, ref)
            else:
                completed = True
        for warning in state.warnings:
            report.errors.append(warning)
            log.warning("%s: %s", spec.name, warning)
    except SourceProblem as exc:
        problem, fatal = str(exc), exc.fatal
    except FetchError as exc:
        problem, fatal = _fetch_problem(exc)
    except LeakwatchError as exc:
        problem, fatal = str(exc), True
    except Exception as exc:  # one source's bug must not stop the others
        # the class and where it was raised, not the message: a library's message may quote content
        frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        at = f" at {Path(frame.filename).name}:{frame.lineno}" if frame else ""
        problem, fatal = f"{spec.name}: internal error: {exc.__class__.__name__}{at}", False
    if problem is None and report.errors and report.scanned + report.skipped_duplicates == 0:
        problem = f"{len(report.errors)} item(s) could not be fetched; first: {report.errors[0]}"
    if problem is not None:
        report.problem = problem
        report.errors.insert(0, problem)
        log.warning("%s: %s", spec.name, problem)
    validators = ctx.validators if ctx is not None and completed and not run.transient_item_errors else None
    _finish(run, problem, fatal, validators)
    return report


def _fetch_problem(exc: FetchError) -> tuple[str, bool]:
    """A listing that failed: a block page behind an error status is fatal, as is any permanent error."""
    kind = blocked_page(exc.body) if exc.body else None
    if kind is not None:
        return f"{exc} ({kind.replace('_', ' ')} page)", True
    return str(exc), not exc.transient


async def _one(run: _Run, driver: Driver, ctx: SourceContext, params: Any, ref: ItemRef) -> None:
    report = run.report
    try:
        item = await driver.fetch(ctx, params, ref)
    except FetchError as exc:
        if exc.kind == "rate_limited" or (exc.body and blocked_page(exc.body)):
            raise  # the whole source is throttled or blocked: stop this poll, do not hammer
        report.errors.append(str(exc))
        if exc.transient:
            run.transient_item_errors += 1  # left unseen: the next poll tries again
        else:
            await asyncio.to_thread(_commit_item, run, ref, None, "", None, None)  # gone for good: never retried
        return
    if run.spec.passwords:
        item.meta["passwords"] = list(run.spec.passwords)
    streamed = "path" in item.meta and not item.content
    content_hash = str(item.meta["sha256"]) if streamed else sha256(item.content)
    async with _content_lock(run.services, content_hash):
        earlier = run.memo.get(content_hash)
        if earlier is None:
            with Session(run.services.engine) as s:
                row = s.get(ContentScanRow, content_hash)
                earlier = row.findings if row is not None else None
        if earlier is not None:
            result = ScanResult(item, findings=findings_from_json(earlier, item.target))
            report.skipped_duplicates += 1
            fresh_json = None
        else:
            services = run.services
            if streamed and run.commit and await asyncio.to_thread(cluster.offer, services.engine,
                                                                   services.settings, item):
                report.queued += 1  # scanned in parts by every instance, folded by the last one
                return
            if streamed:
                result = await asyncio.to_thread(_scan_file, run.services, item)
            else:
                result = await asyncio.to_thread(scan_item, run.services, item)
            report.scanned += 1
            if result.structured:  # what was read as records, by format: a count, never a value
                log_event("records_read", source=ref.source, target=item.target, **result.structured)
            fresh_json = findings_to_json(result.findings, item.target)
            if any(part.reason.startswith("encrypted") for part in result.skipped):
                fresh_json = None  # not the content's final word: met again with a password, it is scanned again
            else:
                run.memo[content_hash] = fresh_json
        report.findings += len(result.findings)
        _say_skipped(run, result)
        report.items.append(ItemOutcome(ref.key, item.title, item.url, result.findings, earlier is not None,
                                        [f"{s.target}: {s.reason}" for s in result.skipped]))
        # in a thread: on PostgreSQL the fold may wait for another instance's (advisory lock), and
        # the event loop must keep renewing leases meanwhile
        await asyncio.to_thread(_commit_item, run, ref, item, content_hash, result, fresh_json)
    if run.commit and (done := getattr(driver, "done", None)) is not None:
        done(ctx, params, item)


_SKIPS_LOGGED = 5


def _say_skipped(run: _Run, result: ScanResult) -> None:
    """Never silent: every part not scanned is a metric, and a log line up to a few per item, then
    one line counting the rest by reason (a file server's dump holds thousands of images). An
    encrypted part also goes into the poll's report: a password to add to the source."""
    from collections import Counter

    m = run.services.metrics
    encrypted = 0
    for i, part in enumerate(result.skipped):
        m.skipped_part(run.spec.name, part.reason)
        if i < _SKIPS_LOGGED:
            log.warning("%s: %s: skipped: %s", run.spec.name, part.target, part.reason)
        if part.reason.startswith("encrypted"):
            encrypted += 1
            if encrypted <= _SKIPS_LOGGED:
                run.report.errors.append(f"{part.target}: skipped: {part.reason}")
    rest = result.skipped[_SKIPS_LOGGED:]
    if rest:
        by = Counter(skip_reason(p.reason) for p in rest)
        log.warning("%s: %s: %d more part(s) skipped: %s", run.spec.name, result.item.target, len(rest),
                    ", ".join(f"{n} {why}" for why, n in by.most_common()))
    if encrypted > _SKIPS_LOGGED:
        run.report.errors.append(f"{result.item.target}: {encrypted - _SKIPS_LOGGED} more encrypted part(s)")


@asynccontextmanager
async def _content_lock(services: Services, content_hash: str) -> AsyncIterator[None]:
    """Held while one content is scanned and recorded: another source meeting the same content at
    the same time (the daemon polls sources concurrently) waits, then finds it recorded."""
    inflight = services.content_inflight
    entry = inflight.setdefault(content_hash, [asyncio.Lock(), 0])
    entry[1] += 1
    try:
        async with entry[0]:
            yield
    finally:
        entry[1] -= 1
        if entry[1] == 0:
            inflight.pop(content_hash, None)


def _scan_file(services: Services, item: Item) -> ScanResult:
    from leakwatch.detection import volumes

    path = Path(item.meta["path"])
    with volumes.open_volumes(path) as fh:
        return scan_stream(services, item, fh, volumes.total_size(path))


def _commit_item(run: _Run, ref: ItemRef, item: Item | None, content_hash: str, result: ScanResult | None,
                 fresh_json: str | None) -> None:
    """Seen key, cursor, findings by content hash and the sink's sighting: one transaction."""
    run.state.done_now.add(ref.key)
    if not run.commit:
        return
    with Session(run.services.engine) as s:
        if record_item(s, run.spec.name, ref.key, content_hash, item, result, fresh_json, run.sink,
                       cursor=ref.meta.get("cursor")):
            s.commit()


def _stale(run: _Run, now: dt.datetime) -> str | None:
    """Why the source looks stopped: no new item for longer than it usually goes."""
    spec, row = run.spec, run.state.row
    if not spec.expect_new or run.report.new > 0 or row is None:
        return None
    last_new = as_utc(row.last_new_at) or as_utc(row.last_ok_at)
    if last_new is None:
        return None
    limit = spec.stale_after
    usual = ""
    if limit is None and row.gap_count >= 3 and row.gap_mean:
        limit = max(3 * row.gap_mean, 2 * spec.interval)
        usual = f", usually every {duration(row.gap_mean)}"
    quiet = (now - last_new).total_seconds()
    if limit is None or quiet <= limit:
        return None
    return f"no new item for {duration(quiet)}{usual}"


def _finish(run: _Run, problem: str | None, fatal: bool, validators: dict[str, dict[str, str]] | None) -> None:
    report, spec, settings = run.report, run.spec, run.services.settings
    now = utcnow()
    stale = _stale(run, now) if problem is None else None
    health, transition = after_poll(run.state.health, problem=problem, fatal=fatal, stale=stale,
                                    failing_after=settings.source_failing_after)
    report.health, report.health_reason, report.transition = health.state, health.reason, transition
    if transition is not None:
        log.warning("%s: health %s: %s", spec.name, transition.state, transition.reason)
    if not run.commit:
        return
    try:
        with Session(run.services.engine) as s:
            row = state_row(s, spec.name)
            row.last_run_at = now
            row.health, row.health_reason, row.failures = health.state, health.reason, health.failures
            row.last_error = problem or ""
            if problem is None:
                row.last_ok_at = now
            if report.new > 0 and report.scanned + report.skipped_duplicates > 0:
                last_new = as_utc(row.last_new_at)
                if last_new is not None:
                    gap = (now - last_new).total_seconds()
                    row.gap_mean = gap if row.gap_mean is None else 0.7 * row.gap_mean + 0.3 * gap
                    row.gap_count += 1
                row.last_new_at = now
            if validators is not None and problem is None:
                row.validators = json.dumps(validators)
            if transition is not None and run.sink is not None:
                run.sink.health_changed(s, spec.name, transition.state, transition.reason)
            s.commit()
    except Exception as exc:  # the database itself: report, never raise
        log.error("%s: cannot save the source's state: %s", spec.name, exc.__class__.__name__)
        report.errors.append(f"{spec.name}: cannot save state: {exc.__class__.__name__}")


__all__ = ["DEGRADED", "FAILING", "Health", "ItemOutcome", "RunReport", "SightingSink", "run_source"]
