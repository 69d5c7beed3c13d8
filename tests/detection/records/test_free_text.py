"""Free text keeps the proximity rules: a person's names written in any usual order near the birth
date, nothing across records, nothing from a stranger who shares a name and the date."""

from __future__ import annotations

import pytest
from lw_records import FONTAINE, JULIE, LI, PHILIPPINE, Scan
from synth import Person, fr_date, long_date, strip_accents, typo

from leakwatch.detection import records

NAMES_DATE = {"date", "first_name", "last_name"}

WRITINGS = {
    "NOM Prénom": lambda p: f"{strip_accents(p.last_name).upper()} {p.first_name} {fr_date(p.birth)}",
    "Prénom NOM": lambda p: f"{p.first_name} {p.last_name.upper()}, né(e) le {long_date(p.birth)}",
    "NOM, Prénom": lambda p: f"Patient : {p.last_name.upper()}, {p.first_name} ({p.birth_date})",
    "middle name": lambda p: f"{p.first_name} Marie {p.last_name}, né le {fr_date(p.birth)}, hospitalisé.",
    "typo, lower case": lambda p: f"{p.first_name.lower()} {typo(p.last_name).lower()} {fr_date(p.birth)}",
}


@pytest.mark.parametrize("writing", sorted(WRITINGS))
def test_names_in_any_usual_order(writing: str, scan: Scan, patients: list[Person]) -> None:
    p = patients[40 + sorted(WRITINGS).index(writing)]
    found = scan(f"Extrait du registre.\n\n{WRITINGS[writing](p)}\n")
    assert set(found) == {p.ipp}
    assert set(found[p.ipp]) >= NAMES_DATE


def test_a_three_word_last_name_after_the_first_name(scan: Scan) -> None:
    """'né le', 'de la' do not push the first name out of the date's reach."""
    found = scan("Héloïse de la Fontaine, née le 21 juin 1958, a été admise aux urgences.\n")
    assert set(found) == {FONTAINE.ipp}


@pytest.mark.parametrize("line", [
    "DE LA FONTAINE Héloïse 21/06/1958",
    "LI Wei 17/05/1988",
    "Dossier LI Wei suivi par les équipes 17/05/1988",
    "un deux trois quatre cinq six sept DE LA FONTAINE Héloïse 21/06/1958",
])
def test_a_last_name_of_short_words_first_in_the_window(line: str, scan: Scan) -> None:
    """A name's short words ("DE LA", "LI"; "DA SILVA", "LE GALL") are in the date's window with the
    rest of the name, at the line's start or where the window's five words before the date begin."""
    assert set(scan(line + "\n")) in ({FONTAINE.ipp}, {LI.ipp})


def test_an_initial_corroborates_an_identifier(scan: Scan, patients: list[Person]) -> None:
    p = patients[50]
    found = scan(f"Dossier de {p.first_name[0]}. {p.last_name}, tél. {p.phone}\n")
    assert set(found[p.ipp]) >= {"phone", "first_name", "last_name"}


@pytest.mark.parametrize("text", [
    "Julien Vallet, né le 2 avril 1971, a été admis.",           # another person's known first name
    "VALLET Julie\nnée le 02/04/1971",                            # the date on another line
    "Vallet Juliette 02/04/1971",                                 # a longer first name: another person
    "NIR 1 80 01 06 123 456 78 (clé fausse), 02/04/1971",         # a NIR's digits are no phone, key or not
])
def test_no_new_false_records(text: str, scan: Scan) -> None:
    assert JULIE.ipp not in scan(text + "\n")


def test_a_known_other_name_and_an_initial_are_no_typo(scan: Scan) -> None:
    """'Philippe D.' reads close to 'Philippine'; Philippe is another person's name, and a stray
    letter after it does not make it a spelling of the record's."""
    assert PHILIPPINE.ipp not in scan("Philippe D. Lemaitre, né le 07/09/1964, a appelé.\n")
    assert PHILIPPINE.ipp in scan("Philipine Lemaitre, née le 07/09/1964, a appelé.\n")


def test_text_after_a_stray_table_tag_in_code_is_read_as_text(scan: Scan, patients: list[Person]) -> None:
    """A paste of code that writes HTML (``'<table>'``, ``'<tr><td>%s</td></tr>'``) and, further on,
    support notes: the notes are no table row. Read as one, they were lost but for the first
    thousand characters of a 'cell'; the table reading now ends before a 'row' of 64 KB."""
    code = ("def month(self):\n    a('<table border=\"0\" class=\"%s\">' % self.css)\n"
            "    a('<tr><th>%s</th><th>%s</th></tr>' % (day, name))\n"
            "    a('<tr><td>%d</td><td>%s</td></tr>' % (n, label))\n")
    notes = "".join(f"Ticket {n}: customer called about invoice {n * 7}, nothing to report.\n" for n in range(1200))
    p = patients[60]
    leak = f"Customer {p.first_name} {p.last_name} (DOB {p.birth_date}) called from {p.phone} about a refund.\n"
    text = code + "\n" + notes + leak + notes + "    a('</table>')\n"
    assert len(notes) > 64 * 1024
    split = records.read(text)
    assert leak in split.text
    assert set(scan(text)) == {p.ipp}


def test_text_between_stray_rows_and_a_real_table_is_read_as_text(scan: Scan, patients: list[Person]) -> None:
    """Code that writes ``'<table>'`` and ``'<tr>'``, then a few KB of other text (a JSON export,
    logs), then a real HTML table: the stray table ran to the real one's ``</table>``, every 'row'
    under 64 KB, and what lay between two rows outside any cell was dropped: neither record nor
    text (five planted patients of a 400 MB bench text were lost this way)."""
    code = ("def formatyear(self):\n    a('<table border=\"0\" class=\"%s\">' % self.css)\n"
            "    a('<tr><th colspan=\"3\">%s</th></tr>' % year)\n    a('<tr>')\n    a('<td>')\n"
            "    a(self.formatmonth(m))\n    a('</td>')\n")
    p = patients[63]
    export = "[\n" + "".join(
        f'{{"patient": {{"name": "{q.first_name} {q.last_name}", "ssn": "{q.nir}", "dob": "{q.birth_date}"}}}},\n'
        for q in patients[:1]) + f'{{"patient": {{"name": "{p.first_name} {p.last_name}", "ssn": "{p.nir}"}}}}\n]\n'
    logs = "".join(f"2024-02-21T22:36:0{n % 10}.630Z INFO http: GET /api/v1/orders/{n} 200\n" for n in range(300))
    table = ("<table>\n<tr><th>nom</th><th>ville</th></tr>\n<tr><td>Girard</td><td>Paris</td></tr>\n</table>\n")
    text = code + "\n" + logs + export + logs + table
    split = records.read(text)
    assert p.nir in split.text
    assert p.ipp in scan(text)
    # The same text before a stray row's first cell, or between two of its cells.
    for before, after in (("    a('<tr>')\n", "    a('<td>%s</td>' % day)\n"),
                          ("    a('<tr><td>%s</td>' % day)\n", "    a('<td>%s</td>' % name)\n")):
        text = ("    a('<table>')\n" + before + logs + export + logs + after + "    a('</table>')\n")
        assert p.nir in records.read(text).text
        assert p.ipp in scan(text)


def test_a_long_field_is_read_as_text(scan: Scan, patients: list[Person]) -> None:
    """A notes column that holds a pasted list, a JSON document in a SQL column: a value too long
    to be a field is read as free text, to its end, instead of being cut to its first thousand
    characters. Its row's own identifier still counts, wherever the long values stand."""
    row_owner, pasted = patients[61], patients[62]
    notes = "Transmis par le service: " + "RAS. " * 300 + (
        f"Rappeler {pasted.first_name} {pasted.last_name.upper()}, née le {fr_date(pasted.birth)}, au {pasted.phone}.")
    text = ("nom;prenom;notes;compte_rendu;examen;suivi;avis;telephone\n"
            f"{row_owner.last_name.upper()};{row_owner.first_name};{notes};{'normal. ' * 200};"
            f"{'tension 12/8, pouls 72. ' * 40};{'glycémie 0,9 g/l. ' * 50};{'revu à J7, J14. ' * 60};"
            f"{row_owner.phone}\n")
    found = scan(text)
    assert set(found) == {row_owner.ipp, pasted.ipp}
    assert set(found[pasted.ipp]) >= {"phone", "first_name", "last_name"}
    assert "phone" in found[row_owner.ipp]


@pytest.mark.parametrize(("text", "found"), [
    ("Martin MARCHAND, né le 11/12/1949, domicilié à Lyon.", False),
    ("nom;prenom;ddn\nMARCHAND;Martin;11/12/1949\n", False),
    ("MARTIN Martin, né le 11/12/1949, domicilié à Lyon.", True),
    ("nom;prenom;ddn\nMARTIN;Martin;11/12/1949\n", True),
])
def test_one_word_is_never_both_names(text: str, found: bool, scan: Scan) -> None:
    """Martin Martin, born 11/12/1949: a stranger named Martin Marchand, born that day, shares his
    blocking key ("mar", "mar") and one of his names, written once: that is not both names."""
    assert ("IPPMARTIN" in scan(text)) is found


def test_a_paste_that_begins_with_markup_is_read_once_as_written(scan: Scan, patients: list[Person]) -> None:
    """An HTML page (it ends with ``</html>``) is read twice, as its visible text and as written
    (parsing can swallow what is no markup); a paste that only begins with an HTML table and goes
    on with prose and dumps is no page: read once, as written (parsed as a page, it cost twice)."""
    from leakwatch.detection import documents
    from leakwatch.detection.limits import Limits
    from leakwatch.models import Document

    a, b = patients[70:72]
    table = (f"<html><body><table><tr><th>nom</th><th>prenom</th><th>ddn</th></tr>\n"
             f"<tr><td>{a.last_name}</td><td>{a.first_name}</td><td>{fr_date(a.birth)}</td></tr>\n</table>\n")
    rest = f"\nTrouvé sur le forum :\n{b.last_name.upper()} {b.first_name} {fr_date(b.birth)}\n"

    def docs(text: str) -> list[Document]:
        found = documents.documents(text.encode(), "paste.txt", Limits(), "paste")
        return [d for d in found if isinstance(d, Document)]

    page = table + rest + "</body></html>\n"
    assert [d.records_only for d in docs(page)] == [False, True]
    paste = table + rest
    assert [(d.text, d.records_only) for d in docs(paste)] == [(paste, False)]
    assert set(scan(page)) == set(scan(paste)) == {a.ipp, b.ipp}
