"""Field labels to kinds, French and English, whatever their case, accents and separators."""

from __future__ import annotations

import pytest

from leakwatch.detection.records import labels, read
from leakwatch.detection.records.view import render

TABLE = {
    labels.LAST: ["nom", "NOM", "last_name", "lastName", "surname", "family_name", "Nom de famille", "nom_naissance",
                  "patient.nom", "LAST-NAME", "patient.last_name", "patient.lastName", "data.patient.family_name"],
    labels.FIRST: ["prenom", "Prénom", "PRENOM", "first_name", "firstName", "given_name", "Given Name",
                   "patient.first_name", "patient.firstName"],
    labels.FULL: ["name", "patient.name", "nom_complet"],
    labels.BIRTH: ["date_naissance", "Date de naissance", "dob", "DOB", "birth_date", "birthdate", "ddn",
                   "dateNaissance", "Né(e) le", "date_of_birth", "patient.date_of_birth"],
    labels.OTHER_DATE: ["date_visite", "visit_date", "created_at", "ts", "timestamp", "date_rdv", "updated"],
    "phone": ["tel", "Tél", "phone", "mobile", "portable", "telephone"],
    "email": ["mail", "email", "e-mail", "courriel"],
    "nir": ["nir", "secu", "num_secu", "insee", "NUM_SECU"],
    "postcode": ["cp", "code_postal", "zip", "Code postal"],
    "city": ["ville", "city", "commune"],
    None: ["id", "service", "nom_medecin", "medecin.nom", "username", "user.name", "file_name", "ville.nom",
           "comment", "x", "user.last_name", "medecin.first_name"],
}


@pytest.mark.parametrize("kind,label", [(k, label) for k, ls in TABLE.items() for label in ls])
def test_label_kind(kind: str | None, label: str) -> None:
    assert labels.kind(label) == kind


def test_a_record_line_drops_labels_other_dates_and_letters_under_unknown_labels() -> None:
    (record,) = read("nom;service;prenom;date_visite;ddn;ville;email\n"
                     "DURAND;Urgences;Léa;2023-11-14;03/02/1961;Paris;l@x.fr\n").records
    line, pairs, named = render(record)
    assert line == "DURAND Léa | 1961-02-03 | Paris | l@x.fr"
    assert pairs == (("durand", "lea"),)
    assert named
