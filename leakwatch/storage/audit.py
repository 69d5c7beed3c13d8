"""The audit trail: who did what to the protected data and the key, and when.

One row per import, dataset deletion, canary creation, watch-term change and key operation (and
per key refused), written in the transaction of the change it records. A row names the user (and
the user behind sudo), uid, host, time, dataset and key version, and holds counts only: never a
record's value, a watch term's text or a key. ``leakwatch audit`` lists it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pwd
import socket
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, Session, SQLModel, select

from leakwatch.storage import store
from leakwatch.storage.store import session, utcnow

ACTIONS = ("import", "delete", "canary_create", "term_add", "term_update", "term_remove",
           "key_create", "key_rotate", "key_retire", "key_refused")


class AuditRow(SQLModel, table=True):
    __tablename__ = "audit"
    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)
    action: str = Field(index=True)
    actor: str
    """The user name; "root (sudo by alice)" when run through sudo."""
    uid: int
    host: str
    pid: int
    dataset: str | None = Field(default=None, index=True)
    key_version: int | None = None
    details: str = "{}"
    """JSON of counts and kinds (records, skipped, purpose, key ids...), never a value."""


def who() -> tuple[str, int]:
    """The user name (with the sudo user behind it) and uid of this process."""
    uid = os.getuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    sudo = os.environ.get("SUDO_USER")
    if sudo and sudo != name:
        name = f"{name} (sudo by {sudo})"
    return name, uid


def record(conn: Connection | Session, action: str, *, dataset: str | None = None,
           key_version: int | None = None, **details: Any) -> None:
    """Add an audit row inside the caller's transaction. ``details``: counts and kinds only."""
    assert action in ACTIONS, action
    user, uid = who()
    values = {"at": utcnow(), "action": action, "actor": user, "uid": uid, "host": socket.gethostname(),
              "pid": os.getpid(), "dataset": dataset, "key_version": key_version,
              "details": json.dumps(details, sort_keys=True, default=str)}
    conn.execute(insert(AuditRow.__table__).values(**values))  # type: ignore[attr-defined]


def record_now(engine: Engine, action: str, *, quiet_for: float = 0, **kwargs: Any) -> None:
    """An audit row in a transaction of its own (key operations: the key file is not in the
    database). With ``quiet_for`` seconds, not when the same entry (action, host, dataset, key
    version, details) was written that recently: a refusal repeated by each poll, or by systemd
    restarting a service, is one entry an hour, not thousands."""
    with engine.begin() as conn:
        if quiet_for:
            dataset, version = kwargs.get("dataset"), kwargs.get("key_version")
            details = json.dumps({k: v for k, v in kwargs.items() if k not in ("dataset", "key_version")},
                                 sort_keys=True, default=str)
            t = AuditRow.__table__  # type: ignore[attr-defined]
            recent = conn.execute(select(t.c.id).where(
                t.c.action == action, t.c.host == socket.gethostname(), t.c.dataset == dataset,
                t.c.key_version == version, t.c.details == details,
                t.c.at >= utcnow() - dt.timedelta(seconds=quiet_for)).limit(1)).first()
            if recent is not None:
                return
        record(conn, action, **kwargs)


def delete_dataset(engine: Engine, name: str) -> bool:
    """Delete dataset ``name`` with its audit entry, in one transaction. False when there is none."""
    def entry(conn: Connection, row: Any) -> None:
        record(conn, "delete", dataset=name, key_version=row.key_version, purpose=row.purpose,
               records=row.record_count)

    return store.delete_dataset(engine, name, also=entry)


def rows(engine: Engine, *, action: str | None = None, dataset: str | None = None,
         since: dt.datetime | None = None, limit: int = 1000) -> list[AuditRow]:
    """The newest ``limit`` rows matching, oldest first."""
    with session(engine) as s:
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)  # type: ignore[union-attr]
        if action:
            query = query.where(AuditRow.action == action)
        if dataset:
            query = query.where(AuditRow.dataset == dataset)
        if since:
            query = query.where(AuditRow.at >= since)
        return list(reversed(list(s.exec(query))))


def to_json(row: AuditRow) -> dict[str, Any]:
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=dt.UTC)
    return {"id": row.id, "at": at.isoformat(), "action": row.action, "user": row.actor, "uid": row.uid,
            "host": row.host, "pid": row.pid, "dataset": row.dataset, "key_version": row.key_version,
            "details": json.loads(row.details or "{}")}
