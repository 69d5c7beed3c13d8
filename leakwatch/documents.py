"""Turns an item's raw bytes into text documents: archives expanded within limits, any text
encoding decoded, binaries skipped with a note, HTML and JSON flattened to one line per row.

Nothing here writes to disk: archives are read from memory or streamed from the file they are in.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import json
import lzma
import re
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from charset_normalizer import from_bytes

from leakwatch.models import Document, Skipped

SAMPLE = 64 * 1024
MAX_STRUCTURED = 64 * 1024 * 1024
"""HTML and JSON above this size are scanned as raw text rather than parsed."""


@dataclass(frozen=True)
class Limits:
    max_item_bytes: int = 50 * 1024 * 1024
    max_expanded_bytes: int = 1024 * 1024 * 1024
    max_expansion_ratio: int = 200
    max_depth: int = 3


class LimitExceeded(Exception):
    pass


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


def stream_documents(fh: IO[bytes], target: str, limits: Limits, size: int | None, title: str | None = None
                     ) -> Iterator[Document | Skipped]:
    """Documents of a (possibly huge) file, read in chunks: memory stays bounded by ``CHUNK``."""
    budget = _Budget(limits, size)
    yield from _expand(io.BufferedReader(_Raw(fh)), target, limits, budget, 0, title, size)


class _Raw(io.RawIOBase):
    """Adapts any readable binary object (a zip member, a decompressor) for BufferedReader.peek."""

    def __init__(self, fh: IO[bytes], budget: _Budget | None = None) -> None:
        self.fh = fh
        self.budget = budget

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
        data = self.fh.read(len(buf))
        if self.budget is not None:
            self.budget.take(len(data))
        buf[: len(data)] = data
        return len(data)


def _expand(fh: io.BufferedReader, target: str, limits: Limits, budget: _Budget, depth: int,
            title: str | None, size: int | None) -> Iterator[Document | Skipped]:
    kind = sniff_archive(fh.peek(512)[:512] if size is None or size > 0 else b"")
    if kind is None:
        yield from _text_documents(fh, target, title, limits, size)
        return
    if depth >= limits.max_depth:
        yield Skipped(target, f"{kind} archive nested deeper than {limits.max_depth} levels")
        return
    try:
        for member, payload in _members(kind, fh, target, limits, budget):
            if isinstance(payload, Skipped):
                yield payload
                continue
            yield from _expand(payload, member, limits, budget, depth + 1, title, None)
    except LimitExceeded as exc:
        yield Skipped(target, str(exc))
    except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError, lzma.LZMAError, zlib.error,
            ValueError) as exc:
        yield Skipped(target, f"corrupt {kind} archive: {exc.__class__.__name__}")


def sniff_archive(data: bytes) -> str | None:
    if data[:2] == b"\x1f\x8b":
        return "gzip"
    if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        return "zip"
    if data[:3] == b"BZh" and data[3:4].isdigit():
        return "bzip2"
    if data[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if len(data) > 262 and data[257:262] == b"ustar":
        return "tar"
    return None


def _members(kind: str, fh: io.BufferedReader, target: str, limits: Limits, budget: _Budget
             ) -> Iterator[tuple[str, io.BufferedReader | Skipped]]:
    if kind in ("gzip", "bzip2", "xz"):
        opener = {"gzip": gzip.GzipFile, "bzip2": bz2.BZ2File, "xz": lzma.LZMAFile}[kind]
        with opener(fileobj=fh) as inner:  # type: ignore[operator]
            name = re.sub(r"\.(gz|tgz|bz2|xz)$", "", target.rsplit("!", 1)[-1].rsplit("/", 1)[-1])
            yield f"{target}!{name or 'data'}", io.BufferedReader(_Raw(inner, budget))
    elif kind == "zip":
        source: IO[bytes] = fh if fh.seekable() else io.BytesIO(_read_all(fh, limits))
        with zipfile.ZipFile(source) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                member = f"{target}!{info.filename}"
                if info.flag_bits & 0x1:
                    yield member, Skipped(member, "encrypted zip member")
                    continue
                with zf.open(info) as inner:
                    yield member, io.BufferedReader(_Raw(inner, budget))
    elif kind == "tar":
        with tarfile.open(fileobj=fh, mode="r|") as tf:
            for info in tf:
                if not info.isfile():
                    continue
                inner = tf.extractfile(info)
                if inner is not None:
                    yield f"{target}!{info.name}", io.BufferedReader(_Raw(inner, budget))


def _read_all(fh: IO[bytes], limits: Limits) -> bytes:
    data = fh.read(limits.max_item_bytes + 1)
    if len(data) > limits.max_item_bytes:
        raise LimitExceeded(f"nested archive larger than {limits.max_item_bytes} bytes")
    return data


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


def is_binary(sample: bytes) -> bool:
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _utf16_without_bom(sample):
        return False
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return bool(sample) and controls / len(sample) > 0.1


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and len(sample) >= SAMPLE:
            return "utf-8"  # a character cut by the sample's end
    if utf16 := _utf16_without_bom(sample):
        return utf16
    if len(sample) < 2048:
        return "cp1252"  # too little text for detection to beat the usual Western default
    best = from_bytes(sample).best()
    return best.encoding if best is not None else "cp1252"


def _text_documents(fh: io.BufferedReader, target: str, title: str | None, limits: Limits,
                    size: int | None) -> Iterator[Document | Skipped]:
    """Decoded text in chunks cut at line ends; a small HTML or JSON file is flattened whole."""
    sample = fh.peek(SAMPLE)[:SAMPLE]
    if is_binary(sample[:8192]):
        yield Skipped(target, "binary content")
        return
    decoder = codecs.getincrementaldecoder(detect_encoding(sample))(errors="replace")
    pending = ""
    first = True
    while True:
        raw = fh.read(CHUNK)
        final = not fh.peek(1)
        text = pending + decoder.decode(raw, final=final)
        if first and final:
            if text:
                flat, lossless = flatten(text)
                yield Document(target, flat, title)
                if not lossless:
                    yield Document(target, text, title, records_only=True)
            return
        first = False
        # Cut at a blank line near the end where there is one: a structured part (a CSV table, a
        # pretty JSON) seldom holds one, so its records stay in one document with their header.
        blank = -1 if final else text.rfind("\n\n", max(0, len(text) - CHUNK // 4))
        cut = len(text) if final else (blank + 2 if blank != -1 else text.rfind("\n") + 1)
        if cut <= 0 and len(text) < CHUNK * 4:
            pending = text  # a very long line: wait for its end, within reason
            continue
        cut = cut if cut > 0 else len(text)
        if text[:cut]:
            yield Document(target, text[:cut], title)
        pending = text[cut:]
        if final:
            return


_HTML_HINT = re.compile(r"<(?:!doctype html|html|body|table|div|p|tr)\b", re.IGNORECASE)


def flatten(text: str) -> tuple[str, bool]:
    """HTML and JSON to one line per row or object, so that a record's fields share a line.
    Also says whether nothing can have been lost: JSON keeps every value, HTML parsing may not."""
    head = text[:4096].lstrip()
    if len(text) <= MAX_STRUCTURED:
        if head[:1] in "[{":
            flat = _flatten_json(text)
            if flat is not None:
                return flat, True
        if _HTML_HINT.search(head):
            return html_text(text), False
    return text, True


def _flatten_json(text: str) -> str | None:
    try:
        values = [json.loads(text)]
    except ValueError:
        try:
            values = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError:
            return None
    except RecursionError:
        return None
    lines: list[str] = []
    for value in values:
        _json_lines(value, lines)
    return "\n".join(lines)


def _json_lines(value: object, lines: list[str]) -> None:
    """Each innermost object or array of scalars becomes one line of its values."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            scalars = [f"{k}: {v}" for k, v in node.items() if not isinstance(v, dict | list)]
            if scalars:
                lines.append(" | ".join(scalars))
            stack.extend(reversed([v for v in node.values() if isinstance(v, dict | list)]))
        elif isinstance(node, list):
            scalars = [str(v) for v in node if not isinstance(v, dict | list)]
            if scalars:
                lines.append(" | ".join(scalars))
            stack.extend(reversed([v for v in node if isinstance(v, dict | list)]))
        elif node is not None:
            lines.append(str(node))


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
