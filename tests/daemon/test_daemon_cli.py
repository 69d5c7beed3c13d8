"""The daemon's commands as an operator runs them: alerts test, doctor, incidents show/ack; and the
pieces of the daemon that are plain functions (log lines, sd_notify)."""

from __future__ import annotations

import json
import logging
import re
import socket
import tomllib
from pathlib import Path
from typing import Any

import pytest
from lw_channels import Receiver, SmtpSink, write_config

from leakwatch import daemon, log
from leakwatch.settings import Settings


def routes_toml(*urls: str, include_refs: bool = False) -> str:
    return ("[alerts]\nsend_timeout = 3.0\n\n[[alerts.routes]]\nmin_severity = \"medium\"\n"
            f"urls = {json.dumps(list(urls))}\ninclude_refs = {str(include_refs).lower()}\n")


def test_alerts_test_says_which_route_failed_without_its_secrets(imported: Any, receiver: Receiver,
                                                                  smtp: SmtpSink) -> None:
    cli = imported
    dead = "json://alice:t0ps3cretpassw0rd@127.0.0.1:1/"
    write_config(cli.home, routes_toml(receiver.url, smtp.url, dead))
    res = cli("alerts", "test")
    assert res.returncode == 1, res
    lines = res.stdout.splitlines()
    assert lines[0].startswith("ok    json://127.0.0.1:")
    assert lines[1].startswith("ok    mailto://")
    assert lines[2].startswith("FAIL  json://alice:****@127.0.0.1:1/: ") and "Connection" in lines[2]
    assert "t0ps3cretpassw0rd" not in res.stdout + res.stderr
    assert "1 of 3 route(s) failed" in res.stderr
    assert len(receiver.messages()) == 1 and len(smtp.messages) == 1
    assert "test alert" in receiver.messages()[0]["title"]
    as_json = [json.loads(x) for x in cli("alerts", "test", "--json").stdout.splitlines()]
    assert [x["ok"] for x in as_json] == [True, True, False]


def test_doctor_one_line_per_check_and_exit_1_on_a_bad_route(imported: Any) -> None:
    cli = imported
    write_config(cli.home, routes_toml("json://127.0.0.1:9/", "nosuchscheme://token@host"))
    res = cli("doctor")
    assert res.returncode == 1, res
    lines = res.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["ok", "home"], ["ok", "key"], ["ok", "database"], ["ok", "source"], ["ok", "route"], ["FAIL", "route"]]
    assert "token" not in res.stdout
    (cli.home / "key").chmod(0o644)
    res = cli("doctor", "--json")
    key = next(json.loads(x) for x in res.stdout.splitlines() if json.loads(x)["check"] == "key")
    assert not key["ok"] and "chmod 600" in key["detail"]


def test_usage_errors_are_one_line_with_exit_2(imported: Any) -> None:
    cli = imported
    for args in (["incidents", "show", "42"], ["alerts", "list", "--status", "x"], ["alerts", "test"]):
        res = cli(*args)
        assert res.returncode == 2, (args, res)
        assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    write_config(cli.home, "[alerts]\nnope = 1\n")
    res = cli("run", "--once")
    assert res.returncode == 2 and "alerts.nope" in res.stderr and "Traceback" not in res.stderr


def test_log_lines_are_key_value(capsys: Any) -> None:
    log.setup()
    log.event("sighting", incident=3, url="https://x.example/a b", note='say "hi"', skipped=None)
    logging.getLogger("leakwatch.runner").warning("drop: %s", "oops")
    out = capsys.readouterr().out.splitlines()
    assert out[-2].split(" ", 1)[1] == ('level=info event=sighting incident=3 url="https://x.example/a b" '
                                        'note="say \\"hi\\""')
    assert out[-1].endswith('level=warning event=log logger=leakwatch.runner msg="drop: oops"')


def test_sd_notify_datagrams(tmp_path: Path) -> None:
    path = tmp_path / "n.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        assert daemon.sd_notify("READY=1", "STATUS=ok", env={"NOTIFY_SOCKET": str(path)})
        assert sock.recv(100) == b"READY=1\nSTATUS=ok"
    assert not daemon.sd_notify("READY=1", env={})
    assert not daemon.sd_notify("READY=1", env={"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert daemon.watchdog_interval({"WATCHDOG_USEC": "4000000"}) == 2.0
    assert daemon.watchdog_interval({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"}) is None
    assert daemon.watchdog_interval({}) is None


@pytest.mark.subprocess_cli
def test_run_once_on_a_fresh_install(cli: Any) -> None:
    """The README's first command: no init, no config. The key is made as init would."""
    res = cli("run", "--once", check=0)
    assert "event=key_created" in res.stdout and "event=once_done" in res.stdout
    assert (cli.home / "key").stat().st_mode & 0o777 == 0o600
    assert cli.home.stat().st_mode & 0o777 == 0o700
    assert (cli.home / "drop").is_dir()


def test_the_settings_snippet_of_docs_systemd_md_loads(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("LEAKWATCH_HOME", str(tmp_path))
    doc = (Path(__file__).resolve().parents[2] / "docs" / "systemd.md").read_text(encoding="utf-8")
    snippets = re.findall(r"```toml\n(.*?)```", doc, re.S)
    assert snippets
    for snippet in snippets:
        settings = Settings(**tomllib.loads(snippet))
        assert settings.alerts.routes[0].min_severity == "medium"
        assert settings.daemon.shutdown_timeout == 5.0


def test_a_source_written_in_config_is_watched_unless_it_says_enabled_false(cli: Any) -> None:
    """As the issue's example writes it: a [[sources]] table with a driver and no ``enabled``."""
    drop = cli.home / "elsewhere"
    drop.mkdir(parents=True)
    write_config(cli.home, f'[[sources]]\nname = "mine"\ndriver = "folder"\npath = "{drop}"\ninterval = "30s"\n')
    res = cli("run", "--once", check=0)
    assert "source=mine" in res.stdout and "source=dropfolder" not in res.stdout
    write_config(cli.home, f'[[sources]]\nname = "mine"\ndriver = "folder"\npath = "{drop}"\nenabled = false\n')
    res = cli("run", "--once", check=0)
    assert "source=mine" not in res.stdout
