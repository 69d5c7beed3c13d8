"""Shared by the records tests: people whose names test the known-names rule, the scan helper's type."""

from __future__ import annotations

from collections.abc import Callable

from synth import Person

JULIE = Person("IPPJULIE", "271049935112337", "julie.vallet@example.org", "0612345678", "Vallet", "Julie",
               "1971-04-02", "75012")
JULIEN = Person("IPPJULIEN", "180017512345660", "julien.marchand@example.org", "0698765432", "Marchand",
                "Julien", "1980-01-01", "69003")
NEAR_NAMES = [JULIE, JULIEN]
"""Julie Vallet, and a Julien elsewhere in the dataset: "Julien" is a name the dataset knows."""

Scan = Callable[[str], dict[str, tuple[str, ...]]]
