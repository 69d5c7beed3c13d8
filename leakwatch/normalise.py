"""Pure normalisers: one canonical form per value and kind, so that every formatting of one
identifier gives one fingerprint. Each raises ``InvalidValue`` for a value that is not of its kind.

Messages of ``InvalidValue`` name the kind and the reason, never the value.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterator
from functools import lru_cache

import phonenumbers
from phonenumbers import phonenumberutil as _util
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.exceptions import ValidationError
from stdnum.fr import nir as stdnum_nir


class InvalidValue(ValueError):
    """A value that does not normalise for its kind (message never holds the value)."""


IDENTIFIER_KINDS = ("nir", "email", "phone", "iban", "card", "text_id")
QUASI_KINDS = ("last_name", "first_name", "date", "postcode", "city")
ALL_KINDS = IDENTIFIER_KINDS + QUASI_KINDS

_SEPARATORS = re.compile(r"[\s.\-/_]+")


def nir(value: str) -> str:
    """French NIR: 15 characters (13 + 2-digit key), Corsica kept as 2A/2B, key checked."""
    compact = _SEPARATORS.sub("", value).upper()
    if len(compact) != 15:
        raise InvalidValue("nir: expected 13 characters and a 2-digit key")
    try:
        return str(stdnum_nir.validate(compact))
    except ValidationError as exc:
        raise InvalidValue(f"nir: {exc.message.rstrip('.').lower()}") from None


_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}$")


def email(value: str) -> str:
    """Lower case, IDNA-encoded domain."""
    value = value.strip().strip("<>").strip()
    if value.lower().startswith("mailto:"):
        value = value[7:]
    if not _EMAIL.match(value):
        raise InvalidValue("email: not an address")
    local, _, domain = value.rpartition("@")
    domain = domain.rstrip(".").lower()
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidValue("email: invalid domain") from None
    if "." not in domain:
        raise InvalidValue("email: domain has no dot")
    return f"{local.lower()}@{domain}"


_PHONE_SHAPE = re.compile(r"^\s*\+?[\d\s().\-/]{6,30}$")


@lru_cache(maxsize=65536)
def phone(value: str, region: str = "FR") -> str:
    """E.164 (``+33612345678``), parsed with a default region and checked against the numbering plan.

    A number written plainly (digits and separators; see ``_plain_number``) skips phonenumbers'
    parser, three quarters of the cost of importing a phone: its E.164 form is plain, and
    phonenumbers still says whether it is valid. Anything else is parsed in full.
    """
    plain = _plain_number(value, region)
    if plain is not None:
        cc, national = plain
        if not _is_valid(phonenumbers.PhoneNumber(country_code=int(cc), national_number=int(national))):
            raise InvalidValue("phone: not a valid number")
        return f"+{cc}{national}"
    return phone_parsed(value, region)


def _plain_number(value: str, region: str) -> tuple[str, str] | None:
    """(country code, national number) of a number written plainly: ``+CC`` or ``00CC`` then a
    non-zero digit, or a national number of the default region with its trunk 0. Else None."""
    if not _PHONE_SHAPE.match(value) or "(" in value:
        return None
    digits = "".join(ch for ch in value if ch.isdigit())
    stripped = value.lstrip()
    if stripped.startswith(("+", "00")):
        if stripped.startswith("00"):
            digits = digits[2:]
        for cc in _TRUNK_ZERO.values():
            if digits.startswith(cc) and digits[len(cc) : len(cc) + 1] not in ("", "0"):
                return cc, digits[len(cc):]
        return None
    cc = _TRUNK_ZERO.get(region)
    expected = _NATIONAL_LEN.get(region)
    if cc and expected and len(digits) == expected and digits[0] == "0" and digits[1] != "0":
        return cc, digits[1:]
    return None


def _is_valid(number: phonenumbers.PhoneNumber) -> bool:
    """``phonenumbers.is_valid_number``, trying the fixed-line and mobile patterns first.

    phonenumbers finds a number valid when it matches its region's general pattern and the pattern
    of some number type, which it tries in order: premium rate, toll free, ... and fixed line and
    mobile last. Most numbers are fixed line or mobile, so when the calling code has one region and
    either pattern matches, the answer is the same yes without the eight other patterns; any other
    number gets phonenumbers' own answer.
    """
    regions = _util.COUNTRY_CODE_TO_REGION_CODE.get(number.country_code)
    if regions is not None and len(regions) == 1:
        meta = phonenumbers.PhoneMetadata.metadata_for_region(regions[0])
        if meta is not None and number.country_code == meta.country_code:
            nsn = phonenumbers.national_significant_number(number)
            if _util._is_number_matching_desc(nsn, meta.general_desc) and (
                    _util._is_number_matching_desc(nsn, meta.fixed_line)
                    or _util._is_number_matching_desc(nsn, meta.mobile)):
                return True
    return bool(phonenumbers.is_valid_number(number))


def phone_parsed(value: str, region: str = "FR") -> str:
    """The same as ``phone``, always through phonenumbers' parser."""
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise InvalidValue("phone: not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidValue("phone: not a valid number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# Regions where a national number is written with a trunk "0" that E.164 drops.
_TRUNK_ZERO = {"FR": "33", "BE": "32", "CH": "41", "DE": "49", "GB": "44", "NL": "31", "AT": "43"}
_NATIONAL_LEN = {"FR": 10, "BE": 9, "CH": 10, "NL": 10}


_NOT_DIGIT = re.compile(r"\D")


def phone_candidate(raw: str, region: str = "FR") -> str | None:
    """Cheap E.164 form of a phone-like string found in scanned text, without validation.

    Scanning only looks the result up among fingerprints of numbers that ``phone`` validated at
    import, so validating each candidate again would only cost time. For the numbers ``phone``
    accepts, this gives the same string (checked by a property test); anything else simply misses.
    """
    stripped = raw.lstrip()
    international = stripped.startswith(("+", "00"))
    body = raw.replace("(0)", "", 1) if international else raw
    digits = _NOT_DIGIT.sub("", body)
    if international:
        if stripped.startswith("00"):
            digits = digits[2:]
        for cc in _TRUNK_ZERO.values():
            if digits.startswith(cc + "0") and len(digits) == len(cc) + 10:
                digits = cc + digits[len(cc) + 1 :]
                break
        return "+" + digits if 8 <= len(digits) <= 15 else None
    cc = _TRUNK_ZERO.get(region)
    expected = _NATIONAL_LEN.get(region)
    if cc and digits.startswith("0") and (expected is None or len(digits) == expected):
        return "+" + cc + digits[1:]
    if expected is not None:
        return None  # not a national number of the default region: nothing of ours to look up
    try:
        return phone_parsed(raw, region)
    except InvalidValue:
        return None


def iban(value: str) -> str:
    try:
        return str(stdnum_iban.validate(value))
    except ValidationError:
        raise InvalidValue("iban: checksum or format invalid") from None


def card(value: str) -> str:
    compact = re.sub(r"[\s\-]", "", value)
    if not compact.isdigit() or not 13 <= len(compact) <= 19:
        raise InvalidValue("card: expected 13 to 19 digits")
    try:
        luhn.validate(compact)
    except ValidationError:
        raise InvalidValue("card: Luhn check failed") from None
    return compact


def text_id(value: str) -> str:
    """An opaque identifier (patient number...): trimmed and upper-cased, matched as a whole token."""
    compact = value.strip().upper()
    if not 3 <= len(compact) <= 64 or any(ch.isspace() for ch in compact):
        raise InvalidValue("text_id: expected 3 to 64 characters without spaces")
    return compact


_PLAIN_NAME = re.compile(r"[A-Za-z]+(?:[\-'][A-Za-z]+)*")
"""A name in ASCII letters, hyphens and apostrophes: normalised without Unicode tables (the same result)."""


def name(value: str) -> str:
    """NFKD, accents stripped, lower case, hyphens and apostrophes to spaces, spaces collapsed."""
    if _PLAIN_NAME.fullmatch(value):
        return value.lower().replace("-", " ").replace("'", " ")
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    lowered = stripped.casefold().replace("ß", "ss")
    cleaned = re.sub(r"[\-'’`´.,_]+", " ", lowered)
    cleaned = re.sub(r"[^\w ]+", "", cleaned)
    result = " ".join(cleaned.split())
    if not result or any(ch.isdigit() for ch in result):
        raise InvalidValue("name: empty or contains digits")
    return result


def postcode(value: str) -> str:
    compact = re.sub(r"\s+", "", value).upper()
    if not 3 <= len(compact) <= 10 or not compact.isalnum():
        raise InvalidValue("postcode: expected 3 to 10 letters or digits")
    return compact


def city(value: str) -> str:
    try:
        return name(re.sub(r"\b(cedex|st|ste)\b", lambda m: {"st": "saint", "ste": "sainte"}.get(
            m.group(1).lower(), ""), value, flags=re.IGNORECASE))
    except InvalidValue:
        raise InvalidValue("city: empty or contains digits") from None


# ---- dates -------------------------------------------------------------------------------

MONTHS = {
    "janvier": 1, "janv": 1, "jan": 1, "january": 1,
    "fevrier": 2, "février": 2, "fevr": 2, "févr": 2, "fev": 2, "fév": 2, "february": 2, "feb": 2,
    "mars": 3, "march": 3, "mar": 3,
    "avril": 4, "avr": 4, "april": 4, "apr": 4,
    "mai": 5, "may": 5,
    "juin": 6, "june": 6, "jun": 6,
    "juillet": 7, "juil": 7, "july": 7, "jul": 7,
    "aout": 8, "août": 8, "august": 8, "aug": 8,
    "septembre": 9, "sept": 9, "sep": 9, "september": 9,
    "octobre": 10, "oct": 10, "october": 10,
    "novembre": 11, "nov": 11, "november": 11,
    "decembre": 12, "décembre": 12, "dec": 12, "déc": 12, "december": 12,
}

EARLIEST_BIRTH_YEAR = 1900


def plausible_dates(year: int, month: int, day: int, two_digit: bool, today: dt.date | None = None
                    ) -> list[str]:
    """ISO forms of a written date; a two-digit year gives both centuries, kept when plausible."""
    today = today or dt.date.today()
    years = [1900 + year, 2000 + year] if two_digit else [year]
    out = []
    for y in years:
        try:
            d = dt.date(y, month, day)
        except ValueError:
            continue
        if dt.date(EARLIEST_BIRTH_YEAR, 1, 1) <= d <= today:
            out.append(d.isoformat())
    return out


_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{2}|\d{4})$")
_TEXT = re.compile(r"^(\d{1,2})(?:er)?\s+([^\W\d_]+)\.?\s+(\d{2}|\d{4})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def date(value: str) -> str:
    """ISO ``YYYY-MM-DD`` from ISO or French spellings; a schema column must give one date."""
    forms = date_forms(value.strip())
    if len(forms) != 1:
        raise InvalidValue("date: not a single plausible date" if forms else "date: not a date")
    return forms[0]


def date_forms(text: str) -> list[str]:
    """Every plausible ISO date a written date may mean (two for an ambiguous two-digit year)."""
    text = text.strip()
    if m := _ISO.match(text):
        return plausible_dates(int(m[1]), int(m[2]), int(m[3]), False)
    if m := _DMY.match(text):
        return plausible_dates(int(m[3]), int(m[2]), int(m[1]), len(m[3]) == 2)
    if m := _TEXT.match(text):
        month = MONTHS.get(m[2].lower())
        if month:
            return plausible_dates(int(m[3]), month, int(m[1]), len(m[3]) == 2)
        return []
    if m := _COMPACT.match(text):
        return plausible_dates(int(m[1]), int(m[2]), int(m[3]), False)
    return []


NORMALISERS: dict[str, Callable[[str], str]] = {
    "nir": nir,
    "email": email,
    "phone": phone,
    "iban": iban,
    "card": card,
    "text_id": text_id,
    "last_name": name,
    "first_name": name,
    "date": date,
    "postcode": postcode,
    "city": city,
}


def normalise(kind: str, value: str, region: str = "FR") -> str:
    if kind == "phone":
        return phone(value, region)
    return NORMALISERS[kind](value)


def qgrams(normal_name: str, q: int = 2) -> Iterator[str]:
    """Bigrams of the space-padded normal name (``" dupont "`` -> `` d``, ``du``, ...)."""
    padded = f" {normal_name} "
    for i in range(len(padded) - q + 1):
        yield padded[i : i + q]
