"""``pastebin``: Pastebin's scraping API (recent pastes, then each paste's raw text).

The scraping API answers only from an IP address whitelisted on a PRO account
(https://pastebin.com/doc_scraping_api). From any other address it answers 200 with
``YOUR IP: ... DOES NOT HAVE ACCESS``: that is recognised as a failing source, not an empty listing.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from leakwatch.models import Item, ItemRef
from leakwatch.sources.base import SourceContext, cursor_of, parse_date, parse_json, problem_shape, text_value
from leakwatch.sources.health import SourceProblem, pastebin_denied
from leakwatch.sources.state import SourceState

KEY = re.compile(r"^[A-Za-z0-9]{4,16}$")


class PastebinParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    list_url: str = "https://scrape.pastebin.com/api_scraping.php"
    item_url: str = "https://scrape.pastebin.com/api_scrape_item.php?i={key}"
    limit: int = Field(default=100, ge=1, le=250)


class Pastebin:
    driver: ClassVar[str] = "pastebin"
    Params: ClassVar[type[BaseModel]] = PastebinParams

    async def list_new(self, ctx: SourceContext, params: PastebinParams, state: SourceState
                       ) -> AsyncIterator[ItemRef]:
        sep = "&" if "?" in params.list_url else "?"
        url = f"{params.list_url}{sep}limit={params.limit}"
        resp = await ctx.get_listing(url, max_bytes=4 * 1024 * 1024)
        listing = parse_json(url, resp.content, "the listing is not JSON (truncated?)")
        if not isinstance(listing, list) or any(not isinstance(e, dict) or "key" not in e for e in listing):
            raise problem_shape(url, "expected a list of objects with a key")
        refs = []
        seen = state.seen_many([str(e["key"]) for e in listing])
        for entry in listing:
            key = str(entry["key"])
            if not KEY.match(key) or key in seen:
                continue
            when = parse_date(entry.get("date"))
            size = str(entry.get("size", ""))
            if size.isdigit() and int(size) > ctx.settings.max_item_bytes:
                continue  # never fetchable within the limit
            refs.append(ItemRef(ctx.spec.name, key, url=entry.get("full_url") or None,
                                title=text_value(entry.get("title")), published_at=when,
                                meta={"cursor": cursor_of(when), "syntax": entry.get("syntax")}))
        refs.sort(key=lambda r: (r.published_at is not None, r.published_at or 0))  # type: ignore[operator]
        bound = parse_date(state.cursor) if state.cursor else None
        oldest = min((r.published_at for r in refs if r.published_at), default=None)
        if not seen and bound is not None and oldest is not None and oldest > bound:
            state.gap(params.list_url, f"raise limit, now {params.limit}, or poll more often")
        for ref in refs:
            yield ref

    async def fetch(self, ctx: SourceContext, params: PastebinParams, ref: ItemRef) -> Item:
        url = params.item_url.format(key=ref.key)
        resp = await ctx.get(url)
        if pastebin_denied(resp.content):
            raise SourceProblem(url, "access denied (an IP whitelist or key lost?)", kind="access_denied")
        return Item(source=ref.source, key=ref.key, content=resp.content, url=ref.url, title=ref.title,
                    published_at=ref.published_at, name=f"{ref.key}.txt")
