"""Helpers for the sources' tests: definitions in one line, one poll in a fresh event loop, a sink
that remembers what the runner gave it."""

from __future__ import annotations

import asyncio
from typing import Any

from leakwatch.app import Services
from leakwatch.runner import RunReport, run_source
from leakwatch.sources import http
from leakwatch.sources.http import HttpClient, RequestOptions
from leakwatch.sources.spec import SourceSpec, parse_spec

FAST = dict(http_host_interval=0.0, http_backoff_base=0.01, http_backoff_max=0.05, http_retries=2,
            http_retry_max_time=5.0, http_timeout=2.0, http_connect_timeout=2.0)
"""Tiny delays: the retry policy is the same, only faster."""


def spec(name: str, driver: str, **fields: Any) -> SourceSpec:
    return parse_spec({"name": name, "driver": driver, **fields}, f"test:{name}")


def poll(svc: Services, source: SourceSpec, **kwargs: Any) -> RunReport:
    """One ``run_source`` in a fresh event loop, closing the shared client after."""

    async def go() -> RunReport:
        try:
            return await run_source(svc, source, **kwargs)
        finally:
            await http.close(svc)

    return asyncio.run(go())


class RecordingSink:
    """A SightingSink that keeps what it was given (the incidents sink is another module's)."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.records: list[tuple[str, str, list[Any]]] = []
        self.health: list[tuple[str, str, str]] = []
        self.fail_on = fail_on

    def record(self, session: Any, item: Any, result: Any) -> None:
        if self.fail_on is not None and len(self.records) + 1 == self.fail_on:
            raise KeyboardInterrupt("simulated crash inside the transaction")
        self.records.append((item.source, item.key, list(result.findings)))

    def health_changed(self, session: Any, source: str, state: str, reason: str) -> None:
        self.health.append((source, state, reason))


def get(svc: Services, url: str, **opts: object) -> http.Response:
    """One request through a fresh shared client, as a source makes it."""
    async def go() -> http.Response:
        client = HttpClient(svc.settings)
        try:
            return await client.get(url, RequestOptions(**opts))  # type: ignore[arg-type]
        finally:
            await client.aclose()

    return asyncio.run(go())
