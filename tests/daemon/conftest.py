"""Fixtures for the daemon's tests: real local channels and services over an imported home."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from leakwatch.app import Services, build

sys.path.insert(0, str(Path(__file__).parent))

from lw_channels import Receiver, SmtpSink


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
