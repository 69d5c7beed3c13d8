"""Several ``leakwatch run`` subprocesses on one PostgreSQL: each source polled once per interval,
a killed instance's sources and parts taken over, a large dump scanned by all, alerts sent once."""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from lw_channels import Receiver, wait_for, write_config
from synth import Person, complete, fr_date, grouped_nir, leak_csv_semicolon, people, spaced_phone, strip_accents
from test_daemon_e2e import Daemon, metrics
from test_daemon_postgres import import_on_postgresql

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sources"))
from lw_httpserver import Reply, Server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

INTERVAL = 2.0
LEASE = 4.0


def base_config(receiver: Receiver | None, extra: str = "") -> str:
    route = f'\n[[alerts.routes]]\nmin_severity = "medium"\nurls = ["{receiver.url}"]\n' if receiver else ""
    return f"""
allow_private_urls = ["127.0.0.1"]
http_host_interval = 0
http_retries = 0
scan_workers = 1

[daemon]
jitter = 0.5
shutdown_timeout = 2.0
log_level = "debug"

[cluster]
renew = 0.5
lease = {LEASE}
tick = 0.2
{extra}
[alerts]
retry_initial = 0.5
retry_max = 1.0
send_timeout = 3.0
delivery_interval = 0.3
{route}"""


def json_source(name: str, url: str, fetch: bool = False) -> str:
    return f"""
[[sources]]
name = "{name}"
driver = "json_api"
enabled = true
interval = "{INTERVAL:g}s"
expect_new = false
params = {{ url = "{url}", title = "title", link = "url", fetch_url = {str(fetch).lower()} }}
"""


def start_all(cli: Any, tmp_path: Path, n: int = 3, first_env: dict[str, str] | None = None) -> list[Daemon]:
    """``n`` instances started together (each waits for its own ``started`` line)."""
    daemons = [Daemon(cli, tmp_path / f"instance{i}.log", first_env if i == 0 else None) for i in range(n)]
    threads = [threading.Thread(target=d.start) for d in daemons]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    for d in daemons:
        assert d.proc is not None and d.proc.poll() is None, d.log()
    return daemons


def db(pg_url: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as con:
        return list(con.execute(query, args).fetchall())


def polled_again(pg_url: str) -> Any:
    """A condition for ``wait_for``: every source polled to its end once more since now, and no alert
    left pending. What was still to come (a second scan of an item, a second alert) would have come
    by then: polls and delivery passes counted, not a sleep guessed long enough."""
    before = dict(db(pg_url, "SELECT source, polls FROM source_lease"))

    def done() -> bool:
        polls = dict(db(pg_url, "SELECT source, polls FROM source_lease"))
        pending = db(pg_url, "SELECT count(*) FROM outbox WHERE status = 'pending'")[0][0]
        return pending == 0 and all(polls[source] > n for source, n in before.items())

    return done


def incident_ids(receiver: Receiver) -> list[int]:
    return sorted(int(m) for msg in receiver.messages() for m in re.findall(r"\(incident (\d+)\)", msg["title"]))


@pytest.fixture
def server() -> Any:
    s = Server()
    s.start()
    yield s
    s.stop()


def test_each_source_polled_once_per_interval_across_three_instances(cli: Any, pg_url: str, crowd: list[Person],
                                                                     tmp_path: Path, server: Server,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import_on_postgresql(cli, pg_url, crowd[:20], tmp_path, monkeypatch)
    hits: dict[str, list[float]] = {}
    lock = threading.Lock()

    def listing(path: str, headers: dict[str, str]) -> Reply:
        with lock:
            hits.setdefault(path, []).append(time.monotonic())
        return Reply("[]", headers={"Content-Type": "application/json"})

    names = [f"tracker{n:02d}" for n in range(20)]
    for name in names:
        server.route(f"/{name}/list.json", listing)
    write_config(cli.home, base_config(None) + "".join(json_source(n, server.url(f"/{n}/list.json")) for n in names))
    began = time.monotonic()
    daemons = start_all(cli, tmp_path, first_env={"LEAKWATCH_METRICS_ADDRESS": "127.0.0.1:0"})
    try:
        time.sleep(INTERVAL)  # past the first polls, which start as instances join
        t0 = time.monotonic()
        time.sleep(5 * INTERVAL)
        t1 = time.monotonic()
        status = json.loads(cli("status", "--json", check=0).stdout)
        exposed = metrics(daemons[0])
    finally:
        for d in daemons:
            d.terminate()
    lifetime = time.monotonic() - began
    with lock:
        counts = {n: sum(1 for t in hits.get(f"/{n}/list.json", []) if t0 <= t < t1) for n in names}
    print(f"\nlistings fetched per source over 5 intervals: {sorted(counts.values())}")
    assert all(4 <= c <= 6 for c in counts.values()), counts
    # shared, not repeated: every instance did some of the polls, and all of them together no more
    # than one per source per interval over the instances' whole life
    assert all(re.search(r"event=run ", d.log()) for d in daemons)
    assert not [d.log_path.name for d in daemons if "level=error" in d.log()]
    total = sum(n for (n,) in db(pg_url, "SELECT polls FROM source_lease"))
    assert total <= 20 * (lifetime / INTERVAL + 1), (total, lifetime)
    # what an operator checks: three instances alive, every source on time, the same figures in Prometheus
    assert [i["alive"] for i in status["instances"]] == [True] * 3
    assert {s["source"] for s in status["sources"]} == set(names)
    assert all(s["lag_seconds"] is not None and s["lag_seconds"] < 2 * INTERVAL for s in status["sources"])
    assert status["queue"]["parts"] == 0
    assert "leakwatch_instances_alive 3.0" in exposed
    assert exposed.count("leakwatch_source_lag_seconds{") == 20


def test_an_instance_with_another_key_is_refused(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    """Two keys on one database would each match nothing the other imported: said, not silent."""
    from leakwatch import keys
    from leakwatch.app import build
    from leakwatch.cluster import Member
    from leakwatch.errors import ConfigError

    monkeypatch.setenv("LEAKWATCH_HOME", str(tmp_path))
    members = []
    for name in ("a", "b", "c"):
        keys.create_key(tmp_path / name)
        members.append(Member(build(database_url=pg_url, key_file=tmp_path / name), []))
    members[0].join()
    with pytest.raises(ConfigError, match="key differs from the key of instance"):
        members[1].join()
    members[0].leave()  # gone: the next host may start with its own key (a new deployment)
    members[2].join()


def test_killed_instance_sources_taken_over_nothing_lost_or_doubled(cli: Any, pg_url: str, crowd: list[Person],
                                                                    tmp_path: Path, server: Server,
                                                                    receiver: Receiver,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import_on_postgresql(cli, pg_url, crowd[:120], tmp_path, monkeypatch)
    names = [f"index{n}" for n in range(6)]
    slow = "/index0/b.csv"
    killed_at: list[float] = []
    slow_hits: list[float] = []

    def slow_item(path: str, headers: dict[str, str]) -> Reply:
        slow_hits.append(time.monotonic())
        # the first fetch hangs (its instance is killed meanwhile); the next is served at once
        return Reply(leak_csv_semicolon(crowd[5:10]), delay=30 if len(slow_hits) == 1 else 0)

    for i, name in enumerate(names):
        entries = []
        for j, item in enumerate(("a", "b")):
            path = f"/{name}/{item}.csv"
            rows = crowd[(2 * i + j) * 5:(2 * i + j + 1) * 5]
            if path == slow:
                server.route(path, slow_item)
            else:
                server.route(path, Reply(leak_csv_semicolon(rows)))
            entries.append({"title": f"{name} {item}", "url": server.url(path)})
        server.route(f"/{name}/list.json", Reply(json.dumps(entries), headers={"Content-Type": "application/json"}))
    write_config(cli.home, base_config(receiver) + "".join(json_source(n, server.url(f"/{n}/list.json"), fetch=True)
                                                           for n in names))
    # The webhook is down until the kill: a send cut off by kill -9 after it reached the channel is
    # sent again (incidents/outbox.py: at most one duplicate), which would be this test's doing, not
    # a takeover's. Alerts queue meanwhile; the instances left deliver them, each once.
    receiver.stop()
    daemons = start_all(cli, tmp_path)
    victim = None
    try:
        wait_for(lambda: slow_hits, 30)
        holder = db(pg_url, "SELECT holder FROM source_lease WHERE source = 'index0'")[0][0]
        pid = int(holder.split(":")[1])
        victim = next(d for d in daemons if d.proc is not None and d.proc.pid == pid)
        victim.kill9()
        killed_at.append(time.monotonic())
        receiver.start()
        wait_for(lambda: slow_hits[-1] > killed_at[0], 30)
        takeover = slow_hits[-1] - killed_at[0]
        print(f"\nkilled mid-poll; the source was polled again by another instance after {takeover:.1f}s")
        assert takeover <= LEASE + INTERVAL + 2.0
        wait_for(lambda: db(pg_url, "SELECT count(*) FROM source_seen_item")[0][0] >= 12, 30)
        wait_for(lambda: len(receiver.messages()) >= 12, 30)
        wait_for(polled_again(pg_url), 30)  # more polls and delivery passes: nothing more may come
    finally:
        for d in daemons:
            if d is not victim:
                d.terminate()
    seen = db(pg_url, "SELECT source, key FROM source_seen_item ORDER BY 1, 2")
    assert len(seen) == 12 and len(set(seen)) == 12
    sightings = db(pg_url, "SELECT source, item_key, count(*) FROM sighting GROUP BY 1, 2")
    assert len(sightings) == 12 and {n for _, _, n in sightings} == {1}, sightings
    incidents = db(pg_url, "SELECT id, records, sightings FROM incident ORDER BY id")
    assert [(r, s) for _, r, s in incidents] == [(5, 1)] * 12
    assert incident_ids(receiver) == [i for i, _, _ in incidents]  # one alert per incident, once
    assert "lease_taken_over" in "".join(d.log() for d in daemons if d is not victim)
    assert not [d.log_path.name for d in daemons if d is not victim and "level=error" in d.log()]


PART = 128 * 1024


def dump_with_planted(path: Path, planted: list[Person], strangers: list[Person], size: int) -> None:
    """A semicolon dump of strangers with the planted records spread through it, several of them on
    the lines that cross a part's first byte offset."""

    def line(p: Person, n: int) -> str:
        return ";".join([f"{n:08d}", strip_accents(p.last_name).upper(), strip_accents(p.first_name).upper(),
                         fr_date(p.birth), grouped_nir(p.nir), spaced_phone(p.phone), p.email.upper()]) + "\n"

    todo = list(planted)
    out: list[str] = ["ID;NOM;PRENOM;DATE_NAISSANCE;NUM_SECU;TEL;MAIL\n"]
    offset, n, boundary = len(out[0]), 0, PART
    every = size // (len(planted) + 1)
    while offset < size:
        n += 1
        row = line(strangers[n % len(strangers)], n)
        if todo and (offset + len(row) > boundary or offset // every > len(planted) - len(todo)):
            row = line(todo.pop(), n)  # crosses the boundary, or its turn in the spread
        if offset + len(row) > boundary:
            boundary += PART
        out.append(row)
        offset += len(row)
    out.extend(line(p, n + i + 1) for i, p in enumerate(todo))
    path.write_text("".join(out), encoding="utf-8")


def test_shared_dump_scanned_in_parts_by_three_instances_one_killed(cli: Any, pg_url: str, crowd: list[Person],
                                                                   tmp_path: Path, receiver: Receiver,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import_on_postgresql(cli, pg_url, crowd, tmp_path, monkeypatch)
    drop = tmp_path / "drop"
    drop.mkdir()
    extra = f"split_bytes = {PART}\npart_bytes = {PART}\n"
    write_config(cli.home, base_config(receiver, extra) + f"""
[[sources]]
name = "drop"
driver = "folder"
enabled = true
interval = "1s"
params = {{ path = "{drop}", min_age = 0, done = "done" }}
""")
    planted = crowd[::5]  # 60 records
    dump = tmp_path / "dump.csv"
    dump_with_planted(dump, planted, people(800, seed=71), 3 * 1024 * 1024)
    daemons = start_all(cli, tmp_path)
    victim = None
    try:
        os.replace(dump, drop / "dump.csv")
        wait_for(lambda: db(pg_url, "SELECT count(*) FROM scan_part WHERE state = 'done'")
                 and db(pg_url, "SELECT count(*) FROM scan_part WHERE state = 'done'")[0][0] >= 4, 60)
        busy = db(pg_url, "SELECT holder FROM scan_part WHERE state = 'queued' AND holder IS NOT NULL")
        assert busy, "no part in progress to kill"
        pid = int(busy[0][0].split(":")[1])
        victim = next(d for d in daemons if d.proc is not None and d.proc.pid == pid)
        victim.kill9()
        wait_for(lambda: db(pg_url, "SELECT count(*) FROM scan_job WHERE folded_at IS NOT NULL")[0][0] == 1, 90)
        wait_for(lambda: len(receiver.messages()) >= 1, 30)
        wait_for(polled_again(pg_url), 30)  # more polls and delivery passes: nothing more may come
    finally:
        for d in daemons:
            if d is not victim:
                d.terminate()
    parts = db(pg_url, "SELECT count(*), count(DISTINCT done_by), max(attempts) FROM scan_part WHERE state = 'done'")
    jobs = db(pg_url, "SELECT parts FROM scan_job")
    print(f"\nparts: {parts[0][0]} done by {parts[0][1]} instances; most attempts at one part: {parts[0][2]}")
    assert parts[0][0] == jobs[0][0] and parts[0][1] >= 2
    incidents = db(pg_url, "SELECT id, records, sightings FROM incident")
    assert len(incidents) == 1 and incidents[0][2] == 1
    refs = db(pg_url, "SELECT ref FROM incident_ref WHERE incident_id = %s", incidents[0][0])
    assert sorted(r for (r,) in refs) == sorted(p.ipp for p in planted)
    assert incidents[0][1] == len(planted)
    assert incident_ids(receiver) == [incidents[0][0]]
    assert (cli.home / "done" / "dump.csv").exists() and not (drop / "dump.csv").exists()  # moved once folded
    assert not [d.log_path.name for d in daemons if d is not victim and "level=error" in d.log()]


def queue_and_scan_every_part(svc: Any, pg_url: str, dump: Path) -> tuple[list[tuple[Any, ...]], set[str]]:
    """Queue ``dump`` in parts as the drop folder does, then take and scan every part in this process:
    the parts' queued carry (header and CREATE TABLE offsets) and the refs found."""
    import hashlib

    from leakwatch.cluster import Member, offer
    from leakwatch.models import Item
    from leakwatch.sources.spec import parse_spec

    data = dump.read_bytes()
    item = Item(source="drop", key=dump.name, content=b"", name=dump.name,
                meta={"path": str(dump), "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
    assert offer(svc.engine, svc.settings, item)
    queued = db(pg_url, "SELECT head_from, head_to, tables FROM scan_part ORDER BY part_no")
    spec = parse_spec({"name": "drop", "driver": "folder", "enabled": True, "params": {"path": str(dump.parent)}},
                      "test")
    member = Member(svc, [spec])
    found: set[str] = set()
    while (part := member.claim_part()) is not None:
        found |= {f.ref for f in member.scan_part(part).findings if f.ref}
        db(pg_url, "UPDATE scan_part SET state = 'done' WHERE job_id = %s AND part_no = %s RETURNING job_id",
           part.job_id, part.part_no)
    return queued, found


def test_each_shared_part_is_read_with_the_header_it_continues(cli: Any, pg_url: str, crowd: list[Person],
                                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A shared CSV export cut into 16 KB parts: names and birth date four columns apart and no
    identifier, so a part is matched only if it is read with the file's header. The queue holds
    where that header is written, not its text."""
    from leakwatch.app import build

    import_on_postgresql(cli, pg_url, crowd, tmp_path, monkeypatch)
    svc = build(database_url=pg_url, cluster={"split_bytes": 1024, "part_bytes": 16 * 1024})
    planted = complete(crowd)[:60]  # their birth dates as exported: the dataset holds them
    header = "Nom;Service;Date visite;Ville;Prénom;Commentaire;Date de naissance\n"
    rows = [";".join([strip_accents(p.last_name).upper(), "URG", "12/05/2023", "SAINT-DENIS", p.first_name,
                      "RAS, " * (3 + i % 20), fr_date(p.birth)]) + "\n" for i, p in enumerate(planted)]
    filler = ";URG;12/05/2023;PARIS;;dossier non rapproché;\n" * 30
    dump = tmp_path / "export.csv"
    dump.write_text(header + "".join(filler + row for row in rows), encoding="utf-8")
    queued, found = queue_and_scan_every_part(svc, pg_url, dump)
    assert len(queued) > 5 and queued[0] == (0, 0, "")
    assert set(queued[1:]) == {(0, len(header.encode()) - 1, "")}, "every later part points at the header line"
    assert found == {p.ipp for p in planted}
    svc.close()


def test_each_shared_part_of_a_mysqldump_is_read_with_its_create_table(
        cli: Any, pg_url: str, crowd: list[Person], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """mysqldump names the columns once, in CREATE TABLE, and its INSERT lines name none: every
    part after the first is read after that statement (its byte offsets are queued, not its text)."""
    from leakwatch.app import build

    import_on_postgresql(cli, pg_url, crowd, tmp_path, monkeypatch)
    svc = build(database_url=pg_url, cluster={"split_bytes": 1024, "part_bytes": 16 * 1024})
    planted = complete(crowd)[:60]

    def q(value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    # As wide as real tables: without the column names, the first name is too far from the last.
    ward = "'URG','2023-05-12','SAINT-DENIS','Cardiologie','Aile B','Externe','Douleur thoracique','Sortant'"
    rows = [f"({n},{q(strip_accents(p.last_name).upper())},{ward},{q(p.first_name)},"
            f"{q('RAS, ' * (3 + n % 20))},'{p.birth_date}')" for n, p in enumerate(planted)]
    filler = ",".join(f"({1000 + n},'',{ward},'','dossier non rapproché','')" for n in range(30))
    create = ("CREATE TABLE `patients` (\n  `id` int NOT NULL,\n  `nom` varchar(64),\n  `service` varchar(16),\n"
              "  `date_visite` date,\n  `ville` varchar(64),\n  `unite` varchar(64),\n  `aile` varchar(16),\n"
              "  `mode` varchar(16),\n  `motif` varchar(128),\n  `statut` varchar(16),\n  `prenom` varchar(64),\n"
              "  `commentaire` text,\n  `date_naissance` date,\n  PRIMARY KEY (`id`)\n"
              ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n")
    dump = tmp_path / "dump.sql"
    dump.write_text("-- MySQL dump 10.13\n\n" + create + "\nLOCK TABLES `patients` WRITE;\n"
                    + "".join(f"INSERT INTO `patients` VALUES {filler},{row};\n" for row in rows), encoding="utf-8")
    queued, found = queue_and_scan_every_part(svc, pg_url, dump)
    at = dump.read_bytes().index(b"CREATE TABLE")
    assert len(queued) > 5 and queued[0][2] == ""
    assert {t for _, _, t in queued[1:]} == {f"{at}-{at + len(create.encode()) - 1}"}, "offsets, no text"
    assert found == {p.ipp for p in planted}
    svc.close()


def test_a_part_lost_five_times_is_stuck_not_retried_forever(pg_url: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Each taker killed mid-part (here: its lease left to lapse) five times: the part is given up,
    said in the status and the log, instead of every instance retrying it for ever."""
    import hashlib

    from leakwatch import keys
    from leakwatch.app import build
    from leakwatch.cluster import MAX_ATTEMPTS, Member, offer, status
    from leakwatch.models import Item
    from leakwatch.sources.spec import parse_spec

    monkeypatch.setenv("LEAKWATCH_HOME", str(tmp_path))
    keys.create_key(tmp_path / "key")
    svc = build(database_url=pg_url, cluster={"lease": 0.05, "split_bytes": 1024, "part_bytes": 4096})
    spec = parse_spec({"name": "drop", "driver": "folder", "enabled": True, "params": {"path": str(tmp_path)}}, "test")
    dump = tmp_path / "dump.csv"
    dump.write_bytes(b"".join(f"{n};DURAND;Paul;0{n % 9 + 1}/02/1980\n".encode() for n in range(300)))
    data = dump.read_bytes()
    item = Item(source="drop", key="dump", content=b"", name="dump.csv",
                meta={"path": str(dump), "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
    assert offer(svc.engine, svc.settings, item)
    assert offer(svc.engine, svc.settings, item)  # queued once: the second offer finds it
    assert db(pg_url, "SELECT count(*) FROM scan_job")[0][0] == 1
    member = Member(svc, [spec])
    taken = []
    while (part := member.claim_part()) is not None:
        taken.append(part.part_no)
        time.sleep(0.06)  # its holder "killed": the lease lapses
    parts = db(pg_url, "SELECT parts FROM scan_job")[0][0]
    assert sorted(taken) == sorted(list(range(parts)) * MAX_ATTEMPTS)
    queue = status(svc.engine, svc.settings.cluster, [spec])["queue"]
    assert queue["stuck"] == parts and queue["waiting"] == 0 and queue["leased"] == 0

