"""``incidents note`` and ``incidents report``: the DPO's notification draft from a real incident,
with the analyst's notes escaped, refs only in an annex when asked, and no leaked value."""

from __future__ import annotations

import datetime as dt
import html.parser
import json
from collections.abc import Callable
from typing import Any

import pytest
from lw_channels import write_config
from synth import Person, leak_csv_semicolon, secrets

from leakwatch.app import Services
from leakwatch.models import Item
from leakwatch.pipeline import scan_item
from leakwatch.storage.store import session

HOSTILE = ('Takedown asked <script>alert(1)</script> <img src=x onerror=alert(2)> **bold** '
           '[click](javascript:alert(3))\n# not a heading | not a cell')


@pytest.fixture
def incident(make_services: Callable[..., Services], crowd: list[Person], imported: Any) -> tuple[Any, list[Person]]:
    write_config(imported.home, 'organisation = "Hôpital Saint-Exemple"\n')
    svc = make_services()
    leaked = crowd[40:52]
    published = dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    for source, key in (("pastes", "r1"), ("mirror", "r2")):
        item = Item(source=source, key=key, content=leak_csv_semicolon(leaked).encode(),
                    url=f"https://{source}.example/{key}", published_at=published if key == "r1" else None)
        result = scan_item(svc, item)
        with session(svc.engine) as s:
            svc.sink.record(s, item, result)
            s.commit()
    return imported, leaked


class Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [v or "" for k, v in attrs if k in ("href", "src")]


def test_notes_are_kept_with_author_and_shown(incident: tuple[Any, list[Person]]) -> None:
    cli, _ = incident
    added = json.loads(cli("incidents", "note", "1", HOSTILE, "--author", "a.martin", "--json", check=0).stdout)
    assert added["incident"] == 1 and added["author"] == "a.martin" and added["text"] == HOSTILE
    assert cli("incidents", "note", "1", "-", input=b"DPO informed by phone\n", check=0).stdout.strip() \
        == "note 2 added to incident 1"
    shown = json.loads(cli("incidents", "show", "1", "--json", check=0).stdout)
    assert [n["text"] for n in shown["notes"]] == [HOSTILE, "DPO informed by phone"]
    assert shown["notes"][1]["author"]  # the login of whoever ran it
    text = cli("incidents", "show", "1", check=0).stdout
    assert "notes" in text and "a.martin" in text and "DPO informed by phone" in text
    for args, message in ((["1", "   "], "note: empty text"), (["7", "x"], "no incident 7"),
                          (["1", "a\x07b"], "control character U+0007"), (["1", "x" * 5000], "at most 4000")):
        result = cli("incidents", "note", *args)
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert len(json.loads(cli("incidents", "show", "1", "--json", check=0).stdout)["notes"]) == 2


def test_the_draft_holds_what_the_cnil_form_asks(incident: tuple[Any, list[Person]], crowd: list[Person]) -> None:
    cli, leaked = incident
    cli("incidents", "note", "1", "Paste removed by the host at 14:00", "--author", "a.martin", check=0)
    cli("incidents", "ack", "1", check=0)
    md = cli("incidents", "report", "1", check=0).stdout
    sections = ["## 1. Nature of the breach", "## 2. Categories of personal data",
                "## 3. Approximate number of people and of records", "## 4. Dates", "## 5. Where the data surfaced",
                "## 6. Likely consequences", "## 7. Measures taken"]
    assert [md.index(s) for s in sections] == sorted(md.index(s) for s in sections)
    assert "Hôpital Saint-Exemple" in md and "loss of confidentiality" in md
    assert "National identification number (NIR" in md and "Contact details: e-mail addresses" in md
    assert "Records concerned: **12**" in md and "People concerned: about **12**" in md
    assert "5.0 h after publication" in md and "72-hour deadline" in md
    assert "pastes.example/r1" in md and "mirror.example/r2" in md
    assert "identity theft, misuse of the social security number" in md and "To complete by the DPO" in md
    assert "Paste removed by the host at 14:00" in md and "acknowledged by an analyst" in md
    assert "Annex" not in md and all(p.ipp not in md for p in crowd)
    for p in leaked:
        for value in secrets(p) | {p.last_name}:
            assert value.lower() not in md.lower()

    annexed = cli("incidents", "report", "1", "--include-refs", check=0).stdout
    annex = annexed[annexed.index("## Annex"):]
    assert sorted(p.ipp for p in leaked) == sorted(p.ipp for p in crowd if p.ipp in annex)
    assert all(p.ipp not in annexed[:annexed.index("## Annex")] for p in leaked)


def test_html_escapes_the_analysts_text(incident: tuple[Any, list[Person]], tmp_path: Any) -> None:
    cli, _ = incident
    cli("incidents", "note", "1", HOSTILE, check=0)
    out = tmp_path / "draft.html"
    cli("incidents", "report", "1", "--html", "-o", str(out), check=0)
    page = out.read_text(encoding="utf-8")
    assert out.stat().st_mode & 0o777 == 0o600
    parser = Tags()
    parser.feed(page)
    assert "script" not in parser.tags and "img" not in parser.tags
    assert not any(h.startswith("javascript") for h in parser.hrefs)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "**bold**" in page
    assert parser.tags.count("h1") == 1  # the note's '#' line stayed text
    assert "<table>" in page and "<h2>4. Dates</h2>" in page


def test_the_draft_names_look_alike_hosts_defanged(
        make_services: Callable[..., Services], crowd: list[Person], imported: Any) -> None:
    cli = imported
    cli("terms", "add", "stexemple.fr", "--kind", "domain", check=0)
    svc = make_services()
    item = Item(source="pastes", key="h1", url="https://pastes.example/h1",
                content=(leak_csv_semicolon(crowd[70:75]) + "\nlogin at stexemple-connexion.com\n").encode())
    with session(svc.engine) as s:
        svc.sink.record(s, item, scan_item(svc, item))
        s.commit()
    md = cli("incidents", "report", "1", check=0).stdout
    where = md[md.index("## 5. Where the data surfaced"):md.index("## 6.")]
    assert "Look-alike hosts named there (defanged): stexemple-connexion\\[.\\]com" in where
    assert "phishing from look-alike hosts" in md[md.index("## 6."):]
    assert "stexemple-connexion.com" not in md


def test_show_and_the_draft_print_notes_and_urls_literally(
        make_services: Callable[..., Services], crowd: list[Person], imported: Any) -> None:
    """Analyst text and attacker-chosen URLs reach the terminal as text: Rich markup and :emoji: codes
    as written, escape sequences and bidi overrides as \\x1b / \\u202e (display.printable)."""
    cli = imported
    svc = make_services()
    url = "https://pastes.example/\x1b]8;;http://evil\x07r3\u202etxt"
    item = Item(source="pastes", key="r3", url=url, content=leak_csv_semicolon(crowd[80:84]).encode())
    with session(svc.engine) as s:
        svc.sink.record(s, item, scan_item(svc, item))
        s.commit()
    note = "[bold red]Takedown[/] asked :phone:\nhost told \u202ecod.exe"
    cli("incidents", "note", "1", note, "--author", "[link=http://x]a.martin[/link]", check=0)
    shown = cli("incidents", "show", "1", check=0).stdout
    for raw in ("\x1b", "\x07", "\u202e", "\u260e"):
        assert raw not in shown
    assert "[bold red]Takedown[/] asked :phone:" in shown and "\\u202ecod.exe" in shown
    assert "[link=http://x]a.martin[/link]" in shown
    assert "https://pastes.example/\\x1b]8;;http://evil\\x07r3\\u202etxt" in shown
    md = cli("incidents", "report", "1", check=0).stdout
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in md
    assert "cod.exe" in md and "pastes.example" in md
