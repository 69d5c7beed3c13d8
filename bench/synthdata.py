"""Fast synthetic people and leak-like text for the detection benchmark. No real person.

Everything is drawn from one seeded ``random.Random``: the same arguments give the same files.
Records and strangers are drawn from one generator whose NIRs, phones and e-mails never repeat, so a
stranger can only collide with a record through names and a birth date, never through an identifier.
A stranger who would bear a record's very names and birth date (an exact homonym, which no matcher
holding names and dates can tell from the record: it *is* that record's name + date exposure) gets
other names, and the redraws are counted.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import importlib
import io
import json
import random
import string
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from xml.sax.saxutils import escape

from stdnum.fr import nir as stdnum_nir

FIELDS = ["ipp", "nir", "email", "phone", "last_name", "first_name", "birth_date", "postcode"]
PHONE_PREFIXES = ["061", "062", "064", "065", "066", "067", "068", "073", "074", "075", "076", "077", "078"]
# A hospital export as it is (issue 9): besides metropolitan mobiles, overseas mobiles in national
# format, numbers in ranges not allocated, landlines, placeholders and typos; NIA, NIRs without
# their key, missing NIRs and a few wrong keys; dates in several spellings, some missing. Nothing is
# filtered to what leakwatch's validators accept.
OVERSEAS_MOBILE = {"0639": "262", "0692": "262", "0693": "262", "0690": "590", "0691": "590",
                   "0694": "594", "0696": "596", "0697": "596"}
PHONE_MIX = [("metropolitan", 0.82), ("overseas", 0.06), ("unallocated", 0.04), ("landline", 0.03),
             ("placeholder", 0.04), ("typo", 0.01)]
PHONE_PLACEHOLDERS = ["", "", "N/A", "00 00 00 00 00", "inconnu", "-", "NULL", "0000000000"]
DATE_PLACEHOLDERS = ("00/00/0000", "NULL")
"""Birth dates as an export writes them when it has none (an empty cell is missing too)."""
NIR_MIX = [("full", 0.93), ("nia", 0.01), ("no_key", 0.03), ("placeholder", 0.02), ("wrong_key", 0.01)]
NIR_PLACEHOLDERS = ["", "", "inconnu", "000000000000000", "N/A"]
DATE_SPELLINGS = [("iso", 0.50), ("fr", 0.30), ("iso_time", 0.12), ("compact", 0.045), ("fr_time", 0.03),
                  ("placeholder", 0.005)]
DEPTS = [f"{d:02d}" for d in range(1, 96) if d != 20] + ["2A", "2B"]
DOMAINS = ["example.org", "example.com", "example.net"]
FIRST_DAY = dt.date(1930, 1, 1).toordinal()
LAST_DAY = dt.date(2020, 12, 31).toordinal()
MOIS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
        "octobre", "novembre", "décembre"]
LOCALES = ["it_IT", "es_ES", "de_DE", "pt_PT", "nl_NL", "en_US", "en_GB", "fr_CH", "fr_CA", "pt_BR", "cs_CZ"]


class Person(NamedTuple):
    """As the export writes them (``nir`` and ``phone`` may be dirty), ``birth_date`` in ISO and
    ``birth_written`` as the export spells it."""

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
    def row(self) -> tuple[str, ...]:
        return (self.ipp, self.nir, self.email, self.phone, self.last_name, self.first_name,
                self.birth_written or self.birth_date, self.postcode)

    @property
    def birth(self) -> dt.date:
        return dt.date.fromisoformat(self.birth_date)

    @property
    def export_has_birth_date(self) -> bool:
        """False where the export holds a placeholder for the birth date: no leak can show that
        record's name + date exposure, since the dataset never knew the date."""
        return self.row[6] not in DATE_PLACEHOLDERS


def _provider(locale: str) -> object:
    return importlib.import_module(f"faker.providers.person.{locale}").Provider


def _names(attr: str, locale: str) -> list[str]:
    values = getattr(_provider(locale), attr, ())
    return [v for v in values if v and v.replace(" ", "").replace("-", "").replace("'", "").isalpha()]


def _syllable_names(rng: random.Random, n: int) -> list[str]:
    """A long tail of plausible surnames (the French population has over a million surnames)."""
    starts = ["B", "Ch", "D", "F", "G", "L", "M", "N", "P", "R", "S", "T", "V", "Gu", "Br", "Tr", "Cl", "Gr"]
    vowels = ["a", "e", "i", "o", "ou", "au", "é", "ai", "eu"]
    mids = ["r", "l", "n", "m", "v", "d", "t", "ss", "rr", "ll", "nn", "ch", "rd", "rt", "nd"]
    ends = ["", "e", "et", "ot", "in", "and", "ier", "eau", "aud", "on", "ard", "ault", "ès", "y"]
    out: set[str] = set()
    while len(out) < n:
        parts = [rng.choice(starts), rng.choice(vowels)]
        for _ in range(rng.choice([1, 1, 2])):
            parts += [rng.choice(mids), rng.choice(vowels)]
        parts.append(rng.choice(ends))
        out.add("".join(parts))
    return sorted(out)


class NamePool:
    """French names first (frequent), then names of other locales and a synthetic long tail."""

    def __init__(self, rng: random.Random) -> None:
        fr_last = _names("last_names", "fr_FR")
        fr_first = _names("first_names_male", "fr_FR") + _names("first_names_female", "fr_FR")
        other_last: set[str] = set()
        other_first: set[str] = set()
        for loc in LOCALES:
            other_last.update(_names("last_names", loc))
            other_first.update(_names("first_names", loc))
        self.fr_last = sorted(set(fr_last))
        self.tail_last = sorted(other_last - set(fr_last)) + _syllable_names(rng, 20_000)
        self.fr_first = sorted(set(fr_first))
        self.other_first = sorted(other_first - set(fr_first))

    def last(self, rng: random.Random) -> str:
        return rng.choice(self.fr_last) if rng.random() < 0.55 else rng.choice(self.tail_last)

    def first(self, rng: random.Random) -> str:
        return rng.choice(self.fr_first) if rng.random() < 0.75 else rng.choice(self.other_first)


_ASCII: dict[str, str] = {}


def ascii_fold(s: str) -> str:
    out = _ASCII.get(s)
    if out is None:
        out = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
        _ASCII[s] = out
    return out


def _local(s: str) -> str:
    return ascii_fold(s).lower().replace(" ", "-").replace("'", "")


def identity(birth: dt.date, last: str, first: str) -> int:
    """A hash of names (as the scanner compares them: case, accents and hyphens aside) and birth date."""
    return hash((birth.toordinal(), _fold_name(last), _fold_name(first)))


def _fold_name(s: str) -> str:
    return " ".join(ascii_fold(s).lower().replace("-", " ").replace("'", " ").split())


class People:
    """Draws people with identifiers unique across every person drawn (records and strangers)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.names = NamePool(random.Random(seed + 1))
        self._nirs: set[str] = set()
        self._phones: set[str] = set()
        self._record_identities: set[int] = set()
        self.count = 0
        self.homonyms_redrawn = 0

    def draw(self, prefix: str = "P") -> Person:
        rng = self.rng
        n = self.count
        self.count += 1
        sex = 1 if rng.random() < 0.5 else 2
        birth = dt.date.fromordinal(rng.randint(FIRST_DAY, LAST_DAY))
        dept = rng.choice(DEPTS)
        nir_style = _pick(rng, NIR_MIX)
        first_digit = rng.choice("78") if nir_style == "nia" else str(sex)
        while True:
            body = (f"{first_digit}{birth.year % 100:02d}{birth.month:02d}{dept}"
                    f"{rng.randint(1, 990):03d}{rng.randint(1, 999):03d}")
            if body not in self._nirs:
                self._nirs.add(body)
                break
        key = stdnum_nir.calc_check_digits(body)
        nir = {"full": body + key, "nia": body + key, "no_key": body,
               "placeholder": rng.choice(NIR_PLACEHOLDERS),
               "wrong_key": body + f"{int(key) % 97 + 1:02d}"}[nir_style]
        phone_kind = _pick(rng, PHONE_MIX)
        while True:
            phone = _phone(rng, phone_kind)
            if phone_kind in ("placeholder", "typo") or phone not in self._phones:
                self._phones.add(phone)
                break
        last = self.names.last(rng)
        first = self.names.first(rng)
        if prefix == "P":
            self._record_identities.add(identity(birth, last, first))
        else:
            while identity(birth, last, first) in self._record_identities:
                self.homonyms_redrawn += 1
                last, first = self.names.last(rng), self.names.first(rng)
        f, l_ = _local(first), _local(last)
        style = rng.randrange(4)
        local = (f"{f}.{l_}{n}", f"{f[0]}{l_}{n}", f"{l_}.{f}{n}", f"{f}{n}")[style]
        email = f"{local}@{rng.choice(DOMAINS)}"
        pc_dept = "20" if dept in ("2A", "2B") else dept
        postcode = f"{pc_dept}{rng.randrange(1000):03d}"
        if phone_kind == "overseas":
            postcode = {"262": "974", "590": "971", "594": "973", "596": "972"}[OVERSEAS_MOBILE[phone[:4]]] + \
                f"{rng.randrange(100):02d}"
        return Person(f"{prefix}{n:07d}", nir, email, phone, last, first, birth.isoformat(), postcode,
                      _written_date(birth, _pick(rng, DATE_SPELLINGS), rng))


def _pick(rng: random.Random, mix: list[tuple[str, float]]) -> str:
    r = rng.random()
    for name, share in mix:
        if r < share:
            return name
        r -= share
    return mix[0][0]


def _phone(rng: random.Random, kind: str) -> str:
    if kind == "overseas":
        return rng.choice(list(OVERSEAS_MOBILE)) + f"{rng.randrange(1_000_000):06d}"
    if kind == "unallocated":
        return f"070{rng.randint(0, 2)}{rng.randrange(1_000_000):06d}"  # 07 00 .. 07 29
    if kind == "landline":
        return f"0{rng.randint(1, 5)}{rng.randrange(100_000_000):08d}"
    if kind == "placeholder":
        return rng.choice(PHONE_PLACEHOLDERS)
    if kind == "typo":
        return f"06{rng.randrange(10**6):0{rng.choice([5, 6, 7])}d}"  # digits missing
    return rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10_000_000):07d}"


def _written_date(d: dt.date, style: str, rng: random.Random) -> str:
    if style == "placeholder":
        return rng.choice(["", *DATE_PLACEHOLDERS])
    iso = d.isoformat()
    fr = f"{iso[8:10]}/{iso[5:7]}/{iso[0:4]}"
    return {"iso": iso, "fr": fr, "iso_time": iso + " 00:00:00", "compact": iso.replace("-", ""),
            "fr_time": f"{fr} {rng.randrange(24):02d}:{rng.randrange(60):02d}"}[style]


def usable_phone(phone: str) -> bool:
    """A ten-digit national number: what leakwatch fingerprints (valid, overseas or unallocated)."""
    return len(phone) == 10 and phone.isdigit() and phone[1] != "0"


def write_records_csv(path: Path, records: list[Person], repeats: float = 0.0, seed: int = 0) -> int:
    """The export as CSV; ``repeats`` of the patients are seen twice (their identical row again,
    further down). Returns the number of repeated rows."""
    rng = random.Random(seed)
    again = [p for p in records if rng.random() < repeats]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(FIELDS)
        w.writerows(p.row for p in records)
        w.writerows(p.row for p in again)
    return len(again)


# ---- how leaks write a person ------------------------------------------------------------

def grouped_nir(nir: str) -> str:
    if len(nir) not in (13, 15):
        return nir  # a placeholder is copied as it is
    return " ".join(x for x in (nir[0], nir[1:3], nir[3:5], nir[5:7], nir[7:10], nir[10:13], nir[13:]) if x)


def spaced_phone(phone: str) -> str:
    if len(phone) != 10:
        return phone
    return " ".join(phone[i : i + 2] for i in range(0, 10, 2))


def dotted_phone(phone: str) -> str:
    if len(phone) != 10:
        return phone
    return ".".join(phone[i : i + 2] for i in range(0, 10, 2))


def intl_phone(phone: str) -> str:
    """``+33 6 12 34 56 78``, or ``+262 692 12 34 56`` for an overseas mobile."""
    if len(phone) != 10:
        return phone
    cc = OVERSEAS_MOBILE.get(phone[:4])
    if cc:
        return f"+{cc} {phone[1:4]} " + " ".join(phone[i : i + 2] for i in range(4, 10, 2))
    return "+33 " + phone[1] + " " + " ".join(phone[i : i + 2] for i in range(2, 10, 2))


def e164(phone: str) -> str:
    if len(phone) != 10:
        return phone
    return "+" + OVERSEAS_MOBILE.get(phone[:4], "33") + phone[1:]


def fr_date(p: Person) -> str:
    b = p.birth_date
    return f"{b[8:10]}/{b[5:7]}/{b[0:4]}"


def short_date(p: Person) -> str:
    b = p.birth_date
    return f"{b[8:10]}.{b[5:7]}.{b[2:4]}"


def long_date(p: Person) -> str:
    b = p.birth
    return f"{'1er' if b.day == 1 else b.day} {MOIS[b.month - 1]} {b.year}"


def typo(name: str) -> str:
    """One substituted letter in the middle of the name (as tests/synth.py does)."""
    if len(name) < 5:
        return name
    i = len(name) // 2
    return name[:i] + ("x" if name[i] != "x" else "z") + name[i + 1 :]


def upper_plain(s: str) -> str:
    return ascii_fold(s).upper()


def sql_str(s: str) -> str:
    return "'" + s.replace("'", "\\'") + "'"


# One line (or paragraph) per person for each form. Each form is used both for planted records and,
# in the same blocks, for strangers, so that a stranger written the same way is a near miss.
def f_csv_semicolon(p: Person, rng: random.Random) -> str:
    return ";".join([upper_plain(p.last_name), upper_plain(p.first_name), fr_date(p), grouped_nir(p.nir),
                     spaced_phone(p.phone), p.email.upper()])


def f_csv_plain(p: Person, rng: random.Random) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([p.ipp.replace("P", "C", 1), p.last_name, p.first_name,
                                                 p.birth_date, p.nir, p.phone, p.email])
    return buf.getvalue()


def f_json_line(p: Person, rng: random.Random) -> str:
    phone = intl_phone(p.phone) if rng.random() < 0.5 else e164(p.phone)
    return json.dumps({"patient": {"name": f"{p.first_name} {p.last_name}", "ssn": p.nir,
                                   "contact": {"mobile": phone}, "dob": p.birth_date}}, ensure_ascii=False)


def f_json_pretty(p: Person, rng: random.Random) -> str:
    return json.dumps({"id": rng.randrange(10**6), "nom": p.last_name, "prenom": p.first_name,
                       "naissance": p.birth_date, "secu": grouped_nir(p.nir), "email": p.email},
                      ensure_ascii=True, indent=2)


def f_sql_values(p: Person, rng: random.Random) -> str:
    return (f"({rng.randrange(10**6)}, {sql_str(p.last_name)}, {sql_str(p.first_name)}, {sql_str(p.email)}, "
            f"'{p.birth_date}')")


def f_html_row(p: Person, rng: random.Random) -> str:
    return (f"<tr><td>{p.last_name}</td><td>{p.first_name}</td><td>{intl_phone(p.phone)}</td>"
            f"<td>{short_date(p)}</td></tr>")


def f_prose_fr(p: Person, rng: random.Random) -> str:
    ne = "né" if p.nir[:1] == "1" else "née"
    return (f"Le patient {p.first_name} {typo(p.last_name)}, {ne} le {long_date(p)}, numéro de sécurité sociale "
            f"{grouped_nir(p.nir)}, a été testé positif.")


def f_prose_en(p: Person, rng: random.Random) -> str:
    return (f"Customer {p.first_name} {p.last_name} (DOB {p.birth_date}) called from {intl_phone(p.phone)} "
            f"about invoice {rng.randrange(1000, 99999)}.")


def f_log_line(p: Person, rng: random.Random) -> str:
    ts = f"2024-05-{rng.randint(1, 28):02d} {rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
    if rng.random() < 0.5 or not usable_phone(p.phone):
        return f"{ts} INFO auth: login ok user={p.email} from 203.0.113.{rng.randrange(1, 255)}"
    return f"{ts} INFO notify: sms sent to {e164(p.phone)} template=rdv id={rng.randrange(10**8)}"


def f_name_date_line(p: Person, rng: random.Random) -> str:
    return f"{upper_plain(p.last_name)} {p.first_name} {fr_date(p)}"


def f_name_date_prose(p: Person, rng: random.Random) -> str:
    ne = "né" if p.nir[:1] == "1" else "née"
    return f"{p.first_name} {p.last_name}, {ne} le {long_date(p)}, a été admis au service des urgences."


def f_name_date_typo(p: Person, rng: random.Random) -> str:
    ne = "né" if p.nir[:1] == "1" else "née"
    return f"{p.first_name} {typo(p.last_name)}, {ne} le {long_date(p)}, a été admis au service des urgences."


@dataclass(frozen=True)
class Form:
    name: str
    describe: str
    line: Callable[[Person, random.Random], str]
    wrap: Callable[[list[str], random.Random], str]

    @property
    def names_and_date_only(self) -> bool:
        return self.name.startswith("name_date") or self.name.endswith("_nd")

    def can_show(self, p: Person) -> bool:
        """Whether a record written in this form can be found at all: a names + date form needs a
        birth date the export held."""
        return p.export_has_birth_date or not self.names_and_date_only


def _lines(head: str) -> Callable[[list[str], random.Random], str]:
    return lambda rows, rng: head + "\n".join(rows) + "\n"


def _sql(rows: list[str], rng: random.Random) -> str:
    return ("-- MySQL dump 10.13\nCREATE TABLE `users` (`id` int, `nom` varchar(64), `prenom` varchar(64), "
            "`email` varchar(128), `naissance` date);\nINSERT INTO `users` VALUES " + ",".join(rows) + ";\n")


def _html(rows: list[str], rng: random.Random) -> str:
    return ("<html><body><h1>export</h1><table>\n<tr><th>nom</th><th>prenom</th><th>tel</th><th>ddn</th></tr>\n"
            + "\n".join(rows) + "\n</table></body></html>\n")


def _json_array(rows: list[str], rng: random.Random) -> str:
    return "[\n" + ",\n".join(rows) + "\n]\n"


def _prose(rows: list[str], rng: random.Random) -> str:
    return "Extrait du registre.\n\n" + "\n\n".join(rows) + "\n"


def _prose_en(rows: list[str], rng: random.Random) -> str:
    return "Support desk notes.\n\n" + "\n".join(rows) + "\n"


FORMS = [
    Form("csv_semicolon", "CSV, other headers, ';', upper-case names without accents, grouped NIR, spaced phone, "
         "upper-case e-mail, dd/mm/yyyy", f_csv_semicolon, _lines("NOM;PRENOM;DATE_NAISSANCE;NUM_SECU;TEL;MAIL\n")),
    Form("csv_plain", "CSV ',' with the source table's spellings (compact NIR, 06 phone, ISO date)", f_csv_plain,
         _lines("client_id,nom,prenom,date_naissance,nir,telephone,email\n")),
    Form("json_line", "JSON, one object per line: 'first last', compact NIR, +33 phone (spaced or E.164), ISO dob",
         f_json_line, _json_array),
    Form("json_pretty", "pretty-printed JSON (indent 2): each field on its own line, grouped NIR, e-mail",
         f_json_pretty, _json_array),
    Form("sql_insert", "MySQL dump, one multi-row INSERT line: names, e-mail, ISO dob", f_sql_values, _sql),
    Form("html_table", "HTML table rows: names, '+33 6 ..' phone, dd.mm.yy", f_html_row, _html),
    Form("prose_fr", "French prose: first name, last name with a typo, 'né le 12 mars 1965', grouped NIR",
         f_prose_fr, _prose),
    Form("prose_en", "English prose: names, 'DOB yyyy-mm-dd', '+33 6 ..' phone", f_prose_en, _prose_en),
    Form("log_line", "log lines with timestamps: 'user=<e-mail>' or 'sms sent to +336...'", f_log_line,
         _lines("")),
    Form("name_date_line", "no identifier: 'LAST First dd/mm/yyyy' lines", f_name_date_line, _lines("")),
    Form("name_date_prose", "no identifier: French prose 'First Last, né le 12 mars 1965'", f_name_date_prose,
         _prose),
    Form("name_date_typo", "no identifier: as name_date_prose with a typo in the last name", f_name_date_typo,
         _prose),
]


# ---- labelled records (issue 10) ---------------------------------------------------------
# Structured leaks in which labels or other columns stand between a person's names and birth date:
# each row is drawn as fields by meaning, and each block picks its own labels (French or English,
# any case), column order (names and birth date never side by side) and syntax. A visit date or a
# log timestamp sits in every row: it must never be taken for a birth date.

LABELS = {
    "last": ["nom", "NOM", "last_name", "lastName", "surname", "family_name", "Nom de famille", "nom_naissance"],
    "first": ["prenom", "Prénom", "first_name", "firstName", "given_name", "PRENOM"],
    "dob": ["date_naissance", "dob", "birth_date", "birthdate", "DDN", "Date de naissance", "dateNaissance"],
    "visit": ["date_visite", "visit_date", "created_at", "date_rdv"],
    "city": ["ville", "city", "commune"],
    "service": ["service", "department", "unite"],
    "id": ["id", "dossier", "num"],
    "email": ["email", "mail", "courriel"],
    "nir": ["nir", "num_secu", "secu", "insee"],
    "phone": ["tel", "phone", "mobile", "portable", "telephone"],
}
SERVICES = ["Cardiologie", "Urgences", "Pédiatrie", "Radiologie", "Oncologie", "Maternité", "Neurologie"]
CITIES = ["Paris", "Créteil", "Bobigny", "Saint-Denis", "Versailles", "Nanterre", "Évry", "Cergy"]


def _vary(p: Person, rng: random.Random) -> tuple[str, str]:
    """The names as a leak may write them: any case, accents or not, one typo in one of them."""
    last, first = p.last_name, p.first_name
    style = rng.randrange(4)
    if rng.random() < 0.3:
        if rng.random() < 0.5:
            last = typo(last)
        else:
            first = typo(first)
    if style == 1:
        last, first = upper_plain(last), ascii_fold(first)
    elif style == 2:
        last, first = last.upper(), first.upper()
    elif style == 3:
        last, first = ascii_fold(last).lower(), ascii_fold(first).lower()
    return last, first


def _record_fields(p: Person, rng: random.Random, with_id: bool) -> str:
    """A row as fields by meaning (JSON), rendered by its block (``_labelled``)."""
    last, first = _vary(p, rng)
    born = dt.date.fromisoformat(p.birth_date)
    dob = rng.choice([p.birth_date, fr_date(p), p.birth_date, f"{p.birth_date[8:10]}-{p.birth_date[5:7]}-"
                      f"{p.birth_date[:4]}", f"{p.birth_date} 00:00:00",            # a DATETIME column
                      born.strftime("%d-%b-%y").upper(),                             # Oracle's default
                      f"{born.strftime('%B')} {born.day}, {born.year}"])             # English, month first
    visit = dt.date.fromordinal(rng.randint(dt.date(2010, 1, 1).toordinal(), dt.date(2024, 12, 31).toordinal()))
    row: dict[str, str] = {"id": f"D{rng.randrange(10**7):07d}", "last": last, "city": rng.choice(CITIES),
                           "service": rng.choice(SERVICES), "first": first, "visit": visit.isoformat(),
                           "dob": dob, "born": p.birth_date}  # born: the date as HL7 writes it, YYYYMMDD
    if with_id:
        kind = rng.choice(["email", "nir", "phone"])
        row[kind] = {"email": p.email, "nir": rng.choice([p.nir, grouped_nir(p.nir)]),
                     "phone": rng.choice([p.phone, spaced_phone(p.phone), intl_phone(p.phone)])}[kind]
    return json.dumps(row, ensure_ascii=False)


def _block_layout(rng: random.Random) -> tuple[list[str], dict[str, str]]:
    """A block's column order (names and birth date never side by side) and labels."""
    keys = ["id", "last", "city", "service", "first", "visit", "dob", "email", "nir", "phone"]
    for _ in range(100):
        rng.shuffle(keys)
        pos = {k: i for i, k in enumerate(keys)}
        if all(abs(pos[a] - pos[b]) > 1 for a, b in (("last", "first"), ("last", "dob"), ("first", "dob"))):
            break
    return keys, {k: rng.choice(v) for k, v in LABELS.items()}


def _ident(label: str) -> str:
    """A label as an identifier (XML tags, SQL columns, JSON keys of code): no spaces or accents."""
    return ascii_fold(label).replace(" ", "_")


def _kv_value(v: str) -> str:
    return json.dumps(v, ensure_ascii=False) if (" " in v or '"' in v or not v) else v


def _terminal(client: str, head: list[str], rows: list[list[str]]) -> str:
    """A query's output as the mysql client, psql or SQL*Plus prints it."""
    if client == "sqlplus":
        head = [_ident(h).upper() for h in head]
    table = [head, *rows]
    widths = [max(len(r[j]) for r in table) for j in range(len(head))]
    lines = [[c.ljust(w) for c, w in zip(r, widths, strict=True)] for r in table]
    if client == "mysql":
        rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
        body = ["| " + " | ".join(cells) + " |" for cells in lines]
        return "\n".join(["mysql> SELECT * FROM patients;", rule, body[0], rule, *body[1:], rule,
                          f"{len(rows)} rows in set (0.01 sec)"]) + "\n"
    if client == "psql":
        body = [" " + " | ".join(cells) for cells in lines]
        return "\n".join([body[0], "-" + "-+-".join("-" * w for w in widths) + "-", *body[1:],
                          f"({len(rows)} rows)"]) + "\n"
    body = [" ".join(cells).rstrip() for cells in lines]
    return "\n".join(["SQL> select * from patients;", "", body[0], " ".join("-" * w for w in widths), *body[1:],
                      "", f"{len(rows)} rows selected."]) + "\n"


def _labelled(style: str) -> Callable[[list[str], random.Random], str]:
    def wrap(rows: list[str], rng: random.Random) -> str:
        keys, labels = _block_layout(rng)
        data = [json.loads(r) for r in rows]
        cols = [k for k in keys if any(k in d for d in data)]
        if style == "kv":
            out = []
            for d in data:
                ts = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randrange(24):02d}:" \
                     f"{rng.randrange(60):02d}:{rng.randrange(60):02d}Z"
                pairs = " ".join(f"{_ident(labels[k])}={_kv_value(d[k])}" for k in cols if k in d)
                out.append(f"{ts} INFO dossier: patient updated {pairs}")
            return "\n".join(out) + "\n"
        if style == "jsonl":
            return "\n".join(json.dumps({"ts": f"2024-05-{rng.randint(1, 28):02d}T10:{rng.randrange(60):02d}:00Z",
                                         "event": "patient.update",
                                         "patient": {_ident(labels[k]): d[k] for k in cols if k in d}},
                                        ensure_ascii=False) for d in data) + "\n"
        if style == "json_pretty":
            objs = [{"dossier": d.get("id"), "patient": {labels[k]: d[k] for k in cols if k in d and k != "id"},
                     "meta": {"exported": "2024-06-01T08:00:00Z"}} for d in data]
            return json.dumps({"export": "patients", "rows": objs}, ensure_ascii=rng.random() < 0.5,
                              indent=rng.choice([2, 4])) + "\n"
        if style == "csv":
            delim = rng.choice([",", ";", "\t", "|"])
            buf = io.StringIO()
            w = csv.writer(buf, delimiter=delim, lineterminator="\n",
                           quoting=rng.choice([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
            w.writerow([labels[k] for k in cols])
            for d in data:
                w.writerow([d.get(k, "") for k in cols])
            return buf.getvalue()
        if style == "sql":
            names = [_ident(labels[k]) for k in cols]

            def lit(v: str) -> str:
                return "NULL" if not v else "'" + v.replace("'", "''") + "'"

            flavour = rng.choice(["mysql", "postgres", "copy"])
            if flavour == "mysql":
                head = "INSERT INTO `patients` (" + ", ".join(f"`{n}`" for n in names) + ") VALUES "
                return ("-- MySQL dump 10.13\n" + head
                        + ",".join("(" + ",".join(lit(d.get(k, "")) for k in cols) + ")" for d in data) + ";\n")
            if flavour == "postgres":
                head = 'INSERT INTO public.patients (' + ", ".join(f'"{n}"' for n in names) + ") VALUES ("
                return "".join(head + ", ".join(lit(d.get(k, "")) for k in cols) + ");\n" for d in data)
            return ("COPY public.patients (" + ", ".join(names) + ") FROM stdin;\n"
                    + "".join("\t".join(d.get(k) or "\\N" for k in cols) + "\n" for d in data) + "\\.\n")
        if style == "html":
            head = "".join(f"<th>{escape(labels[k])}</th>" for k in cols)
            body = "".join("<tr>\n" + "".join(f"  <td>{escape(d.get(k, ''))}</td>\n" for k in cols) + "</tr>\n"
                           for d in data)
            return (f"<h2>Export</h2>\n<table class=\"grid\">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}"
                    "</tbody>\n</table>\n")
        if style == "mssql":  # SQL Server's "Generate Scripts": no INTO, brackets, N'', CAST
            names = ", ".join(f"[{_ident(labels[k])}]" for k in cols)

            def nlit(k: str, v: str) -> str:
                if not v:
                    return "NULL"
                if k in ("dob", "visit") and v[:4].isdigit() and v[4:5] == "-":
                    return f"CAST(N'{v[:10]}T00:00:00.000' AS DateTime)"
                return "N'" + v.replace("'", "''") + "'"

            return "".join(f"INSERT [dbo].[Patients] ({names}) VALUES ("
                           + ", ".join(nlit(k, d.get(k, "")) for k in cols) + ")\nGO\n" for d in data)
        if style == "mongo":  # mongoexport: one document a line, dates as {"$date": ...}
            out = []
            for d in data:
                doc: dict[str, object] = {"_id": {"$oid": f"{rng.randrange(16**24):024x}"}}
                for k in cols:
                    if k not in d or k == "id":
                        continue
                    v = d[k]
                    doc[_ident(labels[k])] = {"$date": f"{v[:10]}T00:00:00.000Z"} if (
                        k in ("dob", "visit") and v[:4].isdigit() and v[4:5] == "-") else v
                out.append(json.dumps(doc, ensure_ascii=False))
            return "\n".join(out) + "\n"
        if style == "vcard":  # an address book's export: N is last;first, BDAY the birth date
            props = {"city": "X-CITY", "service": "X-WARD", "visit": "X-VISIT", "dob": "BDAY", "id": "UID",
                     "email": "EMAIL;TYPE=INTERNET", "nir": "X-NIR", "phone": "TEL;TYPE=CELL"}
            return "".join("BEGIN:VCARD\r\nVERSION:3.0\r\n"
                           + f"N:{d['last']};{d['first']};;;\r\nFN:{d['first']} {d['last']}\r\n"
                           + "".join(f"{props[k]}:{d[k]}\r\n" for k in cols if k in d and k in props)
                           + "END:VCARD\r\n" for d in data)
        if style == "hl7":  # HL7 v2 admissions as an integration engine logs them
            out = []
            for d in data:
                ids = d["id"] + "^^^HOSP^PI" + (f"~{d['nir']}^^^ASIP-SANTE-INS-NIR^INS" if "nir" in d else "")
                contact = d.get("phone", "") + (f"^NET^Internet^{d['email']}" if "email" in d else "")
                born = d["born"].replace("-", "")
                pid = ["PID", "1", "", ids, "", f"{d['last']}^{d['first']}", "", born, "U", "", "", f"^^{d['city']}",
                       "", contact]
                visit = d["visit"].replace("-", "")
                out.append(f"MSH|^~\\&|SIH|HOSP|EAI|HOSP|{visit}101500||ADT^A01|M{rng.randrange(10**6):06d}|P|2.5\r"
                           + "|".join(pid) + f"\rPV1|1|I|{d['service']}\r")
            return "\n".join(out) + "\n"
        if style == "terminal":  # a query's output pasted from a terminal
            return _terminal(rng.choice(["mysql", "psql", "sqlplus"]), [labels[k] for k in cols],
                             [[d.get(k, "") for k in cols] for d in data])
        if style == "ldif":  # an LDAP directory's export
            attrs = {"id": "uid", "last": "sn", "first": "givenName", "city": "l", "service": "ou",
                     "visit": "modifyTimestamp", "dob": "birthDate", "email": "mail", "nir": "employeeNumber",
                     "phone": "mobile"}
            return "\n".join(f"dn: uid={d['id']},ou=patients,dc=example,dc=fr\nobjectClass: top\n"
                             "objectClass: inetOrgPerson\n"
                             + "".join(f"{attrs[k]}: {d[k]}\n" if d[k].isascii()
                                       else f"{attrs[k]}:: {base64.b64encode(d[k].encode()).decode()}\n"
                                       for k in cols if k in d) for d in data)
        if style == "fhir":  # a FHIR server's search: a Bundle of Patient resources
            entries = []
            for d in data:
                telecom = [{"system": "phone", "value": d["phone"]}] if "phone" in d else []
                telecom += [{"system": "email", "value": d["email"]}] if "email" in d else []
                entries.append({"fullUrl": f"urn:uuid:{rng.randrange(16**32):032x}", "resource": {
                    "resourceType": "Patient", "id": d["id"], "meta": {"lastUpdated": d["visit"] + "T09:30:00Z"},
                    "identifier": [{"system": "urn:oid:1.2.250.1.213.1.4.8", "value": d["nir"]}] if "nir" in d else [],
                    "name": [{"use": "official", "family": d["last"], "given": [d["first"]]}], "telecom": telecom,
                    "gender": rng.choice(["male", "female"]), "birthDate": d["born"],
                    "address": [{"city": d["city"], "country": "FR"}]}})
            return json.dumps({"resourceType": "Bundle", "type": "searchset", "entry": entries}, ensure_ascii=False,
                              indent=rng.choice([None, 2])) + "\n"
        if style == "hprim":  # HPRIM Santé lab results: H, then P (NOM^PRENOM, YYYYMMDD), OBR, OBX per patient
            out = ["H|~^\\&|RESULTATS.HPR|LABO^Laboratoire|HOPITAL||ORU|||||P|H2.2|202405031015"]
            for i, d in enumerate(data, 1):
                contact = d.get("phone", "") + (f"^^{d['email']}" if "email" in d else "")
                born, visit = d["born"].replace("-", ""), d["visit"].replace("-", "")
                out += [f"P|{i}|{d['id']}||{d.get('nir', '')}|{d['last']}^{d['first']}^^^||{born}"
                        f"|U||^^{d['city']}^^||{contact}", f"OBR|1|||SARSCOV2^PCR SARS-CoV-2|||{visit}",
                        f"OBX|1|CE|SARSCOV2^PCR SARS-CoV-2||{rng.choice(['NEG^Negatif', 'POS^Positif'])}||||||F"]
            return "\r\n".join([*out, "L|1|N"]) + "\r\n"
        if style == "mongo_shell":  # mongosh's print of short documents: one a line
            def js(k: str, v: str) -> str:
                if k in ("dob", "visit") and v[:4].isdigit() and v[4:5] == "-":
                    return f'ISODate("{v[:10]}T00:00:00.000Z")'
                return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
            return "".join("{ _id: ObjectId('" + f"{rng.randrange(16**24):024x}" + "'), "
                           + ", ".join(f"{_ident(labels[k])}: {js(k, d[k])}" for k in cols if k in d and k != "id")
                           + " }\n" for d in data)
        # xml
        body = "".join(f'  <patient id="{d["id"]}">\n'
                       + "".join(f"    <{_ident(labels[k])}>{escape(d[k])}</{_ident(labels[k])}>\n"
                                 for k in cols if k in d and k != "id")
                       + "  </patient>\n" for d in data)
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<patients>\n{body}</patients>\n'

    return wrap


LABELLED_STYLES = {
    "kv_log": ("key=value log lines with labels and a timestamp", "kv"),
    "jsonl_labels": ("JSON lines with labels, nested under 'patient'", "jsonl"),
    "json_nested": ("pretty JSON, nested objects, any indent", "json_pretty"),
    "sql_columns": ("SQL with a column list, other columns between (MySQL, PostgreSQL, COPY)", "sql"),
    "csv_far": ("CSV with a header, any delimiter and quoting, names and birth date far apart", "csv"),
    "html_header": ("HTML table with a header row, one cell per line", "html"),
    "xml": ("XML elements, one per record", "xml"),
    "mssql": ("SQL Server's scripts: INSERT [dbo].[T] ([cols]) VALUES (N'..', CAST(.. AS DateTime)), GO", "mssql"),
    "mongo": ("mongoexport JSON lines: an $oid, dates as {\"$date\": ...}", "mongo"),
    "vcard": ("vCard: N as last;first, BDAY, properties by name", "vcard"),
    "hl7": ("HL7 v2 messages: PID with last^first and YYYYMMDD, segments ending with CR", "hl7"),
    "terminal": ("a query's output pasted from the mysql client (+---+ boxes), psql or SQL*Plus", "terminal"),
    "ldif": ("LDIF: an LDAP directory's entries, sn/givenName/birthDate, base64 for non-ASCII values", "ldif"),
    "mongo_shell": ("mongosh's print: one document a line, keys unquoted, ObjectId(), ISODate()", "mongo_shell"),
    "fhir": ("a FHIR Bundle of Patient resources: name [{family, given}], telecom, birthDate", "fhir"),
    "hprim": ("HPRIM Santé lab results: P records with NOM^PRENOM and YYYYMMDD, CR LF", "hprim"),
}
for _name, (_describe, _style) in LABELLED_STYLES.items():
    for _suffix, _with_id in (("_nd", False), ("_id", True)):
        FORMS.append(Form(_name + _suffix, _describe + ("; with an identifier" if _with_id else
                                                          "; names and birth date only"),
                          lambda p, rng, _w=_with_id: _record_fields(p, rng, _w), _labelled(_style)))
FORMS_BY_NAME = {f.name: f for f in FORMS}


# ---- noise -----------------------------------------------------------------------------

class Noise:
    """Text that holds no record: prose, logs, code and dumps of strangers."""

    def __init__(self, rng: random.Random, people: People) -> None:
        from faker import Faker

        self.rng = rng
        self.people = people
        self.drawn: list[Person] = []
        fr, en = Faker("fr_FR"), Faker("en_US")
        fr.seed_instance(rng.randrange(10**9))
        en.seed_instance(rng.randrange(10**9))
        self.fr_par = [fr.paragraph(nb_sentences=6) for _ in range(1500)]
        self.en_par = [en.paragraph(nb_sentences=6) for _ in range(1500)]
        self.cities = [fr.city() for _ in range(300)]
        self.code = _code_pool(rng)
        self.kinds: list[tuple[str, float, Callable[[], str]]] = [
            ("prose_fr", 0.24, self.prose_fr),
            ("prose_en", 0.14, self.prose_en),
            ("logs", 0.20, self.logs),
            ("code", 0.14, self.code_block),
            ("dump_csv", 0.08, lambda: self.dump(rng.choice(["csv_semicolon", "csv_plain", "name_date_line",
                                                          "csv_far_nd", "csv_far_id"]))),
            ("dump_sql", 0.07, lambda: self.dump(rng.choice(["sql_insert", "sql_columns_nd", "sql_columns_id"]))),
            ("dump_json", 0.07, lambda: self.dump(rng.choice(
                ["json_line", "json_pretty", "jsonl_labels_nd", "jsonl_labels_id", "json_nested_nd",
                 "json_nested_id", "kv_log_nd", "kv_log_id"]))),
            ("dump_html", 0.06, lambda: self.dump(rng.choice(["html_table", "html_header_nd", "html_header_id",
                                                          "xml_nd", "xml_id"]))),
        ]

    def block(self) -> tuple[str, str]:
        r = self.rng.random()
        for name, share, make in self.kinds:
            if r < share:
                return name, make()
            r -= share
        name, _, make = self.kinds[0]
        return name, make()

    def stranger(self) -> Person:
        p = self.people.draw("S")
        self.drawn.append(p)
        return p

    def _numbers_fr(self) -> str:
        rng = self.rng
        return rng.choice([
            f"La réunion du {rng.randint(1, 28)}/{rng.randint(1, 12):02d}/20{rng.randint(10, 25)} a réuni "
            f"{rng.randint(5, 300)} personnes.",
            f"Commande n° {rng.randrange(10**14, 10**15)} livrée le {rng.randint(1, 28)} "
            f"{rng.choice(MOIS)} 20{rng.randint(10, 25)} pour {rng.randint(5, 900)},{rng.randrange(100):02d} €.",
            f"Standard : 01 {rng.randint(40, 80)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}.",
            f"Référence dossier {rng.randrange(10**12):012d}-{rng.randint(10, 99)}, "
            f"facture {rng.randint(1, 9)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} "
            f"{rng.randint(100, 999)} {rng.randint(100, 999)} {rng.randint(10, 99)}.",
            f"Ouvert depuis {rng.randint(1950, 2020)}, le site accueille {rng.randint(100, 99999)} visiteurs.",
        ])

    def _mention_fr(self) -> str:
        p, rng = self.stranger(), self.rng
        ne = "né" if p.nir[:1] == "1" else "née"
        return rng.choice([
            f"{p.first_name} {p.last_name}, {ne} le {long_date(p)} à {rng.choice(self.cities)}, "
            f"joignable au {spaced_phone(p.phone)}.",
            f"M. ou Mme {p.last_name} ({p.first_name}), {fr_date(p)}, {p.postcode} {rng.choice(self.cities)}.",
            f"Contact : {p.first_name} {p.last_name} <{p.email}>, tél. {dotted_phone(p.phone)}.",
            f"Assuré {upper_plain(p.last_name)} {p.first_name}, NIR {grouped_nir(p.nir)}.",
        ])

    def prose_fr(self) -> str:
        rng, parts = self.rng, []
        for _ in range(rng.randint(8, 20)):
            par = rng.choice(self.fr_par)
            if rng.random() < 0.5:
                par += " " + self._numbers_fr()
            if rng.random() < 0.3:
                par += " " + self._mention_fr()
            parts.append(par)
        return "\n\n".join(parts) + "\n"

    def prose_en(self) -> str:
        rng, parts = self.rng, []
        for _ in range(rng.randint(8, 20)):
            par = rng.choice(self.en_par)
            if rng.random() < 0.3:
                p = self.stranger()
                par += (f" Reach {p.first_name} {p.last_name} at {p.email} or {intl_phone(p.phone)}"
                        f" (born {p.birth_date}).")
            if rng.random() < 0.4:
                par += (f" Order {rng.randrange(10**9)} shipped on 20{rng.randint(10, 25)}-{rng.randint(1, 12):02d}-"
                        f"{rng.randint(1, 28):02d} for ${rng.randint(5, 999)}.{rng.randrange(100):02d}.")
            parts.append(par)
        return "\n\n".join(parts) + "\n"

    def logs(self) -> str:
        rng, lines = self.rng, []
        day = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        for _ in range(rng.randint(60, 200)):
            ts = (f"{day}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
                  f".{rng.randrange(1000):03d}Z")
            ip = f"{rng.randint(1, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randint(1, 254)}"
            r = rng.random()
            if r < 0.35:
                line = (f"{ts} INFO  http: {rng.choice(['GET', 'POST', 'PUT'])} /api/v1/orders/{rng.randrange(10**7)} "
                        f"{rng.choice([200, 200, 201, 404, 500])} {rng.randint(1, 900)}ms ip={ip}")
            elif r < 0.6:
                line = f"{ts} INFO  auth: login ok user={self.stranger().email} from {ip}"
            elif r < 0.7:
                line = f"{ts} INFO  notify: sms sent to {e164(self.stranger().phone)} template=otp"
            elif r < 0.85:
                line = (f"{ts} DEBUG pay: txn={''.join(rng.choices(string.hexdigits.lower(), k=32))} "
                        f"amount={rng.randint(1, 9999)}.{rng.randrange(100):02d} EUR "
                        f"card=****{rng.randrange(10**4):04d}")
            else:
                line = (f"{ts} WARN  job: batch {rng.randrange(10**6)} took {rng.randint(1, 600)}s "
                        f"(pid {rng.randint(100, 65535)})")
            lines.append(line)
        return "\n".join(lines) + "\n"

    def code_block(self) -> str:
        text = self.rng.choice(self.code)
        start = self.rng.randrange(max(1, len(text) - 12000))
        start = text.find("\n", start) + 1
        return text[start : start + self.rng.randint(3000, 12000)] + "\n"

    def dump(self, form_name: str) -> str:
        form = FORMS_BY_NAME[form_name]
        rows = [form.line(self.stranger(), self.rng) for _ in range(self.rng.randint(30, 120))]
        return form.wrap(rows, self.rng)


def _code_pool(rng: random.Random) -> list[str]:
    lib = Path(sys.base_prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    files = sorted(p for p in lib.glob("*.py") if p.stat().st_size > 20_000)
    out = []
    for p in rng.sample(files, min(40, len(files))):
        try:
            out.append(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
    return out or ["def f(x):\n    return x * 2\n" * 200]


@dataclass
class Segment:
    label: str
    """``planted:<form>`` or ``noise:<kind>``."""
    text: str


def build_text(planted: list[tuple[Person, Form]], people: People, target_bytes: int, seed: int,
               strangers: list[Person] | None = None) -> list[Segment]:
    """Blocks of noise and blocks of planted records (a few per block, among strangers written the same
    way), shuffled together until ``target_bytes``. Every stranger written is appended to ``strangers``."""
    rng = random.Random(seed)
    noise = Noise(rng, people)
    segments: list[Segment] = []
    by_form: dict[str, list[Person]] = {}
    for p, form in planted:
        by_form.setdefault(form.name, []).append(p)
    for name, persons in by_form.items():
        form = FORMS_BY_NAME[name]
        for i in range(0, len(persons), 5):
            group = persons[i : i + 5]
            others = [noise.stranger() for _ in range(rng.randint(15, 40))]
            rows = group + others
            rng.shuffle(rows)
            segments.append(Segment(f"planted:{name}", form.wrap([form.line(p, rng) for p in rows], rng)))
    size = sum(len(s.text.encode()) for s in segments)
    while size < target_bytes:
        kind, text = noise.block()
        segments.append(Segment(f"noise:{kind}", text))
        size += len(text.encode())
    rng.shuffle(segments)
    if strangers is not None:
        strangers.extend(noise.drawn)
    return segments
