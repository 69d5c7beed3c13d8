"""``github_gists``: GitHub's public gists feed, newest first, paginated by ``Link``.

A token (setting ``github_token``) raises the limit from 60 to 5000 requests an hour. The shared
client honours ``X-RateLimit-Remaining``/``X-RateLimit-Reset``: when the budget is spent it waits
for the reset, or fails the poll (transient) when the reset is past the retry budget.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field

from leakwatch.models import Item, ItemRef
from leakwatch.sources.base import (
    SourceContext,
    after_cursor,
    cursor_of,
    parse_date,
    parse_json,
    problem_shape,
    text_value,
)
from leakwatch.sources.http import FetchError
from leakwatch.sources.state import SourceState


class GistsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = "https://api.github.com/gists/public"
    per_page: int = Field(default=100, ge=1, le=100)
    max_pages: int = Field(default=3, ge=1, le=30)
    max_file_bytes: int = 2 * 1024 * 1024


class GithubGists:
    driver: ClassVar[str] = "github_gists"
    Params: ClassVar[type[BaseModel]] = GistsParams

    def _headers(self, ctx: SourceContext) -> dict[str, str]:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        token = ctx.settings.github_token.get_secret_value()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    async def list_new(self, ctx: SourceContext, params: GistsParams, state: SourceState
                       ) -> AsyncIterator[ItemRef]:
        sep = "&" if "?" in params.url else "?"
        url: str | None = f"{params.url}{sep}per_page={params.per_page}"
        fresh: list[ItemRef] = []
        later: FetchError | None = None
        for page in range(params.max_pages):
            if url is None:
                break
            if page == 0:
                resp = await ctx.get_listing(url, max_bytes=16 * 1024 * 1024, headers=self._headers(ctx))
                if resp.not_modified:
                    return
            else:
                try:
                    resp = await ctx.get(url, discovered=True, max_bytes=16 * 1024 * 1024,
                                         headers=self._headers(ctx))
                except FetchError as exc:
                    later = exc  # the pages read so far are still worth scanning
                    break
            gists = parse_json(url, resp.content, "the listing is not JSON")
            if not isinstance(gists, list) or any(not isinstance(g, dict) or "id" not in g
                                                  or not isinstance(g.get("files") or {}, dict) for g in gists):
                raise problem_shape(url, "expected a list of gists with an id and files")
            older = False
            for gist in gists:
                updated = parse_date(gist.get("updated_at") or gist.get("created_at"))
                key = f"{gist['id']}@{gist.get('updated_at', '')}"
                if not after_cursor(updated, state.cursor):
                    older = True
                    continue
                if state.seen(key) or any(r.key == key for r in fresh):
                    continue
                files = [(str(name), f.get("raw_url"), f.get("size")) for name, f in (gist.get("files") or {}).items()
                         if isinstance(f, dict) and isinstance(f.get("raw_url"), str)]
                fresh.append(ItemRef(ctx.spec.name, key, url=gist.get("html_url"),
                                     title=text_value(gist.get("description")), published_at=updated,
                                     meta={"files": files, "cursor": cursor_of(updated)}))
            if older:
                break
            url = httpx.Response(200, headers=resp.headers).links.get("next", {}).get("url")
        else:
            if url is not None:
                state.gap(params.url, "raise max_pages or poll more often")
        fresh.sort(key=lambda r: (r.published_at is not None, r.published_at or 0))  # type: ignore[operator]
        for ref in fresh:
            yield ref
        if later is not None:
            raise later

    async def fetch(self, ctx: SourceContext, params: GistsParams, ref: ItemRef) -> Item:
        parts: list[bytes] = []
        total = 0
        for name, raw_url, size in ref.meta["files"]:
            if isinstance(size, int) and size > params.max_file_bytes:
                continue
            try:
                resp = await ctx.get(raw_url, discovered=True, max_bytes=params.max_file_bytes)
            except FetchError as exc:
                if exc.kind in ("too_large", "not_found"):
                    continue
                raise
            total += len(resp.content)
            if total > ctx.settings.max_item_bytes:
                raise FetchError(raw_url, "the gist is larger than max_item_bytes", kind="too_large")
            parts.append(f"==> {name} <==\n".encode() + resp.content + b"\n")
        return Item(source=ref.source, key=ref.key, content=b"".join(parts), url=ref.url, title=ref.title,
                    published_at=ref.published_at, name=f"{ref.key.split('@')[0]}.txt")
