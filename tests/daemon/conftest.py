"""Fixtures for the daemon's tests: real local channels and services over an imported home."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from leakwatch.app import Services, build

sys.path.insert(0, str(Path(__file__).parent))

from lw_channels import Receiver, SmtpSink

SCHEMA = Path(__file__).resolve().parents[2] / "fingerprints" / "patients.example.toml"


@pytest.fixture
def imported(cli: Any, imported_once: Path) -> Any:
    """As the suite's ``imported`` (a home with the crowd imported, each person once), copied from one made once."""
    shutil.copytree(imported_once, cli.home)
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
