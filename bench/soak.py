"""Soak test: the daemon (``leakwatch run``) for a while against fast local sources and a busy drop
folder. Prints, each interval, the daemon's RSS (with its worker processes), its open file
descriptors and the items done; at the end, whether anything was lost. Flat is the target.

    .venv/bin/python bench/soak.py                  # 10 minutes
    .venv/bin/python bench/soak.py --minutes 2 --files-per-second 4 --interval 30

Everything is synthetic (bench/synthdata.py) and lives in a temporary home that is removed after.
The sources: a drop folder fed ``--files-per-second`` small dumps (a few records among strangers),
moved to ``done`` once scanned; and a JSON listing on a local HTTP server that gains
``--entries-per-second`` entries, each a page fetched and scanned (``fetch_url``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import synthdata

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "fingerprints" / "patients.example.toml"


class Listing:
    """A tracker-like JSON listing that grows; each entry links to a page holding a few records."""

    def __init__(self, records: list[synthdata.Person], strangers: list[synthdata.Person]) -> None:
        self.records, self.strangers = records, strangers
        self.entries: list[dict[str, str]] = []
        self.lock = threading.Lock()
        listing = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.startswith("/list.json"):
                    with listing.lock:
                        body = json.dumps(listing.entries[-200:]).encode()
                elif self.path.startswith("/page/"):
                    body = listing.page(int(self.path.rsplit("/", 1)[1])).encode()
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add(self) -> None:
        with self.lock:
            n = len(self.entries)
            self.entries.append({"title": f"victim-{n}.example", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                 "url": f"{self.base}/page/{n}"})

    def page(self, n: int) -> str:
        rng = random.Random(n)
        people = rng.sample(self.records, 3) + rng.sample(self.strangers, 20)
        rng.shuffle(people)
        return "\n".join(f"{p.last_name};{p.first_name};{p.email};{p.phone};{p.birth_date}" for p in people)


def drop_file(folder: Path, n: int, records: list[synthdata.Person], strangers: list[synthdata.Person]) -> None:
    rng = random.Random(10_000 + n)
    people = rng.sample(records, 5) + rng.sample(strangers, 200)
    rng.shuffle(people)
    text = "nom;prenom;email;telephone;nir\n" + "\n".join(
        f"{p.last_name};{p.first_name};{p.email};{p.phone};{p.nir}" for p in people)
    tmp = folder / f".dump-{n:06d}.csv.part"
    tmp.write_text(text, encoding="utf-8")
    tmp.rename(folder / f"dump-{n:06d}.csv")  # appears whole, as an analyst's mv would


def tree(pid: int) -> list[int]:
    """The daemon and its descendants (the scan workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def done_counts(db: Path) -> dict[str, int]:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return dict(con.execute("SELECT source, count(*) FROM source_seen_item GROUP BY source").fetchall())
        finally:
            con.close()
    except sqlite3.Error:
        return {}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--interval", type=float, default=60.0, help="seconds between two reports")
    ap.add_argument("--files-per-second", type=float, default=2.0)
    ap.add_argument("--entries-per-second", type=float, default=2.0)
    ap.add_argument("--records", type=int, default=5000, help="synthetic records imported")
    ap.add_argument("--keep", action="store_true", help="keep the temporary home")
    args = ap.parse_args()

    base = Path(tempfile.mkdtemp(prefix="leakwatch-soak-"))
    home, drop = base / "home", base / "drop"
    drop.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAKWATCH_", "NOTIFY_SOCKET"))}
    env["LEAKWATCH_HOME"] = str(home)
    lw = [sys.executable, "-m", "leakwatch"]
    people = synthdata.People(seed=7)
    records = [people.draw("R") for _ in range(args.records)]
    strangers = [people.draw("S") for _ in range(2000)]
    csv_path = base / "records.csv"
    synthdata.write_records_csv(csv_path, records)
    for cmd in (["init"], ["fingerprints", "import", str(csv_path), "--schema", str(SCHEMA)],
                ["terms", "add", "Hôpital Exemple", "--kind", "org"]):
        subprocess.run([*lw, *cmd], env=env, check=True, capture_output=True)
    csv_path.unlink()
    listing = Listing(records, strangers)
    (home / "config.toml").write_text(f"""
allow_private_urls = ["127.0.0.1"]
http_host_interval = 0.0
[daemon]
jitter = 0.0
[[sources]]
name = "drop"
driver = "folder"
enabled = true
interval = "1s"
params = {{ path = "{drop}", done = "{base / 'done'}", min_age = 0 }}
[[sources]]
name = "tracker"
driver = "json_api"
enabled = true
interval = "1s"
[sources.params]
url = "{listing.base}/list.json"
title = "title"
date = "date"
link = "url"
fetch_url = true
""", encoding="utf-8")

    log = open(base / "daemon.log", "wb")  # noqa: SIM115
    daemon = subprocess.Popen([*lw, "run"], env=env, stdout=log, stderr=subprocess.STDOUT)
    stop = threading.Event()
    fed = {"drop": 0, "tracker": 0}

    def feed() -> None:
        start = time.monotonic()
        while not stop.is_set():
            elapsed = time.monotonic() - start
            while fed["drop"] < int(elapsed * args.files_per_second):
                drop_file(drop, fed["drop"], records, strangers)
                fed["drop"] += 1
            while fed["tracker"] < int(elapsed * args.entries_per_second):
                listing.add()
                fed["tracker"] += 1
            stop.wait(0.1)

    feeder = threading.Thread(target=feed, daemon=True)
    print(f"soak: {args.minutes:g} min, {args.files_per_second:g} files/s into the drop folder, "
          f"{args.entries_per_second:g} listing entries/s, {args.records} records; home {home}", flush=True)
    print(f"{'t (s)':>6} {'RSS MB':>8} {'fds':>5} {'procs':>5} {'drop done':>9} {'tracker done':>12} "
          f"{'per interval':>12} {'backlog':>7}", flush=True)
    time.sleep(3)  # the daemon's start
    feeder.start()
    started = time.monotonic()
    last_total = 0
    samples: list[tuple[float, int]] = []
    try:
        while time.monotonic() - started < args.minutes * 60:
            time.sleep(min(args.interval, max(0.1, args.minutes * 60 - (time.monotonic() - started))))
            if daemon.poll() is not None:
                print(f"soak: the daemon exited with {daemon.returncode}", flush=True)
                break
            counts = done_counts(home / "leakwatch.db")
            total = sum(counts.values())
            pids = tree(daemon.pid)
            rss, nfd = rss_mb(pids), fds(daemon.pid)
            samples.append((rss, nfd))
            backlog = fed["drop"] - counts.get("drop", 0) + fed["tracker"] - counts.get("tracker", 0)
            print(f"{time.monotonic() - started:6.0f} {rss:8.1f} {nfd:5d} {len(pids):5d} {counts.get('drop', 0):9d} "
                  f"{counts.get('tracker', 0):12d} {total - last_total:12d} {backlog:7d}", flush=True)
            last_total = total
    finally:
        stop.set()
        feeder.join()
    # drain: everything fed must be done
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and daemon.poll() is None:
        counts = done_counts(home / "leakwatch.db")
        if counts.get("drop", 0) >= fed["drop"] and counts.get("tracker", 0) >= fed["tracker"]:
            break
        time.sleep(1)
    daemon.send_signal(signal.SIGTERM)
    try:
        code = daemon.wait(60)
    except subprocess.TimeoutExpired:
        daemon.kill()
        code = daemon.wait()
    log.close()
    counts = done_counts(home / "leakwatch.db")
    moved = len(list((base / "done").glob("*.csv"))) if (base / "done").exists() else 0
    left = len(list(drop.glob("*.csv")))
    lost = (fed["drop"] - counts.get("drop", 0)) + (fed["tracker"] - counts.get("tracker", 0))
    errors = sum(1 for line in (base / "daemon.log").read_text(errors="replace").splitlines()
                 if "level=error" in line)
    print(f"fed: {fed['drop']} files, {fed['tracker']} listing entries; done: {counts.get('drop', 0)} files "
          f"({moved} moved to done, {left} left in the drop folder), {counts.get('tracker', 0)} entries; "
          f"lost: {lost}; error lines in the daemon's log: {errors}; daemon exit {code}", flush=True)
    if samples:
        first, peak, final = samples[0], max(s[0] for s in samples), samples[-1]
        print(f"RSS first {first[0]:.1f} MB, peak {peak:.1f} MB, last {final[0]:.1f} MB; "
              f"fds first {first[1]}, last {final[1]}", flush=True)
    if args.keep:
        print(f"kept: {base}")
    else:
        shutil.rmtree(base, ignore_errors=True)
    return 0 if lost == 0 and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
