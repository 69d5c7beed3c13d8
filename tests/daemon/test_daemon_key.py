"""The daemon with a wrong key: it refuses to start (exit 2, never READY=1), says why in its log and
as an operator alert to every route, once a day, and leaves the other queued alerts for a daemon
with the right key."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import SCHEMA
from lw_channels import Receiver, wait_for, write_config
from synth import leak_csv_semicolon, to_csv

from leakwatch.app import Services
from leakwatch.incidents import outbox

LEAKWATCH = [sys.executable, "-m", "leakwatch"]


def test_the_daemon_refuses_to_start_with_another_key_and_alerts_the_operator(
        imported: Any, receiver: Receiver, tmp_path: Path, make_services: Callable[..., Services]) -> None:
    cli = imported
    write_config(cli.home, f'[alerts]\nsend_timeout = 3.0\n\n[[alerts.routes]]\nurls = ["{receiver.url}"]\n')
    # An alert queued by a daemon with the right key, not yet sent (the channel was down).
    svc = make_services()
    with outbox.db_session(svc.engine) as s:
        svc.outbox.enqueue_operator(s, "ransomwatch", "failing", "HTTP 503")
        s.commit()
    svc.engine.dispose()

    wrong = tmp_path / "restored-backup.key"
    wrong.write_bytes(secrets.token_bytes(32))
    wrong.chmod(0o600)
    env = {**cli.env, "LEAKWATCH_KEY_FILE": str(wrong), "NOTIFY_SOCKET": str(tmp_path / "notify.sock")}
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(env["NOTIFY_SOCKET"])
        notify.settimeout(0.5)
        for _ in range(2):  # systemd restarts a failed service: the operator is told once a day
            proc = subprocess.run([*LEAKWATCH, "run"], env=env, capture_output=True, text=True, timeout=90)
            assert proc.returncode == 2, (proc.stdout, proc.stderr)
            assert proc.stderr.startswith(f"leakwatch: error: wrong key: {wrong} (LEAKWATCH_KEY_FILE) holds key id ")
            assert len(proc.stderr.splitlines()) == 1
            assert "event=key_mismatch " in proc.stdout and "event=started" not in proc.stdout
        try:
            ready = notify.recv(100)
        except TimeoutError:
            ready = b""
        assert b"READY=1" not in ready

    messages = receiver.messages()
    assert [m["title"] for m in messages] == ["[leakwatch] wrong key: the daemon refused to start"]
    assert str(wrong) in messages[0]["message"] and "leakwatch doctor" in messages[0]["message"]
    # The alert queued under the right key was neither sent nor given up by the wrong-key daemon...
    queued = [json.loads(x) for x in cli("alerts", "list", "--json", check=0).stdout.splitlines()]
    health = next(a for a in queued if a["alert"].startswith("health:ransomwatch"))
    assert health["status"] == "pending", health
    # ... and the daemon with the right key sends it.
    cli("run", "--once", check=0)
    assert any("ransomwatch" in m["title"] for m in receiver.messages())


def test_a_running_daemon_whose_key_no_longer_matches_alerts_then_recovers(
        imported: Any, receiver: Receiver, tmp_path: Path, crowd: list) -> None:
    """The systemd case: the daemon holds a copy of the key file made at its start; an operator
    rotates the file and re-imports with the CLI before restarting it. The daemon's polls fail,
    loudly (an operator alert naming the key), until it holds the new version; then the re-imported
    dataset is found."""
    cli = imported
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "leakwatch-key").write_bytes((cli.home / "key").read_bytes())
    (creds / "leakwatch-key").chmod(0o600)
    drop = tmp_path / "drop"
    drop.mkdir()
    write_config(cli.home, f'[alerts]\nsend_timeout = 3.0\ndelivery_interval = 0.5\n\n[[alerts.routes]]\n'
                           f'urls = ["{receiver.url}"]\n\n[[sources]]\nname = "drop"\ndriver = "folder"\n'
                           f'enabled = true\ninterval = "1s"\nparams = {{ path = "{drop}", min_age = 0 }}\n')
    log = tmp_path / "daemon.log"
    env = {**cli.env, "CREDENTIALS_DIRECTORY": str(creds), "LEAKWATCH_DAEMON__JITTER": "0"}
    with log.open("wb") as fh:
        proc = subprocess.Popen([*LEAKWATCH, "run"], env=env, stdout=fh, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "event=started" in log.read_text() or proc.poll() is not None, 60)
        assert proc.poll() is None, log.read_text()
        cli("key", "rotate", check=0)
        src = tmp_path / "patients.csv"
        src.write_text(to_csv(crowd), encoding="utf-8")
        cli("fingerprints", "import", str(src), "--schema", str(SCHEMA), check=0)
        failing = wait_for(lambda: [m for m in receiver.messages() if "failing" in m["title"]], 60)
        assert "wrong key" in failing[0]["message"] and "holds no key version 2" in failing[0]["message"]
        assert str(creds / "leakwatch-key") in failing[0]["message"]
        # The credential is renewed (systemd would at a restart): the next poll recovers, finds.
        (creds / "leakwatch-key").write_bytes((cli.home / "key").read_bytes())
        wait_for(lambda: [m for m in receiver.messages() if "recovered" in m["title"]], 60)
        (drop / "dump.csv").write_text(leak_csv_semicolon(crowd[:3]), encoding="utf-8")
        wait_for(lambda: [m for m in receiver.messages() if "3 record" in m["title"]], 60)
    finally:
        proc.terminate()
        proc.wait(30)


def test_alerts_queued_before_a_rotation_still_find_their_route(
        imported: Any, receiver: Receiver, make_services: Callable[..., Services]) -> None:
    cli = imported
    write_config(cli.home, f'[alerts]\nsend_timeout = 3.0\n\n[[alerts.routes]]\nurls = ["{receiver.url}"]\n')
    svc = make_services()
    with outbox.db_session(svc.engine) as s:
        assert svc.outbox.enqueue_operator(s, "ransomwatch", "failing", "HTTP 503") == 1
        s.commit()
    svc.engine.dispose()
    cli("key", "rotate", check=0)
    after = make_services()
    assert after.key.version == 2
    report = after.outbox.deliver_due()
    assert (report.sent, report.failed) == (1, 0)
    assert "ransomwatch" in receiver.messages()[0]["title"]
