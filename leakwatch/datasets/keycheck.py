"""The key check: is the key file read the one the database's datasets were fingerprinted with?

A different key (a restored backup, a wrong ``LEAKWATCH_KEY_FILE``, a systemd credential that
differs from the CLI's key) would make every lookup miss: silent blindness. Each dataset stores its
key version and that version's check (``keys.Key.check``); every command that uses the key compares
them first and refuses with one line naming the key read and the key expected, by id.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from leakwatch.incidents.alerts import Alert
from leakwatch.keys import HINT, KeyMismatch, Keyring
from leakwatch.storage import audit, store
from leakwatch.storage.store import DatasetRow


@dataclass(frozen=True)
class Problem:
    dataset: str
    version: int
    expected_id: str | None
    read_id: str | None
    """The id of the keyring's key of that version; None when the keyring lacks the version."""


def problems(datasets: list[DatasetRow], keyring: Keyring) -> list[Problem]:
    """The datasets whose key version is missing from ``keyring`` or whose check differs."""
    out = []
    for row in datasets:
        if row.key_check is None:
            continue  # imported before key checks: see unchecked()
        key = keyring.get(row.key_version)
        if key is None or key.check != row.key_check:
            out.append(Problem(row.name, row.key_version, row.key_id, key.key_id if key else None))
    return out


def unchecked(datasets: list[DatasetRow]) -> list[str]:
    """Datasets imported before key checks existed: re-import them to have them checked."""
    return [row.name for row in datasets if row.key_check is None]


def unchecked_note(engine: Engine) -> str | None:
    """A note for datasets imported before key checks existed, or None."""
    old = unchecked(store.datasets(engine))
    if not old:
        return None
    return (f"dataset(s) {', '.join(map(repr, old))} imported before key checks: a wrong key would go "
            "unnoticed for them; re-import them (leakwatch fingerprints import)")


def message(keyring: Keyring, found: list[Problem]) -> str:
    first = found[0]
    more = f" (and {len(found) - 1} other dataset(s))" if len(found) > 1 else ""
    if first.read_id is None:
        read = f"holds no key version {first.version} (it holds {keyring.versions()})"
    else:
        read = f"holds key id {first.read_id} as version {first.version}"
    return (f"wrong key: {keyring.describe()} {read}, but dataset {first.dataset!r}{more} was fingerprinted "
            f"under key version {first.version}, key id {first.expected_id or 'unknown'}; {HINT}")


def verify(engine: Engine, keyring: Keyring) -> None:
    """Raise ``KeyMismatch`` (exit 2, one line) unless every checked dataset's key is in ``keyring``.
    A refusal is written to the audit trail."""
    found = problems(store.datasets(engine), keyring)
    if not found:
        return
    first = found[0]
    with contextlib.suppress(Exception):  # the refusal matters more than its audit row
        audit.record_now(engine, "key_refused", quiet_for=3600, dataset=first.dataset, key_version=first.version,
                         read_key_id=first.read_id or keyring.current.key_id, expected_key_id=first.expected_id,
                         read_versions=[k.version for k in keyring.keys], datasets=len(found),
                         key_source=keyring.origin)
    exc = KeyMismatch(message(keyring, found))
    exc.problems = found  # type: ignore[attr-defined]
    raise exc


def usage(engine: Engine) -> dict[int, list[DatasetRow]]:
    """The datasets of each key version."""
    out: dict[int, list[DatasetRow]] = {}
    for row in store.datasets(engine):
        out.setdefault(row.key_version, []).append(row)
    return out


def refusal_alert(msg: str, found_read: str | None, expected: str | None, day: str) -> Alert:
    """The operator alert of a daemon that refused to start: one per key pair and day (systemd
    restarts a failed service every few seconds)."""
    return Alert(key=f"key-mismatch:{found_read}:{expected}:{day}", kind="operator", severity="high",
                 title="[leakwatch] wrong key: the daemon refused to start",
                 body=f"{msg}\n\nNothing is being watched until the right key is given. Check with: leakwatch doctor")
