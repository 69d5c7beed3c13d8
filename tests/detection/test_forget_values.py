"""Values read from a document or an import are not kept once it is done (the normalisers' caches,
the matcher's normal forms of words): a long-lived daemon holds nothing of the documents it scanned
before, an import's process nothing of the rows it read, whatever the way it ends."""

from __future__ import annotations

from pathlib import Path

from conftest import SCHEMA, Cli
from synth import Person, leak_csv_semicolon, leak_prose, to_csv

from leakwatch.detection import normalise
from leakwatch.detection.fingerprints import name_affixes
from leakwatch.detection.records import view


def _held() -> dict[str, int]:
    return {fn.__name__: fn.cache_info().currsize for fn in normalise.VALUE_CACHES if fn.cache_info().currsize}


def test_the_caches_are_the_value_ones() -> None:
    names = {fn.__name__ for fn in normalise.VALUE_CACHES}
    assert {"phone", "french_country_code", "_plausible_dates"} <= names
    assert name_affixes in normalise.VALUE_CACHES


def test_nothing_of_a_scanned_document_is_held_after_its_scan(imported: Cli, crowd: list[Person],
                                                              tmp_path: Path) -> None:
    leak = tmp_path / "leak.txt"
    leak.write_text(leak_csv_semicolon(crowd[:20]) + "\n" + leak_prose(crowd[20:25]), encoding="utf-8")
    found = imported("scan", str(leak), "--json", check=1)
    assert '"ref"' in found.stdout  # the scan did read names, phones and dates
    assert _held() == {}
    assert view._NORMAL == {}  # the normal names of the CSV's records


def test_nothing_of_an_import_is_held_after_it_ends(cli: Cli, crowd: list[Person], tmp_path: Path) -> None:
    cli("init", check=0)
    rows = tmp_path / "patients.csv"
    rows.write_text(to_csv(crowd[:50]), encoding="utf-8")
    cli("fingerprints", "import", str(rows), "--schema", str(SCHEMA), "--workers", "1", check=0)
    assert _held() == {}
    rows.write_text(to_csv(crowd[:50]) + "not;a;row;\n" * 3, encoding="utf-8")
    cli("fingerprints", "import", str(rows), "--schema", str(SCHEMA), "--workers", "1", "--strict", check=2)
    assert _held() == {}
