"""Scale-out on one PostgreSQL: how fast 1, 2 and 3 ``leakwatch run`` instances scan one large dump
shared in parts, and how many polls each source gets per interval against the ideal of one.

    python bench/scaleout.py                  # a 300 MB dump (the issue's few-hundred-MB case)
    python bench/scaleout.py --mb 24          # a quick run on a shared 2-core box

Needs PostgreSQL (``LEAKWATCH_TEST_PG_URL``, else ``postgres@127.0.0.1:5432/test``); each run gets a
fresh database, dropped after. Every instance runs with ``scan_workers = 1``, so N instances use N
cores at most: the per-core ratio is the speed-up over one instance divided by min(N, cores).

**dump**: a semicolon CSV of strangers with ``--planted`` records of the imported dataset spread
through it (bench/synthdata.py). The instances are started and idle before the dump is moved into
the drop folder; the time runs from the move to the moment the item is folded (its last part done),
so it includes the folder poll, hashing the file, queueing the parts, scanning them and the fold.
The CPU seconds the instances spent meanwhile are read from /proc: MB per CPU-second is the
per-core speed that wall time hides when other work shares the cores.
The planted records found in the one incident are checked against those planted.

**polls**: ``--sources`` JSON listings on a local HTTP server, polled every ``--interval`` seconds
by 3 instances for 5 intervals (after one interval of warm-up); the listings fetched per source
per interval are printed against the ideal of 1 (3 without leases: every instance polls every
source).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import synthdata  # noqa: E402

SCHEMA = ROOT / "fingerprints" / "patients.example.toml"
PG_ADMIN = os.environ.get("LEAKWATCH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
MB = 1_000_000


def log(msg: str) -> None:
    print(msg, flush=True)


class Database:
    """A fresh PostgreSQL database, dropped on exit."""

    def __init__(self) -> None:
        self.name = f"leakwatch_bench_{uuid.uuid4().hex[:10]}"
        self.admin = psycopg.connect(PG_ADMIN, autocommit=True)
        self.admin.execute(f'CREATE DATABASE "{self.name}"')
        base = PG_ADMIN.rsplit("/", 1)[0]
        self.url = f"{base}/{self.name}"
        self.sa_url = self.url.replace("postgresql://", "postgresql+psycopg://", 1)

    def query(self, sql: str) -> list[tuple[object, ...]]:
        with psycopg.connect(self.url, autocommit=True) as con:
            return list(con.execute(sql).fetchall())

    def drop(self) -> None:
        self.admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.admin.close()


class Home:
    """A LEAKWATCH_HOME on ``db``: key made, records imported, config written."""

    def __init__(self, tmp: Path, db: Database, records_csv: Path, config: str) -> None:
        self.dir = tmp / f"home-{db.name}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAKWATCH_", "CREDENTIALS_DIRECTORY",
                                                                              "NOTIFY_SOCKET", "STATE_DIRECTORY"))}
        self.env.update(LEAKWATCH_HOME=str(self.dir), LEAKWATCH_DATABASE_URL=db.sa_url, NO_COLOR="1")
        self.cli("init")
        self.cli("fingerprints", "import", str(records_csv), "--schema", str(SCHEMA))
        (self.dir / "config.toml").write_text(config, encoding="utf-8")

    def cli(self, *args: str) -> str:
        res = subprocess.run([sys.executable, "-m", "leakwatch", *args], env=self.env, cwd=ROOT, capture_output=True,
                             text=True, timeout=600)
        if res.returncode != 0:
            raise SystemExit(f"leakwatch {' '.join(args)} failed: {res.stderr.strip()[-500:]}")
        return res.stdout

    def start(self, n: int) -> list[subprocess.Popen[bytes]]:
        procs = []
        for i in range(n):
            with (self.dir / f"instance{i}.log").open("ab") as fh:
                procs.append(subprocess.Popen([sys.executable, "-m", "leakwatch", "run"], env=self.env, cwd=ROOT,
                                              stdout=fh, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 120
        for i, proc in enumerate(procs):
            while "event=started" not in (self.dir / f"instance{i}.log").read_text(errors="replace"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"instance {i} did not start: see {self.dir / f'instance{i}.log'}")
                time.sleep(0.1)
        return procs


def cpu_seconds(procs: list[subprocess.Popen[bytes]]) -> float:
    """User + system CPU seconds the instances used so far (from /proc; scan_workers = 1: no children)."""
    total = 0
    for p in procs:
        fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()


CLUSTER = """
scan_workers = 1
[daemon]
jitter = {jitter}
shutdown_timeout = 3.0
[cluster]
renew = 1.0
lease = 5.0
tick = 0.25
split_bytes = {split}
part_bytes = {part}
"""


def make_dump(path: Path, planted: list[synthdata.Person], people: synthdata.People, size: int, seed: int) -> None:
    import random

    rng = random.Random(seed)
    strangers = [synthdata.f_csv_semicolon(people.draw("S"), rng) for _ in range(20_000)]
    every = max(1, (size // 110) // (len(planted) + 1))
    todo = list(planted)
    written, n = 0, 0
    with path.open("w", encoding="utf-8") as fh:
        fh.write("NOM;PRENOM;DATE_NAISSANCE;NUM_SECU;TEL;MAIL\n")
        while written < size:
            n += 1
            if todo and n % every == 0:
                line = synthdata.f_csv_semicolon(todo.pop(), rng) + "\n"
            else:
                line = strangers[n % len(strangers)] + "\n"
            fh.write(line)
            written += len(line.encode())
        for p in todo:
            fh.write(synthdata.f_csv_semicolon(p, rng) + "\n")


def dump_run(n: int, tmp: Path, records_csv: Path, dump: Path, planted: set[str], args: argparse.Namespace
             ) -> dict[str, object]:
    db = Database()
    try:
        drop = tmp / f"drop-{n}"
        drop.mkdir()
        config = CLUSTER.format(jitter=0.0, split=args.part_mb * MB, part=args.part_mb * MB) + f"""
[[sources]]
name = "drop"
driver = "folder"
enabled = true
interval = "1s"
params = {{ path = "{drop}", min_age = 0 }}
"""
        home = Home(tmp, db, records_csv, config)
        index_bytes = db.query("SELECT sum(pg_total_relation_size(t)) FROM unnest(ARRAY['record', "
                               "'fingerprint_chunk', 'dataset']::regclass[]) AS t")[0][0]
        procs = home.start(n)
        try:
            size = dump.stat().st_size
            cpu0 = cpu_seconds(procs)
            t0 = time.monotonic()
            os.link(dump, drop / "dump.csv")
            while not db.query("SELECT 1 FROM scan_job WHERE folded_at IS NOT NULL"):
                if any(p.poll() is not None for p in procs):
                    raise SystemExit(f"an instance exited: see {home.dir}")
                time.sleep(0.1)
            seconds = time.monotonic() - t0
            cpu = cpu_seconds(procs) - cpu0
        finally:
            stop(procs)
        by = db.query("SELECT done_by, count(*) FROM scan_part GROUP BY done_by ORDER BY done_by")
        parts = db.query("SELECT count(*) FROM scan_part")[0][0]
        refs = {r for (r,) in db.query("SELECT ref FROM incident_ref")}
        incidents = db.query("SELECT count(*) FROM incident")[0][0]
    finally:
        db.drop()
    return {"instances": n, "bytes": size, "seconds": round(seconds, 2), "mb_s": round(size / MB / seconds, 2),
            "cpu_seconds": round(cpu, 1), "mb_per_cpu_s": round(size / MB / cpu, 2),
            "parts": parts, "parts_by_instance": sorted(c for _, c in by), "incidents": incidents,
            "planted_found": len(refs & planted), "planted": len(planted), "not_planted": len(refs - planted),
            "index_bytes_in_postgresql": int(index_bytes)}  # type: ignore[call-overload]


def polls_run(tmp: Path, records_csv: Path, args: argparse.Namespace) -> dict[str, object]:
    hits: dict[str, list[float]] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a: object) -> None:
            pass

        def do_GET(self) -> None:
            with lock:
                hits.setdefault(self.path, []).append(time.monotonic())
            body = b"[]"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    names = [f"tracker{i:02d}" for i in range(args.sources)]
    db = Database()
    try:
        sources = "".join(f"""
[[sources]]
name = "{name}"
driver = "json_api"
enabled = true
interval = "{args.interval:g}s"
expect_new = false
params = {{ url = "http://127.0.0.1:{port}/{name}.json", title = "title" }}
""" for name in names)
        config = ("allow_private_urls = [\"127.0.0.1\"]\nhttp_host_interval = 0\n"
                  + CLUSTER.format(jitter=args.interval / 2, split=256 * MB, part=32 * MB) + sources)
        home = Home(tmp, db, records_csv, config)
        procs = home.start(3)
        try:
            time.sleep(args.interval)
            t0 = time.monotonic()
            time.sleep(5 * args.interval)
            t1 = time.monotonic()
        finally:
            stop(procs)
    finally:
        db.drop()
        server.shutdown()
    with lock:
        counts = [sum(1 for t in hits.get(f"/{n}.json", []) if t0 <= t < t1) / 5 for n in names]
    return {"instances": 3, "sources": len(names), "interval_s": args.interval,
            "polls_per_interval_mean": round(sum(counts) / len(counts), 3), "min": min(counts), "max": max(counts),
            "ideal": 1.0, "without_leases": 3.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=300.0, help="size of the dump in MB (10^6 bytes)")
    ap.add_argument("--part-mb", type=int, default=8, help="split threshold and part size, MB")
    ap.add_argument("--records", type=int, default=10_000, help="records imported")
    ap.add_argument("--planted", type=int, default=500, help="records planted in the dump")
    ap.add_argument("--instances", default="1,2,3", help="instance counts to measure")
    ap.add_argument("--sources", type=int, default=20)
    ap.add_argument("--interval", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=1414)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="leakwatch-scaleout-") as name:
        tmp = Path(name)
        people = synthdata.People(args.seed)
        records = [people.draw() for _ in range(args.records)]
        records_csv = tmp / "records.csv"
        synthdata.write_records_csv(records_csv, records)
        planted = records[:: max(1, args.records // args.planted)][: args.planted]
        dump = tmp / "dump.csv"
        make_dump(dump, planted, people, int(args.mb * MB), args.seed + 1)
        log(f"dump: {dump.stat().st_size / MB:.1f} MB, {len(planted)} planted records, {args.records} imported; "
            f"parts of {args.part_mb} MB; {cores} cores; load average {os.getloadavg()[0]:.1f}")
        runs = []
        for n in (int(x) for x in args.instances.split(",")):
            r = dump_run(n, tmp, records_csv, dump, {p.ipp for p in planted}, args)
            runs.append(r)
            base = runs[0]["mb_s"]
            speedup = r["mb_s"] / base  # type: ignore[operator]
            r["speedup"] = round(speedup, 2)
            r["per_core_efficiency"] = round(speedup / min(n, cores), 2)
            log(f"  {n} instance(s): {r['mb_s']} MB/s ({r['seconds']} s), x{r['speedup']} over one instance, "
                f"{r['per_core_efficiency']:.0%} per core; {r['mb_per_cpu_s']} MB per CPU-second "
                f"({r['cpu_seconds']} CPU-s in all); parts {r['parts']} shared {r['parts_by_instance']}; "
                f"{r['incidents']} incident, planted found {r['planted_found']}/{r['planted']}, "
                f"others {r['not_planted']}; load average {os.getloadavg()[0]:.1f}")
        per_gb = args.records / (runs[0]["index_bytes_in_postgresql"] / 1e9)  # type: ignore[operator]
        log(f"index in PostgreSQL: {runs[0]['index_bytes_in_postgresql'] / 1e6:.1f} MB for {args.records} records "
            f"(tables record, fingerprint_chunk, dataset with indexes): {per_gb / 1e6:.1f}M records per GB")
        polls = polls_run(tmp, records_csv, args)
        log(f"polls: {polls['sources']} sources every {polls['interval_s']} s on 3 instances: "
            f"{polls['polls_per_interval_mean']} listing fetches per source per interval "
            f"(min {polls['min']}, max {polls['max']}; ideal 1, 3 without leases)")
    figures = {"cores": cores, "dump_mb": args.mb, "part_mb": args.part_mb, "records": args.records,
               "records_per_gb_of_index": round(per_gb),
               "runs": runs, "polls": polls, "bench_wall_s": round(time.perf_counter() - started, 1)}
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out / f"scaleout-{stamp}.json"
    out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    log(f"figures written to {out} (bench time {figures['bench_wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
