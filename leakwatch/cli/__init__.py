"""The ``leakwatch`` command line: commands only parse, call and print."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

try:  # typer vendors its own click since 0.24
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as click_errors  # type: ignore[no-redef]

from leakwatch import __version__, log
from leakwatch.cli import (
    alerts,
    audit,
    canary,
    core,
    daemon,
    db,
    demo,
    fingerprints,
    incidents,
    key,
    sources,
    status,
    terms,
)
from leakwatch.cli.common import err
from leakwatch.cli.helptext import reflow_app
from leakwatch.display import printable
from leakwatch.errors import LeakwatchError
from leakwatch.hardening import no_core_dumps, stacks_on_sigusr1
from leakwatch.storage import busy

app = typer.Typer(
    name="leakwatch",
    help=(
        "Find which of your organisation's records surface in leaks, without holding their plaintext.\n\n"
        "Typical first steps:\n\n"
        "  leakwatch init\n\n"
        "  leakwatch fingerprints import patients.csv --schema patients.toml\n\n"
        "  leakwatch scan dump.zip paste.txt --json\n\n"
        "Data lives in LEAKWATCH_HOME (or --home): config.toml, the key (0600) and the database."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"leakwatch {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    home: Path | None = typer.Option(None, "--home", envvar="LEAKWATCH_HOME",
                                     help="Data directory: config.toml, key, database."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    if home is not None:
        os.environ["LEAKWATCH_HOME"] = str(home)


core.register(app)
demo.register(app)
app.add_typer(fingerprints.app, name="fingerprints")
daemon.register(app)
status.register(app)
app.add_typer(incidents.app, name="incidents")
app.add_typer(alerts.app, name="alerts")
app.add_typer(sources.app, name="sources")
app.add_typer(terms.app, name="terms")
app.add_typer(canary.app, name="canary")
app.add_typer(key.app, name="key")
app.add_typer(db.app, name="db")
audit.register(app)
reflow_app(app)


def _busy(exc: Exception) -> str | None:
    """The one line for a database locked past the busy timeout, else None."""
    if not busy.is_busy(exc):
        return None
    try:
        from leakwatch.settings import load_settings

        settings = load_settings()
        return printable(busy.busy_error(settings.db_url, settings.database_busy_timeout))
    except LeakwatchError:
        return "database is busy: another process holds a lock on it; try again when it is done"


def _unraisable(report: sys.UnraisableHookArgs) -> None:
    """An exception Python can only report (raised in a finaliser, or in an exit hook: a process
    pool's wake-up pipe closed under it after a SIGTERM): one line with its class, never the
    traceback nor the message (which could quote a value)."""
    if os.environ.get("LEAKWATCH_DEBUG"):
        sys.__unraisablehook__(report)
    elif sys.stderr is not None:  # plain write: at exit, rich can no longer import what it needs
        sys.stderr.write(f"leakwatch: note: ignored {report.exc_type.__name__} while finishing "
                         "(set LEAKWATCH_DEBUG=1 to see it)\n")


def main() -> None:
    """Entry point of the ``leakwatch`` process: hardened (no core dumps), thread stacks on SIGUSR1,
    then ``dispatch``."""
    no_core_dumps()
    stacks_on_sigusr1()
    dispatch()


def dispatch() -> None:
    """Run the command of ``sys.argv``: usage and input errors exit 2 with one line, never a traceback."""
    log.command_setup()
    if sys.unraisablehook is sys.__unraisablehook__:  # not when a host (a test runner) has its own
        sys.unraisablehook = _unraisable
    try:
        status = app(standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:
        err.print(exc.format_message(), markup=False, highlight=False)
        sys.exit(2)
    except click_errors.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "leakwatch"
        err.print(f"leakwatch: error: {exc.format_message()} (see: {command} --help)", markup=False)
        sys.exit(2)
    except LeakwatchError as exc:
        err.print(f"leakwatch: error: {printable(exc)}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("leakwatch: interrupted", markup=False)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("LEAKWATCH_DEBUG"):
            raise
        if (busy_line := _busy(exc)) is not None:
            err.print(f"leakwatch: error: {busy_line}")
            sys.exit(busy.EXIT_BUSY)
        # The class only: a library's message could quote a protected value.
        err.print(f"leakwatch: internal error: {exc.__class__.__name__} "
                  "(set LEAKWATCH_DEBUG=1 to see the traceback)", markup=False)
        sys.exit(70)
    sys.exit(status if isinstance(status, int) else 0)
