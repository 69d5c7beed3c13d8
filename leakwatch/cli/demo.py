"""``demo``: leakwatch's main job on synthetic data, from an empty directory to incidents."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from leakwatch.cli import incidents as incidents_cli
from leakwatch.cli.common import err, one_line_errors, out, services


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


@one_line_errors
def demo(
    directory: Path = typer.Option(Path("leakwatch-demo"), "--dir",
                                   help="Home of the demo (created; your real LEAKWATCH_HOME is not touched)."),
) -> None:
    """Run the daemon once on synthetic data: fingerprints of 500 synthetic patients, a canary, a
    watch term, and three sample leaks in the drop folder, scanned and folded into incidents.

    Everything is synthetic and stays in --dir; delete it when done."""
    from leakwatch import daemon
    from leakwatch.demo import DATASET, PATIENTS, prepare

    os.environ["LEAKWATCH_HOME"] = str(directory.resolve())
    svc = services()
    plan = prepare(svc)
    err.print(f"demo home {svc.settings.home}: dataset {DATASET} ({PATIENTS} synthetic patients), "
              f"canary label {plan.canary_label}, 3 sample leaks in {plan.drop}", markup=False)
    err.print("running every enabled source once (the drop folder), as `leakwatch run` does:", markup=False)
    status = daemon.run(svc, once=True)
    out.print()
    incidents_cli.list_(status=None, limit=20, as_json=False)
    out.print(f"\n{len(plan.exposed_refs)} patients were planted in the CSV dump, 5 more by name and birth "
              "date only; a canary row and a defanged mention of the organisation too.")
    out.print(f"Next: LEAKWATCH_HOME={svc.settings.home} leakwatch incidents show 1   "
              "(refs of the exposed records)")
    raise typer.Exit(status)
