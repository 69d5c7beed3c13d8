"""The database schema's version, kept by alembic in the ``alembic_version`` table.

Each change of a table is a revision under ``leakwatch/storage/migrations/versions``. ``leakwatch db
upgrade`` (run by ``leakwatch init``) applies what a database lacks; every other command and the
daemon refuse a database older or newer than the code, with one line saying what to run.

- An empty database (no table yet) is made at the latest revision on first use, as before.
- A database made before migrations existed (tables, no version) is the baseline revision: its
  upgrade creates any table an older release had not made yet, then applies the later revisions.

Storage layer: this module imports no domain module. Reading the version is one query and needs
no alembic import; only an upgrade loads the migration scripts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from leakwatch.errors import ConfigError
from leakwatch.storage.store import is_busy

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001"
"""The schema of the last release without migrations (commit 23c7443)."""
HEAD = "0006"
"""The revision this code reads and writes; a test checks it is the scripts' head."""
KNOWN = ("0001", "0002", "0003", "0004", "0005", "0006")
"""Every revision in order, oldest first: a database at one of these is older or current."""
VERSION_TABLE = "alembic_version"


class SchemaError(ConfigError):
    """The database's schema is not the one this code reads: one line saying what to run."""


@dataclass(frozen=True)
class SchemaState:
    revision: str | None
    """The database's revision; None when it has none."""
    tables: int
    """How many tables it has (0: empty)."""
    versioned: bool = False
    """It has the version table (alembic makes it before the first revision, fills it after)."""

    @property
    def empty(self) -> bool:
        return self.revision is None and self.tables == 0

    @property
    def upgrading(self) -> bool:
        """Another process is making it (or an upgrade on SQLite, whose DDL is not transactional, died)."""
        return self.revision is None and self.versioned

    @property
    def legacy(self) -> bool:
        """Made before migrations: tables, no version."""
        return self.revision is None and self.tables > 0 and not self.versioned

    @property
    def current(self) -> bool:
        return self.revision == HEAD

    @property
    def older(self) -> bool:
        return self.legacy or (self.revision in KNOWN and self.revision != HEAD)

    @property
    def newer(self) -> bool:
        return self.revision is not None and self.revision not in KNOWN

    def describe(self) -> str:
        if self.empty:
            return "empty"
        return f"revision {self.revision or 'none (made before migrations)'}, code {HEAD}"


def _state(conn: Connection) -> SchemaState:
    names = set(inspect(conn).get_table_names())
    revision = None
    if VERSION_TABLE in names:
        revision = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()  # noqa: S608
    return SchemaState(revision, len(names - {VERSION_TABLE}), VERSION_TABLE in names)


def state(engine: Engine, where: str) -> SchemaState:
    """The schema state; ConfigError naming ``where`` (the URL without password) when it cannot be read."""
    try:
        with engine.connect() as conn:
            return _state(conn)
    except SQLAlchemyError as exc:
        if is_busy(exc):
            raise  # locked past database_busy_timeout: the CLI says so in one line (exit 75)
        raise ConfigError(f"{where}: cannot open database: {exc.__class__.__name__}") from None


def _settled(engine: Engine, where: str, wait: float = 15.0) -> SchemaState:
    """The state once no other process is making the schema (two first starts at once on SQLite)."""
    found = state(engine, where)
    deadline = time.monotonic() + wait
    while found.upgrading and time.monotonic() < deadline:
        time.sleep(0.2)
        found = state(engine, where)
    return found


def ensure_current(engine: Engine, where: str) -> SchemaState:
    """Refuse a database whose schema is not this code's; make an empty one at the latest revision."""
    found = _settled(engine, where)
    if found.empty:
        upgrade(engine, where)
        return state(engine, where)
    if found.current:
        return found
    if found.newer:
        raise SchemaError(f"{where}: database schema {found.revision} is newer than this leakwatch "
                          f"(which knows up to {HEAD}): upgrade leakwatch, or use the release that made it")
    raise SchemaError(f"{where}: database schema is older than this leakwatch ({found.describe()}); "
                      "back it up, then run: leakwatch db upgrade")


def alembic_config(connection: Connection | None = None, metadata: object | None = None):  # type: ignore[no-untyped-def]
    """An alembic Config over the shipped scripts (no alembic.ini: nothing to find at run time)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    cfg.attributes["target_metadata"] = metadata
    return cfg


def upgrade(engine: Engine, where: str) -> tuple[SchemaState, SchemaState]:
    """Apply the revisions the database lacks, in one transaction where the database allows it.
    Returns the state before and after. Refuses a database newer than the code."""
    from alembic import command

    before = state(engine, where)
    if before.newer:
        raise SchemaError(f"{where}: database schema {before.revision} is newer than this leakwatch "
                          f"(which knows up to {HEAD}): upgrade leakwatch instead")
    if not before.current:
        try:
            with engine.begin() as conn:
                command.upgrade(alembic_config(conn), "head")
        except SQLAlchemyError as exc:
            if is_busy(exc):
                raise  # locked past database_busy_timeout: the CLI says so in one line (exit 75)
            again = _settled(engine, where)
            if not again.current:  # not another process that upgraded it at the same instant
                raise ConfigError(f"{where}: database upgrade failed: {exc.__class__.__name__}: "
                                  f"{str(exc.orig if hasattr(exc, 'orig') else exc).splitlines()[0]}") from None
    return before, state(engine, where)
