"""Synthetic French people (Faker fr_FR) and the many ways leaks write them. No real person."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import unicodedata
from dataclasses import dataclass

from faker import Faker
from stdnum.fr import nir as stdnum_nir

FIELDS = ["ipp", "nir", "email", "phone", "last_name", "first_name", "birth_date", "postcode"]

# How a French patient export is written, in rough proportions seen in hospital exports: most phones
# are metropolitan, some are overseas mobiles in national format, some are in ranges not allocated
# (what a patient or a clerk typed), some are placeholders, a few are plain typos. Nothing here is
# filtered to what leakwatch's validators accept.
OVERSEAS_MOBILE = {"0639": "262", "0692": "262", "0693": "262", "0690": "590", "0691": "590",
                   "0694": "594", "0696": "596", "0697": "596"}
"""Overseas mobile prefixes (national format) and their country codes, to write test leaks."""
OVERSEAS_POSTCODE = {"262": "974", "590": "971", "594": "973", "596": "972"}
PHONE_MIX = [("metropolitan", 0.82), ("overseas", 0.06), ("unallocated", 0.04), ("landline", 0.03),
             ("placeholder", 0.04), ("typo", 0.01)]
PHONE_PLACEHOLDERS = ["", "", "N/A", "00 00 00 00 00", "inconnu", "-", "NULL", "0000000000"]
NIR_MIX = [("full", 0.92), ("nia", 0.01), ("no_key", 0.03), ("placeholder", 0.03), ("wrong_key", 0.01)]
DATE_SPELLINGS = [("iso", 0.45), ("fr", 0.30), ("iso_time", 0.12), ("compact", 0.05), ("fr_time", 0.05),
                  ("placeholder", 0.03)]


@dataclass(frozen=True)
class Person:
    """A synthetic patient as the export writes them (``phone`` and ``nir`` may be dirty), with the
    truth beside it: ``birth_date`` in ISO, ``birth_written`` as the export spells it."""

    ipp: str
    nir: str
    email: str
    phone: str
    last_name: str
    first_name: str
    birth_date: str
    postcode: str
    birth_written: str = ""

    @property
    def birth(self) -> dt.date:
        return dt.date.fromisoformat(self.birth_date)

    @property
    def row(self) -> list[str]:
        """The export's cells, in ``FIELDS`` order."""
        return [self.ipp, self.nir, self.email, self.phone, self.last_name, self.first_name,
                self.birth_written or self.birth_date, self.postcode]


def pick(rng: random.Random, mix: list[tuple[str, float]]) -> str:
    r = rng.random()
    for name, share in mix:
        if r < share:
            return name
        r -= share
    return mix[0][0]


def make_nir(sex: int, birth: dt.date, rng: random.Random, style: str = "full") -> str:
    dept = rng.choice(["75", "92", "93", "94", "13", "69", "2A", "2B", "59", "33", "99"])
    first = rng.choice("78") if style == "nia" else str(sex)
    body = f"{first}{birth.year % 100:02d}{birth.month:02d}{dept}{rng.randint(1, 990):03d}{rng.randint(1, 999):03d}"
    if style == "placeholder":
        return rng.choice(["", "", "inconnu", "000000000000000", "N/A"])
    if style == "no_key":
        return body
    key = stdnum_nir.calc_check_digits(body)
    if style == "wrong_key":
        key = f"{int(key) % 97 + 1:02d}"
    return body + key


def people(n: int, seed: int = 1) -> list[Person]:
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    out = []
    for i in range(n):
        sex = rng.choice([1, 2])
        first = fake.first_name_male() if sex == 1 else fake.first_name_female()
        last = fake.last_name()
        if rng.random() < 0.03:  # a two-part surname, joined by a hyphen or a space
            last = f"{last}{rng.choice(['-', ' '])}{fake.last_name()}"
        birth = fake.date_of_birth(minimum_age=1, maximum_age=95)
        local = f"{strip_accents(first).lower()}.{strip_accents(last).lower()}{rng.randint(1, 9999)}"
        local = local.replace(" ", "-").replace("'", "")
        kind = pick(rng, PHONE_MIX)
        phone = mobile(rng, kind)
        postcode = fake.postcode()
        if kind == "overseas":
            postcode = OVERSEAS_POSTCODE[OVERSEAS_MOBILE[phone[:4]]] + f"{rng.randrange(100):02d}"
        out.append(Person(
            ipp=f"IPP{seed:02d}{i:07d}",
            nir=make_nir(sex, birth, rng, pick(rng, NIR_MIX)),
            email=f"{local}@{rng.choice(['example.org', 'example.com', 'example.net'])}",
            phone=phone,
            last_name=last,
            first_name=first,
            birth_date=birth.isoformat(),
            postcode=postcode,
            birth_written=written_date(birth, pick(rng, DATE_SPELLINGS), rng),
        ))
    return out


def mobile(rng: random.Random, kind: str = "metropolitan") -> str:
    """A phone number as an export holds it, of the given kind (see ``PHONE_MIX``)."""
    digits = "".join(str(rng.randint(0, 9)) for _ in range(8))
    if kind == "overseas":
        return rng.choice(list(OVERSEAS_MOBILE)) + digits[:6]
    if kind == "unallocated":
        return f"070{rng.randint(0, 2)}" + digits[:6]  # 07 00 .. 07 29: not allocated
    if kind == "landline":
        return f"0{rng.randint(1, 5)}" + digits
    if kind == "placeholder":
        return rng.choice(PHONE_PLACEHOLDERS)
    if kind == "typo":
        return "06" + digits[:rng.choice([5, 6, 7])]  # digits missing
    if rng.random() < 0.7:
        return "06" + rng.choice("1245678") + digits[:7]
    return "07" + rng.choice("345678") + digits[:7]


def written_date(d: dt.date, style: str, rng: random.Random) -> str:
    return {
        "iso": d.isoformat(),
        "fr": d.strftime("%d/%m/%Y"),
        "iso_time": d.isoformat() + " 00:00:00",
        "compact": d.strftime("%Y%m%d"),
        "fr_time": d.strftime("%d/%m/%Y") + f" {rng.randrange(24):02d}:{rng.randrange(60):02d}",
        "placeholder": rng.choice(["", "00/00/0000", "NULL"]),
    }[style]


def usable_phone(p: Person) -> bool:
    """Whether the export's phone is a ten-digit national number (leakwatch fingerprints it)."""
    return len(p.phone) == 10 and p.phone.isdigit() and p.phone[1] != "0"


def complete(crowd: list[Person]) -> list[Person]:
    """The people whose NIR, phone and birth date are all usable as written: for tests that check
    every field of a match."""
    return [p for p in crowd if stdnum_nir.is_valid(p.nir) and p.nir[0] in "12" and usable_phone(p)
            and p.birth_written[:1].isdigit() and not p.birth_written.startswith("00/00")
            and p.phone[:4] not in OVERSEAS_MOBILE
            and not p.phone.startswith("070")]


def secrets(p: Person) -> set[str]:
    """The values of a person that must never show up in clear (placeholders and short bits aside)."""
    return {v for v in (p.nir, p.nir[:13], p.email, p.email.split("@")[0], p.phone, p.phone[1:], p.birth_date,
                        p.birth_written)
            if (len(v) >= 6 and any(ch in "123456789" for ch in v)) or "@" in v}


def strip_accents(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def to_csv(rows: list[Person], delimiter: str = ",", repeats: float = 0.0, seed: int = 0) -> str:
    """The export as CSV. ``repeats``: the share of patients seen twice, whose row comes again
    (identical, same ref) further down, as an export of visits has it."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(FIELDS)
    for p in rows:
        w.writerow(p.row)
    rng = random.Random(seed)
    for p in rows:
        if rng.random() < repeats:
            w.writerow(p.row)
    return buf.getvalue()


# ---- how leaks reformat them --------------------------------------------------------------

def grouped_nir(nir: str) -> str:
    if len(nir) not in (13, 15):
        return nir  # a placeholder is copied as it is
    return " ".join(x for x in (nir[0], nir[1:3], nir[3:5], nir[5:7], nir[7:10], nir[10:13], nir[13:]) if x)


def spaced_phone(phone: str) -> str:
    if len(phone) != 10:
        return phone
    return " ".join(phone[i : i + 2] for i in range(0, 10, 2))


def intl_phone(phone: str) -> str:
    """The international spelling: ``+33 6 12 34 56 78``, or ``+262 692 12 34 56`` overseas."""
    if len(phone) != 10:
        return phone
    cc = OVERSEAS_MOBILE.get(phone[:4])
    if cc:
        return f"+{cc} {phone[1:4]} " + " ".join(phone[i : i + 2] for i in range(4, 10, 2))
    return "+33 " + phone[1] + " " + " ".join(phone[i : i + 2] for i in range(2, 10, 2))


def fr_date(d: dt.date) -> str:
    return d.strftime("%d/%m/%Y")


def short_date(d: dt.date) -> str:
    return d.strftime("%d.%m.%y")


MOIS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
        "octobre", "novembre", "décembre"]


def long_date(d: dt.date) -> str:
    return f"{d.day} {MOIS[d.month - 1]} {d.year}"


def typo(name: str) -> str:
    """One substituted letter in the middle of the name."""
    if len(name) < 5:
        return name
    i = len(name) // 2
    return name[:i] + ("x" if name[i] != "x" else "z") + name[i + 1 :]


def leak_csv_semicolon(rows: list[Person]) -> str:
    """Other headers, ';' separators, upper-case names without accents, reformatted identifiers."""
    lines = ["NOM;PRENOM;DATE_NAISSANCE;NUM_SECU;TEL;MAIL"]
    for p in rows:
        lines.append(";".join([strip_accents(p.last_name).upper(), strip_accents(p.first_name).upper(),
                               fr_date(p.birth), grouped_nir(p.nir), spaced_phone(p.phone), p.email.upper()]))
    return "\n".join(lines) + "\n"


def leak_json(rows: list[Person]) -> str:
    return json.dumps([{"patient": {"name": f"{p.first_name} {p.last_name}", "ssn": p.nir,
                                    "contact": {"mobile": intl_phone(p.phone)}, "dob": p.birth_date}}
                       for p in rows], ensure_ascii=True, indent=1)


def leak_sql(rows: list[Person]) -> str:
    values = ",".join(
        "({}, '{}', '{}', '{}', '{}')".format(
            i, p.last_name.replace("'", "\\'"), p.first_name.replace("'", "\\'"), p.email, p.birth_date)
        for i, p in enumerate(rows))
    return ("-- MySQL dump 10.13\nCREATE TABLE `users` (`id` int, `nom` varchar(64), `prenom` varchar(64), "
            f"`email` varchar(128), `naissance` date);\nINSERT INTO `users` VALUES {values};\n")


def leak_prose(rows: list[Person]) -> str:
    parts = []
    for p in rows:
        parts.append(f"Le patient {p.first_name} {typo(p.last_name)}, né le {long_date(p.birth)}, "
                     f"numéro de sécurité sociale {grouped_nir(p.nir)}, a été testé positif. ")
    return "Extrait du fichier des résultats de dépistage.\n\n" + "\n\n".join(parts)


def leak_html(rows: list[Person]) -> str:
    cells = "".join(
        f"<tr><td>{p.last_name}</td><td>{p.first_name}</td><td>{intl_phone(p.phone)}</td>"
        f"<td>{short_date(p.birth)}</td></tr>\n" for p in rows)
    head = "<tr><th>nom</th><th>prenom</th><th>tel</th><th>ddn</th></tr>"
    return f"<html><body><h1>dump</h1><table>{head}\n{cells}</table></body></html>"


def leak_logs(rows: list[Person]) -> str:
    return "".join(
        f"2024-05-0{1 + i % 9} 10:{i % 60:02d}:00 INFO login ok user={p.email} from 203.0.113.{i % 250}\n"
        for i, p in enumerate(rows))


def leak_name_date(rows: list[Person]) -> str:
    """No identifier: names (swapped order) and birth date only."""
    return "".join(f"{strip_accents(p.last_name).upper()} {p.first_name} {fr_date(p.birth)}\n" for p in rows)
