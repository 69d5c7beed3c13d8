"""``feed``: RSS 2.0 and Atom feeds (breach news). Each entry's title and summary are scanned;
with ``fetch_items`` the linked page is fetched instead (a discovered URL: guarded).

Parsed with defusedxml: a hostile feed cannot expand entities or reach external ones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar
from xml.etree.ElementTree import Element

from bs4 import BeautifulSoup
from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException
from pydantic import BaseModel, ConfigDict

from leakwatch.models import Item, ItemRef
from leakwatch.sources.base import SourceContext, cursor_of, listing_item, parse_date, sha256
from leakwatch.sources.health import SourceProblem, unreadable
from leakwatch.sources.state import SourceState

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"


class FeedParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    fetch_items: bool = False
    max_listing_bytes: int = 10 * 1024 * 1024


def _text(el: Element | None) -> str:
    return "".join(el.itertext()).strip() if el is not None else ""


def _plain(markup: str) -> str:
    if "<" not in markup:
        return " ".join(markup.split())
    return " ".join(BeautifulSoup(markup, "html.parser").get_text(" ").split())


def parse_feed(body: bytes, where: str) -> list[tuple[str, str, str | None, str, str]]:
    """Entries as (key, title, link, date text, summary), in document order."""
    try:
        root = SafeET.fromstring(body)
    except (SafeET.ParseError, DefusedXmlException) as exc:
        raise unreadable(where, body, SourceProblem(where, f"not a well-formed feed ({exc.__class__.__name__})",
                                                    kind="malformed", fatal=False)) from None
    out = []
    if root.tag == f"{ATOM}feed":
        for entry in root.iter(f"{ATOM}entry"):
            link = None
            for el in entry.findall(f"{ATOM}link"):
                if el.get("rel", "alternate") == "alternate" and el.get("href"):
                    link = el.get("href")
                    break
            title = _text(entry.find(f"{ATOM}title"))
            summary = _text(entry.find(f"{ATOM}summary")) or _text(entry.find(f"{ATOM}content"))
            date = _text(entry.find(f"{ATOM}published")) or _text(entry.find(f"{ATOM}updated"))
            key = _text(entry.find(f"{ATOM}id")) or link or sha256(f"{title}|{date}".encode())[:32]
            out.append((key, title, link, date, summary))
    elif root.tag == "rss" or root.find("channel") is not None:
        for entry in root.iter("item"):
            link = _text(entry.find("link")) or None
            title = _text(entry.find("title"))
            summary = _text(entry.find("description")) or _text(entry.find(CONTENT))
            date = _text(entry.find("pubDate"))
            key = _text(entry.find("guid")) or link or sha256(f"{title}|{date}".encode())[:32]
            out.append((key, title, link, date, summary))
    else:
        changed = SourceProblem(where, f"listing shape changed: not RSS or Atom (root <{root.tag}>)",
                                kind="shape_changed")
        raise unreadable(where, body, changed)
    return out


class Feed:
    driver: ClassVar[str] = "feed"
    Params: ClassVar[type[BaseModel]] = FeedParams

    async def list_new(self, ctx: SourceContext, params: FeedParams, state: SourceState
                       ) -> AsyncIterator[ItemRef]:
        resp = await ctx.get_listing(params.url, max_bytes=params.max_listing_bytes)
        if resp.not_modified:
            return
        refs = []
        entries = parse_feed(resp.content, params.url)
        seen = state.seen_many([e[0] for e in entries])
        for position, (key, title, link, date, summary) in enumerate(entries):
            if key in seen:
                continue
            when = parse_date(date)
            title_text = _plain(title) or None
            lines = [("title", title_text or ""), ("summary", _plain(summary)), ("link", link or "")]
            refs.append((when, -position, ItemRef(ctx.spec.name, key, url=link, title=title_text, published_at=when,
                                                  meta={"lines": lines, "cursor": cursor_of(when)})))
        # Feeds list newest first: process oldest first so the cursor only moves forward.
        refs.sort(key=lambda r: (r[0] is not None, r[0] or 0, r[1]))  # type: ignore[operator]
        for _, _, ref in refs:
            yield ref

    async def fetch(self, ctx: SourceContext, params: FeedParams, ref: ItemRef) -> Item:
        if params.fetch_items and ref.url:
            resp = await ctx.get(ref.url, discovered=True)
            return Item(source=ref.source, key=ref.key, content=resp.content, url=resp.url, title=ref.title,
                        published_at=ref.published_at, name="page.html")
        return listing_item(ref.source, ref, ref.meta["lines"])
