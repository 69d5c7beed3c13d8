"""The composition root: builds the services (settings, key, database, index) once per process."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from sqlalchemy.engine import Engine

from leakwatch import keys, store
from leakwatch.fingerprints import Index, load_index
from leakwatch.settings import Settings, load_settings


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
        return store.make_engine(self.settings.db_url)

    @cached_property
    def index(self) -> Index:
        return load_index(self.engine, self.master_key)

    def close(self, wait: bool = True) -> None:
        """Stop what runs beside this process (the scan workers), before exit. ``wait=False``
        does not wait for a part being matched (the daemon's shutdown has its own deadline)."""
        pool = self.extras.pop("pool", None)
        if pool is not None and hasattr(pool, "close"):
            pool.close(wait)


def build(**overrides: object) -> Services:
    return Services(load_settings(**overrides))
