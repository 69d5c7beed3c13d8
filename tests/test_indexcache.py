"""The fingerprint index mapped from files in the home (shared by scan workers): written at first
load, read back by later processes, replaced on re-import, removed with its dataset."""

from __future__ import annotations

import stat
from pathlib import Path

from conftest import SCHEMA, Cli
from synth import Person, leak_csv_semicolon, to_csv


def _dirs(cli: Cli) -> list[Path]:
    root = cli.home / "index"
    return sorted(p for p in root.iterdir() if not p.name.startswith(".")) if root.is_dir() else []


def test_the_index_is_written_once_mapped_after_and_follows_the_datasets(imported: Cli, crowd: list[Person],
                                                                           tmp_path: Path) -> None:
    leak = tmp_path / "leak.csv"
    leak.write_text(leak_csv_semicolon(crowd[:3]))
    first = imported("scan", str(leak), "--json", check=1).stdout
    [written] = _dirs(imported)
    assert {p.name for p in written.iterdir()} == {"hashes.npy", "recs.npy", "kinds.json"}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in written.iterdir())
    # A second process maps the same files and finds the same records.
    assert imported("scan", str(leak), "--json", check=1).stdout == first
    assert _dirs(imported) == [written]

    # A re-import writes the new fingerprints and removes the old ones.
    csv_path = tmp_path / "again.csv"
    csv_path.write_text(to_csv(crowd[:3]), encoding="utf-8")
    imported("fingerprints", "import", str(csv_path), "--schema", str(SCHEMA), check=0)
    assert imported("scan", str(leak), "--json", check=1).stdout == first
    [rewritten] = _dirs(imported)
    assert rewritten != written

    imported("fingerprints", "delete", "patients", check=0)
    assert _dirs(imported) == []
    assert imported("scan", str(leak), "--json", check=0).stdout == ""
