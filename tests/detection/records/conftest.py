"""One imported index for the whole session, built in process by the importer, and a scan helper
that goes through the one scanning path (``pipeline.scan_item``) as the daemon does."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from lw_records import NEAR_NAMES, Scan
from synth import Person, complete, to_csv

from leakwatch import keys, pipeline
from leakwatch.app import Services, build
from leakwatch.datasets.importer import import_file
from leakwatch.datasets.schema import load_schema
from leakwatch.models import Item

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = ROOT / "fingerprints" / "patients.example.toml"

@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory, crowd: list[Person]) -> Iterator[Services]:
    home = tmp_path_factory.mktemp("records-home")
    os.chmod(home, 0o700)
    svc = build(home=home, scan_workers=1)
    keys.create_key(svc.key_path)
    csv_path = home / "patients.csv"
    csv_path.write_text(to_csv([*crowd, *NEAR_NAMES]), encoding="utf-8")
    import_file(svc.engine, svc.master_key, load_schema(SCHEMA), csv_path, "FR")
    csv_path.unlink()
    yield svc
    svc.close()


@pytest.fixture(scope="session")
def patients(crowd: list[Person]) -> list[Person]:
    """The crowd's people whose export holds every field usable (main's synth draws placeholders,
    overseas and unallocated phones, keyless NIRs): the case tables check every field of a match.
    The whole crowd, dirt included, is what the index holds."""
    return complete(crowd)


@pytest.fixture(scope="session")
def scan(services: Services) -> Scan:
    """Refs reported for a text, with the kinds of field that matched."""

    def run(text: str, name: str = "paste.txt") -> dict[str, tuple[str, ...]]:
        result = pipeline.scan_item(services, Item(source="test", key=name, content=text.encode(), name=name))
        return {f.ref: f.fields for f in result.findings if f.type == "record" and f.ref}

    return run
