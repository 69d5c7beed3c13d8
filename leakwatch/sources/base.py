"""The driver contract and what drivers share: the context of a poll, dates, JSON paths.

A driver lists refs of what is new (``list_new``, oldest first, each carrying in ``meta["cursor"]``
the cursor value to keep once it is done) and fetches one ref into an Item (``fetch``). It holds
no state of its own: the runner stores seen keys and the cursor, and passes ``SourceState``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import logging
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from leakwatch.errors import ConfigError
from leakwatch.models import Item, ItemRef
from leakwatch.settings import Settings
from leakwatch.sources.health import SourceProblem, unreadable
from leakwatch.sources.http import HttpClient, RequestOptions, Response
from leakwatch.sources.spec import SourceSpec
from leakwatch.sources.state import SourceState

log = logging.getLogger("leakwatch.sources")


class Driver(Protocol):
    driver: ClassVar[str]
    Params: ClassVar[type[BaseModel]]

    def list_new(self, ctx: SourceContext, params: Any, state: SourceState) -> AsyncIterator[ItemRef]: ...

    async def fetch(self, ctx: SourceContext, params: Any, ref: ItemRef) -> Item: ...


@dataclass
class SourceContext:
    """What a driver may use during one poll: the settings, its definition and the shared client."""

    settings: Settings
    spec: SourceSpec
    http: HttpClient
    validators: dict[str, dict[str, str]]

    def secret(self, name: str) -> str:
        value = self.settings.source_secrets.get(name)
        if value is None or not value.get_secret_value():
            raise ConfigError(f"{self.spec.origin or self.spec.name}: auth.secret: {name!r} is not set "
                              f"(LEAKWATCH_SOURCE_SECRETS__{name.upper()})")
        return value.get_secret_value()

    async def get(self, url: str, *, discovered: bool = False, conditional: bool = False,
                  max_bytes: int | None = None, headers: Mapping[str, str] | None = None) -> Response:
        spec = self.spec
        all_headers = dict(headers or {})
        if spec.auth is not None:
            all_headers[spec.auth.header] = spec.auth.prefix + self.secret(spec.auth.secret)
        opts = RequestOptions(discovered=discovered, headers=all_headers,
                              validators=self.validators if conditional else None, max_bytes=max_bytes,
                              proxy=spec.proxy, host_interval=spec.rate_limit, timeout=spec.timeout)
        return await self.http.get(url, opts)

    async def get_listing(self, url: str, *, max_bytes: int, headers: Mapping[str, str] | None = None
                          ) -> Response:
        """A listing page, asked conditionally (ETag / Last-Modified of its last complete poll)."""
        return await self.get(url, conditional=True, max_bytes=max_bytes, headers=headers)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_EPOCH = re.compile(r"^\d{9,13}(\.\d+)?$")


def parse_date(value: object) -> dt.datetime | None:
    """A UTC datetime from the formats listings use: ISO 8601 (with or without T, Z, microseconds),
    ``2020-01-12 00:00:00.000000``, a date alone, epoch seconds or milliseconds, RFC 2822."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and _EPOCH.match(value.strip())):
        number = float(value)
        if number > 1e11:
            number /= 1000
        try:
            return dt.datetime.fromtimestamp(number, dt.UTC)
        except (ValueError, OverflowError, OSError):  # beyond year 9999, infinite: no date
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        import email.utils

        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01 with a positive offset
        return None


def cursor_of(when: dt.datetime | None) -> str | None:
    return when.astimezone(dt.UTC).isoformat() if when is not None else None


def after_cursor(when: dt.datetime | None, cursor: str | None) -> bool:
    """Whether an entry may be new: at or after the cursor (equal dates are told apart by key)."""
    if when is None or not cursor:
        return True
    bound = parse_date(cursor)
    return bound is None or when >= bound


_MISSING = object()


def get_path(value: Any, path: str) -> Any:
    """``a.b.0.c`` in nested JSON; ``_MISSING`` when absent. An empty path is the value itself."""
    for part in [p for p in path.split(".") if p]:
        if isinstance(value, Mapping):
            value = value.get(part, _MISSING)
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
        if value is _MISSING:
            return _MISSING
    return value


def missing(value: Any) -> bool:
    return value is _MISSING


def text_value(value: Any, unescape: bool = True) -> str | None:
    """A scalar as one line of text (HTML entities decoded, as ransomwatch titles keep them)."""
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        value = ", ".join(str(v) for v in value)
    if value is None or value is _MISSING or isinstance(value, dict | list):
        return None
    text = str(value)
    if unescape:
        text = html.unescape(text)
    return " ".join(text.split()) or None


def parse_json(where: str, body: bytes, reason: str) -> Any:
    """A JSON listing or answer; if it does not parse, a block page served in its place (fatal) or
    ``reason`` (malformed, retried at the next poll)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than any real listing
        raise unreadable(where, body, SourceProblem(where, reason, kind="malformed", fatal=False)) from None


def problem_shape(where: str, reason: str) -> SourceProblem:
    return SourceProblem(where, f"listing shape changed: {reason}", kind="shape_changed")


def listing_item(source: str, ref: ItemRef, lines: list[tuple[str, str]]) -> Item:
    """An Item made of a listing entry's fields, one ``label: value`` per line, so that the watch-term
    matcher sees titles and victim names. Without a link its target is ``source:key``."""
    content = "\n".join(f"{label}: {value}" for label, value in lines if value).encode("utf-8")
    return Item(source=source, key=ref.key, content=content, url=ref.url, title=ref.title,
                published_at=ref.published_at, meta=dict(ref.meta))
