"""Record matching of large documents on every core.

A document of several megabytes is cut at line ends into parts that worker processes read and
match in parallel; every proximity window lies within one line, so no match is lost at a cut,
and a cut is made at a blank line where one is near, so that a structured part (a CSV table, a
pretty-printed JSON, leakwatch.detection.records) is seldom cut in two. Workers are
started (spawn, safe beside the daemon's threads) on the first large document, check the key and
map the fingerprint index the parent wrote in the home (``detection.indexcache``): one copy in memory for all
of them. Only the parts' text and the findings cross the pipes.

Workers hold plaintext (the parts of a dump, the rows of an import): they must never outlive the
process that started them. Each one is bound to its parent (``bind_to_parent``): on Linux the
kernel kills it when the parent dies (``PR_SET_PDEATHSIG``), and everywhere a watchdog thread
exits it within a fraction of a second once its parent is gone. ``process_pool`` kills the workers
at once when the work it serves is abandoned (an error, Ctrl-C, SIGTERM via ``sigterm_interrupts``).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from leakwatch.detection.records import carry
from leakwatch.models import Finding
from leakwatch.settings import Settings

PART = 1024 * 1024
"""Characters per part; a document shorter than two parts is matched in the calling process."""

_matcher = None
_PR_SET_PDEATHSIG = 1
WATCHDOG_INTERVAL = 0.2


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread where the work stands, so that transactions roll back and
    workers are stopped as on Ctrl-C."""


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises ``Terminated`` (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def bind_to_parent(parent: int, pdeathsig: bool) -> None:
    """In a worker: die with ``parent``. ``pdeathsig`` only when the parent started the worker from
    its main thread (the kernel ties the signal to the creating thread, not to the process)."""
    if pdeathsig and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # the watchdog below works without it
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before we got here
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCHDOG_INTERVAL)
        os._exit(1)

    threading.Thread(target=watch, name="leakwatch-parent-watchdog", daemon=True).start()


def _bound(parent: int, pdeathsig: bool, initializer: Callable[..., None], initargs: tuple[Any, ...]) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked worker inherits sigterm_interrupts' handler
    bind_to_parent(parent, pdeathsig)
    initializer(*initargs)


def _executor(workers: int, initializer: Callable[..., None], initargs: tuple[Any, ...],
              mp_context: Any = None) -> ProcessPoolExecutor:
    """A ProcessPoolExecutor whose workers die with this process."""
    main = threading.current_thread() is threading.main_thread()
    return ProcessPoolExecutor(workers, mp_context=mp_context, initializer=_bound,
                               initargs=(os.getpid(), main, initializer, initargs))


def kill(executor: ProcessPoolExecutor) -> None:
    """Stop at once: queued work cancelled, workers killed (they may hold plaintext).

    A worker killed while it sent a result leaves half a message in the result pipe, and one killed
    before it read its work leaves the work pipe full: the pool's threads then wait on them for
    ever, and so does the interpreter's exit, which joins them (an import stopped by SIGTERM hung
    after its rollback). With the workers gone, this process's own copies of those pipes' other
    ends are closed: the read sees the pipe's end, the write fails, and both threads finish."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        proc.kill()
    for proc in processes:
        proc.join(5)
    for queue, end in (("_result_queue", "_writer"), ("_call_queue", "_reader")):
        with contextlib.suppress(AttributeError, OSError):
            getattr(getattr(executor, queue), end).close()


@contextmanager
def process_pool(workers: int, initializer: Callable[..., None], initargs: tuple[Any, ...],
                 mp_context: Any = None) -> Iterator[ProcessPoolExecutor]:
    """``with ProcessPoolExecutor(...)``, except that workers die with this process and are killed
    at once when the block is left by an exception (the work is abandoned: no need to finish it)."""
    executor = _executor(workers, initializer, initargs, mp_context)
    try:
        yield executor
    except BaseException:
        kill(executor)
        raise
    executor.shutdown(wait=True)


def _init(settings: Settings) -> None:
    """In each worker: the keyring, the database and the index, loaded and checked as the parent
    loaded them (each dataset under its key version)."""
    global _matcher
    from leakwatch import keys
    from leakwatch.datasets import keycheck
    from leakwatch.detection.build import text_matcher
    from leakwatch.detection.fingerprints import load_index
    from leakwatch.storage import store

    keyring = keys.load_keyring(*keys.key_source(settings.home, settings.key_file))
    engine = store.make_engine(settings.db_url, settings.database_busy_timeout)
    keycheck.verify(engine, keyring)
    _matcher = text_matcher(settings, load_index(engine, keyring, settings.home / "index"))


def _scan(text: str, target: str) -> tuple[list[Finding], dict[str, int]]:
    assert _matcher is not None
    return _matcher.scan_document(text, target)


def split(text: str, size: int = PART) -> list[str]:
    """Parts of about ``size`` characters, each ending at a line end (or the text's end), at a
    blank line or the end of a pretty-printed record when there is one in the next quarter part
    (``records.carry.cut_point``). A part that continues a table or a SQL statement starts with its
    head."""
    parts = []
    start = 0
    before = carry.Carry()
    while start < len(text):
        cut = carry.cut_point(text, start + size, start + size + size // 4)
        end = len(text) if cut == -1 else cut
        part = text[start:end]
        parts.append(before.prefix(part) + part)
        before.after(part)
        start = end
    return parts


Matched = tuple[list[Finding], dict[str, int]]
"""A part's findings, and the records its structured parts held, by format."""


class Part:
    """One part of a document, sent to the workers; the calling process may take it back while no
    worker has started it (``steal``) and match it itself, instead of waiting idle while the
    workers start (spawn, imports, the index mapped: seconds at 1.4M records)."""

    __slots__ = ("future", "local", "target", "text")

    def __init__(self, future: Future[Matched], text: str, target: str) -> None:
        self.future = future
        self.text = text
        self.target = target
        self.local: Matched | None = None

    def steal(self, scan: Callable[[str, str], Matched]) -> bool:
        """Match the part here if no worker has started it; False when one has."""
        if self.local is not None or not self.future.cancel():
            return False
        self.local = scan(self.text, self.target)
        return True

    def waiting(self) -> bool:
        return self.local is None and not self.future.done()

    def result(self) -> Matched:
        return self.local if self.local is not None else self.future.result()


class Pool:
    """Worker processes for one set of services (one settings, one index)."""

    def __init__(self, settings: Settings, workers: int) -> None:
        self.workers = workers
        self.warm = False
        """A worker has matched a part: the workers are up, and the calling process, which would
        only contend with them for the cores, no longer takes parts back."""
        self._executor = _executor(workers, _init, (settings,), multiprocessing.get_context("spawn"))

    def submit(self, text: str, target: str) -> list[Part]:
        parts = [Part(self._executor.submit(_scan, part, target), part, target) for part in split(text)]
        for part in parts:
            part.future.add_done_callback(self._done)
        return parts

    def _done(self, future: Future[Matched]) -> None:
        if not future.cancelled():
            self.warm = True

    def close(self, wait: bool = True) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=True)

    def retire(self) -> None:
        """Take no new work; the workers exit once the parts already submitted are matched."""
        self._executor.shutdown(wait=False, cancel_futures=False)


def workers_for(settings: Settings) -> int:
    return settings.scan_workers or os.cpu_count() or 1
