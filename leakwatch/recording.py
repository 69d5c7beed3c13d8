"""``record_item``: one scanned item recorded in the caller's transaction (seen key, cursor, findings
by content hash, the sink's sighting). Shared by the runner (an item scanned whole) and the cluster's
scan queue (an item folded from its parts), below both so that neither imports the other.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from leakwatch.log import event as log_event
from leakwatch.models import Item, ScanResult
from leakwatch.sources.state import ContentScanRow, SeenItemRow, state_row
from leakwatch.storage.store import utcnow


class SightingSink(Protocol):
    def record(self, session: Session, item: Item, result: ScanResult) -> None: ...

    def health_changed(self, session: Session, source: str, state: str, reason: str) -> None: ...


def insert_ignore_stmt(session: Session, model: type, values: dict[str, Any]) -> Any:
    """INSERT that leaves an existing row alone (two sources may meet one content at once)."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(model).values(**values).on_conflict_do_nothing()


def record_item(s: Session, source: str, key: str, content_hash: str, item: Item | None, result: ScanResult | None,
                fresh_json: str | None, sink: SightingSink | None, cursor: object = None) -> bool:
    """Record one item in the caller's transaction; False (nothing recorded: roll back) when the
    item was already recorded. The seen-item primary key carries exactly-once across instances
    sharing a database: a second instance inserting the same key waits, then records nothing."""
    values = {"source": source, "key": key, "content_hash": content_hash, "seen_at": utcnow()}
    inserted = s.execute(insert_ignore_stmt(s, SeenItemRow, values).returning(SeenItemRow.key))
    if inserted.first() is None:
        log_event("item_already_recorded", source=source, note="recorded by another instance; not folded again")
        return False
    row = state_row(s, source)
    if cursor:
        row.cursor = str(cursor)
    row.items_seen += 1
    if fresh_json is not None:
        s.execute(insert_ignore_stmt(s, ContentScanRow, {"content_hash": content_hash, "findings": fresh_json,
                                                          "first_source": source, "scanned_at": utcnow()}))
    if sink is not None and item is not None and result is not None:
        sink.record(s, item, result)
    return True
