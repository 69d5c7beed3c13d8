"""Dumps as they are published and files as a careless user hands them (issue 12, input side).

Every file is built at test time: archives with libarchive's own writer (7z, cpio, ISO 9660, zip
with AES), office documents and PDFs from their minimal XML and PDF syntax."""

from __future__ import annotations

import bz2
import functools
import gzip
import io
import json
import lzma
import os
import random
import stat
import struct
import sys
import zipfile
import zlib
from pathlib import Path

import libarchive
import pytest
from conftest import Cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from synth import Person, leak_csv_semicolon, leak_prose

from leakwatch.detection.documents import Limits, documents
from leakwatch.errors import LeakwatchError
from leakwatch.models import Document, Skipped

ROWS = "nom;prenom;email\nDUPONT;Jeanne;jeanne.dupont@example.fr\nMARTIN;Paul;paul.martin@example.fr\n"


def archive(fmt: str, members: dict[str, bytes], tmp: Path, **kw: str) -> bytes:
    """An archive of ``fmt`` written by libarchive (7zip, cpio, iso9660, zip, ustar...)."""
    out = tmp / f"build.{fmt}"
    with libarchive.file_writer(str(out), fmt, **kw) as a:
        for name, data in members.items():
            a.add_file_from_memory(name, len(data), data)
    data = out.read_bytes()
    out.unlink()
    return data


def zipped(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def read(content: bytes, target: str = "dump", **limits: object) -> tuple[dict[str, str], list[Skipped]]:
    texts: dict[str, str] = {}
    notes: list[Skipped] = []
    for d in documents(content, target, Limits(**limits)):  # type: ignore[arg-type]
        if isinstance(d, Document):
            texts[d.target] = texts.get(d.target, "") + d.text
        else:
            notes.append(d)
    return texts, notes


# ---- formats, documents level (fast) ------------------------------------------------------

@pytest.mark.parametrize("fmt", ["7zip", "cpio", "iso9660", "ustar", "zip"])
def test_each_container_format_is_read_and_also_inside_a_zip(fmt: str, tmp_path: Path) -> None:
    data = archive(fmt, {"export/patients.csv": ROWS.encode()}, tmp_path)
    texts, notes = read(data, f"dump.{fmt}")
    assert any(t.endswith("export/patients.csv") and "jeanne.dupont@example.fr" in v for t, v in texts.items())
    assert notes == []
    texts, notes = read(zipped({f"inner.{fmt}": data}), "outer.zip")  # cannot seek: spooled
    assert any(t.startswith("outer.zip!inner.") and "paul.martin@example.fr" in v for t, v in texts.items())


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress,
                                      lambda b: lzma.compress(b, format=lzma.FORMAT_ALONE)])
def test_compressed_streams_alone_and_inside_a_zip(compress, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    packed = compress(ROWS.encode())
    texts, _ = read(packed, "leak.csv.x")
    assert "jeanne.dupont@example.fr" in "".join(texts.values())
    texts, _ = read(zipped({"a/leak.csv.x": packed}), "d.zip")
    assert "jeanne.dupont@example.fr" in "".join(texts.values())


def test_zstd_through_libarchive(tmp_path: Path) -> None:
    data = archive("ustar", {"x.csv": ROWS.encode()}, tmp_path, filter_name="zstd")
    texts, notes = read(data, "x.tar.zst")
    assert "paul.martin@example.fr" in "".join(texts.values()) and notes == []


def test_a_truncated_gzip_is_scanned_up_to_the_cut_then_said(tmp_path: Path) -> None:
    lines = "".join(f"row{i};user{i}@example.fr\n" for i in range(20000)).encode()
    cut = gzip.compress(lines)[:5000]
    texts, notes = read(cut, "dump.csv.gz")
    text = "".join(texts.values())
    assert "row0;user0@example.fr" in text and "row300;" in text  # what zcat recovers, kept
    assert len(notes) == 1 and "truncated" in notes[0].reason and "everything before it was scanned" in notes[0].reason


def test_utf16_without_bom_is_decoded() -> None:
    for codec in ("utf-16-le", "utf-16-be"):
        texts, notes = read(ROWS.encode(codec), "export.txt")
        assert "jeanne.dupont@example.fr" in "".join(texts.values()) and notes == []


def test_text_with_nuls_is_text_and_binaries_stay_binary() -> None:
    """A stray NUL in a value (a broken export) and zeroed blocks (a log written up to a crash, a
    preallocated file) made the whole file "binary content": skipped, its records never read."""
    log = "\n".join(f"2026-11-30T10:{i:02d}:00Z INFO export " + ROWS.splitlines()[1 + i % 2] for i in range(60))
    shapes = {
        "a NUL in a value": ROWS.replace("Jeanne", "Jea\x00nne").encode(),
        "zeroed padding after a crash": log.encode() + b"\x00" * 8192,
        "a zeroed block in the middle": log[:900].encode() + b"\x00" * 4096 + log[900:].encode(),
    }
    for name, data in shapes.items():
        texts, notes = read(data, "export.log")
        text = "".join(texts.values())
        assert notes == [] and "\x00" not in text, name
        assert "jeanne.dupont@example.fr" in text and "paul.martin@example.fr" in text, name
    rng = random.Random(7)
    binaries = {"random bytes": rng.randbytes(20_000), "this Python": Path(sys.executable).read_bytes()[:65536],
                "a JPEG-like file": b"\xff\xd8\xff\xe0" + rng.randbytes(200) + b"\x00" * 64}
    for name, data in binaries.items():
        texts, notes = read(data, "blob")
        assert texts == {} and [n.reason for n in notes] == ["binary content"], name


def test_an_encrypted_zip_is_a_note_without_its_password_and_read_with_it(tmp_path: Path) -> None:
    data = archive("zip", {"secret.csv": ROWS.encode()}, tmp_path, options="encryption=aes256", passphrase="infected")
    texts, notes = read(data, "d.zip")
    assert texts == {} and [n.reason for n in notes] == [
        "encrypted: no password given (scan --password P, or passwords = [...] in the source)"]
    texts, notes = read(data, "d.zip", passwords=("wrong",))
    assert texts == {} and "none of the passwords" in notes[0].reason
    texts, notes = read(data, "d.zip", passwords=("wrong", "infected"))
    assert "jeanne.dupont@example.fr" in "".join(texts.values()) and notes == []


@pytest.mark.parametrize("encrypted_header", [False, True])
def test_an_encrypted_7z_is_read_with_its_password(encrypted_header: bool) -> None:
    import py7zr

    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w", password="infected") as z:
        z.set_encrypted_header(encrypted_header)
        z.writestr(ROWS.encode(), "export/patients.csv")
    texts, notes = read(buf.getvalue(), "d.7z")
    assert texts == {} and notes[0].reason.startswith("encrypted: no password given")
    texts, notes = read(buf.getvalue(), "d.7z", passwords=("wrong",))
    assert texts == {} and [n.reason for n in notes] == ["encrypted: none of the passwords given opens it"]
    texts, notes = read(buf.getvalue(), "d.7z", passwords=("wrong", "infected"))
    assert "jeanne.dupont@example.fr" in texts["d.7z!export/patients.csv"] and notes == []


def deflate64_zip(name: str, data: bytes) -> bytes:
    """A zip whose member is compressed with Deflate64 (method 9), as Windows Explorer writes."""
    import inflate64

    deflater = inflate64.Deflater()
    packed = deflater.deflate(data) + deflater.flush()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(name, packed)
    raw = bytearray(buf.getvalue())
    for sig, method_at in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = raw.index(sig)
        crc_at = method_at + 6
        struct.pack_into("<H", raw, at + method_at, 9)
        struct.pack_into("<III", raw, at + crc_at, zlib.crc32(data), len(packed), len(data))
    return bytes(raw)


def test_a_deflate64_zip_member_is_read() -> None:
    data = deflate64_zip("export/patients.csv", ROWS.encode() * 50)
    texts, notes = read(data, "d.zip")
    assert "jeanne.dupont@example.fr" in texts["d.zip!export/patients.csv"] and notes == []


def test_a_large_nested_archive_is_spooled_to_an_unnamed_private_file(tmp_path: Path) -> None:
    big = ROWS.encode() + os.urandom(300_000).hex().encode()  # incompressible: the 7z stays large
    inner = archive("7zip", {"big.csv": big}, tmp_path)
    spool = tmp_path / "spool"
    texts, notes = read(zipped({"inner.7z": inner}), "outer.zip", max_item_bytes=100_000, spool_dir=str(spool))
    assert "jeanne.dupont@example.fr" in "".join(texts.values()) and notes == []
    assert stat.S_IMODE(spool.stat().st_mode) == 0o700 and list(spool.iterdir()) == []


def test_bombs_still_stop_at_the_limits(tmp_path: Path) -> None:
    bomb = archive("7zip", {"zeros.txt": b"0" * (20 * 1024 * 1024)}, tmp_path)
    _, notes = read(bomb, "bomb.7z")
    assert any("expands beyond" in n.reason for n in notes)
    deep = ROWS.encode()
    for i in range(5):
        deep = zipped({f"level{i}.zip" if i else "rows.csv": deep})
    _, notes = read(deep, "deep.zip")
    assert any("nested deeper than 3 levels" in n.reason for n in notes)


def _rar_block(htype: int, flags: int, body: bytes) -> bytes:
    head = struct.pack("<BHH", htype, flags, 7 + len(body)) + body
    return struct.pack("<H", zlib.crc32(head) & 0xFFFF) + head


def rar4(members: dict[str, bytes]) -> bytes:
    """A RAR 4 archive of stored files, from the format's block layout (no RAR writer is free)."""
    out = b"Rar!\x1a\x07\x00" + _rar_block(0x73, 0, b"\0" * 6)
    for name, data in members.items():
        n = name.encode()
        body = struct.pack("<IIBIIBBHI", len(data), len(data), 0, zlib.crc32(data), 0x5A000000, 20, 0x30, len(n),
                           0x20) + n
        out += _rar_block(0x74, 0x8000, body) + data
    return out + _rar_block(0x7B, 0x4000, b"")


def rar4_volumes(name: str, data: bytes, count: int) -> list[bytes]:
    """A RAR 4 multi-volume set holding one stored file split across ``count`` volumes."""
    n = name.encode()
    step = -(-len(data) // count)
    volumes = []
    for i in range(count):
        part, first, last = data[i * step:(i + 1) * step], i == 0, i == count - 1
        body = struct.pack("<IIBIIBBHI", len(part), len(data), 0, zlib.crc32(data if last else part), 0x5A000000, 20,
                           0x30, len(n), 0x20) + n
        volumes.append(b"Rar!\x1a\x07\x00" + _rar_block(0x73, 0x0001 | (0x0100 if first else 0), b"\0" * 6)
                       + _rar_block(0x74, 0x8000 | (0 if first else 0x01) | (0 if last else 0x02), body) + part
                       + _rar_block(0x7B, 0x4000 | (0 if last else 0x0001), b""))
    return volumes


def _vint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _rar5_block(*fields: bytes) -> bytes:
    body = b"".join(fields)
    sized = _vint(len(body)) + body
    return struct.pack("<I", zlib.crc32(sized)) + sized


def rar5(members: dict[str, bytes]) -> bytes:
    """A RAR 5 archive of stored files, from the format's header layout."""
    out = b"Rar!\x1a\x07\x01\x00" + _rar5_block(_vint(1), _vint(0), _vint(0))
    for name, data in members.items():
        n = name.encode()
        out += _rar5_block(_vint(2), _vint(0x0002), _vint(len(data)), _vint(0x0004), _vint(len(data)), _vint(0x20),
                           struct.pack("<I", zlib.crc32(data)), _vint(0), _vint(0), _vint(len(n)), n) + data
    return out + _rar5_block(_vint(5), _vint(0), _vint(0))


@pytest.mark.parametrize("make", [rar4, rar5])
def test_rar_4_and_5_are_read_alone_and_inside_a_zip(make) -> None:  # type: ignore[no-untyped-def]
    data = make({"export/patients.csv": ROWS.encode()})
    texts, notes = read(data, "dump.rar")
    assert "jeanne.dupont@example.fr" in texts["dump.rar!export/patients.csv"] and notes == []
    texts, notes = read(zipped({"dump.rar": data}), "outer.zip")
    assert "paul.martin@example.fr" in texts["outer.zip!dump.rar!export/patients.csv"] and notes == []


def test_split_7z_and_a_rar_volume_set_are_read_from_their_first_part(tmp_path: Path) -> None:
    from leakwatch.detection import volumes
    from leakwatch.detection.documents import stream_documents

    rows = ROWS.encode() * 20
    seven = archive("7zip", {"a.csv": rows}, tmp_path)
    (tmp_path / "s.7z.001").write_bytes(seven[:50])
    (tmp_path / "s.7z.002").write_bytes(seven[50:])
    for i, vol in enumerate(rar4_volumes("b.csv", rows, 3), 1):
        (tmp_path / f"r.part{i}.rar").write_bytes(vol)
    for first, member in (("s.7z.001", "a.csv"), ("r.part1.rar", "b.csv")):
        path = tmp_path / first
        assert volumes.is_later_volume(path.with_name(first.replace("001", "002").replace("part1", "part2")))
        with volumes.open_volumes(path) as fh:
            docs = list(stream_documents(fh, first, Limits(), volumes.total_size(path)))
        assert [type(d) for d in docs] == [Document] and docs[0].target == f"{first}!{member}"
        assert docs[0].text == rows.decode()


# ---- office documents and PDF ---------------------------------------------------------------

def xlsx(rows: list[list[str]], garbage: bool = False) -> bytes:
    cells = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{chr(65 + c)}{r}" t="inlineStr"><is><t>{v}</t></is></c>'
                                    for c, v in enumerate(row)) + "</row>"
        for r, row in enumerate(rows, 1))
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    return zipped({
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
        b'+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
        b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
        b'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        b'spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook {ns} {rel}><sheets><sheet name="Patients" sheetId="1" '
        f'r:id="rId1"/></sheets></workbook>'.encode(),
        "xl/_rels/workbook.xml.rels": b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.'
        b'org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0"?><worksheet {ns}><sheetData>{cells}</sheetData>'
        f"</worksheet>".encode() if not garbage else b"<worksheet><sheetData><row><c><v>1</sheetData",
    })


def docx(paragraphs: list[str], table: list[list[str]]) -> bytes:
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    body += "<w:tbl>" + "".join("<w:tr>" + "".join(f"<w:tc><w:p><w:r><w:t>{c}</w:t></w:r></w:p></w:tc>" for c in row)
                                + "</w:tr>" for row in table) + "</w:tbl>"
    return zipped({"[Content_Types].xml": b"<Types/>",
                   "word/document.xml": f'<?xml version="1.0"?><w:document {w}><w:body>{body}</w:body>'
                                        f"</w:document>".encode()})


def pdf(lines: list[str]) -> bytes:
    text = " ".join(f"({line}) Tj 0 -14 Td" for line in lines)
    stream = f"BT /F1 10 Tf 40 800 Td {text} ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
               b"/Contents 5 0 R >>", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


_ODF_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
           'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"')


def odf(kind: str, body: str) -> bytes:
    """An OpenDocument file: ``mimetype`` stored first, then the content."""
    mime = f"application/vnd.oasis.opendocument.{kind}"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("mimetype", mime)
        zf.writestr("META-INF/manifest.xml", '<?xml version="1.0"?><manifest:manifest xmlns:manifest="urn:oasis:'
                    'names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry '
                    f'manifest:full-path="/" manifest:media-type="{mime}"/><manifest:file-entry manifest:full-path='
                    '"content.xml" manifest:media-type="text/xml"/></manifest:manifest>', zipfile.ZIP_DEFLATED)
        zf.writestr("content.xml", f'<?xml version="1.0"?><office:document-content {_ODF_NS}><office:body>'
                    f"{body}</office:body></office:document-content>", zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def test_opendocument_spreadsheet_and_text_are_read() -> None:
    rows = [["nom", "email"], ["MARTIN", "paul.martin@example.fr"]]
    cells = "".join("<table:table-row>" + "".join(f'<table:table-cell office:value-type="string"><text:p>{v}'
                                                  "</text:p></table:table-cell>" for v in row)
                    + "</table:table-row>" for row in rows)
    ods = odf("spreadsheet", f'<office:spreadsheet><table:table table:name="Feuille1">{cells}</table:table>'
                             "</office:spreadsheet>")
    texts, notes = read(ods, "export.ods")
    assert texts == {"export.ods!Feuille1": "nom,email\nMARTIN,paul.martin@example.fr\n"} and notes == []
    odt = odf("text", '<office:text><text:p>Patient <text:span>MARTIN</text:span><text:s/>Paul, '
                      "paul.martin@example.fr</text:p></office:text>")
    texts, notes = read(odt, "lettre.odt")
    assert texts == {"lettre.odt": "Patient MARTIN Paul, paul.martin@example.fr"} and notes == []


def test_a_spreadsheet_is_read_as_csv_rows_under_their_header() -> None:
    texts, notes = read(xlsx([["nom", "email", "telephone"], ["DUPONT", "jeanne.dupont@example.fr", "0612345678"]]),
                        "export.xlsx")
    assert texts == {"export.xlsx!Patients": "nom,email,telephone\nDUPONT,jeanne.dupont@example.fr,0612345678\n"}
    assert notes == []


def test_word_text_and_tables_are_read() -> None:
    texts, _ = read(docx(["Liste des patients"], [["DUPONT", "jeanne.dupont@example.fr"]]), "note.docx")
    (text,) = texts.values()
    assert "Liste des patients" in text and "DUPONT | jeanne.dupont@example.fr |" in text


def test_pdf_text_is_read_and_an_encrypted_pdf_is_a_note() -> None:
    from pypdf import PdfReader, PdfWriter

    plain = pdf(["DUPONT Jeanne jeanne.dupont@example.fr"])
    texts, notes = read(plain, "scan.pdf")
    assert "jeanne.dupont@example.fr" in "".join(texts.values()) and notes == []
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(plain)))
    writer.encrypt("leak2026")
    locked = io.BytesIO()
    writer.write(locked)
    texts, notes = read(locked.getvalue(), "locked.pdf")
    assert texts == {} and notes[0].reason == "encrypted PDF: no password given (scan --password P)"
    texts, _ = read(locked.getvalue(), "locked.pdf", passwords=("leak2026",))
    assert "jeanne.dupont@example.fr" in "".join(texts.values())


def test_a_broken_document_is_a_note_never_a_silent_zero() -> None:
    broken = xlsx([["a"]], garbage=True)
    texts, notes = read(broken, "broken.xlsx")
    assert texts == {} and len(notes) == 1 and "xlsx" in notes[0].reason


# ---- properties ------------------------------------------------------------------------------

@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096) | st.sampled_from([b"PK\x03\x04", b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07\x00",
                                                     b"\x1f\x8b\x08", b"BZh9", b"%PDF-1.4", b"\xd0\xcf\x11\xe0"
                                                     b"\xa1\xb1\x1a\xe1"]).flatmap(
    lambda magic: st.binary(max_size=2048).map(lambda tail: magic + tail)))
def test_any_bytes_give_documents_or_notes_never_an_exception(data: bytes) -> None:
    for passwords in ((), ("infected",)):
        try:
            for d in documents(data, "x", Limits(passwords=passwords)):
                assert isinstance(d, Document | Skipped)
        except LeakwatchError:
            pass


@functools.cache
def _seven() -> bytes:
    import py7zr

    seven = io.BytesIO()
    with py7zr.SevenZipFile(seven, "w", password="infected") as z:
        z.writestr(ROWS.encode(), "a.csv")
    return seven.getvalue()


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_damaged_archives_and_documents_give_notes_never_an_exception(data: st.DataObject) -> None:
    """Real archives and documents with bytes flipped or cut: the parsers' deeper paths."""
    base = data.draw(st.sampled_from([_seven(), zipped({"a.csv": ROWS.encode()}), rar4({"a.csv": b"x"}),
                                      rar5({"a.csv": b"x"}), xlsx([["a", "b"], ["1", "2"]]), pdf(["a b c"]),
                                      gzip.compress(ROWS.encode()), deflate64_zip("a.csv", ROWS.encode())]))
    damaged = bytearray(base[: data.draw(st.integers(min_value=1, max_value=len(base)))])
    for at in data.draw(st.lists(st.integers(min_value=0, max_value=len(damaged) - 1), max_size=4)):
        damaged[at] ^= 0xFF
    try:
        for d in documents(bytes(damaged), "x", Limits(passwords=("infected",))):
            assert isinstance(d, Document | Skipped)
    except LeakwatchError:
        pass


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=1, max_value=3000))
def test_deeply_nested_json_does_not_overflow(depth: int) -> None:
    texts, _ = read(("[" * depth + '"a@example.fr"' + "]" * depth).encode(), "x.json")
    assert "a@example.fr" in "".join(texts.values())


def test_a_10_mb_line_of_digits_is_read_whole() -> None:
    line = b"7" * (10 * 1024 * 1024)
    texts, notes = read(line, "digits.txt")
    assert sum(len(t) for t in texts.values()) == len(line) and notes == []


# ---- through the CLI ---------------------------------------------------------------------------

def _tree(root: Path, home: Path) -> set[Path]:
    return {p for p in root.rglob("*") if home not in p.parents and p != home}


def test_a_directory_of_hostile_files_is_scanned_with_a_note_for_each_skip(
        imported: Cli, crowd: list[Person], tmp_path: Path) -> None:
    a, b, c, d, e = (crowd[i:i + 1] for i in range(150, 155))
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "leak.csv.bz2").write_bytes(bz2.compress(leak_csv_semicolon(a).encode()))
    (drop / "dump.zip").write_bytes(zipped({"x/leak.csv.xz": lzma.compress(leak_csv_semicolon(b).encode())}))
    (drop / "export.txt").write_bytes(leak_prose(c).encode("utf-16-le"))
    seven = archive("7zip", {"files/patients.csv": leak_csv_semicolon(d).encode()}, tmp_path)
    (drop / "big.7z.001").write_bytes(seven[:100])
    (drop / "big.7z.002").write_bytes(seven[100:])
    (drop / "locked.zip").write_bytes(archive("zip", {"l.csv": leak_csv_semicolon(e).encode()}, tmp_path,
                                              options="encryption=aes256", passphrase="infected"))
    rows = leak_csv_semicolon(crowd[155:156]) + "".join(f"{i};{os.urandom(8).hex()}\n" for i in range(5000))
    packed = gzip.compress(rows.encode())
    (drop / "cut.csv.gz").write_bytes(packed[: len(packed) // 2])
    (drop / "gone.csv").symlink_to(drop / "nowhere.csv")
    os.mkfifo(drop / "pipe")
    before = _tree(tmp_path, imported.home)

    result = imported("scan", str(drop), "--json", check=1)
    refs = {r["ref"] for line in result.stdout.splitlines() for r in json.loads(line)["records"]}
    assert refs == {p.ipp for p in (*a, *b, *c, *d, crowd[155])}
    err = result.stderr
    assert f"{drop / 'gone.csv'}: skipped: dangling symbolic link" in err
    assert f"{drop / 'pipe'}: skipped: FIFO (named pipe)" in err
    assert f"{drop / 'locked.zip'}!l.csv: skipped: encrypted: no password given" in err
    assert f"{drop / 'cut.csv.gz'}!cut.csv: skipped: after " in err and "truncated" in err
    assert "Traceback" not in err and "internal error" not in err
    assert _tree(tmp_path, imported.home) == before  # nothing written outside the home

    opened = imported("scan", "--password", "wrong", "-p", "infected", str(drop / "locked.zip"), "--json", check=1)
    assert {r["ref"] for r in json.loads(opened.stdout)["records"]} == {e[0].ipp}
    piped = imported("scan", "-", "--json", input=bz2.compress(leak_csv_semicolon(a).encode()), check=1)
    assert {r["ref"] for r in json.loads(piped.stdout)["records"]} == {a[0].ipp}
    piped = imported("scan", "-", "--json", input=seven, check=1)  # a 7z must seek: stdin cannot
    assert {r["ref"] for r in json.loads(piped.stdout)["records"]} == {d[0].ipp}
    named = imported("scan", str(drop / "gone.csv"), str(drop / "leak.csv.bz2"), "--json", check=2)
    assert named.stderr.strip() == f"leakwatch: error: {drop / 'gone.csv'}: dangling symbolic link (to " \
                                   f"{drop / 'nowhere.csv'})"
    assert {r["ref"] for r in json.loads(named.stdout)["records"]} == {a[0].ipp}  # the others still scanned
