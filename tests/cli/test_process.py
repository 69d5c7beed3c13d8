"""The leakwatch process itself, really started: a crash writes no core file (its memory holds the
key and, while importing, the plaintext of the organisation's records), crashed with SIGSEGV with
core dumps allowed by its parent, beside a plain Python crashed the same way that does leave one;
and SIGUSR1 says where it stands without stopping it."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import LEAKWATCH, Cli

pytestmark = pytest.mark.subprocess_cli


def _allow_cores() -> None:
    """In the child, before exec: core dumps on, as far as the hard limit allows (``ulimit -c``)."""
    hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))


def _cores(where: Path) -> list[Path]:
    return sorted(where.glob("core*"))


@pytest.fixture
def crash_dir(tmp_path: Path) -> Path:
    """A working directory where a crash of a process allowed to dump leaves its core file: skipped,
    with the reason, where this machine writes cores elsewhere (a pipe to systemd-coredump or apport)
    or not at all."""
    pattern = Path("/proc/sys/kernel/core_pattern").read_text().strip()
    if pattern.startswith("|") or "/" in pattern:
        pytest.skip(f"cores go to {pattern!r}, not to the crashed process's directory")
    if resource.getrlimit(resource.RLIMIT_CORE)[1] == 0:
        pytest.skip("this test process may not allow core dumps (hard limit 0)")
    where = tmp_path / "cwd"
    where.mkdir()
    control = subprocess.run([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"],
                             cwd=where, preexec_fn=_allow_cores, capture_output=True, timeout=60)
    assert control.returncode == -signal.SIGSEGV
    made = _cores(where)
    if not made:
        pytest.skip("a plain Python crashed here leaves no core file: nothing to compare with")
    for core in made:
        core.unlink()
    return where


def _core_limit(pid: int) -> str:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max core file size"):
            return " ".join(line.split()[4:6])
    raise AssertionError("no core line in /proc/PID/limits")


def test_a_crashed_scan_leaves_no_core_file(cli: Cli, crash_dir: Path) -> None:
    cli("init", check=0)
    proc = subprocess.Popen([*LEAKWATCH, "scan", "-"], cwd=crash_dir, env=cli.env, stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_allow_cores)
    try:
        assert proc.stdin is not None
        proc.stdin.write(b"Patient DUPONT Jean, ne le 12/03/1965, tel 06 12 34 56 78\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 60
        while _core_limit(proc.pid) != "0 0":  # the entry point has run: the limit is down
            assert proc.poll() is None and time.monotonic() < deadline, "leakwatch never turned core dumps off"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGSEGV)
        assert proc.wait(timeout=60) == -signal.SIGSEGV
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _cores(crash_dir) == []


def test_sigusr1_prints_where_each_thread_stands_and_the_scan_goes_on(cli: Cli, tmp_path: Path) -> None:
    cli("init", check=0)
    proc = subprocess.Popen([*LEAKWATCH, "scan", "-"], env=cli.env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdin is not None
        proc.stdin.write(b"Bonjour, rien a signaler.\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 60
        while _core_limit(proc.pid) != "0 0":  # past the entry point: the handler is in place
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)
        os.kill(proc.pid, signal.SIGUSR1)
        time.sleep(0.5)
        stdout, stderr = proc.communicate(timeout=60)  # stdin closed: the scan ends
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert "Current thread" in stderr.decode() and "in scan" in stderr.decode()
    assert "only watch terms are checked" in stderr.decode() and stdout == b""  # read to its end, nothing found
