"""``audit``: who imported, deleted, planted, changed terms or keys, and when."""

from __future__ import annotations

import datetime as dt
import json

import typer

from leakwatch.cli.common import JSON_OPTION, err, one_line_errors, out, print_json, services
from leakwatch.display import printable
from leakwatch.errors import InputError


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)


@one_line_errors
def audit(
    as_json: bool = JSON_OPTION,
    action: str | None = typer.Option(None, "--action", "-a", help="Only this action (import, delete, "
                                      "canary_create, term_add, term_update, term_remove, key_create, "
                                      "key_rotate, key_retire, key_refused)."),
    dataset: str | None = typer.Option(None, "--dataset", "-d", help="Only this dataset."),
    since: str | None = typer.Option(None, "--since", help="Only from this date or time (ISO 8601, UTC)."),
    limit: int = typer.Option(1000, "--limit", "-n", help="At most this many, the newest."),
) -> None:
    """The audit trail: each import, dataset deletion, canary creation, watch-term change and key
    operation (rotation, retirement, a key refused), with who (user, uid), where (host) and when.

    It holds counts and dataset names, never a record's value, a term's text or a key. Written in
    the same transaction as the change, so a change without its audit row cannot happen."""
    from leakwatch.storage import audit as trail

    if action is not None and action not in trail.ACTIONS:
        raise InputError(f"--action must be one of {', '.join(trail.ACTIONS)}, not {action!r}")
    start = None
    if since is not None:
        try:
            start = dt.datetime.fromisoformat(since)
        except ValueError:
            raise InputError(f"--since {since!r}: expected an ISO 8601 date or time (2026-11-30)") from None
        start = start.replace(tzinfo=dt.UTC) if start.tzinfo is None else start
    rows = trail.rows(services().engine, action=action, dataset=dataset, since=start, limit=limit)
    if as_json:
        for row in rows:
            print_json(trail.to_json(row))
        return
    if not rows:
        err.print("leakwatch: note: no audit entry matches", markup=False)
    for row in rows:  # one line each, like a log: grep-able, never cut to the terminal's width
        details = " ".join(f"{k}={_text(v)}" for k, v in json.loads(row.details or "{}").items())
        parts = [row.at.strftime("%Y-%m-%d %H:%M:%SZ"), f"{row.action:<13}", f"{row.actor} uid={row.uid}",
                 f"host={row.host}"]
        if row.dataset is not None:
            parts.append(f"dataset={row.dataset}")
        if row.key_version is not None:
            parts.append(f"key_version={row.key_version}")
        out.print(printable("  ".join([*parts, details]).rstrip()))


def _text(value: object) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).replace(" ", "_") if value is not None else "-"
