"""``init``, ``scan`` and ``demo``: the commands of the detection core."""

from __future__ import annotations

import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

import typer
from rich.markup import escape
from rich.progress import Progress, TaskID
from rich.table import Table

from leakwatch import keys
from leakwatch.cli.common import JSON_OPTION, err, one_line_errors, out, print_json, scan_progress, services
from leakwatch.errors import InputError
from leakwatch.models import Finding, Item, ScanResult

if TYPE_CHECKING:
    from leakwatch.app import Services

URL_PREFIXES = ("http://", "https://")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("scan")(scan)


@one_line_errors
def init() -> None:
    """Create the data directory, a 256-bit key (mode 0600) and the database, or upgrade the
    database's schema (leakwatch db upgrade). Safe to run again: an existing key is never overwritten.

    The key file may be elsewhere (LEAKWATCH_KEY_FILE, or a systemd credential named
    leakwatch-key): keep it off the database's volume."""
    from leakwatch import dbschema, store

    svc = services()
    home = svc.settings.home
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    path = svc.key_path
    created = keys.create_key(path)
    keys.load_key(path)  # refuses a key readable by others, or of the wrong size
    where = store.safe_url(svc.settings.db_url)
    before, after = dbschema.upgrade(store.make_engine(svc.settings.db_url), where)
    out.print(f"home      {home}")
    out.print(f"key       {path} ({'created' if created else 'kept'})")
    change = "created" if before.empty else "upgraded" if before.revision != after.revision else "up to date"
    out.print(f"database  {where} (schema {after.revision}, {change})")


def _paths(args: list[str]) -> Iterator[tuple[str, Path | None]]:
    """Each argument as (target, path): files, directories walked in order, '-' for stdin."""
    for arg in args:
        if arg == "-" or arg.startswith(URL_PREFIXES):
            yield arg, None
            continue
        path = Path(arg)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    yield str(Path(root) / name), Path(root) / name
        elif path.exists():
            yield arg, path
        else:
            raise InputError(f"{arg}: no such file or directory")


SHOW_AFTER = 2.0
"""Seconds a scan runs before its progress display appears (short scans print nothing extra)."""


class ScanProgress:
    """Feeds ``scan``'s progress display: bytes read from the files (an archive's compressed bytes),
    findings so far. Hidden until the scan has run ``SHOW_AFTER`` seconds."""

    def __init__(self, bar: Progress, total: int | None) -> None:
        self.bar = bar
        self.task: TaskID = bar.add_task("scanning", total=total, visible=False, found=0)
        self.started = time.monotonic()
        self.earlier = 0  # findings of the targets already done
        self.current = 0  # of the target being scanned, before merging (never shown decreasing)

    def advance(self, n: int) -> None:
        self.bar.advance(self.task, n)
        self._show()

    def found(self, n: int) -> None:
        self.current = n
        self.bar.update(self.task, found=self.earlier + n)
        self._show()

    def _show(self) -> None:
        if not self.bar.tasks[self.task].visible and time.monotonic() - self.started >= SHOW_AFTER:
            self.bar.update(self.task, visible=True)

    def done(self, result: ScanResult) -> None:
        self.earlier += max(self.current, len(result.findings))
        self.current = 0
        self.bar.update(self.task, found=self.earlier)


class _Counting:
    """A binary file that reports each read's size (the progress display's bytes done)."""

    def __init__(self, fh: IO[bytes], on_read: Callable[[int], None]) -> None:
        self.fh = fh
        self.on_read = on_read

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        self.on_read(len(data))
        return data


def scan_target(svc: Services, target: str, path: Path | None, shown: ScanProgress | None = None) -> ScanResult:
    """Scan one argument of ``leakwatch scan`` through the pipeline."""
    from leakwatch.pipeline import scan_item, scan_stream

    found = shown.found if shown is not None else None
    if target == "-":
        item = Item(source="cli", key="stdin", content=b"", name="stdin")
        fh: IO[bytes] = sys.stdin.buffer if shown is None else _Counting(sys.stdin.buffer, shown.advance)  # type: ignore[assignment]
        return scan_stream(svc, item, fh, None, found)
    if path is None:
        from leakwatch.sources.web import fetch_item

        return scan_item(svc, fetch_item(svc.settings, target))
    item = Item(source="cli", key=str(path), content=b"", name=target)
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise InputError(f"{target}: cannot read: {exc.strerror}") from None
    with fh:
        reader: IO[bytes] = fh if shown is None else _Counting(fh, shown.advance)  # type: ignore[assignment]
        return scan_stream(svc, item, reader, path.stat().st_size, found)


@one_line_errors
def scan(
    targets: list[str] = typer.Argument(..., metavar="PATH|URL|-",
                                        help="Files, directories (recursive), archives, URLs, or - for stdin."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Check documents for exposure of your records, watch terms and canaries.

    Reads any text encoding; expands .gz, .zip, .tar, .bz2 and .xz within size and ratio limits;
    skips binaries with a note. Prints which records were found (their refs, the kinds of field
    that matched and a confidence), never a matched value.

    Exit status: 0 nothing found, 1 something found, 2 error.
    """
    svc = services()
    if svc.index.empty:
        err.print("leakwatch: note: no dataset imported yet (leakwatch fingerprints import); "
                  "only watch terms are checked", markup=False)
    paths = list(_paths(targets))
    total = sum(p.stat().st_size for _, p in paths if p is not None)
    found_any = False
    try:
        with scan_progress() as bar:
            shown = ScanProgress(bar, total or None)
            for target, path in paths:
                result = scan_target(svc, target, path, shown)
                shown.done(result)
                for skipped in result.skipped:
                    err.print(f"leakwatch: note: {skipped.target}: skipped: {skipped.reason}", markup=False)
                found_any |= bool(result.findings)
                report(result.findings, as_json)
    finally:
        svc.close()
    raise typer.Exit(1 if found_any else 0)


def report(findings: list[Finding], as_json: bool) -> None:
    by_target: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_target[f.target].append(f)
    for target, group in by_target.items():
        if as_json:
            print_json(document_json(target, group))
        else:
            out.print(_table(target, group))


def document_json(target: str, findings: list[Finding]) -> dict[str, object]:
    """One SIEM-friendly object per document: counts, records by ref, and every finding typed."""
    records = [f for f in findings if f.type in ("record", "canary")]
    datasets = sorted({f.dataset for f in records if f.dataset})
    confidence = Counter(f.confidence for f in records if f.type == "record")
    obj: dict[str, object] = {
        "target": target,
        "dataset": datasets[0] if len(datasets) == 1 else None,
        "datasets": datasets,
        "records": [{"dataset": f.dataset, "ref": f.ref, "fields": list(f.fields),
                     "confidence": f.confidence} for f in records if f.type == "record"],
        "counts": {"records": sum(confidence.values()), "high": confidence["high"],
                   "medium": confidence["medium"], "terms": sum(1 for f in findings if f.type == "term"),
                   "canaries": sum(1 for f in findings if f.type == "canary")},
        "findings": [_finding_json(f) for f in findings],
    }
    return obj


_HOW = {"mention": "mention(s)", "email": "e-mail address(es)", "lookalike": "look-alike domain(s)",
        "truncated": "truncated mention(s)"}


def _finding_json(f: Finding) -> dict[str, object]:
    """A finding's JSON; a term's also says how it matched and where (``text`` or ``title``)."""
    obj = f.to_json()
    if f.type == "term" and len(f.fields) == 2:
        obj.update(match=f.fields[1], where=f.fields[0])
    return obj


def _table(target: str, findings: list[Finding]) -> Table:
    records = [f for f in findings if f.type == "record"]
    high = sum(1 for f in records if f.confidence == "high")
    title = f"{target}: {len(records)} record(s) exposed ({high} high)"
    canaries = sum(1 for f in findings if f.type == "canary")
    terms = sum(1 for f in findings if f.type == "term")
    title += f", {canaries} canary record(s)" * bool(canaries) + f", {terms} watch-term finding(s)" * bool(terms)
    table = Table(title=title, title_justify="left")
    for column in ("type", "dataset / term / label", "ref", "fields", "confidence"):
        table.add_column(column)
    order = {"canary": 0, "record": 1, "term": 2}
    for f in sorted(findings, key=lambda f: (order[f.type], f.dataset or "", f.ref or "", f.term or "")):
        if f.type == "term":
            where, how = f.fields if len(f.fields) == 2 else ("text", "mention")
            table.add_row("term", escape(f"{f.term} ({f.term_kind})"), "",
                          f"{f.count} {_HOW.get(how, how)} in {where}", f"score {f.score or 0:.0f}")
        elif f.type == "canary":
            table.add_row("[bold red]canary[/]", escape(f"label {f.label}"), escape(f.ref or ""), ", ".join(f.fields),
                          "[bold red]critical[/]")
        else:
            table.add_row("record", f.dataset or "", f.ref or "", ", ".join(f.fields), f.confidence)
    return table
