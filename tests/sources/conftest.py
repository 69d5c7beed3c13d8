"""Fixtures for the sources' tests: a real local HTTP server, a fresh home, a home with the crowd
imported, services in this process with tiny backoff delays (helpers in ``lw_sources``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from leakwatch import keys
from leakwatch.app import Services
from leakwatch.settings import load_settings

sys.path.insert(0, str(Path(__file__).parent))

from lw_httpserver import Server
from lw_sources import FAST
from synth import Person, to_csv

SCHEMA = Path(__file__).resolve().parents[2] / "fingerprints" / "patients.example.toml"


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    s.start()
    yield s
    s.stop()


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAKWATCH_", "CREDENTIALS_DIRECTORY",
                                                                     "STATE_DIRECTORY", "NOTIFY_SOCKET"))}
    env.update(LEAKWATCH_HOME=str(home), COLUMNS="200", NO_COLOR="1")
    return env


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("LEAKWATCH_"):
            monkeypatch.delenv(name)
    path = tmp_path / "home"
    monkeypatch.setenv("LEAKWATCH_HOME", str(path))
    return path


@pytest.fixture(scope="session")
def imported_once(tmp_path_factory: pytest.TempPathFactory, crowd: list[Person]) -> Path:
    """A home with the crowd imported by the real CLI, made once per session."""
    base = tmp_path_factory.mktemp("imported")
    env = clean_env(base / "home")
    csv_path = base / "patients.csv"
    csv_path.write_text(to_csv(crowd), encoding="utf-8")
    for args in (["init"], ["fingerprints", "import", str(csv_path), "--schema", str(SCHEMA)]):
        proc = subprocess.run([sys.executable, "-m", "leakwatch", *args], env=env, capture_output=True, timeout=300)
        assert proc.returncode == 0, proc.stderr.decode()
    csv_path.unlink()
    return base / "home"


@pytest.fixture
def records(imported_once: Path, home: Path) -> Path:
    """``home`` holding a key and the crowd's fingerprints (a copy of one import)."""
    shutil.copytree(imported_once, home)
    return home


@pytest.fixture
def make_services(home: Path) -> Callable[..., Services]:
    """Services over ``home`` (a key made if none), fast retry settings unless overridden."""

    def make(**overrides: Any) -> Services:
        svc = Services(load_settings(**{"home": home, **FAST, **overrides}))
        keys.create_key(svc.key_path)
        return svc

    return make
