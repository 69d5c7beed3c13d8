"""When a scan starts its worker processes: for an item of ``scan_parallel_from`` bytes or more, not
for a smaller one (starting them costs more than they save); either way the same findings."""

from __future__ import annotations

import shutil
from pathlib import Path

from synth import Person, leak_csv_semicolon

from leakwatch import pipeline
from leakwatch.app import build
from leakwatch.models import Item


def _item(crowd: list[Person]) -> tuple[Item, set[str]]:
    """About 3 MB: over two parts, so its one document would go to workers that are running."""
    filler = "ligne de bruit sans donnée personnelle, rien à signaler ici\n" * 9000
    planted = crowd[140:152]
    text = "".join(filler + leak_csv_semicolon(planted[i : i + 2]) for i in range(0, len(planted), 2))
    return Item(source="test", key="dump.txt", content=text.encode(), name="dump.txt"), {p.ipp for p in planted}


def test_workers_start_for_a_large_item_only(imported_with_repeats: Path, crowd: list[Person],
                                             tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(imported_with_repeats, home)
    item, planted = _item(crowd)
    assert 2 * 1024 * 1024 < len(item.content) < 8 * 1024 * 1024
    results = {}
    for threshold in (8 * 1024 * 1024, 2 * 1024 * 1024):
        svc = build(home=home, scan_workers=2, scan_parallel_from=threshold)
        try:
            result = pipeline.scan_item(svc, item)
            results[threshold] = {(f.ref, f.fields, f.confidence) for f in result.findings if f.type == "record"}
            started = svc.scan_pool(start=False) is not None
        finally:
            svc.close()
        assert started == (threshold <= len(item.content))
    assert {ref for ref, _, _ in results[8 * 1024 * 1024]} == planted
    assert results[8 * 1024 * 1024] == results[2 * 1024 * 1024]
