"""The one HTTP client every source shares.

Policy in one place: connect/read timeouts, a User-Agent naming us, a minimum interval between two
requests to one host, retries with backoff for 429, 5xx, timeouts and dropped connections that
honour ``Retry-After`` (and GitHub's ``X-RateLimit-*``) within a cap on attempts and on total time,
other 4xx permanent; conditional requests; streamed bodies cut at a size limit; a bounded number of
redirects; an optional proxy per source (``socks5h://127.0.0.1:9050`` for .onion hosts through a
local Tor, via httpx's SOCKS support).

URLs discovered inside fetched content (item links of a listing, raw file URLs) are refused when
they resolve to a non-global address (private, loopback, link-local, reserved, multicast) unless
``allow_private_urls`` lists them; each redirect target of such a URL is checked too. Note: the name
is resolved before the connection, so a DNS answer that changes in between (rebinding) is not
caught; run the daemon where it cannot reach sensitive internal services anyway.

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
    """The URL without user info or query string values that may hold credentials."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return url
    netloc = parts.hostname or ""
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


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_destination(url: str, allow: AllowList) -> None:
    """Refuse a discovered URL whose host resolves to a non-global address, unless allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(url, "refused: not an http(s) URL", kind="refused")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if host.endswith(".onion"):
        return  # resolved by Tor, never to a local address
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            raise FetchError(url, "cannot resolve host", kind="network", transient=True) from None
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for ip in addresses:
        if not _is_public(ip) and not allow.allows(host, port, ip):
            raise FetchError(url, f"refused: a discovered URL that resolves to the non-public address {ip} "
                                  "(allow it with allow_private_urls)", kind="refused")


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
        self._clients: dict[str | None, httpx.AsyncClient] = {}
        self._next_turn: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _client(self, proxy: str | None) -> httpx.AsyncClient:
        client = self._clients.get(proxy)
        if client is None:
            s = self.settings
            client = httpx.AsyncClient(
                headers={"User-Agent": s.user_agent},
                timeout=httpx.Timeout(s.http_timeout, connect=s.http_connect_timeout),
                limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
                follow_redirects=False,
                proxy=proxy,
                trust_env=False,
            )
            self._clients[proxy] = client
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
        client = self._client(opts.proxy)
        current = url
        for _hop in range(s.http_max_redirects + 1):
            if opts.discovered:
                await check_destination(current, self.allow)
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
            resp = await client.send(request, stream=True)
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
