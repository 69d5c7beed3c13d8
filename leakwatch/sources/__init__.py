"""Sources: where leaked data surfaces. Root ``sources/*.toml`` are definitions (data); the modules
here are the drivers (code), registered by name in ``DRIVERS``, the one list of built-ins."""

from __future__ import annotations

from leakwatch.sources.base import Driver
from leakwatch.sources.feed import Feed
from leakwatch.sources.folder import Folder
from leakwatch.sources.github_gists import GithubGists
from leakwatch.sources.hibp_domain import HibpDomain
from leakwatch.sources.html_index import HtmlIndex
from leakwatch.sources.json_api import JsonApi
from leakwatch.sources.pastebin import Pastebin

DRIVERS: dict[str, type[Driver]] = {
    "pastebin": Pastebin,
    "github_gists": GithubGists,
    "html_index": HtmlIndex,
    "feed": Feed,
    "json_api": JsonApi,
    "hibp_domain": HibpDomain,
    "folder": Folder,
}

__all__ = ["DRIVERS", "Driver"]
