"""Regenerates the quiet corpus of ordinary text the watch-term tests scan (seeded, reproducible):

    .venv/bin/python tests/data/terms/generate.py

prose_fr.txt / prose_en.txt: Faker paragraphs of real French and English words; logs.txt: web, mail
and application logs with invented hosts, addresses and IPs; titles.txt: leak-tracker style titles of
invented companies (HTML entities, truncation with "..."); code.txt: Python's own ``difflib`` and
``textwrap`` modules (PSF licence), as ordinary code. near_misses.txt is written by hand.
"""

from __future__ import annotations

import difflib
import html
import random
import textwrap
from pathlib import Path

from faker import Faker

HERE = Path(__file__).parent


def prose(locale: str, size: int, seed: int) -> str:
    fake = Faker(locale)
    fake.seed_instance(seed)
    parts: list[str] = []
    total = 0
    while total < size:
        para = fake.paragraph(nb_sentences=8)
        if fake.random.random() < 0.2:
            para += f" {fake.name()}, {fake.job()}, {fake.company()}, {fake.city()}."
        parts.append(textwrap.fill(para, 100))
        total += len(parts[-1]) + 2
    return "\n\n".join(parts) + "\n"


def logs(size: int, seed: int) -> str:
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    lines: list[str] = []
    total = 0
    while total < size:
        ts = fake.date_time_between("-1y").strftime("%Y-%m-%dT%H:%M:%S")
        kind = rng.randrange(4)
        if kind == 0:
            line = (f'{fake.ipv4()} - - [{ts}] "GET /{fake.uri_path()} HTTP/1.1" {rng.choice([200, 301, 404])} '
                    f'{rng.randint(200, 90000)} "https://{fake.domain_name()}/" "{fake.user_agent()}"')
        elif kind == 1:
            line = (f"{ts} mx1 postfix/smtp[{rng.randint(1000, 99999)}]: {fake.hexify('^^^^^^^^^^')}: "
                    f"to=<{fake.email()}>, relay={fake.hostname()}[{fake.ipv4()}]:25, status=sent")
        elif kind == 2:
            line = (f"{ts} INFO [{fake.word()}-worker-{rng.randint(1, 8)}] user={fake.user_name()} "
                    f"action={fake.word()} duration_ms={rng.randint(1, 5000)} host={fake.hostname()}")
        else:
            line = (f"{ts} WARN sshd[{rng.randint(100, 9999)}]: Failed password for invalid user "
                    f"{fake.user_name()} from {fake.ipv4()} port {rng.randint(1024, 65535)} ssh2")
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines) + "\n"


def titles(n: int, seed: int) -> str:
    fake = Faker(["fr_FR", "en_US", "de_DE"])
    fake.seed_instance(seed)
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        company = fake.company()
        form = rng.randrange(5)
        if form == 0:
            title = f"Leaks from company {company}"
        elif form == 1:
            title = f"{company} - {fake.domain_name()}"
        elif form == 2:
            title = fake.domain_name()
        elif form == 3:
            title = company.lower().replace(" ", "-")
        else:
            title = company
        if rng.random() < 0.5:
            title = html.escape(title)
        if len(title) > 15 and rng.random() < 0.5:
            title = title[:15] + "..."
        out.append(title)
    return "\n".join(out) + "\n"


def main() -> None:
    (HERE / "prose_fr.txt").write_text(prose("fr_FR", 130_000, 11), encoding="utf-8")
    (HERE / "prose_en.txt").write_text(prose("en_US", 90_000, 12), encoding="utf-8")
    (HERE / "logs.txt").write_text(logs(90_000, 13), encoding="utf-8")
    (HERE / "titles.txt").write_text(titles(1500, 14), encoding="utf-8")
    code = "".join(Path(m.__file__).read_text(encoding="utf-8") for m in (difflib, textwrap))
    (HERE / "code.txt").write_text(code, encoding="utf-8")


if __name__ == "__main__":
    main()
