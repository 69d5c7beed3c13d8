"""``leakwatch demo``: a self-contained tour on synthetic data, through the daemon's real path.

It makes a home of its own, fingerprints synthetic patients (generated like canaries, never real),
plants a canary, adds a watch term, drops three sample leaks in the drop folder and runs every
source once, so the drop folder is scanned, incidents are folded and alerts queued exactly as
``leakwatch run`` would.
"""

from __future__ import annotations

import csv
import io
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

from leakwatch import keys
from leakwatch.app import Services
from leakwatch.datasets import canary
from leakwatch.datasets.importer import DatasetWriter, RecordFingerprinter
from leakwatch.detection import terms
from leakwatch.detection.normalise import name as normal_name
from leakwatch.storage import audit

DATASET = "demo-patients"
PATIENTS = 500
TERM = "Hôpital Démo de Paris"
DOMAIN = "hopital-demo.example"


@dataclass
class DemoPlan:
    """What the demo planted, so the tour can say what should be found."""

    exposed_refs: list[str]
    canary_label: str
    drop: Path


def prepare(svc: Services) -> DemoPlan:
    home = svc.settings.home
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    keys.create_key(svc.key_path)
    schema = canary.default_schema().model_copy(update={"name": DATASET})
    rng = random.Random(2021)
    rows = []
    taken: set[str] = set()
    while len(rows) < PATIENTS:
        row = canary.record(schema, "example.org")
        identifiers = {row["nir"], row["email"], row["phone"]}
        if identifiers & taken:
            continue  # two synthetic namesakes drew one e-mail: keep the tour's counts exact
        taken |= identifiers
        row[schema.ref] = f"DEMO-{len(rows):05d}"
        rows.append(row)
    fingerprinter = RecordFingerprinter(svc.master_key, schema, svc.settings.default_region)
    with svc.engine.begin() as conn:
        writer = DatasetWriter(conn, DATASET, schema.kinds, schema.ref, source_name="leakwatch demo",
                               key=svc.key)
        writer.add([fingerprinter.fingerprint(i + 2, row) for i, row in enumerate(rows)])
        writer.finish()
    label = "demo-export"
    if canary.store.dataset_by_name(svc.engine, canary.dataset_name(label)) is not None:
        audit.delete_dataset(svc.engine, canary.dataset_name(label))
    planted = canary.create(svc.engine, svc.master_key, canary.default_schema(), label, 3,
                            svc.settings.canary_domain, svc.settings.default_region, key_version=svc.key.version)
    terms.add_term(svc.engine, TERM, "org")
    terms.add_term(svc.engine, DOMAIN, "domain")

    drop = home / "drop"
    drop.mkdir(exist_ok=True)
    exposed = rng.sample(rows, 40)
    strangers = [canary.record(schema, "example.net") for _ in range(200)]
    # 1. A CSV dump: other headers, ';', upper case without accents, grouped NIR, spaced phones;
    #    40 of our patients among 200 strangers, and one canary.
    buf = io.StringIO()
    out = csv.writer(buf, delimiter=";", lineterminator="\n")
    out.writerow(["NOM", "PRENOM", "NIR", "TEL", "MAIL", "DDN"])
    mixed = exposed + strangers
    rng.shuffle(mixed)
    for r in mixed:
        out.writerow([normal_name(r["last_name"]).upper(), normal_name(r["first_name"]).upper(), _grouped(r["nir"]),
                      _spaced(r["phone"]), r["email"].upper(), _french(r["birth_date"])])
    can = dict(zip(planted.header, planted.rows[0], strict=True))
    out.writerow([can["last_name"].upper(), can["first_name"], can["nir"], can["phone"], can["email"],
                  _french(can["birth_date"])])
    (drop / "patients_export_2021.csv").write_text(buf.getvalue(), encoding="utf-8")
    # 2. A paste that names the organisation, defanged, with no record in it.
    (drop / "paste-7f3a.txt").write_text(
        f"New dump for sale: {TERM.upper()} ({DOMAIN.replace('.', '[.]')}) - 1.4M rows, contact on forum.\n",
        encoding="utf-8")
    # 3. Names and birth dates only, for five patients.
    lines = [f"{r['first_name']} {r['last_name']}, né(e) le {_french(r['birth_date'])}" for r in exposed[:5]]
    (drop / "liste.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # The drop folder leaves files alone until they stop changing (a copy in progress); these are
    # complete, so date them a minute back.
    past = time.time() - 60
    for path in drop.iterdir():
        os.utime(path, (past, past))
    return DemoPlan(sorted(r[schema.ref] for r in exposed), label, drop)


def _grouped(nir: str) -> str:
    return f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"


def _spaced(phone: str) -> str:
    digits = "".join(c for c in phone if c.isdigit())
    return " ".join(digits[i : i + 2] for i in range(0, len(digits), 2))


def _french(iso: str) -> str:
    y, m, d = iso.split("-")
    return f"{d}/{m}/{y}"
