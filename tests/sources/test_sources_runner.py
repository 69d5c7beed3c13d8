"""``run_source`` as the daemon uses it: findings against imported records, one transaction per
item, restarts, the same content on two sources, ``sources check`` leaving state alone, staleness."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import pytest
from lw_httpserver import Reply, Server
from lw_sources import RecordingSink, poll, spec
from sqlmodel import Session, select
from synth import Person, leak_csv_semicolon, leak_json

from leakwatch.runner import run_source
from leakwatch.sources import DRIVERS, http
from leakwatch.sources.json_api import JsonApiParams
from leakwatch.sources.spec import SourceSpec
from leakwatch.sources.state import SeenItemRow, SourceStateRow, load_state


def pastes(server: Server, contents: dict[str, str]) -> SourceSpec:
    """A Pastebin-format listing of ``contents`` (key -> text), oldest first by date."""
    listing = [{"key": key, "date": str(1714700000 + i * 60), "title": f"paste {i}", "size": str(len(text)),
                "full_url": f"https://pastebin.example.com/{key}"} for i, (key, text) in enumerate(contents.items())]
    server.route("/api_scraping.php", Reply(json.dumps(listing[::-1])))
    server.route("/item", lambda path, headers: Reply(contents[path.split("i=")[1]]))
    return spec("pastes", "pastebin", params={"list_url": server.url("/api_scraping.php"),
                                              "item_url": server.url("/item?i={key}")})


def test_records_in_pastes_are_found_and_no_value_reaches_the_database(
        records, server: Server, make_services, crowd: list[Person], home: Path) -> None:
    texts = {"LeAk0001": leak_csv_semicolon(crowd[:5]), "LeAk0002": leak_json(crowd[10:13])}
    source = pastes(server, texts)
    sink = RecordingSink()
    report = poll(make_services(), source, sink=sink)
    assert report.problem is None and report.scanned == 2
    found = {key: {f.ref for f in findings if f.type == "record"} for _, key, findings in sink.records}
    assert found == {"LeAk0001": {p.ipp for p in crowd[:5]}, "LeAk0002": {p.ipp for p in crowd[10:13]}}
    # every identifier as the leaks wrote it (and as the records hold it) is absent from the database
    values = {v for line in texts["LeAk0001"].splitlines()[1:] for v in line.split(";")[3:]}
    values |= {p.nir for p in crowd[10:13]} | {v for p in crowd[:5] + crowd[10:13] for v in (p.email, p.phone)}
    values = {v for v in values if len(v) >= 6}  # placeholders (N/A, an empty cell) are no values
    assert len(values) >= 5 * 2 + 2 + 8 * 2
    stored = b"".join(p.read_bytes() for p in home.glob("leakwatch.db*"))
    assert len(stored) > 10_000
    leaked_in_db = [v for v in values if v.encode() in stored or v.lower().encode() in stored]
    assert leaked_in_db == []


def test_hibp_domain_addresses_are_matched_to_records(records, server: Server, make_services,
                                                      crowd: list[Person]) -> None:
    at_org = [p for p in crowd if p.email.endswith("@example.org")][:4]
    answer = {p.email.split("@")[0]: ["ExampleShop"] for p in at_org}
    server.route("/breacheddomain/example.org", Reply(json.dumps(answer)))
    svc = make_services(hibp_api_key="fake")
    source = spec("hibp", "hibp_domain", params={"domains": ["example.org"],
                                                 "url": server.url("/breacheddomain/{domain}")})
    sink = RecordingSink()
    assert poll(svc, source, sink=sink).problem is None
    [(_, key, findings)] = sink.records
    assert key.startswith("example.org/ExampleShop/")
    assert {f.ref for f in findings if f.type == "record"} == {p.ipp for p in at_org}


def test_same_content_on_two_sources_is_scanned_once_and_recorded_twice(
        records, server: Server, make_services, crowd: list[Person]) -> None:
    text = leak_csv_semicolon(crowd[20:23])
    server.route("/a.json", Reply(json.dumps([{"key": "Same0001", "date": "1714700000"}])))
    server.route("/b.json", Reply(json.dumps([{"key": "Same0002", "date": "1714700100"}])))
    server.route("/item", Reply(text))
    svc = make_services()
    sink = RecordingSink()
    first = poll(svc, spec("a", "pastebin", params={"list_url": server.url("/a.json"),
                                                    "item_url": server.url("/item?i={key}")}), sink=sink)
    second = poll(svc, spec("b", "pastebin", params={"list_url": server.url("/b.json"),
                                                     "item_url": server.url("/item?i={key}")}), sink=sink)
    assert (first.scanned, first.skipped_duplicates) == (1, 0)
    assert (second.scanned, second.skipped_duplicates) == (0, 1)
    assert [(source, key) for source, key, _ in sink.records] == [("a", "Same0001"), ("b", "Same0002")]
    refs = [{(f.dataset, f.ref, f.fields, f.confidence) for f in findings} for _, _, findings in sink.records]
    assert refs[0] == refs[1] and len(refs[0]) == 3


def test_restart_after_a_stop_scans_every_item_exactly_once(server: Server, make_services) -> None:
    contents = {f"PaSte{i:04d}": f"paste number {i}\n" for i in range(10)}
    source = pastes(server, contents)
    svc = make_services()
    sink = RecordingSink()
    stop = asyncio.Event()

    class StopAfterFive(RecordingSink):
        def record(self, session, item, result) -> None:  # type: ignore[no-untyped-def]
            sink.record(session, item, result)
            if len(sink.records) == 5:
                stop.set()

    first = poll(svc, source, sink=StopAfterFive(), stop=stop)
    assert first.stopped and first.scanned == 5
    second = poll(make_services(), source, sink=sink)  # a new process: fresh services
    assert not second.stopped and second.scanned == 5
    assert [key for _, key, _ in sink.records] == sorted(contents)
    assert all(server.hits(f"/item?i={key}") == 1 for key in contents)


def test_a_crash_inside_the_transaction_leaves_the_item_to_be_done_again(server: Server, make_services) -> None:
    contents = {f"PaSte{i:04d}": f"paste number {i}\n" for i in range(6)}
    source = pastes(server, contents)
    svc = make_services()
    crashing = RecordingSink(fail_on=3)
    with pytest.raises(KeyboardInterrupt):
        poll(svc, source, sink=crashing)
    with Session(svc.engine) as s:
        assert sorted(r.key for r in s.exec(select(SeenItemRow))) == ["PaSte0000", "PaSte0001"]
    sink = RecordingSink()
    assert poll(make_services(), source, sink=sink).scanned == 4
    assert [key for _, key, _ in crashing.records + sink.records] == sorted(contents)


def test_check_mode_commits_nothing(server: Server, make_services) -> None:
    source = pastes(server, {"PaSte0001": "one\n", "PaSte0002": "two\n"})
    svc = make_services()
    first = poll(svc, source, commit=False)
    assert first.scanned == 2 and [i.key for i in first.items] == ["PaSte0001", "PaSte0002"]
    assert load_state(svc.engine, "pastes").row is None
    assert poll(svc, source, commit=False).scanned == 2


def test_a_source_quiet_for_longer_than_usual_is_degraded(server: Server, make_services) -> None:
    server.route("/posts.json", Reply("[]"))
    svc = make_services()
    source = spec("tracker", "json_api", interval="1h",
                  params={"url": server.url("/posts.json"), "title": "post_title"})
    now = dt.datetime.now(dt.UTC)
    with Session(svc.engine) as s:
        s.add(SourceStateRow(source="tracker", last_new_at=now - dt.timedelta(days=2), gap_mean=3600.0,
                             gap_count=5, last_ok_at=now - dt.timedelta(hours=1)))
        s.commit()
    report = poll(svc, source)
    assert report.health == "degraded" and report.health_reason.startswith("no new item for 2.0 days")
    assert "usually every 60 min" in report.health_reason
    server.route("/posts.json", Reply('[{"post_title": "Fake Victim", "group_name": "g"}]'))
    assert poll(svc, source).health == "ok"


def test_stale_after_and_quiet_sources(server: Server, make_services) -> None:
    server.route("/posts.json", Reply("[]"))
    svc = make_services()
    params = {"url": server.url("/posts.json"), "title": "post_title"}
    with Session(svc.engine) as s:
        for name in ("explicit", "quiet"):
            s.add(SourceStateRow(source=name, last_new_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)))
        s.commit()
    assert poll(svc, spec("explicit", "json_api", stale_after="2h", params=params)).health == "degraded"
    assert poll(svc, spec("quiet", "json_api", stale_after="2h", expect_new=False, params=params)).health == "ok"


def test_a_broken_definition_is_reported_not_raised(make_services) -> None:
    bad = SourceSpec(name="bad", driver="json_api", params={"url": "http://127.0.0.1:9/", "titel": "x"})
    report = poll(make_services(), bad)
    assert report.health == "failing" and "params.title" in (report.problem or "")


def test_a_listing_that_no_longer_reaches_the_last_item_seen_is_reported(server: Server, make_services) -> None:
    svc = make_services()
    source = pastes(server, {"PaSte0001": "one\n"})
    assert poll(svc, source).scanned == 1
    # while we were away, more pastes came than the listing holds: PaSte0001 has left it
    later = [{"key": f"PaSte{i:04d}", "date": str(1714800000 + i), "title": "", "size": "5"} for i in range(2, 5)]
    server.route("/api_scraping.php", Reply(json.dumps(later)))
    server.route("/item", lambda path, headers: Reply(f"later {path}\n"))
    report = poll(svc, source)
    assert report.scanned == 3 and report.problem is None
    assert any("items may have been missed" in e for e in report.errors)
    # when the listing overlaps what was seen, nothing is said
    later.append({"key": "PaSte0005", "date": str(1714800010), "title": "", "size": "5"})
    server.route("/api_scraping.php", Reply(json.dumps(later)))
    report = poll(svc, source)
    assert report.scanned == 1 and report.errors == []


def test_a_driver_bug_is_reported_without_its_message(make_services, monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        driver = "broken"
        Params = JsonApiParams

        async def list_new(self, ctx, params, state):  # type: ignore[no-untyped-def]
            raise ValueError("unexpected value secret@example.org")
            yield

        async def fetch(self, ctx, params, ref):  # type: ignore[no-untyped-def]
            raise AssertionError

    monkeypatch.setitem(DRIVERS, "broken", Broken)
    report = poll(make_services(), spec("b", "broken", params={"url": "http://127.0.0.1:9/", "title": "t"}))
    assert report.health == "degraded"
    assert "internal error: ValueError at test_sources_runner.py:" in (report.problem or "")
    assert "secret@example.org" not in " ".join(report.errors)


def test_gists_of_another_shape_are_a_shape_change(server: Server, make_services) -> None:
    server.route("/gists", Reply('[{"id": "x1", "updated_at": "2024-05-01T00:00:00Z", "files": ["a.txt"]}]'))
    report = poll(make_services(), spec("gists", "github_gists", params={"url": server.url("/gists")}))
    assert report.health == "failing" and "shape changed" in (report.problem or "")


def test_two_sources_polled_at_once_scan_shared_content_once(server: Server, make_services) -> None:
    server.route("/a.json", Reply(json.dumps([{"key": "Same0001", "date": "1714700000"}])))
    server.route("/b.json", Reply(json.dumps([{"key": "Same0002", "date": "1714700000"}])))
    server.route("/item", Reply("the same dump on two sites\n"))
    svc = make_services()
    sources = [spec(n, "pastebin", params={"list_url": server.url(f"/{n}.json"),
                                           "item_url": server.url("/item?i={key}")}) for n in ("a", "b")]
    sink = RecordingSink()

    async def both() -> list:
        try:
            return await asyncio.gather(*(run_source(svc, s, sink=sink) for s in sources))
        finally:
            await http.close(svc)

    reports = asyncio.run(both())
    assert sorted((r.scanned, r.skipped_duplicates) for r in reports) == [(0, 1), (1, 0)]
    assert sorted(source for source, _, _ in sink.records) == ["a", "b"]
