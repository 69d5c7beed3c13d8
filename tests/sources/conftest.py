"""Fixtures for the sources' tests: a real local HTTP server, a fresh home, a home with the crowd
imported, services in this process with tiny backoff delays (helpers in ``lw_sources``)."""

from __future__ import annotations

import os
import shutil
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

SCHEMA = Path(__file__).resolve().parents[2] / "fingerprints" / "patients.example.toml"


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    s.start()
    yield s
    s.stop()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("LEAKWATCH_"):
            monkeypatch.delenv(name)
    path = tmp_path / "home"
    monkeypatch.setenv("LEAKWATCH_HOME", str(path))
    return path


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
