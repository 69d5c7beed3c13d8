"""``leakwatch scan URL``: one page or file on the web, fetched through the shared client (size
limit, retries, User-Agent) and scanned through ``pipeline.scan_item``. A URL the user typed is
trusted: the private-address guard applies only to URLs discovered in fetched content."""

from __future__ import annotations

import asyncio
from urllib.parse import unquote, urlsplit

from leakwatch.app import Services
from leakwatch.errors import InputError
from leakwatch.models import Item, ScanResult
from leakwatch.pipeline import scan_item
from leakwatch.sources import http
from leakwatch.sources.http import FetchError, RequestOptions, Response, safe_url


async def _fetch(services: Services, url: str) -> Response:
    try:
        return await http.client(services).get(url, RequestOptions(max_bytes=services.settings.max_item_bytes))
    finally:
        await http.close(services)


def scan_url(services: Services, url: str) -> ScanResult:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{safe_url(url)}: not an http(s) URL")
    try:
        resp = asyncio.run(_fetch(services, url))
    except FetchError as exc:
        raise InputError(str(exc)) from None
    except ValueError as exc:  # httpx refuses a malformed URL
        raise InputError(f"{safe_url(url)}: invalid URL ({exc.__class__.__name__})") from None
    name = unquote(urlsplit(resp.url).path.rstrip("/").rsplit("/", 1)[-1]) or None
    shown = safe_url(url)  # the user's URL may carry credentials or a token: never printed
    item = Item(source="web", key=shown, content=resp.content, url=shown, name=name)
    return scan_item(services, item)
