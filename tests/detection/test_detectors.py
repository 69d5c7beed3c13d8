"""Detector case tables (positives and near misses) and properties: never raise, spans in the text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leakwatch.detection.detectors import build_detectors

DETECTORS = build_detectors("FR")
NIR = "269022A34173214"  # synthetic, valid key, Corsica


def values(kind: str, text: str) -> list[str]:
    return [v for v, _, _ in DETECTORS[kind].candidates(text)]


@pytest.mark.parametrize(("text", "expected"), [
    ("secu: 2 69 02 2A 341 732 14.", [NIR]),
    ("secu=269022A34173214;", [NIR]),
    ("n° 2.69.02.2a.341.732.14 fin", [NIR]),
    ("12 2 69 02 2A 341 732 14", [NIR]),          # a stray number before a grouped NIR
    ("x269022A34173214", []),                        # inside a longer token
    ("2690222A34173214", []),                        # inside a longer digit run
    ("2 69 02 2A 341 732 15", []),                   # wrong key
])
def test_nir_cases(text: str, expected: list[str]) -> None:
    assert values("nir", text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("tel 06 12 34 56 78.", ["+33612345678"]),
    ("tel:0612345678,", ["+33612345678"]),
    ("+33 (0)6 12 34 56 78", ["+33612345678"]),
    ("0033 6 12 34 56 78", ["+33612345678"]),
    ("+33612345678", ["+33612345678"]),
    ("Tél. (+33) 6 12 34 56 78", ["+33612345678"]),   # the country code in brackets, as forms print it
    ("(+262) 692 12 34 56", ["+262692123456"]),
    ("(+33 6 12 34 56 78", ["+33612345678"]),        # an unclosed bracket: the number after it
    ("ref 330612345678901", []),                     # inside a longer digit run
    ("id=40612345678", []),
    ("0612345678123", []),
])
def test_phone_cases(text: str, expected: list[str]) -> None:
    assert values("phone", text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("mail: Jean.Dupont@Example.FR.", ["jean.dupont@example.fr"]),
    ("<jean.dupont@example.fr>", ["jean.dupont@example.fr"]),
    ("'jean.dupont@example.fr'", ["jean.dupont@example.fr"]),
    ("xjean.dupont@example.fr", ["xjean.dupont@example.fr"]),   # never the tail of a longer address
    ("jean.dupont@example.fr.evil.example", ["jean.dupont@example.fr.evil.example"]),
    ("user@localhost", []),
    # written to slip past scrapers, as pastes do
    ("jean.dupont [at] example [dot] fr", ["jean.dupont@example.fr"]),
    ("jean.dupont(at)example.fr", ["jean.dupont@example.fr"]),
    ("jean.dupont {@} example{.}fr", ["jean.dupont@example.fr"]),
    ("écrire à jean.dupont @ example.fr", ["jean.dupont@example.fr"]),
    ("meet me at home dot com", []),
    ("@ example.fr and [at] nothing", []),
])
def test_email_cases(text: str, expected: list[str]) -> None:
    assert values("email", text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("né le 1965-03-12", ["1965-03-12"]),
    ("né le 12/03/1965.", ["1965-03-12"]),
    ("ddn 12.03.65", ["1965-03-12"]),
    ("le 12 mars 1965", ["1965-03-12"]),
    ("le 1er mars 1965", ["1965-03-01"]),
    ("2024-01-01 12:00:01 INFO", []),                # a timestamp is no birth date
    ("2024-01-01T00:00:01Z INFO", []),
    ("('Da Silva','Maryse','1947-01-28 00:00:00')", ["1947-01-28"]),  # a date a database stored as a datetime
    ('"$date": "1947-01-28T00:00:00.000Z"', ["1947-01-28"]),
    ("28/01/1947 00:00", ["1947-01-28"]),
    ("DATE_NAISS 28-JAN-47", ["1947-01-28"]),                # Oracle's default date format
    ("né le 28-janv-1947", ["1947-01-28"]),
    ("born January 28, 1947", ["1947-01-28"]),               # the English order, month first
    ("DOB: Jan. 28 1947", ["1947-01-28"]),
    ("born 28th January 1947", ["1947-01-28"]),
    ("DOB 01/28/1947", ["1947-01-28"]),                      # no month 28: the American order
    ("page 12 1999", []),
    ("March 14, 1966 10:15", []),
    ("version 1.2.3", []),
    ("31/02/1965", []),
])
def test_date_cases(text: str, expected: list[str]) -> None:
    assert values("date", text) == expected


def test_two_digit_years_give_both_plausible_centuries() -> None:
    assert values("date", "né le 03/04/05") == ["1905-04-03", "2005-04-03"]


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_detectors_never_raise_and_spans_lie_inside_the_text(text: str) -> None:
    for detector in DETECTORS.values():
        for value, start, end in detector.candidates(text):
            assert 0 <= start < end <= len(text)
            assert value


@given(st.from_regex(r"[0-9 .+()\-@a-zA-Z/]{0,80}", fullmatch=True))
def test_detectors_never_raise_on_identifier_like_noise(text: str) -> None:
    for detector in DETECTORS.values():
        for _, start, end in detector.candidates(text):
            assert 0 <= start < end <= len(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("NIR sans clé 2 69 02 2A 341 732.", [NIR]),     # 13 characters: the key is computed
    ("nia 765037511212326 ", ["765037511212326"]),    # a temporary number (NIA)
    ("8650375112123;", ["865037511212373"]),
])
def test_nir_without_key_and_nia(text: str, expected: list[str]) -> None:
    assert values("nir", text) == expected


@pytest.mark.parametrize("text", ["tel 0692 12 34 56.", "tel +262 692 12 34 56.", "tel 00262692123456.",
                                  "tel +33 6 92 12 34 56.", "tel 06.92.12.34.56", "tel +262 (0)692 12 34 56"])
def test_overseas_mobiles_in_every_spelling(text: str) -> None:
    assert values("phone", text) == ["+262692123456"]


def test_unallocated_numbers_are_candidates_as_written() -> None:
    assert values("phone", "tel 07 01 23 45 67") == ["+33701234567"]
