"""``leakwatch sources``: list the source definitions and poll one now."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from leakwatch.cli.common import JSON_OPTION, err, fail, one_line_errors, out, print_json, services
from leakwatch.display import printable

if TYPE_CHECKING:
    from leakwatch.app import Services
    from leakwatch.runner import RunReport

app = typer.Typer(help="Where leakwatch looks: source definitions, their health, a poll now.",
                  no_args_is_help=True)


@app.command("list")
@one_line_errors
def list_sources(as_json: bool = JSON_OPTION) -> None:
    """Every definition (shipped, sources.d, config): driver, enabled, last run, health, last error."""
    from leakwatch.sources.spec import format_duration, load_specs
    from leakwatch.sources.state import all_states

    svc = services()
    specs = load_specs(svc.settings)
    states = all_states(svc.engine)
    table = Table(title_justify="left")
    table.add_column("name", no_wrap=True)
    for column in ("driver", "enabled", "interval", "last run", "health", "last error"):
        table.add_column(column)
    for name, spec in specs.items():
        st = states.get(name)
        last_run = st.last_run_at.strftime("%Y-%m-%d %H:%M:%S") if st and st.last_run_at else None
        health = st.health if st else None
        if as_json:
            print_json({"name": name, "driver": spec.driver, "enabled": spec.enabled, "interval": spec.interval,
                        "description": spec.description, "notes": spec.notes, "origin": spec.origin,
                        "last_run": last_run, "health": health, "health_reason": st.health_reason if st else None,
                        "last_error": (st.last_error or None) if st else None,
                        "items_seen": st.items_seen if st else 0})
        else:
            table.add_row(name, spec.driver, "yes" if spec.enabled else "no", format_duration(spec.interval),
                          last_run or "never", health or "-", printable((st.last_error if st else "") or ""))
    if not as_json:
        out.print(table)


async def _check(svc: Services, name: str, commit: bool) -> RunReport:
    from leakwatch.runner import run_source
    from leakwatch.sources import http
    from leakwatch.sources.spec import get_spec

    try:
        return await run_source(svc, get_spec(svc.settings, name), sink=None, commit=commit)
    finally:
        await http.close(svc)


@app.command("check")
@one_line_errors
def check(
    name: str = typer.Argument(..., help="The source's name (see: leakwatch sources list)."),
    commit: bool = typer.Option(False, "--commit", help="Record the items as seen and the health, as a real run."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Poll one source now, enabled or not: the items found and their findings. Nothing is alerted,
    and the source's state is left unchanged unless --commit.

    Exit status: 0 nothing found, 1 something found, 2 the poll failed."""
    from leakwatch.sources.spec import get_spec

    svc = services()
    get_spec(svc.settings, name)  # an unknown name is a usage error before anything runs
    report = asyncio.run(_check(svc, name, commit))
    for item in report.items:
        if as_json:
            print_json({"source": name, **item.to_json()})
        else:
            label = item.title or item.key
            mark = " (content seen before)" if item.duplicate else ""
            out.print(f"{printable(label)}  {printable(item.url or '')}{mark}: {len(item.findings)} finding(s)")
            for f in item.findings:
                what = f.ref if f.type != "term" else f"{f.term} ({f.term_kind})"
                detail = ", ".join(f.fields) if f.fields else f"{f.count} mention(s)"
                out.print(f"    {f.type:7} {printable(f.dataset or ''):12} {printable(what)}  {detail}  {f.confidence}")
            for skipped in item.skipped:
                err.print(f"leakwatch: note: skipped: {printable(skipped)}")
    if as_json:
        print_json({"summary": True, **report.to_json()})
    else:
        out.print(f"{name}: {report.new} new item(s), {report.scanned} scanned, "
                  f"{report.skipped_duplicates} seen on another source, {report.findings} finding(s); "
                  f"health {report.health}{': ' + printable(report.health_reason) if report.health_reason else ''}"
                  f"{'' if commit else ' (state unchanged)'}", markup=False)
        for error in report.errors[1:] if report.problem else report.errors:
            err.print(f"leakwatch: warning: {printable(error)}")
    if report.problem:
        raise fail(f"sources check {name}: {report.problem}")
    raise typer.Exit(1 if report.findings else 0)
