"""``leakwatch doctor``: a check of everything the daemon needs (home, key, database and its schema,
each enabled source, each alert route), as results the CLI prints. Nothing is fetched or recorded
but one listing page per source."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from leakwatch import keys
from leakwatch.errors import LeakwatchError
from leakwatch.storage import dbschema, store

if TYPE_CHECKING:
    from leakwatch.app import Services
    from leakwatch.sources.spec import SourceSpec


@dataclass(frozen=True)
class Check:
    check: str
    target: str
    ok: bool
    detail: str
    wrong_key: bool = False
    """The key read does not match the datasets: the monitor is blind (``doctor`` exits 2)."""

    def to_json(self) -> dict[str, object]:
        return {"check": self.check, "target": self.target, "ok": self.ok, "detail": self.detail}


def _run(name: str, target: str, probe: Callable[[], str]) -> Check:
    try:
        return Check(name, target, True, probe())
    except keys.KeyMismatch as exc:
        return Check(name, target, False, str(exc), wrong_key=True)
    except LeakwatchError as exc:
        return Check(name, target, False, str(exc))
    except Exception as exc:  # a library's message could quote a protected value: the class only
        if store.is_busy(exc):
            return Check(name, target, False, "database is busy: locked by another process past "
                                              "database_busy_timeout; try again when it is done")
        return Check(name, target, False, exc.__class__.__name__)


def run_checks(svc: Services) -> list[Check]:
    from leakwatch import daemon
    from leakwatch.datasets import keycheck
    from leakwatch.incidents import alerts

    settings = svc.settings
    where = store.safe_url(settings.db_url)

    def key() -> str:
        keyring = svc.keyring  # refuses a key readable by others, or of the wrong size
        mode = stat.S_IMODE(keyring.path.stat().st_mode)
        svc.verify_key()
        datasets = store.datasets(svc.engine)
        note = keycheck.unchecked_note(svc.engine)
        if note:
            raise LeakwatchError(note)
        return (f"{keyring.describe()}, mode {mode:04o}, current version {keyring.current.version} "
                f"(key id {keyring.current.key_id}); matches the {len(datasets)} dataset(s)")

    def home() -> str:
        mode = stat.S_IMODE(settings.home.stat().st_mode)
        if mode & 0o077:
            raise LeakwatchError(f"{settings.home}: readable by others (mode {mode:04o}); run: chmod 700 "
                                 f"{settings.home}")
        return f"mode {mode:04o}"

    def database() -> str:
        engine = store.make_engine(settings.db_url, settings.database_busy_timeout)
        found = dbschema.ensure_current(engine, where)
        return f"{len(store.datasets(engine))} dataset(s), schema {found.revision}"

    results = [_run("home", str(settings.home), home), _run("key", "master key", key),
               _run("database", where, database)]
    results.extend(_dataset_forms(svc))
    results.extend(_terms(svc))
    try:
        specs = daemon.enabled_specs(svc)
    except LeakwatchError as exc:
        results.append(Check("sources", "definitions", False, str(exc)))
        specs = []
    for spec in specs:
        results.append(_run("source", spec.name, lambda spec=spec: _probe_source(svc, spec)))  # type: ignore[misc]
    urls = list(dict.fromkeys(url for route in settings.alerts.routes for url in route.urls))
    if not urls:
        results.append(Check("route", "alerts.routes", True,
                             "none configured: incidents are recorded but nobody is told"))
    for url in urls:
        def route(url: str = url) -> str:
            problem = alerts.check_url(url)
            if problem:
                raise LeakwatchError(problem)
            return "apprise can parse it (leakwatch alerts test sends a message)"
        results.append(_run("route", alerts.mask_url(url), route))
    if settings.metrics_address:
        results.append(Check("metrics", settings.metrics_address, True, "configured"))
    return results


def _dataset_forms(svc: Services) -> list[Check]:
    """A dataset an older release imported, lacking forms this one writes: failed when something is
    never matched without them, passed with a note when they only make it faster."""
    from leakwatch.datasets import forms

    try:
        rows = store.datasets(svc.engine)
        lacking = [(row.name, forms.missing(svc.engine, row)) for row in rows]
    except Exception:  # the database check above says why
        return []
    return [Check("dataset", name, not forms.blind(found), forms.advice(found))
            for name, found in lacking if found]


def _terms(svc: Services) -> list[Check]:
    """A stored watch term this release cannot watch: failed, since the daemon passes over it."""
    from leakwatch.detection import terms

    try:
        rows = terms.list_terms(svc.engine)
    except Exception:  # the database check above says why
        return []
    return [Check("term", row.term, False, f"not watched: {problem}; remove it and add a longer or "
                  "more specific term") for row in rows if (problem := terms.why_unwatched(row))]


def _probe_source(svc: Services, spec: SourceSpec) -> str:
    """Whether a source answers: one listing (the first page only), nothing fetched or recorded."""
    return asyncio.run(_list_one(svc, spec))


async def _list_one(svc: Services, spec: SourceSpec) -> str:
    from leakwatch.sources import DRIVERS
    from leakwatch.sources.base import SourceContext
    from leakwatch.sources.health import SourceProblem
    from leakwatch.sources.http import FetchError, HttpClient
    from leakwatch.sources.state import SourceState

    driver = DRIVERS[spec.driver]()
    http = HttpClient(svc.settings)
    ctx = SourceContext(svc.settings, spec, http, {})
    try:
        async for _ in driver.list_new(ctx, spec.driver_params(), SourceState(svc.engine, spec.name)):
            return f"{spec.driver}: listed"
        return f"{spec.driver}: listed (nothing there now)"
    except (FetchError, SourceProblem) as exc:
        raise LeakwatchError(str(exc)) from None
    finally:
        await http.aclose()
