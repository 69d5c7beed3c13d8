"""Incidents and the outbox on PostgreSQL (several daemons may share one database)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lw_channels import Receiver
from synth import Person, leak_csv_semicolon, leak_json, to_csv

from leakwatch.app import build
from leakwatch.incidents.fold import list_incidents
from leakwatch.models import Item
from leakwatch.pipeline import scan_item
from leakwatch.storage.store import session

SCHEMA = Path(__file__).resolve().parents[2] / "fingerprints" / "patients.example.toml"


def import_on_postgresql(cli: Any, pg_url: str, people: list[Person], tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A home whose database is ``pg_url``, with ``people`` imported through the CLI; this process's
    services (``build``) use that home too."""
    cli.env["LEAKWATCH_DATABASE_URL"] = pg_url
    cli("init", check=0)
    src = tmp_path / "patients.csv"
    src.write_text(to_csv(people), encoding="utf-8")
    cli("fingerprints", "import", str(src), "--schema", str(SCHEMA), check=0)
    monkeypatch.setenv("LEAKWATCH_HOME", str(cli.home))


@pytest.mark.postgres
def test_incidents_and_outbox_on_postgresql(cli: Any, pg_url: str, crowd: list[Person], tmp_path: Path,
                                            receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    import_on_postgresql(cli, pg_url, crowd[:60], tmp_path, monkeypatch)
    svc = build(database_url=pg_url, alerts={"routes": [{"urls": [receiver.url]}], "retry_initial": 0.1})
    for key, text in (("a", leak_csv_semicolon(crowd[:20])), ("b", leak_csv_semicolon(crowd[:20])),
                      ("c", leak_json(crowd[2:20])), ("d", leak_csv_semicolon(crowd[40:45]))):
        item = Item(source="pastes", key=key, content=text.encode(), url=f"https://paste.example/{key}")
        with session(svc.engine) as s:
            svc.sink.record(s, item, scan_item(svc, item))
            s.commit()
    with session(svc.engine) as s:
        found = sorted((i.records, i.sightings, i.severity) for i in list_incidents(s))
    assert found == [(5, 1, "medium"), (20, 3, "high")]
    assert svc.outbox.deliver_due().sent == 2
    assert svc.outbox.deliver_due().sent == 0
    assert len(receiver.messages()) == 2
    assert svc.outbox.counts() == {"pending": 0, "sent": 2, "failed": 0}


@pytest.mark.postgres
def test_daemons_sharing_postgresql_fold_one_dump_into_one_incident(cli: Any, pg_url: str, crowd: list[Person],
                                                                     tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The same dump seen at the same instant by several daemons (here: connections committing at
    once) makes one incident with one sighting each, not one incident each."""
    import threading

    import_on_postgresql(cli, pg_url, crowd[:30], tmp_path, monkeypatch)
    svc = build(database_url=pg_url)
    text = leak_csv_semicolon(crowd[:30]).encode()
    items = [Item(source=f"mirror{n}", key="dump", content=text, url=f"https://mirror{n}.example/dump")
             for n in range(6)]
    results = [scan_item(svc, item) for item in items]
    start = threading.Barrier(len(items))
    errors: list[BaseException] = []

    def record(item: Item, result: Any) -> None:
        try:
            with session(svc.engine) as s:
                start.wait(10)
                svc.sink.record(s, item, result)
                s.commit()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=record, args=pair) for pair in zip(items, results, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with session(svc.engine) as s:
        found = [(i.records, i.sightings) for i in list_incidents(s)]
    assert found == [(30, 6)]
