"""Normaliser properties: every formatting of one value gives one normal form; invalid values never do."""

from __future__ import annotations

import datetime as dt

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from stdnum.fr import nir as stdnum_nir

from leakwatch.detection import normalise
from leakwatch.detection.normalise import InvalidValue

SEPARATORS = st.sampled_from(["", " ", ".", "-"])


@st.composite
def nirs(draw: st.DrawFn) -> str:
    sex = draw(st.sampled_from("12"))
    year = draw(st.integers(0, 99))
    month = draw(st.integers(1, 12))
    dept = draw(st.sampled_from(["75", "92", "2A", "2B", "13", "01", "95"]))
    commune = draw(st.integers(1, 990))
    order = draw(st.integers(1, 999))
    body = f"{sex}{year:02d}{month:02d}{dept}{commune:03d}{order:03d}"
    return body + stdnum_nir.calc_check_digits(body)


@given(nirs(), SEPARATORS, st.booleans())
def test_every_nir_formatting_has_one_normal_form(nir: str, sep: str, lower: bool) -> None:
    groups = [nir[0], nir[1:3], nir[3:5], nir[5:7], nir[7:10], nir[10:13], nir[13:]]
    written = sep.join(groups)
    if lower:
        written = written.lower()
    assert normalise.nir(written) == nir


@given(nirs(), st.integers(1, 96))
def test_a_nir_with_a_wrong_key_never_normalises(nir: str, delta: int) -> None:
    wrong_key = f"{(int(nir[13:]) + delta - 1) % 97 + 1:02d}"
    assume(wrong_key != nir[13:])
    with pytest.raises(InvalidValue):
        normalise.nir(nir[:13] + wrong_key)


@st.composite
def fr_mobiles(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(["061", "062", "064", "065", "066", "067", "068", "073", "075", "077", "078"]))
    rest = draw(st.text("0123456789", min_size=7, max_size=7))
    number = prefix + rest
    assume(phonenumbers.is_valid_number(phonenumbers.parse(number, "FR")))
    return number


@given(fr_mobiles(), st.sampled_from([" ", ".", "-", ""]), st.sampled_from(["national", "plus", "00", "bracket"]))
def test_every_phone_formatting_has_one_normal_form(number: str, sep: str, style: str) -> None:
    pairs = sep.join(number[i : i + 2] for i in range(2, 10, 2))
    written = {
        "national": f"{number[:2]}{sep}{pairs}",
        "plus": f"+33{sep or ' '}{number[1]}{sep}{pairs}",
        "00": f"0033{sep}{number[1]}{sep}{pairs}",
        "bracket": f"+33 (0){number[1]}{sep}{pairs}",
    }[style]
    expected = "+33" + number[1:]
    assert normalise.phone(written) == expected
    # The scanner's cheap path agrees with the validating normaliser on every valid number.
    assert normalise.phone_candidate(written) == expected


def test_phone_from_another_country_keeps_its_country() -> None:
    assert normalise.phone("+49 30 901820") == "+4930901820"
    assert normalise.phone("0691234567") == "+590691234567"  # a Guadeloupe mobile, dialled from Paris


@given(st.sampled_from(["jean.dupont", "Marie-Claire.O", "x_y+tag"]),
       st.sampled_from(["example.org", "EXAMPLE.org", "Exemple.FR", "hôpital.fr"]))
def test_every_email_casing_has_one_normal_form(local: str, domain: str) -> None:
    value = normalise.email(f"{local}@{domain}")
    assert value == normalise.email(f"{local.upper()}@{domain.upper()}")
    assert value == value.lower() and value.isascii()


@given(st.dates(dt.date(1930, 1, 1), dt.date(2020, 12, 31)))
def test_every_date_spelling_has_one_normal_form(d: dt.date) -> None:
    months = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
              "octobre", "novembre", "décembre"]
    for written in (d.isoformat(), d.strftime("%d/%m/%Y"), d.strftime("%d.%m.%Y"), d.strftime("%d-%m-%Y"),
                    f"{d.day} {months[d.month - 1]} {d.year}", f"{d.day} {months[d.month - 1].upper()} {d.year}"):
        assert normalise.date(written) == d.isoformat()
    # Two-digit years give both centuries, kept when plausible as a birth date.
    assert d.isoformat() in normalise.date_forms(d.strftime("%d.%m.%y"))
    # Exports in English and Oracle's: month first, ordinals, DD-MON-YY, the American order when
    # the day cannot be a month.
    english = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December"][d.month - 1]
    suffix = "th" if 11 <= d.day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(d.day % 10, "th")
    for written in (f"{english} {d.day}, {d.year}", f"{english[:3]}. {d.day} {d.year}",
                    f"{d.day}{suffix} {english} {d.year}", f"{d.day:02d}-{english[:3].upper()}-{d.year}"):
        assert normalise.date(written) == d.isoformat(), written
    assert d.isoformat() in normalise.date_forms(f"{d.day:02d}-{english[:3].upper()}-{d.year % 100:02d}")
    if d.day > 12:
        assert normalise.date(d.strftime("%m/%d/%Y")) == d.isoformat()


def test_impossible_dates_are_refused() -> None:
    for written in ("31/02/1980", "1980-13-01", "12 brumaire 1980", "2999-01-01"):
        with pytest.raises(InvalidValue):
            normalise.date(written)


@given(st.sampled_from(["Hélène", "Jean-François", "D'Artagnan", "Le Goff", "Müller"]))
def test_names_ignore_case_accents_and_punctuation(name: str) -> None:
    plain = "".join(c for c in name.upper().replace("É", "E").replace("Ç", "C").replace("Ü", "U"))
    assert normalise.name(name) == normalise.name(plain)
    assert normalise.name(name) == normalise.name(normalise.name(name))  # idempotent


def _either(fold, value: str) -> str:  # type: ignore[no-untyped-def]
    try:
        return str(fold(value))
    except InvalidValue:
        return "<invalid>"


_LATIN_LETTERS = [chr(c) for c in (*range(0x41, 0x5B), *range(0x61, 0x7B), *range(0xC0, 0x180)) if chr(c).isalpha()]
_ANY_LATIN = [chr(c) for c in range(0x20, 0x250)]
_LATIN_AND_MORE = st.text(st.one_of(st.sampled_from(_LATIN_LETTERS), st.sampled_from(_ANY_LATIN),
                                    st.sampled_from(list("’ʼıİK\u0301"))), max_size=12)
_LATIN_WORD = st.text(st.sampled_from(_LATIN_LETTERS), min_size=1, max_size=8)


@given(st.one_of(_LATIN_AND_MORE, st.builds(lambda a, sep, b: a + sep + b, st.one_of(_LATIN_WORD, _LATIN_AND_MORE),
                                             st.sampled_from([" ", "-", "'", "’", "  ", "--"]), _LATIN_WORD)))
def test_latin_names_fold_as_unicode_folds_them(value: str) -> None:
    """Names of Latin letters are folded a character at a time (a tenth of the cost); any value
    gets the fingerprint form Unicode's decomposition gives, whichever way it went."""
    assert _either(normalise.name, value) == _either(normalise._unicode_name, value)


def test_iban_and_card_checksums() -> None:
    assert normalise.iban("fr76 3000 6000 0112 3456 7890 189") == "FR7630006000011234567890189"
    with pytest.raises(InvalidValue):
        normalise.iban("FR76 3000 6000 0112 3456 7890 188")
    assert normalise.card("4970 1012 3456 7893") == "4970101234567893"
    with pytest.raises(InvalidValue):
        normalise.card("4970 1012 3456 7898")


def test_invalid_value_messages_never_quote_the_value() -> None:
    for kind, value in [("nir", "165037511212399"), ("phone", "0191"), ("email", "jean@@x"),
                        ("date", "31/02/1980"), ("card", "4970101234567898")]:
        with pytest.raises(InvalidValue) as info:
            normalise.normalise(kind, value)
        assert value not in str(info.value)


@given(st.text("0123456789", min_size=7, max_size=13),
       st.sampled_from(["{d}", "0{d}", "+33{d}", "+33 (0){d}", "0033 {d}", "+49 {d}", "+32{d}", "+1 {d}",
                        "0{d} ext 12", "00 33 {d}"]))
def test_the_fast_phone_path_agrees_with_phonenumbers_parser(digits: str, shape: str) -> None:
    written = shape.format(d=digits)

    def outcome(f):  # type: ignore[no-untyped-def]
        try:
            return f(written)
        except InvalidValue:
            return None

    normalise.phone.cache_clear()
    assert outcome(normalise.phone) == outcome(normalise.phone_parsed)


def test_fingerprints_are_keyed_blake2b_as_documented() -> None:
    """The stored forms are the ones fingerprints/README.md describes: a reader can check them."""
    import hashlib

    from leakwatch.detection.fingerprints import Hasher
    from leakwatch.keys import derive

    master, salt = bytes(range(32)), bytes(16)
    hasher = Hasher(master, "patients")
    nir_key = derive(master, "patients", "nir")
    assert hasher.global_fp("nir", "165037511212345") == int.from_bytes(
        hashlib.blake2b(b"165037511212345", key=nir_key, digest_size=8).digest(), "little")
    name_key = derive(master, "patients", "last_name")
    assert hasher.scoped_qgrams("last_name", salt, "le goff") == b"".join(
        hashlib.blake2b(salt + g.encode(), key=name_key, digest_size=4).digest()
        for g in [" l", "le", "e ", " g", "go", "of", "ff", "f "])
    # Another dataset, another key: the same value gives another fingerprint.
    assert Hasher(master, "staff").global_fp("nir", "165037511212345") != hasher.global_fp("nir", "165037511212345")


# ---- French numbering as it is ------------------------------------------------------------

TERRITORIES = {"RE": "262", "YT": "262", "GP": "590", "GF": "594", "MQ": "596"}


@st.composite
def overseas_mobiles(draw: st.DrawFn) -> tuple[str, str]:
    """A mobile of an overseas territory that phonenumbers calls valid there, in national format,
    and its country code (phonenumbers' example numbers seed the prefixes; no hand list)."""
    region = draw(st.sampled_from(sorted(TERRITORIES)))
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    nsn = str(example.national_number)
    rest = draw(st.text("0123456789", min_size=4, max_size=4))
    candidate = nsn[:5] + rest
    parsed = phonenumbers.PhoneNumber(country_code=example.country_code, national_number=int(candidate))
    assume(phonenumbers.is_valid_number(parsed))
    return "0" + candidate, str(example.country_code)


@given(overseas_mobiles(), st.sampled_from([" ", ".", "-", ""]),
       st.sampled_from(["national", "plus", "00", "plus33", "0033"]))
def test_overseas_mobiles_get_their_own_country_code_in_every_spelling(number: tuple[str, str], sep: str,
                                                                       style: str) -> None:
    national, cc = number
    n = national[1:]
    pairs = sep.join(n[i : i + 2] for i in range(3, 9, 2))
    written = {
        "national": f"{national[:4]}{sep}{pairs}",
        "plus": f"+{cc} {n[:3]}{sep}{pairs}",
        "00": f"00{cc}{n}",
        "plus33": f"+33 {n[0]}{sep}{n[1:3]}{sep}{pairs}",   # the common mistake
        "0033": f"0033{n}",
    }[style]
    expected = f"+{cc}{n}"
    assert normalise.phone(written) == expected
    assert normalise.phone_parsed(written) == expected
    assert normalise.phone_candidate(written) == expected


def test_the_overseas_table_comes_from_phonenumbers_metadata() -> None:
    for prefix, cc in [("0639", "262"), ("0692", "262"), ("0693", "262"), ("0690", "590"), ("0691", "590"),
                       ("0694", "594"), ("0696", "596"), ("0697", "596"), ("0262", "262"), ("0590", "590")]:
        assert normalise.phone(prefix + "001122") == f"+{cc}{prefix[1:]}001122"
    assert normalise.french_country_code("612345678") == "33"


@given(st.integers(0, 2), st.text("0123456789", min_size=6, max_size=6), st.booleans())
def test_unallocated_ranges_are_kept_in_normal_form(tens: int, rest: str, international: bool) -> None:
    national = f"070{tens}{rest}"  # 07 00 .. 07 29: well formed, not allocated
    assert not phonenumbers.is_valid_number(phonenumbers.parse(national, "FR"))
    written = f"+33 {national[1:]}" if international else national
    assert normalise.phone(written) == "+33" + national[1:]
    assert normalise.phone_candidate(written) == "+33" + national[1:]


def test_malformed_phones_are_still_refused() -> None:
    for written in ("0612345", "75012", "06 12 34 56 78 90 12", "+33 0", "12345678901234567"):
        with pytest.raises(InvalidValue):
            normalise.phone(written)


@given(st.sampled_from(["", " ", "NULL", "null", "N/A", "n/a", "-", "--", "inconnu", "Inconnue", "?", "X", "xxx",
                        "00 00 00 00 00", "0000000000", "00/00/0000", "0000-00-00", "000000000000000",
                        "non renseigné", "#N/A", '"NULL"']))
def test_placeholders_are_missing_in_every_kind(value: str) -> None:
    assert normalise.is_placeholder(value)


@given(st.sampled_from(["Dupont", "0612345678", "1965-03-12", "75012", "a@b.fr", "2A", "Xavier", "O"]))
def test_values_are_not_placeholders(value: str) -> None:
    assert not normalise.is_placeholder(value)


@pytest.mark.parametrize("value", ["Sans", "SANS", "Na", "Nan", "Nil"])
def test_a_placeholder_word_that_is_a_name_is_a_name_in_a_name_column(value: str) -> None:
    assert normalise.is_placeholder(value) and not normalise.is_placeholder(value, name=True)
    assert all(normalise.is_placeholder(v, name=True) for v in ("NULL", "inconnu", "N/A", "xxx", "-", ""))


@given(nirs(), SEPARATORS)
def test_a_nir_without_its_key_matches_the_fifteen_digit_form(nir: str, sep: str) -> None:
    body = nir[:13]
    written = sep.join([body[0], body[1:3], body[3:5], body[5:7], body[7:10], body[10:13]])
    assert normalise.nir(written) == nir


@given(nirs(), st.sampled_from("78"))
def test_temporary_numbers_nia_are_accepted(nir: str, first: str) -> None:
    body = first + nir[1:13]
    nia = body + stdnum_nir.calc_check_digits(body)
    assert normalise.nir(nia) == nia
    assert normalise.nir(body) == nia


@given(st.dates(dt.date(1930, 1, 1), dt.date(2020, 12, 31)),
       st.sampled_from([" 00:00:00", "T00:00:00", "T08:30:00Z", " 08:30", "T00:00:00.000+01:00", " 14h05"]))
def test_dates_with_a_time_or_compact_have_one_normal_form(d: dt.date, time: str) -> None:
    for written in (d.isoformat() + time, d.strftime("%d/%m/%Y") + time, d.strftime("%Y%m%d")):
        assert normalise.date(written) == d.isoformat()


@given(st.sampled_from(["de la Fontaine", "N'Diaye", "D’Almeida", "Le Goff-Martin", "Martin Dupont",
                        "Da Silva", "van der Berg", "O'Connor", "Saint-Exupéry", "de Saint-Just"]))
def test_names_with_particles_apostrophes_hyphens_and_two_parts(name: str) -> None:
    value = normalise.name(name)
    assert value and value == normalise.name(name.upper())
    assert "-" not in value and "'" not in value and "’" not in value


def test_a_name_through_a_wrong_encoding_is_repaired(crowd) -> None:  # type: ignore[no-untyped-def]
    """UTF-8 read as Windows-1252 or Latin-1 and saved again (JÃ©rÃ´me for Jérôme), as an export
    that went through one wrong conversion writes every accented name: the same normal form, for the
    import and the leak alike. Portuguese names that hold a real Ã stay as they are."""
    accented = {n for p in crowd for n in (p.last_name, p.first_name) if n and not n.isascii()}
    assert len(accented) > 20
    for written in accented:
        for codec in ("cp1252", "latin-1"):
            try:
                mojibake = written.encode("utf-8").decode(codec)
            except UnicodeDecodeError:
                continue
            assert normalise.name(mojibake) == normalise.name(written), (written, mojibake)
    assert normalise.repair_mojibake("JOÃO CONCEIÇÃO, SÃO PAULO") == "JOÃO CONCEIÇÃO, SÃO PAULO"
