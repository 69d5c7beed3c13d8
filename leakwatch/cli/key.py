"""``key show|list|rotate|retire``: the versions of the key, and what uses them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from leakwatch.cli.common import JSON_OPTION, err, fail, one_line_errors, out, print_json, services
from leakwatch.display import printable
from leakwatch.errors import LeakwatchError

if TYPE_CHECKING:
    from leakwatch.app import Services
    from leakwatch.keys import Keyring

app = typer.Typer(help=(
    "The key's versions: show them, rotate to a new one, retire an old one.\n\n"
    "Rotation: leakwatch key rotate; re-import each dataset under the new version (leakwatch "
    "fingerprints import ...); then leakwatch key retire OLD. Datasets not yet re-imported keep "
    "working under their version meanwhile."), no_args_is_help=True)


def _status(svc: Services, keyring: Keyring) -> dict[int, dict[str, object]]:
    from leakwatch.datasets import keycheck
    from leakwatch.storage import store

    rows = store.datasets(svc.engine)
    bad = {p.dataset: p.expected_id for p in keycheck.problems(rows, keyring)}
    out_: dict[int, dict[str, object]] = {
        k.version: {"version": k.version, "key_id": k.key_id, "created": k.created or None,
                    "current": k is keyring.current, "in_key_file": True, "datasets": [], "records": 0,
                    "mismatched": []} for k in keyring.keys}
    for row in rows:
        entry = out_.setdefault(row.key_version, {
            "version": row.key_version, "key_id": row.key_id, "created": None, "current": False,
            "in_key_file": False, "datasets": [], "records": 0, "mismatched": []})
        entry["datasets"].append(row.name)  # type: ignore[attr-defined]
        entry["records"] = int(entry["records"]) + row.record_count  # type: ignore[call-overload]
        if row.name in bad:
            entry["mismatched"].append(f"{row.name} (made with key id {bad[row.name]})")  # type: ignore[attr-defined]
    return dict(sorted(out_.items()))


@one_line_errors
def show(as_json: bool = JSON_OPTION) -> None:
    """Which key file was read, its versions (id, creation, current) and the datasets under each.

    Never refuses a wrong key: it is the command that tells which key a file holds. Point it at
    another file with LEAKWATCH_KEY_FILE=PATH to read that file's key ids."""
    svc = services()
    keyring = svc.keyring
    status = _status(svc, keyring)
    if as_json:
        print_json({"key_file": str(keyring.path), "source": keyring.origin, "current": keyring.current.version,
                    "versions": list(status.values())})
        return
    out.print(f"key file  {printable(keyring.describe())}")
    out.print(f"current   version {keyring.current.version}, key id {keyring.current.key_id}")
    table = Table()
    for column in ("version", "key id", "created", "datasets", "records", "state"):
        table.add_column(column)
    for v in status.values():
        datasets: list[str] = v["datasets"]  # type: ignore[assignment]
        mismatched: list[str] = v["mismatched"]  # type: ignore[assignment]
        state = ("WRONG KEY for " + ", ".join(mismatched) if mismatched and v["in_key_file"]
                 else "MISSING from the key file" if not v["in_key_file"]
                 else "current" if v["current"] else "in use" if datasets else "unused: can be retired")
        table.add_row(str(v["version"]), str(v["key_id"] or "unknown"), str(v["created"] or "-"),
                      printable(", ".join(datasets)) or "-", str(v["records"]), state)
    out.print(table)


app.command("show")(show)
app.command("list", help="The same as: leakwatch key show.")(show)


def _writable(keyring: Keyring) -> None:
    if keyring.read_only:
        raise LeakwatchError(
            f"{keyring.describe()} is a read-only copy made by systemd; change the file it is loaded from, "
            "as root: LEAKWATCH_KEY_FILE=/etc/leakwatch/key leakwatch key ... (see docs/keys.md)")


@app.command("rotate")
@one_line_errors
def rotate(as_json: bool = JSON_OPTION) -> None:
    """Add a new key version to the key file; new imports use it from now on.

    Datasets fingerprinted under older versions keep working until they are re-imported. Then
    retire the old version (leakwatch key retire VERSION). A running daemon reads the new version
    when restarted (systemctl restart leakwatch): restart it before re-importing."""
    from leakwatch import keys
    from leakwatch.storage import audit, store
    from leakwatch.storage.store import utcnow

    svc = services()
    with keys.locked(svc.key_path):
        svc.__dict__.pop("keyring", None)
        keyring = svc.keyring
        _writable(keyring)
        svc.verify_key()  # never add a version to the wrong key file
        old = keyring.current
        new = keys.new_key(old.version + 1, utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"))
        keys.write_keyring(keyring.path, (*keyring.keys, new))
    audit.record_now(svc.engine, "key_rotate", key_version=new.version, key_id=new.key_id,
                     previous_version=old.version, key_source=keyring.origin)
    stale = [r for r in store.datasets(svc.engine) if r.key_version != new.version]
    if as_json:
        print_json({"version": new.version, "key_id": new.key_id, "key_file": str(keyring.path),
                    "to_reimport": [{"dataset": r.name, "purpose": r.purpose, "key_version": r.key_version,
                                     "records": r.record_count, "source": r.source_name} for r in stale]})
        return
    out.print(f"key version {new.version} (key id {new.key_id}) added to {printable(keyring.describe())}; "
              "new imports use it")
    if stale:
        out.print("still under older versions; re-import each, then retire the old version:")
        for r in stale:
            how = ("a canary: plant new canaries, then delete it" if r.purpose == "canary"
                   else f"re-import from its export ({printable(r.source_name) or 'the source file'})")
            out.print(f"  {printable(r.name)}: version {r.key_version}, {r.record_count} records; {how}")
        out.print(f"  then: leakwatch key retire {old.version}")
    err.print("leakwatch: note: a running daemon holds the old key file; restart it before re-importing",
              markup=False)


@app.command("retire")
@one_line_errors
def retire(version: int = typer.Argument(..., help="The key version to remove from the key file.")) -> None:
    """Remove an old key version from the key file, once no dataset uses it.

    Refused for the current version, and for a version some dataset was fingerprinted under:
    re-import those datasets first (leakwatch fingerprints list shows each one's version)."""
    from leakwatch import keys
    from leakwatch.datasets import keycheck
    from leakwatch.storage import audit

    svc = services()
    with keys.locked(svc.key_path):
        svc.__dict__.pop("keyring", None)
        keyring = svc.keyring
        key = keyring.get(version)
        if key is None:
            raise fail(f"{keyring.describe()} has no key version {version} (it holds {keyring.versions()})")
        if key is keyring.current:
            raise fail(f"key version {version} is the current one; rotate first (leakwatch key rotate)")
        _writable(keyring)
        users = keycheck.usage(svc.engine).get(version, [])
        if users:
            names = ", ".join(repr(r.name) for r in users)
            raise fail(f"key version {version} is still used by {len(users)} dataset(s): {names}; "
                       "re-import them under the current version first (leakwatch fingerprints import)")
        svc.verify_key()
        keys.write_keyring(keyring.path, tuple(k for k in keyring.keys if k.version != version))
    audit.record_now(svc.engine, "key_retire", key_version=version, key_id=key.key_id, key_source=keyring.origin)
    out.print(f"key version {version} (key id {key.key_id}) removed from {printable(keyring.describe())}")
