"""``init``, ``scan`` and ``demo``: the commands of the detection core."""

from __future__ import annotations

import os
import stat
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

import typer
from rich.progress import Progress, TaskID
from rich.table import Table
from rich.text import Text

from leakwatch import keys
from leakwatch.cli.common import JSON_OPTION, err, one_line_errors, out, print_json, scan_progress, services
from leakwatch.display import printable
from leakwatch.errors import ConfigError, InputError
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
    from leakwatch.storage import dbschema, store

    svc = services()
    home = svc.settings.home
    check_home(home)
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    path = svc.key_path
    created = keys.create_key(path)
    keyring = svc.keyring  # refuses a key readable by others, or of the wrong size
    where = store.safe_url(svc.settings.db_url)
    engine = store.make_engine(svc.settings.db_url, svc.settings.database_busy_timeout)
    before, after = dbschema.upgrade(engine, where)
    if created:
        from leakwatch.storage import audit

        audit.record_now(engine, "key_create", key_version=keyring.current.version,
                         key_id=keyring.current.key_id, key_source=keyring.origin)
    out.print(f"home      {home}")
    out.print(f"key       {path} ({'created' if created else 'kept'}; current version "
              f"{keyring.current.version}, key id {keyring.current.key_id})")
    change = "created" if before.empty else "upgraded" if before.revision != after.revision else "up to date"
    out.print(f"database  {where} (schema {after.revision}, {change})")


def check_home(home: Path) -> None:
    """Refuse an existing home that someone else owns or may write into (they could have planted a
    config, a source definition or a key), unless it is empty and ours: then it is made 0700."""
    try:
        info = home.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        info = home.stat()
    if not stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"{home}: exists and is not a directory")
    mine = info.st_uid == os.geteuid()
    writable = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if mine and not writable:
        return
    if mine and not any(home.iterdir()):
        return
    who = "owned by another user" if not mine else "writable by group or others"
    raise ConfigError(f"{home}: refusing to use an existing directory {who} (mode {stat.S_IMODE(info.st_mode):04o}"
                      f"{'' if mine else f', uid {info.st_uid}'}): anyone who can write there could plant a "
                      "config or a key; use a new directory, or an empty one of yours")


@dataclass
class _Walk:
    """What ``scan``'s arguments name: files to scan, and notes on what was passed over."""

    targets: list[tuple[str, Path | None]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    """(where, why) for what a directory holds but cannot be scanned: said, never silent."""
    errors: list[str] = field(default_factory=list)
    """Targets named on the command line that cannot be read at all: exit 2, the others scanned."""


def _paths(args: list[str]) -> _Walk:
    """Each argument as (target, path): files, directories walked in order, '-' for stdin. In a
    directory, a dangling link, a FIFO, a socket or a device is a note; a named FIFO (``<(zcat
    x)``) is read. Later split volumes (``x.7z.002``) are read with their first."""
    from leakwatch.detection import volumes

    walk = _Walk()
    for arg in args:
        if arg == "-" or arg.startswith(URL_PREFIXES):
            walk.targets.append((arg, None))
            continue
        path = Path(arg)
        if path.is_dir() and not os.access(path, os.R_OK | os.X_OK):
            walk.errors.append(f"{arg}: cannot read the directory: Permission denied")
        elif path.is_dir():
            def onerror(exc: OSError) -> None:
                walk.notes.append((str(exc.filename), f"cannot read the directory: {exc.strerror}"))

            for root, dirs, files in os.walk(path, onerror=onerror):
                dirs.sort()
                for name in sorted(files):
                    full = Path(root) / name
                    why = _not_scannable(full)
                    if why is not None:
                        walk.notes.append((str(full), why))
                    elif not volumes.is_later_volume(full):
                        walk.targets.append((str(full), full))
        elif path.exists():
            walk.targets.append((arg, path))
        elif path.is_symlink():
            walk.errors.append(f"{arg}: dangling symbolic link (to {os.readlink(path)})")
        else:
            walk.errors.append(f"{arg}: no such file or directory")
    return walk


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


def _not_scannable(path: Path) -> str | None:
    """Why a file met in a directory walk is passed over, or None."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return "dangling symbolic link" if path.is_symlink() else "gone since it was listed"
    except OSError as exc:
        return f"cannot read: {exc.strerror}"
    if stat.S_ISFIFO(st.st_mode):
        return "FIFO (named pipe): not read in a directory, it may never end; name it to read it"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file (socket or device)"
    if not os.access(path, os.R_OK):
        return "cannot read: Permission denied"
    return None


def scan_target(svc: Services, target: str, path: Path | None, passwords: tuple[str, ...] = (),
                shown: ScanProgress | None = None) -> ScanResult:
    """Scan one argument of ``leakwatch scan`` through the pipeline."""
    from leakwatch.detection import volumes
    from leakwatch.pipeline import scan_item, scan_stream

    found = shown.found if shown is not None else None
    meta: dict[str, object] = {"passwords": list(passwords)} if passwords else {}
    if target == "-":
        item = Item(source="cli", key="stdin", content=b"", name="stdin", meta=meta)
        stdin: IO[bytes] = sys.stdin.buffer if shown is None else _Counting(sys.stdin.buffer, shown.advance)  # type: ignore[assignment]
        return scan_stream(svc, item, stdin, None, found)
    if path is None:
        from leakwatch.sources.web import fetch_item

        url_item = fetch_item(svc.settings, target)
        if passwords:
            url_item.meta["passwords"] = list(passwords)
        return scan_item(svc, url_item)
    item = Item(source="cli", key=str(path), content=b"", name=target, meta=meta)
    try:
        fh = volumes.open_volumes(path)
        size = volumes.total_size(path) if stat.S_ISREG(path.stat().st_mode) else None
    except OSError as exc:
        raise InputError(f"{target}: cannot read: {exc.strerror}") from None
    with fh:
        reader: IO[bytes] = fh if shown is None else _Counting(fh, shown.advance)  # type: ignore[assignment]
        return scan_stream(svc, item, reader, size, found)


@one_line_errors
def scan(
    targets: list[str] = typer.Argument(..., metavar="PATH|URL|-",
                                        help="Files, directories (recursive), archives, URLs, or - for stdin."),
    passwords: list[str] = typer.Option([], "--password", "-p", metavar="P",
                                        help="Password of encrypted archives or PDFs (repeat to try several)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Check documents for exposure of your records, watch terms and canaries.

    Reads any text encoding; expands 7z, RAR, zip, tar, cpio, ISO, gz, bz2, xz and zstd (split
    volumes .7z.001 and .part1.rar too) within size and ratio limits; reads spreadsheets (xlsx, xls, ods),
    docx, odt and PDF text; skips binaries with a note. Prints which records were found (their
    refs, the kinds of field that matched and a confidence), never a matched value.

    Whatever is passed over is said on stderr as "note: WHERE: skipped: WHY": an encrypted
    archive without its password, a truncated stream (what came before is scanned), a FIFO or
    a dangling link in a directory.

    Exit status: 0 nothing found, 1 something found, 2 a target named here could not be read
    (the others are still scanned and reported).
    """
    from leakwatch.datasets import forms
    from leakwatch.datasets.keycheck import unchecked_note

    svc = services()
    if svc.index.empty:
        err.print("leakwatch: note: no dataset imported yet (leakwatch fingerprints import); "
                  "only watch terms are checked")
    elif note := unchecked_note(svc.engine):
        err.print(f"leakwatch: note: {printable(note)}")
    for name, found in svc.outdated.items():
        if forms.blind(found):
            err.print(f"leakwatch: note: {printable(name)}: {printable(forms.advice(found))}", markup=False)
    walk = _paths(targets)
    for message in walk.errors:
        err.print(f"leakwatch: error: {printable(message)}")
    for where, why in walk.notes:
        err.print(f"leakwatch: note: {printable(where)}: skipped: {printable(why)}")
    paths = walk.targets
    total = sum(_size(p) for _, p in paths if p is not None)
    found_any = False
    failed = bool(walk.errors)
    try:
        with scan_progress() as bar:
            shown = ScanProgress(bar, total or None)
            for target, path in paths:
                try:
                    result = scan_target(svc, target, path, tuple(passwords), shown)
                except InputError as exc:  # this target only: the others are still scanned
                    err.print(f"leakwatch: error: {printable(str(exc))}")
                    failed = True
                    continue
                shown.done(result)
                for skipped in result.skipped:
                    err.print(f"leakwatch: note: {printable(skipped.target)}: skipped: {printable(skipped.reason)}")
                found_any |= bool(result.findings)
                report(result.findings, as_json)
    finally:
        svc.close()
    raise typer.Exit(2 if failed else 1 if found_any else 0)


def _size(path: Path) -> int:
    """The bytes the progress display expects from a file (all its split volumes)."""
    from leakwatch.detection import volumes

    try:
        return volumes.total_size(path) if stat.S_ISREG(path.stat().st_mode) else 0
    except OSError:
        return 0


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
    title = f"{printable(target)}: {len(records)} record(s) exposed ({high} high)"
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
            table.add_row("term", printable(f"{f.term} ({f.term_kind})"), "",
                          f"{f.count} {_HOW.get(how, how)} in {where}", f"score {f.score or 0:.0f}")
        elif f.type == "canary":
            table.add_row(Text("canary", style="bold red"), printable(f"label {f.label}"), printable(f.ref or ""),
                          ", ".join(f.fields), Text("critical", style="bold red"))
        else:
            table.add_row("record", printable(f.dataset or ""), printable(f.ref or ""), ", ".join(f.fields),
                          f.confidence)
    return table
