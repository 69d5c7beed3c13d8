"""``incidents export``: STIX 2.1 checked by stix2-validator, MISP loaded by pymisp and checked
against pymisp's own schema, on incidents made by real scans; no value, refs only when asked, ids
stable from one export to the next."""

from __future__ import annotations

import datetime as dt
import functools
import gc
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lw_channels import write_config
from synth import Person, leak_csv_semicolon, leak_json, leak_sql, secrets

from leakwatch.app import Services
from leakwatch.models import Item
from leakwatch.pipeline import scan_item
from leakwatch.storage.store import session


def validate_stix(text: str) -> Any:
    """stix2-validator's result for a bundle. Its import compiles grammars (rfc3987-syntax, about 2 s
    of CPU): made here, in the worker that runs these tests, not at every worker's collection."""
    from stix2validator import ValidationOptions, validate_string

    # CPython 3.11 keeps one AST recursion counter per interpreter: a garbage collection inside the
    # validator's `ast.literal_eval` (lark) can run a finaliser whose traceback formatting parses
    # source too, and the outer parse then fails with "AST constructor recursion depth mismatch"
    # (python/cpython#106905). Earlier tests' garbage is collected first and none during validation.
    gc.collect()
    gc.disable()
    try:
        # 103 warns that ids are not UUIDv4: ours are UUIDv5 on purpose (the same incident exported
        # twice has the same ids), which STIX 2.1 allows (v4 is a SHOULD).
        return validate_string(text, ValidationOptions(version="2.1", disabled=["103"]))
    finally:
        gc.enable()


@functools.cache
def misp_schema() -> Any:
    import pymisp

    return json.loads((Path(pymisp.__file__).parent / "data" / "schema-lax.json").read_text())


def validate_misp(document: Any) -> None:
    """Checked against pymisp's own (lax) schema; imported on first use, as ``validate_stix``."""
    import jsonschema

    jsonschema.validate(document, misp_schema())


def misp_event() -> Any:
    from pymisp import MISPEvent

    return MISPEvent()


def record(svc: Services, source: str, key: str, text: str, published: dt.datetime | None = None) -> None:
    item = Item(source=source, key=key, content=text.encode(), url=f"https://{source}.example/{key}",
                published_at=published)
    result = scan_item(svc, item)
    with session(svc.engine) as s:
        svc.sink.record(s, item, result)
        s.commit()


@pytest.fixture
def exposed(make_services: Callable[..., Services], crowd: list[Person], imported: Any) -> tuple[Any, list[Person]]:
    """Incident 1: 20 patients, published 2 hours before it was seen, reposted on a mirror.
    Incident 2: 4 other patients."""
    write_config(imported.home, 'organisation = "Hôpital Saint-Exemple"\n')
    svc = make_services()
    leaked = crowd[:20]
    record(svc, "pastes", "p1", leak_csv_semicolon(leaked), dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    record(svc, "mirror", "m1", leak_json(leaked))
    record(svc, "pastes", "p2", leak_sql(crowd[200:204]))
    return imported, leaked


def no_value(text: str, people: list[Person]) -> None:
    lowered = text.lower()
    for p in people:
        for value in secrets(p) | {p.last_name}:
            assert value.lower() not in lowered, value


def stix_objects(text: str) -> dict[str, list[dict[str, Any]]]:
    by: dict[str, list[dict[str, Any]]] = {}
    for obj in json.loads(text)["objects"]:
        by.setdefault(obj["type"], []).append(obj)
    return by


def test_stix_bundle_is_valid_and_tells_the_exposure(exposed: tuple[Any, list[Person]], crowd: list[Person]) -> None:
    cli, leaked = exposed
    result = cli("incidents", "export", "1", "--format", "stix", check=0)
    assert result.stderr.strip() == "exported 1 incident(s) as STIX 2.1, TLP:AMBER, without refs"
    validation = validate_stix(result.stdout)
    assert validation.is_valid
    assert validation.warnings == [] and validation.errors == []
    by = stix_objects(result.stdout)
    [incident] = by["incident"]
    assert incident["leakwatch_records"] == 20 and incident["leakwatch_counts"]["high"] == 20
    assert {"nir", "email", "phone", "last_name"} <= set(incident["leakwatch_field_kinds"])
    assert incident["confidence"] == 85 and incident["leakwatch_confidence"] == "high"
    assert incident["leakwatch_sightings"] == 2 and incident["leakwatch_severity"] == "high"
    assert 7100 < incident["leakwatch_detection_seconds"] < 7300
    assert incident["leakwatch_first_seen"] <= incident["leakwatch_last_seen"]
    assert [o["value"] for o in by["url"]] == ["https://pastes.example/p1", "https://mirror.example/m1"]
    assert len(by["observed-data"]) == 2
    assert {o["object_refs"][0] for o in by["observed-data"]} == {o["id"] for o in by["url"]}
    [org] = [i for i in by["identity"] if i["identity_class"] == "organization"]
    assert org["name"] == "Hôpital Saint-Exemple" and incident["created_by_ref"] == org["id"]
    [grouping] = by["grouping"]
    assert set(grouping["object_refs"]) == {incident["id"], *(o["id"] for o in by["observed-data"])}
    [marking] = by["marking-definition"]
    assert marking["name"] == "TLP:AMBER"
    assert all(marking["id"] in o["object_marking_refs"] for t in ("incident", "observed-data", "grouping", "url")
               for o in by[t])
    no_value(result.stdout, leaked)
    assert all(p.ipp not in result.stdout for p in crowd)  # no ref without --include-refs

    red = cli("incidents", "export", "1", "--format", "stix", "--tlp", "red", "--include-refs", check=0)
    assert validate_stix(red.stdout).is_valid
    by = stix_objects(red.stdout)
    assert by["marking-definition"][0]["name"] == "TLP:RED"
    refs = by["incident"][0]["leakwatch_refs"]
    assert sorted(r["ref"] for r in refs) == sorted(p.ipp for p in leaked)
    no_value(red.stdout, leaked)


def test_the_same_incident_exported_twice_has_the_same_ids(
        exposed: tuple[Any, list[Person]], make_services: Callable[..., Services], crowd: list[Person],
        tmp_path: Path) -> None:
    cli, leaked = exposed
    out = tmp_path / "a.json"
    cli("incidents", "export", "1", "--format", "stix", "-o", str(out), check=0)
    assert out.stat().st_mode & 0o777 == 0o600
    again = cli("incidents", "export", "1", "--format", "stix", check=0).stdout
    assert out.read_text() == again
    misp_a = cli("incidents", "export", "1", "--format", "misp", check=0).stdout
    assert cli("incidents", "export", "1", "--format", "misp", check=0).stdout == misp_a

    record(make_services(), "forum", "f1", leak_csv_semicolon(leaked[:15]))  # a third sighting
    later = stix_objects(cli("incidents", "export", "1", "--format", "stix", check=0).stdout)
    before = stix_objects(again)
    assert later["incident"][0]["id"] == before["incident"][0]["id"]
    assert later["incident"][0]["modified"] > before["incident"][0]["modified"]
    assert {o["id"] for o in before["observed-data"]} < {o["id"] for o in later["observed-data"]}
    misp_b = json.loads(cli("incidents", "export", "1", "--format", "misp", check=0).stdout)["Event"]
    a = json.loads(misp_a)["Event"]
    assert misp_b["uuid"] == a["uuid"]
    assert {x["uuid"] for x in a["Attribute"]} < {x["uuid"] for x in misp_b["Attribute"]}


def test_misp_event_loads_in_pymisp_with_links_counts_and_tags(exposed: tuple[Any, list[Person]],
                                                                 crowd: list[Person], tmp_path: Path) -> None:
    cli, leaked = exposed
    path = tmp_path / "event.json"
    cli("incidents", "export", "1", "--format", "misp", "--tlp", "green", "-o", str(path), check=0)
    raw = path.read_text()
    validate_misp(json.loads(raw))
    event = misp_event()
    event.load_file(path)
    assert event.info.startswith("leakwatch incident 1: 20 record(s)")
    assert {t.name for t in event.tags} == {"tlp:green", 'rsit:information-content-security="data-leak"'}
    links = sorted(a.value for a in event.attributes if a.type == "link")
    assert links == ["https://mirror.example/m1", "https://pastes.example/p1"]
    counters = {a.comment: int(a.value) for a in event.attributes if a.type == "counter"}
    assert counters["leakwatch: records"] == 20 and counters["leakwatch: sightings"] == 2
    kinds = next(a.value for a in event.attributes if a.comment == "leakwatch: field-kinds")
    assert "nir" in kinds and "email" in kinds
    [incident] = event.objects
    assert incident.name == "incident"
    assert {a.object_relation for a in incident.attributes} >= {"name", "description", "criticality"}
    assert int(event.threat_level_id) == 1 and event.distribution == 0 and not event.published
    no_value(raw, leaked)
    assert all(p.ipp not in raw for p in crowd)
    with_refs = cli("incidents", "export", "1", "--format", "misp", "--include-refs", check=0).stdout
    assert all(f"patients:{p.ipp}" in with_refs for p in leaked)
    no_value(with_refs, leaked)


def test_since_exports_every_incident_active_since(exposed: tuple[Any, list[Person]]) -> None:
    cli, _ = exposed
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    bundle = cli("incidents", "export", "--since", since, "--format", "stix", check=0).stdout
    assert validate_stix(bundle).is_valid
    assert len(stix_objects(bundle)["incident"]) == 2
    listing = json.loads(cli("incidents", "export", "--since", since, "--format", "misp", check=0).stdout)
    events = []
    for item in listing["response"]:
        validate_misp(item)
        event = misp_event()
        event.load(item)
        events.append(event)
    assert len(events) == 2 and events[0].uuid != events[1].uuid
    future = cli("incidents", "export", "--since", "2999-01-01", "--format", "misp", check=0)
    assert json.loads(future.stdout) == {"response": []}


def test_look_alike_hosts_are_exported_defanged(
        make_services: Callable[..., Services], crowd: list[Person], imported: Any) -> None:
    """A leak that names a host imitating the watched domain: both formats carry the host as it is
    kept, defanged (never a live name a tool could resolve or click)."""
    cli = imported
    cli("terms", "add", "stexemple.fr", "--kind", "domain", check=0)
    leaked = crowd[60:66]
    text = leak_csv_semicolon(leaked) + "\nphishing kit for stexemple-connexion.com\n"
    record(make_services(), "pastes", "h1", text)
    [shown] = [json.loads(line) for line in cli("incidents", "list", "--json", check=0).stdout.splitlines()]
    assert shown["hosts"] == ["stexemple-connexion[.]com"]
    incident = str(shown["id"])

    stix = cli("incidents", "export", incident, "--format", "stix", check=0).stdout
    assert validate_stix(stix).is_valid
    [obj] = stix_objects(stix)["incident"]
    assert obj["leakwatch_lookalike_hosts"] == ["stexemple-connexion[.]com"]
    assert "stexemple-connexion[.]com" in obj["description"]
    assert "domain-name" not in stix_objects(stix)

    misp = json.loads(cli("incidents", "export", incident, "--format", "misp", check=0).stdout)
    validate_misp(misp)
    [host] = [a for a in misp["Event"]["Attribute"] if "look-alike host" in a["comment"]]
    assert (host["type"], host["category"], host["value"]) == ("text", "Network activity",
                                                               "stexemple-connexion[.]com")
    for out in (stix, json.dumps(misp)):
        assert "stexemple-connexion.com" not in out
        no_value(out, leaked)


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "stix"], "give an incident ID or --since DATE"),
    (["1", "--since", "2026-01-01", "--format", "stix"], "give an incident ID or --since DATE"),
    (["1", "--format", "csv"], "--format: expected stix or misp"),
    (["1", "--format", "stix", "--tlp", "purple"], "--tlp: expected one of"),
    (["--since", "last tuesday", "--format", "misp"], "--since: expected a date"),
    (["1", "--format", "misp"], "no incident 1"),
    (["1", "--format", "stix", "-o", "/nonexistent/dir/x.json"], "no such directory"),
])
def test_export_refuses_bad_input_in_one_line(imported: Any, args: list[str], message: str) -> None:
    cli = imported
    result = cli("incidents", "export", *args)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_without_the_extra_one_clear_line_and_help_does_not_load_it(imported: Any) -> None:
    cli = imported
    code = ("import sys; sys.modules['stix2'] = None; from leakwatch.cli import main; "
            "sys.argv = ['leakwatch', 'incidents', 'export', '1', '--format', 'stix']; main()")
    proc = subprocess.run([sys.executable, "-c", code], env=cli.env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == ("leakwatch: error: --format stix needs stix2, in the export extra: "
                           "pip install 'leakwatch[export]'\n")
    code = ("import sys; from leakwatch.cli import main; sys.argv = ['leakwatch', '--help']\n"
            "try: main()\nexcept SystemExit: pass\n"
            "print(sorted(m for m in ('stix2', 'pymisp', 'leakwatch.incidents.export') if m in sys.modules),"
            " file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], env=cli.env, capture_output=True, text=True, timeout=60)
    assert "Usage" in proc.stdout and proc.stderr == "[]\n"
