"""E-mail as it leaks (a message saved whole, a mailbox): headers decoded, bodies decoded from
quoted-printable and base64 with their charset, attachments read as the files they are. Messages
built by the standard library's ``email`` package, as mail clients write them."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from lw_formats import FORMATS, Row, xlsx_bytes
from synth import Person, fr_date

from leakwatch import pipeline
from leakwatch.app import Services
from leakwatch.detection import mail
from leakwatch.models import Document, Item, ScanResult, Skipped


def row(p: Person) -> Row:
    """Names and birth date far apart, no identifier: only a reading by labels pairs them."""
    return {"id": "D" + p.ipp[-6:], "last": p.last_name, "city": "Créteil", "ward": "Cardiologie",
            "first": p.first_name, "visit": "2023-11-14", "dob": fr_date(p.birth)}


def message(body: str, sender: str = "Jérôme Lefèvre <j.lefevre@example.org>",
            attachments: tuple[tuple[str, bytes, str], ...] = (), html: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "Service des admissions <admissions@example.org>"
    msg["Subject"] = "Export des patients du service – à traiter"
    msg["Date"] = format_datetime(dt.datetime(2024, 5, 3, 10, 15, tzinfo=dt.UTC))
    msg["Message-ID"] = make_msgid(domain="example.org")
    msg.set_content(body, cte="quoted-printable")
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for name, data, kind in attachments:
        maintype, subtype = kind.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def scan(services: Services, content: bytes, name: str) -> tuple[dict[str, tuple[str, ...]], ScanResult]:
    result = pipeline.scan_item(services, Item(source="test", key=name, content=content, name=name))
    return {f.ref: f.fields for f in result.findings if f.type == "record" and f.ref}, result


def test_a_message_with_attachments_is_read_part_by_part(services: Services, patients: list[Person]) -> None:
    """A patient list sent as a CSV, a spreadsheet and a zipped export, and a person named in the
    body (quoted-printable: its soft line breaks cut words, ``é`` is ``=C3=A9``): base64 and
    quoted-printable hid them all from a reading of the raw message."""
    a, b, c, d = patients[50:54]
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("export/patients.csv", FORMATS["csv"]([row(c)]))
    body = ("Bonjour,\n\nVoici l'export demandé. " + "Pour rappel, le dossier de " * 6
            + f"{d.first_name} {d.last_name}, né(e) le {fr_date(d.birth)}, est à compléter.\n\nCordialement\n")
    msg = message(body, attachments=(("export.csv", FORMATS["csv"]([row(a)]).encode("utf-8"), "text/csv"),
                                     ("patients.xlsx", xlsx_bytes([row(b)]), "application/vnd.ms-excel"),
                                     ("archive.zip", zipped.getvalue(), "application/zip")))
    raw = msg.as_bytes()
    assert a.last_name.encode() not in raw and b"=\n" in raw  # as written, nothing is readable
    found, result = scan(services, raw, "message.eml")
    assert set(found) == {a.ipp, b.ipp, c.ipp, d.ipp}
    assert not result.skipped
    assert {f.target for f in result.findings if f.ref == c.ipp} == {"message.eml!archive.zip!export/patients.csv"}


def test_a_mailbox_is_read_message_by_message(services: Services, patients: list[Person]) -> None:
    """An mbox (a compromised mailbox, a ransomware dump's Mail folder): each message apart, an HTML
    body read as a page, a sender's name in an encoded header."""
    a, b = patients[54:56]
    first = message("Rien de particulier.\n")
    second = message("Voir le tableau.\n", html="<html><body>" + FORMATS["html"]([row(a)]) + "</body></html>")
    third = message("Ci-joint.\n", attachments=(("liste.csv", FORMATS["csv"]([row(b)]).encode("cp1252"),
                                                 "text/csv"),))
    mbox = b"".join(b"From admissions@example.org Fri May  3 10:15:00 2024\n" + m.as_bytes().replace(b"\r\n", b"\n")
                    + b"\n" for m in (first, second, third))
    found, result = scan(services, mbox, "admissions.mbox")
    assert set(found) == {a.ipp, b.ipp}
    assert {f.target.split("!")[1] for f in result.findings if f.ref in (a.ipp, b.ipp)} == {"message-2", "message-3"}


def test_a_message_too_large_is_a_note() -> None:
    big = message("x\n", attachments=(("dump.csv", b"nom;prenom\n" + b"A;B\n" * 40_000, "text/csv"),)).as_bytes()
    mbox = b"From a@example.org Fri May  3 10:15:00 2024\n" + big
    notes = [d for d in mail.read(io.BytesIO(mbox), "mbox", "box", 100_000, lambda data, name: iter(()))
             if isinstance(d, Skipped)]
    assert [(n.target, n.reason) for n in notes] == [("box!message-1", "message larger than 100000 bytes: not read")]


@pytest.mark.parametrize("text", [
    "Nom: DUPONT\nPrénom: Jean\nDate: 12/03/1965\n",
    "From: the team\nThanks for the update\n",
    "Subject: x\nDate: y\n",
    "From nobody\nhello\n",
])
def test_lines_of_fields_are_no_message(text: str) -> None:
    assert mail.sniff(text.encode()) is None


def test_a_message_and_a_mailbox_are_told_apart() -> None:
    msg = message("x\n").as_bytes()
    assert mail.sniff(msg) == "eml"
    assert mail.sniff(b"From a@example.org Fri May  3 10:15:00 2024\n" + msg) == "mbox"


def test_a_forwarded_message_is_read_and_a_nesting_bomb_is_a_note(services: Services, patients: list[Person]) -> None:
    """A message forwarded as an attachment is read as a message; forwarded within itself deeper
    than the archive depth limit, it stops there with a note, never a crash."""
    a = patients[56]
    inner = message("Ci-joint.\n", attachments=(("liste.csv", FORMATS["csv"]([row(a)]).encode(), "text/csv"),))
    outer = message("Pour info, voir ci-dessous.\n")
    outer.add_attachment(inner)
    found, result = scan(services, outer.as_bytes(), "fwd.eml")
    assert set(found) == {a.ipp} and not result.skipped
    bomb = message("x\n")
    for _ in range(40):
        wrapper = message("fwd\n")
        wrapper.add_attachment(bomb)
        bomb = wrapper
    found, result = scan(services, bomb.as_bytes(), "bomb.eml")
    assert not found
    depth = services.settings.max_archive_depth
    assert [s.reason for s in result.skipped] == [f"eml message nested deeper than {depth} levels"]


def test_an_attached_archive_bomb_stops_at_the_limits_with_a_note(services: Services, patients: list[Person]) -> None:
    """The attachments of a message share the item's expansion budget, as an archive's members do:
    a zip bomb sent as an attachment ends the message's reading with the archive's note, and what
    was read before it (the body) is still scanned."""
    a = patients[57]
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.csv", b"0" * (64 * 1024 * 1024))
    body = f"Dossier de {a.first_name} {a.last_name}, né(e) le {fr_date(a.birth)}.\n"
    msg = message(body, attachments=(("export.zip", bomb.getvalue(), "application/zip"),))
    found, result = scan(services, msg.as_bytes(), "bomb.eml")
    assert set(found) == {a.ipp}
    assert [s.reason for s in result.skipped if "expands beyond" in s.reason], result.skipped


def test_only_the_parse_is_guarded_an_attachments_error_is_not_a_note() -> None:
    """A message the parser chokes on is a note; an error raised while an attachment is read (by
    the reader of its format) is not turned into "message not parsed": it is raised as it would be
    for the same file alone."""
    msg = message("Bonjour,\nci-joint la liste.\n")
    msg.add_attachment(b"nom;prenom\nDUPONT;Jean\n", maintype="text", subtype="csv", filename="liste.csv")

    def failing(payload: bytes, name: str) -> Iterator[Document | Skipped]:
        raise ValueError(f"reader bug on {name}")
        yield  # a generator, as documents() is

    with pytest.raises(ValueError, match=r"liste\.csv"):
        list(mail.read(io.BytesIO(msg.as_bytes()), "eml", "m.eml", 1 << 20, failing))
