"""Detectors: find candidate values of one kind in text, normalised, with their spans.

Contract: ``kind`` names the schema kind; ``candidates(text)`` yields ``(normal value, start, end)``
for every whole-token occurrence that passes the kind's validator. Detectors never raise on text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from leakwatch.detection.detectors.dates import DateDetector
from leakwatch.detection.detectors.identifiers import (
    CardDetector,
    EmailDetector,
    IbanDetector,
    NirDetector,
    PhoneDetector,
    TextIdDetector,
)


class Detector(Protocol):
    kind: str

    def candidates(self, text: str) -> Iterator[tuple[str, int, int]]: ...


def build_detectors(region: str = "FR") -> dict[str, Detector]:
    """The built-in detectors, by kind."""
    detectors: list[Detector] = [
        NirDetector(),
        EmailDetector(),
        PhoneDetector(region),
        IbanDetector(),
        CardDetector(),
        TextIdDetector(),
        DateDetector(),
    ]
    return {d.kind: d for d in detectors}


__all__ = ["Detector", "NirDetector", "build_detectors"]
