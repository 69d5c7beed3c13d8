"""``leakwatch run``: scheduler wiring, signals and sd_notify. No logic of its own: each source's
job is ``runner.run_source`` with the incident sink, and the outbox job is ``Outbox.deliver_due``.

- APScheduler runs each enabled source on its interval plus jitter, one run at a time per source,
  missed runs coalesced; the outbox is drained every ``alerts.delivery_interval`` and right after a
  run that found something.
- SIGTERM or SIGINT: no new run starts; the item in hand is finished (the runner checks ``stop``
  between items) or, after ``daemon.shutdown_timeout``, cancelled and its transaction rolled back.
- On PostgreSQL, several instances share the work (see ``cluster.py``): instead of one timer per
  source, every ``cluster.tick`` the daemon claims the due sources whose lease is free, polls each
  under its lease (renewed every ``cluster.renew``), and scans queued parts of large items.
- Under systemd (``NOTIFY_SOCKET``): READY=1 once started, WATCHDOG=1 while the event loop turns and
  the database answers, STOPPING=1 on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from leakwatch import cluster, keys, log
from leakwatch.incidents import outbox
from leakwatch.storage import store
from leakwatch.storage.store import utcnow

if TYPE_CHECKING:
    from leakwatch.app import Services
    from leakwatch.sources.spec import SourceSpec

DEFAULT_DROP = "drop"


# ---- sd_notify ------------------------------------------------------------------------------------

def sd_notify(*states: str, env: Mapping[str, str] = os.environ) -> bool:
    """Send ``READY=1``, ``WATCHDOG=1``... to systemd over its datagram socket; False when not run
    by systemd (no ``NOTIFY_SOCKET``) or the socket is gone."""
    address = env.get("NOTIFY_SOCKET")
    if not address or not states:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall("\n".join(states).encode())
    except OSError:
        return False
    return True


def watchdog_interval(env: Mapping[str, str] = os.environ) -> float | None:
    """Half of systemd's WatchdogSec, when the watchdog is on for this process."""
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000


# ---- sources --------------------------------------------------------------------------------------

def enabled_specs(services: Services) -> list[SourceSpec]:
    """The enabled sources; with none, the drop folder ``$LEAKWATCH_HOME/drop`` (the shipped
    ``dropfolder`` definition), so that ``leakwatch run`` works on embedded defaults."""
    from leakwatch.sources.spec import load_specs, parse_spec

    specs = load_specs(services.settings)
    enabled = [s for s in specs.values() if s.enabled]
    if enabled:
        return enabled
    shipped = specs.get("dropfolder")
    if shipped is not None and shipped.driver == "folder":
        spec = shipped.model_copy(update={"enabled": True})
    else:
        spec = parse_spec({"name": DEFAULT_DROP, "driver": "folder", "enabled": True, "interval": 30,
                           "expect_new": False, "params": {"path": DEFAULT_DROP}}, "default drop folder")
    drop = Path(str(spec.params.get("path", DEFAULT_DROP))).expanduser()
    drop = drop if drop.is_absolute() else services.settings.home / drop
    drop.mkdir(parents=True, exist_ok=True, mode=0o700)
    return [spec]


def ensure_key(services: Services) -> None:
    """On a fresh install (no key, no dataset, no key configured elsewhere) make the key as
    ``leakwatch init`` would. Never when fingerprints exist: a new key would silently match nothing."""
    path = services.key_path
    if path.exists() or services.settings.key_file is not None or os.environ.get("CREDENTIALS_DIRECTORY"):
        return
    services.settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    if store.datasets(services.engine):
        return  # load_key then says: no key file; run leakwatch init
    if keys.create_key(path):
        log.event("key_created", path=str(path), note="fresh install: leakwatch init made implicitly")


def refuse_key(services: Services, exc: keys.KeyMismatch) -> None:
    """The daemon does not start with a wrong key: say it in the log and, as an operator alert, to
    every route, now (nothing else will send it while the key is wrong). Only this alert is sent:
    the outbox's other rows wait for a daemon with the right key."""
    from leakwatch.datasets import keycheck

    log.error("key_mismatch", error=str(exc))
    found = getattr(exc, "problems", None) or [None]
    alert = keycheck.refusal_alert(str(exc), getattr(found[0], "read_id", None),
                                   getattr(found[0], "expected_id", None), utcnow().date().isoformat())
    try:
        box = services.outbox
        with store.session(services.engine) as s:
            queued = box.enqueue_alert(s, alert)
            s.commit()
        report = box.deliver_due(only=alert.key)
    except Exception as err:  # the refusal stands even if the alert cannot be written
        log.error("key_mismatch_alert_failed", error=err.__class__.__name__)
        return
    log.event("key_mismatch_alert", level=logging.WARNING, routes=queued, sent=report.sent,
              retrying=report.retried)


# ---- the daemon -----------------------------------------------------------------------------------

class Daemon:
    def __init__(self, services: Services, specs: list[SourceSpec]) -> None:
        self.services = services
        self.specs = specs
        self.sink = services.sink
        self.stop = asyncio.Event()
        self.stop_delivery = threading.Event()
        self.running: set[asyncio.Task[Any]] = set()
        self.scheduler: AsyncIOScheduler | None = None
        services.metrics.known(spec.name for spec in specs)
        self.member = cluster.Member(services, specs) if cluster.shared(services.engine) else None
        self.leased: set[asyncio.Task[Any]] = set()
        self.polling: set[str] = set()
        self.coordinator = ThreadPoolExecutor(2, thread_name_prefix="lease")
        """Lease renewals and heartbeats: never queued behind scans in the default executor."""

    async def _db(self, func: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.coordinator, func, *args)

    async def run_source(self, spec: SourceSpec) -> None:
        """One run of one source, never raising: the runner records a source's failures itself."""
        from leakwatch.runner import run_source

        task = asyncio.current_task()
        if task is not None:
            self.running.add(task)
        started = time.time()
        try:
            report = await run_source(self.services, spec, sink=self.sink, stop=self.stop)
        except asyncio.CancelledError:
            log.warning("run_cancelled", source=spec.name,
                        note="the item in hand was rolled back, or is committed whole if its recording had begun")
            raise
        except Exception as exc:  # a bug, not a source failure: keep the daemon and other sources up
            log.error("run_crashed", source=spec.name, error=exc.__class__.__name__)
            self.services.metrics.polled(spec.name, False, started)
            return
        finally:
            if task is not None:
                self.running.discard(task)
        ok = not report.errors
        self.services.metrics.polled(spec.name, ok, time.time())
        self.services.metrics.health(spec.name, report.health != "failing")
        idle = not report.new and self.scheduler is not None  # the daemon's idle polls are quiet; --once's not
        level = logging.WARNING if not ok else logging.DEBUG if idle else logging.INFO
        log.event("run", level=level, source=spec.name,
                  seconds=round(time.time() - started, 2), listed=report.listed, new=report.new,
                  scanned=report.scanned, duplicates=report.skipped_duplicates, queued=report.queued or None,
                  findings=report.findings,
                  health=report.health, errors=len(report.errors), error=report.errors[0] if report.errors else None,
                  stopped=report.stopped or None)
        if not report.findings:
            return
        if self.scheduler is not None and not self.stop.is_set():
            with contextlib.suppress(Exception):
                self.scheduler.modify_job("outbox", next_run_time=utcnow())

    # ---- sharing the work with other instances (PostgreSQL) ------------------------------------------

    async def claim(self) -> None:
        """Start a leased poll of each due source no other instance holds."""
        if self.member is None or self.stop.is_set():
            return
        try:
            names = await self._db(self.member.claim_sources)
        except Exception as exc:  # the database away: the next tick tries again
            log.error("claim_failed", error=exc.__class__.__name__)
            return
        for name in names:
            if name in self.polling:  # our own lease lapsed while we were stalled: the poll in hand goes on
                continue
            task = asyncio.create_task(self.leased_run(self.member.specs[name]))
            self.leased.add(task)
            task.add_done_callback(self.leased.discard)

    async def leased_run(self, spec: SourceSpec) -> None:
        assert self.member is not None
        member = self.member
        self.polling.add(spec.name)
        renewing = asyncio.create_task(self._renew(lambda: member.renew_source(spec.name), f"source:{spec.name}"))
        try:
            await self.run_source(spec)
        finally:
            renewing.cancel()
            self.polling.discard(spec.name)
            try:
                await self._db(member.release_source, spec.name)
            except Exception as exc:  # the lease then lapses by itself
                log.error("lease_release_failed", source=spec.name, error=exc.__class__.__name__)

    async def _renew(self, renew: Any, what: str) -> None:
        period = self.services.settings.cluster.renew
        while True:
            await asyncio.sleep(period)
            try:
                held = await self._db(renew)
            except Exception as exc:
                log.error("lease_renew_failed", lease=what, error=exc.__class__.__name__)
                continue
            if not held:
                log.warning("lease_lost", lease=what, note="taken over by another instance after it lapsed")
                return

    async def scan_parts(self) -> int:
        """Scan queued parts of large items until none is free; the last part of an item folds it."""
        if self.member is None:
            return 0
        member = self.member
        task = asyncio.current_task()
        if task is not None:
            self.running.add(task)
        done = 0
        try:
            while not self.stop.is_set():
                part = await self._db(member.claim_part)
                if part is None:
                    break
                renewing = asyncio.create_task(self._renew(lambda p=part: member.renew_part(p),  # type: ignore[misc]
                                                           f"part:{part.job_id}/{part.part_no}"))
                started = time.time()
                try:
                    result = await asyncio.to_thread(member.scan_part, part)
                except OSError as exc:  # not on this host's file system: left for an instance that has it
                    log.error("part_unreadable", source=part.source, item=part.name, part=part.part_no,
                              error=exc.strerror or exc.__class__.__name__)
                    break
                finally:
                    renewing.cancel()
                folded = await asyncio.to_thread(member.complete_part, part, result, self.sink)
                done += 1
                log.event("part_scanned", source=part.source, item=part.name, part=f"{part.part_no + 1}/{part.parts}",
                          bytes=result.bytes_scanned, findings=len(result.findings),
                          seconds=round(time.time() - started, 2), folded=folded or None)
                if folded and self.scheduler is not None:
                    with contextlib.suppress(Exception):
                        self.scheduler.modify_job("outbox", next_run_time=utcnow())
        except Exception as exc:  # the database away, a bug: the part's lease lapses, another takes it
            log.error("parts_crashed", error=exc.__class__.__name__)
        finally:
            if task is not None:
                self.running.discard(task)
        return done

    async def heartbeat(self) -> None:
        if self.member is None:
            return
        try:
            await self._db(self.member.heartbeat)
        except Exception as exc:
            log.error("heartbeat_failed", error=exc.__class__.__name__)

    async def deliver(self) -> outbox.DeliveryReport:
        task = asyncio.current_task()
        if task is not None:
            self.running.add(task)
        try:
            return await asyncio.to_thread(self.services.outbox.deliver_due, self.stop_delivery)
        except Exception as exc:  # e.g. the database busy beyond its timeout: the next pass retries
            log.error("delivery_crashed", error=exc.__class__.__name__)
            return outbox.DeliveryReport()
        finally:
            if task is not None:
                self.running.discard(task)

    async def watchdog(self) -> None:
        """WATCHDOG=1 only while the loop turns and the database answers."""
        try:
            await asyncio.to_thread(store.ping, self.services.engine)
        except Exception as exc:
            log.error("watchdog_unhealthy", error=exc.__class__.__name__)
            return
        sd_notify("WATCHDOG=1")

    def _signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        if not self.stop.is_set():
            log.event("stopping", signal=sig.name)
        self.stop.set()
        self.stop_delivery.set()

    async def once(self) -> int:
        """Every enabled source once, then one pass over the outbox."""
        self._signals()
        if self.member is not None:
            await asyncio.to_thread(self.member.join)
        for spec in self.specs:
            if self.stop.is_set():
                break
            await self.run_source(spec)
        await self.scan_parts()  # large items queued by this run or others: help until none is free
        report = await self.deliver()
        log.event("once_done", sources=len(self.specs), alerts_sent=report.sent, alerts_retrying=report.retried,
                  alerts_pending=self.services.outbox.counts()["pending"])
        if self.member is not None:
            await asyncio.to_thread(self.member.leave)
        await self.close()
        return 0

    async def close(self) -> None:
        from leakwatch.sources import http

        await http.close(self.services)

    async def forever(self) -> int:
        settings = self.services.settings
        self._signals()
        scheduler = AsyncIOScheduler(timezone="UTC")
        self.scheduler = scheduler
        now = utcnow()
        if self.member is not None:  # PostgreSQL: the database says which source is due and free
            await asyncio.to_thread(self.member.join)
            conf = settings.cluster
            for job, every in ((self.claim, conf.tick), (self.scan_parts, conf.tick), (self.heartbeat, conf.renew)):
                scheduler.add_job(job, IntervalTrigger(seconds=every, jitter=every / 4), id=job.__name__,
                                  max_instances=1, coalesce=True, misfire_grace_time=None, next_run_time=now)
        else:
            for spec in self.specs:
                scheduler.add_job(self.run_source,
                                  IntervalTrigger(seconds=spec.interval, jitter=settings.daemon.jitter),
                                  args=[spec], id=f"source:{spec.name}", name=spec.name, max_instances=1,
                                  coalesce=True, misfire_grace_time=None, next_run_time=now)
        scheduler.add_job(self.deliver, IntervalTrigger(seconds=settings.alerts.delivery_interval), id="outbox",
                          max_instances=1, coalesce=True, misfire_grace_time=None, next_run_time=now)
        interval = watchdog_interval()
        if interval:
            scheduler.add_job(self.watchdog, IntervalTrigger(seconds=interval), id="watchdog", max_instances=1,
                              coalesce=True, misfire_grace_time=None)
        scheduler.start()
        sd_notify("READY=1", f"STATUS=watching {len(self.specs)} source(s)")
        log.event("started", pid=os.getpid(), sources=",".join(s.name for s in self.specs),
                  instance=self.member.id if self.member is not None else None,
                  watchdog=f"{interval:g}s" if interval else None)
        await self.stop.wait()
        sd_notify("STOPPING=1")
        scheduler.pause()
        pending = {t for t in self.running | self.leased if not t.done()}
        if pending:
            _, late = await asyncio.wait(pending, timeout=settings.daemon.shutdown_timeout)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=2)
        scheduler.shutdown(wait=False)
        if self.member is not None:
            with contextlib.suppress(Exception):  # else the leases lapse by themselves
                await asyncio.to_thread(self.member.leave)
        await self.close()
        log.event("stopped", pid=os.getpid())
        return 0


def run(services: Services, *, once: bool = False) -> int:
    """Start the daemon (or run every source once) and return its exit status."""
    log.setup(logging.getLevelNamesMapping()[services.settings.daemon.log_level.upper()])
    ensure_key(services)
    specs = enabled_specs(services)
    try:
        services.index  # noqa: B018  (load the fingerprints before the first run, and fail early)
    except keys.KeyMismatch as exc:
        refuse_key(services, exc)
        raise
    from leakwatch.datasets.keycheck import unchecked_note

    if note := unchecked_note(services.engine):
        log.warning("key_unchecked", note=note)
    services.outbox.release_stale_leases()
    m = services.metrics
    if services.settings.metrics_address:
        bound = m.serve(services.settings.metrics_address)
        log.event("metrics", address=bound)
    daemon = Daemon(services, specs)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        rc = loop.run_until_complete(daemon.once() if once else daemon.forever())
        left = asyncio.all_tasks(loop)
        for task in left:
            task.cancel()
        if left:
            loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        asyncio.set_event_loop(None)
        loop.close()  # does not wait for worker threads (asyncio.run would)
        services.close(wait=False)
        m.close()
    _exit_past_busy_threads(rc, daemon.stop.is_set())
    return rc


def _exit_past_busy_threads(rc: int, stopped: bool) -> None:
    """After SIGTERM, a worker thread may still be scanning a large file (it holds no transaction:
    the runner writes only once an item is scanned) or waiting on a channel. Rather than wait for
    it past systemd's stop timeout, exit now: the item is scanned again at the next start, and an
    alert cut off mid-send is sent again (at most one duplicate, see incidents/outbox.py)."""
    if not stopped:
        return
    deadline = time.monotonic() + 1.0
    busy = [t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
    for thread in busy:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in busy):
        log.warning("exit_with_work_in_progress", note="rolled back; done again at the next start")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)
