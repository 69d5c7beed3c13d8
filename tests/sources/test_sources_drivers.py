"""Each driver end to end: a real local server in the real API's format, ``run_source`` as the
daemon calls it, and what a user would check: which items were scanned, with what titles and
findings, and what state remains."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from lw_httpserver import Reply, Server
from lw_sources import RecordingSink, poll, spec

from leakwatch.detection import terms
from leakwatch.sources.state import load_state


def _keys(sink: RecordingSink) -> list[str]:
    return [key for _, key, _ in sink.records]


def _terms(sink: RecordingSink) -> set[str]:
    return {f.term for _, _, findings in sink.records for f in findings if f.type == "term"}


def test_json_api_ransomwatch_posts_titles_reach_the_watch_terms(server: Server, make_services) -> None:
    server.fixture("/posts.json", "ransomwatch_posts.json")
    svc = make_services()
    terms.add_term(svc.engine, "Sample Foods & Drinks", "org")
    terms.add_term(svc.engine, "Centre Hospitalier Fictif de Sainte-Exemple", "org")
    source = spec("ransomwatch", "json_api", params={
        "url": server.url("/posts.json"), "title": "post_title", "date": "discovered",
        "key": ["group_name", "post_title"], "fields": {"group": "group_name"}})
    sink = RecordingSink()
    report = poll(svc, source, sink=sink)
    assert report.problem is None and report.health == "ok"
    assert report.new == report.scanned == 6
    # oldest first, keys from group and raw title, both date formats accepted
    assert _keys(sink)[0] == "fakegroupa|Exemplar Logistics"
    assert _keys(sink)[-1] == "fakegroupa|example-clinic.example.fr"
    # HTML entities decoded and the title cut with "..." still matched
    assert _terms(sink) == {"Sample Foods & Drinks", "Centre Hospitalier Fictif de Sainte-Exemple"}
    state = load_state(svc.engine, "ransomwatch")
    assert state.cursor is not None and state.cursor.startswith("2024-02-01T09:00:00")
    # a second poll finds nothing new
    again = poll(svc, source, sink=sink)
    assert (again.new, again.scanned) == (0, 0)
    assert len(sink.records) == 6


def test_json_api_ransomware_live_recent_victims_with_nested_path(server: Server, make_services) -> None:
    body = json.dumps({"data": {"victims": json.loads(
        (Path(__file__).parent.parent / "data" / "sources" / "ransomware_live_recent.json").read_text())}})
    server.route("/v1/recentvictims", Reply(body))
    svc = make_services()
    terms.add_term(svc.engine, "chf-exemple.example.fr", "domain")
    source = spec("rl", "json_api", params={
        "url": server.url("/v1/recentvictims"), "items_path": "data.victims", "title": "post_title",
        "date": "discovered", "link": "post_url", "key": ["group_name", "post_title"],
        "fields": {"website": "website", "description": "description"}})
    sink = RecordingSink()
    report = poll(svc, source, sink=sink)
    assert report.scanned == 2
    # newest first in the answer, oldest first in processing; the onion link is not fetched
    assert _keys(sink) == ["fakegroupa|Widget & Sons", "fakegroupc|Centre Hospitalier Fictif de Sainte-Exemple"]
    assert _terms(sink) == {"chf-exemple.example.fr"}
    assert server.hits("/v1/recentvictims") == 1


def test_json_api_hibp_breach_list(server: Server, make_services) -> None:
    server.fixture("/api/v3/breaches", "hibp_breaches.json")
    svc = make_services()
    terms.add_term(svc.engine, "shop.example.com", "domain")
    source = spec("hibp_breaches", "json_api", params={
        "url": server.url("/api/v3/breaches"), "title": "Title", "date": "AddedDate", "key": ["Name"],
        "fields": {"domain": "Domain", "data": "DataClasses"}})
    sink = RecordingSink()
    report = poll(svc, source, sink=sink)
    assert _keys(sink) == ["FictionalForum", "ExampleShop"]
    assert report.findings == 1 and _terms(sink) == {"shop.example.com"}


def test_pastebin_scraping_api_lists_then_fetches_each_paste(server: Server, make_services) -> None:
    server.fixture("/api_scraping.php", "pastebin_list.json")
    server.route("/api_scrape_item.php", lambda path, headers: Reply(f"paste {path.split('i=')[1]}\n"
                                                                      "contact: admin@chf-exemple.example.fr\n"))
    svc = make_services()
    terms.add_term(svc.engine, "chf-exemple.example.fr", "domain")
    source = spec("pastebin", "pastebin", params={
        "list_url": server.url("/api_scraping.php"), "item_url": server.url("/api_scrape_item.php?i={key}")})
    sink = RecordingSink()
    report = poll(svc, source, sink=sink)
    assert report.health == "ok"
    assert _keys(sink) == ["PaSte0001", "PaSte0002"]  # by date, oldest first
    assert server.hits("/api_scraping.php?limit=100") == 1
    assert server.hits("/api_scrape_item.php?i=PaSte0001") == 1
    # two pastes with different content: each scanned, each found the watched domain
    assert report.scanned == 2 and report.findings == 2


def test_pastebin_access_denied_is_a_failing_source_not_an_empty_listing(server: Server, make_services) -> None:
    server.fixture("/api_scraping.php", "pastebin_denied.txt")
    svc = make_services()
    source = spec("pastebin", "pastebin", params={
        "list_url": server.url("/api_scraping.php"), "item_url": server.url("/api_scrape_item.php?i={key}")})
    sink = RecordingSink()
    report = poll(svc, source, sink=sink)
    assert report.health == "failing"
    assert "access denied" in (report.problem or "")
    assert sink.health == [("pastebin", "failing", report.health_reason)]
    # reported once: a second failed poll is not a new transition
    poll(svc, source, sink=sink)
    assert len(sink.health) == 1
    # the whitelist comes back: recovery reported once
    server.fixture("/api_scraping.php", "pastebin_list.json")
    server.route("/api_scrape_item.php", Reply("nothing here\n"))
    report = poll(svc, source, sink=sink)
    assert report.health == "ok"
    assert [h[1] for h in sink.health] == ["failing", "ok"]


def test_github_gists_paginates_by_link_and_joins_files(server: Server, make_services) -> None:
    server.fixture("/gists/public", "gists_page1.json",
                   headers={"Link": f'<{server.base}/gists/public?page=2>; rel="next"',
                            "X-RateLimit-Remaining": "59", "X-RateLimit-Reset": str(int(time.time()) + 3600)})
    server.fixture("/gists/public?page=2", "gists_page2.json")
    server.route("/raw/g2/export.csv", Reply("name,email\nA,a@chf-exemple.example.fr\n"))
    server.route("/raw/g1/notes.md", Reply("# notes\n"))
    server.route("/raw/g1/config.txt", Reply("password=hunter2\n"))
    svc = make_services(allow_private_urls=["127.0.0.1"], github_token="ghp_fake_token_for_tests")
    terms.add_term(svc.engine, "chf-exemple.example.fr", "domain")
    source = spec("gists", "github_gists", params={"url": server.url("/gists/public")})
    sink = RecordingSink()
    report = poll(svc, source, sink=sink)
    assert report.problem is None
    assert _keys(sink) == ["g1@2024-05-02T09:30:00Z", "g2@2024-05-03T10:00:00Z"]
    assert server.hits("/raw/g1/notes.md") == server.hits("/raw/g1/config.txt") == 1
    assert _terms(sink) == {"chf-exemple.example.fr"}
    listing = next(r for r in server.requests if r.path.startswith("/gists/public"))
    assert listing.headers["authorization"] == "Bearer ghp_fake_token_for_tests"
    assert listing.headers["user-agent"].startswith("leakwatch/")


def test_github_gists_rate_limit_spent_fails_the_poll_without_hammering(server: Server, make_services) -> None:
    reset = str(int(time.time()) + 3600)
    server.route("/gists/public", Reply('{"message": "API rate limit exceeded"}', status=403,
                                        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}))
    svc = make_services()
    report = poll(svc, spec("gists", "github_gists", params={"url": server.url("/gists/public")}))
    assert report.health == "degraded" and "rate limited" in (report.problem or "")
    assert server.hits("/gists/public?per_page=100") == 1  # the reset is past the budget: no retry


def test_html_index_pages_selectors_and_rewrite(server: Server, make_services) -> None:
    server.fixture("/archive", "archive_page1.html")
    server.fixture("/archive?page=2", "archive_page2.html")
    server.route("/raw/AAAA0001", Reply("log line\n"))
    server.route("/raw/AAAA0002", Reply("print('hello')\n"))
    server.route("/raw/AAAA0003", Reply("untitled\n"))
    server.route("/raw/AAAA0004", Reply("user@chf-exemple.example.fr:secret\n"))
    svc = make_services(allow_private_urls=["127.0.0.1"])
    terms.add_term(svc.engine, "chf-exemple.example.fr", "domain")
    source = spec("archive", "html_index", params={
        "url": server.url("/archive"), "entry": "table.maintable tr", "link": "td:first-child a[href]",
        "date": "time", "date_attribute": "datetime", "next_page": "a.next", "max_pages": 3,
        "key_pattern": r"/([A-Z0-9]{8})$", "rewrite": [r"/([A-Z0-9]{8})$", r"/raw/\1"]})
    sink = RecordingSink()
    report = poll(svc, source, sink=sink)
    assert report.problem is None
    assert _keys(sink) == ["AAAA0001", "AAAA0002", "AAAA0003", "AAAA0004"]
    assert _terms(sink) == {"chf-exemple.example.fr"}
    # the next poll stops at the first page: everything on it is known
    again = poll(svc, source, sink=sink)
    assert again.new == 0 and server.hits("/archive?page=2") == 1


def test_feed_rss_and_atom_titles_and_summaries_are_scanned(server: Server, make_services) -> None:
    server.fixture("/rss", "feed_rss.xml", headers={"Content-Type": "application/rss+xml"})
    server.fixture("/atom", "feed_atom.xml", headers={"Content-Type": "application/atom+xml"})
    svc = make_services()
    terms.add_term(svc.engine, "Centre Hospitalier Fictif de Sainte-Exemple", "org")
    terms.add_term(svc.engine, "Imaginary Widgets", "org")
    sink = RecordingSink()
    rss = poll(svc, spec("news", "feed", params={"url": server.url("/rss")}), sink=sink)
    atom = poll(svc, spec("blog", "feed", params={"url": server.url("/atom")}), sink=sink)
    assert (rss.scanned, atom.scanned) == (2, 2)
    assert _keys(sink) == ["https://news.example.com/?p=1001", "https://news.example.com/?p=1002",
                           "tag:blog.example.org,2024:1", "tag:blog.example.org,2024:2"]
    assert _terms(sink) == {"Centre Hospitalier Fictif de Sainte-Exemple", "Imaginary Widgets"}


def test_hibp_domain_addresses_are_matched_against_the_records(server: Server, make_services) -> None:
    answers = {"example.org": {"jean.exemple": ["ExampleShop"], "marie.fictive": ["ExampleShop", "FictionalForum"]}}
    server.route("/api/v3/breacheddomain/example.org", Reply(json.dumps(answers["example.org"])))
    svc = make_services(hibp_api_key="hibp-fake-key")
    terms.add_term(svc.engine, "example.org", "domain")
    source = spec("hibp_domain", "hibp_domain", params={
        "domains": ["example.org", "example.net"], "url": server.url("/api/v3/breacheddomain/{domain}")})
    sink = RecordingSink()
    report = poll(svc, source, sink=sink)
    assert report.problem is None
    assert [k.rsplit("/", 1)[0] for k in _keys(sink)] == ["example.org/ExampleShop", "example.org/FictionalForum"]
    assert _terms(sink) == {"example.org"}
    sent = next(r for r in server.requests if r.path.endswith("example.org"))
    assert sent.headers["hibp-api-key"] == "hibp-fake-key"
    assert server.hits("/api/v3/breacheddomain/example.net") == 1  # 404: no breach, not an error


def test_hibp_domain_without_a_key_is_a_configuration_failure(server: Server, make_services) -> None:
    svc = make_services()
    report = poll(svc, spec("hibp_domain", "hibp_domain", params={"domains": ["example.org"]}))
    assert report.health == "failing" and "hibp_api_key is not set" in (report.problem or "")
    assert server.requests == []


def test_folder_scans_each_file_once_and_moves_it(home: Path, make_services) -> None:
    svc = make_services()
    drop = home / "drop"
    (drop / "sub").mkdir(parents=True)
    (drop / "a.txt").write_text("admin@chf-exemple.example.fr\n")
    (drop / "sub" / "b.csv").write_text("x,y\n1,2\n")
    old = time.time() - 60
    for path in (drop / "a.txt", drop / "sub" / "b.csv"):
        os.utime(path, (old, old))
    (drop / "copying.part").write_text("still being written")  # too recent: left for the next poll
    terms.add_term(svc.engine, "chf-exemple.example.fr", "domain")
    source = spec("drop", "folder", expect_new=False, params={"path": "drop", "done": "done"})
    sink = RecordingSink()
    report = poll(svc, source, sink=sink)
    assert report.scanned == 2 and report.findings == 1
    assert sorted(p.relative_to(home / "done").as_posix() for p in (home / "done").rglob("*") if p.is_file()) \
        == ["a.txt", "sub/b.csv"]
    assert (drop / "copying.part").exists()
    assert poll(svc, source, sink=sink).scanned == 0


def test_folder_without_done_dir_records_files_as_done(home: Path, make_services) -> None:
    svc = make_services()
    drop = home / "in"
    drop.mkdir(parents=True)
    (drop / "dump.txt").write_text("hello\n")
    os.utime(drop / "dump.txt", (time.time() - 60, time.time() - 60))
    source = spec("drop", "folder", params={"path": str(drop)})
    assert poll(svc, source).scanned == 1
    assert poll(svc, source).scanned == 0
    assert (drop / "dump.txt").exists()


def test_html_index_of_titles_only_scans_the_titles(server: Server, make_services) -> None:
    server.route("/dumps", Reply('<ul class="dumps"><li><a href="/d/1">Imaginary Widgets GmbH - 2 GB</a>'
                                 '<span class="when">2024-05-02</span></li>'
                                 '<li><a href="/d/2">Another Fake Corp</a>'
                                 '<span class="when">2024-05-03</span></li></ul>'))
    svc = make_services()
    terms.add_term(svc.engine, "Imaginary Widgets", "org")
    source = spec("dumps", "html_index", params={"url": server.url("/dumps"), "entry": "ul.dumps li",
                                                 "date": "span.when", "fetch_items": False})
    sink = RecordingSink()
    report = poll(svc, source, sink=sink)
    assert report.scanned == 2 and _terms(sink) == {"Imaginary Widgets"}
    assert server.hits("/d/1") == 0  # titles only: the dumps themselves are not downloaded


def test_json_api_fetch_url_downloads_each_entry_through_the_guard(server: Server, make_services) -> None:
    server.route("/index.json", Reply(json.dumps({"items": [
        {"name": "dump one", "file": server.url("/files/1.txt")},
        {"name": "dump two", "file": "http://10.1.2.3/files/2.txt"}]})))
    server.route("/files/1.txt", Reply("user@chf-exemple.example.fr\n"))
    svc = make_services(allow_private_urls=["127.0.0.1"])
    terms.add_term(svc.engine, "chf-exemple.example.fr", "domain")
    source = spec("index", "json_api", params={"url": server.url("/index.json"), "items_path": "items",
                                               "title": "name", "link": "file", "fetch_url": True})
    sink = RecordingSink()
    report = poll(svc, source, sink=sink)
    assert report.scanned == 1 and _terms(sink) == {"chf-exemple.example.fr"}
    assert any("10.1.2.3" in e and "refused" in e for e in report.errors)


def test_listing_entries_without_a_link_are_told_apart_by_source_and_key(server: Server, make_services) -> None:
    server.fixture("/posts.json", "ransomwatch_posts.json")
    svc = make_services()
    terms.add_term(svc.engine, "Imaginary Widgets", "org")
    source = spec("ransomwatch", "json_api", params={"url": server.url("/posts.json"), "title": "post_title",
                                                     "key": ["group_name", "post_title"]})
    sink = RecordingSink()
    poll(svc, source, sink=sink)
    targets = {f.target for _, _, findings in sink.records for f in findings}
    assert targets == {"ransomwatch:fakegroupc|Imaginary Widgets GmbH &amp; Co. KG"}


def test_github_gists_spent_budget_stops_paging_without_asking_again(server: Server, make_services) -> None:
    raw = Server()  # the gists' files live on another host, as gist.githubusercontent.com
    raw.route("/raw/g2/export.csv", Reply("name\nA\n"))
    raw.start()
    try:
        page1 = (Path(__file__).parent.parent / "data" / "sources" / "gists_page1.json").read_text()
        server.route("/gists/public", Reply(page1.replace("{base}", raw.base), headers={
            "Link": f'<{server.base}/gists/public?page=2>; rel="next"',
            "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 3600)}))
        svc = make_services(allow_private_urls=["127.0.0.1"])
        report = poll(svc, spec("gists", "github_gists", params={"url": server.url("/gists/public")}))
    finally:
        raw.stop()
    assert report.scanned == 1  # the first page's gist is done
    assert server.hits("/gists/public?page=2") == 0  # the API is not asked again before its reset
    assert "limit resets in" in (report.problem or "") and report.health == "degraded"
