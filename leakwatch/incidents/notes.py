"""Analyst notes on an incident: what was done and decided (measures taken, who was told). They feed
the DPO's notification draft. Append-only, each with its time and author, for the audit trail: a
note is never edited or deleted, a correction is a new note.

A note is the analyst's own text: it is stored as written and escaped wherever it is rendered.
"""

from __future__ import annotations

import datetime as dt
import getpass

from sqlmodel import Field, Session, SQLModel, select

from leakwatch.errors import InputError
from leakwatch.storage.store import utcnow

MAX_NOTE = 4000


class NoteRow(SQLModel, table=True):
    __tablename__ = "incident_note"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    created_at: dt.datetime = Field(default_factory=utcnow)
    author: str = ""
    """The login of whoever ran ``incidents note`` (or ``--author``)."""
    text: str


def current_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without passwd entry)
        return "unknown"


def clean(text: str) -> str:
    """The note as stored: stripped, non-empty, of bounded length, without control characters
    other than line breaks and tabs."""
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise InputError("note: empty text")
    if len(text) > MAX_NOTE:
        raise InputError(f"note: {len(text)} characters, at most {MAX_NOTE}")
    bad = next((c for c in text if (ord(c) < 32 and c not in "\n\t") or ord(c) == 127), None)
    if bad is not None:
        raise InputError(f"note: control character U+{ord(bad):04X} at position {text.index(bad) + 1}")
    return text


def add_note(session: Session, incident_id: int, text: str, author: str | None = None) -> NoteRow:
    row = NoteRow(incident_id=incident_id, text=clean(text), author=(author or current_user()).strip()[:100])
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def notes_of(session: Session, incident_id: int) -> list[NoteRow]:
    query = select(NoteRow).where(NoteRow.incident_id == incident_id).order_by(NoteRow.id)  # type: ignore[arg-type]
    return list(session.exec(query))


def note_json(row: NoteRow) -> dict[str, object]:
    from leakwatch.storage.store import as_utc

    created = as_utc(row.created_at)
    return {"id": row.id, "incident": row.incident_id, "created_at": created.isoformat() if created else None,
            "author": row.author, "text": row.text}
