"""The composition root: builds the services (settings, key, database, index) once per process."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from leakwatch import keys, store
from leakwatch.fingerprints import Index, load_index
from leakwatch.settings import Settings, load_settings
from leakwatch.store import DatasetRow


@dataclass
class Services:
    settings: Settings
    extras: dict[str, object] = field(default_factory=dict)

    @cached_property
    def key_path(self) -> Path:
        return keys.key_path(self.settings.home, self.settings.key_file)

    @cached_property
    def master_key(self) -> bytes:
        return keys.load_key(self.key_path)

    @cached_property
    def engine(self) -> Engine:
        return store.make_engine(self.settings.db_url, self.settings.database_busy_timeout)

    @cached_property
    def index(self) -> Index:
        # The stamp is read before the index: a change committed in between is seen by ``refresh``.
        self.extras.setdefault("watch_stamp", watch_stamp(self.engine))
        return load_index(self.engine, self.master_key)

    def refresh(self) -> bool:
        """Forget the fingerprint index, the matchers made from it and the scan workers when the
        datasets or watch terms in the database changed since they were loaded (``fingerprints
        import``, ``terms add`` or ``canary create`` beside a running daemon). Work in flight
        finishes with what it holds; the next scan loads afresh. True when something was dropped."""
        loaded = self.extras.get("watch_stamp")
        if loaded is None or watch_stamp(self.engine) == loaded:
            return False
        self.__dict__.pop("index", None)
        for name in ("watch_stamp", "matcher", "term_matcher"):
            self.extras.pop(name, None)
        pool = self.extras.pop("pool", None)
        if pool is not None and hasattr(pool, "retire"):
            pool.retire()
        return True

    def close(self, wait: bool = True) -> None:
        """Stop what runs beside this process (the scan workers), before exit. ``wait=False``
        does not wait for a part being matched (the daemon's shutdown has its own deadline)."""
        pool = self.extras.pop("pool", None)
        if pool is not None and hasattr(pool, "close"):
            pool.close(wait)


def watch_stamp(engine: Engine) -> tuple[tuple[object, ...], ...]:
    """What the index and the watch terms are made from: each dataset's id, import time and size,
    and each watch term. A few rows, read once per source run."""
    from leakwatch.terms import WatchTerm

    with store.session(engine) as s:
        datasets = s.exec(select(DatasetRow.id, DatasetRow.imported_at, DatasetRow.record_count)
                          .order_by(DatasetRow.id))  # type: ignore[arg-type]
        terms = s.exec(select(WatchTerm.id, WatchTerm.normal).order_by(WatchTerm.id))  # type: ignore[arg-type]
        return tuple(tuple(row) for row in datasets), tuple(tuple(row) for row in terms)


def build(**overrides: object) -> Services:
    return Services(load_settings(**overrides))
