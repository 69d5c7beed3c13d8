"""Archives and compressed streams, read through libarchive (the system's ``libarchive.so.13``
via ``libarchive-c``): 7z, RAR 4 and 5, zip, tar, cpio, ISO 9660, cab, lha, xar, and zstd, lz4
and lzip around any of them or around plain text. gzip, bzip2 and xz/lzma streams are decoded
by the standard library's streaming decompressors instead: on a truncated stream libarchive drops
its last partly decoded block (64 KiB were recovered of a cut gzip that ``zcat`` reads 370 KiB
of), the standard library returns every byte before the cut.

Everything is streamed. Formats that must seek (zip, 7z, RAR) in an input that cannot (stdin, an
archive inside an archive) are spooled first: in memory up to ``max_item_bytes``, beyond that to
an unnamed temporary file (``O_TMPFILE``: mode 0600, never linked, gone when closed) in a private
directory of ``$LEAKWATCH_HOME``. What is spooled is the dump's own bytes, never our records.
"""

from __future__ import annotations

import bz2
import ctypes
import gzip
import io
import logging
import lzma
import os
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

FILTERS = ("gzip", "bzip2", "xz", "lzma", "zstd", "lz4", "lzip")
CONTAINERS = ("zip", "7z", "rar", "tar", "cpio", "iso9660", "cab", "lha", "xar")
SEEKING = ("zip", "7z", "rar")
HEAD = 0x8006
"""Bytes looked at to recognise a format (ISO 9660 says so at offset 0x8001)."""

_FORMATS = {"zip": ("zip",), "7z": ("7zip",), "rar": ("rar", "rar5"), "tar": ("tar",), "cpio": ("cpio",),
            "iso9660": ("iso9660",), "cab": ("cab",), "lha": ("lha",), "xar": ("xar",)}
_BLOCK = 1024 * 1024
_FATAL = -30

# libarchive-c logs libarchive's warnings; the damage they tell of reaches the user as a note, so
# they go only where logging is set up (the daemon's log), never raw onto scan's stderr.
logging.getLogger("libarchive").addHandler(logging.NullHandler())


class LimitExceeded(Exception):
    pass


def sniff(head: bytes) -> str | None:
    """The archive or compression format these first bytes announce, if any."""
    magics = [(b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"),
              (b"\x04\x22\x4d\x18", "lz4"), (b"LZIP", "lzip"), (b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"),
              (b"PK\x07\x08", "zip"), (b"7z\xbc\xaf\x27\x1c", "7z"), (b"Rar!\x1a\x07", "rar"),
              (b"070701", "cpio"), (b"070702", "cpio"), (b"070707", "cpio"), (b"\xc7\x71", "cpio"),
              (b"MSCF\x00\x00\x00\x00", "cab"), (b"xar!", "xar")]
    for magic, kind in magics:
        if head.startswith(magic):
            return "bzip2" if kind == "bzip2" and not head[3:4].isdigit() else kind
    if head[:3] == b"\x5d\x00\x00" and len(head) > 13:
        return "lzma"
    if len(head) > 262 and head[257:262] == b"ustar":
        return "tar"
    if head[0x8001:0x8006] == b"CD001":
        return "iso9660"
    if len(head) > 21 and head[2:5] == b"-lh" and head[6:7] == b"-":
        return "lha"
    return None


def spool(read: Callable[[int], bytes], in_memory: int, spool_dir: str | None) -> IO[bytes]:
    """A seekable copy of a stream: in memory when it is at most ``in_memory`` bytes, else an
    unnamed temporary file."""
    first = bytearray()
    while len(first) <= in_memory:
        data = read(min(_BLOCK, in_memory + 1 - len(first)))
        if not data:
            return io.BytesIO(bytes(first))
        first += data
    directory = None
    if spool_dir is not None:
        Path(spool_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(spool_dir, 0o700)
        directory = spool_dir
    fh = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 - handed to the caller, who closes it
    try:
        fh.write(first)
        del first
        while data := read(_BLOCK):
            fh.write(data)
        fh.seek(0)
    except BaseException:
        fh.close()
        raise
    return fh


class Entry:
    """One regular file of an archive, readable once, in order."""

    def __init__(self, archive: _Archive, name: str) -> None:
        self.archive = archive
        self.name = name

    def read(self, n: int) -> bytes:
        a = self.archive
        r = a.call(lambda: _ffi().read_data(a.pointer, a.buffer, min(n, _BLOCK)))
        if r < 0:  # a warning (the data is damaged): libarchive-c returns it as a count
            message = _ffi().error_string(a.pointer)
            raise _archive_error(message.decode("utf-8", "replace") if message else f"read error {r}")
        return ctypes.string_at(a.buffer, r)


class _Archive:
    def __init__(self, pointer: int, failures: list[BaseException]) -> None:
        self.pointer = pointer
        self.failures = failures
        self.buffer = ctypes.create_string_buffer(_BLOCK)

    def call(self, fn: Callable[[], int]) -> int:
        """A libarchive call; an exception raised in our read callback (a limit) wins over the
        error libarchive then reports."""
        try:
            return fn()
        except Exception:
            if self.failures:
                raise self.failures.pop() from None
            raise


def _ffi():  # type: ignore[no-untyped-def]
    from libarchive import ffi

    return ffi


def _archive_error(message: str) -> Exception:
    from libarchive.exception import ArchiveError

    return ArchiveError(message)


def is_archive_error(exc: BaseException) -> bool:
    from libarchive.exception import ArchiveError

    return isinstance(exc, ArchiveError)


def error_text(exc: BaseException) -> str:
    msg = getattr(exc, "msg", None) if is_archive_error(exc) else str(exc)
    return str(msg or exc.__class__.__name__)[:200]


_STDLIB = {"gzip": gzip.GzipFile, "bzip2": bz2.BZ2File, "xz": lzma.LZMAFile, "lzma": lzma.LZMAFile}
DATA_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError)
"""What a damaged compressed stream raises (besides libarchive's ``ArchiveError``)."""


class _StdEntry:
    def __init__(self, fh: IO[bytes]) -> None:
        self.name = "data"
        self.fh = fh

    def read(self, n: int) -> bytes:
        return self.fh.read1(min(n, _BLOCK))  # type: ignore[attr-defined]  # read() drops data before an error


@contextmanager
def open_archive(src: IO[bytes], kind: str, passwords: tuple[str, ...]
                 ) -> Iterator[Iterator[Entry | _StdEntry]]:
    """The regular files of an archive (or the one stream inside a compressed file), in order."""
    if kind in _STDLIB:
        opener = _STDLIB[kind]
        with (gzip.GzipFile(fileobj=src) if opener is gzip.GzipFile else opener(src)) as fh:  # type: ignore[operator]
            yield iter([_StdEntry(fh)])
        return
    from libarchive import ffi
    from libarchive.entry import ArchiveEntry

    failures: list[BaseException] = []
    buf = ctypes.create_string_buffer(_BLOCK)
    buf_p = ctypes.cast(buf, ctypes.c_void_p)

    def read_cb(_a, _ctx, ptrptr):  # type: ignore[no-untyped-def]
        try:
            n = src.readinto(memoryview(buf).cast("B"))  # type: ignore[attr-defined]
        except BaseException as exc:  # never raise through C: libarchive reports an error instead
            failures.append(exc)
            return _FATAL
        ctypes.cast(ptrptr, ctypes.POINTER(ctypes.c_void_p))[0] = buf_p
        return n or 0

    def seek_cb(_a, _ctx, offset, whence):  # type: ignore[no-untyped-def]
        try:
            return src.seek(offset, whence)
        except BaseException as exc:
            failures.append(exc)
            return _FATAL

    read_c = ffi.READ_CALLBACK(read_cb)
    seek_c = ffi.SEEK_CALLBACK(seek_cb)
    pointer = ffi.read_new()
    archive = _Archive(pointer, failures)
    try:
        for password in passwords:
            ffi.read_add_passphrase(pointer, password.encode("utf-8"))
        ffi.get_read_filter_function("all")(pointer)
        for fmt in _FORMATS.get(kind, ("raw",)):
            ffi.get_read_format_function(fmt)(pointer)
        volumes = getattr(src, "volume_paths", None) or getattr(getattr(src, "fh", None), "volume_paths", None)
        if kind == "rar" and volumes:  # a RAR set: libarchive switches volumes itself
            _open_filenames(pointer, volumes)
        else:
            if src.seekable():
                ffi.read_set_seek_callback(pointer, seek_c)
            archive.call(lambda: ffi.read_open(pointer, None, ffi.NO_OPEN_CB, read_c, ffi.NO_CLOSE_CB))

        def entries() -> Iterator[Entry]:
            while True:
                entry = ArchiveEntry(pointer, "utf-8")
                if archive.call(lambda e=entry: ffi.read_next_header2(pointer, e._entry_p)) == ffi.ARCHIVE_EOF:
                    return
                if entry.isreg:
                    yield Entry(archive, str(entry.pathname or "?"))

        yield entries()
    finally:
        ffi.read_free(pointer)


def _open_filenames(pointer: int, paths: list[str]) -> None:
    from libarchive import ffi

    fn = ffi.libarchive.archive_read_open_filenames
    fn.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t]
    fn.restype = ctypes.c_int
    names = (ctypes.c_char_p * (len(paths) + 1))(*[os.fsencode(p) for p in paths], None)
    if fn(pointer, names, 64 * 1024) < 0:
        raise _archive_error(ffi.error_string(pointer).decode("utf-8", "replace") if ffi.error_string(pointer)
                             else "cannot open the RAR volumes")


def explain(exc: BaseException, kind: str) -> tuple[str, bool]:
    """A note for a libarchive error, and whether the archive's other members can still be read."""
    msg = error_text(exc)
    low = msg.lower()
    if "passphrase required" in low:
        return "encrypted: no password given (scan --password P, or passwords = [...] in the source)", True
    if "incorrect passphrase" in low:
        return "encrypted: none of the passwords given opens it", True
    if "encrypt" in low and kind == "7z":
        return "encrypted: no password given (scan --password P, or passwords = [...] in the source)", True
    if "encrypt" in low:
        return (f"encrypted {kind} that libarchive cannot decrypt: extract it with its own tool "
                "(unrar x -pPASSWORD) and scan the files"), True
    if "unsupported zip compression method" in low:
        return f"compression that libarchive cannot read ({msg})", True
    if isinstance(exc, EOFError) or any(w in low for w in ("truncated", "premature end", "unexpected end")):
        return f"truncated: {msg}; everything before it was scanned", False
    return f"corrupt {kind}: {msg}", False


def is_deflate64(exc: BaseException) -> bool:
    return "deflation-64" in error_text(exc).lower()


class _Deflate64:
    """A zip member compressed with Deflate64 (method 9), which libarchive cannot inflate: read
    from its place in the zip with ``inflate64``, in small steps so that a bomb meets the budget
    before it meets memory."""

    def __init__(self, src: IO[bytes], start: int, length: int) -> None:
        import inflate64

        self.src, self.pos, self.left = src, start, length
        self.inflater = inflate64.Inflater()

    def read(self, n: int) -> bytes:
        while self.left > 0:
            self.src.seek(self.pos)
            chunk = self.src.read(min(self.left, 16 * 1024))
            if not chunk:
                raise EOFError("zip member cut short")
            self.pos += len(chunk)
            self.left -= len(chunk)
            try:
                out = self.inflater.inflate(chunk)
            except Exception as exc:  # inflate64 raises a bare error on bad data
                raise EOFError(f"Deflate64 data is corrupt ({exc.__class__.__name__})") from None
            if out:
                return bytes(out)
        return b""


def deflate64_members(src: IO[bytes], names: set[str]) -> Iterator[tuple[str, _Deflate64]]:
    """The Deflate64 members named, from the zip's central directory."""
    import struct
    import zipfile

    src.seek(0)
    with zipfile.ZipFile(src) as zf:
        infos = [i for i in zf.infolist() if i.filename in names and i.compress_type == 9]
    for info in infos:
        src.seek(info.header_offset)
        local = src.read(30)
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            raise EOFError("zip local header missing")
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        yield info.filename, _Deflate64(src, info.header_offset + 30 + name_len + extra_len, info.compress_size)
