"""``leakwatch terms`` and term findings in ``leakwatch scan``, run as an analyst runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[2] / "data" / "terms"
TERMS = [
    ("AP-HP", "org"),
    ("Assistance Publique - Hôpitaux de Paris", "org"),
    ("aphp.fr", "domain"),
    ("srv-dpi-prod", "keyword"),
]
"""A short list (each CLI call costs seconds); the full realistic list is checked in-process."""


@pytest.fixture
def watching(cli):  # type: ignore[no-untyped-def]
    cli("init", check=0)
    for term, kind in TERMS:
        cli("terms", "add", term, "--kind", kind, check=0)
    return cli


def findings(stdout: str) -> list[dict[str, object]]:
    return [f for line in stdout.splitlines() for f in json.loads(line)["findings"]]


def test_add_list_remove(cli) -> None:  # type: ignore[no-untyped-def]
    cli("init", check=0)
    added = json.loads(cli("terms", "add", "aphp[.]fr", "--json", check=0).stdout)
    assert (added["term"], added["kind"], added["normal"], added["result"]) == (
        "aphp[.]fr", "domain", "aphp.fr", "added")
    assert "already watched" in cli("terms", "add", "APHP.FR", check=0).stdout
    cli("terms", "add", "Hôpital Européen Georges-Pompidou", check=0)
    listed = [json.loads(line) for line in cli("terms", "list", "--json", check=0).stdout.splitlines()]
    assert [(t["term"], t["kind"]) for t in listed] == [("aphp[.]fr", "domain"),
                                                        ("Hôpital Européen Georges-Pompidou", "org")]
    assert "Georges-Pompidou" in cli("terms", "list", check=0).stdout
    cli("terms", "remove", "hopital europeen georges pompidou", check=0)
    cli("terms", "remove", "aphp.fr", check=0)
    assert cli("terms", "list", "--json", check=0).stdout == ""


@pytest.mark.parametrize("args", [
    ["terms", "add", "de la"],
    ["terms", "add", "x"],
    ["terms", "add", "acme", "--kind", "company"],
    ["terms", "add", "not a domain", "--kind", "domain"],
    ["terms", "remove", "never-added"],
])
def test_bad_input_is_one_line_and_exit_2(cli, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    cli("init", check=0)
    result = cli(*args, check=2)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("leakwatch: error: ")
    assert "Traceback" not in result.stderr


def test_defanged_and_spaced_mentions_are_found(watching, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    paste = tmp_path / "paste.txt"
    paste.write_text(
        "== dump A.P.-H.P. / Assistance Publique Hopitaux de Paris ==\n"
        "creds: jean.dupont@aphp.fr:Winter2024!  marie.curie[at]chu.aphp[.]fr:azerty\n"
        "portal hxxps://portail.aphp[.]fr/ and backup host SRV-DPI-PROD02\n"
        "phishing kit for aphp-connexion.com\n", encoding="utf-8")
    result = watching("scan", str(paste), "--json", check=1)
    got = {(f["term"], f["match"]): f for f in findings(result.stdout)}
    assert all(f["type"] == "term" for f in got.values())
    assert got[("AP-HP", "mention")]["kind"] == "org"
    assert got[("Assistance Publique - Hôpitaux de Paris", "mention")]["score"] >= 88
    assert got[("aphp.fr", "email")]["count"] == 2
    assert got[("aphp.fr", "mention")]["count"] == 1
    assert got[("aphp.fr", "lookalike")]["kind"] == "domain"
    assert got[("aphp.fr", "lookalike")]["hosts"] == ["aphp-connexion[.]com"]  # which look-alike, defanged
    assert "hosts" not in got[("aphp.fr", "mention")]
    assert got[("srv-dpi-prod", "mention")]["kind"] == "keyword"
    for secret in ("jean.dupont", "marie.curie", "Winter2024", "azerty"):
        assert secret not in result.stdout and secret not in result.stderr

    table = watching("scan", str(paste), check=1).stdout
    assert "2 e-mail address(es) in text" in table and "AP-HP (org)" in table
    assert "jean.dupont" not in table


def test_truncated_victim_title_in_a_listing(watching, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    listing = tmp_path / "listing.html"
    listing.write_text("<html><body><table><tr><th>victim</th><th>group</th></tr>"
                       "<tr><td>assistance-publique-hopit...</td><td>somegroup</td></tr>"
                       "<tr><td>aphp.f...</td><td>other</td></tr></table></body></html>", encoding="utf-8")
    got = {(f["term"], f["match"]) for f in findings(watching("scan", str(listing), "--json", check=1).stdout)}
    assert got >= {("Assistance Publique - Hôpitaux de Paris", "truncated"), ("aphp.fr", "truncated")}


def test_ordinary_text_is_silent(watching) -> None:  # type: ignore[no-untyped-def]
    result = watching("scan", str(CORPUS), "--json", check=0)
    assert result.stdout == ""


def test_a_stored_term_this_release_cannot_watch_is_said_not_skipped(cli, tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    """A term an older, laxer release stored (or that a longer list of common words now refuses) is
    left out of matching: the scan warns of it, the daemon logs it, ``terms list`` and ``doctor`` show it."""
    import sqlite3

    cli("init", check=0)
    cli("terms", "add", "aphp.fr", check=0)
    with sqlite3.connect(cli.home / "leakwatch.db") as db:  # as an older release wrote it
        db.execute("INSERT INTO watch_term (term, kind, normal, added_at) VALUES ('H2', 'org', 'h2', "
                   "'2025-03-01 10:00:00.000000')")
    listed = {t["term"]: t for t in map(json.loads, cli("terms", "list", "--json", check=0).stdout.splitlines())}
    assert listed["aphp.fr"]["watched"] is True and "problem" not in listed["aphp.fr"]
    assert listed["H2"]["watched"] is False and "too short" in listed["H2"]["problem"]
    table = cli("terms", "list", check=0)
    assert "NO: term 'H2' is too short" in table.stdout and "1 term(s) not watched" in table.stderr

    doctor = cli("doctor", "--json")
    assert doctor.returncode == 1
    term_checks = [c for c in map(json.loads, doctor.stdout.splitlines()) if c["check"] == "term"]
    assert [(c["target"], c["ok"]) for c in term_checks] == [("H2", False)]

    doc = tmp_path / "paste.txt"
    doc.write_text("Fuite chez aphp.fr : H2 inclus\n", encoding="utf-8")
    scan = cli("scan", str(doc), check=1)
    assert "leakwatch: warning: term_not_watched term=H2 reason=\"term 'H2' is too short" in scan.stderr

    from leakwatch.app import build

    caplog.clear()
    with caplog.at_level("WARNING", logger="leakwatch"):
        svc = build(home=cli.home)
        try:
            assert len(svc.term_matcher.terms) == 1
        finally:
            svc.close()
    events = [r.kv for r in caplog.records if getattr(r, "kv", {}).get("event") == "term_not_watched"]
    assert [(e["term"], "too short" in e["reason"]) for e in events] == [("H2", True)]
