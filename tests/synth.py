"""Synthetic French people (Faker fr_FR) and the many ways leaks write them. No real person."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import unicodedata
from dataclasses import asdict, dataclass

import phonenumbers
from faker import Faker
from stdnum.fr import nir as stdnum_nir

FIELDS = ["ipp", "nir", "email", "phone", "last_name", "first_name", "birth_date", "postcode"]


@dataclass(frozen=True)
class Person:
    ipp: str
    nir: str
    email: str
    phone: str
    last_name: str
    first_name: str
    birth_date: str
    postcode: str

    @property
    def birth(self) -> dt.date:
        return dt.date.fromisoformat(self.birth_date)


def make_nir(sex: int, birth: dt.date, rng: random.Random) -> str:
    dept = rng.choice(["75", "92", "93", "94", "13", "69", "2A", "2B", "59", "33"])
    body = f"{sex}{birth.year % 100:02d}{birth.month:02d}{dept}{rng.randint(1, 990):03d}{rng.randint(1, 999):03d}"
    return body + stdnum_nir.calc_check_digits(body)


def people(n: int, seed: int = 1) -> list[Person]:
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    out = []
    for i in range(n):
        sex = rng.choice([1, 2])
        first = fake.first_name_male() if sex == 1 else fake.first_name_female()
        last = fake.last_name()
        birth = fake.date_of_birth(minimum_age=1, maximum_age=95)
        local = f"{strip_accents(first).lower()}.{strip_accents(last).lower()}{rng.randint(1, 9999)}"
        local = local.replace(" ", "-").replace("'", "")
        out.append(Person(
            ipp=f"IPP{seed:02d}{i:07d}",
            nir=make_nir(sex, birth, rng),
            email=f"{local}@{rng.choice(['example.org', 'example.com', 'example.net'])}",
            phone=mobile(rng),
            last_name=last,
            first_name=first,
            birth_date=birth.isoformat(),
            postcode=fake.postcode(),
        ))
    return out


def mobile(rng: random.Random) -> str:
    while True:
        prefix = rng.choice(["061", "062", "064", "065", "066", "067", "068", "073", "075", "077", "078"])
        number = prefix + "".join(str(rng.randint(0, 9)) for _ in range(10 - len(prefix)))
        if phonenumbers.is_valid_number(phonenumbers.parse(number, "FR")):
            return number


def strip_accents(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def to_csv(rows: list[Person], delimiter: str = ",") -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, FIELDS, delimiter=delimiter, lineterminator="\n")
    w.writeheader()
    for p in rows:
        w.writerow(asdict(p))
    return buf.getvalue()


# ---- how leaks reformat them --------------------------------------------------------------

def grouped_nir(nir: str) -> str:
    return f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"


def spaced_phone(phone: str) -> str:
    return " ".join(phone[i : i + 2] for i in range(0, 10, 2))


def intl_phone(phone: str) -> str:
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
