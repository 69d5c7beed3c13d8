"""The one HTTP client every source shares.

Policy in one place: connect/read timeouts, a User-Agent naming us, a minimum interval between two
requests to one host, retries with backoff for 429, 5xx, timeouts and dropped connections that
honour ``Retry-After`` (and GitHub's ``X-RateLimit-*``) within a cap on attempts and on total time,
other 4xx permanent; conditional requests; streamed bodies cut at a size limit; a bounded number of
redirects; an optional proxy per source (``socks5h://127.0.0.1:9050`` for .onion hosts through a
local Tor, via httpx's SOCKS support).

The private-address guard: URLs discovered inside fetched content (item links of a listing, raw
file URLs) and every redirect target are refused when they resolve to a non-global address
(private, loopback, link-local, reserved, multicast, or an IPv6 address embedding such an IPv4
one: IPv4-mapped or -compatible, NAT64, 6to4, Teredo) unless ``allow_private_urls`` lists them.
Only the URL typed by the user or configured in a source definition is exempt, and redirects that
stay on its very origin (scheme, host, port). The check is made where the connection is opened
(``GuardedBackend``): the name is resolved once, each address checked, and the socket connected to
the checked address while TLS and ``Host`` keep the name, so a DNS answer that changes between a
check and a connection (rebinding) cannot slip through. Through a proxy the proxy resolves the
name: the guard then checks what this host resolves, and rebinding is not closed.

Messages name URLs and statuses, never bodies.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import random
import socket
import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from leakwatch.settings import Settings

REDIRECTS = {301, 302, 303, 307, 308}
RETRY_STATUSES = {429, 500, 502, 503, 504}
SAFE_HEADERS = {"accept", "accept-language", "x-github-api-version"}
"""The only caller headers kept on a redirect to another origin: no credential."""
ERROR_BODY_BYTES = 64 * 1024

Validators = MutableMapping[str, dict[str, str]]
"""Per URL: the ``etag`` and ``last_modified`` of the last full answer, for conditional requests."""


class FetchError(Exception):
    """A request that failed for good: ``kind`` says why, ``transient`` whether a later poll may work."""

    def __init__(self, url: str, reason: str, *, kind: str, status: int | None = None,
                 transient: bool = False, body: bytes = b"") -> None:
        super().__init__(f"{safe_url(url)}: {reason}")
        self.url = url
        self.reason = reason
        self.kind = kind
        self.status = status
        self.transient = transient
        self.body = body
        """The start of an error page, for health checks only: never logged."""


@dataclass
class Response:
    url: str
    status: int
    headers: httpx.Headers
    content: bytes = b""
    not_modified: bool = False


@dataclass(frozen=True)
class RequestOptions:
    discovered: bool = False
    """The URL was found in fetched content: apply the private-address guard."""
    headers: Mapping[str, str] = field(default_factory=dict)
    validators: Validators | None = None
    max_bytes: int | None = None
    proxy: str | None = None
    host_interval: float | None = None
    timeout: float | None = None


def safe_url(url: str) -> str:
    """The URL without user info or query string values that may hold credentials (an IPv6 host
    keeps its brackets). What every message and output shows of a URL the user typed or configured."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port out of range)
    except ValueError:
        return "(invalid URL)"
    if parts.scheme not in ("http", "https"):
        return url.replace(parts.netloc, parts.netloc.rsplit("@", 1)[1], 1) if "@" in parts.netloc else url
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port:
        netloc += f":{parts.port}"
    query = "&".join(p.split("=", 1)[0] + ("=…" if "=" in p else "") for p in parts.query.split("&") if p)
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


class AllowList:
    """``allow_private_urls`` entries: ``host``, ``host:port``, ``[v6]:port`` or a CIDR."""

    def __init__(self, entries: list[str]) -> None:
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self.hosts: set[tuple[str, int | None]] = set()
        for raw in entries:
            entry = raw.strip().lower()
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if entry.startswith("[") and "]" in entry:
                host, _, rest = entry[1:].partition("]")
                self.hosts.add((host, int(rest[1:]) if rest.startswith(":") else None))
            elif entry.count(":") == 1 and entry.rsplit(":", 1)[1].isdigit():
                host, port = entry.rsplit(":", 1)
                self.hosts.add((host, int(port)))
            else:
                self.hosts.add((entry, None))

    def allows(self, host: str, port: int, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        for name in {host.lower(), str(ip)}:
            if (name, None) in self.hosts or (name, port) in self.hosts:
                return True
        return any(ip in net for net in self.networks)


IP = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: local-use translation, never global
_COMPATIBLE = ipaddress.IPv6Network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address reaches through: mapped, compatible, NAT64, 6to4, Teredo."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip in _NAT64 or (ip in _COMPATIBLE and int(ip) > 1):
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)
    return []


def is_public(ip: IP) -> bool:
    """Whether ``ip`` is a global unicast address, looking through IPv6 forms that embed IPv4."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return False
        embedded = _embedded_ipv4(ip)
        if embedded:
            return all(is_public(v4) for v4 in embedded)
    return ip.is_global and not ip.is_multicast


class Refused(Exception):
    """A guarded connection to a non-public address, raised where the socket would be opened."""

    def __init__(self, ip: IP) -> None:
        super().__init__(str(ip))
        self.ip = ip


async def resolve(host: str, port: int, timeout: float | None = None) -> list[IP]:
    """Every address of ``host`` (a literal address is itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        async with asyncio.timeout(timeout):
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve host: {exc.__class__.__name__}") from None
    seen: dict[IP, None] = {}
    for info in infos:
        seen.setdefault(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]), None)
    return list(seen)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the private-address guard at connect time: resolve once,
    refuse any non-public address not allowed, connect to the address checked (pinned)."""

    def __init__(self, allow: AllowList) -> None:
        from httpcore._backends.auto import AutoBackend

        self._inner = AutoBackend()
        self.allow = allow

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        addresses = await resolve(host, port, timeout)
        for ip in addresses:
            if not is_public(ip) and not self.allow.allows(host, port, ip):
                raise Refused(ip)
        error: Exception | None = None
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(str(ip), port, timeout=timeout, local_address=local_address,
                                                     socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error or httpcore.ConnectError("no address")

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _refusal(what: str, ip: IP) -> str:
    return f"refused: {what} resolves to the non-public address {ip} (allow it with allow_private_urls)"


async def check_destination(url: str, allow: AllowList, what: str = "a discovered URL") -> None:
    """Refuse a URL whose host resolves to a non-global address, unless allowed: the check made
    before a request through a proxy (without one, ``GuardedBackend`` checks at connect time)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(url, "refused: not an http(s) URL", kind="refused")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if host.endswith(".onion"):
        return  # resolved by Tor, never to a local address
    try:
        addresses = await resolve(host, port)
    except httpcore.ConnectError:
        raise FetchError(url, "cannot resolve host", kind="network", transient=True) from None
    for ip in addresses:
        if not is_public(ip) and not allow.allows(host, port, ip):
            raise FetchError(url, _refusal(what, ip), kind="refused")


def retry_after(headers: httpx.Headers, now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or HTTP date) or ``X-RateLimit-Reset`` when
    ``X-RateLimit-Remaining`` is 0."""
    now = time.time() if now is None else now
    value = headers.get("retry-after")
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return max(0.0, when.timestamp() - now)
    if headers.get("x-ratelimit-remaining") == "0" and (reset := headers.get("x-ratelimit-reset", "")).isdigit():
        return max(0.0, float(reset) - now)
    return None


class HttpClient:
    """One per event loop (see ``client``): httpx clients (one per proxy), host pacing, retries."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.allow = AllowList(settings.allow_private_urls)
        self.loop = asyncio.get_running_loop()
        self._clients: dict[tuple[str | None, bool], httpx.AsyncClient] = {}
        self._next_turn: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _client(self, proxy: str | None, guarded: bool) -> httpx.AsyncClient:
        """One client per proxy and per guard: a guarded one never shares a connection with the
        requests the user vouched for, and pins each connection to the address it checked."""
        guarded = guarded and proxy is None
        client = self._clients.get((proxy, guarded))
        if client is None:
            s = self.settings
            limits = httpx.Limits(max_connections=20, max_keepalive_connections=10)
            transport = httpx.AsyncHTTPTransport(limits=limits, proxy=proxy, trust_env=False)
            if guarded:
                transport._pool = httpcore.AsyncConnectionPool(
                    ssl_context=httpx.create_ssl_context(trust_env=False), max_connections=limits.max_connections,
                    max_keepalive_connections=limits.max_keepalive_connections,
                    keepalive_expiry=limits.keepalive_expiry, network_backend=GuardedBackend(self.allow))
            client = httpx.AsyncClient(
                headers={"User-Agent": s.user_agent},
                timeout=httpx.Timeout(s.http_timeout, connect=s.http_connect_timeout),
                follow_redirects=False,
                transport=transport,
                trust_env=False,
            )
            self._clients[(proxy, guarded)] = client
        return client

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    async def _turn(self, url: str, interval: float) -> None:
        """Wait until this host may be asked again; a rate-limit reset pushes the next turn back,
        and one beyond the retry budget fails now rather than hanging the poll."""
        host = _host(url)
        lock = self._locks.setdefault(host, asyncio.Lock())
        async with lock:
            wait = self._next_turn.get(host, 0.0) - time.monotonic()
            if wait > self.settings.http_retry_max_time:
                raise FetchError(url, f"rate limited: the host's limit resets in {wait:.0f}s",
                                 kind="rate_limited", transient=True)
            if wait > 0:
                await asyncio.sleep(wait)
            self._next_turn[host] = time.monotonic() + interval

    def _hold(self, host: str, seconds: float) -> None:
        self._next_turn[host] = max(self._next_turn.get(host, 0.0), time.monotonic() + seconds)

    async def get(self, url: str, opts: RequestOptions | None = None) -> Response:
        """GET with the retry policy. Returns 2xx (or 304 with ``not_modified``); raises FetchError."""
        opts = opts or RequestOptions()
        s = self.settings
        deadline = time.monotonic() + s.http_retry_max_time
        attempt = 0
        while True:
            wait: float | None = None
            try:
                async with asyncio.timeout(s.http_total_timeout):
                    resp = await self._once(url, opts)
            except (httpx.TimeoutException, TimeoutError):
                error = FetchError(url, "timed out", kind="timeout", transient=True)
            except httpx.RemoteProtocolError:
                error = FetchError(url, "connection closed before the whole answer came (truncated)",
                                   kind="truncated", transient=True)
            except httpx.TransportError as exc:
                error = FetchError(url, f"network error: {exc.__class__.__name__}", kind="network", transient=True)
            else:
                if resp.status < 400:
                    return resp
                wait = retry_after(resp.headers)
                spent = resp.headers.get("x-ratelimit-remaining") == "0"
                limited = resp.status == 429 or (resp.status == 403 and spent)
                if limited:
                    error = FetchError(url, f"HTTP {resp.status}: rate limited", kind="rate_limited",
                                       status=resp.status, transient=True, body=resp.content)
                elif resp.status in RETRY_STATUSES:
                    error = FetchError(url, f"HTTP {resp.status}", kind="server", status=resp.status,
                                       transient=True, body=resp.content)
                else:
                    kind = "not_found" if resp.status in (404, 410) else "status"
                    raise FetchError(url, f"HTTP {resp.status}", kind=kind, status=resp.status, body=resp.content)
                if wait is not None:
                    self._hold(_host(url), wait)
            attempt += 1
            if attempt > s.http_retries:
                raise FetchError(url, f"{error.reason} (gave up after {attempt} attempts)",
                                 kind=error.kind, status=error.status, transient=True, body=error.body)
            if wait is None:
                wait = min(s.http_backoff_max, s.http_backoff_base * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
            if time.monotonic() + wait > deadline:
                raise FetchError(url, f"{error.reason} (retry in {wait:.0f}s is past the "
                                      f"{s.http_retry_max_time:.0f}s budget)", kind=error.kind,
                                 status=error.status, transient=True, body=error.body)
            await asyncio.sleep(wait)

    async def _once(self, url: str, opts: RequestOptions) -> Response:
        s = self.settings
        limit = opts.max_bytes if opts.max_bytes is not None else s.max_item_bytes
        interval = opts.host_interval if opts.host_interval is not None else s.http_host_interval
        current = url
        for _hop in range(s.http_max_redirects + 1):
            # Only the URL typed or configured is trusted, and its own origin: a redirect elsewhere
            # is a discovered URL like any other.
            guarded = opts.discovered or _origin(current) != _origin(url)
            what = "a discovered URL" if current == url else f"a redirect to {safe_url(current)}"
            if guarded and (opts.proxy is not None or urlsplit(current).scheme not in ("http", "https")):
                await check_destination(current, self.allow, what)
            client = self._client(opts.proxy, guarded)
            # credentials never follow a redirect to another origin (as browsers and httpx do)
            headers = {k: v for k, v in opts.headers.items()
                       if _origin(current) == _origin(url) or k.lower() in SAFE_HEADERS}
            cached = opts.validators.get(current) if opts.validators is not None else None
            if cached:
                if cached.get("etag"):
                    headers["If-None-Match"] = cached["etag"]
                if cached.get("last_modified"):
                    headers["If-Modified-Since"] = cached["last_modified"]
            await self._turn(current, interval)
            kwargs: dict[str, Any] = {}
            if opts.timeout is not None:
                kwargs["timeout"] = httpx.Timeout(opts.timeout, connect=min(opts.timeout, s.http_connect_timeout))
            request = client.build_request("GET", current, headers=headers, **kwargs)
            try:
                resp = await client.send(request, stream=True)
            except Refused as exc:
                raise FetchError(url, _refusal(what, exc.ip), kind="refused") from None
            try:
                if resp.status_code in REDIRECTS and "location" in resp.headers:
                    current = urljoin(current, resp.headers["location"])
                    if urlsplit(current).scheme not in ("http", "https"):
                        raise FetchError(url, "redirected to a non-http URL", kind="refused")
                    continue
                if resp.status_code == 304:
                    return Response(current, 304, resp.headers, not_modified=True)
                if resp.status_code >= 400:
                    body = await _read(resp, ERROR_BODY_BYTES, cut=True)
                    return Response(current, resp.status_code, resp.headers, body)
                content = await _read(resp, limit, cut=False, url=current)
                if resp.headers.get("x-ratelimit-remaining") == "0" and (wait := retry_after(resp.headers)):
                    self._hold(_host(current), wait)
                if opts.validators is not None:
                    fresh = {k: v for k, v in (("etag", resp.headers.get("etag")),
                                                ("last_modified", resp.headers.get("last-modified"))) if v}
                    if fresh:
                        opts.validators[current] = fresh
                return Response(current, resp.status_code, resp.headers, content)
            finally:
                await resp.aclose()
        raise FetchError(url, f"more than {s.http_max_redirects} redirects", kind="redirects")


async def _read(resp: httpx.Response, limit: int, *, cut: bool, url: str = "") -> bytes:
    """The body, streamed: beyond ``limit`` either cut (error pages) or refused (content)."""
    declared = resp.headers.get("content-length", "")
    if not cut and declared.isdigit() and int(declared) > limit:
        raise FetchError(url, f"larger than the limit of {limit} bytes ({declared} declared)", kind="too_large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.aiter_bytes():
        size += len(chunk)
        if size > limit:
            if cut:
                chunks.append(chunk[: limit - (size - len(chunk))])
                break
            raise FetchError(url, f"larger than the limit of {limit} bytes", kind="too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or ''}"


def client(services: Any) -> HttpClient:
    """The shared client of ``services`` (``app.Services``) for the running event loop."""
    return services.http_client()  # type: ignore[no-any-return]


async def close(services: Any) -> None:
    await services.close_http()
