"""Field labels to kinds, French and English (and the common ones of France's neighbours' languages):
what a column, key or tag name says its value is.

A label is normalised (accents, case, camelCase, separators) and read whole first, then by its
words. Labels that qualify a name as someone else's (``nom_medecin``, ``username``) or that name
no kind this module knows map to ``None``: an unknown label changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

LAST, FIRST, FULL = "last_name", "first_name", "full_name"
BIRTH, OTHER_DATE = "birth_date", "other_date"
NAME_KINDS = frozenset({LAST, FIRST, FULL})
VALUE_KINDS = frozenset({"phone", "email", "nir", "postcode", "city"})

_EXACT = {
    LAST: "nom last_name lastname surname family_name familyname nom_de_famille nom_famille nom_naissance "
          "nom_de_naissance nom_usage nom_d_usage nom_patient patient_nom maiden_name nom_jeune_fille "
          "patronyme last sn",
    FIRST: "prenom prenoms first_name firstname given_name givenname forename middle_name second_prenom "
           "prenom_patient patient_prenom autres_prenoms first",
    FULL: "name full_name fullname nom_complet nom_prenom prenom_nom patient patient_name display_name "
          "identite nom_et_prenom person personne cn",
    BIRTH: "date_naissance date_de_naissance dob birth_date birthdate birthday ddn naissance date_naiss "
           "dt_naissance dte_naissance ne_le nee_le ne_e_le date_of_birth born born_on d_o_b",
    "phone": "tel telephone phone phone_number mobile portable gsm cellulaire tel_mobile tel_portable "
             "numero_telephone num_tel telephone_mobile mobile_phone cell",
    "email": "mail email e_mail courriel adresse_mail adresse_email email_address mail_address",
    "nir": "nir secu num_secu numero_secu insee num_insee nss ssn numero_securite_sociale securite_sociale "
           "no_secu n_secu",
    "postcode": "cp code_postal zip zipcode zip_code postcode postal_code",
    "city": "ville city commune town localite",
}
_NEIGHBOURS = {
    # the languages of France's neighbours, as a lab group's or an insurer's subsidiaries export:
    # German, Spanish, Italian, Dutch, Portuguese. "nome" is left out (a first name in Italian, a
    # full name in Portuguese).
    LAST: "nachname familienname apellido apellidos primer_apellido segundo_apellido cognome achternaam "
          "familienaam sobrenome apelido",
    FIRST: "vorname vornamen nombre nombres nome_proprio voornaam voornamen primeiro_nome",
    BIRTH: "geburtsdatum geburtstag geboren_am fecha_nacimiento fecha_de_nacimiento f_nacimiento "
           "data_nascita data_di_nascita nato_il geboortedatum geboren_op data_nascimento data_de_nascimento",
    "phone": "telefon telefono telefonnummer handy movil cellulare telefoonnummer telemovel",
    "email": "correo correo_electronico e_mail_adresse",
    "postcode": "plz postleitzahl codigo_postal cap postcode_nl",
    "city": "stadt ort wohnort ciudad localidad citta comune_di woonplaats cidade",
}
for _kind, _words in _NEIGHBOURS.items():
    _EXACT[_kind] += " " + _words
EXACT = {label: kind for kind, labels in _EXACT.items() for label in labels.split()}

_QUALIFIERS = frozenset(
    [
        "medecin", "doctor", "dr", "docteur", "user", "username", "login", "utilisateur", "file", "fichier",
        "service", "hopital", "hospital", "company", "societe", "entreprise", "etablissement", "pere", "mere",
        "father", "mother", "host", "server", "app", "application", "produit", "product", "table", "column",
        "event", "template", "referent", "praticien", "contact", "urgence", "emergency", "agent", "operateur",
        "auteur", "author", "owner", "proprietaire", "pharmacie", "pharmacy", "assureur", "employeur", "employer",
        "mutuelle", "ville", "city", "commune", "pays", "country", "rue", "street", "region", "departement",
        "unite", "organisation", "org", "team", "group", "groupe", "category", "categorie", "type", "tag", "label",
        "libelle", "project", "projet", "site", "domain", "dataset", "field", "champ", "fichier", "document", "doc"
    ])
_TOKENS = (
    (FIRST, frozenset(["prenom", "prenoms", "firstname", "forename", "given", "givenname"])),
    (BIRTH, frozenset(["naissance", "birth", "dob", "ddn", "birthdate", "birthday", "naiss", "born"])),
    (LAST, frozenset(["nom", "surname", "lastname", "family", "familyname", "patronyme"])),
    (OTHER_DATE, frozenset([
        "date", "dt", "time", "timestamp", "ts", "created", "updated", "modified", "visite", "visit", "rdv",
        "heure", "at", "jour", "day", "admission", "sortie", "entree", "deces", "death", "expiry", "expiration",
        "datetime", "when"
    ])),
    ("phone", frozenset(["tel", "telephone", "phone", "mobile", "portable", "gsm"])),
    ("email", frozenset(["mail", "email", "courriel"])),
    ("nir", frozenset(["nir", "secu", "insee", "ssn"])),
    ("postcode", frozenset(["cp", "zip", "postal", "postcode"])),
    ("city", frozenset(["ville", "city", "commune"])),
)
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_SEP = re.compile(r"[^a-z0-9]+")


def normal_label(label: str) -> str:
    """``Date de naissance``, ``dateNaissance``, ``DATE-NAISSANCE`` -> ``date_naissance``."""
    label = _CAMEL.sub(r"\1_\2", label.strip())
    folded = "".join(c for c in unicodedata.normalize("NFKD", label) if not unicodedata.combining(c))
    return _SEP.sub("_", folded.lower()).strip("_")


@lru_cache(maxsize=8192)
def kind(label: str) -> str | None:
    """The kind a label says its value is, or None. ``patient.nom`` (a JSON path) reads as ``nom``
    in the context of ``patient``; ``nom_medecin`` is someone else's name: None."""
    normal = normal_label(label)
    if not normal:
        return None
    if normal in EXACT:
        return EXACT[normal]
    tokens = normal.split("_")
    words = set(tokens)
    if len(tokens) > 1 and not (words & _QUALIFIERS):
        # The longest known suffix: ``patient.last_name`` is a last name, not a ``name``.
        for k in range(1, len(tokens)):
            suffix = "_".join(tokens[k:])
            if suffix in EXACT:
                return EXACT[suffix]
    if words & _QUALIFIERS:
        return None
    if "name" in words:
        if words & {"first", "given", "middle", "fore"}:
            return FIRST
        if words & {"last", "family", "maiden", "sur"}:
            return LAST
        return None
    if "ne" in words or "nee" in words:
        return BIRTH
    for found, vocabulary in _TOKENS:
        if words & vocabulary:
            return found
    return None
