"""A multi-process import killed mid-way (kill -9, kill -TERM): no worker outlives it (they hold
plaintext rows), and the dataset is either the old one or the new one, never half of it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import LEAKWATCH, SCHEMA, Cli
from synth import Person, to_csv


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> set[int]:
    tree = _children()
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _big_csv(path: Path, crowd: list[Person], rows: int) -> None:
    """``to_csv`` of the crowd repeated to ``rows`` rows, each with a ref of its own (IPP00000000...):
    the cells written once per person, then copied (400 000 Person objects took seconds to make)."""
    header, *lines = to_csv(crowd).splitlines(keepends=True)
    tails = [line.split(",", 1)[1] for line in lines]  # the ref comes first and holds no comma
    with path.open("w", encoding="utf-8") as out:
        out.write(header)
        out.writelines(f"IPP{i:08d},{tails[i % len(tails)]}" for i in range(rows))


def _records(cli: Cli) -> int:
    listing = cli("fingerprints", "list", "--json", check=0)
    [row] = [json.loads(line) for line in listing.stdout.splitlines() if line.strip()]
    return row["records"]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_import_leaves_no_worker_and_the_old_dataset(cli: Cli, crowd: list[Person], tmp_path: Path,
                                                              sig: signal.Signals) -> None:
    cli("init", check=0)
    small = tmp_path / "v1.csv"
    small.write_text(to_csv(crowd), encoding="utf-8")
    cli("fingerprints", "import", str(small), "--schema", str(SCHEMA), check=0)
    big = tmp_path / "v2.csv"
    _big_csv(big, crowd, 400_000)

    proc = subprocess.Popen([*LEAKWATCH, "fingerprints", "import", str(big), "--schema", str(SCHEMA),
                             "--workers", "2"], env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while time.monotonic() < deadline and proc.poll() is None:
            workers = descendants(proc.pid)
            if len(workers) >= 2:
                break
            time.sleep(0.05)
        assert proc.poll() is None and len(workers) >= 2, "the import ended before it could be killed"
        time.sleep(1.0)  # mid-way: batches in flight, rows written in the open transaction
        assert proc.poll() is None, "the import ended before it could be killed"
        workers = descendants(proc.pid)
        os.kill(proc.pid, sig)
        try:
            _, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:  # say where it stands (leakwatch dumps its stacks on SIGUSR1)
            os.kill(proc.pid, signal.SIGUSR1)
            time.sleep(2)
            proc.kill()
            _, stderr = proc.communicate()
            raise AssertionError(f"still running 30 s after signal {sig}:\n{stderr.decode()[-6000:]}") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not [pid for pid in workers if alive(pid)], "workers outlived the import"
    if sig == signal.SIGTERM:
        assert proc.returncode == 143
        assert "terminated" in stderr.decode() and "Traceback" not in stderr.decode()
    else:
        assert proc.returncode == -signal.SIGKILL
    assert _records(cli) == len(crowd)  # the old dataset, whole
