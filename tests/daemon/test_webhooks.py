"""Signed webhooks: a real scan queues an incident in the outbox, a real local receiver written as
docs/webhooks.md says verifies the signature, refuses tampering and replays, and the outbox retries a
receiver that is down until it delivers once."""

from __future__ import annotations

import datetime as dt
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lw_channels import SignedReceiver, wait_for, write_config
from sqlmodel import select
from synth import Person, leak_csv_semicolon

from leakwatch.app import Services
from leakwatch.incidents.outbox import OutboxRow
from leakwatch.models import Item
from leakwatch.pipeline import scan_item
from leakwatch.storage.store import session

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "webhook-incident.v1.schema.json").read_text(encoding="utf-8"))
SECRET = "s3cr3t-for-the-soar-0123456789"


def record(svc: Services, key: str, text: str, published: dt.datetime | None = None) -> None:
    item = Item(source="pastes", key=key, content=text.encode(), url=f"https://paste.example/{key}",
                published_at=published)
    result = scan_item(svc, item)
    with session(svc.engine) as s:
        svc.sink.record(s, item, result)
        s.commit()


def webhook_routes(url: str, include_refs: bool = False, secret: str = SECRET) -> dict[str, Any]:
    return {"routes": [{"min_severity": "medium", "urls": [url], "include_refs": include_refs, "secret": secret}],
            "retry_initial": 0.2, "retry_max": 1.0, "send_timeout": 3.0}


def validate(doc: dict[str, Any]) -> None:
    # imported here: its format checker builds grammars for two seconds, in every worker that collects this file
    import jsonschema

    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(doc)


def rows(svc: Services) -> list[OutboxRow]:
    with session(svc.engine) as s:
        return list(s.exec(select(OutboxRow).order_by(OutboxRow.id)))


@pytest.fixture
def soar() -> Any:
    r = SignedReceiver(SECRET)
    r.start()
    yield r
    r.stop()


def test_the_incident_arrives_signed_and_documented_and_a_replay_is_refused(
        make_services: Callable[..., Services], crowd: list[Person], soar: SignedReceiver) -> None:
    svc = make_services(alerts=webhook_routes(soar.url()))
    leaked = crowd[:12]
    record(svc, "w1", leak_csv_semicolon(leaked), dt.datetime.now(dt.UTC) - dt.timedelta(minutes=3))
    assert svc.outbox.deliver_due().sent == 1
    assert soar.refused == [] and len(soar.accepted) == 1
    doc = soar.accepted[0]
    validate(doc)
    assert doc["version"] == 1 and doc["event"] == "incident.new" and doc["severity"] == "high"
    assert doc["incident"]["records"] == 12 and {"nir", "email", "phone"} <= set(doc["incident"]["kinds"])
    assert doc["sighting"]["url"] == "https://paste.example/w1" and doc["sighting"]["source"] == "pastes"
    assert 150 < doc["incident"]["detection_seconds"] < 250
    headers, body = soar.requests[0]
    assert headers["Leakwatch-Event"] == "incident.new" and headers["Leakwatch-Delivery"] == doc["id"]
    raw = body.decode()
    assert "refs" not in doc and all(p.ipp not in raw for p in crowd)  # no ref without include_refs
    for p in leaked:  # no leaked value, in any form the dump wrote it
        assert p.nir not in raw and p.email.lower() not in raw.lower() and p.last_name.upper() not in raw.upper()

    # An eavesdropper replays the captured request at once: the delivery id was already accepted.
    assert soar.replay(headers, body) == 409
    # ... or later, to a receiver that has forgotten its ids (restarted): the timestamp is stale.
    soar.seen.clear()
    soar.clock_offset = 600
    assert soar.replay(headers, body) == 401
    soar.clock_offset = 0
    # ... or alters the document, or signs it with another secret: the signature does not match.
    assert soar.replay(headers, body.replace(b'"high"', b'"low"', 1)) == 401
    forged = dict(headers, **{"Leakwatch-Signature": headers["Leakwatch-Signature"].replace("v1=", "v1=0", 1)})
    assert soar.replay(forged, body) == 401
    assert soar.refused == ["delivery already accepted", "stale timestamp", "bad signature", "bad signature"]
    assert len(soar.accepted) == 1


def test_a_receiver_down_gets_the_alert_once_when_it_is_back(
        make_services: Callable[..., Services], crowd: list[Person], soar: SignedReceiver) -> None:
    svc = make_services(alerts=webhook_routes(soar.url(), include_refs=True))
    soar.stop()  # the SOAR is down: connections refused
    record(svc, "w2", leak_csv_semicolon(crowd[20:25]))
    first = svc.outbox.deliver_due()
    assert (first.sent, first.retried) == (0, 1)
    [row] = rows(svc)
    assert row.status == "pending" and row.attempts == 1 and "Connect" in (row.last_error or "")
    assert SECRET not in (row.last_error or "") and SECRET not in row.body
    soar.start()
    wait_for(lambda: svc.outbox.deliver_due().sent == 1, timeout=10, every=0.2)
    assert svc.outbox.deliver_due().sent == 0  # nothing twice
    with session(svc.engine) as s:  # even were every row due now
        for row in s.exec(select(OutboxRow)):
            row.next_attempt_at = dt.datetime.now(dt.UTC)
            s.add(row)
        s.commit()
    assert svc.outbox.deliver_due().sent == 0
    assert len(soar.accepted) == 1 and soar.refused == []
    [row] = rows(svc)
    assert row.status == "sent" and row.attempts == 2
    doc = soar.accepted[0]
    validate(doc)
    assert sorted(r["ref"] for r in doc["refs"]) == sorted(p.ipp for p in crowd[20:25])
    assert doc["refs_truncated"] == 0
    assert all(set(r) == {"dataset", "ref", "type", "fields", "confidence", "label"} for r in doc["refs"])


def test_a_wrong_secret_is_refused_and_retried_not_lost(
        make_services: Callable[..., Services], crowd: list[Person], soar: SignedReceiver) -> None:
    svc = make_services(alerts=webhook_routes(soar.url(), secret="another-secret-of-the-wrong-route"))
    record(svc, "w3", leak_csv_semicolon(crowd[30:33]))
    report = svc.outbox.deliver_due()
    assert (report.sent, report.retried) == (0, 1)
    assert soar.refused == ["bad signature"]
    [row] = rows(svc)
    assert row.status == "pending" and row.last_error == "the receiver answered HTTP 401"


def test_a_webhook_route_needs_a_secret_and_alerts_test_signs(imported: Any, soar: SignedReceiver) -> None:
    write_config(imported.home, f'[[alerts.routes]]\nurls = ["{soar.url()}"]\n')
    result = imported("alerts", "test")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "webhook+json URLs need a secret" in result.stderr
    write_config(imported.home, f'[[alerts.routes]]\nurls = ["{soar.url()}"]\nsecret = "{SECRET}"\n')
    result = imported("alerts", "test", "--json")
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout)
    assert line == {"route": f"webhook+json://127.0.0.1:{soar.port}/hooks/leakwatch", "ok": True, "error": None}
    [doc] = soar.accepted
    validate(doc)
    assert doc["event"] == "test"


def test_every_event_fits_the_schema_and_refs_only_when_asked() -> None:
    from leakwatch.incidents import alerts, webhook
    from leakwatch.incidents.fold import Folded, IncidentRefRow, IncidentRow, SightingRow

    now = dt.datetime.now(dt.UTC)
    incident = IncidentRow(id=4, severity="high", dataset="patients", datasets="patients", kinds="email,nir",
                           records=11, high=11, sightings=2, first_seen=now, last_seen=now, alerted_severity="high",
                           hosts="acme-secure-login[.]fr,evil-acme[.]fr")
    sighting = SightingRow(incident_id=4, source="pastes", item_key="k9", url=None, seen_at=now, records=11,
                           kinds="email,nir")
    refs = [IncidentRefRow(incident_id=4, dataset="patients", ref=f"IPP{i}", fields="email,nir", confidence="high")
            for i in range(3)]
    escalated = alerts.incident_alert(Folded(incident, sighting, False, "medium", True), refs)
    failing = alerts.operator_alert("pastes", "failing", "HTTP 503 three times", now)
    recovered = alerts.operator_alert("pastes", "ok", "", now)
    test = alerts.test_alert(now)
    for alert, event in ((escalated, "incident.escalated"), (failing, "source.failing"),
                         (recovered, "source.recovered"), (test, "test")):
        for include_refs in (False, True):
            doc = json.loads(webhook.body(alert, include_refs, now.isoformat()))
            validate(doc)
            assert doc["event"] == event and doc["id"] == alert.key
            assert ("refs" in doc) == (include_refs and event.startswith("incident"))
    doc = webhook.document(escalated, True, now.isoformat())
    assert doc["incident"]["previous_severity"] == "medium" and doc["refs_truncated"] == 8
    assert doc["incident"]["hosts"] == ["acme-secure-login[.]fr", "evil-acme[.]fr"]  # defanged as stored
    assert [r["ref"] for r in doc["refs"]] == ["IPP0", "IPP1", "IPP2"]
    import jsonschema

    with pytest.raises(jsonschema.ValidationError):
        validate({**doc, "version": 2})
    # the signature is the documented one, and not apprise's business
    assert webhook.signature("k" * 16, b"{}", 1700000000) == (
        "t=1700000000,v1=" + hmac.new(b"k" * 16, b"1700000000.{}", "sha256").hexdigest())
    assert alerts.send("webhook+json://127.0.0.1:9/x", "t", "b") is not None


def test_a_second_send_after_a_crash_is_answered_409_and_taken_as_delivered(
        make_services: Callable[..., Services], crowd: list[Person], soar: SignedReceiver) -> None:
    """A daemon killed after the receiver took the alert, before the row was marked sent, sends it
    again under the same delivery id; the receiver of docs/webhooks.md answers 409, and the outbox
    takes that as delivered: one document kept, the row sent, not retried for ever."""
    svc = make_services(alerts=webhook_routes(soar.url()))
    record(svc, "w9", leak_csv_semicolon(crowd[30:35]))
    assert svc.outbox.deliver_due().sent == 1
    with session(svc.engine) as s:  # as a kill -9 between the answer and the commit leaves it
        for row in s.exec(select(OutboxRow)):
            row.status, row.next_attempt_at = "pending", dt.datetime.now(dt.UTC)
            s.add(row)
        s.commit()
    again = svc.outbox.deliver_due()
    assert (again.sent, again.retried) == (1, 0)
    [row] = rows(svc)
    assert row.status == "sent"
    assert len(soar.accepted) == 1 and soar.refused == ["delivery already accepted"]
    first, second = (headers["Leakwatch-Delivery"] for headers, _ in soar.requests)
    assert first == second
    assert svc.outbox.deliver_due().sent == 0
