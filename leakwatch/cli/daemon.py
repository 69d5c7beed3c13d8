"""``run`` and ``doctor``: the daemon, and a check of everything it needs."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from leakwatch import keys
from leakwatch.cli.common import JSON_OPTION, one_line_errors, out, print_json, services
from leakwatch.display import printable
from leakwatch.errors import LeakwatchError

if TYPE_CHECKING:
    from leakwatch.app import Services
    from leakwatch.sources.spec import SourceSpec


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("doctor")(doctor)


@one_line_errors
def run(once: bool = typer.Option(False, "--once", help="Run every enabled source once, send the alerts, exit.")
        ) -> None:
    """Watch the enabled sources, fold findings into incidents and send alerts, until SIGTERM.

    With no source enabled it watches the drop folder $LEAKWATCH_HOME/drop: put a file there and
    it is scanned. Logs go to stdout, one key=value line per event, never a leaked value. Under
    systemd it speaks sd_notify (Type=notify, WatchdogSec): see docs/systemd.md."""
    from leakwatch import daemon

    raise typer.Exit(daemon.run(services(), once=once))


def _check(results: list[dict[str, object]], name: str, what: str, probe: Callable[[], str]) -> None:
    try:
        detail = probe()
        results.append({"check": name, "target": what, "ok": True, "detail": detail})
    except LeakwatchError as exc:
        results.append({"check": name, "target": what, "ok": False, "detail": str(exc)})
    except Exception as exc:
        results.append({"check": name, "target": what, "ok": False, "detail": exc.__class__.__name__})


@one_line_errors
def doctor(as_json: bool = JSON_OPTION) -> None:
    """Check the key file and its permissions, the database, each enabled source and each alert
    route (apprise can parse it). One line per check; exit 1 if any fails."""
    from leakwatch import alerts, daemon, store

    svc = services()
    settings = svc.settings
    results: list[dict[str, object]] = []

    def key() -> str:
        path = svc.key_path
        keys.load_key(path)
        return f"{path} (mode {stat.S_IMODE(path.stat().st_mode):04o})"

    def home() -> str:
        mode = stat.S_IMODE(settings.home.stat().st_mode)
        if mode & 0o077:
            raise LeakwatchError(f"{settings.home}: readable by others (mode {mode:04o}); run: chmod 700 "
                                 f"{settings.home}")
        return f"mode {mode:04o}"

    def database() -> str:
        engine = store.make_engine(settings.db_url, settings.database_busy_timeout)
        store.ping(engine)
        return f"{len(store.datasets(engine))} dataset(s)"

    _check(results, "home", str(settings.home), home)
    _check(results, "key", "master key", key)
    _check(results, "database", store.safe_url(settings.db_url), database)
    try:
        specs = daemon.enabled_specs(svc)
    except LeakwatchError as exc:
        results.append({"check": "sources", "target": "definitions", "ok": False, "detail": str(exc)})
        specs = []
    for spec in specs:
        _check(results, "source", spec.name, lambda spec=spec: _probe_source(svc, spec))  # type: ignore[misc]
    urls = list(dict.fromkeys(url for route in settings.alerts.routes for url in route.urls))
    if not urls:
        results.append({"check": "route", "target": "alerts.routes", "ok": True,
                        "detail": "none configured: incidents are recorded but nobody is told"})
    for url in urls:
        def route(url: str = url) -> str:
            problem = alerts.check_url(url)
            if problem:
                raise LeakwatchError(problem)
            return "apprise can parse it (leakwatch alerts test sends a message)"
        _check(results, "route", alerts.mask_url(url), route)
    if settings.metrics_address:
        results.append({"check": "metrics", "target": settings.metrics_address, "ok": True, "detail": "configured"})
    for r in results:
        if as_json:
            print_json(r)
        else:
            status = "ok  " if r["ok"] else "FAIL"
            out.print(f"{status}  {r['check']:<8}  {printable(r['target'])}: {printable(r['detail'])}")
    raise typer.Exit(0 if all(r["ok"] for r in results) else 1)


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
    ctx = SourceContext(svc, spec, http, {})
    try:
        async for _ in driver.list_new(ctx, spec.driver_params(), SourceState(svc.engine, spec.name)):
            return f"{spec.driver}: listed"
        return f"{spec.driver}: listed (nothing there now)"
    except (FetchError, SourceProblem) as exc:
        raise LeakwatchError(str(exc)) from None
    finally:
        await http.aclose()
