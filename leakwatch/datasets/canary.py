"""Canary records: synthetic people planted in an export or a system, so that any sighting proves a
leak and names the channel that leaked (the canary's label).

Records look real for their schema (NIR with a valid key matching sex and birth date, common French
names, valid mobile numbers, e-mails at the canary domain). They are fingerprinted like any record,
into their own dataset (purpose ``canary``), and handed back once for planting: nothing keeps their
plaintext. Randomness comes from the operating system (``random.SystemRandom``).
"""

from __future__ import annotations

import datetime as dt
import random
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import phonenumbers
from sqlalchemy.engine import Engine
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.fr import nir as stdnum_nir

from leakwatch.datasets.importer import DatasetWriter, RecordFingerprinter, RowError
from leakwatch.datasets.schema import Schema, load_schema
from leakwatch.detection import normalise
from leakwatch.errors import InputError
from leakwatch.keys import Key
from leakwatch.storage import store
from leakwatch.storage.store import DatasetRow

MAX_COUNT = 10_000
PREFIX = "canary-"
_REF = "\x00ref"
_LABEL = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,55}$")
_rng = random.SystemRandom()

CITIES = (
    ("Paris", "750{:02d}", 1, 20), ("Marseille", "130{:02d}", 1, 16), ("Lyon", "6900{:d}", 1, 9),
    ("Toulouse", "31{:03d}", 0, 0), ("Nice", "06{:03d}", 0, 0), ("Nantes", "44{:03d}", 0, 0),
    ("Strasbourg", "67{:03d}", 0, 0), ("Montpellier", "34{:03d}", 0, 0), ("Bordeaux", "33{:03d}", 0, 0),
    ("Lille", "59{:03d}", 0, 0), ("Rennes", "35{:03d}", 0, 0), ("Saint-Étienne", "42{:03d}", 0, 0),
    ("Toulon", "83{:03d}", 0, 0), ("Grenoble", "38{:03d}", 0, 0), ("Dijon", "21{:03d}", 0, 0),
    ("Angers", "49{:03d}", 0, 0), ("Nîmes", "30{:03d}", 0, 0), ("Clermont-Ferrand", "63{:03d}", 0, 0),
    ("Tours", "37{:03d}", 0, 0), ("Amiens", "80{:03d}", 0, 0), ("Limoges", "87{:03d}", 0, 0),
    ("Metz", "57{:03d}", 0, 0), ("Besançon", "25{:03d}", 0, 0), ("Orléans", "45{:03d}", 0, 0),
    ("Rouen", "76{:03d}", 0, 0), ("Caen", "14{:03d}", 0, 0), ("Nancy", "54{:03d}", 0, 0),
    ("Boulogne-Billancourt", "92{:03d}", 100, 100), ("Montreuil", "93{:03d}", 100, 100),
    ("Argenteuil", "95{:03d}", 100, 100), ("Créteil", "94{:03d}", 0, 0), ("Versailles", "78{:03d}", 0, 0),
)
BIRTH_DEPTS = [f"{d:02d}" for d in range(1, 96) if d != 20] + ["2A", "2B"]


def dataset_name(label: str) -> str:
    return PREFIX + label


def check_label(label: str) -> str:
    if not _LABEL.match(label):
        raise InputError(f"label {label!r}: use 1 to 56 lower-case letters, digits, '_', '.' or '-', "
                         "starting with a letter or digit")
    return label


def default_schema() -> Schema:
    with resources.as_file(resources.files("leakwatch") / "data" / "demo" / "patients.toml") as path:
        return load_schema(Path(path))


@cache
def names(which: str) -> tuple[str, ...]:
    """A bundled name list: ``last``, ``female`` or ``male``."""
    text = (resources.files("leakwatch") / "data" / f"names_fr_{which}.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _ascii(value: str) -> str:
    plain = "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


@dataclass
class Person:
    sex: int
    first: str
    last: str
    birth: dt.date
    city: str
    postcode: str


def person() -> Person:
    sex = _rng.choice((1, 2))
    first = _rng.choice(names("male" if sex == 1 else "female"))
    today = dt.date.today()
    birth = today - dt.timedelta(days=_rng.randint(18 * 365, 90 * 365))
    city, pattern, lo, hi = _rng.choice(CITIES)
    number = _rng.randint(lo, hi) if hi else 0
    return Person(sex, first, _rng.choice(names("last")), birth, city, pattern.format(number))


def nir(p: Person) -> str:
    """A NIR whose sex, birth year and month agree with the person, with a valid key."""
    body = (f"{p.sex}{p.birth.year % 100:02d}{p.birth.month:02d}{_rng.choice(BIRTH_DEPTS)}"
            f"{_rng.randint(1, 990):03d}{_rng.randint(1, 999):03d}")
    return body + stdnum_nir.calc_check_digits(body)


def mobile() -> str:
    while True:
        number = _rng.choice("67") + "".join(str(_rng.randint(0, 9)) for _ in range(8))
        if phonenumbers.is_valid_number(phonenumbers.parse("0" + number, "FR")):
            return "0" + " ".join([number[0]] + [number[i : i + 2] for i in range(1, 9, 2)])


def email(p: Person, domain: str) -> str:
    first, last = _ascii(p.first), _ascii(p.last)
    local = _rng.choice((f"{first}.{last}", f"{first}.{last}{_rng.randint(1, 99)}", f"{first[0]}{last}",
                         f"{first}_{last}{p.birth.year % 100:02d}"))
    return f"{local}@{domain}"


def iban() -> str:
    bank, branch = _rng.randint(10000, 30099), _rng.randint(10000, 99999)
    account = _rng.randint(10**10, 10**11 - 1)
    rib_key = 97 - (89 * bank + 15 * branch + 3 * account) % 97
    bban = f"{bank:05d}{branch:05d}{account:011d}{rib_key:02d}"
    return f"FR{stdnum_iban.calc_check_digits('FR00' + bban)}{bban}"


def card() -> str:
    body = "4" + "".join(str(_rng.randint(0, 9)) for _ in range(14))
    return body + luhn.calc_check_digit(body)


def record(schema: Schema, domain: str) -> dict[str, str]:
    """One plausible record for the schema's columns (the ref column included)."""
    p = person()
    values = {
        "nir": lambda: nir(p), "email": lambda: email(p, domain), "phone": mobile, "iban": iban, "card": card,
        "text_id": lambda: str(_rng.randint(10**9, 10**10 - 1)), "last_name": lambda: p.last,
        "first_name": lambda: p.first, "postcode": lambda: p.postcode, "city": lambda: p.city,
    }
    row: dict[str, str] = {schema.ref: str(_rng.randint(10**9, 10**10 - 1))}
    dates = 0
    for column, kind in schema.fields.items():
        if kind == "date":
            day = p.birth if dates == 0 else dt.date.today() - dt.timedelta(days=_rng.randint(1, 3650))
            row[column] = day.isoformat()
            dates += 1
        else:
            row[column] = values[kind]()
    return row


@dataclass
class CanaryBatch:
    """Freshly made canaries: the only copy of their plaintext, to print once and drop."""

    label: str
    dataset: str
    header: list[str]
    rows: list[list[str]]


def create(engine: Engine, master: bytes, schema: Schema, label: str, count: int, domain: str,
           region: str, key_version: int = 1) -> CanaryBatch:
    """Make ``count`` canary records, store their fingerprints as dataset ``canary-<label>``
    (refs ``<label>#<row>``), and return them for planting. ``master`` is key version ``key_version``."""
    check_label(label)
    try:
        normalise.email(f"canary@{domain}")
    except normalise.InvalidValue:
        raise InputError(f"canary_domain {domain!r} is not a domain name (setting canary_domain)") from None
    if not 1 <= count <= MAX_COUNT:
        raise InputError(f"--count must be between 1 and {MAX_COUNT}")
    name = dataset_name(label)
    if store.dataset_by_name(engine, name) is not None:
        raise InputError(f"canary label {label!r} exists already (dataset {name}); choose another label, "
                         f"or delete it first: leakwatch fingerprints delete {name}")
    # Subkeys are derived from the dataset name; the stored ref is "<label>#<row>", never a planted value.
    scoped = schema.model_copy(update={"name": name, "ref": _REF})
    fingerprinter = RecordFingerprinter(master, scoped, region)
    header = [schema.ref, *(c for c in schema.fields if c != schema.ref)]
    rows: list[list[str]] = []
    with engine.begin() as conn:
        writer = DatasetWriter(conn, name, schema.kinds, schema.ref, purpose="canary", label=label,
                               source_name=f"canary create ({schema.name})", key=Key(key_version, master))
        for n in range(1, count + 1):
            for _ in range(20):
                row = record(schema, domain)
                try:
                    fp = fingerprinter.fingerprint(n, {**row, _REF: f"{label}#{n}"})
                except RowError:
                    continue  # a generated value the normalisers refuse (should not happen): redraw
                break
            else:
                raise InputError(f"schema {schema.name!r}: cannot generate a valid record (check its kinds)")
            writer.add([fp])
            rows.append([row[c] for c in header])
        writer.finish()
    return CanaryBatch(label, name, header, rows)


def datasets(engine: Engine) -> list[DatasetRow]:
    return store.datasets(engine, purpose="canary")
