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
COSTA = Person("IPPCOSTA", "149027512345643", "thibault.costa@example.org", "0611112222", "Costa", "Thibault",
               "1949-02-20", "75002")
ROBIN_A = Person("IPPROBINA", "250105940696343", "lucie.robin@example.org", "0622223333", "Robin", "Lucie",
                 "1950-10-28", "59000")
ROBIN_B = Person("IPPROBINB", "250109263029188", "l.robin@example.net", "0633334444", "Robin", "Lucie",
                 "1950-10-28", "92000")
BRETON = Person("IPPBRETON", "103014736091032", "ernst.breton@example.org", "0644445555", "Breton", "Ernst-Otto",
                "2003-01-06", "47000")
PHILIPPINE = Person("IPPPHILIPPINE", "264097512345649", "p.lemaitre@example.org", "0655556666", "Lemaître",
                    "Philippine", "1964-09-07", "75009")
PHILIPPE = Person("IPPPHILIPPE", "170016912345633", "philippe.roux@example.org", "0666667777", "Roux", "Philippe",
                  "1970-01-01", "69001")
MARTIN = Person("IPPMARTIN", "149127511234562", "m.martin@example.org", "0677778888", "Martin", "Martin",
                "1949-12-11", "75011")
LI = Person("IPPLI", "188057512345623", "wei.li@example.org", "0688889999", "Li", "Wei", "1988-05-17", "75013")
NEAR_NAMES = [JULIE, JULIEN, FONTAINE, COSTA, ROBIN_A, ROBIN_B, BRETON, PHILIPPINE, PHILIPPE, MARTIN, LI]
"""Julie Vallet, and a Julien elsewhere in the dataset: "Julien" is a name the dataset knows; a
last name of three words; a last name that a longer one holds ("Costa" in "Da Costa"); two
records with the same names and birth date (homonyms, or one patient under two refs); a compound
first name; Philippine, and a Philippe elsewhere; Martin Martin, whose two names are one word; Li
Wei, a last name of two letters."""

Scan = Callable[[str], dict[str, tuple[str, ...]]]
