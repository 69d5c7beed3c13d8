"""An index imported before names had an exact record-scoped form (December 2026) matches as it did:
the same records, fields and confidences, its names compared by their bigrams alone."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from lw_records import JULIE, PHILIPPINE
from sqlalchemy import update
from sqlmodel import select
from synth import Person, fr_date, long_date, strip_accents, typo

from leakwatch import pipeline
from leakwatch.app import Services, build
from leakwatch.detection.fingerprints import EXACT_NAME, decode_scoped, encode_scoped
from leakwatch.models import Item
from leakwatch.storage.store import RecordRow


@pytest.fixture(scope="module")
def older(services: Services, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """A copy of the session's index whose records hold no exact name forms, as an older import wrote them."""
    home = tmp_path_factory.mktemp("older-home")
    shutil.copytree(services.settings.home, home, dirs_exist_ok=True)
    svc = build(home=home, scan_workers=1)
    with svc.engine.begin() as conn:
        rows = conn.execute(select(RecordRow.dataset_id, RecordRow.rec_no, RecordRow.scoped)).all()
        assert rows and all(EXACT_NAME["last_name"] in decode_scoped(blob) for _, _, blob in rows)
        for dataset_id, rec_no, blob in rows:
            kept = {k: v for k, v in decode_scoped(blob).items() if k not in EXACT_NAME.values()}
            conn.execute(update(RecordRow).where(RecordRow.dataset_id == dataset_id, RecordRow.rec_no == rec_no)
                         .values(scoped=encode_scoped(kept)))
    yield svc
    svc.close()


def _findings(svc: Services, text: str) -> set[tuple[str | None, tuple[str, ...], str]]:
    result = pipeline.scan_item(svc, Item(source="test", key="paste.txt", content=text.encode(), name="paste.txt"))
    return {(f.ref, f.fields, f.confidence) for f in result.findings if f.type == "record"}


def _text(patients: list[Person]) -> str:
    a, b, c, d, e, f = patients[60:66]
    return "\n".join([
        f"{strip_accents(a.last_name).upper()} {a.first_name} {fr_date(a.birth)}",             # names + date
        f"{b.first_name.lower()} {typo(b.last_name).lower()} {fr_date(b.birth)}",             # one typo
        f"Patient {c.first_name} {c.last_name}, NIR {c.nir}, né le {long_date(c.birth)}",      # identifier + names
        f"contact: {d.email} ({d.last_name.upper()})",                                          # identifier + one name
        f"nom={e.last_name};prenom={e.first_name};ddn={e.birth_date};ville=Paris",              # labelled fields
        f"{f.first_name[0]}. {f.last_name}, tél. {f.phone}",                                    # an initial
        "Julien Vallet, né le 2 avril 1971, a été admis.",                                      # another person's name
        "Philippe D. Lemaitre, né le 07/09/1964, a appelé.",
        "Philipine Lemaitre, née le 07/09/1964, a appelé.",                                    # a typo of a known name
    ]) + "\n"


def test_an_older_import_finds_the_same_records(services: Services, older: Services, patients: list[Person]) -> None:
    text = _text(patients)
    now = _findings(services, text)
    assert len({ref for ref, _, _ in now}) >= 7
    assert PHILIPPINE.ipp in {ref for ref, _, _ in now} and JULIE.ipp not in {ref for ref, _, _ in now}
    assert _findings(older, text) == now
