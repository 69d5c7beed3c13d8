"""Pure normalisers: one canonical form per value and kind, so that every formatting of one
identifier gives one fingerprint. Each raises ``InvalidValue`` for a value that is not of its kind.

Messages of ``InvalidValue`` name the kind and the reason, never the value.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import unicodedata
from collections.abc import Callable, Iterator
from functools import _lru_cache_wrapper, cache, lru_cache
from typing import TypeVar

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.exceptions import ValidationError
from stdnum.fr import nir as stdnum_nir

_Fn = TypeVar("_Fn", bound=Callable[..., object])
VALUE_CACHES: list[_lru_cache_wrapper[object]] = []
"""Every ``value_cache``d function."""


def value_cache(maxsize: int) -> Callable[[_Fn], _Fn]:
    """``lru_cache`` for a function of values read from a document or an import (phones, names,
    dates): ``forget_values`` empties every such cache, so that the process keeps none of them past
    the document or the import that brought it."""

    def wrap(fn: _Fn) -> _Fn:
        cached = lru_cache(maxsize=maxsize)(fn)
        VALUE_CACHES.append(cached)
        return cached  # type: ignore[return-value]

    return wrap


def forget_values() -> None:
    """Empty every ``value_cache``: called when a document's scan or an import ends."""
    for cached in VALUE_CACHES:
        cached.cache_clear()


class InvalidValue(ValueError):
    """A value that does not normalise for its kind (message never holds the value)."""


IDENTIFIER_KINDS = ("nir", "email", "phone", "iban", "card", "text_id")
QUASI_KINDS = ("last_name", "first_name", "date", "postcode", "city")
ALL_KINDS = IDENTIFIER_KINDS + QUASI_KINDS

_SEPARATORS = re.compile(r"[\s.\-/_]+")


def nir(value: str) -> str:
    """French NIR (or NIA, a temporary number, first digit 7 or 8): 13 characters and a 2-digit key,
    Corsica kept as 2A/2B, key checked. Written without its key (13 characters), the key is
    computed, so that both spellings have one normal form: the 15 characters."""
    compact = _SEPARATORS.sub("", value).upper()
    if len(compact) == 13:
        try:
            compact += stdnum_nir.calc_check_digits(compact)
        except ValueError:
            raise InvalidValue("nir: expected digits (2A/2B for Corsica)") from None
    if len(compact) != 15:
        raise InvalidValue("nir: expected 13 characters, with or without a 2-digit key")
    try:
        return str(stdnum_nir.validate(compact))
    except ValidationError as exc:
        raise InvalidValue(f"nir: {exc.message.rstrip('.').lower()}") from None


_PLACEHOLDERS = frozenset({
    "null", "none", "nil", "nan", "n/a", "#n/a", "na", "n.a.", "n/d", "nd", "n.d.", "nr", "n.r.", "nc", "n.c.",
    "inconnu", "inconnue", "unknown", "non renseigne", "non renseigné", "non renseignee", "non renseignée",
    "non communique", "non communiqué", "aucun", "aucune", "neant", "néant", "vide", "sans", "undefined",
    "pas de telephone", "pas de téléphone", "pas d'email", "pas de mail", "x", "xx", "xxx", "xxxx", "xxxxx",
})


_PLACEHOLDER_STARTS = frozenset({p[0] for p in _PLACEHOLDERS} | {p[0].upper() for p in _PLACEHOLDERS} | {"0"})


_NAMES_TOO = frozenset({"sans", "na", "nan", "nil"})
"""Placeholders that are people's names too (Sans, a French surname; Na, a Korean one; Nan; Nil, a
Catalan first name): in a name's column, the name."""


def is_placeholder(value: str, name: bool = False) -> bool:
    """Whether a field holds no value, only a way of saying so: empty, ``NULL``, ``N/A``, ``-``,
    ``inconnu``, a number of zeros (``00 00 00 00 00``, ``00/00/0000``)... Such a field is missing,
    not invalid, in every kind. With ``name`` (a name's column), a word that is also a name is not."""
    first = value[:1]
    if len(value) > 40 or (first.isalnum() and first not in _PLACEHOLDER_STARTS):
        return False
    v = value.strip().strip("\"'").strip().casefold()
    if not v or (v in _PLACEHOLDERS and not (name and v in _NAMES_TOO)) or not any(ch.isalnum() for ch in v):
        return True
    if not v.isascii() or v[0] not in "0x":
        return False  # every placeholder left begins with a zero or an x
    if all(ch == "0" or not ch.isalnum() for ch in v):
        return True  # zeros and separators only
    return set(v) <= {"x", " ", "-", "."}


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

# ---- French numbering ----------------------------------------------------------------------

FRENCH_TERRITORIES = ("GP", "GF", "MQ", "RE", "YT", "BL", "MF", "PM")
"""Overseas departments and collectivities that France's ten-digit national plan reaches: from
Paris, ``0692 12 34 56`` is dialled as written, yet its international form is ``+262 692 12 34 56``.
The list of territories is a political fact; which prefixes belong to which country code is read
from phonenumbers' metadata (``_prefix_owners``), never written by hand."""

_TYPE_DESCS = ("fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number",
               "voip", "pager", "uan", "voicemail")


@cache
def _plan_patterns(region: str) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    """A region's general pattern and the union of its number types' patterns, from phonenumbers'
    metadata, compiled once."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.general_desc is None or not meta.general_desc.national_number_pattern:
        return None
    types = [d.national_number_pattern for t in _TYPE_DESCS
             if (d := getattr(meta, t)) is not None and d.national_number_pattern]
    return re.compile(meta.general_desc.national_number_pattern), re.compile("|".join(f"(?:{t})" for t in types))


def _valid_in(region: str, nsn: str) -> bool:
    """Whether a national significant number is a valid number of ``region`` (its metadata's
    general pattern and one number type's pattern: phonenumbers' own test)."""
    patterns = _plan_patterns(region)
    return patterns is not None and bool(patterns[0].fullmatch(nsn)) and bool(patterns[1].fullmatch(nsn))


@cache
def _territory_codes() -> dict[str, str]:
    """Territory region -> its country code, from phonenumbers' metadata."""
    out = {}
    for region in FRENCH_TERRITORIES:
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if meta is not None:
            out[region] = str(meta.country_code)
    return out


@cache
def _any_territory() -> re.Pattern[str]:
    """One pattern for every number type of every territory, matched against whole lines: a quick
    first test of many numbers, one per line, in one call."""
    parts = [p[1].pattern for region in _territory_codes() if (p := _plan_patterns(region)) is not None]
    return re.compile("^(?:" + "|".join(f"(?:{p})" for p in parts) + ")$", re.MULTILINE)


_SAMPLE_TAILS = [f"{filler:02d}{tail}" for filler in range(100) for tail in ("0000", "5959")]


@lru_cache(maxsize=1024)
def _prefix_owners(prefix: str) -> frozenset[str]:
    """Country codes ("33" or a territory's) with valid numbers beginning with this 3-digit national
    significant prefix (``692`` for 0692...), sampled over the next two digits. France is asked
    only when a territory has numbers there: most prefixes are France's alone."""
    samples = [prefix + tail for tail in _SAMPLE_TAILS]
    hits = [m.group() for m in _any_territory().finditer("\n".join(samples))]
    owners = {cc for region, cc in _territory_codes().items() if any(_valid_in(region, n) for n in hits)}
    if not owners or any(_valid_in("FR", n) for n in samples):
        owners.add("33")
    return frozenset(owners)


@value_cache(65536)
def french_country_code(nsn: str) -> str:
    """The country code of a nine-digit number of France's national plan: ``33`` for metropolitan
    France, a territory's own code (262, 590, 594, 596, 508) for an overseas prefix.

    A number valid in one place belongs there; a number valid nowhere (an unallocated range, as a
    patient or a clerk typed it) belongs to whoever owns its prefix, else to France (+33)."""
    owners = _prefix_owners(nsn[:3])
    if len(owners) == 1:
        return next(iter(owners))
    # A territory's patterns are narrower than France's (FR's fixed lines span 02 69, 05 96...).
    for region, cc in _territory_codes().items():
        if _valid_in(region, nsn):
            return cc
    if _valid_in("FR", nsn):
        return "33"
    territory = sorted(owners - {"33"})
    return territory[0] if len(territory) == 1 and "33" not in owners else "33"


def _national_plan(cc: str, national: str) -> tuple[str, str]:
    """A number given with +33 or a territory's code whose national part is one of France's nine
    digits goes to the code its prefix belongs to: ``+33 6 92 ...`` is a Réunion mobile written
    with the wrong code, the common mistake."""
    if len(national) == 9 and (cc == "33" or cc in _territory_codes().values()):
        return french_country_code(national), national
    return cc, national


@value_cache(65536)
def phone(value: str, region: str = "FR") -> str:
    """E.164 (``+33612345678``), parsed with a default region.

    A number is accepted when it is well formed for its country (the length its numbering plan
    allows), valid or not: an unallocated range is still what was written, and a leak copies the
    same digits. French national numbers with an overseas prefix get the territory's country code.

    A number written plainly (digits and separators; see ``_plain_number``) skips phonenumbers'
    parser, three quarters of the cost of importing a phone. Anything else is parsed in full.
    """
    plain = _plain_number(value, region)
    if plain is not None:
        cc, national = _national_plan(*plain)
        if not _is_possible(phonenumbers.PhoneNumber(country_code=int(cc), national_number=int(national))):
            raise InvalidValue("phone: wrong number of digits for its country")
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
        for cc in _PLAIN_CODES:
            if digits.startswith(cc) and digits[len(cc) : len(cc) + 1] not in ("", "0"):
                return cc, digits[len(cc):]
        return None
    cc = _TRUNK_ZERO.get(region)
    expected = _NATIONAL_LEN.get(region)
    if cc and expected and len(digits) == expected and digits[0] == "0" and digits[1] != "0":
        return cc, digits[1:]
    return None


def _is_possible(number: phonenumbers.PhoneNumber) -> bool:
    """Well formed: a country code phonenumbers knows and a length its plan allows."""
    if number.country_code == 33:
        return len(str(number.national_number)) == 9 and not number.italian_leading_zero
    return bool(phonenumbers.is_possible_number(number))


def phone_parsed(value: str, region: str = "FR") -> str:
    """The same as ``phone``, always through phonenumbers' parser."""
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise InvalidValue("phone: not a phone number") from None
    parsed.extension = None
    if not parsed.italian_leading_zero:
        cc, _ = _national_plan(str(parsed.country_code), str(parsed.national_number))
        parsed.country_code = int(cc)
    if not _is_possible(parsed):
        raise InvalidValue("phone: wrong number of digits for its country")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# Regions where a national number is written with a trunk "0" that E.164 drops.
_TRUNK_ZERO = {"FR": "33", "BE": "32", "CH": "41", "DE": "49", "GB": "44", "NL": "31", "AT": "43",
               "RE": "262", "GP": "590", "GF": "594", "MQ": "596"}
_NATIONAL_LEN = {"FR": 10, "BE": 9, "CH": 10, "NL": 10, "RE": 10, "GP": 10, "GF": 10, "MQ": 10}
_PLAIN_CODES = tuple(dict.fromkeys(_TRUNK_ZERO.values()))


_NOT_DIGIT = re.compile(r"\D")


def phone_candidate(raw: str, region: str = "FR") -> str | None:
    """Cheap E.164 form of a phone-like string found in scanned text, without validation.

    Scanning only looks the result up among fingerprints of numbers that ``phone`` accepted at
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
        for cc in _PLAIN_CODES:
            if digits.startswith(cc + "0") and len(digits) == len(cc) + 10:
                digits = cc + digits[len(cc) + 1 :]
                break
        for cc in _FRENCH_PLAN_CODES:
            if digits.startswith(cc) and len(digits) == len(cc) + 9 and digits[len(cc)] != "0":
                national = digits[len(cc):]
                return "+" + french_country_code(national) + national
        return "+" + digits if 8 <= len(digits) <= 15 else None
    cc = _TRUNK_ZERO.get(region)
    expected = _NATIONAL_LEN.get(region)
    if cc and digits.startswith("0") and (expected is None or len(digits) == expected):
        if cc in _FRENCH_PLAN_CODES and len(digits) == 10:
            return "+" + french_country_code(digits[1:]) + digits[1:]
        return "+" + cc + digits[1:]
    if expected is not None:
        return None  # not a national number of the default region: nothing of ours to look up
    try:
        return phone_parsed(raw, region)
    except InvalidValue:
        return None


_FRENCH_PLAN_CODES = ("33", "262", "590", "594", "596")


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


_MOJIBAKE = re.compile("[\u00c3\u00c2][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6"
                       "\u02dc\u2013-\u203a\u20ac\u2122]")
"""UTF-8 read as Latin-1 or Windows-1252 and saved again: ``Ã©`` for ``é``, ``Ã§`` for ``ç``."""


def repair_mojibake(text: str) -> str:
    """``JÃ©rÃ´me`` -> ``Jérôme``: an export that went through a wrong encoding once writes every
    accented name so, and then no name with an accent matched. Repaired by ftfy, only in a text
    that shows the pattern (ftfy reads 5 MB in 0.8 s; the check, in milliseconds)."""
    if text.isascii() or _MOJIBAKE.search(text) is None:
        return text
    import ftfy

    return ftfy.fix_encoding(text)


def name(value: str) -> str:
    """NFKD, accents stripped, lower case, hyphens and apostrophes to spaces, spaces collapsed."""
    if _LATIN_NAME.fullmatch(value):
        return value.translate(_LATIN_FOLD)
    return _unicode_name(value)


_ASCII_DIGIT = re.compile(r"[0-9]")


def _unicode_name(value: str) -> str:
    """``name`` through Unicode's tables: any script, mojibake repaired, any separators."""
    if _ASCII_DIGIT.search(value):  # would stay in the result (an amount, a hash, a timestamp)
        raise InvalidValue("name: empty or contains digits")
    if "\u00c3" in value or "\u00c2" in value:  # an export's mojibake: the import's and the leak's alike
        value = repair_mojibake(value)
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    lowered = stripped.casefold().replace("ß", "ss")
    cleaned = re.sub(r"[\-'’`´.,_]+", " ", lowered)
    cleaned = re.sub(r"[^\w ]+", "", cleaned)
    result = " ".join(cleaned.split())
    if not result or any(ch.isdigit() for ch in result):
        raise InvalidValue("name: empty or contains digits")
    return result


def _latin_fold() -> dict[int, str]:
    """Each Latin letter (Latin-1 and Latin Extended-A) that ``_unicode_name`` turns into ASCII
    letters by itself, mapped to them (``É`` to ``e``, ``ß`` to ``ss``), and the separators to a
    space. Ã and Â are left out: they begin the mojibake that ``_unicode_name`` repairs."""
    table = {ord(c): c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
    for code in range(0xC0, 0x180):
        ch = chr(code)
        if ch.isalpha() and ch not in "\u00c3\u00c2" and (folded := _unicode_name(ch)).isascii() and folded.isalpha():
            table[code] = folded
    return table


_LATIN_FOLD = _latin_fold()
_LETTER = "[A-Za-z" + "".join(chr(c) for c in _LATIN_FOLD if 0xC0 <= c < 0x180) + "]+"
_LATIN_NAME = re.compile(f"{_LETTER}(?:[\\-'’ ]{_LETTER})*")
"""A name of Latin letters with single hyphens, apostrophes or spaces between them: folded one
character at a time (``_LATIN_FOLD``), the same result as ``_unicode_name`` in a tenth of the time."""
_LATIN_FOLD.update({ord("-"): " ", ord("'"): " ", ord("’"): " "})  # the separators, to a space


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


_NEXT_DAY = [0.0, dt.date.min]
"""When the local date changes next (a timestamp), and today's date until then."""


def local_today() -> dt.date:
    """Today's local date, read from the clock once a day: ``dt.date.today()`` costs microseconds,
    and every written date asks for it."""
    if time.time() >= _NEXT_DAY[0]:
        day = dt.date.today()
        _NEXT_DAY[:] = [dt.datetime.combine(day + dt.timedelta(days=1), dt.time()).timestamp(), day]
    return _NEXT_DAY[1]  # type: ignore[return-value]


def plausible_dates(year: int, month: int, day: int, two_digit: bool, today: dt.date | None = None
                    ) -> tuple[str, ...]:
    """ISO forms of a written date; a two-digit year gives both centuries, kept when plausible."""
    return _plausible_dates(year, month, day, two_digit, today or local_today())


@value_cache(1 << 16)
def _plausible_dates(year: int, month: int, day: int, two_digit: bool, today: dt.date) -> tuple[str, ...]:
    years = (1900 + year, 2000 + year) if two_digit else (year,)
    out = []
    for y in years:
        try:
            d = dt.date(y, month, day)
        except ValueError:
            continue
        if dt.date(EARLIEST_BIRTH_YEAR, 1, 1) <= d <= today:
            out.append(d.isoformat())
    return tuple(out)


def day_month(day: int, month: int) -> tuple[int, int]:
    """A numeric date's day and month: day first, as in France, unless the month cannot be one and
    the day can (03/28/1965: no month 28, the American order)."""
    return (month, day) if month > 12 >= day else (day, month)


_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{2}|\d{4})$")
_TEXT = re.compile(r"^(\d{1,2})(?:er|st|nd|rd|th)?[\s\-]+([^\W\d_]+)\.?[\s\-]+(\d{2}|\d{4})$", re.IGNORECASE)
"""``12 mars 1965``, ``12-MAR-65`` (Oracle's default), ``12th March 1965``."""
_TEXT_MDY = re.compile(r"^([^\W\d_]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$", re.IGNORECASE)
"""``March 12, 1965``: the English order, month first."""
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


_TIME = re.compile(r"(?:[ T]|\s+[àa]\s+)\d{1,2}(?:[:h]\d{2}(?::\d{2}(?:[.,]\d+)?)?)?"
                   r"\s*(?:Z|[+-]\d{2}:?\d{2}|UTC)?$", re.IGNORECASE)


def date(value: str) -> str:
    """ISO ``YYYY-MM-DD`` from ISO, compact or French spellings, with or without a time of day
    (``1965-03-12 00:00:00``, ``12/03/1965T08:30``); a schema column must give one date."""
    text = value.strip()
    if not _COMPACT.match(text):
        text = _TIME.sub("", text)
    forms = date_forms(text)
    if len(forms) != 1:
        raise InvalidValue("date: not a single plausible date" if forms else "date: not a date")
    return forms[0]


def date_forms(text: str) -> tuple[str, ...]:
    """Every plausible ISO date a written date may mean (two for an ambiguous two-digit year)."""
    text = text.strip()
    today = local_today()
    if m := _ISO.match(text):
        return plausible_dates(int(m[1]), int(m[2]), int(m[3]), False, today)
    if m := _DMY.match(text):
        day, month = day_month(int(m[1]), int(m[2]))
        return plausible_dates(int(m[3]), month, day, len(m[3]) == 2, today)
    if m := _TEXT.match(text):
        month = MONTHS.get(m[2].lower())
        if month:
            return plausible_dates(int(m[3]), month, int(m[1]), len(m[3]) == 2, today)
        return ()
    if m := _TEXT_MDY.match(text):
        month = MONTHS.get(m[1].lower())
        return plausible_dates(int(m[3]), month, int(m[2]), False, today) if month else ()
    if m := _COMPACT.match(text):
        return plausible_dates(int(m[1]), int(m[2]), int(m[3]), False, today)
    return ()


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
