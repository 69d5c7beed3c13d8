"""Turns an item's raw bytes into text documents: archives expanded within limits, any text
encoding decoded, office documents and PDFs read as text, binaries skipped with a note, HTML and
JSON flattened to one line per row.

Archives are streamed (see ``archives``); the only bytes written to disk are those of a dump whose
format must seek, spooled to an unnamed temporary file when it is too large to hold in memory.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from collections.abc import Iterator
from typing import IO

from charset_normalizer import from_bytes

from leakwatch.detection import archives, mail, normalise, office
from leakwatch.detection.archives import LimitExceeded
from leakwatch.detection.limits import Limits
from leakwatch.detection.records import carry
from leakwatch.models import Document, Skipped

SAMPLE = 64 * 1024
MAX_STRUCTURED = 64 * 1024 * 1024
"""HTML and JSON above this size are scanned as raw text rather than parsed."""

__all__ = ["LimitExceeded", "Limits", "documents", "stream_documents"]


class _Budget:
    """Expanded bytes allowed for one item: an absolute cap and a ratio to the compressed size."""

    def __init__(self, limits: Limits, compressed: int | None) -> None:
        self.remaining = limits.max_expanded_bytes
        if compressed is not None:
            self.remaining = min(self.remaining, max(compressed, 64 * 1024) * limits.max_expansion_ratio)
        self.cap = self.remaining

    def take(self, n: int) -> None:
        self.remaining -= n
        if self.remaining < 0:
            raise LimitExceeded(f"archive expands beyond {self.cap} bytes (limit on size and ratio)")


CHUNK = 8 * 1024 * 1024


def documents(content: bytes, target: str, limits: Limits, title: str | None = None
              ) -> Iterator[Document | Skipped]:
    """Documents and skipped notes of one item's content held in memory."""
    yield from stream_documents(io.BytesIO(content), target, limits, len(content), title)


def stream_documents(fh: IO[bytes], target: str, limits: Limits, size: int | None, title: str | None = None,
                     carried: carry.Carry | None = None) -> Iterator[Document | Skipped]:
    """Documents of a (possibly huge) file, read in chunks: memory stays bounded by ``CHUNK``.
    ``carried``: what the text needs from the file it was cut from (``records.carry``)."""
    budget = _Budget(limits, size)
    yield from _expand(Input(fh), target, limits, budget, 0, title, size, carried)


class Input(io.RawIOBase):
    """A readable stream with a look-ahead (``head``). Reads of an archive member count against
    the item's budget; an error of the archive it comes from ends it, kept in ``error``, so that
    everything before the damage is still scanned."""

    def __init__(self, fh: IO[bytes] | archives.Entry | archives._StdEntry | archives._Deflate64,
                 budget: _Budget | None = None) -> None:
        self.fh = fh
        self.budget = budget
        self.ahead = bytearray()
        self.error: BaseException | None = None
        self.done = 0
        self._seekable = budget is None and _seekable(fh)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._seekable

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.fh.seek(offset, whence)  # type: ignore[union-attr]

    def tell(self) -> int:
        return self.fh.tell()  # type: ignore[union-attr]

    def _pull(self, n: int) -> bytes:
        if self.error is not None:
            return b""
        try:
            data = self.fh.read(n)
        except LimitExceeded:
            raise
        except Exception as exc:
            if not archives.is_archive_error(exc) and not isinstance(exc, archives.DATA_ERRORS):
                raise
            self.error = exc
            return b""
        if self.budget is not None:
            self.budget.take(len(data))
        self.done += len(data)
        return data or b""

    def head(self, n: int) -> bytes:
        """The next ``n`` bytes (fewer at the end), without consuming them."""
        if self._seekable:
            at = self.tell()
            data = self.read_upto(n)
            self.seek(at)
            self.done -= len(data)
            return data
        while len(self.ahead) < n:
            data = self._pull(n - len(self.ahead))
            if not data:
                break
            self.ahead += data
        return bytes(self.ahead[:n])

    def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
        want = len(buf)
        if self.ahead:
            n = min(want, len(self.ahead))
            buf[:n] = self.ahead[:n]
            del self.ahead[:n]
            return n
        data = self._pull(want)
        buf[: len(data)] = data
        return len(data)

    def read_upto(self, n: int) -> bytes:
        """``n`` bytes, fewer only at the end."""
        parts = bytearray()
        if self.ahead:
            parts += self.ahead[:n]
            del self.ahead[: len(parts)]
        while len(parts) < n:
            data = self._pull(n - len(parts))
            if not data:
                break
            parts += data
        return bytes(parts)


def _seekable(fh: object) -> bool:
    try:
        return bool(fh.seekable()) and fh.tell() >= 0  # type: ignore[attr-defined]
    except (OSError, AttributeError, ValueError):
        return False


def _expand(inp: Input, target: str, limits: Limits, budget: _Budget, depth: int,
            title: str | None, size: int | None, carried: carry.Carry | None = None
            ) -> Iterator[Document | Skipped]:
    head = inp.head(archives.HEAD)
    kind = archives.sniff(head) or office.sniff(head) or mail.sniff(head)
    if kind is None:
        yield from _text_documents(inp, target, title, limits, size, carried)
        return
    if depth >= limits.max_depth and kind not in office.KINDS:  # a PDF holds no archive: no deeper
        what = "message" if kind in mail.KINDS else "archive"
        yield Skipped(target, f"{kind} {what} nested deeper than {limits.max_depth} levels")
        return
    if kind in mail.KINDS:
        def attachment(data: bytes, name: str) -> Iterator[Document | Skipped]:
            return _expand(Input(io.BytesIO(data), budget), name, limits, budget, depth + 1, title, len(data))

        try:
            yield from mail.read(inp, kind, target, limits.max_item_bytes, attachment, title)
        except LimitExceeded as exc:  # its attachments expand beyond the item's budget, as an archive's would
            yield Skipped(target, str(exc))
        return
    src: IO[bytes] = inp
    try:
        if kind in office.KINDS or kind in archives.SEEKING:
            src = inp if inp.seekable() else archives.spool(inp.read_upto, limits.max_item_bytes, limits.spool_dir)
        doc_kind = office.kind_of(src, kind)
        if doc_kind is not None:
            yield from office.read(src, doc_kind, target, limits)
            return
        if kind in office.KINDS:
            yield Skipped(target, f"{kind} document of a kind not read")
            return
        yield from _archive(src, kind, target, limits, budget, depth, title)
    except LimitExceeded as exc:
        yield Skipped(target, str(exc))
    finally:
        if src is not inp:
            src.close()


def _archive(src: IO[bytes], kind: str, target: str, limits: Limits, budget: _Budget, depth: int,
             title: str | None) -> Iterator[Document | Skipped]:
    decrypt = kind == "7z" and bool(limits.passwords)  # libarchive cannot decrypt 7z: py7zr can
    deflate64: set[str] = set()  # nor inflate Deflate64: inflate64 can, once libarchive is done
    try:
        with archives.open_archive(src, kind, limits.passwords) as entries:
            for entry in entries:
                name = entry.name
                if kind in archives.FILTERS:
                    name = re.sub(r"\.(gz|tgz|bz2|xz|lzma|zst|lz4|lz)$", "",
                                  target.rsplit("!", 1)[-1].rsplit("/", 1)[-1]) or "data"
                member = f"{target}!{name}"
                child = Input(entry, budget)
                if decrypt:
                    child.head(1)
                    if child.error is not None and "encrypt" in archives.error_text(child.error).lower():
                        break
                yield from _expand(child, member, limits, budget, depth + 1, title, None)
                if child.error is not None and kind == "zip" and archives.is_deflate64(child.error) \
                        and not child.done and src.seekable():
                    deflate64.add(entry.name)
                    continue
                if child.error is not None:
                    note, go_on = archives.explain(child.error, kind)
                    at = f"after {child.done} bytes: " if child.done else ""
                    yield Skipped(member, at + note)  # after the documents: all that was readable is scanned
                    if not go_on:
                        return
            else:
                if deflate64:
                    yield from _deflate64(src, deflate64, target, limits, budget, depth, title)
                return  # every member read: no decryption needed
    except LimitExceeded:
        raise
    except Exception as exc:
        if not archives.is_archive_error(exc) and not isinstance(exc, (*archives.DATA_ERRORS, ValueError)):
            raise
        if not (decrypt and "encrypt" in archives.error_text(exc).lower()):
            yield Skipped(target, archives.explain(exc, kind)[0])
            return
    yield from _encrypted_7z(src, target, limits, budget, depth, title)


def _deflate64(src: IO[bytes], names: set[str], target: str, limits: Limits, budget: _Budget, depth: int,
               title: str | None) -> Iterator[Document | Skipped]:
    try:
        for name, reader in archives.deflate64_members(src, names):
            member = f"{target}!{name}"
            child = Input(reader, budget)
            yield from _expand(child, member, limits, budget, depth + 1, title, None)
            if child.error is not None:
                yield Skipped(member, f"after {child.done} bytes: " + archives.explain(child.error, "zip")[0])
    except (zipfile.BadZipFile, *archives.DATA_ERRORS, ValueError) as exc:
        yield Skipped(target, f"corrupt zip (Deflate64 members): {archives.error_text(exc)}")


def _encrypted_7z(src: IO[bytes], target: str, limits: Limits, budget: _Budget, depth: int,
                  title: str | None) -> Iterator[Document | Skipped]:
    from leakwatch.detection import sevenzip

    try:
        for name, fh in sevenzip.members(src, limits.passwords, budget.take, limits.max_item_bytes,
                                         limits.spool_dir):
            yield from _expand(Input(fh), f"{target}!{name}", limits, budget, depth + 1, title, None)
    except sevenzip.NoPassword:
        yield Skipped(target, "encrypted: none of the passwords given opens it")


# ---- text -------------------------------------------------------------------------------

def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 text of mostly Latin script has a NUL in every other byte."""
    if len(sample) < 16:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


_NUL_RUN = re.compile(rb"\x00{16,}")
_CONTROLS = bytes([*range(1, 9), *range(14, 32), 127])


def is_binary(sample: bytes) -> bool:
    """Whether a file's first bytes are no text. Text may hold NULs: zeroed blocks (a log written
    up to a crash, a preallocated file) and a stray NUL in a value (a broken export). It is text
    still when, runs of NULs aside, NULs are rare and other control bytes too (random or compressed
    bytes hold about 9 %)."""
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _utf16_without_bom(sample):
        return False
    if b"\x00" in sample:
        sample = _NUL_RUN.sub(b"", sample)
        if not sample or sample.count(0) > max(4, len(sample) // 100):
            return True
        if len(sample) - len(sample.translate(None, _CONTROLS)) > max(2, 3 * len(sample) // 100):
            return True
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return bool(sample) and controls / len(sample) > 0.1


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if utf16 := _utf16_without_bom(sample):
        return utf16  # NUL-interleaved ASCII is valid UTF-8 too: this test comes first
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and len(sample) >= SAMPLE:
            return "utf-8"  # a character cut by the sample's end
    if len(sample) < 2048:
        return "cp1252"  # too little text for detection to beat the usual Western default
    best = from_bytes(sample).best()
    return best.encoding if best is not None else "cp1252"


def _text_documents(fh: Input, target: str, title: str | None, limits: Limits,
                    size: int | None, carried: carry.Carry | None = None) -> Iterator[Document | Skipped]:
    """Decoded text in chunks cut at line ends; a small HTML or JSON file is flattened whole."""
    sample = fh.head(SAMPLE)
    if is_binary(sample[:8192]):
        yield Skipped(target, "binary content")
        return
    decoder = codecs.getincrementaldecoder(detect_encoding(sample))(errors="replace")
    pending = ""
    first = True
    before = carried or carry.Carry()
    while True:
        raw = fh.read_upto(CHUNK)
        final = not fh.head(1)
        new = decoder.decode(raw, final=final)
        if not (first and final) and "\n" not in new and _BETWEEN_TAGS.search(new):
            # Minified XML or HTML, a line of many MB: one element a line, as pretty-printed, so
            # that it is cut between two records and each piece read as the pretty-printed form is
            new = _BETWEEN_TAGS.sub(">\n<", new)
        text = normalise.repair_mojibake(pending + new)
        if "\x00" in text:  # zeroed blocks, a stray NUL in a value: nothing, read around
            text = text.replace("\x00", "")
        if first and final:
            if text:
                flat, lossless = flatten(text)
                yield Document(target, flat, title, head=before.prefix(flat) if flat is text else "")
                if not lossless:
                    yield Document(target, text, title, records_only=True)
            return
        first = False
        # Cut in the last quarter, at a blank line or the end of a pretty-printed record where there
        # is one (``records.carry.cut_point``); a table cut elsewhere has its header carried.
        cut = len(text) if final else carry.cut_point(text, max(0, len(text) - CHUNK // 4), len(text))
        if cut == -1:
            cut = text.rfind("\n") + 1
        if cut <= 0 and len(text) < CHUNK * 4:
            pending = text  # a very long line: wait for its end, within reason
            continue
        if cut <= 0:  # a line longer than that: minified JSON (an API's dump) is cut between two objects
            cut = _object_boundary(text, len(text) - CHUNK)
        cut = cut if cut > 0 else len(text)
        chunk = text[:cut]
        if chunk:
            yield Document(target, chunk, title, head=before.prefix(chunk))
            before.after(chunk)
        pending = text[cut:]
        if final:
            return


_BETWEEN_TAGS = re.compile(r">[ \t]*<")
_BETWEEN_OBJECTS = re.compile(r"\}[ \t]*,(?=[ \t]*\{)")


def _object_boundary(text: str, lo: int) -> int:
    """Where a very long line of JSON may be cut after ``lo``: after the last ``},`` between two
    objects (``{"nom": ...}, {"nom": ...}``), so that each part holds whole objects; -1 where none is."""
    at = -1
    for m in _BETWEEN_OBJECTS.finditer(text, lo):
        at = m.end()
    return at


_HTML_HINT = re.compile(r"<(?:!doctype html|html|body|table|div|p|tr)\b", re.IGNORECASE)
_HTML_END = re.compile(r"</(?:html|body)\s*>", re.IGNORECASE)
"""A page ends so. A paste that only begins with markup (an HTML table, then dumps and prose) is
not a page: parsed as one, it would be matched twice (its visible text, and as written, since
parsing can swallow what is not HTML), for nothing the record reader does not read already."""


def flatten(text: str) -> tuple[str, bool]:
    """An HTML page's visible text, table rows as one line each; also says whether nothing can have
    been lost (never, for a page: parsing HTML can swallow what is not HTML). JSON is left as it is:
    the record reader reads each object whole, nested objects' values with it (``records.jsonrec``),
    where flattening put each nested object on a line of its own (a MongoDB export's birth date,
    ``{"$date": ...}``, apart from the names it belongs with)."""
    head = text[:4096].lstrip()
    if (len(text) <= MAX_STRUCTURED and _HTML_HINT.search(head)
            and _HTML_END.search(text, max(0, len(text) - 65536))):
        return html_text(text), False
    return text, True


_BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "section",
               "article", "table", "ul", "ol", "blockquote", "dt", "dd", "hr", "title"}


def html_text(markup: str) -> str:
    """Visible text of an HTML page: table rows as ``cell | cell`` lines, blocks on their own line."""
    from html.parser import HTMLParser

    class _Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in ("script", "style", "template"):
                self.skip += 1
            elif tag in ("td", "th"):
                self.parts.append(" | ")
            elif tag in _BLOCK_TAGS:
                self.parts.append("\n")

        def handle_endtag(self, tag: str) -> None:
            if tag in ("script", "style", "template"):
                self.skip = max(0, self.skip - 1)
            elif tag in _BLOCK_TAGS:
                self.parts.append("\n")

        def handle_data(self, data: str) -> None:
            if not self.skip:
                self.parts.append(data)

    parser = _Text()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.parts)
    return re.sub(r"\n\s*\n+", "\n", text)
