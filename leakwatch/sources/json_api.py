"""``json_api``: a JSON listing (ransomware trackers' victim lists, HIBP's breach list...).

Each entry becomes an item made of its mapped fields, one ``label: value`` per line, so titles and
victim names reach the watch-term matcher. With ``fetch_url`` the entry's link is downloaded
instead (a discovered URL: the private-address guard applies).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from leakwatch.models import Item, ItemRef
from leakwatch.sources.base import (
    SourceContext,
    cursor_of,
    get_path,
    listing_item,
    missing,
    parse_date,
    problem_shape,
    sha256,
    text_value,
)
from leakwatch.sources.health import SourceProblem, unreadable
from leakwatch.sources.state import SourceState


class JsonApiParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    items_path: str = ""
    """Dotted path to the list of entries in the answer (``data.victims``); empty: the answer is the list."""
    title: str
    """Path of the entry's title in an entry (``post_title``)."""
    date: str | None = None
    link: str | None = None
    key: list[str] = Field(default_factory=list)
    """Paths whose values identify an entry; by default its title, date and link."""
    fields: dict[str, str] = Field(default_factory=dict)
    """More entries' fields to scan, label -> path (``victim = "website"``)."""
    unescape_html: bool = True
    fetch_url: bool = False
    headers: dict[str, str] = Field(default_factory=dict)
    """Plain request headers (``Accept``); credentials go in the definition's ``auth``."""
    @field_validator("headers", mode="after")
    @classmethod
    def _no_credentials(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            low = name.lower()
            if low in ("authorization", "proxy-authorization", "cookie") or any(
                    word in low for word in ("key", "token", "secret", "auth")):
                raise ValueError(f"{name}: credentials go in the definition's auth, a secret from settings")
        return value

    first_run_limit: int | None = 500
    """On the very first poll only the newest entries this many are taken, not a whole history."""
    max_listing_bytes: int = 64 * 1024 * 1024


class JsonApi:
    driver: ClassVar[str] = "json_api"
    Params: ClassVar[type[BaseModel]] = JsonApiParams

    async def list_new(self, ctx: SourceContext, params: JsonApiParams, state: SourceState
                       ) -> AsyncIterator[ItemRef]:
        resp = await ctx.get_listing(params.url, max_bytes=params.max_listing_bytes, headers=params.headers)
        if resp.not_modified:
            return
        for ref in entries(ctx.spec.name, params, resp.content, params.url, state):
            yield ref

    async def fetch(self, ctx: SourceContext, params: JsonApiParams, ref: ItemRef) -> Item:
        if params.fetch_url and ref.url:
            resp = await ctx.get(ref.url, discovered=True)
            return Item(source=ref.source, key=ref.key, content=resp.content, url=resp.url, title=ref.title,
                        published_at=ref.published_at, name=resp.url.rsplit("/", 1)[-1] or None)
        return listing_item(ref.source, ref, ref.meta["lines"])


def entries(source: str, params: JsonApiParams, body: bytes, where: str, state: SourceState) -> list[ItemRef]:
    """The listing's unseen entries as refs, oldest first; SourceProblem if it is not the expected shape."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        raise unreadable(where, body, SourceProblem(where, "the listing is not valid JSON (truncated?)",
                                                    kind="malformed", fatal=False)) from None
    raw = get_path(doc, params.items_path)
    if missing(raw) or not isinstance(raw, list):
        raise problem_shape(where, f"no list at items_path {params.items_path or '(root)'!r}")
    objects = [e for e in raw if isinstance(e, dict)]
    if raw and not objects:
        raise problem_shape(where, "the entries are not JSON objects")
    if objects and all(missing(get_path(e, params.title)) for e in objects):
        raise problem_shape(where, f"no entry has the title field {params.title!r}")
    refs = []
    for position, entry in enumerate(objects):
        title = text_value(get_path(entry, params.title), params.unescape_html)
        when = parse_date(get_path(entry, params.date)) if params.date else None
        link = text_value(get_path(entry, params.link), False) if params.link else None
        if title is None and link is None:
            continue
        if params.key:
            key = "|".join(text_value(get_path(entry, p), False) or "" for p in params.key)
        else:
            key = sha256(f"{title}|{when}|{link}".encode())[:32]
        lines = [("title", title or "")]
        lines += [(label, text_value(get_path(entry, path), params.unescape_html) or "")
                  for label, path in params.fields.items()]
        if when is not None:
            lines.append(("date", when.isoformat()))
        if link:
            lines.append(("link", link))
        refs.append((when, position, ItemRef(source, key, url=link, title=title, published_at=when,
                                             meta={"lines": lines, "cursor": cursor_of(when)})))
    refs.sort(key=lambda r: (r[0] is not None, r[0] or 0, r[1]))  # type: ignore[operator]
    # No cursor filter: trackers list entries dated by the attack, which can be older than entries
    # already seen. Seen keys tell what is new; the cursor only records how far the source got.
    seen = state.seen_many([r[2].key for r in refs])
    ordered = [r[2] for r in refs if r[2].key not in seen]
    if state.cursor is None and state.row is None and params.first_run_limit is not None:
        ordered = ordered[-params.first_run_limit:] if params.first_run_limit else []
    return ordered


