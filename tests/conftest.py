"""Shared fixtures: a fresh LEAKWATCH_HOME per test, the CLI run as a user runs it, synthetic people."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from synth import Person, people, to_csv

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "fingerprints" / "patients.example.toml"
LEAKWATCH = [sys.executable, "-m", "leakwatch"]


@dataclass
class Cli:
    """Runs ``leakwatch`` in a subprocess with its own home, as an analyst would."""

    home: Path
    env: dict[str, str]

    def __call__(self, *args: str, input: bytes | None = None, check: int | None = None,
                 timeout: float = 120) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([*LEAKWATCH, *args], env=self.env, input=input, capture_output=True,
                              timeout=timeout)
        result = subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(),
                                             proc.stderr.decode())
        if check is not None:
            assert result.returncode == check, (result.returncode, result.stdout, result.stderr)
        return result


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAKWATCH_", "CREDENTIALS_DIRECTORY",
                                                                     "STATE_DIRECTORY", "NOTIFY_SOCKET"))}
    env.update(LEAKWATCH_HOME=str(home), COLUMNS="200", NO_COLOR="1")
    return Cli(home, env)


@pytest.fixture(scope="session")
def crowd() -> list[Person]:
    """300 synthetic French patients (Faker fr_FR), the same in every run."""
    return people(300, seed=3)


@pytest.fixture
def imported(cli: Cli, crowd: list[Person], tmp_path: Path) -> Iterator[Cli]:
    """A home with the key made and the crowd imported as dataset ``patients``; the plaintext CSV
    is deleted afterwards, as the docs tell analysts to."""
    cli("init", check=0)
    csv_path = tmp_path / "patients.csv"
    csv_path.write_text(to_csv(crowd, repeats=0.02, seed=3), encoding="utf-8")  # some patients seen twice
    cli("fingerprints", "import", str(csv_path), "--schema", str(SCHEMA), check=0)
    csv_path.unlink()
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
