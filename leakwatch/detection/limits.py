"""``Limits``: what reading one item may cost (size, expansion, depth, time) and the passwords to
try. Its own module so that documents and the readers it calls (office) both import it without
importing each other."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_item_bytes: int = 50 * 1024 * 1024
    max_expanded_bytes: int = 1024 * 1024 * 1024
    max_expansion_ratio: int = 200
    max_depth: int = 3
    passwords: tuple[str, ...] = ()
    """Tried on encrypted archives and documents, in order."""
    spool_dir: str | None = None
    """Private directory for unnamed temporary files; None: the system's."""
    max_document_seconds: float = 120.0
    """Time allowed to extract one office document's or PDF's text."""
