"""Free text keeps the proximity rules: a person's names written in any usual order near the birth
date, nothing across records, nothing from a stranger who shares a name and the date."""

from __future__ import annotations

import pytest
from lw_records import FONTAINE, JULIE, PHILIPPINE, Scan
from synth import Person, fr_date, long_date, strip_accents, typo

NAMES_DATE = {"date", "first_name", "last_name"}

WRITINGS = {
    "NOM Prénom": lambda p: f"{strip_accents(p.last_name).upper()} {p.first_name} {fr_date(p.birth)}",
    "Prénom NOM": lambda p: f"{p.first_name} {p.last_name.upper()}, né(e) le {long_date(p.birth)}",
    "NOM, Prénom": lambda p: f"Patient : {p.last_name.upper()}, {p.first_name} ({p.birth_date})",
    "middle name": lambda p: f"{p.first_name} Marie {p.last_name}, né le {fr_date(p.birth)}, hospitalisé.",
    "typo, lower case": lambda p: f"{p.first_name.lower()} {typo(p.last_name).lower()} {fr_date(p.birth)}",
}


@pytest.mark.parametrize("writing", sorted(WRITINGS))
def test_names_in_any_usual_order(writing: str, scan: Scan, patients: list[Person]) -> None:
    p = patients[40 + sorted(WRITINGS).index(writing)]
    found = scan(f"Extrait du registre.\n\n{WRITINGS[writing](p)}\n")
    assert set(found) == {p.ipp}
    assert set(found[p.ipp]) >= NAMES_DATE


def test_a_three_word_last_name_after_the_first_name(scan: Scan) -> None:
    """'né le', 'de la' do not push the first name out of the date's reach."""
    found = scan("Héloïse de la Fontaine, née le 21 juin 1958, a été admise aux urgences.\n")
    assert set(found) == {FONTAINE.ipp}


def test_an_initial_corroborates_an_identifier(scan: Scan, patients: list[Person]) -> None:
    p = patients[50]
    found = scan(f"Dossier de {p.first_name[0]}. {p.last_name}, tél. {p.phone}\n")
    assert set(found[p.ipp]) >= {"phone", "first_name", "last_name"}


@pytest.mark.parametrize("text", [
    "Julien Vallet, né le 2 avril 1971, a été admis.",           # another person's known first name
    "VALLET Julie\nnée le 02/04/1971",                            # the date on another line
    "Vallet Juliette 02/04/1971",                                 # a longer first name: another person
    "NIR 1 80 01 06 123 456 78 (clé fausse), 02/04/1971",         # a NIR's digits are no phone, key or not
])
def test_no_new_false_records(text: str, scan: Scan) -> None:
    assert JULIE.ipp not in scan(text + "\n")


def test_a_known_other_name_and_an_initial_are_no_typo(scan: Scan) -> None:
    """'Philippe D.' reads close to 'Philippine'; Philippe is another person's name, and a stray
    letter after it does not make it a spelling of the record's."""
    assert PHILIPPINE.ipp not in scan("Philippe D. Lemaitre, né le 07/09/1964, a appelé.\n")
    assert PHILIPPINE.ipp in scan("Philipine Lemaitre, née le 07/09/1964, a appelé.\n")
