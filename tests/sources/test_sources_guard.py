"""The private-address guard against a real local HTTP server: redirects are discovered URLs, IPv6
forms that embed a private IPv4 are private, and the connection goes to the address checked."""

from __future__ import annotations

import ipaddress
import socket
import time

import pytest
from lw_httpserver import Reply, Server
from lw_sources import get, poll, spec

from leakwatch.sources.http import FetchError, is_public


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "169.254.169.254", "0.0.0.0", "100.64.0.1", "224.0.0.1", "::1", "fe80::1", "fc00::1",
    "::127.0.0.1",             # IPv4-compatible loopback
    "::ffff:169.254.169.254",  # IPv4-mapped metadata address
    "64:ff9b::a9fe:a9fe",      # NAT64 of 169.254.169.254
    "64:ff9b::7f00:1",         # NAT64 of 127.0.0.1
    "64:ff9b:1::808:808",      # local-use NAT64 prefix: never global
    "2002:a9fe:a9fe::1",       # 6to4 of 169.254.169.254
    "2002:7f00:1::1",          # 6to4 of 127.0.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "ff02::1",
])
def test_private_addresses_in_every_form_are_refused(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1"])
def test_public_addresses_pass(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def test_a_typed_url_redirecting_to_the_metadata_address_is_refused(cli, server: Server) -> None:
    cli("init", check=0)
    server.route("/r", Reply(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}))
    started = time.monotonic()
    result = cli("scan", server.url("/r"), check=2)
    assert time.monotonic() - started < 30
    [line] = [x for x in result.stderr.splitlines() if x.startswith("leakwatch: error:")]
    assert "refused" in line and "169.254.169.254" in line and "allow_private_urls" in line
    assert "Traceback" not in result.stderr


def test_a_typed_url_on_a_private_address_is_allowed_with_its_own_redirects(cli, server: Server) -> None:
    cli("init", check=0)
    server.route("/old", Reply(status=301, headers={"Location": "/new"}))
    server.route("/new", Reply("nothing to see\n"))
    cli("scan", server.url("/old"), check=0)
    assert server.hits("/new") == 1


def test_a_typed_url_redirecting_to_another_internal_host_is_refused(cli, server: Server) -> None:
    cli("init", check=0)
    internal = Server()
    internal.route("/admin", Reply("secret admin page\n"))
    internal.start()
    try:
        server.route("/r", Reply(status=302, headers={"Location": internal.url("/admin")}))
        result = cli("scan", server.url("/r"), check=2)
    finally:
        internal.stop()
    assert "refused" in result.stderr and internal.hits("/admin") == 0


def test_a_configured_listing_redirecting_to_an_internal_host_is_refused(server: Server, make_services) -> None:
    internal = Server()
    internal.route("/posts.json", Reply("[]"))
    internal.start()
    try:
        server.route("/posts.json", Reply(status=302, headers={"Location": internal.url("/posts.json")}))
        source = spec("tracker", "json_api", params={"url": server.url("/posts.json"), "title": "post_title"})
        report = poll(make_services(), source)
    finally:
        internal.stop()
    assert internal.hits("/posts.json") == 0
    assert "refused" in (report.problem or "") and "127.0.0.1" in (report.problem or "")


def test_discovered_ipv6_forms_of_private_addresses_are_refused_before_any_connection(make_services) -> None:
    svc = make_services()
    for url in ("http://[::127.0.0.1]:1/x", "http://[64:ff9b::a9fe:a9fe]/latest", "http://[::ffff:127.0.0.1]:1/"):
        with pytest.raises(FetchError) as caught:
            get(svc, url, discovered=True)
        assert caught.value.kind == "refused"
        assert str(caught.value).startswith("http://[")  # brackets kept in the message


def test_a_name_that_resolves_to_loopback_is_refused_when_discovered(server: Server, make_services) -> None:
    server.route("/x", Reply("hello\n"))
    port = server.httpd.server_address[1]
    with pytest.raises(FetchError) as caught:
        get(make_services(), f"http://localhost:{port}/x", discovered=True)
    assert caught.value.kind == "refused" and server.hits("/x") == 0
    assert get(make_services(allow_private_urls=["localhost"]), f"http://localhost:{port}/x",
               discovered=True).content == b"hello\n"


def test_the_connection_goes_to_the_address_that_was_checked(server: Server, make_services,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the name first answers an allowed address, then the protected one. Only the
    first answer is ever used, so the protected server is never reached."""
    server.route("/x", Reply("internal\n"))
    port = server.httpd.server_address[1]
    real = socket.getaddrinfo
    answers = iter(["127.0.0.2", "127.0.0.1", "127.0.0.1", "127.0.0.1"])

    def rebinding(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host == "rebind.example":
            return real(next(answers), *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    svc = make_services(allow_private_urls=["127.0.0.2/32"], http_retries=0)
    with pytest.raises(FetchError) as caught:
        get(svc, f"http://rebind.example:{port}/x", discovered=True)
    assert caught.value.kind == "network"  # 127.0.0.2: nothing listens there
    assert server.hits("/x") == 0


def test_credentials_and_query_secrets_of_a_typed_url_are_never_printed(cli, server: Server) -> None:
    cli("init", check=0)
    cli("terms", "add", "Hopital Saint-Exemple", "--kind", "org", check=0)
    server.route("/x", Reply("Hopital Saint-Exemple: export des patients\n"))
    url = server.url("/x").replace("http://", "http://analyst:pw-s3cr3t@") + "?token=T0k3nV4lu3"
    for args in (("--json",), ()):
        result = cli("scan", *args, url, check=1)
        for secret in ("pw-s3cr3t", "T0k3nV4lu3", "analyst"):
            assert secret not in result.stdout + result.stderr
        assert server.url("/x") + "?token=…" in result.stdout
    assert server.requests[-1].path == "/x?token=T0k3nV4lu3"  # the request itself is not changed
    server.route("/missing", Reply(status=404))
    result = cli("scan", url.replace("/x", "/missing"), check=2)
    assert "pw-s3cr3t" not in result.stderr and "T0k3nV4lu3" not in result.stderr
