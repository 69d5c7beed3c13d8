"""The drop folder with dumps as they are published: a zip larger than the in-memory limit, an
encrypted archive with and without its password, a split 7z; every skip a log line and a metric."""

from __future__ import annotations

import io
import logging
import os
import time
import zipfile
from pathlib import Path

import libarchive
import pytest
from lw_sources import RecordingSink, poll, spec

from leakwatch.detection import terms

TERM_LINE = b"contact: admin@chf-exemple.example.fr\n"


def _age(*paths: Path) -> None:
    old = time.time() - 60
    for p in paths:
        os.utime(p, (old, old))


def _terms_found(sink: RecordingSink) -> int:
    return sum(1 for _, _, findings in sink.records for f in findings if f.type == "term")


def test_a_zip_larger_than_the_memory_limit_is_scanned_not_skipped(home: Path, make_services) -> None:
    svc = make_services(max_item_bytes=1_000_000)
    drop = home / "drop"
    drop.mkdir()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("padding.bin", os.urandom(2_000_000))  # 2 MB, twice the limit
        zf.writestr("users.txt", TERM_LINE)
    (drop / "big.zip").write_bytes(buf.getvalue())
    _age(drop / "big.zip")
    terms.add_term(svc.engine, "chf-exemple.example.fr", "domain")
    sink = RecordingSink()
    report = poll(svc, spec("drop", "folder", expect_new=False, params={"path": "drop", "done": "done"}), sink=sink)
    assert report.scanned == 1 and _terms_found(sink) == 1
    assert (home / "done" / "big.zip").exists()


def test_an_encrypted_archive_is_said_logged_and_counted_then_read_with_the_password(
        home: Path, make_services, caplog: pytest.LogCaptureFixture) -> None:
    svc = make_services()
    drop = home / "drop"
    drop.mkdir()
    locked = home / "locked.zip"
    with libarchive.file_writer(str(locked), "zip", options="encryption=aes256", passphrase="infected") as a:
        a.add_file_from_memory("users.txt", len(TERM_LINE), TERM_LINE)
    os.replace(locked, drop / "locked.zip")
    _age(drop / "locked.zip")
    terms.add_term(svc.engine, "chf-exemple.example.fr", "domain")

    sink = RecordingSink()
    with caplog.at_level(logging.WARNING, logger="leakwatch.runner"):
        report = poll(svc, spec("drop", "folder", expect_new=False, params={"path": "drop"}), sink=sink)
    assert report.scanned == 1 and _terms_found(sink) == 0
    assert any("locked.zip!users.txt: skipped: encrypted: no password given" in e for e in report.errors)
    assert "locked.zip!users.txt: skipped: encrypted: no password given" in caplog.text
    skipped = svc.metrics.registry.get_sample_value("leakwatch_parts_skipped_total",
                                                        {"source": "drop", "reason": "encrypted"})
    assert skipped == 1

    sink = RecordingSink()
    again = spec("drop2", "folder", expect_new=False, passwords=["wrong", "infected"], params={"path": "drop"})
    report = poll(svc, again, sink=sink)  # the same content, not taken for a duplicate of the locked scan
    assert report.scanned == 1 and _terms_found(sink) == 1 and report.errors == []


def test_a_split_7z_is_read_from_its_first_volume_and_moved_whole(home: Path, make_services) -> None:
    svc = make_services()
    drop = home / "drop"
    drop.mkdir()
    built = home / "x.7z"
    with libarchive.file_writer(str(built), "7zip") as a:
        a.add_file_from_memory("users.txt", len(TERM_LINE), TERM_LINE)
    data = built.read_bytes()
    (drop / "dump.7z.001").write_bytes(data[:64])
    (drop / "dump.7z.002").write_bytes(data[64:])
    _age(drop / "dump.7z.001", drop / "dump.7z.002")
    terms.add_term(svc.engine, "chf-exemple.example.fr", "domain")
    sink = RecordingSink()
    report = poll(svc, spec("drop", "folder", expect_new=False, params={"path": "drop", "done": "done"}), sink=sink)
    assert report.scanned == 1 and _terms_found(sink) == 1
    assert sorted(p.name for p in (home / "done").iterdir()) == ["dump.7z.001", "dump.7z.002"]


def test_a_dump_full_of_images_is_one_summary_log_line_not_thousands(
        home: Path, make_services, caplog: pytest.LogCaptureFixture) -> None:
    svc = make_services()
    drop = home / "drop"
    drop.mkdir()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(40):
            zf.writestr(f"photos/{i}.jpg", b"\xff\xd8\xff\xe0" + os.urandom(200) + b"\x00" * 16)
        zf.writestr("users.txt", TERM_LINE)
    (drop / "share.zip").write_bytes(buf.getvalue())
    _age(drop / "share.zip")
    terms.add_term(svc.engine, "chf-exemple.example.fr", "domain")
    sink = RecordingSink()
    with caplog.at_level(logging.WARNING, logger="leakwatch.runner"):
        poll(svc, spec("drop", "folder", expect_new=False, params={"path": "drop"}), sink=sink)
    assert _terms_found(sink) == 1
    lines = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(lines) == 6 and lines[-1].endswith("share.zip: 35 more part(s) skipped: 35 binary")
    counted = svc.metrics.registry.get_sample_value("leakwatch_parts_skipped_total",
                                                        {"source": "drop", "reason": "binary"})
    assert counted == 40
