"""``leakwatch sources list|check`` and ``leakwatch scan URL`` run as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from lw_httpserver import Reply, Server
from synth import Person, leak_csv_semicolon


def _lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def _define(home: Path, name: str, text: str) -> None:
    (home / "sources.d").mkdir(parents=True, exist_ok=True)
    (home / "sources.d" / f"{name}.toml").write_text(text, encoding="utf-8")


def test_sources_list_shows_shipped_definitions_disabled(cli) -> None:
    result = cli("sources", "list", check=0)
    for name in ("pastebin", "github_gists", "ransomwatch", "ransomware_live", "hibp_breaches", "dropfolder"):
        assert name in result.stdout
    rows = {row["name"]: row for row in _lines(cli("sources", "list", "--json", check=0).stdout)}
    assert rows["ransomwatch"]["driver"] == "json_api" and rows["ransomwatch"]["enabled"] is False
    assert rows["ransomwatch"]["last_run"] is None
    cli.home.mkdir(parents=True, exist_ok=True)
    (cli.home / "config.toml").write_text('enabled_sources = ["ransomwatch"]\n')
    rows = {row["name"]: row for row in _lines(cli("sources", "list", "--json", check=0).stdout)}
    assert rows["ransomwatch"]["enabled"] is True


def test_sources_check_shows_items_and_findings_and_changes_nothing(cli, records, server: Server,
                                                                    crowd: list[Person]) -> None:
    server.route("/api_scraping.php", Reply(json.dumps([{"key": "PaSte0001", "date": "1714700000",
                                                         "title": "db dump", "size": "100"}])))
    server.route("/item", Reply(leak_csv_semicolon(crowd[:3])))
    _define(cli.home, "local_pastes", f'driver = "pastebin"\n[params]\nlist_url = "{server.url("/api_scraping.php")}"\n'
                                      f'item_url = "{server.url("/item?i={key}")}"\n')
    result = cli("sources", "check", "local_pastes", "--json", check=1)
    item, summary = _lines(result.stdout)
    assert item["key"] == "PaSte0001" and item["title"] == "db dump"
    assert {f["ref"] for f in item["findings"] if f["type"] == "record"} == {p.ipp for p in crowd[:3]}
    assert summary["new"] == 1 and summary["health"] == "ok"
    for p in crowd[:3]:
        assert p.email.upper() not in result.stdout and p.email not in result.stdout
    # nothing was recorded: the same item is new again; --commit records it as a real run would
    assert _lines(cli("sources", "check", "local_pastes", "--commit", "--json", check=1).stdout)[-1]["new"] == 1
    row = next(r for r in _lines(cli("sources", "list", "--json", check=0).stdout) if r["name"] == "local_pastes")
    assert row["last_run"] is not None and row["health"] == "ok" and row["items_seen"] == 1
    assert _lines(cli("sources", "check", "local_pastes", "--json", check=0).stdout)[-1]["new"] == 0


def test_sources_check_of_a_blocked_source_is_one_line_exit_2(cli, server: Server) -> None:
    server.fixture("/api_scraping.php", "pastebin_denied.txt")
    _define(cli.home, "pb", f'driver = "pastebin"\n[params]\nlist_url = "{server.url("/api_scraping.php")}"\n'
                            f'item_url = "{server.url("/item?i={key}")}"\n')
    result = cli("sources", "check", "pb", check=2)
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "access denied" in errors[0] and "Traceback" not in result.stderr
    assert "health failing" in result.stdout


def test_bad_definition_or_name_is_one_line_exit_2(cli) -> None:
    _define(cli.home, "typo", 'driver = "feed"\n[params]\nurl = "https://news.example.com/feed"\nlimit = 3\n')
    for args in (("sources", "list"), ("sources", "check", "typo")):
        result = cli(*args, check=2)
        assert result.stderr.count("\n") == 1 and "typo.toml: params.limit: Extra inputs" in result.stderr
    (cli.home / "sources.d" / "typo.toml").unlink()
    result = cli("sources", "check", "no_such_source", check=2)
    assert "no source named 'no_such_source'" in result.stderr and "Traceback" not in result.stderr


def test_scan_url_fetches_and_scans_one_page(cli, records, server: Server, crowd: list[Person]) -> None:
    server.route("/dump.csv", Reply(leak_csv_semicolon(crowd[5:9])))
    result = cli("scan", server.url("/dump.csv"), "--json", check=1)
    [doc] = _lines(result.stdout)
    assert doc["target"] == server.url("/dump.csv")
    assert {r["ref"] for r in doc["records"]} == {p.ipp for p in crowd[5:9]}
    assert server.requests[0].headers["user-agent"].startswith("leakwatch/")


def test_scan_url_errors_are_one_line_exit_2(cli, server: Server) -> None:
    cli("init", check=0)
    server.route("/big", Reply("z" * 5000))
    result = cli("scan", server.url("/missing"), check=2)
    assert result.stderr.strip().endswith("/missing: HTTP 404") and "Traceback" not in result.stderr
    cli.env["LEAKWATCH_MAX_ITEM_BYTES"] = "1000"
    result = cli("scan", server.url("/big"), check=2)
    errors = [line for line in result.stderr.splitlines() if line.startswith("leakwatch: error:")]
    assert len(errors) == 1 and "larger than the limit of 1000 bytes" in errors[0]
