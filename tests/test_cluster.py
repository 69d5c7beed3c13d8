"""The shared scan queue's cut of a large file, and ``leakwatch status`` on SQLite (one instance)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from conftest import Cli

from leakwatch.cluster import cut


def test_parts_end_at_line_ends_and_overlap_the_part_before(tmp_path: Path) -> None:
    lines = [f"{n:06d};DUPONT;Jeanne;{n % 28 + 1:02d}/03/1971;{'x' * (n % 97)}\n".encode() for n in range(20_000)]
    data = b"".join(lines)
    path = tmp_path / "dump.csv"
    path.write_bytes(data)
    parts = cut(path, len(data), 64 * 1024, 4096)
    assert len(parts) == len(data) // (64 * 1024) + 1
    assert parts[0][0] == 0 and parts[-1][1] == len(data)
    for (_, end, _), (start, _, _) in itertools.pairwise(parts):
        assert start == end and data[end - 1:end] == b"\n"  # contiguous, cut after a line end
    for start, _, scan_from in parts[1:]:
        assert start - 4096 - 200 <= scan_from <= start - 4096  # the overlap, back to a line start
        assert data[scan_from - 1:scan_from] == b"\n"


def test_a_line_longer_than_a_part_stays_whole(tmp_path: Path) -> None:
    data = b"INSERT INTO t VALUES " + b",".join(b"(1,'a')" for _ in range(50_000)) + b";\nend\n"
    path = tmp_path / "one-line.sql"
    path.write_bytes(data)
    parts = cut(path, len(data), 16 * 1024, 4096)
    assert [(a, b) for a, b, _ in parts] == [(0, len(data) - 4), (len(data) - 4, len(data))]


def test_status_on_sqlite_lists_the_sources_without_instances(cli: Cli) -> None:
    cli("init", check=0)
    (cli.home / "config.toml").write_text('[[sources]]\nname = "drop"\ndriver = "folder"\nenabled = true\n'
                                          f'interval = "30s"\nparams = {{ path = "{cli.home}" }}\n')
    st = json.loads(cli("status", "--json", check=0).stdout)
    assert st["database"] == "sqlite" and st["instances"] == []
    assert [(s["source"], s["interval"], s["last_poll"]) for s in st["sources"]] == [("drop", 30.0, None)]
    text = cli("status", check=0).stdout
    assert "SQLite, one instance" in text and "drop" in text
