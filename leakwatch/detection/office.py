"""The text of office documents and PDFs, which make up most of a file server's copy (what a
ransomware dump is).

- Spreadsheets (xlsx, xlsm, xlsb, xls, ods, through python-calamine): each sheet one document of
  CSV text, its header row first and every row as wide as it (a row's empty last cells kept), so
  that records are read as records (``leakwatch.detection.records``).
- Word processing (docx, odt): paragraphs as lines, table rows as ``cell | cell`` lines
  (defusedxml, which refuses entity bombs).
- PDF (pypdf): the text of each page.

The same limits as archives: a document larger than ``max_item_bytes``, or whose parts expand
beyond the archive limits, is not read; extraction stops after ``max_document_seconds``. An
encrypted or unreadable document is a note, never a silent zero.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
import zipfile
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from leakwatch.models import Document, Skipped

if TYPE_CHECKING:
    from leakwatch.detection.limits import Limits

KINDS = ("pdf", "ole")
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_ODF = {"application/vnd.oasis.opendocument.spreadsheet": "ods", "application/vnd.oasis.opendocument.text": "odt"}


def sniff(head: bytes) -> str | None:
    if head.startswith(b"%PDF-") or b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(_OLE):
        return "ole"
    return None


def kind_of(src: IO[bytes], kind: str) -> str | None:
    """xlsx, docx, ods, odt, xls, pdf... for a document; None for an archive."""
    if kind == "pdf":
        return "pdf"
    if kind == "ole":
        return _ole_kind(src)
    if kind != "zip":
        return None
    try:
        with zipfile.ZipFile(src) as zf:
            names = set(zf.namelist())
            if "mimetype" in names:
                mime = zf.read("mimetype")[:100].decode("ascii", "replace").strip()
                return _ODF.get(mime)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError, NotImplementedError):
        return None
    finally:
        src.seek(0)
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        return "xlsx"
    if "word/document.xml" in names:
        return "docx"
    return None


def _ole_kind(src: IO[bytes]) -> str | None:
    head = src.read(1024 * 1024)
    src.seek(0)
    if _ENCRYPTED_PACKAGE in head:
        return "encrypted-ooxml"
    return "xls"  # or a legacy .doc/.ppt, which calamine refuses: then a note says so


def read(src: IO[bytes], kind: str, target: str, limits: Limits) -> Iterator[Document | Skipped]:
    size = src.seek(0, io.SEEK_END)
    src.seek(0)
    if size > limits.max_item_bytes:
        yield Skipped(target, f"{kind} document larger than {limits.max_item_bytes} bytes (max_item_bytes): not read")
        return
    if kind == "encrypted-ooxml":
        yield Skipped(target, "encrypted office document: not read (no password support for office files)")
        return
    try:
        if kind in ("xlsx", "xls", "ods"):
            if kind != "xls" and (why := _zip_bomb(src, limits)):
                yield Skipped(target, why)
                return
            yield from _spreadsheet(src, target, limits)
        elif kind in ("docx", "odt"):
            if why := _zip_bomb(src, limits):
                yield Skipped(target, why)
                return
            yield from _word(src, kind, target, limits)
        elif kind == "pdf":
            yield from _pdf(src, target, limits)
    except _Unreadable as exc:
        yield Skipped(target, str(exc))
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:
        # a hostile document must not stop the scan: a note, never a silent zero
        what = "OLE document (not a readable .xls; legacy .doc, .ppt and Outlook .msg are not read)" if kind == "xls" \
            else f"{kind} document"
        yield Skipped(target, f"unreadable {what} ({exc.__class__.__name__})")


class _Unreadable(Exception):
    pass


def _zip_bomb(src: IO[bytes], limits: Limits) -> str | None:
    """Declared sizes of the document's parts against the archive limits."""
    size = src.seek(0, io.SEEK_END)
    src.seek(0)
    with zipfile.ZipFile(src) as zf:
        total = sum(info.file_size for info in zf.infolist())
    src.seek(0)
    cap = min(limits.max_expanded_bytes, max(size, 64 * 1024) * limits.max_expansion_ratio)
    if total > cap:
        return f"document expands beyond {cap} bytes (limit on size and ratio): not read"
    return None


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 33612345678.0 is a phone number, not a float
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    return str(value)


def _spreadsheet(src: IO[bytes], target: str, limits: Limits) -> Iterator[Document | Skipped]:
    from python_calamine import CalamineWorkbook, PasswordError

    deadline = time.monotonic() + limits.max_document_seconds
    try:
        book = CalamineWorkbook.from_filelike(src)
    except PasswordError:
        raise _Unreadable("encrypted spreadsheet: not read") from None
    for name in book.sheet_names:
        if time.monotonic() > deadline:
            yield Skipped(f"{target}!{name}", f"not read: the document took over {limits.max_document_seconds:.0f} s")
            return
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        width = 0  # the header's: rows are padded to it, so that a row whose last cells are empty
        for row in book.get_sheet_by_name(name).iter_rows():  # is still read as a record of the table
            cells = [_cell(v) for v in row]
            while cells and not cells[-1]:
                cells.pop()
            if not cells:
                continue  # blank lines above the header, or between blocks
            width = width or len(cells)
            writer.writerow(cells + [""] * (width - len(cells)))
        if width:
            yield Document(f"{target}!{name}", out.getvalue())


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_LINE_END = {_W + "p", _TEXT + "p", _TEXT + "h", _W + "tr", _TABLE + "table-row", _W + "br", _TEXT + "line-break"}
_CELL_END = {_W + "tc", _TABLE + "table-cell"}
_TAB = {_W + "tab", _TEXT + "tab"}
_KEEP_TEXT = {_W + "t", _TEXT + "p", _TEXT + "h", _TEXT + "span", _TEXT + "a"}


def _word(src: IO[bytes], kind: str, target: str, limits: Limits) -> Iterator[Document | Skipped]:
    from defusedxml import ElementTree

    part = "word/document.xml" if kind == "docx" else "content.xml"
    with zipfile.ZipFile(src) as zf:
        if zf.getinfo(part).flag_bits & 0x1:
            raise _Unreadable(f"encrypted {kind} document: not read")
        xml = zf.read(part)
    root = ElementTree.fromstring(xml)
    parts: list[str] = []
    in_cell = 0
    stack: list[tuple[object, bool]] = [(root, False)]
    while stack:  # iterative: a deeply nested document cannot exhaust the stack
        node, closing = stack.pop()
        tag = node.tag  # type: ignore[attr-defined]
        if closing:
            if tag in _CELL_END:
                if parts and parts[-1] == " ":
                    parts.pop()  # the cell's last paragraph end
                parts.append(" | ")
                in_cell -= 1
            elif tag in _LINE_END:
                parts.append(" " if in_cell and tag not in (_W + "tr", _TABLE + "table-row") else "\n")
            if node.tail:  # type: ignore[attr-defined]
                parts.append(node.tail)  # type: ignore[attr-defined]
            continue
        if tag in _CELL_END:
            in_cell += 1
        elif tag in _TAB:
            parts.append("\t")
        elif tag == _TEXT + "s":
            parts.append(" ")
        if node.text and tag in _KEEP_TEXT:  # type: ignore[attr-defined]
            parts.append(node.text)  # type: ignore[attr-defined]
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(list(node)))  # type: ignore[call-overload]
    text = "".join(parts).strip()
    if text:
        yield Document(target, text)


def _pdf(src: IO[bytes], target: str, limits: Limits) -> Iterator[Document | Skipped]:
    import logging

    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # a hostile PDF's every flaw is not a log line
    reader = PdfReader(src)
    if reader.is_encrypted:
        opened = False
        for password in ("", *limits.passwords):
            try:
                if reader.decrypt(password):
                    opened = True
                    break
            except (FileNotDecryptedError, PdfReadError, NotImplementedError):
                continue
        if not opened:
            raise _Unreadable("encrypted PDF: none of the passwords given opens it" if limits.passwords
                              else "encrypted PDF: no password given (scan --password P)")
    deadline = time.monotonic() + limits.max_document_seconds
    pages: list[str] = []
    for number, page in enumerate(reader.pages, 1):
        if time.monotonic() > deadline:
            yield Document(target, "\n".join(pages))
            yield Skipped(target, f"pages after {number - 1}: not read, the PDF took over "
                                  f"{limits.max_document_seconds:.0f} s")
            return
        pages.append(page.extract_text() or "")
    text = "\n".join(pages).strip()
    if text:
        yield Document(target, text)
    else:
        yield Skipped(target, "PDF without a text layer (scanned images?): nothing to read")
