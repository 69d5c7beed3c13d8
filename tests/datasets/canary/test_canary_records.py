"""Canary generation in-process: every kind a schema may hold gives values the normalisers accept."""

from __future__ import annotations

import datetime as dt

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.fr import nir as stdnum_nir

from leakwatch.datasets import canary
from leakwatch.datasets.schema import Schema
from leakwatch.detection import normalise
from leakwatch.detection.normalise import ALL_KINDS

EVERY_KIND = Schema(name="all", ref="ref", fields={kind: kind for kind in ALL_KINDS})


def test_name_lists_are_bundled() -> None:
    for which, least in (("last", 150), ("female", 80), ("male", 80)):
        names = canary.names(which)
        assert len(names) >= least and len(set(names)) == len(names)
        assert all(normalise.name(n) for n in names)


def test_every_kind_is_generated_valid() -> None:
    for _ in range(300):
        row = canary.record(EVERY_KIND, "canary.example.net")
        for kind in ALL_KINDS:
            normalise.normalise(kind, row[kind])  # raises on an invalid value
        birth = dt.date.fromisoformat(row["date"])
        assert stdnum_nir.is_valid(row["nir"]) and row["nir"][1:5] == birth.strftime("%y%m")
        assert row["nir"][0] in "12"
        assert phonenumbers.number_type(phonenumbers.parse(row["phone"], "FR")) == phonenumbers.PhoneNumberType.MOBILE
        assert stdnum_iban.is_valid(row["iban"]) and row["iban"].startswith("FR")
        assert luhn.is_valid(row["card"])
        assert row["email"].endswith("@canary.example.net")


def test_records_differ() -> None:
    rows = [canary.record(EVERY_KIND, "canary.example.net") for _ in range(50)]
    for kind in ("nir", "phone", "iban", "card", "ref"):
        assert len({r[kind] for r in rows}) == 50, kind
