"""Process hardening: what the process holds in memory must not reach a file it never meant to write."""

from __future__ import annotations

import contextlib
import faulthandler
import resource
import signal
import sys


def no_core_dumps() -> None:
    """Turn core dumps off, soft and hard limit, for this process and every process it starts.

    A crash would otherwise write the process's memory to disk (a ``core`` file, or the store of
    systemd-coredump or apport): the key, and while importing, the plaintext of the organisation's
    records. A hard limit of 0 cannot be raised again without privileges, so nothing the process runs
    can turn them back on. Debuggers still attach; they do not need core files."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # lowering a limit needs no privilege


def stacks_on_sigusr1() -> None:
    """``kill -USR1 PID`` writes where every thread of the process stands to stderr (journald under
    systemd): for a scan or an import that seems stuck. Code locations only, never a value."""
    if hasattr(signal, "SIGUSR1") and sys.stderr is not None:
        with contextlib.suppress(ValueError, OSError, AttributeError):  # a stderr with no file descriptor
            faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)
