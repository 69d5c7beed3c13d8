"""Detection benchmark (issue #2, section 8): import time and memory, scan speed against a plaintext
``grep -F`` baseline, scaling from 10k to 1.4M records, and detection quality on planted records.

Runs the real CLI (``python -m leakwatch ...``) in subprocesses, as an analyst would, each with a
temporary LEAKWATCH_HOME. Every generated file (synthetic plaintext records included) lives in a
temporary directory deleted at the end; only the figures are written, to ``--out``.

    .venv/bin/python bench/detection.py              # 1.4M records, 20 MB of text (< 15 min)
    .venv/bin/python bench/detection.py --quick      # 100k records, 5 MB
    .venv/bin/python bench/detection.py --profile    # also cProfile the import and the scan

See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import pstats
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthdata
from synthdata import FORMS, Person, Segment

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "fingerprints" / "patients.example.toml"
PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1_000_000
SMALL = 10_000

TARGET_IMPORT_S = 60.0
TARGET_IMPORT_RSS = 1 << 30
TARGET_SCALING = 1.2
TARGET_DETECTION = 0.99


# ---- running a command ------------------------------------------------------------------

@dataclass
class Run:
    cmd: list[str]
    wall: float
    rc: int
    maxrss: int
    """Peak RSS of the command's own process (wait4), bytes."""
    tree_peak: int
    """Peak of the summed RSS of the process and its descendants (sampled every 20 ms), bytes."""
    stdout: str
    stderr: str
    cpu: float = 0.0
    """User + system CPU seconds of the process and the children it waited for (workers)."""
    load: float = 0.0
    """1-minute load average when the command ended: other work on the machine skews wall times."""


def _tree_rss(pid: int) -> int:
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * PAGE
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total


TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else ""
CODE_DIR: Path | None = None
"""Parent of the snapshot of leakwatch/ every subprocess imports (see ``snapshot_code``)."""


def snapshot_code(tmp: Path, source: Path = ROOT) -> dict[str, object]:
    """Copy leakwatch/ once, so that the whole run measures one state of the code even while others
    edit the working tree. Subprocesses run in that directory with it first on PYTHONPATH.
    ``source`` is the checkout to copy it from (``--code``: the code before a change, measured on
    the same data)."""
    global CODE_DIR
    CODE_DIR = tmp / "code"
    shutil.copytree(source / "leakwatch", CODE_DIR / "leakwatch", ignore=shutil.ignore_patterns("__pycache__"))
    global SCHEMA
    SCHEMA = Path(shutil.copy(SCHEMA, tmp / SCHEMA.name))
    digest = hashlib.sha256()
    for path in sorted((CODE_DIR / "leakwatch").rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(CODE_DIR)).encode() + b"\0" + path.read_bytes())
    return {"snapshot_sha256": digest.hexdigest()[:16]}


def run(cmd: list[str], env: dict[str, str], tmp: Path, ok: tuple[int, ...] = (0,)) -> Run:
    out_path, err_path, time_path = tmp / "cmd.out", tmp / "cmd.err", tmp / "cmd.time"
    time_path.unlink(missing_ok=True)
    # ru_maxrss of a child forked from this (large) process starts at this process's RSS, so the peak
    # is taken from GNU time, whose own child is forked from a small process.
    wrapped = [TIME, "-f", "%M", "-o", str(time_path), *cmd] if TIME else cmd
    with out_path.open("wb") as out, err_path.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(wrapped, env=env, stdout=out, stderr=err,
                                cwd=env.get("PYTHONPATH") or CODE_DIR or ROOT)
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.02):
                peak[0] = max(peak[0], _tree_rss(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    maxrss = usage.ru_maxrss * 1024
    if TIME:
        lines = time_path.read_text().split()
        maxrss = int(lines[-1]) * 1024 if lines and lines[-1].isdigit() else 0
    result = Run(cmd, wall, proc.returncode, maxrss, max(peak[0], maxrss),
                 out_path.read_text(encoding="utf-8", errors="replace"),
                 err_path.read_text(encoding="utf-8", errors="replace"),
                 usage.ru_utime + usage.ru_stime, os.getloadavg()[0])
    if result.rc not in ok:
        raise SystemExit(f"command failed ({result.rc}): {' '.join(cmd[:6])}...\n{result.stderr[-2000:]}")
    return result


def best(runs: list[Run]) -> Run:
    return min(runs, key=lambda r: r.wall)


# ---- leakwatch homes --------------------------------------------------------------------

@dataclass
class Home:
    path: Path
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("LEAKWATCH_", "CREDENTIALS_DIRECTORY", "STATE_DIRECTORY", "NOTIFY_SOCKET"))}
        env.update(LEAKWATCH_HOME=str(self.path), COLUMNS="200", NO_COLOR="1", PYTHONHASHSEED="0")
        if CODE_DIR is not None:
            env["PYTHONPATH"] = str(CODE_DIR)
        self.env = env

    def lw(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "leakwatch", *args]

    def db_bytes(self) -> dict[str, int]:
        return {p.name: p.stat().st_size for p in sorted(self.path.glob("leakwatch.db*"))}


INDEX_PROBE = r"""
import json, time
t0 = time.perf_counter()
from leakwatch.app import build
t1 = time.perf_counter()
svc = build()
index = svc.index
t2 = time.perf_counter()
entries = sum(len(h) for ds in index.datasets for h, _ in ds.arrays.values())
nbytes = sum(h.nbytes + r.nbytes for ds in index.datasets for h, r in ds.arrays.values())
import leakwatch
print(json.dumps({"import_modules_s": t1 - t0, "load_s": t2 - t1, "entries": entries, "bytes": nbytes,
                  "kinds": sorted({k for ds in index.datasets for k in ds.arrays}), "code": leakwatch.__file__}))
"""


AHO_PROBE = r"""
import json, os, sys, time
import ahocorasick

def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

patterns, text_path = sys.argv[1], sys.argv[2]
with open(patterns, encoding="utf-8") as fh:
    words = fh.read().split("\n")
before = rss()
t0, c0 = time.perf_counter(), time.process_time()
automaton = ahocorasick.Automaton()
for w in words:
    if w:
        automaton.add_word(w, len(w))
automaton.make_automaton()
build_s, build_cpu = time.perf_counter() - t0, time.process_time() - c0
mem = rss() - before
del words
text = open(text_path, encoding="utf-8").read()
t0, c0 = time.perf_counter(), time.process_time()
hits = sum(1 for _ in automaton.iter(text))
print(json.dumps({"patterns": len(automaton), "build_s": build_s, "build_cpu_s": build_cpu, "bytes": mem,
                  "scan_s": time.perf_counter() - t0, "scan_cpu_s": time.process_time() - c0, "hits": hits}))
"""
"""The plaintext ideal (issue 11): a prebuilt Aho-Corasick automaton (pyahocorasick) over the identifiers
as stored, scanning the same text in one process. Its build is timed apart from its scan."""


# ---- the benchmark ----------------------------------------------------------------------

def mb_s(nbytes: int, seconds: float) -> float:
    return nbytes / MB / seconds if seconds > 0 else float("inf")


def ratio_text(value: float | None, unit: str) -> str:
    return f"{value:.2f} {unit}" if value else "n/a (grep's set-up is nearly all its time; the difference is noise)"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def log(msg: str) -> None:
    print(f"[{dt.datetime.now(dt.UTC):%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def _patterns(p: Person) -> str:
    """The identifiers grep -F looks for: the export's values, placeholders aside (an empty
    pattern would match every line)."""
    return "".join(f"{v}\n" for v in (p.nir, p.phone, p.email) if len(v) >= 8 and any(c.isdigit() for c in v))


def usable(p: Person) -> bool:
    """Whether a person has a field leakwatch can match on: an e-mail (every synthetic person has
    one), a well-formed NIR or phone, or names and a birth date."""
    return "@" in p.email or synthdata.usable_phone(p.phone) or len(p.nir) in (13, 15) or (
        bool(p.birth_written) and p.birth_written[0].isdigit() and p.birth_written[:2] != "00")


def dirt(records: list[Person]) -> dict[str, int]:
    """How many records hold each kind of dirt the export has."""
    c: Counter[str] = Counter()
    for p in records:
        if p.phone[:4] in synthdata.OVERSEAS_MOBILE and synthdata.usable_phone(p.phone):
            c["phone_overseas"] += 1
        elif p.phone.startswith("070"):
            c["phone_unallocated"] += 1
        elif p.phone in synthdata.PHONE_PLACEHOLDERS:
            c["phone_placeholder"] += 1
        elif not synthdata.usable_phone(p.phone):
            c["phone_typo"] += 1
        if p.nir[:1] in ("7", "8"):
            c["nir_nia"] += 1
        if len(p.nir) == 13:
            c["nir_without_key"] += 1
        if p.nir in synthdata.NIR_PLACEHOLDERS:
            c["nir_placeholder"] += 1
        if not p.birth_written[:1].isdigit() or p.birth_written.startswith("00"):
            c["date_placeholder"] += 1
    return dict(sorted(c.items()))


def parse_scan(stdout: str) -> dict[str, dict[str, object]]:
    """Reported records by ref: fields and confidence."""
    out: dict[str, dict[str, object]] = {}
    for line in stdout.splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        for rec in obj.get("records", []):
            out[rec["ref"]] = rec
    return out


def quality(reported: dict[str, dict[str, object]], planted: dict[str, str], records: dict[str, Person],
            segments: list[Segment], text: str) -> dict[str, object]:
    per_form: dict[str, dict[str, object]] = {}
    for form in FORMS:
        refs = [r for r, f in planted.items() if f == form.name]
        found = [r for r in refs if r in reported]
        conf = Counter(str(reported[r]["confidence"]) for r in found)
        fields = Counter(",".join(reported[r]["fields"]) for r in found)  # type: ignore[arg-type]
        missed = Counter(describe_miss(records[r]) for r in refs if r not in reported)
        per_form[form.name] = {"planted": len(refs), "found": len(found), "missed": len(refs) - len(found),
                               "missed_names": dict(missed),
                               "high": conf["high"], "medium": conf["medium"], "low": conf["low"],
                               "rate": len(found) / len(refs) if refs else None,
                               "fields": dict(fields.most_common(4))}
    false = [r for r in reported if r not in planted]
    false_conf = Counter(str(reported[r]["confidence"]) for r in false)
    false_fields = Counter(",".join(reported[r]["fields"]) for r in false)  # type: ignore[arg-type]
    attribution = attribute(false, reported, records, segments, text) if false else {}
    total = len(planted)
    found_total = sum(1 for r in planted if r in reported)
    return {"planted": total, "found": found_total, "rate": found_total / total if total else None,
            "per_form": per_form, "false_records": len(false), "false_confidence": dict(false_conf),
            "false_fields": dict(false_fields), "false_by_form": attribution}


def _identity(p: Person) -> tuple[str, str, str]:
    return p.birth_date, synthdata.ascii_fold(p.last_name).lower(), synthdata.ascii_fold(p.first_name).lower()


def exact_homonyms(records: list[Person], strangers: list[Person]) -> dict[str, int]:
    """Strangers written in the text who share a record's names and birth date exactly (accents and
    case aside): no matcher holding names and dates can tell them from the record. The generator
    redraws such strangers' names, so this checks it did."""
    ids = {_identity(p) for p in records}
    small = {_identity(p) for p in records[:SMALL]}
    return {"strangers_in_text": len(strangers),
            "large": sum(1 for s in strangers if _identity(s) in ids),
            "small": sum(1 for s in strangers if _identity(s) in small)}


def describe_miss(p: Person) -> str:
    """The shape of a missed record's names (never the names): words and letters."""
    def shape(value: str) -> str:
        words = synthdata.ascii_fold(value).replace("-", " ").replace("'", " ").split()
        return f"{len(words)} word(s)/{sum(len(w) for w in words)} letters"

    return f"last {shape(p.last_name)}, first {shape(p.first_name)}"


def attribute(false: list[str], reported: dict[str, dict[str, object]], records: dict[str, Person],
              segments: list[Segment], text: str) -> dict[str, int]:
    """Where a record that was not planted was (probably) seen: the labels of the text blocks that hold
    its birth date as the scanner reads dates, or any spelling of one of its identifiers."""
    if CODE_DIR is not None and str(CODE_DIR) not in sys.path:
        sys.path.insert(0, str(CODE_DIR))
    from leakwatch.detection.detectors.dates import DateDetector

    det = DateDetector()
    where_date: dict[str, set[str]] = defaultdict(set)
    for seg in segments:
        for iso, _, _ in det.candidates(seg.text):
            where_date[iso].add(seg.label)
    out: Counter[str] = Counter()
    for ref in false[:300]:
        p = records.get(ref)
        if p is None:
            out["unknown ref"] += 1
            continue
        spellings = [p.nir, synthdata.grouped_nir(p.nir), p.phone, synthdata.spaced_phone(p.phone),
                     synthdata.intl_phone(p.phone), synthdata.e164(p.phone), p.email, p.email.upper()]
        # A grouped NIR's last four groups ("DD CCC OOO KK") read as a national number when the
        # department is 06 or 07: is this record's phone written that way in someone's NIR?
        as_nir_tail = f" {p.phone[0:2]} {p.phone[2:5]} {p.phone[5:8]} {p.phone[8:10]}"
        if as_nir_tail in text:
            labels = {seg.label for seg in segments if as_nir_tail in seg.text}
            out["phone read inside a grouped NIR, in " + "|".join(sorted(labels))] += 1
            continue
        if any(s in text for s in spellings):
            labels = {seg.label for seg in segments if any(s in seg.text for s in spellings)}
            out["identifier in " + "|".join(sorted(labels))] += 1
            continue
        labels = where_date.get(p.birth_date, set())
        kind = "name+date" if "date" in reported[ref]["fields"] else "other"  # type: ignore[operator]
        out[f"{kind}, date in " + ("|".join(sorted(labels)) or "nowhere")] += 1
    if len(false) > 300:
        out["not attributed (over 300)"] += len(false) - 300
    return dict(out)


def _where(file: str) -> str:
    path = Path(file)
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def profile_top(path: Path, n: int = 25) -> dict[str, object]:
    """Top functions by own time, and leakwatch's own functions by cumulative time (CLI frames left out)."""
    stats = pstats.Stats(str(path))
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append({"function": f"{_where(file)}:{line}:{func}", "calls": nc, "file": file,
                     "tottime_pct": 100 * tt / total, "cumtime_pct": 100 * ct / total})
    by_tot = sorted(rows, key=lambda r: -float(r["tottime_pct"]))[:n]  # type: ignore[arg-type]
    own = [r for r in rows if "/leakwatch/" in str(r["file"]) and "/leakwatch/cli/" not in str(r["file"])
           and "/leakwatch/__main__" not in str(r["file"])]
    by_cum = sorted(own, key=lambda r: -float(r["cumtime_pct"]))[:n]  # type: ignore[arg-type]
    for r in rows:
        r.pop("file")
    return {"total_s": total, "by_tottime": by_tot, "by_cumtime_leakwatch": by_cum}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1_400_000, help="records in the large dataset")
    ap.add_argument("--text-mb", type=float, default=20.0, help="MB of mixed text to scan")
    ap.add_argument("--planted", type=int, default=2400, help="records planted in the text (from the first 10k)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out", help="where the JSON figures go")
    ap.add_argument("--quick", action="store_true", help="100k records, 5 MB, 1200 planted")
    ap.add_argument("--repeat", type=int, default=1, help="scan and grep runs per measurement (best kept)")
    ap.add_argument("--seed", type=int, default=20210)
    ap.add_argument("--profile", action="store_true",
                    help="also run the import (200k records, one worker) and the scan under cProfile")
    ap.add_argument("--tmp", type=Path, default=None, help="parent of the temporary directory")
    ap.add_argument("--baseline", type=Path, default=None,
                    help="also scan with this checkout's leakwatch/ (the code before a change), in the same run, "
                         "on the same data and homes, right after each scan: before/after figures")
    ap.add_argument("--code", type=Path, default=ROOT,
                    help="checkout whose leakwatch/ is measured (e.g. a `git worktree` of the code before a "
                         "change: the same data and forms, another state of the code)")
    args = ap.parse_args()
    if args.quick:
        args.records, args.text_mb, args.planted = 100_000, 5.0, 1200
    if args.records < SMALL:
        ap.error(f"--records must be at least {SMALL}")
    args.planted = min(args.planted, SMALL)

    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="leakwatch-bench-", dir=args.tmp))
    os.chmod(tmp, 0o700)
    try:
        figures = bench(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    figures["bench_wall_s"] = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out / f"detection-{args.records}-{stamp}.json"
    out.write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nfigures written to {out} (total bench time {figures['bench_wall_s']:.0f} s)")


def git_state(root: Path = ROOT) -> dict[str, object]:
    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=root, capture_output=True, text=True).stdout.strip()

    dirty = git("status", "--porcelain", "--", "leakwatch")
    return {"head": git("rev-parse", "--short", "HEAD"), "leakwatch_dirty_files": dirty.splitlines()}


def bench(args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    figures: dict[str, object] = {"args": {k: str(v) for k, v in vars(args).items()},
                                  "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
                                  "started_utc": dt.datetime.now(dt.UTC).isoformat(), "git": git_state(args.code)}
    n = args.records
    figures["git"].update(snapshot_code(tmp, args.code))  # type: ignore[attr-defined]
    baseline_dir: Path | None = None
    if args.baseline is not None:
        baseline_dir = tmp / "code-baseline"
        shutil.copytree(args.baseline / "leakwatch", baseline_dir / "leakwatch",
                        ignore=shutil.ignore_patterns("__pycache__"))
        figures["git"]["baseline"] = {"path": str(args.baseline), **git_state(args.baseline)}  # type: ignore[index]

    # -- data ------------------------------------------------------------------------------
    log(f"generating {n} records")
    t0 = time.perf_counter()
    people = synthdata.People(args.seed)
    records = [people.draw("P") for _ in range(n)]
    big_csv, small_csv = tmp / "records.csv", tmp / "records-10k.csv"
    repeated = synthdata.write_records_csv(big_csv, records, repeats=0.01, seed=args.seed)
    synthdata.write_records_csv(small_csv, records[:SMALL], repeats=0.01, seed=args.seed)
    rng = random.Random(args.seed + 7)
    # Forms in turn; each takes the next drawn person it can show (a names + date form skips a
    # person whose export has no birth date: that exposure cannot exist).
    pool = rng.sample(records[:SMALL], len(records[:SMALL]))
    planted: list[tuple[synthdata.Person, synthdata.Form]] = []
    for i in range(args.planted):
        form = FORMS[i % len(FORMS)]
        j = next(j for j, p in enumerate(pool) if form.can_show(p))
        planted.append((pool.pop(j), form))
    planted_form = {p.ipp: f.name for p, f in planted}
    log(f"generating {args.text_mb} MB of text with {len(planted)} planted records")
    strangers: list[Person] = []
    segments = synthdata.build_text(planted, people, int(args.text_mb * MB), args.seed + 11, strangers)
    text = "".join(s.text + "\n" for s in segments)
    text_path = tmp / "text.txt"
    text_path.write_text(text, encoding="utf-8")
    text_bytes = text_path.stat().st_size
    tiny_path = tmp / "tiny.txt"
    tiny_path.write_text("Bonjour, rien à signaler.\n", encoding="utf-8")
    patterns = tmp / "patterns.txt"
    with patterns.open("w", encoding="utf-8") as fh:
        for p in records:
            fh.write(_patterns(p))
    patterns_small = tmp / "patterns-10k.txt"
    with patterns_small.open("w", encoding="utf-8") as fh:
        for p in records[:SMALL]:
            fh.write(_patterns(p))
    by_label = Counter()
    for s in segments:
        by_label[s.label.split(":")[0] + ":" + s.label.split(":")[1]] += len(s.text.encode())
    figures["data"] = {"records": n, "repeated_rows": repeated, "records_csv_bytes": big_csv.stat().st_size,
                       "text_bytes": text_bytes, "dirt": dirt(records),
                       "planted": len(planted), "generate_s": time.perf_counter() - t0,
                       "text_bytes_by_block": dict(sorted(by_label.items())),
                       "strangers_drawn": people.count - n, "first_block": segments[0].label,
                       "homonyms_redrawn": people.homonyms_redrawn}
    records_by_ref = {p.ipp: p for p in records}
    figures["data"]["exact_homonyms"] = exact_homonyms(records, strangers)  # type: ignore[index]
    del strangers

    # -- import ------------------------------------------------------------------------------
    homes = {"big": Home(tmp / "home-big"), "small": Home(tmp / "home-10k")}
    for home in homes.values():
        run(home.lw("init"), home.env, tmp)
    log(f"importing {n} records")
    imp = run(homes["big"].lw("fingerprints", "import", str(big_csv), "--schema", str(SCHEMA), "--json"),
              homes["big"].env, tmp)
    imported = json.loads(imp.stdout.strip().splitlines()[-1])
    log(f"importing {SMALL} records")
    imp_small = run(homes["small"].lw("fingerprints", "import", str(small_csv), "--schema", str(SCHEMA), "--json"),
                    homes["small"].env, tmp)
    figures["import"] = {
        "records": imported["records"], "skipped": imported["skipped"], "rows": imported["rows"],
        "duplicates": imported["duplicates"], "dropped": {c["column"]: c["dropped"] for c in imported["columns"]},
        "distinct_refs": len({p.ipp for p in records}),
        "usable_people": sum(1 for p in records if usable(p)), "wall_s": imp.wall,
        "records_per_s": imported["records"] / imp.wall, "peak_rss_main": imp.maxrss, "peak_rss_tree": imp.tree_peak,
        "cpu_s": imp.cpu, "load_at_end": imp.load,
        "db_bytes": homes["big"].db_bytes(), "small_wall_s": imp_small.wall,
        "small_db_bytes": homes["small"].db_bytes(),
        "workers": os.cpu_count(),
    }

    # -- index and scans -------------------------------------------------------------------------
    scans: dict[str, dict[str, object]] = {}
    reported: dict[str, dict[str, dict[str, object]]] = {}
    baseline: dict[str, dict[str, object]] = {}
    baseline_reported: dict[str, dict[str, dict[str, object]]] = {}
    for key, home in homes.items():
        probe = run([sys.executable, "-c", INDEX_PROBE], home.env, tmp)
        index = json.loads(probe.stdout.strip().splitlines()[-1])
        index["probe_peak_rss"] = probe.maxrss
        if CODE_DIR is not None and not index["code"].startswith(str(CODE_DIR)):
            raise SystemExit(f"subprocess imported {index['code']}, not the snapshot in {CODE_DIR}")
        log(f"scanning {text_bytes / MB:.1f} MB with the {key} dataset")
        tiny = best([run(home.lw("scan", str(tiny_path), "--json"), home.env, tmp, ok=(0, 1))
                     for _ in range(args.repeat)])
        full_runs = [run(home.lw("scan", str(text_path), "--json"), home.env, tmp, ok=(0, 1))
                     for _ in range(args.repeat)]
        full = best(full_runs)
        reported[key] = parse_scan(full.stdout)
        scan_only = full.wall - tiny.wall
        scans[key] = {"index": index, "tiny_wall_s": tiny.wall, "wall_s": full.wall,
                      "all_walls_s": [r.wall for r in full_runs], "mb_s": mb_s(text_bytes, full.wall),
                      "scan_only_s": scan_only, "scan_only_mb_s": mb_s(text_bytes, scan_only),
                      "peak_rss": full.maxrss, "peak_rss_tree": full.tree_peak,
                      "reported_records": len(reported[key]),
                      "cpu_s": full.cpu, "tiny_cpu_s": tiny.cpu, "cpu_mb_s": mb_s(text_bytes, full.cpu),
                      "scan_only_cpu_mb_s": mb_s(text_bytes, full.cpu - tiny.cpu),
                      "loads_at_end": [r.load for r in full_runs]}
        if baseline_dir is not None:
            log(f"scanning {text_bytes / MB:.1f} MB with the {key} dataset, baseline code")
            benv = {**home.env, "PYTHONPATH": str(baseline_dir)}
            b_tiny = best([run(home.lw("scan", str(tiny_path), "--json"), benv, tmp, ok=(0, 1))
                           for _ in range(args.repeat)])
            b_runs = [run(home.lw("scan", str(text_path), "--json"), benv, tmp, ok=(0, 1))
                      for _ in range(args.repeat)]
            b_full = best(b_runs)
            baseline_reported[key] = parse_scan(b_full.stdout)
            baseline[key] = {"tiny_wall_s": b_tiny.wall, "wall_s": b_full.wall, "mb_s": mb_s(text_bytes, b_full.wall),
                             "scan_only_s": b_full.wall - b_tiny.wall, "cpu_s": b_full.cpu, "tiny_cpu_s": b_tiny.cpu,
                             "cpu_mb_s": mb_s(text_bytes, b_full.cpu),
                             "scan_only_cpu_mb_s": mb_s(text_bytes, b_full.cpu - b_tiny.cpu),
                             "all_walls_s": [r.wall for r in b_runs], "loads_at_end": [r.load for r in b_runs]}
    # The same scan in one worker: what matching on every core gains (issue 11: >= 1.8x on 2 cores).
    home = homes["big"]
    one = best([run(home.lw("scan", str(text_path), "--json"), {**home.env, "LEAKWATCH_SCAN_WORKERS": "1"}, tmp,
                    ok=(0, 1)) for _ in range(args.repeat)])
    scans["big"]["one_worker_wall_s"] = one.wall
    scans["big"]["one_worker_cpu_s"] = one.cpu
    scans["big"]["one_worker_load"] = one.load
    # Per core: the matching done in one process, without its start and index load. The default
    # run's CPU also counts the workers' own start (imports, index mapped), which a long scan pays once.
    scans["big"]["one_worker_scan_only_cpu_mb_s"] = mb_s(text_bytes, one.cpu - scans["big"]["tiny_cpu_s"])
    figures["scan"] = scans
    if baseline:
        figures["baseline"] = baseline

    # -- grep baseline ------------------------------------------------------------------------
    log("grep -F baseline")
    genv = {**os.environ, "LC_ALL": "C"}
    greps: dict[str, dict[str, object]] = {}
    for key, pat in (("big", patterns), ("small", patterns_small)):
        g_tiny = best([run(["grep", "-F", "-c", "-f", str(pat), str(tiny_path)], genv, tmp, ok=(0, 1))
                       for _ in range(args.repeat)])
        g_full = best([run(["grep", "-F", "-c", "-f", str(pat), str(text_path)], genv, tmp, ok=(0, 1))
                       for _ in range(args.repeat)])
        greps[key] = {"patterns": 3 * (n if key == "big" else SMALL), "wall_s": g_full.wall,
                      "mb_s": mb_s(text_bytes, g_full.wall), "setup_s": g_tiny.wall,
                      "search_only_mb_s": mb_s(text_bytes, g_full.wall - g_tiny.wall)
                      if g_full.wall - g_tiny.wall > 0.05 * g_full.wall else None,
                      "peak_rss": g_full.maxrss, "matching_lines": int(g_full.stdout.strip() or 0),
                      "cpu_s": g_full.cpu, "setup_cpu_s": g_tiny.cpu}
    figures["grep"] = greps

    # -- Aho-Corasick baseline (the plaintext ideal, scan only) ----------------------------------
    log("Aho-Corasick baseline (pyahocorasick, prebuilt)")
    aho: dict[str, dict[str, object]] = {}
    for key, pat in (("big", patterns), ("small", patterns_small)):
        r = run([sys.executable, "-c", AHO_PROBE, str(pat), str(text_path)], os.environ.copy(), tmp)
        a = json.loads(r.stdout.strip().splitlines()[-1])
        a["scan_cpu_mb_s"] = mb_s(text_bytes, a["scan_cpu_s"])
        a["peak_rss"] = r.maxrss
        aho[key] = a
    figures["aho"] = aho

    # -- detection quality --------------------------------------------------------------------
    figures["quality"] = {key: quality(reported[key], planted_form, records_by_ref, segments, text)
                          for key in homes}
    for key, found in baseline_reported.items():
        figures["baseline"][key]["quality"] = quality(found, planted_form, records_by_ref, segments, text)  # type: ignore[index]

    # -- profiles ----------------------------------------------------------------------------------
    if args.profile:
        figures["profile"] = profile(args, tmp, records, homes["big"], text_path)

    targets = evaluate(figures)
    figures["targets"] = targets
    print_report(figures)
    return figures


def profile(args: argparse.Namespace, tmp: Path, records: list[Person], big: Home, text_path: Path
            ) -> dict[str, object]:
    sub = min(len(records), 200_000)
    sub_csv = tmp / "records-profile.csv"
    synthdata.write_records_csv(sub_csv, records[:sub])
    home = Home(tmp / "home-profile")
    run(home.lw("init"), home.env, tmp)
    imp_prof = tmp / "import.prof"
    log(f"profiling the import of {sub} records (one worker)")
    r_imp = run([sys.executable, "-m", "cProfile", "-o", str(imp_prof), "-m", "leakwatch", "fingerprints", "import",
                 str(sub_csv), "--schema", str(SCHEMA), "--workers", "1", "--json"], home.env, tmp)
    scan_prof = tmp / "scan.prof"
    log("profiling the scan (large dataset, LEAKWATCH_SCAN_WORKERS=1)")
    # Large documents are matched in worker processes that cProfile does not see: profile the scan
    # with the matching done in the one process (LEAKWATCH_SCAN_WORKERS=1), the same code per part.
    r_scan = run([sys.executable, "-m", "cProfile", "-o", str(scan_prof), "-m", "leakwatch", "scan", str(text_path),
                  "--json"], {**big.env, "LEAKWATCH_SCAN_WORKERS": "1"}, tmp, ok=(0, 1))
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copy(imp_prof, args.out / "import.prof")
    shutil.copy(scan_prof, args.out / "scan.prof")
    return {"import": {"records": sub, "wall_s": r_imp.wall, **profile_top(imp_prof)},
            "scan": {"wall_s": r_scan.wall, **profile_top(scan_prof)}}


def evaluate(f: dict[str, object]) -> list[dict[str, object]]:
    imp, scan, grep, q = f["import"], f["scan"], f["grep"], f["quality"]  # type: ignore[misc]
    big, small, gbig = scan["big"], scan["small"], grep["big"]  # type: ignore[index]
    n = imp["records"]  # type: ignore[index]
    out = []

    def add(name: str, value: str, target: str, ok: bool) -> None:
        out.append({"target": name, "value": value, "goal": target, "pass": ok})

    add(f"import time ({n} records)", f"{imp['wall_s']:.1f} s", f"<= {TARGET_IMPORT_S:.0f} s",  # type: ignore[index]
        imp["wall_s"] <= TARGET_IMPORT_S)  # type: ignore[index]
    add("records imported == distinct refs (repeated rows merged)", f"{n} / {imp['distinct_refs']}",  # type: ignore[index]
        "equal", n == imp["distinct_refs"])  # type: ignore[index]
    add("people with a usable field kept", f"{n} / {imp['usable_people']}", "all",  # type: ignore[index]
        n >= imp["usable_people"])  # type: ignore[index]
    add("import peak RSS, main process", f"{imp['peak_rss_main'] / 2**20:.0f} MiB", "<= 1024 MiB",  # type: ignore[index]
        imp["peak_rss_main"] <= TARGET_IMPORT_RSS)  # type: ignore[index]
    add("import peak RSS, process tree", f"{imp['peak_rss_tree'] / 2**20:.0f} MiB", "<= 1024 MiB",  # type: ignore[index]
        imp["peak_rss_tree"] <= TARGET_IMPORT_RSS)  # type: ignore[index]
    add("scan end-to-end vs grep -F end-to-end", f"{big['mb_s'] / gbig['mb_s']:.2f}x",  # type: ignore[index]
        ">= 1.00x", big["mb_s"] >= gbig["mb_s"])  # type: ignore[index]
    gsmall = grep["small"]  # type: ignore[index]
    add("scan end-to-end vs grep -F end-to-end, 10k records", f"{small['mb_s'] / gsmall['mb_s']:.2f}x",  # type: ignore[index]
        ">= 1.00x", small["mb_s"] >= gsmall["mb_s"])  # type: ignore[index]
    add(f"scan end-to-end slowdown {n} vs 10k records", f"{big['wall_s'] / small['wall_s']:.2f}x",  # type: ignore[index]
        f"<= {TARGET_SCALING}x", big["wall_s"] / small["wall_s"] <= TARGET_SCALING)  # type: ignore[index]
    add(f"scan excl. start+load slowdown {n} vs 10k records",
        f"{big['scan_only_s'] / small['scan_only_s']:.2f}x", f"<= {TARGET_SCALING}x",  # type: ignore[index]
        big["scan_only_s"] / small["scan_only_s"] <= TARGET_SCALING)  # type: ignore[index]
    aho = f["aho"]["big"]  # type: ignore[index]
    per_core = big["one_worker_scan_only_cpu_mb_s"] / aho["scan_cpu_mb_s"]  # type: ignore[index]
    add("scan excl. start+load per CPU-s (one worker) vs prebuilt Aho-Corasick", f"{per_core:.3f}x", ">= 1.00x",
        per_core >= 1.0)
    mem = big["index"]["bytes"] / aho["bytes"] if aho["bytes"] > 0 else 0.0  # type: ignore[index]
    add("index memory vs Aho-Corasick automaton", f"{mem:.2f}x", "<= 0.25x", mem <= 0.25)
    add("index ready", f"{big['index']['load_s']:.2f} s", "<= 5 s", big["index"]["load_s"] <= 5.0)  # type: ignore[index]
    for key, label in (("big", "large"), ("small", "10k")):
        b = f.get("baseline", {}).get(key)  # type: ignore[attr-defined]
        if b:
            now = scan[key]["cpu_s"] - scan[key]["tiny_cpu_s"]  # type: ignore[index]
            before = b["cpu_s"] - b["tiny_cpu_s"]
            add(f"scan CPU excl. start+load vs baseline code ({label} dataset)", f"{now / before:.2f}x",
                "<= 1.00x", now <= before)
    for key, label in (("big", "large"), ("small", "10k")):
        qq = q[key]  # type: ignore[index]
        add(f"planted records found ({label} dataset)", f"{qq['found']}/{qq['planted']} = {100 * qq['rate']:.2f}%",
            f">= {100 * TARGET_DETECTION:.0f}%", qq["rate"] >= TARGET_DETECTION)
        worst = min((v["rate"], k) for k, v in qq["per_form"].items() if v["planted"])
        add(f"worst form ({label} dataset): {worst[1]}", f"{100 * worst[0]:.1f}%", f">= {100 * TARGET_DETECTION:.0f}%",
            worst[0] >= TARGET_DETECTION)
        add(f"records reported, not planted ({label} dataset)", str(qq["false_records"]), "0", qq["false_records"] == 0)
    return out


def print_report(f: dict[str, object]) -> None:
    d, imp, scan, grep, q = f["data"], f["import"], f["scan"], f["grep"], f["quality"]  # type: ignore[misc]
    big = scan["big"]
    mib = 2**20
    print("\n=== leakwatch detection benchmark ===")
    print(f"machine: {f['machine']['cpus']} CPUs, Python {f['machine']['python']}")  # type: ignore[index]
    g = f["git"]
    dirty = len(g["leakwatch_dirty_files"])
    print(f"code: HEAD {g['head']}" + (f", leakwatch/ with uncommitted changes: {dirty} file(s)"
                                     if g["leakwatch_dirty_files"] else ", leakwatch/ clean")
          + f"; measured a snapshot of leakwatch/ taken at start, sha256 {g['snapshot_sha256']}")
    print(f"data: {d['records']} records ({d['records_csv_bytes'] / MB:.1f} MB CSV), {d['text_bytes'] / MB:.2f} MB "
          f"of mixed text, {d['planted']} planted records, generated in {d['generate_s']:.1f} s")
    h = d["exact_homonyms"]
    print(f"      {h['strangers_in_text']} strangers written in the text; {d['homonyms_redrawn']} drawn with a "
          f"record's very names and birth date were given other names; {h['large']} share them now "
          f"({h['small']} for the 10k dataset)")
    print(f"      the text starts with a {d['first_block']} block (a file read in one chunk, <= 8 MB, whose "
          "first 4 KB look like HTML or JSON is flattened whole by leakwatch)")
    print("\n-- import (leakwatch fingerprints import, default workers = one per core)")
    print(f"  records imported      {imp['records']} from {imp['rows']} rows ({imp['duplicates']} repeated rows "
          f"merged, {imp['skipped']} rows skipped; {imp['distinct_refs']} distinct refs)")
    print(f"  export dirt           {d['dirt']}")
    print(f"  values dropped        {imp['dropped']}")
    print(f"  wall time             {imp['wall_s']:.1f} s  ({imp['records_per_s']:.0f} records/s); CPU "
          f"{imp['cpu_s']:.1f} s (main + workers); load average at end {imp['load_at_end']:.1f}")
    print(f"  peak RSS main process {imp['peak_rss_main'] / mib:.0f} MiB")
    print(f"  peak RSS process tree {imp['peak_rss_tree'] / mib:.0f} MiB  (main + workers, sampled)")
    db = imp["db_bytes"]
    files = ", ".join(f"{k} {v / MB:.1f} MB" for k, v in db.items())
    print(f"  database size         {sum(db.values()) / MB:.1f} MB  ({files})")
    small_db = sum(imp["small_db_bytes"].values()) / MB
    print(f"  10k records           {imp['small_wall_s']:.1f} s, database {small_db:.1f} MB")
    for key, label in (("big", f"{d['records']} records"), ("small", "10k records")):
        s = scan[key]
        ix = s["index"]
        print(f"\n-- scan, {label} (leakwatch scan FILE --json, best of {len(s['all_walls_s'])})")
        kinds = ", ".join(ix["kinds"])
        print(f"  index                 {ix['entries']} entries ({kinds}), {ix['bytes'] / MB:.1f} MB in memory, "
              f"loaded in {ix['load_s']:.2f} s (after {ix['import_modules_s']:.2f} s of module imports)")
        print(f"  tiny file end-to-end  {s['tiny_wall_s']:.2f} s  (process start + index load + nothing)")
        print(f"  text end-to-end       {s['wall_s']:.2f} s = {s['mb_s']:.2f} MB/s  (runs: "
              f"{', '.join(f'{w:.2f}' for w in s['all_walls_s'])} s)")
        print(f"  scan excl. start+load {s['scan_only_s']:.2f} s = {s['scan_only_mb_s']:.2f} MB/s  "
              "(end-to-end minus tiny-file run)")
        print(f"  CPU time              {s['cpu_s']:.2f} s = {s['cpu_mb_s']:.2f} MB/CPU-s; excl. start+load "
              f"{s['scan_only_cpu_mb_s']:.2f} MB/CPU-s; load average at end "
              f"{', '.join(f'{x:.1f}' for x in s['loads_at_end'])}")
        print(f"  peak RSS              {s['peak_rss'] / mib:.0f} MiB largest process, "
              f"{s['peak_rss_tree'] / mib:.0f} MiB process tree (scan workers included, sampled)")
        print(f"  records reported      {s['reported_records']}")
    print("\n-- grep -F -c -f patterns.txt text.txt (LC_ALL=C; NIR, phone, e-mail as stored)")
    for key, label in (("big", "large"), ("small", "10k")):
        g = grep[key]
        print(f"  {label:5} {g['patterns']:>8} patterns: {g['wall_s']:.2f} s = {g['mb_s']:.2f} MB/s end-to-end; "
              f"set-up {g['setup_s']:.2f} s; search only {ratio_text(g['search_only_mb_s'], 'MB/s')}; "
              f"peak RSS {g['peak_rss'] / mib:.0f} MiB; {g['matching_lines']} matching lines")
    big, small, gbig = scan["big"], scan["small"], grep["big"]
    print(f"  leakwatch/grep        end-to-end {big['mb_s'] / gbig['mb_s']:.2f}x; "
          f"excl. set-up {ratio_text(gbig['search_only_mb_s'] and big['scan_only_mb_s'] / gbig['search_only_mb_s'], 'x')}")  # noqa: E501
    print(f"  10k vs large          end-to-end {big['wall_s'] / small['wall_s']:.2f}x slower; excl. start+load "
          f"{big['scan_only_s'] / small['scan_only_s']:.2f}x slower")
    print(f"  every core            {d['records']} records: {big['one_worker_wall_s']:.2f} s with "
          f"LEAKWATCH_SCAN_WORKERS=1 ({big['one_worker_cpu_s']:.2f} CPU-s, load {big['one_worker_load']:.1f}) "
          f"vs {big['wall_s']:.2f} s with {f['machine']['cpus']} workers: "
          f"{big['one_worker_wall_s'] / big['wall_s']:.2f}x (wall times: meaningful on an idle machine only)")
    print(f"  per core              {big['one_worker_scan_only_cpu_mb_s']:.2f} MB/CPU-s with LEAKWATCH_SCAN_WORKERS=1, "
          f"excl. start+load (the default run's {big['scan_only_cpu_mb_s']:.2f} also counts the workers' start)")
    print("\n-- prebuilt Aho-Corasick automaton (pyahocorasick) over NIR, phone, e-mail as stored, same text")
    for key, label in (("big", "large"), ("small", "10k")):
        a, s = f["aho"][key], scan[key]  # type: ignore[index]
        print(f"  {label:5} {a['patterns']:>8} patterns: built in {a['build_s']:.1f} s ({a['build_cpu_s']:.1f} CPU-s), "
              f"{a['bytes'] / mib:.0f} MiB; scan {a['scan_cpu_s']:.2f} CPU-s = {a['scan_cpu_mb_s']:.2f} MB/CPU-s "
              f"({a['hits']} hits); leakwatch excl. start+load / automaton per CPU-s: "
              f"{s['scan_only_cpu_mb_s'] / a['scan_cpu_mb_s']:.3f}x"
              + (f" (one worker: {s['one_worker_scan_only_cpu_mb_s'] / a['scan_cpu_mb_s']:.3f}x)"
                 if "one_worker_scan_only_cpu_mb_s" in s else "") + "; index / automaton memory "
              f"{s['index']['bytes'] / a['bytes']:.2f}x")
    for key, label in (("big", f"{d['records']} records"), ("small", "10k records")):
        qq = q[key]
        print(f"\n-- detection quality, {label}: {qq['found']}/{qq['planted']} planted found "
              f"({100 * qq['rate']:.2f}%), {qq['false_records']} record(s) reported that were not planted")
        print(f"  {'form':16} {'planted':>7} {'found':>6} {'rate':>7} {'high':>5} {'medium':>6}  usual fields")
        for name, v in qq["per_form"].items():
            top = next(iter(v["fields"]), "")
            print(f"  {name:16} {v['planted']:>7} {v['found']:>6} {100 * v['rate']:>6.1f}% {v['high']:>5} "
                  f"{v['medium']:>6}  {top}")
        for name, v in qq["per_form"].items():
            for shape, count in sorted(v["missed_names"].items(), key=lambda kv: -kv[1]):
                print(f"  missed in {name}: {count} x {shape}")
        if qq["false_records"]:
            print(f"  not planted, by confidence: {qq['false_confidence']}; by fields: {qq['false_fields']}")
            for where, count in sorted(qq["false_by_form"].items(), key=lambda kv: -kv[1]):
                print(f"    {count:5}  {where}")
    if "profile" in f:
        for part in ("import", "scan"):
            p = f["profile"][part]
            extra = (f" ({p['records']} records, --workers 1)" if part == "import"
                     else " (large dataset, LEAKWATCH_SCAN_WORKERS=1: matching in the profiled process)")
            print(f"\n-- cProfile, {part}{extra}: {p['total_s']:.1f} s profiled")
            print("  by own time:")
            for r in p["by_tottime"][:20]:
                print(f"    {r['tottime_pct']:5.1f}%  {r['function']}  ({r['calls']} calls)")
            print("  leakwatch functions by cumulative time:")
            for r in p["by_cumtime_leakwatch"][:20]:
                print(f"    {r['cumtime_pct']:5.1f}%  {r['function']}")
    if "baseline" in f:
        base = f["git"]["baseline"]
        print(f"\n-- before/after: the baseline code ({base['path']}, HEAD {base['head']}) scanned the same text "
              "with the same homes, right after each scan above")
        for key, label in (("big", f"{d['records']} records"), ("small", "10k records")):
            b, s = f["baseline"][key], scan[key]
            bq, sq = b["quality"], q[key]
            print(f"  {label:16} end-to-end {b['wall_s']:.2f} s -> {s['wall_s']:.2f} s; CPU {b['cpu_s']:.2f} s -> "
                  f"{s['cpu_s']:.2f} s ({b['cpu_mb_s']:.2f} -> {s['cpu_mb_s']:.2f} MB/CPU-s; excl. start+load "
                  f"{b['scan_only_cpu_mb_s']:.2f} -> {s['scan_only_cpu_mb_s']:.2f}); found {bq['found']} -> "
                  f"{sq['found']}/{sq['planted']}; not planted {bq['false_records']} -> {sq['false_records']}")
        print(f"  {'form':16} {'before':>8} {'after':>8}   (large dataset)")
        for name, v in q["big"]["per_form"].items():
            bv = f["baseline"]["big"]["quality"]["per_form"][name]
            print(f"  {name:16} {100 * (bv['rate'] or 0):>7.1f}% {100 * (v['rate'] or 0):>7.1f}%")
    print("\n-- targets")
    for t in f["targets"]:
        print(f"  {verdict(t['pass'])}  {t['target']}: {t['value']} (goal {t['goal']})")


if __name__ == "__main__":
    main()
