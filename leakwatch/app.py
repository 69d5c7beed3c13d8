"""The composition root: builds the services (settings, key, database, index, matchers, outbox,
metrics, HTTP client, scan workers) once per process, each on first use.

The layers below receive what they need as narrow arguments (an engine, ``AlertSettings``, a key),
or, for the scanning path, this object through the ``pipeline.Scanning`` protocol: no module below
imports this one.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlmodel import select

from leakwatch import keys, log
from leakwatch.settings import Settings, load_settings
from leakwatch.storage import dbschema, store
from leakwatch.storage.store import DatasetRow

if TYPE_CHECKING:  # imported where first used: a command pays only for what it uses
    from leakwatch.datasets.forms import Missing
    from leakwatch.detection.fingerprints import Index
    from leakwatch.detection.matcher import TextMatcher
    from leakwatch.detection.parallel import Pool
    from leakwatch.detection.terms import TermMatcher
    from leakwatch.incidents.outbox import Outbox
    from leakwatch.incidents.sink import IncidentSink
    from leakwatch.metrics import Metrics
    from leakwatch.sources.http import HttpClient


@dataclass
class Services:
    settings: Settings
    watch_stamp: tuple[tuple[object, ...], ...] | None = None
    """What the index and the matchers were loaded from (``refresh`` compares it)."""
    http: HttpClient | None = None
    """The shared HTTP client of the running event loop (``sources.http.client``)."""
    content_inflight: dict[str, list[Any]] = field(default_factory=dict)
    """Content hashes being scanned by this process's runners: one scan per content (``runner``)."""
    _pool: Pool | None = None
    outdated: dict[str, list[Missing]] = field(default_factory=dict)
    """Per dataset an older release imported, the stored forms it lacks (``datasets.forms``), as
    of the index's load."""

    @cached_property
    def key_path(self) -> Path:
        return keys.key_path(self.settings.home, self.settings.key_file)

    @cached_property
    def keyring(self) -> keys.Keyring:
        """Every key version the key file holds (read again by ``refresh``: a rotation is seen)."""
        path, origin = keys.key_source(self.settings.home, self.settings.key_file)
        return keys.load_keyring(path, origin)

    @property
    def key(self) -> keys.Key:
        """The current key version: new fingerprints are made under it."""
        return self.keyring.current

    @property
    def master_key(self) -> bytes:
        return self.keyring.current.secret

    def verify_key(self) -> None:
        """Refuse (``KeyMismatch``, exit 2) a key file that is not the one the datasets were made with."""
        from leakwatch.datasets import keycheck

        keycheck.verify(self.engine, self.keyring)

    @cached_property
    def engine(self) -> Engine:
        """The database, refused (one line saying what to run) unless its schema is this code's."""
        engine = store.make_engine(self.settings.db_url, self.settings.database_busy_timeout)
        dbschema.ensure_current(engine, store.safe_url(self.settings.db_url))
        return engine

    @cached_property
    def index(self) -> Index:
        # The stamp is read before the index: a change committed in between is seen by ``refresh``.
        if self.watch_stamp is None:
            self.watch_stamp = watch_stamp(self.engine)
        self.verify_key()
        from leakwatch.datasets import forms
        from leakwatch.detection.fingerprints import load_index

        index = load_index(self.engine, self.keyring, self.settings.home / "index")
        self.outdated = {row.name: found for row in store.datasets(self.engine)
                         if (found := forms.missing(self.engine, row))}
        for name, found in self.outdated.items():  # an older release's import: matched with what it has, and said
            log.warning("dataset_outdated", dataset=name, missing=",".join(m.form for m in found),
                        action="re-import it (leakwatch fingerprints import)")
        return index

    @cached_property
    def matcher(self) -> TextMatcher:
        from leakwatch.detection.build import text_matcher

        return text_matcher(self.settings, self.index)

    @cached_property
    def term_matcher(self) -> TermMatcher:
        """The watch terms, loaded once per process (``refresh`` drops them when they changed)."""
        if self.watch_stamp is None:
            self.watch_stamp = watch_stamp(self.engine)
        from leakwatch.detection.build import term_matcher

        matcher = term_matcher(self.settings, self.engine)
        for term, reason in matcher.unwatched:  # passed over: said each time the terms are loaded
            log.warning("term_not_watched", term=term, reason=reason,
                        action="leakwatch terms remove it, then add a longer or more specific term")
        return matcher

    def scan_pool(self, start: bool = True) -> Pool | None:
        """The worker processes that match large documents, started on first use; None on one core,
        or when they are not running and ``start`` is false."""
        from leakwatch.detection import parallel

        if self._pool is None:
            if not start:
                return None
            workers = parallel.workers_for(self.settings)
            if workers <= 1:
                return None
            self._pool = parallel.Pool(self.settings, workers)
        return self._pool

    @cached_property
    def metrics(self) -> Metrics:
        from leakwatch.metrics import Metrics

        return Metrics(self.engine, self.settings)

    @cached_property
    def outbox(self) -> Outbox:
        from leakwatch.incidents.outbox import Outbox

        return Outbox(self.engine, self.settings.alerts, self.master_key, self.metrics.alert_sent,
                      other_keys=[k.secret for k in self.keyring.keys])

    @cached_property
    def sink(self) -> IncidentSink:
        """What the runner does with each scanned item: fold it into incidents, queue alerts."""
        from leakwatch.incidents.sink import IncidentSink

        return IncidentSink(self.settings, self.master_key, self.metrics, self.outbox)

    def http_client(self) -> HttpClient:
        """The shared client for the running event loop (a new loop gets a new client)."""
        from leakwatch.sources.http import HttpClient

        loop = asyncio.get_running_loop()
        if self.http is None or self.http.loop is not loop:
            self.http = HttpClient(self.settings)
        return self.http

    async def close_http(self) -> None:
        current, self.http = self.http, None
        if current is not None:
            await current.aclose()

    def refresh(self) -> bool:
        """Forget the fingerprint index, the matchers made from it and the scan workers when the
        datasets or watch terms in the database changed since they were loaded (``fingerprints
        import``, ``terms add`` or ``canary create`` beside a running daemon). Work in flight
        finishes with what it holds; the next scan loads afresh. True when something was dropped.
        Raises ``KeyMismatch`` while the key file read does not match the datasets."""
        loaded = self.watch_stamp
        dropped = False
        if loaded is not None and watch_stamp(self.engine) != loaded:
            for name in ("index", "matcher", "term_matcher"):
                self.__dict__.pop(name, None)
            self.watch_stamp = None
            pool, self._pool = self._pool, None
            if pool is not None:
                pool.retire()
            dropped = True
        if "index" not in self.__dict__:
            # Not loaded (dropped, or refused): read the key file again and check it now, so that a
            # wrong key fails this poll (an operator alert) even when no item comes to be scanned.
            self.__dict__.pop("keyring", None)
            if any(row.key_check for row in store.datasets(self.engine)):  # no dataset: no key needed yet
                self.verify_key()
        return dropped

    def close(self, wait: bool = True) -> None:
        """Stop what runs beside this process (the scan workers), before exit. ``wait=False``
        does not wait for a part being matched (the daemon's shutdown has its own deadline)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close(wait)


def watch_stamp(engine: Engine) -> tuple[tuple[object, ...], ...]:
    """What the index and the watch terms are made from: each dataset's id, import time and size,
    and each watch term. A few rows, read once per source run."""
    from leakwatch.detection.terms import WatchTerm

    with store.session(engine) as s:
        datasets = s.exec(select(DatasetRow.id, DatasetRow.imported_at, DatasetRow.record_count)
                          .order_by(DatasetRow.id))  # type: ignore[arg-type]
        terms = s.exec(select(WatchTerm.id, WatchTerm.normal).order_by(WatchTerm.id))  # type: ignore[arg-type]
        return tuple(tuple(row) for row in datasets), tuple(tuple(row) for row in terms)


def build(**overrides: object) -> Services:
    return Services(load_settings(**overrides))
