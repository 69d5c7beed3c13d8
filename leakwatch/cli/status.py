"""``leakwatch status``: how the instances sharing the database divide the work."""

from __future__ import annotations

import typer
from rich.table import Table

from leakwatch.cli.common import JSON_OPTION, one_line_errors, out, print_json, services
from leakwatch.display import printable


def register(app: typer.Typer) -> None:
    app.command("status")(status)


@one_line_errors
def status(as_json: bool = JSON_OPTION) -> None:
    """Instances alive (heartbeat within the lease), the sources and parts each holds, the shared
    scan queue (parts waiting, leased, age of the oldest) and each enabled source's lag against its
    interval. On SQLite (one instance) only the sources. The same figures are Prometheus metrics
    (leakwatch_instances_alive, leakwatch_scan_queue_parts, leakwatch_source_lag_seconds...).
    With --json: one object."""
    from leakwatch import cluster
    from leakwatch.sources.spec import format_duration, load_specs

    svc = services()
    specs = [s for s in load_specs(svc.settings).values() if s.enabled]
    st = cluster.status(svc.engine, svc.settings.cluster, specs)
    if as_json:
        print_json(st)
        return
    if st["database"] != "postgresql":
        out.print("Database: SQLite, one instance: no leases, no shared queue.")
    else:
        alive = sum(1 for i in st["instances"] if i["alive"])
        out.print(f"Instances: {alive} alive of {len(st['instances'])} registered")
        table = Table(title_justify="left")
        for column in ("instance", "alive", "heartbeat", "sources held", "parts held"):
            table.add_column(column)
        for inst in st["instances"]:
            table.add_row(printable(inst["id"]), "yes" if inst["alive"] else "NO", f"{inst['heartbeat_age']}s ago",
                          printable(", ".join(inst["sources"])) or "-", str(inst["parts"]))
        if st["instances"]:
            out.print(table)
        q = st["queue"]
        out.print(f"Scan queue: {q['parts']} part(s) of {q['items']} item(s): {q['leased']} being scanned, "
                  f"{q['waiting']} waiting; oldest {format_duration(round(q['oldest_seconds']))}"
                  + (f"; {q['stuck']} STUCK (taken and lost 5 times: see the logs, event=part_last_attempt)"
                     if q["stuck"] else ""))
    table = Table(title_justify="left")
    for column in ("source", "interval", "holder", "last poll", "lag"):
        table.add_column(column)
    for src in st["sources"]:
        lag = src["lag_seconds"]
        table.add_row(printable(src["source"]), format_duration(round(src["interval"])),
                      printable(src["holder"] or "-"), (src["last_poll"] or "never")[:19],
                      "-" if lag is None else format_duration(round(lag)))
    out.print(table)
