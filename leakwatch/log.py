"""One log line per event, ``key=value`` on stdout for journald. Never a leaked value: callers pass
counts, refs, source names and URLs of items, never matched text.

    log.event("sighting", incident=12, source="drop", records=40)
    -> ts=2026-11-29T18:50:02Z level=info event=sighting incident=12 source=drop records=40
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from typing import Any

from leakwatch.display import printable

LOGGER = "leakwatch"
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@+,%*")


def _quote(value: object) -> str:
    text = value.isoformat() if isinstance(value, dt.datetime) else str(value)
    text = printable(text.replace("\n", " ").replace("\r", " "))
    if text and all(c in _SAFE for c in text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class KeyValueFormatter(logging.Formatter):
    """``ts=… level=… event=… k=v``; stdlib records from libraries become ``event=log msg="…"``."""

    def format(self, record: logging.LogRecord) -> str:
        ts = dt.datetime.fromtimestamp(record.created, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        fields: dict[str, Any] = getattr(record, "kv", None) or {"event": "log", "logger": record.name,
                                                                 "msg": record.getMessage()}
        parts = [f"ts={ts}", f"level={record.levelname.lower()}"]
        parts += [f"{k}={_quote(v)}" for k, v in fields.items() if v is not None]
        return " ".join(parts)


class _CommandFormatter(logging.Formatter):
    """A command's warning as one line for the analyst: ``leakwatch: warning: EVENT k=v``."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] | None = getattr(record, "kv", None)
        if fields:
            body = " ".join([str(fields.get("event")), *(f"{k}={_quote(v)}" for k, v in fields.items()
                                                          if k != "event" and v is not None)])
        else:
            body = printable(record.getMessage())
        return f"leakwatch: {record.levelname.lower()}: {body}"


class _Stderr(logging.Handler):
    """Writes to the ``sys.stderr`` of the moment (a host may swap it), not to the one it was made with."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # logging's own contract: never raise from a handler
            self.handleError(record)


def command_setup() -> None:
    """A command's warnings and errors on stderr, one line each, until ``setup`` (the daemon) takes
    over: without it Python prints a bare event name (``term_not_watched``), fields lost."""
    root = logging.getLogger(LOGGER)
    if any(getattr(h, "_leakwatch", False) or getattr(h, "_leakwatch_command", False) for h in root.handlers):
        return
    handler = _Stderr(logging.WARNING)
    handler.setFormatter(_CommandFormatter())
    handler._leakwatch_command = True  # type: ignore[attr-defined]
    root.addHandler(handler)


def setup(level: int = logging.INFO) -> None:
    """Send leakwatch's events to stdout, one line each; quiet libraries to warnings."""
    root = logging.getLogger(LOGGER)
    root.handlers[:] = [h for h in root.handlers if not getattr(h, "_leakwatch_command", False)]
    root.setLevel(level)
    if any(getattr(h, "_leakwatch", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(KeyValueFormatter())
    handler._leakwatch = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    # Apprise's own messages are captured per send (incidents/alerts.py); APScheduler's are replaced by ours.
    for name in ("apprise", "apscheduler"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def event(name: str, level: int = logging.INFO, **fields: object) -> None:
    """Log one event with its fields (``None`` fields are left out)."""
    logging.getLogger(LOGGER).log(level, name, extra={"kv": {"event": name, **fields}})


def warning(name: str, **fields: object) -> None:
    event(name, logging.WARNING, **fields)


def error(name: str, **fields: object) -> None:
    event(name, logging.ERROR, **fields)
