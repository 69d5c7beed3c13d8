"""The one scanning path: ``scan_item`` turns an Item into findings. ``leakwatch scan``,
``sources check``, the daemon and the tests all go through it."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from typing import IO

from leakwatch import parallel
from leakwatch.app import Services
from leakwatch.detectors import build_detectors
from leakwatch.documents import Limits, documents, stream_documents
from leakwatch.matcher import MatchOptions, TextMatcher
from leakwatch.models import Document, Finding, Item, ScanResult, Skipped
from leakwatch.terms import TermMatcher, load_terms

_CONFIDENCE = {"low": 0, "medium": 1, "high": 2}


def limits(services: Services) -> Limits:
    s = services.settings
    return Limits(s.max_item_bytes, s.max_expanded_bytes, s.max_expansion_ratio, s.max_archive_depth)


def matcher(services: Services) -> TextMatcher:
    cached = services.extras.get("matcher")
    if not isinstance(cached, TextMatcher):
        s = services.settings
        cached = TextMatcher(services.index, build_detectors(s.default_region),
                             MatchOptions(s.proximity, s.name_threshold))
        services.extras["matcher"] = cached
    return cached


def term_matcher(services: Services) -> TermMatcher:
    """The watch terms, loaded once per process (drop ``extras["term_matcher"]`` to reload)."""
    cached = services.extras.get("term_matcher")
    if not isinstance(cached, TermMatcher):
        cached = TermMatcher(load_terms(services.engine), services.settings.term_threshold)
        services.extras["term_matcher"] = cached
    return cached


def scan_item(services: Services, item: Item) -> ScanResult:
    """Scan one item held in memory: no I/O but the fingerprint index's record look-ups."""
    docs = documents(item.content, item.target, limits(services), item.title)
    return scan_documents(services, item, docs)


def scan_stream(services: Services, item: Item, fh: IO[bytes], size: int | None) -> ScanResult:
    """Scan a file read in chunks (a local dump of any size); ``item.content`` stays empty."""
    return scan_documents(services, item, stream_documents(fh, item.target, limits(services), size,
                                                           item.title))


def pool(services: Services) -> parallel.Pool | None:
    """The worker processes that match large documents, started on first use; None on one core."""
    cached = services.extras.get("pool")
    if isinstance(cached, parallel.Pool):
        return cached
    workers = parallel.workers_for(services.settings)
    if workers <= 1:
        return None
    created = parallel.Pool(services.settings, workers)
    services.extras["pool"] = created
    return created


def scan_documents(services: Services, item: Item, docs: Iterable[Document | Skipped]) -> ScanResult:
    result = ScanResult(item)
    m = matcher(services)
    terms = term_matcher(services)
    found: list[Finding] = []
    targets: set[str] = set()
    titles: set[str] = set()
    pending: deque[Future[tuple[list[Finding], dict[str, int]]]] = deque()
    for doc in docs:
        if isinstance(doc, Skipped):
            result.skipped.append(doc)
            continue
        if doc.target not in targets:
            targets.add(doc.target)
            result.documents += 1
        result.bytes_scanned += len(doc.text)
        workers = pool(services) if len(doc.text) >= 2 * parallel.PART and not m.index.empty else None
        if workers is None:
            _collect(m.scan_document(doc.text, doc.target), found, result)
        else:
            pending.extend(workers.submit(doc.text, doc.target))
            while len(pending) > 4 * workers.workers:  # bound the text held in flight
                _collect(pending.popleft().result(), found, result)
        if not doc.records_only:
            found.extend(terms.scan(doc.text, doc.target))
        if doc.title and doc.title not in titles:  # leak-site trackers name victims in titles
            titles.add(doc.title)
            found.extend(terms.scan(doc.title, item.target, where="title"))
    if item.title and item.title not in titles:  # an item with no text (a listing entry)
        found.extend(terms.scan(item.title, item.target, where="title"))
    for future in pending:
        _collect(future.result(), found, result)
    result.findings = list(merge(found))
    return result


def _collect(matched: tuple[list[Finding], dict[str, int]], found: list[Finding], result: ScanResult) -> None:
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
        best = f if _CONFIDENCE[f.confidence] > _CONFIDENCE[prev.confidence] else prev
        merged[key] = Finding(
            type=f.type, target=f.target, dataset=f.dataset, ref=f.ref,
            fields=tuple(sorted(set(prev.fields) | set(f.fields))), confidence=best.confidence,
            term=f.term, term_kind=f.term_kind, score=max(prev.score or 0, f.score or 0) or None,
            count=prev.count + f.count if f.type == "term" else 1, label=f.label,
        )
    yield from merged.values()
