"""The one scanning path: ``scan_item`` turns an Item into findings. ``leakwatch scan``,
``sources check``, the daemon and the tests all go through it."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Protocol

from leakwatch.detection import parallel
from leakwatch.detection.documents import Limits, documents, stream_documents
from leakwatch.detection.matcher import TextMatcher
from leakwatch.detection.records.carry import Carry
from leakwatch.detection.terms import TermMatcher
from leakwatch.models import CONFIDENCE_ORDER, Document, Finding, Item, ScanResult, Skipped
from leakwatch.settings import Settings


class Scanning(Protocol):
    """What scanning needs of the composition root (``app.Services`` is one), built lazily there:
    the pipeline does not import the layer above it."""

    @property
    def settings(self) -> Settings: ...

    @property
    def matcher(self) -> TextMatcher: ...

    @property
    def term_matcher(self) -> TermMatcher: ...

    def scan_pool(self, start: bool = True) -> parallel.Pool | None: ...


def limits(settings: Settings, item: Item | None = None) -> Limits:
    """The settings' limits; the item's ``meta["passwords"]`` (``scan --password``, a source's
    ``passwords``) are tried on encrypted archives and documents."""
    s = settings
    passwords = tuple(str(p) for p in (item.meta.get("passwords") or ())) if item is not None else ()
    return Limits(s.max_item_bytes, s.max_expanded_bytes, s.max_expansion_ratio, s.max_archive_depth,
                  passwords=passwords, spool_dir=str(s.home / "spool"))


def scan_item(services: Scanning, item: Item) -> ScanResult:
    """Scan one item held in memory: no I/O but the fingerprint index's record look-ups."""
    docs = documents(item.content, item.target, limits(services.settings, item), item.title)
    return scan_documents(services, item, docs, expected=len(item.content))


def scan_stream(services: Scanning, item: Item, fh: IO[bytes], size: int | None,
                found: Callable[[int], None] | None = None, carried: Carry | None = None) -> ScanResult:
    """Scan a file read in chunks (a local dump of any size); ``item.content`` stays empty.
    ``found`` is told the number of findings so far (before merging) as they come (a progress display);
    ``carried`` is what the text needs from the file when it is a part of a file cut elsewhere."""
    docs = stream_documents(fh, item.target, limits(services.settings, item), size, item.title, carried)
    return scan_documents(services, item, docs, found, expected=size)


def scan_documents(services: Scanning, item: Item, docs: Iterable[Document | Skipped],
                   progress: Callable[[int], None] | None = None, expected: int | None = None) -> ScanResult:
    """Match the documents of one item. ``expected`` is the item's size when known: the worker
    processes start for an item of ``scan_parallel_from`` bytes or more (or once that much text
    has been read), and take its documents over two parts."""
    result = ScanResult(item)
    m = services.matcher
    terms = services.term_matcher
    found: list[Finding] = []
    targets: set[str] = set()
    titles: set[str] = set()
    pending: deque[parallel.Part] = deque()
    pool: parallel.Pool | None = None
    for doc in docs:
        if isinstance(doc, Skipped):
            result.skipped.append(doc)
            continue
        if doc.target not in targets:
            targets.add(doc.target)
            result.documents += 1
        result.bytes_scanned += len(doc.text)
        start = max(expected or 0, result.bytes_scanned) >= services.settings.scan_parallel_from
        large = len(doc.text) >= 2 * parallel.PART and not m.index.empty
        workers = services.scan_pool(start) if large else None
        if workers is None:
            _collect(m.scan_document(doc.head + doc.text, doc.target), found, result)
        else:
            pool = workers
            pending.extend(workers.submit(doc.head + doc.text, doc.target))
            _drain(pending, 4 * workers.workers, workers, m.scan_document, found, result)  # bound the text in flight
        if not doc.records_only:
            found.extend(terms.scan(doc.text, doc.target))
        if doc.title and doc.title not in titles:  # leak-site trackers name victims in titles
            titles.add(doc.title)
            found.extend(terms.scan(doc.title, item.target, where="title"))
        if progress is not None:
            progress(len(found))
    if item.title and item.title not in titles:  # an item with no text (a listing entry)
        found.extend(terms.scan(item.title, item.target, where="title"))
    _drain(pending, 0, pool, m.scan_document, found, result)
    result.findings = list(merge(found))
    return result


def _drain(pending: deque[parallel.Part], keep: int, pool: parallel.Pool | None,
           scan: Callable[[str, str], parallel.Matched], found: list[Finding], result: ScanResult) -> None:
    """Collect parts, in order, until ``keep`` are left in flight. Until the workers are up, this
    process matches the newest part none has started rather than wait for the oldest."""
    while len(pending) > keep:
        if (pool is not None and not pool.warm and pending[0].waiting()
                and any(part.steal(scan) for part in reversed(pending))):
            continue
        _collect(pending.popleft().result(), found, result)


def _collect(matched: parallel.Matched, found: list[Finding], result: ScanResult) -> None:
    """A document's (or part's) findings, and the records its structured parts held, by format."""
    findings, formats = matched
    found.extend(findings)
    for fmt, n in formats.items():
        result.structured[fmt] = result.structured.get(fmt, 0) + n


def merge(findings: Iterable[Finding]) -> Iterator[Finding]:
    """One finding per record (or term) and document: fields united, best confidence kept.
    A file scanned in chunks may see one record in several chunks."""
    merged: dict[tuple[object, ...], Finding] = {}
    for f in findings:
        key = (f.type, f.target, f.dataset, f.ref, f.term, f.fields if f.type == "term" else ())
        prev = merged.get(key)
        if prev is None:
            merged[key] = f
            continue
        best = f if CONFIDENCE_ORDER[f.confidence] > CONFIDENCE_ORDER[prev.confidence] else prev
        merged[key] = Finding(
            type=f.type, target=f.target, dataset=f.dataset, ref=f.ref,
            fields=tuple(sorted(set(prev.fields) | set(f.fields))), confidence=best.confidence,
            term=f.term, term_kind=f.term_kind, score=max(prev.score or 0, f.score or 0) or None,
            count=prev.count + f.count if f.type == "term" else 1, label=f.label,
            hosts=tuple(sorted(set(prev.hosts) | set(f.hosts))),
        )
    yield from merged.values()
