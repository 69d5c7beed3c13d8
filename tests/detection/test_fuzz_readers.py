"""Hypothesis properties for what reads attacker-shaped text: the detectors and the CSV/JSON Lines
readers of ``fingerprints import``. No exception but the project's own; time about linear in the
input on adversarial shapes (the bounds are generous: correctness guards, not benchmarks)."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leakwatch.datasets.importer import RowError, read_table
from leakwatch.detection.detectors import build_detectors
from leakwatch.errors import LeakwatchError

DETECTORS = build_detectors("FR")
BOUND = 10.0
"""Seconds an adversarial input of ~2 MB may take on a loaded 2-core machine. Linear code takes a
fraction of one; quadratic code makes ~10^12 steps at this size, hours. Larger inputs would catch
nothing more and cost every test run their seconds."""

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ADVERSARIAL = {
    "a 2 MB line of digits": "7" * 2_000_000,
    "a million @": "@" * 1_000_000,
    "half a million @ between letters": "a@" * 500_000,
    "digits in groups": "12 34 56 78 90 " * 150_000,
    "dots and dashes": "1.2-3.4-" * 250_000,
    "plus signs": "+33 " * 500_000,
    "dates without end": "01/02/" * 350_000,
    "a million dots": "." * 1_000_000,
    "e-mail like runs": "a.b-c_d" * 300_000 + "@",
    "IBAN-like runs": "FR76 " * 400_000,
    "obfuscated at signs": "a [at] " * 300_000,
    "spaced at signs": "x @ y " * 330_000,
    "bracketed country codes": "(+33) " * 330_000,
}


def _drain(detector, text: str) -> int:
    return sum(1 for _ in detector.candidates(text))


@FUZZ
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=2000))
def test_detectors_raise_nothing_on_any_text(text: str) -> None:
    for detector in DETECTORS.values():
        for value, start, end in detector.candidates(text):
            assert value and 0 <= start < end <= len(text)


@FUZZ
@given(st.lists(st.sampled_from(["0", "1", "7", "33", "+", " ", ".", "-", "@", "a", "Z", "/", "(", ")", "é",
                                 "2A", "FR76", "\n", "\t", "\u00a0", "\u202f", "janvier", "er"]),
                max_size=400).map("".join))
def test_detectors_raise_nothing_on_identifier_shaped_noise(text: str) -> None:
    for detector in DETECTORS.values():
        _drain(detector, text)


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_detectors_take_about_linear_time_on_adversarial_text(name: str) -> None:
    text = ADVERSARIAL[name]
    for kind, detector in DETECTORS.items():
        started = time.monotonic()
        _drain(detector, text)
        spent = time.monotonic() - started
        assert spent < BOUND, f"{kind} on {name}: {spent:.1f}s"


# ---- the import readers ---------------------------------------------------------------------

def _read_all(path: Path, data: bytes) -> int:
    """Every row of ``data`` read as ``fingerprints import`` reads a file: the project's errors only."""
    fh = io.BytesIO(data)
    try:
        _header, rows = read_table(path, fh)
        return sum(1 for _ in rows)
    except (LeakwatchError, RowError):
        return -1


@FUZZ
@given(st.binary(max_size=3000))
def test_readers_raise_only_their_own_errors_on_any_bytes(data: bytes) -> None:
    for name in ("records.csv", "records.jsonl"):
        _read_all(Path(name), data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


@FUZZ
@given(st.lists(json_values, max_size=8))
def test_json_lines_readers_take_any_json(values: list[object]) -> None:
    data = "\n".join(json.dumps(v) for v in values).encode()
    _read_all(Path("records.jsonl"), data)


csv_cells = st.text(alphabet=st.sampled_from(list('abc,;|\t"\'\n\r 0é\\')), max_size=12)


@FUZZ
@given(st.lists(st.lists(csv_cells, min_size=1, max_size=5), min_size=1, max_size=12),
       st.sampled_from([",", ";", "\t", "|"]))
def test_csv_readers_take_any_quoting(rows: list[list[str]], delimiter: str) -> None:
    data = "\n".join(delimiter.join(row) for row in rows).encode()
    _read_all(Path("records.csv"), data)


READER_ADVERSARIAL = {
    "records.csv: a 2 MB line of digits": b"ref,nir\n1," + b"7" * 2_000_000 + b"\n",
    "records.csv: a 2 MB header": b"7" * 2_000_000 + b"\n1\n",
    "records.csv: a million quotes": b'ref,nir\n1,"' + b'""' * 1_000_000 + b'"\n',
    "records.csv: quotes and delimiters in the sniffed sample": (b'"a";"b",' * 8000 + b"\n") * 8,
    "records.csv: a million @": b"ref,email\n" + b"1," + b"@" * 1_000_000 + b"\n",
    "records.jsonl: deeply nested": b'{"ref": ' + b"[" * 200_000 + b"]" * 200_000 + b"}\n",
    "records.jsonl: deeply nested objects": b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"\n",
    "records.jsonl: a 2 MB string": b'{"ref": "' + b"7" * 2_000_000 + b'"}\n',
}


@pytest.mark.parametrize("name", list(READER_ADVERSARIAL))
def test_readers_take_about_linear_time_on_adversarial_files(name: str) -> None:
    path = Path(name.split(":", 1)[0])
    started = time.monotonic()
    _read_all(path, READER_ADVERSARIAL[name])
    spent = time.monotonic() - started
    assert spent < BOUND, f"{name}: {spent:.1f}s"


# ---- the record readers of a scanned document ---------------------------------------------------

RECORD_ADVERSARIAL = {
    "unclosed <table> lines": "<table>\n",
    "unclosed tables between text": "<table class=x>\nsome text 12\n",
    "rows without a table": "<tr><td>a</td>\n",
    "rows that run away": "<table><tr>" + "x" * 70_000 + "\n",
    "unclosed { lines": "{\n",
    "unclosed [ lines": "[\n",
    "objects cut short": '{"a": 1,\n',
    "objects in a row on one line": '{"nom": "x", "ddn": "1965-03-12"}, ',
    "wrappers cut short": '{"rows": [{"a": 1}, {"b"\n',
    "strings with a tab, never closed": '{"a": "\t' + "x" * 50 + "\n",
    "strings with bad escapes, never closed": '{"a": "\\N\\q' + "x" * 50 + "\n",
    "bad escapes and tabs in closed strings": '{"a": "\\N", "b": "\t", "c": "\\u12", "d": 1}\n',
    "mongo shell bad escapes": "{ nom: '\\N', ddn: 'x\t' }\n",
    "INSERT heads": "INSERT INTO t VALUES (\n",
    "INSERT rows cut short": "INSERT INTO t (a,b) VALUES\n(1,\n",
    "CREATE TABLE heads": "CREATE TABLE t (\n",
    "XML opening tags": "<a>\n",
    "XML attributes": '<p a="1" b="2">\n',
    "XML ampersands": '<r><nom>a & b &eacute; &x; &#1; &</nom>\n',
    "headers then a broken quote": "nom;prenom;ddn\n\"\n",
    "tables of odd rows": "nom;prenom;ddn\na;b\nc\n",
    "rows without a header": "x;y;1\n",
    "rows without a header, two at a time": "x;y;1\nx;y;2\nz\n",
    "pipe rows without a header": "| x | y | 1 |\n",
    "a table, then odd rows only": "nom;prenom;ddn\na;b;c\n" + "x;y;z;w\n" * 30,
    "pipe tables of odd rows": "| nom | prenom | ddn |\n| a | b |\n| c |\n",
    "comments": "<!--\n",
    "vCards never ended": "BEGIN:VCARD\n",
    "vCard properties": "BEGIN:VCARD\nN:a;b\n",
    "HL7 segments": "PID|1||x^^^A~y^^^B||a^b^c||19470128|||||^^c^^1\n",
    "HL7 segments on one line": "\rPID|||" + "|" * 30,
    "definition lists never closed": "<dl><dt>nom</dt><dd>x</dd>\n",
    "a definition list closed far below": "<dl>\n" + "x " * 40_000 + "</dl>\n",
    "fixed-width headers": "nom  prenom  ville\n",
    "fixed-width rows running across": "nom  prenom  ville\nabcdefghijklmnopqrstuvwxyz\n",
    "LDIF entries folded": "dn: uid=a\n x\n",
    "LDIF base64 values": "dn: a\nsn:: " + "QUJD" * 30 + "\n",
    "psql expanded rules": "-[ RECORD 1 ]-+-\n",
    "terminal table rules": "| nom | prenom |\n+-----+--------+\n",
    "SQL*Plus headings": "NOM PRENOM\n--- ------\n",
    "mongo shell documents cut short": "{ nom: 'x', ddn: ISODate(\"1965-03-12\"\n",
    "mongo shell strings never closed": "{ nom: '" + "x" * 200 + "\n",
    "HPRIM patient records": "P|1||||DUPONT^JEAN||1965|\n",
    "HPRIM markers": "****FIN****\nDUPONT\nJEAN\n",
    "key = value lines of no known label": "x = 1\ny = 2\n",
    "labelled values, one label": "<label>a</label>b\n",
    "labels with no value": "<label>nom</label>\n<br>\n",
    "bold labels": "<b>a :</b> b<br>\n",
}


@pytest.mark.parametrize("name", list(RECORD_ADVERSARIAL))
def test_record_readers_take_about_linear_time_on_adversarial_text(name: str) -> None:
    """1 MB of one hostile line repeated (each line an attempt that fails): before the searches ahead
    were remembered and the JSON decoder given a window, 40,000 unclosed <table> lines took 10 s and
    2 MB of '{' lines five minutes."""
    from leakwatch.detection import records

    unit = RECORD_ADVERSARIAL[name]
    text = unit * (1_000_000 // len(unit))
    started = time.monotonic()
    split = records.read(text)
    spent = time.monotonic() - started
    assert spent < BOUND, f"{name}: {spent:.1f}s"
    assert len(split.text) + sum(len(v) for r in split.records for _, v in r.fields) > 0


class _Counting(str):
    """A text that counts the characters its ``find`` and ``rfind`` run through."""

    scanned = 0

    def find(self, sub: str, start: int | None = 0, end: int | None = None) -> int:  # type: ignore[override]
        start, end = start or 0, len(self) if end is None else end
        _Counting.scanned += max(0, end - start)
        return str.find(self, sub, start, end)

    def rfind(self, sub: str, start: int | None = 0, end: int | None = None) -> int:  # type: ignore[override]
        start, end = start or 0, len(self) if end is None else end
        _Counting.scanned += max(0, end - start)
        return str.rfind(self, sub, start, end)


def test_words_near_a_date_on_a_line_of_megabytes_cost_a_window_not_the_line() -> None:
    """A minified dump or a SQL INSERT on one line: each date's words were read after finding the
    line's ends, from the date through the whole line (2 MB of dates on one line: 10 s, quadratic)."""
    from leakwatch.detection.matcher import _Words

    line = _Counting("12/03/1965 Jean DUPONT " * 40_000)  # 920 KB, no line end
    words = _Words(line, [], {})
    _Counting.scanned = 0
    positions = range(0, len(line) - 200, len(line) // 100)
    for lo in positions:
        assert [w for w, _ in words.between(lo, lo + 120)]
    assert _Counting.scanned <= 3 * _Words.LONG_LINE * len(positions)
