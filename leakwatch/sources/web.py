"""``leakwatch scan URL``: one page or file on the web, fetched with the sources' client (size
limit, retries, User-Agent) into an Item that the caller scans (``pipeline.scan_item``). A URL the
user typed is trusted: the private-address guard applies only to URLs discovered in fetched content."""

from __future__ import annotations

import asyncio
from urllib.parse import unquote, urlsplit

from leakwatch.errors import InputError
from leakwatch.models import Item
from leakwatch.settings import Settings
from leakwatch.sources.http import FetchError, HttpClient, RequestOptions, Response, safe_url


async def _fetch(settings: Settings, url: str) -> Response:
    client = HttpClient(settings)
    try:
        return await client.get(url, RequestOptions(max_bytes=settings.max_item_bytes))
    finally:
        await client.aclose()


def fetch_item(settings: Settings, url: str) -> Item:
    """The Item at ``url``; InputError (one line) when it is not an http(s) URL or cannot be fetched."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{safe_url(url)}: not an http(s) URL")
    try:
        resp = asyncio.run(_fetch(settings, url))
    except FetchError as exc:
        raise InputError(str(exc)) from None
    except ValueError as exc:  # httpx refuses a malformed URL
        raise InputError(f"{safe_url(url)}: invalid URL ({exc.__class__.__name__})") from None
    name = unquote(urlsplit(resp.url).path.rstrip("/").rsplit("/", 1)[-1]) or None
    shown = safe_url(url)  # the user's URL may carry credentials or a token: never printed
    return Item(source="web", key=shown, content=resp.content, url=shown, name=name)
