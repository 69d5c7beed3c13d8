"""What every command shares: the services, one-line errors, JSON lines, progress on a terminal."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from leakwatch.display import printable
from leakwatch.errors import LeakwatchError

if TYPE_CHECKING:
    from leakwatch.app import Services

# No Rich markup and no :emoji: codes: names from the outside world are printed as they are (see
# display.printable for control characters); styled text is built as rich.text.Text.
out = Console(highlight=False, soft_wrap=True, markup=False, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)

P = ParamSpec("P")
R = TypeVar("R")

JSON_OPTION = typer.Option(False, "--json", help="One JSON object per line, for a SIEM or jq.")


def services() -> Services:
    from leakwatch.app import build

    return build()


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"leakwatch: error: {printable(message)}")
    return typer.Exit(code)


def one_line_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a LeakwatchError into one line on stderr and exit code 2: never a traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except LeakwatchError as exc:
            raise fail(str(exc), exc.exit_code) from None

    return wrapper


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def scan_progress() -> Progress:
    """``scan``'s transient display on stderr (a terminal only): bytes read, speed, time left and
    findings so far. Its task starts hidden; the caller shows it once a scan lasts."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[found]} found"),
        console=err,
        transient=True,
        disable=not err.is_terminal or bool(os.environ.get("CI")),
    )


def progress(enabled: bool = True) -> Progress:
    """A transient progress bar on stderr, shown only when stderr is a terminal."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not enabled or not err.is_terminal or bool(os.environ.get("CI")),
    )
