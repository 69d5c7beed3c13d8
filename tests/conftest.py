"""Shared fixtures: a fresh LEAKWATCH_HOME per test, the CLI run as a user runs it, synthetic people."""

from __future__ import annotations

import os
import subprocess
import sys
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
    csv_path.write_text(to_csv(crowd), encoding="utf-8")
    cli("fingerprints", "import", str(csv_path), "--schema", str(SCHEMA), check=0)
    csv_path.unlink()
    yield cli
