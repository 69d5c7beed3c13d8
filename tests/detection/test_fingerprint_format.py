"""The stored fingerprint forms are a file format: a fixed key and record give fixed bytes, whoever
writes them (the importer, through ``Hasher``) and whatever order the kinds are listed in."""

from __future__ import annotations

from pathlib import Path

from leakwatch.datasets.importer import RecordFingerprinter
from leakwatch.datasets.schema import load_schema
from leakwatch.detection.fingerprints import SCOPED_CODES, Hasher, decode_scoped, encode_scoped, split_qgrams

SCHEMA = Path(__file__).resolve().parents[2] / "fingerprints" / "patients.example.toml"
KEY = bytes(range(32))
SALT = bytes(16)
ROW = {"ipp": "IPP0001", "nir": "284057511234528", "last_name": "Lefèvre", "first_name": "Zoé",
       "birth_date": "12/05/1984", "email": "zoe.lefevre@example.org", "phone": "06 12 34 56 78",
       "postcode": "75012"}
# Written by the release before Hasher became the one writer (commit 23c7443): databases hold these.
GOLDEN_SCOPED_BEFORE_EXACT = ("00200055725c22c24bb3bd6801b6ff21d86ef0151e8fd9f77b7ff57a4fc338ccb65e5a011000697740724"
                              "fa61a4fbb9e65a52a69d79a020800a79d7f758c0cb929050800da1943ef94ce5de0030800d1d684f10777e78c")
# The same record since names have their exact form too (December 2026): each name's part is followed
# by its exact form, every other byte as before.
GOLDEN_SCOPED = ("00200055725c22c24bb3bd6801b6ff21d86ef0151e8fd9f77b7ff57a4fc338ccb65e5a060800abbbd0d537a04334"
                 "011000697740724fa61a4fbb9e65a52a69d79a070800c84a6670d7b71222020800a79d7f758c0cb929050800da1943ef94"
                 "ce5de0030800d1d684f10777e78c")
GOLDEN_GLOBAL = [("nir", "06ff26edfef516ff"), ("email", "c53d90748a4bc7db"), ("phone", "9f6dd5b66620f166"),
                 ("date_names", "b0760ea27ec52c9b"), ("date_names", "a561df9d16f7b664"),
                 ("known_last_name", "23e15165583f0bb6"), ("known_first_name", "b0127cccbe0116e8")]


def fingerprint() -> tuple[str, bytes, list[tuple[str, bytes]]]:
    fp = RecordFingerprinter(KEY, load_schema(SCHEMA), "FR")
    ref, _, blob, global_fps, _ = fp._fingerprint(1, tuple(ROW.get(c, "") for c in fp.columns), SALT)
    return ref, blob, global_fps


def test_a_fixed_key_and_record_give_fixed_bytes() -> None:
    ref, blob, global_fps = fingerprint()
    assert ref == "IPP0001"
    assert blob.hex() == GOLDEN_SCOPED
    assert [(kind, d.hex()) for kind, d in global_fps] == GOLDEN_GLOBAL


def test_the_exact_name_forms_were_added_and_nothing_else_changed() -> None:
    """Records imported before the exact name forms hold every other part unchanged (they are
    matched with bigrams alone: tests/detection/records/test_older_imports.py)."""
    _, blob, _ = fingerprint()
    parts = decode_scoped(blob)
    older = {k: v for k, v in parts.items() if k not in ("last_name_exact", "first_name_exact")}
    assert encode_scoped(older).hex() == GOLDEN_SCOPED_BEFORE_EXACT


def test_the_matcher_reads_what_the_importer_wrote() -> None:
    """The scanner recomputes a record's forms from text with the same Hasher and compares."""
    _, blob, global_fps = fingerprint()
    h = Hasher(KEY, "patients")
    parts = decode_scoped(blob)
    assert list(parts) == ["last_name", "last_name_exact", "first_name", "first_name_exact", "first_initial", "date",
                           "postcode"]
    assert parts["last_name_exact"] == h.scoped_exact("last_name_exact", SALT, "lefevre")
    assert parts["first_name_exact"] == h.scoped_exact("first_name_exact", SALT, "zoe")
    assert parts["date"] == h.scoped_exact("date", SALT, "1984-05-12")
    assert parts["postcode"] == h.scoped_exact("postcode", SALT, "75012")
    assert parts["first_initial"] == h.scoped_exact("first_initial", SALT, "z")
    assert split_qgrams(parts["last_name"]) == split_qgrams(h.scoped_qgrams("last_name", SALT, "lefevre"))
    assert dict(global_fps)["nir"] == h.global_digest("nir", "284057511234528")
    assert h.record_scoped(SALT, {"last_name": "lefevre", "first_name": "zoe", "date": "1984-05-12",
                                  "postcode": "75012"}) == blob
    assert encode_scoped(parts) == blob


def test_kind_codes_are_pinned_not_positions() -> None:
    """Codes are in every stored record: they never move, and no two kinds share one."""
    assert SCOPED_CODES == {"last_name": 0, "first_name": 1, "first_initial": 2, "postcode": 3, "city": 4, "date": 5,
                            "last_name_exact": 6, "first_name_exact": 7}
    assert len(set(SCOPED_CODES.values())) == len(SCOPED_CODES)


def test_an_unknown_code_is_skipped_not_misread() -> None:
    """A record written by a later release with a new kind still decodes here, without that kind."""
    blob = encode_scoped({"postcode": b"\x01" * 8}) + bytes([200, 2, 0]) + b"\xff\xff"
    assert decode_scoped(blob) == {"postcode": b"\x01" * 8}
