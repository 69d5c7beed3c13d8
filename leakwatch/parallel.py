"""Record matching of large documents on every core.

A document of several megabytes is cut at line ends into parts that worker processes match in
parallel; every proximity window lies within one line, so no match is lost at a cut. Workers are
started (spawn, safe beside the daemon's threads) on the first large document and map the
fingerprint index the parent wrote in the home (``indexcache``): one copy in memory for all of them.
Only the parts' text and the findings cross the pipes.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor

from leakwatch.models import Finding
from leakwatch.settings import Settings

PART = 1024 * 1024
"""Characters per part; a document shorter than two parts is matched in the calling process."""

_matcher = None


def _init(settings: Settings) -> None:
    """In each worker: the key, the database and the index, loaded as the parent loaded them."""
    global _matcher
    from leakwatch import keys, store
    from leakwatch.detection import text_matcher
    from leakwatch.fingerprints import load_index

    master = keys.load_key(keys.key_path(settings.home, settings.key_file))
    _matcher = text_matcher(settings, load_index(store.make_engine(settings.db_url), master, settings.home / "index"))


def _scan(text: str, target: str) -> list[Finding]:
    assert _matcher is not None
    return _matcher.scan(text, target)


def split(text: str, size: int = PART) -> list[str]:
    """Parts of about ``size`` characters, each ending at a line end (or the text's end)."""
    parts = []
    start = 0
    while start < len(text):
        cut = text.find("\n", start + size)
        end = len(text) if cut == -1 else cut + 1
        parts.append(text[start:end])
        start = end
    return parts


class Pool:
    """Worker processes for one set of services (one settings, one index)."""

    def __init__(self, settings: Settings, workers: int) -> None:
        self.workers = workers
        self._executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_init, initargs=(settings,))

    def submit(self, text: str, target: str) -> list[Future[list[Finding]]]:
        return [self._executor.submit(_scan, part, target) for part in split(text)]

    def close(self, wait: bool = True) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=True)

    def retire(self) -> None:
        """Take no new work; the workers exit once the parts already submitted are matched."""
        self._executor.shutdown(wait=False, cancel_futures=False)


def workers_for(settings: Settings) -> int:
    return settings.scan_workers or os.cpu_count() or 1
