"""The built-in source drivers by name: ``DRIVERS``, the one list. Imports nothing of the sources
package (``spec`` validates a driver's params through it; drivers import ``spec``)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Any

Driver = Any
"""A driver class (``sources.base.Driver``); not imported here, where it would make a cycle."""


class _Drivers(MutableMapping[str, "type[Driver]"]):
    """Driver classes by name, each imported on first use: a command that polls no source (every
    command that merely opens the database imports this package) pays for neither httpx nor
    BeautifulSoup."""

    def __init__(self, paths: dict[str, str]) -> None:
        self._entries: dict[str, type[Driver] | str] = dict(paths)

    def __getitem__(self, name: str) -> type[Driver]:
        entry = self._entries[name]
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = self._entries[name] = getattr(importlib.import_module(module), attr)
        return entry

    def __setitem__(self, name: str, driver: type[Driver]) -> None:
        self._entries[name] = driver

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


DRIVERS: MutableMapping[str, type[Driver]] = _Drivers({
    "pastebin": "leakwatch.sources.pastebin:Pastebin",
    "github_gists": "leakwatch.sources.github_gists:GithubGists",
    "html_index": "leakwatch.sources.html_index:HtmlIndex",
    "feed": "leakwatch.sources.feed:Feed",
    "json_api": "leakwatch.sources.json_api:JsonApi",
    "hibp_domain": "leakwatch.sources.hibp_domain:HibpDomain",
    "folder": "leakwatch.sources.folder:Folder",
})
