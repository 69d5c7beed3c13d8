"""A database another process keeps locked: one line naming the file and, where /proc tells, who
has it open; never "internal error"."""

from __future__ import annotations

import os
from pathlib import Path

from leakwatch.errors import LeakwatchError

EXIT_BUSY = 75
"""sysexits' EX_TEMPFAIL: try again later (documented in the README)."""


class DatabaseBusy(LeakwatchError):
    exit_code = EXIT_BUSY


def is_busy(exc: BaseException) -> bool:
    """SQLite's "database is locked" (past busy_timeout) or PostgreSQL's lock_timeout."""
    from leakwatch.storage.store import is_busy as locked  # lazy: the CLI's entry point imports this module

    return locked(exc)


def holders(path: Path) -> list[tuple[int, str]]:
    """Other processes that have ``path`` (or its -wal/-shm) open, as far as /proc lets us see."""
    wanted = {str(path.resolve()), *(str(path.resolve()) + s for s in ("-wal", "-shm", "-journal"))}
    found: list[tuple[int, str]] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target in wanted:
                try:
                    cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                except OSError:
                    cmd = ""
                found.append((int(entry.name), " ".join(cmd.split())[:80] or "?"))
                break
    return sorted(found)


def busy_error(url: str, timeout: float) -> DatabaseBusy:
    from leakwatch.display import printable
    from leakwatch.storage.store import safe_url

    where = safe_url(url)
    who = ""
    if url.startswith("sqlite:///"):
        where = url.removeprefix("sqlite:///")
        seen = holders(Path(where))
        if seen:
            who = "; open in " + ", ".join(f"pid {pid} ({printable(cmd)})" for pid, cmd in seen[:5])
    return DatabaseBusy(f"{where}: database is busy: still locked by another process after waiting "
                        f"{timeout:g}s (database_busy_timeout){who}; try again when it is done")
