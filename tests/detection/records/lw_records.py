"""Shared by the records tests: people whose names test the known-names rule, the scan helper's type."""

from __future__ import annotations

from collections.abc import Callable

from synth import Person

JULIE = Person("IPPJULIE", "271049935112337", "julie.vallet@example.org", "0612345678", "Vallet", "Julie",
               "1971-04-02", "75012")
JULIEN = Person("IPPJULIEN", "180017512345660", "julien.marchand@example.org", "0698765432", "Marchand",
                "Julien", "1980-01-01", "69003")
FONTAINE = Person("IPPFONTAINE", "258062912345682", "heloise.fontaine@example.org", "0611223344", "de la Fontaine",
                  "Héloïse", "1958-06-21", "29200")
NEAR_NAMES = [JULIE, JULIEN, FONTAINE]
"""Julie Vallet, and a Julien elsewhere in the dataset: "Julien" is a name the dataset knows; a
last name of three words."""

Scan = Callable[[str], dict[str, tuple[str, ...]]]
