"""End to end: ``python -m leakwatch run`` as a subprocess, watching a drop folder and a local leak
index over HTTP, alerting a real SMTP sink (apprise ``mailto://``) and a webhook (``json://``)."""

from __future__ import annotations

import datetime as dt
import email
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from email import policy
from pathlib import Path
from typing import Any

import pytest
from lw_channels import Listing, Receiver, SmtpSink, wait_for, write_config
from synth import Person, complete, leak_csv_semicolon, leak_json, leak_sql, secrets

LEAKWATCH = [sys.executable, "-m", "leakwatch"]
SCHEMA_TEXT = Path(__file__).resolve().parents[2] / "fingerprints" / "patients.example.toml"
pytestmark = pytest.mark.slow


class Daemon:
    """``leakwatch run`` in a subprocess, its log in a file."""

    def __init__(self, cli: Any, log: Path, env: dict[str, str] | None = None) -> None:
        self.cli = cli
        self.log_path = log
        self.env = {**cli.env, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *args: str) -> None:
        with self.log_path.open("ab") as fh:
            self.proc = subprocess.Popen([*LEAKWATCH, "run", *args], env=self.env, stdout=fh, stderr=subprocess.STDOUT)
        wait_for(lambda: self.log().count("event=started") >= self.starts + 1 or self.proc.poll() is not None, 60)
        assert self.proc.poll() is None, self.log()
        self.starts += 1

    starts = 0

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def terminate(self) -> tuple[int, float]:
        assert self.proc is not None
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(15)
        return rc, time.monotonic() - t0

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def mails(smtp: SmtpSink) -> list[str]:
    """Each e-mail received, decoded (headers and every text part), so encodings hide nothing."""
    out = []
    for raw in smtp.messages:
        msg = email.message_from_bytes(raw, policy=policy.default)
        parts = [str(msg["Subject"])]
        for part in msg.walk():
            if part.get_content_maintype() == "text":
                parts.append(part.get_content())
        out.append("\n".join(parts) + "\n" + raw.decode("utf-8", errors="replace"))
    return out


def planted_values(people: list[Person]) -> Iterator[str]:
    for p in people:
        yield from (*secrets(p), p.email.upper(), p.last_name, p.first_name, p.last_name.upper())


DAEMON = """
[daemon]
jitter = 0.0
shutdown_timeout = 3.0
"""


def drop_source(drop: Path) -> str:
    """The drop folder polled every second, files taken as soon as they appear."""
    return f"""
[[sources]]
name = "drop"
driver = "folder"
enabled = true
interval = "1s"
params = {{ path = "{drop}", min_age = 0 }}
"""


def config(home: Path, drop: Path, listing: Listing, urls: list[str]) -> str:
    return f"""
allow_private_urls = ["127.0.0.1"]
metrics_address = "127.0.0.1:0"
{DAEMON}
[alerts]
retry_initial = 0.5
retry_max = 1.0
send_timeout = 3.0
delivery_interval = 0.3

[[alerts.routes]]
min_severity = "medium"
urls = {json.dumps(urls)}
{drop_source(drop)}
[[sources]]
name = "index"
driver = "json_api"
enabled = true
interval = "1s"
params = {{ url = "{listing.url}", title = "title", date = "date", link = "url", fetch_url = true }}
"""


def db_incidents(home: Path) -> list[tuple[int, int, int]]:
    """(id, records, sightings) read straight from the database: cheaper than the CLI for polling."""
    con = sqlite3.connect(home / "leakwatch.db", timeout=30)
    try:
        return list(con.execute("SELECT id, records, sightings FROM incident ORDER BY id"))
    finally:
        con.close()


def outbox_statuses(home: Path) -> list[str]:
    """Each alert's delivery status, straight from the database (one row per incident and route)."""
    con = sqlite3.connect(home / "leakwatch.db", timeout=30)
    try:
        return [status for (status,) in con.execute("SELECT status FROM outbox ORDER BY id")]
    finally:
        con.close()


def incidents(cli: Any) -> list[dict[str, Any]]:
    res = cli("incidents", "list", "--json", check=0)
    return sorted((json.loads(line) for line in res.stdout.splitlines()), key=lambda i: i["id"])


def metrics(daemon: Daemon) -> str:
    """The daemon's /metrics, at the address its last start bound (``metrics_address`` port 0: the
    system picks a free port, said in the log as ``event=metrics address=...``)."""
    bound = re.findall(r"event=metrics address=(\S+)", daemon.log())
    assert bound, daemon.log()
    with urllib.request.urlopen(f"http://{bound[-1]}/metrics", timeout=5) as resp:
        return resp.read().decode()


@pytest.fixture
def listing() -> Iterator[Listing]:
    server = Listing()
    server.start()
    yield server
    server.stop()


def test_daemon_end_to_end(imported: Any, crowd: list[Person], tmp_path: Path, receiver: Receiver,
                           smtp: SmtpSink, listing: Listing) -> None:
    cli = imported
    drop = tmp_path / "drop"
    drop.mkdir()
    write_config(cli.home, config(cli.home, drop, listing, [receiver.url, smtp.url]))
    daemon = Daemon(cli, tmp_path / "daemon.log")
    try:
        daemon.start()
        # 1. A dump dropped in the folder and another published on the index: one alert per route each.
        first, second = crowd[:25], crowd[100:130]
        t0 = time.monotonic()
        (drop / "dump.csv").write_text(leak_csv_semicolon(first), encoding="utf-8")
        published = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)).isoformat()
        listing.publish("patients.json", leak_json(second).encode(), published)
        wait_for(lambda: len(receiver.bodies) >= 2 and len(smtp.messages) >= 2, 60)
        latency = time.monotonic() - t0
        print(f"\ndetection to alert on both routes: {latency:.1f}s")
        found = incidents(cli)
        assert [(i["records"], i["sightings"]) for i in found] == [(25, 1), (30, 1)] or \
            [(i["records"], i["sightings"]) for i in found] == [(30, 1), (25, 1)]
        indexed = next(i for i in found if i["records"] == 30)
        assert indexed["detection_seconds"] is not None and 590 < indexed["detection_seconds"] < 700

        exposed = metrics(daemon)
        assert 'leakwatch_items_fetched_total{source="drop"} 1.0' in exposed
        assert 'leakwatch_items_fetched_total{source="index"} 1.0' in exposed
        assert "leakwatch_detection_latency_seconds_count 1.0" in exposed
        assert 'leakwatch_source_healthy{source="index"} 1.0' in exposed

        # 2. The folder's dump reposted on the index: the same incident, no new alert.
        listing.publish("repost.csv", leak_csv_semicolon(first).encode(), published)
        wait_for(lambda: any(i[2] == 2 for i in db_incidents(cli.home)), 60)
        assert len(db_incidents(cli.home)) == 2
        # The sighting and any alert it queues are committed together: with the sighting seen, the
        # outbox holds every alert there will be for it. Two incidents, two routes, all sent: nothing
        # more can go out (no sleep waiting for an absence). A row is marked sent just after its send
        # returns: wait for that mark, not for time.
        wait_for(lambda: "pending" not in outbox_statuses(cli.home), 30)
        assert outbox_statuses(cli.home) == ["sent"] * 4
        assert len(receiver.bodies) == 2 and len(smtp.messages) == 2

        # 3. The webhook down: its alert waits (mail goes out), then arrives once it is back.
        receiver.stop()
        third = crowd[200:215]
        (drop / "third.sql").write_text(leak_sql(third), encoding="utf-8")
        wait_for(lambda: len(smtp.messages) >= 3, 60)
        wait_for(lambda: "event=alert_retry" in daemon.log(), 30)
        pending = [json.loads(x) for x in cli("alerts", "list", "--status", "pending", "--json",
                                              check=0).stdout.splitlines()]
        assert len(pending) == 1 and pending[0]["route"] == receiver.url and pending[0]["last_error"]

        # 4. kill -9 while that send hangs, restart: the alert arrives once, nothing else is repeated.
        receiver.hang = True
        receiver.start()
        wait_for(lambda: receiver.hung >= 1, 30)
        daemon.kill9()
        receiver.hang = False
        time.sleep(0.2)
        daemon.start()
        wait_for(lambda: len(receiver.bodies) >= 3, 60)
        # Every alert marked sent (a row is marked once its send returned): nothing is left to send
        # again, so the counts below are final.
        wait_for(lambda: outbox_statuses(cli.home) == ["sent"] * 6, 30)
        assert len(receiver.bodies) == 3 and len(smtp.messages) == 3
        assert "event=outbox_leases_released" in daemon.log()
        statuses = [json.loads(x)["status"] for x in cli("alerts", "list", "--json", check=0).stdout.splitlines()]
        assert statuses == ["sent"] * 6

        # The messages: the facts, the command for the refs, no value and no ref.
        hooks = [m["title"] + "\n" + m["message"] for m in receiver.messages()]
        for text in hooks + mails(smtp):
            assert "leakwatch incidents show" in text and "Field kinds:" in text
            assert "IPP" not in text
        everything = "\n".join(hooks + mails(smtp)) + daemon.log()
        for value in planted_values(first + second + third):
            assert value not in everything, value

        assert 'leakwatch_alerts{status="sent"} 6.0' in metrics(daemon)

        # 5. SIGTERM: a clean exit, quickly.
        rc, seconds = daemon.terminate()
        print(f"SIGTERM exit: rc={rc} in {seconds:.2f}s")
        assert rc == 0 and seconds < 10
        assert "event=stopped" in daemon.log() and "Traceback" not in daemon.log()
    finally:
        daemon.stop()


def test_run_on_defaults_and_sd_notify(imported: Any, tmp_path: Path, crowd: list[Person]) -> None:
    """No config: the default drop folder is watched; under systemd: READY, WATCHDOG, STOPPING."""
    cli = imported
    assert not (cli.home / "config.toml").exists()
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(30)
    daemon = Daemon(cli, tmp_path / "daemon.log", env={"NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": "400000"})
    try:
        daemon.start()
        got: list[str] = []
        while not any("WATCHDOG=1" in g for g in got):
            got.append(sock.recv(4096).decode())
        assert got[0].startswith("READY=1")
        assert (cli.home / "drop").is_dir()
        rc, seconds = daemon.terminate()
        assert rc == 0 and seconds < 10
        while "STOPPING=1" not in got[-1]:
            got.append(sock.recv(4096).decode())
    finally:
        daemon.stop()
        sock.close()
    # --once runs every enabled source once and exits; a file in the drop folder makes an incident.
    dump = cli.home / "drop" / "dump.txt"
    three = complete(crowd)[:3]  # patients whose export holds every field
    dump.write_text(leak_csv_semicolon(three), encoding="utf-8")
    old = time.time() - 60
    os.utime(dump, (old, old))
    res = cli("run", "--once", check=0)
    assert "event=once_done" in res.stdout
    # The analyst's view: refs and field kinds, never a value; then acknowledged.
    shown = json.loads(cli("incidents", "show", "1", "--json", check=0).stdout)
    assert (shown["records"], shown["severity"], shown["status"]) == (3, "medium", "open")
    assert sorted(r["ref"] for r in shown["refs"]) == sorted(p.ipp for p in three)
    assert {"nir", "phone", "email"} <= set(shown["refs"][0]["fields"])
    assert shown["sightings_list"][0]["source"] == "dropfolder"
    assert not dump.exists()  # scanned, then moved to drop-done
    text = cli("incidents", "show", "1", check=0).stdout
    assert three[0].ipp in text and three[0].nir not in text and three[0].email not in text
    assert json.loads(cli("incidents", "ack", "1", "--json", check=0).stdout)["status"] == "acked"


def test_sigterm_mid_scan_finishes_or_rolls_back_the_item(imported: Any, tmp_path: Path,
                                                          crowd: list[Person]) -> None:
    """A large file being scanned when SIGTERM comes: exit 0 quickly, and the file is either recorded
    (finished before exit) or not at all (rolled back, scanned again at the next start)."""
    cli = imported
    write_config(cli.home, "[daemon]\nshutdown_timeout = 1.0\njitter = 0.0\n")
    drop = cli.home / "drop"
    drop.mkdir()
    big = drop / "big.csv"
    chunk = leak_csv_semicolon(crowd[:50])
    with big.open("w", encoding="utf-8") as fh:
        for _ in range(6_000_000 // len(chunk)):
            fh.write(chunk)
    old = time.time() - 60
    os.utime(big, (old, old))
    daemon = Daemon(cli, tmp_path / "daemon.log")
    try:
        daemon.start()
        time.sleep(1.0)
        rc, seconds = daemon.terminate()
        rolled_back = "event=run_cancelled" in daemon.log()
        print(f"\nSIGTERM mid-scan: rc={rc} in {seconds:.2f}s, {'rolled back' if rolled_back else 'finished'}")
        assert rc == 0 and seconds < 10, daemon.log()
        assert "Traceback" not in daemon.log()
    finally:
        daemon.stop()
    # Either the item was recorded (seen, with its sighting) or nothing of it was: then the next
    # start scans it again. Never half of it.
    con = sqlite3.connect(cli.home / "leakwatch.db", timeout=30)
    try:
        seen = con.execute("SELECT count(*) FROM source_seen_item").fetchone()[0]
    finally:
        con.close()
    found = [(r, s) for _, r, s in db_incidents(cli.home)]
    assert (seen, found) == ((0, []) if rolled_back else (1, [(50, 1)]))


def test_a_running_daemon_picks_up_new_fingerprints_and_terms(imported: Any, tmp_path: Path) -> None:
    """An import and a watch term added while the daemon runs are used at the next poll, no restart."""
    from synth import people, to_csv

    cli = imported
    drop = tmp_path / "drop"
    drop.mkdir()
    write_config(cli.home, DAEMON + drop_source(drop))
    daemon = Daemon(cli, tmp_path / "daemon.log")
    try:
        daemon.start()
        # A first scan, so that the index and the terms are loaded before they change.
        (drop / "hello.txt").write_text("Bonjour, rien à signaler.\n", encoding="utf-8")
        wait_for(lambda: "scanned=1" in daemon.log(), 30)
        newcomers = people(6, seed=77)
        schema = tmp_path / "newcomers.toml"
        schema.write_text(SCHEMA_TEXT.read_text(encoding="utf-8").replace('name = "patients"', 'name = "newcomers"'),
                          encoding="utf-8")
        csv_path = tmp_path / "newcomers.csv"
        csv_path.write_text(to_csv(newcomers), encoding="utf-8")
        cli("fingerprints", "import", str(csv_path), "--schema", str(schema), check=0)
        cli("terms", "add", "Clinique des Lilas", "--kind", "org", check=0)
        (drop / "dump.csv").write_text("Fuite Clinique des Lilas\n" + leak_csv_semicolon(newcomers), encoding="utf-8")
        wait_for(lambda: db_incidents(cli.home), 60)
        shown = json.loads(cli("incidents", "show", "1", "--json", check=0).stdout)
        assert sorted(r["ref"] for r in shown["refs"]) == sorted(p.ipp for p in newcomers)
        assert {r["dataset"] for r in shown["refs"]} == {"newcomers"}
        assert shown["terms"] == ["Clinique des Lilas"]
        assert "event=reloaded" in daemon.log()
    finally:
        daemon.stop()
