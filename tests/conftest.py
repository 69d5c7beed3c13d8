"""Shared fixtures: a fresh LEAKWATCH_HOME per test, the CLI run as a user runs it, synthetic people."""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from synth import Person, people, to_csv

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "fingerprints" / "patients.example.toml"
LEAKWATCH = [sys.executable, "-m", "leakwatch"]


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    return exc.code if isinstance(exc.code, int) else 1


def run_in_process(args: list[str], env: dict[str, str], input: bytes | None = None) -> tuple[int, str, str]:
    """``leakwatch ARGS`` through the entry point's command dispatch (``leakwatch.cli.dispatch``), in
    this process: the same parsing, one-line errors and exit codes as a subprocess, without the
    interpreter's start, nor the process's hardening (``main`` turns core dumps off for good, which
    would be this test process's for the rest of the run: ``test_core_dumps`` runs real processes).
    What a command sets process-wide is put back afterwards: the environment (replaced by
    ``env`` for the call), argv, the standard streams, the ``leakwatch`` logger's handlers; the
    services the command built are closed (scan workers, database connections). The CLI's Rich
    consoles read COLUMNS and LINES once, when made: for the call they read them from ``env``, as
    in a process started with it."""
    import leakwatch.app
    import leakwatch.cli
    from leakwatch.cli import common

    built: list[Any] = []
    real_build = leakwatch.app.build

    def build(**overrides: Any) -> Any:
        svc = real_build(**overrides)
        built.append(svc)
        return svc

    logger = logging.getLogger("leakwatch")
    saved_logger = (list(logger.handlers), logger.level, logger.propagate)
    saved_env = dict(os.environ)
    saved_argv, saved_streams = sys.argv, (sys.stdin, sys.stdout, sys.stderr)
    out, err = io.BytesIO(), io.BytesIO()
    streams = (io.TextIOWrapper(io.BytesIO(input or b""), encoding="utf-8"),
               io.TextIOWrapper(out, encoding="utf-8", write_through=True),
               io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace", write_through=True))
    os.environ.clear()
    os.environ.update(env)
    sys.argv = ["leakwatch", *args]
    sys.stdin, sys.stdout, sys.stderr = streams
    leakwatch.app.build = build
    consoles = [(c, c._width, c._height) for c in (common.out, common.err)]
    for console, _, _ in consoles:
        console._width = console._height = None  # Console.size then reads the environment
    code = 0
    try:
        leakwatch.cli.dispatch()
    except SystemExit as exc:
        code = _exit_code(exc)
    finally:
        streams[1].flush()
        streams[2].flush()
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
        leakwatch.app.build = real_build
        for console, width, height in consoles:
            console._width, console._height = width, height
        sys.argv = saved_argv
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.environ.clear()
        os.environ.update(saved_env)
        logger.handlers[:], logger.level, logger.propagate = saved_logger
        for svc in built:
            svc.close()
            if "engine" in svc.__dict__:
                svc.engine.dispose()
    return code, stdout, stderr


@dataclass
class Cli:
    """Runs ``leakwatch`` with its own home, as an analyst would: in this process through the entry
    point (``run_in_process``), or, with ``process=True``, as a real ``python -m leakwatch`` (the
    smoke tests of the command line itself, and commands that must not hang or kill this process)."""

    home: Path
    env: dict[str, str]
    process: bool = False

    def __call__(self, *args: str, input: bytes | None = None, check: int | None = None,
                 timeout: float = 120) -> subprocess.CompletedProcess[str]:
        if self.process:
            proc = subprocess.run([*LEAKWATCH, *args], env=self.env, input=input, capture_output=True,
                                  timeout=timeout)
            result = subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(),
                                                 proc.stderr.decode())
        else:
            code, stdout, stderr = run_in_process(list(args), self.env, input)
            result = subprocess.CompletedProcess(["leakwatch", *args], code, stdout, stderr)
        if check is not None:
            assert result.returncode == check, (result.returncode, result.stdout, result.stderr)
        return result


def clean_env(home: Path) -> dict[str, str]:
    """This environment less leakwatch's and systemd's variables, with ``home`` as LEAKWATCH_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAKWATCH_", "CREDENTIALS_DIRECTORY",
                                                                     "STATE_DIRECTORY", "NOTIFY_SOCKET"))}
    env.update(LEAKWATCH_HOME=str(home), COLUMNS="200", NO_COLOR="1")
    return env


@pytest.fixture(autouse=True)
def _leakwatch_logger() -> Iterator[None]:
    """``log.setup`` binds a handler to the sys.stdout of its moment (a test's captured stream): each
    test gets the ``leakwatch`` logger back as it found it."""
    logger = logging.getLogger("leakwatch")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved


@pytest.fixture
def cli(tmp_path: Path, request: pytest.FixtureRequest) -> Cli:
    """The CLI over a fresh home; ``@pytest.mark.subprocess_cli`` runs it as a real subprocess."""
    home = tmp_path / "home"
    return Cli(home, clean_env(home), process=request.node.get_closest_marker("subprocess_cli") is not None)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (pyproject's addopts): one worker more than the cores. Part of the suite waits
    rather than computes (daemon subprocesses polling on their intervals, local servers, PostgreSQL,
    the intervals a rate is measured over); the extra worker computes meanwhile. On 2 cores, quiet:
    3 workers 2:15 (16 s of CPU idle), 4 workers 2:37 (each worker collects and builds its fixtures
    again), 2 workers leave a core idle while a daemon test waits."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores + 1


@pytest.fixture(scope="session")
def crowd() -> list[Person]:
    """300 synthetic French patients (Faker fr_FR), the same in every run."""
    return people(300, seed=3)


def import_home(base: Path, csv_text: str) -> Path:
    """``base/home`` made by the CLI (init, then import of ``csv_text`` as dataset ``patients``),
    the plaintext CSV deleted afterwards, as the docs tell analysts to."""
    home = base / "home"
    cli = Cli(home, clean_env(home))
    cli("init", check=0)
    csv_path = base / "patients.csv"
    csv_path.write_text(csv_text, encoding="utf-8")
    cli("fingerprints", "import", str(csv_path), "--schema", str(SCHEMA), check=0)
    csv_path.unlink()
    return home


@pytest.fixture(scope="session")
def imported_with_repeats(tmp_path_factory: pytest.TempPathFactory, crowd: list[Person]) -> Path:
    """One home with the crowd imported (some patients seen twice), made once per session (worker)."""
    return import_home(tmp_path_factory.mktemp("imported-repeats"), to_csv(crowd, repeats=0.02, seed=3))


@pytest.fixture(scope="session")
def imported_once(tmp_path_factory: pytest.TempPathFactory, crowd: list[Person]) -> Path:
    """One home with the crowd imported once each, made once per session (worker)."""
    return import_home(tmp_path_factory.mktemp("imported"), to_csv(crowd))


@pytest.fixture
def imported(cli: Cli, imported_with_repeats: Path) -> Iterator[Cli]:
    """A home with the key made and the crowd imported as dataset ``patients``: a copy of one import
    (tests that change the home change their copy only)."""
    shutil.copytree(imported_with_repeats, cli.home)
    yield cli


PG_ADMIN_URL = os.environ.get("LEAKWATCH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test (LEAKWATCH_TEST_PG_URL, else postgres on
    127.0.0.1:5432), dropped after; the test is skipped, with the reason, when no server answers."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {PG_ADMIN_URL.split('@')[-1]}: {exc.__class__.__name__}")
    name = f"leakwatch_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
