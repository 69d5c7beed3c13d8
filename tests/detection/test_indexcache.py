"""The fingerprint index mapped from files in the home (shared by scan workers): written at first
load, read back by later processes, replaced on re-import, removed with its dataset."""

from __future__ import annotations

import shutil
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


def test_each_dataset_is_mapped_under_its_own_key_version_and_a_wrong_key_maps_nothing(
        imported: Cli, crowd: list[Person], tmp_path: Path) -> None:
    leak = tmp_path / "leak.csv"
    leak.write_text(leak_csv_semicolon(crowd[:3]))
    first = imported("scan", str(leak), "--json", check=1).stdout
    [v1_files] = _dirs(imported)

    # After a rotation the dataset made under version 1 is still mapped from its files and found.
    imported("key", "rotate", check=0)
    assert imported("scan", str(leak), "--json", check=1).stdout == first
    assert _dirs(imported) == [v1_files]
    # Re-imported under version 2: new files, hashed with the new version, the same records found.
    csv_path = tmp_path / "again.csv"
    csv_path.write_text(to_csv(crowd[:3]), encoding="utf-8")
    imported("fingerprints", "import", str(csv_path), "--schema", str(SCHEMA), check=0)
    assert imported("scan", str(leak), "--json", check=1).stdout == first
    [v2_files] = _dirs(imported)
    assert v2_files != v1_files

    # A stranger's key is refused before any index is loaded: the files stay as they were.
    shutil.rmtree(imported.home / "index")
    wrong = tmp_path / "other.key"
    wrong.write_bytes(bytes(range(32)))
    wrong.chmod(0o600)
    imported.env["LEAKWATCH_KEY_FILE"] = str(wrong)
    res = imported("scan", str(leak), "--json", check=2)
    assert res.stdout == "" and "wrong key" in res.stderr
    assert _dirs(imported) == []
