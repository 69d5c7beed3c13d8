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
        from leakwatch import keycheck

        keycheck.verify(self.engine, self.keyring)

    @cached_property
    def engine(self) -> Engine:
        return store.make_engine(self.settings.db_url)

    @cached_property
    def index(self) -> Index:
        # The stamp is read before the index: a change committed in between is seen by ``refresh``.
        self.extras.setdefault("watch_stamp", watch_stamp(self.engine))
        self.verify_key()
        return load_index(self.engine, self.keyring)

    def refresh(self) -> bool:
        """Forget the fingerprint index, the matchers made from it and the scan workers when the
        datasets or watch terms in the database changed since they were loaded (``fingerprints
        import``, ``terms add`` or ``canary create`` beside a running daemon). Work in flight
        finishes with what it holds; the next scan loads afresh. True when something was dropped.
        Raises ``KeyMismatch`` while the key file read does not match the datasets."""
        loaded = self.extras.get("watch_stamp")
        dropped = False
        if loaded is not None and watch_stamp(self.engine) != loaded:
            self.__dict__.pop("index", None)
            for name in ("watch_stamp", "matcher", "term_matcher"):
                self.extras.pop(name, None)
            pool = self.extras.pop("pool", None)
            if pool is not None and hasattr(pool, "retire"):
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
