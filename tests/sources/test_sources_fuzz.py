"""Hypothesis properties for every source driver's parser: whatever a listing holds, the driver
raises only the project's own errors (SourceProblem, FetchError, LeakwatchError), in about linear
time on adversarial shapes (deep nesting, huge strings). Drivers that parse inside ``list_new``
(Pastebin, gists, HIBP domain) are driven against a real local HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lw_httpserver import Reply, Server
from lw_sources import spec

from leakwatch.errors import LeakwatchError
from leakwatch.sources import http
from leakwatch.sources.base import SourceContext, get_path, parse_date, parse_json, text_value
from leakwatch.sources.feed import parse_feed
from leakwatch.sources.github_gists import GithubGists
from leakwatch.sources.health import SourceProblem
from leakwatch.sources.hibp_domain import HibpDomain
from leakwatch.sources.html_index import HtmlIndexParams, parse_page
from leakwatch.sources.http import FetchError
from leakwatch.sources.json_api import JsonApiParams, entries
from leakwatch.sources.pastebin import Pastebin
from leakwatch.sources.state import SourceState

OWN = (SourceProblem, FetchError, LeakwatchError)
BOUND = 10.0
"""Generous: a correctness guard against super-linear parsing, not a benchmark. The shapes are ~2 MB
or tens of thousands deep: quadratic parsing takes hours there, linear parsing a second or two."""
FUZZ = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
DRIVEN = settings(max_examples=30, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
        st.sampled_from(["key", "id", "title", "date", "url", "files", "raw_url", "size", "full_url", "data",
                         "post_title", "updated_at", "description", "x"]) | st.text(max_size=6), inner, max_size=6),
    max_leaves=30)


def own_errors_only(call: Callable[[], Any]) -> None:
    with contextlib.suppress(*OWN):  # anything else fails the test
        call()


def timed(call: Callable[[], Any]) -> float:
    started = time.monotonic()
    own_errors_only(call)
    return time.monotonic() - started


# ---- pure parsers -----------------------------------------------------------------------------

xml_bits = st.lists(st.sampled_from([
    "<rss>", "</rss>", "<channel>", "</channel>", "<item>", "</item>", "<title>", "</title>", "<link>",
    "</link>", "<guid>", "</guid>", "<pubDate>", "</pubDate>", "<description>", "</description>",
    '<feed xmlns="http://www.w3.org/2005/Atom">', "</feed>", "<entry>", "</entry>", '<link href="x"/>',
    "<id>", "</id>", "<![CDATA[", "]]>", "&amp;", "&lt;b&gt;", "&bogus;", "text", "2026-11-30T10:00:00Z",
    "Mon, 30 Nov 2026 10:00:00 +0000", "<", ">", "\x00", "é", '<?xml version="1.0"?>', "<!DOCTYPE x>",
]), max_size=60).map("".join)


@FUZZ
@given(xml_bits | st.text(max_size=300))
def test_the_feed_parser_raises_only_its_own_errors(text: str) -> None:
    own_errors_only(lambda: parse_feed(text.encode(), "test:feed"))


html_bits = st.lists(st.sampled_from([
    "<table>", "</table>", "<tr>", "</tr>", "<td>", "</td>", '<a href="/raw/1">', '<a href="javascript:x">',
    "<a>", "</a>", '<a class="next" href="?page=2">', "<time datetime='2026-11-30'>", "</time>", "<div>",
    "</div>", "<script>", "</script>", "<!--", "-->", "<![CDATA[", "&amp;", "&#x0;", "\x00", "é", "<", ">",
    '"', "'", "text", "<br/>", "<p", "</",
]), max_size=80).map("".join)
PAGE = HtmlIndexParams(url="http://127.0.0.1/", entry="tr", title="td", date="time", date_attribute="datetime",
                       next_page="a.next")


@FUZZ
@given(html_bits | st.text(max_size=300))
def test_the_html_index_parser_raises_only_its_own_errors(text: str) -> None:
    own_errors_only(lambda: parse_page(PAGE, text.encode(), "http://127.0.0.1/list", "test:html"))


@FUZZ
@given(json_values)
def test_the_shared_json_helpers_raise_nothing(value: Any) -> None:
    own_errors_only(lambda: parse_json("test:json", json.dumps(value).encode(), "not JSON"))
    for path in ("", "title", "data.title", "files.x.raw_url", "0", "a.b.c.d"):
        got = get_path(value, path)
        text_value(got)
        parse_date(got)


@FUZZ
@given(json_values)
def test_the_json_api_parser_raises_only_its_own_errors(make_services, value: Any) -> None:
    svc = make_services()
    params = JsonApiParams(url="http://127.0.0.1/", items_path="data", title="title", date="date", link="url",
                           key=["id"], fields={"size": "size"})
    for body in (json.dumps(value), json.dumps({"data": value})):
        own_errors_only(lambda b=body: entries("fuzz", params, b.encode(), "test:json", SourceState(svc.engine,
                                                                                                    "fuzz")))


# ---- drivers that parse inside list_new, against a real server ----------------------------

def _list(svc, driver, source, params) -> None:
    async def go() -> None:
        ctx = SourceContext(svc.settings, source, http.client(svc), {})
        try:
            async for _ in driver.list_new(ctx, params, SourceState(svc.engine, source.name)):
                pass
        finally:
            await http.close(svc)

    own_errors_only(lambda: asyncio.run(go()))


def _drivers(server: Server) -> list[tuple[str, Any, Any, str]]:
    """(name, driver, spec, path the listing is served at)."""
    return [
        ("pastebin", Pastebin(), spec("pastebin", "pastebin", params={"list_url": server.url("/paste")}), "/paste"),
        ("gists", GithubGists(), spec("gists", "github_gists", params={"url": server.url("/gists"), "max_pages": 2}),
         "/gists"),
        ("hibp", HibpDomain(), spec("hibp", "hibp_domain", params={"domains": ["example.org"],
                                                                   "url": server.url("/hibp/{domain}")}),
         "/hibp/example.org"),
    ]


@DRIVEN
@given(json_values)
def test_the_json_drivers_raise_only_their_own_errors(server: Server, make_services, value: Any) -> None:
    svc = make_services(hibp_api_key="k", http_retries=0)
    body = json.dumps(value)
    for _name, driver, source, path in _drivers(server):
        server.route(path, Reply(body, headers={"Content-Type": "application/json"}))
        _list(svc, driver, source, source.driver_params())


# ---- adversarial shapes: linear time ----------------------------------------------------------

DEEP_JSON = b"[" * 200_000 + b"]" * 200_000
DEEP_OBJECTS = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
HUGE_STRING = json.dumps([{"title": "7" * 2_000_000, "date": "9" * 1000, "url": "@" * 1_000_000}]).encode()


@pytest.mark.parametrize("body", [DEEP_JSON, DEEP_OBJECTS, HUGE_STRING], ids=["deep-lists", "deep-objects", "huge"])
def test_json_parsers_take_about_linear_time_on_adversarial_listings(make_services, body: bytes) -> None:
    svc = make_services()
    params = JsonApiParams(url="http://127.0.0.1/", title="title", date="date", link="url")
    assert timed(lambda: parse_json("test:json", body, "not JSON")) < BOUND
    assert timed(lambda: entries("fuzz", params, body, "test:json", SourceState(svc.engine, "fuzz"))) < BOUND


@pytest.mark.parametrize("body", [DEEP_JSON, DEEP_OBJECTS, HUGE_STRING], ids=["deep-lists", "deep-objects", "huge"])
def test_json_drivers_take_about_linear_time_on_adversarial_listings(server: Server, make_services,
                                                                     body: bytes) -> None:
    svc = make_services(hibp_api_key="k", http_retries=0)
    for name, driver, source, path in _drivers(server):
        server.route(path, Reply(body))
        spent = timed(lambda d=driver, s=source: _list(svc, d, s, s.driver_params()))
        assert spent < BOUND, f"{name}: {spent:.1f}s"


@pytest.mark.parametrize("body", [b"<div>" * 40_000 + b"<tr><td><a href='/x'>x</a></td></tr>",
                                  b"<table>" + b"<tr><td><a href='/raw/1'>" + b"<b>" * 20_000
                                  + b"x</a></td></tr>" * 10,
                                  b"<a href='" + b"x" * 2_000_000 + b"'>",
                                  b"<tr>" * 60_000], ids=["divs", "bold", "long attribute", "rows"])
def test_the_html_parser_takes_about_linear_time_on_deep_nesting(body: bytes) -> None:
    """One case a test, so that the cases run side by side on the test workers."""
    spent = timed(lambda: parse_page(PAGE, body, "http://127.0.0.1/list", "test:html"))
    assert spent < BOUND, f"{body[:20]!r}: {spent:.1f}s"


def test_the_feed_parser_takes_about_linear_time_on_deep_nesting_and_entities() -> None:
    bombs = (
        b"<rss><channel>" + b"<x>" * 40_000 + b"</x>" * 40_000 + b"</channel></rss>",
        b"<rss><channel>" + b"<item><title>t</title><link>http://x/1</link></item>" * 40_000 + b"</channel></rss>",
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b"<rss><channel><item><title>&b;&b;&b;</title></item></channel></rss>",
        b"<rss><channel><item><title>" + b"7" * 2_000_000 + b"</title></item></channel></rss>",
    )
    for body in bombs:
        spent = timed(lambda b=body: parse_feed(b, "test:feed"))
        assert spent < BOUND, f"{body[:30]!r}: {spent:.1f}s"
