"""The shared client and health under faults: 429 with Retry-After, 5xx, timeouts, truncated and
malformed bodies, block pages, hostile or huge HTML, redirect loops, the private-address guard,
conditional requests. All against a real local server, with tiny backoff delays."""

from __future__ import annotations

import pytest
from lw_httpserver import Reply, Server
from lw_sources import RecordingSink, get, poll, spec

from leakwatch.errors import InputError
from leakwatch.pipeline import scan_item
from leakwatch.sources.http import AllowList, FetchError
from leakwatch.sources.web import fetch_item

LIST = '[{"post_title": "Fake Victim One", "group_name": "g", "discovered": "2024-05-01 00:00:00.000000"}]'


def json_source(server: Server, path: str = "/posts.json", **fields: object):
    return spec("tracker", "json_api", params={"url": server.url(path), "title": "post_title",
                                               "date": "discovered", "key": ["group_name", "post_title"]}, **fields)


def test_429_with_retry_after_is_retried_then_succeeds(server: Server, make_services) -> None:
    server.route("/posts.json", Reply("slow down", status=429, headers={"Retry-After": "0"}), Reply(LIST))
    report = poll(make_services(), json_source(server))
    assert report.problem is None and report.scanned == 1
    assert server.hits("/posts.json") == 2


def test_retry_after_beyond_the_budget_gives_up_at_once(server: Server, make_services) -> None:
    server.route("/posts.json", Reply("slow down", status=429, headers={"Retry-After": "3600"}))
    report = poll(make_services(), json_source(server))
    assert report.health == "degraded"
    assert "rate limited" in (report.problem or "") and "past the" in (report.problem or "")
    assert server.hits("/posts.json") == 1


def test_repeated_429s_degrade_then_fail_once_then_recover_once(server: Server, make_services) -> None:
    server.route("/posts.json", Reply("slow down", status=429, headers={"Retry-After": "0"}))
    svc = make_services(source_failing_after=2)
    sink = RecordingSink()
    first = poll(svc, json_source(server), sink=sink)
    assert first.health == "degraded" and "gave up after 3 attempts" in (first.problem or "")
    assert server.hits("/posts.json") == 3  # http_retries=2: capped
    assert poll(svc, json_source(server), sink=sink).health == "failing"
    assert poll(svc, json_source(server), sink=sink).health == "failing"
    server.route("/posts.json", Reply(LIST))
    assert poll(svc, json_source(server), sink=sink).health == "ok"
    assert [state for _, state, _ in sink.health] == ["failing", "ok"]


def test_500s_are_retried_with_backoff_and_capped(server: Server, make_services) -> None:
    server.route("/posts.json", Reply("oops", status=500))
    report = poll(make_services(), json_source(server))
    assert report.health == "degraded" and "HTTP 500" in (report.problem or "")
    assert server.hits("/posts.json") == 3


def test_other_4xx_are_permanent(server: Server, make_services) -> None:
    report = poll(make_services(), json_source(server, "/gone.json"))
    assert report.health == "failing" and "HTTP 404" in (report.problem or "")
    assert server.hits("/gone.json") == 1


def test_read_timeout_is_retried_then_reported(server: Server, make_services) -> None:
    server.route("/posts.json", Reply(LIST, delay=1.0))
    report = poll(make_services(http_timeout=0.2), json_source(server))
    assert "timed out" in (report.problem or "") and report.health == "degraded"
    assert server.hits("/posts.json") == 3


def test_truncated_body_is_retried(server: Server, make_services) -> None:
    server.route("/posts.json", Reply(LIST, truncate=True), Reply(LIST))
    report = poll(make_services(), json_source(server))
    assert report.problem is None and report.scanned == 1
    assert server.hits("/posts.json") == 2


def test_truncated_every_time_is_a_transient_failure(server: Server, make_services) -> None:
    server.route("/posts.json", Reply(LIST, truncate=True))
    report = poll(make_services(), json_source(server))
    assert "truncated" in (report.problem or "") and report.health == "degraded"


def test_malformed_json_degrades_and_shape_change_fails(server: Server, make_services) -> None:
    svc = make_services()
    server.route("/posts.json", Reply(LIST[:-10]))
    report = poll(svc, json_source(server))
    assert report.health == "degraded" and "not valid JSON" in (report.problem or "")
    server.route("/posts.json", Reply('{"victims": []}'))
    report = poll(svc, json_source(server))
    assert report.health == "failing" and "shape changed" in (report.problem or "")
    server.route("/posts.json", Reply('[{"title": "renamed field", "group": "g"}]'))
    report = poll(svc, json_source(server))
    assert "no entry has the title field 'post_title'" in (report.problem or "")


def test_an_empty_listing_is_fine(server: Server, make_services) -> None:
    server.route("/posts.json", Reply("[]"))
    report = poll(make_services(), json_source(server))
    assert report.problem is None and report.health == "ok" and report.new == 0


@pytest.mark.parametrize(("status", "page", "kind"), [
    (200, "captcha.html", "captcha"),
    (403, "captcha.html", "captcha"),
    (200, "pastebin_denied.txt", "access denied"),
])
def test_block_pages_fail_the_source_at_once(server: Server, make_services, status: int, page: str,
                                             kind: str) -> None:
    server.fixture("/archive", page, status=status)
    source = spec("archive", "html_index", params={"url": server.url("/archive"), "entry": "tr"})
    report = poll(make_services(), source)
    assert report.health == "failing" and kind in (report.problem or "")


def test_banned_page_is_recognised(server: Server, make_services) -> None:
    server.route("/posts.json", Reply("<html><title>Blocked</title><h1>Sorry, you have been blocked</h1></html>"))
    report = poll(make_services(), json_source(server))
    assert report.health == "failing" and "banned" in (report.problem or "")


def test_huge_listing_is_cut_while_streaming(server: Server, make_services) -> None:
    server.route("/archive", Reply("<html><body>" + "<p>filler</p>" * 200_000 + "</body></html>"))
    source = spec("archive", "html_index", params={"url": server.url("/archive"), "entry": "tr",
                                                   "max_listing_bytes": 100_000})
    report = poll(make_services(), source)
    assert "larger than the limit of 100000 bytes" in (report.problem or "")


def test_hostile_html_does_not_break_the_poll(server: Server, make_services) -> None:
    nested = "<div>" * 20_000 + '<a href="/x">x</a>' + "</div>" * 20_000
    garbage = "<table><tr><td><a href='javascript:alert(1)'>js</a><a href=''>empty</a><a>none</a>"
    server.route("/archive", Reply(f"<html><body>{garbage}<script>{'<' * 5000}</script>{nested}</body></html>"))
    server.route("/x", Reply("found\n"))
    source = spec("archive", "html_index", params={"url": server.url("/archive"), "entry": "a"})
    report = poll(make_services(allow_private_urls=["127.0.0.1"]), source)
    assert report.problem is None
    assert [item.key for item in report.items] == [server.url("/x")]


def test_redirect_loop_is_bounded(server: Server, make_services) -> None:
    server.route("/a", Reply(status=302, headers={"Location": "/b"}))
    server.route("/b", Reply(status=302, headers={"Location": "/a"}))
    report = poll(make_services(http_max_redirects=4), json_source(server, "/a"))
    assert "more than 4 redirects" in (report.problem or "")
    assert server.hits("/a") + server.hits("/b") == 5


def test_redirect_is_followed(server: Server, make_services) -> None:
    server.route("/old.json", Reply(status=301, headers={"Location": "/posts.json"}))
    server.route("/posts.json", Reply(LIST))
    assert poll(make_services(), json_source(server, "/old.json")).scanned == 1


def _archive(server: Server) -> None:
    server.route("/archive", Reply('<table><tr><td><a href="/raw/one">one</a></td></tr></table>'))
    server.route("/raw/one", Reply("content one\n"))


def test_discovered_link_to_loopback_is_refused(server: Server, make_services) -> None:
    _archive(server)
    source = spec("archive", "html_index", params={"url": server.url("/archive"), "entry": "tr"})
    report = poll(make_services(), source)
    assert server.hits("/raw/one") == 0
    assert report.scanned == 0
    assert any("refused" in e and "127.0.0.1" in e for e in report.errors)
    assert report.health == "degraded"
    # refused for good: recorded as done, not retried at every poll
    assert poll(make_services(), source).new == 0


@pytest.mark.parametrize("entry", ["127.0.0.1", "127.0.0.0/8", "127.0.0.1:{port}"])
def test_allow_list_lets_discovered_links_through(server: Server, make_services, entry: str) -> None:
    _archive(server)
    source = spec("archive", "html_index", params={"url": server.url("/archive"), "entry": "tr"})
    port = str(server.httpd.server_address[1])
    report = poll(make_services(allow_private_urls=[entry.replace("{port}", port)]), source)
    assert report.problem is None and report.scanned == 1 and server.hits("/raw/one") == 1


def test_redirect_of_a_discovered_link_is_checked_too(server: Server, make_services) -> None:
    internal = Server()  # another port of 127.0.0.1, not on the allow-list
    internal.route("/secret", Reply("internal service\n"))
    internal.start()
    try:
        server.route("/archive", Reply('<table><tr><td><a href="/raw/one">one</a></td></tr></table>'))
        server.route("/raw/one", Reply(status=302, headers={"Location": internal.url("/secret")}))
        source = spec("archive", "html_index", params={"url": server.url("/archive"), "entry": "tr"})
        port = server.httpd.server_address[1]
        report = poll(make_services(allow_private_urls=[f"127.0.0.1:{port}"]), source)
    finally:
        internal.stop()
    assert server.hits("/raw/one") == 1 and internal.hits("/secret") == 0
    assert any("refused" in e for e in report.errors)


def test_allow_list_entries() -> None:
    import ipaddress

    allow = AllowList(["10.0.0.0/8", "intranet.example", "127.0.0.1:8080", "[::1]:9000"])
    assert allow.allows("x", 80, ipaddress.ip_address("10.2.3.4"))
    assert allow.allows("intranet.example", 443, ipaddress.ip_address("192.168.1.1"))
    assert allow.allows("127.0.0.1", 8080, ipaddress.ip_address("127.0.0.1"))
    assert not allow.allows("127.0.0.1", 8081, ipaddress.ip_address("127.0.0.1"))
    assert allow.allows("::1", 9000, ipaddress.ip_address("::1"))
    assert not allow.allows("other", 80, ipaddress.ip_address("192.168.1.1"))


def test_guard_refuses_non_public_addresses_by_literal(make_services) -> None:
    svc = make_services()
    for url in ("http://169.254.169.254/latest/meta-data/", "http://[::ffff:10.0.0.1]/", "http://0.0.0.0/",
                "file:///etc/passwd"):
        with pytest.raises(FetchError) as info:
            get(svc, url, discovered=True)
        assert info.value.kind == "refused"


def test_conditional_requests_use_the_stored_etag(server: Server, make_services) -> None:
    server.route("/posts.json", Reply(LIST, etag='"v1"'))
    svc = make_services()
    assert poll(svc, json_source(server)).scanned == 1
    report = poll(svc, json_source(server))
    assert report.problem is None and report.listed == 0
    assert server.requests[-1].headers.get("if-none-match") == '"v1"'


def test_item_larger_than_the_limit_is_refused_and_not_retried(server: Server, make_services) -> None:
    server.route("/archive", Reply('<table><tr><td><a href="/raw/big">big</a></td></tr>'
                                   '<tr><td><a href="/raw/small">small</a></td></tr></table>'))
    server.route("/raw/big", Reply("x" * 5000))
    server.route("/raw/small", Reply("small\n"))
    svc = make_services(allow_private_urls=["127.0.0.1"], max_item_bytes=1000)
    source = spec("archive", "html_index", params={"url": server.url("/archive"), "entry": "tr"})
    report = poll(svc, source)
    assert report.scanned == 1 and any("larger than the limit of 1000 bytes" in e for e in report.errors)
    assert report.health == "ok"
    assert poll(svc, source).new == 0
    assert server.hits("/raw/big") == 1


def test_scan_url_allows_a_typed_loopback_url_and_limits_size(server: Server, make_services) -> None:
    server.route("/leak.txt", Reply("hello\n"))
    server.route("/big.txt", Reply("y" * 3000))
    svc = make_services(max_item_bytes=2000)
    result = scan_item(svc, fetch_item(svc.settings, server.url("/leak.txt")))
    assert result.item.url == server.url("/leak.txt") and result.documents == 1
    with pytest.raises(InputError, match="larger than the limit of 2000 bytes"):
        fetch_item(svc.settings, server.url("/big.txt"))
    with pytest.raises(InputError, match="HTTP 404"):
        fetch_item(svc.settings, server.url("/missing"))
    with pytest.raises(InputError, match="not an http"):
        fetch_item(svc.settings, "ftp://example.org/x")


def test_a_title_quoting_a_block_page_is_not_a_block_page(server: Server, make_services) -> None:
    server.route("/posts.json", Reply('[{"post_title": "Sorry, you have been blocked", "group_name": "g"},'
                                      '{"post_title": "<title>Just a moment...</title>", "group_name": "g"}]'))
    report = poll(make_services(), json_source(server))
    assert report.problem is None and report.scanned == 2


def test_a_source_proxy_carries_its_requests(server: Server, make_services) -> None:
    """The test server acting as the source's HTTP proxy: an onion listing goes through it."""
    onion = "http://fakeleaksiteaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.onion/posts.json"
    server.route(onion, Reply(LIST))
    source = spec("onion", "json_api", proxy=server.base,
                  params={"url": onion, "title": "post_title", "key": ["post_title"]})
    report = poll(make_services(), source)
    assert report.problem is None and report.scanned == 1
    assert server.hits(onion) == 1


def test_a_next_page_that_fails_keeps_the_first_page(server: Server, make_services) -> None:
    server.route("/archive", Reply('<table><tr><td><a href="/raw/one">one</a></td></tr></table>'
                                   '<a class="next" href="http://10.255.255.1/archive?page=2">next</a>'))
    server.route("/raw/one", Reply("content one\n"))
    source = spec("archive", "html_index", params={"url": server.url("/archive"), "entry": "tr",
                                                   "next_page": "a.next"})
    report = poll(make_services(allow_private_urls=["127.0.0.1"]), source)
    assert report.scanned == 1
    assert "refused" in (report.problem or "") and "10.255.255.1" in (report.problem or "")


def test_credentials_do_not_follow_a_redirect_to_another_origin(server: Server, make_services) -> None:
    other = Server()
    other.route("/posts.json", Reply(LIST))
    other.start()
    try:
        server.route("/posts.json", Reply(status=302, headers={"Location": other.url("/posts.json")}))
        source = json_source(server, auth={"secret": "tracker", "header": "X-Api-Key"})
        # the other origin is a redirect target, guarded like a discovered URL: allowed here
        report = poll(make_services(source_secrets={"tracker": "s3cr3t-key"}, allow_private_urls=["127.0.0.1"]),
                      source)
    finally:
        other.stop()
    assert report.scanned == 1
    assert server.requests[0].headers["x-api-key"] == "s3cr3t-key"
    assert "x-api-key" not in other.requests[0].headers


def test_a_missing_secret_is_a_configuration_failure(server: Server, make_services) -> None:
    report = poll(make_services(), json_source(server, auth={"secret": "tracker"}))
    assert report.health == "failing" and "LEAKWATCH_SOURCE_SECRETS__TRACKER" in (report.problem or "")
    assert server.requests == []


def test_a_feed_with_an_entity_bomb_is_refused_not_expanded(server: Server, make_services) -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
            + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
            + ']><rss><channel><item><title>&i;</title></item></channel></rss>')
    server.route("/rss", Reply(bomb))
    report = poll(make_services(), spec("news", "feed", params={"url": server.url("/rss")}))
    assert report.health == "degraded" and "not a well-formed feed (EntitiesForbidden)" in (report.problem or "")


def test_a_server_that_drips_its_answer_cannot_hold_the_poll(server: Server, make_services) -> None:
    server.route("/posts.json", Reply(LIST, drip=0.05))  # each byte well within the read timeout
    report = poll(make_services(http_total_timeout=0.3, http_retries=0), json_source(server))
    assert report.health == "degraded" and "timed out" in (report.problem or "")
