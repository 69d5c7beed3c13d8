"""Fixtures for the daemon's tests: real local channels and services over an imported home."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from leakwatch.app import Services, build

sys.path.insert(0, str(Path(__file__).parent))

from lw_channels import Receiver, SmtpSink
from synth import Person, to_csv

SCHEMA = Path(__file__).resolve().parents[2] / "fingerprints" / "patients.example.toml"


@pytest.fixture(scope="session")
def imported_template(tmp_path_factory: pytest.TempPathFactory, crowd: list[Person]) -> Path:
    """One home with the crowd imported, made once per session by the real CLI (init, import)."""
    base = tmp_path_factory.mktemp("imported")
    home = base / "home"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LEAKWATCH_", "CREDENTIALS_DIRECTORY", "STATE_DIRECTORY", "NOTIFY_SOCKET"))}
    env["LEAKWATCH_HOME"] = str(home)
    csv_path = base / "patients.csv"
    csv_path.write_text(to_csv(crowd), encoding="utf-8")
    for args in (["init"], ["fingerprints", "import", str(csv_path), "--schema", str(SCHEMA)]):
        subprocess.run([sys.executable, "-m", "leakwatch", *args], env=env, check=True, capture_output=True,
                       timeout=120)
    csv_path.unlink()
    return home


@pytest.fixture
def imported(cli: Any, imported_template: Path) -> Any:
    """As the suite's ``imported`` (a home with the crowd imported), copied from one made once."""
    shutil.copytree(imported_template, cli.home)
    return cli


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.start()
    yield r
    r.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.controller.start()
    yield sink
    sink.controller.stop()


@pytest.fixture
def make_services(imported: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Services]:
    """Services in this process over the ``imported`` home (key, database, the crowd's fingerprints)."""
    monkeypatch.setenv("LEAKWATCH_HOME", str(imported.home))

    def make(**overrides: Any) -> Services:
        return build(**overrides)

    return make
