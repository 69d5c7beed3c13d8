"""``html_index``: a listing page (paste archives, dump index pages) read with CSS selectors, with
pagination. Item links, and next-page links, are discovered URLs: the private-address guard applies.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import ClassVar
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Tag
from bs4.exceptions import ParserRejectedMarkup
from pydantic import BaseModel, ConfigDict, Field, field_validator
from soupsieve import SelectorSyntaxError

from leakwatch.models import Item, ItemRef
from leakwatch.sources.base import (
    SourceContext,
    after_cursor,
    cursor_of,
    listing_item,
    parse_date,
    problem_shape,
    text_value,
)
from leakwatch.sources.health import SourceProblem, unreadable
from leakwatch.sources.http import FetchError
from leakwatch.sources.state import SourceState


class HtmlIndexParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    entry: str
    """CSS selector of one entry (a table row, a list item, or the link itself)."""
    link: str = "a[href]"
    """Selector of the entry's link, inside the entry (ignored when the entry is itself a link)."""
    title: str | None = None
    """Selector of the title inside the entry; by default the link's text."""
    date: str | None = None
    date_attribute: str | None = None
    """Read the date from this attribute of the date element (``datetime``, ``title``) instead of its text."""
    next_page: str | None = None
    """Selector of the link to the next (older) page."""
    max_pages: int = Field(default=3, ge=1, le=50)
    rewrite: tuple[str, str] | None = None
    """A regex and a replacement turning an entry's link into the URL to fetch (its raw text)."""
    key_pattern: str | None = None
    """A regex whose first group, searched in the link, is the entry's key; by default the whole link."""
    fetch_items: bool = True
    """False for index pages whose titles are the news (a dump index without downloadable files)."""
    max_listing_bytes: int = 5 * 1024 * 1024

    @field_validator("rewrite", mode="after")
    @classmethod
    def _rewrite(cls, value: tuple[str, str] | None) -> tuple[str, str] | None:
        if value is not None:
            re.compile(value[0])
        return value

    @field_validator("key_pattern", mode="after")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is not None and re.compile(value).groups < 1:
            raise ValueError("key_pattern needs one group")
        return value


def _select(node: BeautifulSoup | Tag, selector: str, where: str) -> list[Tag]:
    try:
        return list(node.select(selector))
    except SelectorSyntaxError:
        from leakwatch.errors import ConfigError

        raise ConfigError(f"{where}: invalid CSS selector {selector!r}") from None


MAX_NESTED = 1000
"""Pages whose entries nest deeper in one another are refused: each entry's selectors search its
subtree, so entries inside entries (``<tr>`` never closed, which html.parser nests) cost the
square of their number. A deep page with flat entries is fine."""


def _nesting(soup: BeautifulSoup, rows: list[Tag]) -> int:
    """How many entries the deepest entry lies within (itself included), in one pass over the page
    (document order: a parent comes before its children)."""
    if len(rows) <= MAX_NESTED:
        return 0
    entries = {id(row) for row in rows}
    level: dict[int, int] = {id(soup): 0}
    deepest = 0
    for el in soup.descendants:
        if isinstance(el, Tag):
            d = level[id(el.parent)] + (id(el) in entries)
            level[id(el)] = d
            deepest = max(deepest, d)
    return deepest


def parse_page(params: HtmlIndexParams, markup: bytes, page_url: str, where: str
               ) -> tuple[list[tuple[str, str | None, str | None]], str | None]:
    """(link, title, date text) per entry and the next page's URL."""
    try:
        soup = BeautifulSoup(markup, "html.parser")
        rows = _select(soup, params.entry, where)
        if (nested := _nesting(soup, rows)) > MAX_NESTED:
            raise SourceProblem(where, f"the listing page nests {nested} entries in one another (more than "
                                f"{MAX_NESTED}): hostile or broken HTML", kind="malformed", fatal=False)
        found: list[tuple[str, str | None, str | None]] = []
        for row in rows:
            anchor = row if row.name == "a" else (_select(row, params.link, where) or [None])[0]
            href = anchor.get("href") if anchor is not None else None
            if not isinstance(href, str) or not href.strip() or href.startswith(("#", "javascript:", "mailto:")):
                continue
            link = urljoin(page_url, href.strip())
            title_el = (_select(row, params.title, where) or [None])[0] if params.title else anchor
            title = text_value(title_el.get_text(" ")) if title_el is not None else None
            date = None
            if params.date:
                date_el = (_select(row, params.date, where) or [None])[0]
                if date_el is not None:
                    raw = date_el.get(params.date_attribute) if params.date_attribute else date_el.get_text(" ")
                    date = raw.strip() if isinstance(raw, str) else None
            found.append((link, title, date))
        next_url = None
        if params.next_page:
            nxt = (_select(soup, params.next_page, where) or [None])[0]
            href = nxt.get("href") if nxt is not None else None
            if isinstance(href, str) and href.strip():
                next_url = urljoin(page_url, href.strip())
    except (RecursionError, ParserRejectedMarkup):
        raise SourceProblem(where, "the listing page could not be parsed (hostile or broken HTML)",
                            kind="malformed", fatal=False) from None
    return found, next_url


class HtmlIndex:
    driver: ClassVar[str] = "html_index"
    Params: ClassVar[type[BaseModel]] = HtmlIndexParams

    async def list_new(self, ctx: SourceContext, params: HtmlIndexParams, state: SourceState
                       ) -> AsyncIterator[ItemRef]:
        where = ctx.spec.origin or ctx.spec.name
        url: str | None = params.url
        visited: set[str] = set()
        fresh: list[ItemRef] = []
        later: FetchError | None = None
        for page in range(params.max_pages):
            if url is None or url in visited:
                break
            visited.add(url)
            if page == 0:
                resp = await ctx.get_listing(url, max_bytes=params.max_listing_bytes)
                if resp.not_modified:
                    return
            else:
                try:
                    resp = await ctx.get(url, discovered=True, max_bytes=params.max_listing_bytes)
                except FetchError as exc:
                    later = exc  # the pages read so far are still worth scanning
                    break
            # parsed in a thread: a hostile page may take seconds, the daemon's loop must not wait
            entries, url = await asyncio.to_thread(parse_page, params, resp.content, resp.url, where)
            if page == 0 and not entries:
                raise unreadable(params.url, resp.content,
                                 problem_shape(params.url, f"no entry matches {params.entry!r}"))
            new_here = 0
            for link, title, date in entries:
                when = parse_date(date)
                key = link
                if params.key_pattern and (m := re.search(params.key_pattern, link)):
                    key = m.group(1)
                if state.seen(key) or not after_cursor(when, state.cursor) or any(r.key == key for r in fresh):
                    continue
                new_here += 1
                fresh.append(ItemRef(ctx.spec.name, key, url=link, title=title, published_at=when,
                                     meta={"cursor": cursor_of(when)}))
            if new_here == 0:
                break  # the rest is older: seen already
        else:
            if url is not None and later is None:
                state.gap(params.url, "raise max_pages or poll more often")
        # Pages list newest first: yield oldest first (by date when there is one) so the cursor only
        # moves forward.
        order = sorted(enumerate(fresh), key=lambda p: (p[1].published_at is not None,
                                                         p[1].published_at or 0, -p[0]))  # type: ignore[operator]
        for _, ref in order:
            yield ref
        if later is not None:
            raise later

    async def fetch(self, ctx: SourceContext, params: HtmlIndexParams, ref: ItemRef) -> Item:
        if not params.fetch_items or not ref.url:
            return listing_item(ref.source, ref, [("title", ref.title or ""), ("link", ref.url or "")])
        url = re.sub(params.rewrite[0], params.rewrite[1], ref.url) if params.rewrite else ref.url
        resp = await ctx.get(url, discovered=True)
        name = url.rstrip("/").rsplit("/", 1)[-1] or None
        return Item(source=ref.source, key=ref.key, content=resp.content, url=resp.url, title=ref.title,
                    published_at=ref.published_at, name=name)
