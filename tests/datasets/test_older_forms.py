"""A dataset an older release imported lacks forms this one writes; it is matched with what it has,
and what it lacks is said: ``fingerprints list``, ``doctor``, and a log line when an index loads.
Without the name + date keys, names and a birth date with no identifier are never matched: a monitor
blind to that must say so, not stay silent."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, delete, select, update
from synth import Person, fr_date, strip_accents

from leakwatch.detection.fingerprints import BLOCK_KIND, EXACT_NAME, KNOWN_NAME_KINDS, decode_scoped, encode_scoped
from leakwatch.storage.store import FingerprintChunk, RecordRow


def _db(cli) -> object:  # type: ignore[no-untyped-def]
    return create_engine(f"sqlite:///{cli.home / 'leakwatch.db'}")


def _strip_exact_forms(cli) -> None:  # type: ignore[no-untyped-def]
    with _db(cli).begin() as conn:  # type: ignore[attr-defined]
        for rec_no, blob in conn.execute(select(RecordRow.rec_no, RecordRow.scoped)).all():
            kept = {k: v for k, v in decode_scoped(blob).items() if k not in EXACT_NAME.values()}
            conn.execute(update(RecordRow).where(RecordRow.rec_no == rec_no).values(scoped=encode_scoped(kept)))


def _strip_kinds(cli, kinds: list[str]) -> None:  # type: ignore[no-untyped-def]
    with _db(cli).begin() as conn:  # type: ignore[attr-defined]
        conn.execute(delete(FingerprintChunk).where(FingerprintChunk.kind.in_(kinds)))  # type: ignore[attr-defined]


def _listed(cli) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return json.loads(cli("fingerprints", "list", "--json", check=0).stdout)


def test_a_current_import_lacks_nothing(imported) -> None:  # type: ignore[no-untyped-def]
    assert _listed(imported)["missing_forms"] == []
    doctor = imported("doctor", "--json")
    assert not any(json.loads(line)["check"] == "dataset" for line in doctor.stdout.splitlines())


def test_without_exact_name_forms_only_speed_is_lost_and_said(imported) -> None:  # type: ignore[no-untyped-def]
    _strip_exact_forms(imported)
    assert _listed(imported)["missing_forms"] == ["exact name forms"]
    checks = [json.loads(line) for line in imported("doctor", "--json").stdout.splitlines()]
    dataset = [c for c in checks if c["check"] == "dataset"]
    assert len(dataset) == 1 and dataset[0]["ok"] and "re-import" in dataset[0]["detail"]


def test_without_name_date_keys_the_blindness_is_said_everywhere(imported, crowd: list[Person],  # type: ignore[no-untyped-def]
                                                                 tmp_path) -> None:
    _strip_kinds(imported, [BLOCK_KIND, *KNOWN_NAME_KINDS.values()])
    assert _listed(imported)["missing_forms"] == ["name + date keys", "known names"]
    listed = imported("fingerprints", "list", check=0)
    assert "re-import" in listed.stdout and "never matched" in listed.stderr
    doctor = imported("doctor", "--json")
    assert doctor.returncode == 1
    failed = [json.loads(line) for line in doctor.stdout.splitlines() if not json.loads(line)["ok"]]
    assert [c["check"] for c in failed] == ["dataset"]
    assert "never matched" in failed[0]["detail"] and failed[0]["target"] == "patients"
    # A scan finds nothing by names and birth date, and says why on its log.
    p = next(p for p in crowd if p.birth_date and p.last_name and p.first_name)
    paste = tmp_path / "paste.txt"
    paste.write_text(f"{strip_accents(p.last_name).upper()} {p.first_name} {fr_date(p.birth)}\n", encoding="utf-8")
    scan = imported("scan", str(paste), "--json", check=0)
    assert scan.returncode == 0, "names and a birth date alone cannot be matched without the keys"
    assert "note: patients: no name + date keys" in scan.stderr and "re-import" in scan.stderr
