"""``run`` and ``doctor``: the daemon, and a check of everything it needs."""

from __future__ import annotations

import typer

from leakwatch.cli.common import JSON_OPTION, fail, one_line_errors, out, print_json, services
from leakwatch.display import printable


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


@one_line_errors
def doctor(as_json: bool = JSON_OPTION) -> None:
    """Check the key file and its permissions, the database, datasets an older release imported,
    stored watch terms this release cannot watch, each enabled source and each alert route (apprise
    can parse it). One line per check; exit 1 if any fails, 2 if the key file
    read is not the one the datasets were fingerprinted with (docs/keys.md)."""
    from leakwatch.doctor import run_checks

    checks = run_checks(services())
    results = [r.to_json() for r in checks]
    for r in results:
        if as_json:
            print_json(r)
        else:
            status = "ok  " if r["ok"] else "FAIL"
            out.print(f"{status}  {r['check']:<8}  {printable(r['target'])}: {printable(r['detail'])}")
    mismatch = [r.detail for r in checks if r.wrong_key]
    if mismatch:  # the one failure that makes the monitor blind: a usage error, exit 2
        raise fail(mismatch[0])
    raise typer.Exit(0 if all(r["ok"] for r in results) else 1)
