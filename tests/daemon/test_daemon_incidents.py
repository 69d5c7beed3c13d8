"""Incident folding and the outbox against real SQLite, real scans and a real webhook receiver."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from lw_channels import Listing, Receiver, wait_for
from sqlmodel import select
from synth import Person, leak_csv_semicolon, leak_json, leak_sql, secrets

from leakwatch.app import Services
from leakwatch.incidents import alerts
from leakwatch.incidents.fold import IncidentRow, SightingRow, ack, refs_of
from leakwatch.incidents.outbox import OutboxRow
from leakwatch.models import Finding, Item, ScanResult
from leakwatch.pipeline import scan_item
from leakwatch.runner import run_source
from leakwatch.sources.spec import parse_spec
from leakwatch.storage.store import session


def record(svc: Services, source: str, key: str, text: str, published: dt.datetime | None = None) -> ScanResult:
    """What the runner does for one item: scan it, and hand the result to the sink in a transaction."""
    item = Item(source=source, key=key, content=text.encode(), url=f"https://paste.example/{key}",
                published_at=published)
    result = scan_item(svc, item)
    with session(svc.engine) as s:
        svc.sink.record(s, item, result)
        s.commit()
    return result


def incidents_of(svc: Services) -> list[IncidentRow]:
    with session(svc.engine) as s:
        return list(s.exec(select(IncidentRow).order_by(IncidentRow.id)))


def outbox_rows(svc: Services) -> list[OutboxRow]:
    with session(svc.engine) as s:
        return list(s.exec(select(OutboxRow).order_by(OutboxRow.id)))


def routes(*urls: str, min_severity: str = "medium", include_refs: bool = False,
           retry_initial: float = 0.2) -> dict[str, object]:
    return {"routes": [{"min_severity": min_severity, "urls": list(urls), "include_refs": include_refs}],
            "retry_initial": retry_initial, "retry_max": max(1.0, retry_initial), "send_timeout": 3.0}


def test_a_dump_reposted_is_one_incident_with_one_alert(
        make_services: Callable[..., Services], crowd: list[Person], receiver: Receiver) -> None:
    svc = make_services(alerts=routes(receiver.url))
    dump = leak_csv_semicolon(crowd[:30])
    published = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=7)
    record(svc, "pastes", "a1", dump, published)
    record(svc, "mirror", "b7", dump)  # the same bytes on another site
    record(svc, "pastes", "a2", leak_json(crowd[2:30]))  # 28 of the 30, another format
    record(svc, "pastes", "a3", leak_sql(crowd[200:230]))  # other people: another incident

    found = incidents_of(svc)
    assert [i.sightings for i in found] == [3, 1]
    first = found[0]
    assert first.records == 30 and first.dataset == "patients" and first.severity == "high"
    assert first.detection_seconds is not None and 400 < first.detection_seconds < 500
    assert {"nir", "phone", "email"} <= set(first.kind_list)
    with session(svc.engine) as s:
        sightings = list(s.exec(select(SightingRow).where(SightingRow.incident_id == first.id)))
        assert {x.source for x in sightings} == {"pastes", "mirror"}
        assert sightings[0].content_key == sightings[1].content_key is not None
        assert len(refs_of(s, first.id or 0)) == 30

    rows = outbox_rows(svc)
    assert [(r.incident_id, r.status) for r in rows] == [(found[0].id, "pending"), (found[1].id, "pending")]
    report = svc.outbox.deliver_due()
    assert (report.sent, report.retried) == (2, 0)
    assert svc.outbox.deliver_due().sent == 0  # nothing twice
    messages = receiver.messages()
    assert len(messages) == 2
    text = messages[0]["title"] + messages[0]["message"]
    assert f"incident {first.id}" in text and f"leakwatch incidents show {first.id}" in text
    assert "Records: 30" in text and "Source: pastes" in text and "https://paste.example/a1" in text
    assert "IPP" not in text  # no refs without include_refs


def test_severity_rising_alerts_again_and_canary_is_critical(
        make_services: Callable[..., Services], crowd: list[Person], receiver: Receiver) -> None:
    svc = make_services(alerts=routes(receiver.url))
    record(svc, "pastes", "s1", leak_csv_semicolon(crowd[:5]))
    record(svc, "pastes", "s2", leak_csv_semicolon(crowd[:5]) + "\n")  # same records, other bytes
    assert [(i.severity, i.sightings) for i in incidents_of(svc)] == [("medium", 2)]
    assert len(outbox_rows(svc)) == 1
    record(svc, "pastes", "s3", leak_csv_semicolon(crowd[100:104]))  # no overlap: another incident
    record(svc, "pastes", "s4", leak_csv_semicolon(crowd[100:108]))  # Jaccard 4/8: grows it, still medium
    with session(svc.engine) as s:
        ack(s, incidents_of(svc)[1].id or 0)
    record(svc, "pastes", "s5", leak_csv_semicolon(crowd[100:112]))  # 8/12: grows it to 12 >= 10: high
    first, second = incidents_of(svc)
    assert (first.records, first.severity, first.sightings) == (5, "medium", 2)
    assert (second.records, second.severity, second.sightings) == (12, "high", 3)
    assert second.status == "open"  # acknowledged at medium, reopened at high
    keys = [r.alert_key for r in outbox_rows(svc)]
    assert keys == [f"incident:{first.id}:medium", f"incident:{second.id}:medium", f"incident:{second.id}:high"]
    svc.outbox.deliver_due()
    assert "severity rose from medium to high" in receiver.messages()[-1]["message"]

    canary = Finding(type="canary", target="x", dataset="canaries", ref="C-1", fields=("email",),
                     confidence="high", label="crm-export")
    item = Item(source="pastes", key="c1", content=b"...")
    with session(svc.engine) as s:
        svc.sink.record(s, item, ScanResult(item, [canary]))
        s.commit()
    last = incidents_of(svc)[-1]
    assert (last.severity, last.canaries, last.records) == ("critical", 1, 0)


def test_a_dead_channel_waits_then_delivers_once_without_blocking_others(
        make_services: Callable[..., Services], crowd: list[Person], receiver: Receiver) -> None:
    dead = Receiver()  # never started: connection refused
    # A back-off long enough that a loaded machine cannot make the retry due between two calls.
    svc = make_services(alerts=routes(dead.url, receiver.url, retry_initial=2.0))
    record(svc, "pastes", "d1", leak_csv_semicolon(crowd[:3]))
    assert len(outbox_rows(svc)) == 2  # one per route URL
    report = svc.outbox.deliver_due()
    assert (report.sent, report.retried) == (1, 1)
    assert len(receiver.messages()) == 1
    pending = [r for r in outbox_rows(svc) if r.status == "pending"]
    assert len(pending) == 1 and pending[0].attempts == 1
    assert "Connection" in (pending[0].last_error or "")
    assert svc.outbox.deliver_due().retried == 0  # backed off: not due yet
    dead.start()
    try:
        pending_row = pending[0]
        wait_for(lambda: svc.outbox.deliver_due().sent == 1, timeout=10, every=0.05)  # once the backoff is over
        assert len(dead.messages()) == 1
        assert svc.outbox.deliver_due().sent == 0
        assert pending_row.route_label == f"json://127.0.0.1:{dead.port}/"
    finally:
        dead.stop()
    assert svc.outbox.counts() == {"pending": 0, "sent": 2, "failed": 0}


def test_nothing_stored_or_sent_holds_a_planted_value(
        make_services: Callable[..., Services], crowd: list[Person], receiver: Receiver, tmp_path: Path) -> None:
    svc = make_services(alerts=routes(receiver.url, include_refs=True))
    planted = crowd[40:60]
    record(svc, "pastes", "v1", leak_csv_semicolon(planted))
    record(svc, "pastes", "v2", leak_json(planted))
    svc.outbox.deliver_due()
    sent = b"".join(receiver.bodies).decode()
    assert "IPP" in sent  # include_refs: refs, never values
    db_path = svc.settings.home / "leakwatch.db"
    con = sqlite3.connect(db_path)
    dumped = "\n".join(con.iterdump())
    con.close()
    for p in planted:
        for value in (*secrets(p), p.last_name, p.first_name, p.email.upper()):
            assert value not in dumped, value
            assert value not in sent, value


def test_route_masking_and_apprise_failure_reasons() -> None:
    assert alerts.mask_url("mailtos://user:s3cretpass@example.org?to=soc@example.org") == \
        "mailtos://user:****@example.org/soc%40example.org"
    masked = alerts.mask_url("slack://T000AAAA/B000BBBB/XXXXYYYYZZZZ")
    assert "XXXXYYYYZZZZ" not in masked and masked.startswith("slack://")
    assert alerts.mask_url("json://hooks.example/services/T0K3NSECRET") == "json://hooks.example/services/****"
    assert alerts.scrub("error at json://hooks.example/services/T0K3NSECRET",
                        "json://hooks.example/services/T0K3NSECRET") == "error at json://hooks.example/services/****"
    assert alerts.check_url("nosuchscheme://x") is not None
    assert alerts.check_url("json://127.0.0.1:1/") is None
    reason = alerts.send("json://user:hunter2hunter2@127.0.0.1:1/", "t", "b", timeout=2)
    assert reason is not None and "hunter2hunter2" not in reason and "Connection" in reason


@pytest.mark.parametrize("status", [429, 500])
def test_a_throttled_channel_is_retried(make_services: Callable[..., Services], crowd: list[Person],
                                        receiver: Receiver, status: int) -> None:
    svc = make_services(alerts=routes(receiver.url))
    record(svc, "pastes", "t1", leak_csv_semicolon(crowd[:2]))
    receiver.status = status
    assert svc.outbox.deliver_due().retried == 1
    receiver.status = 200
    with session(svc.engine) as s:
        row = s.exec(select(OutboxRow)).one()
        row.next_attempt_at = dt.datetime.now(dt.UTC)
        s.add(row)
        s.commit()
    assert svc.outbox.deliver_due().sent == 1
    assert len(receiver.messages()) == 1


def test_source_failing_and_recovering_alert_the_operator_once_each(
        make_services: Callable[..., Services], receiver: Receiver) -> None:
    index = Listing()
    index.start()
    try:
        svc = make_services(alerts=routes(receiver.url, min_severity="critical"), allow_private_urls=["127.0.0.1"])
        spec = parse_spec({"name": "index", "driver": "json_api", "enabled": True,
                           "params": {"url": index.url.replace("list.json", "missing.json"), "title": "title"}},
                          "test")
        sink = svc.sink

        async def poll(spec: object) -> str:
            report = await run_source(svc, spec, sink=sink)  # type: ignore[arg-type]
            return report.health

        assert asyncio.run(poll(spec)) == "failing"  # a 404 listing: permanent, failing at once
        assert asyncio.run(poll(spec)) == "failing"  # still failing: not told again
        fixed = spec.model_copy(update={"params": {"url": index.url, "title": "title"}})
        assert asyncio.run(poll(fixed)) == "ok"
        svc.outbox.deliver_due()
        titles = [m["title"] for m in receiver.messages()]
        assert titles == ["[leakwatch] source index is failing", "[leakwatch] source index recovered"]
        assert "HTTP 404" in receiver.messages()[0]["message"]
    finally:
        index.stop()


def test_a_watch_term_mention_is_a_low_incident_folded_by_content(
        make_services: Callable[..., Services], receiver: Receiver) -> None:
    svc = make_services(alerts=routes(receiver.url, min_severity="low"))
    term = Finding(type="term", target="x", term="Hôpital Exemple", term_kind="org", score=95.0)
    for source, key in (("news", "n1"), ("mirror", "m1"), ("news", "n2")):
        content = b"same article" if key != "n2" else b"another article"
        item = Item(source=source, key=key, content=content, url=f"https://news.example/{key}")
        with session(svc.engine) as s:
            svc.sink.record(s, item, ScanResult(item, [term]))
            s.commit()
    found = incidents_of(svc)
    assert [(i.severity, i.sightings, i.records) for i in found] == [("low", 2, 0), ("low", 1, 0)]
    svc.outbox.deliver_due()
    titles = [m["title"] for m in receiver.messages()]
    assert titles[0] == f"[leakwatch] LOW: watch term(s) Hôpital Exemple mentioned (incident {found[0].id})"
    assert len(titles) == 2
