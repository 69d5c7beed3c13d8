"""Encrypted 7z, which libarchive cannot decrypt: read with py7zr when passwords are given.

Leak sites publish 7z with the password printed beside the link. py7zr pushes each member's bytes
to a writer; ours counts them against the item's budget (a bomb stops at the same limits) and keeps
them in memory up to ``max_item_bytes``, beyond that in an unnamed temporary file (0600, never
linked, gone when closed), like ``archives.spool``. They are the dump's bytes, never our records.
"""

from __future__ import annotations

import io
import lzma
import os
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO


class NoPassword(Exception):
    """None of the passwords opens the archive."""


class _Member:
    """A py7zr writer: memory first, an unnamed temporary file past ``in_memory`` bytes."""

    def __init__(self, take: Callable[[int], None], in_memory: int, spool_dir: str | None) -> None:
        self.take = take
        self.in_memory = in_memory
        self.spool_dir = spool_dir
        self.fh: IO[bytes] = io.BytesIO()
        self.length = 0

    def write(self, s: bytes | bytearray) -> int:
        self.take(len(s))
        self.length += len(s)
        if isinstance(self.fh, io.BytesIO) and self.length > self.in_memory:
            if self.spool_dir is not None:
                Path(self.spool_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
                os.chmod(self.spool_dir, 0o700)
            disk = tempfile.TemporaryFile(dir=self.spool_dir)  # noqa: SIM115 - closed by the reader
            disk.write(self.fh.getvalue())
            self.fh = disk
        self.fh.write(s)
        return len(s)

    def read(self, size: int | None = None) -> bytes:
        return self.fh.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.fh.seek(offset, whence)

    def flush(self) -> None:
        pass

    def size(self) -> int:
        return self.length

    def close(self) -> None:
        pass  # py7zr calls this when the member is complete; the reader closes it


def members(src: IO[bytes], passwords: tuple[str, ...], take: Callable[[int], None], in_memory: int,
            spool_dir: str | None) -> Iterator[tuple[str, IO[bytes]]]:
    """The regular files of an encrypted 7z, opened with the first password that works."""
    import py7zr
    from py7zr.exceptions import ArchiveError, PasswordRequired
    from py7zr.io import Py7zIO, WriterFactory

    made: list[tuple[str, _Member]] = []

    class Factory(WriterFactory):
        def create(self, filename: str) -> Py7zIO:
            member = _Member(take, in_memory, spool_dir)
            made.append((filename, member))
            return member  # type: ignore[return-value]

    for password in passwords:
        for _, m in made:
            m.fh.close()
        made.clear()
        src.seek(0)
        try:
            with py7zr.SevenZipFile(src, mode="r", password=password) as archive:
                files = {info.filename for info in archive.list() if not info.is_directory}
                archive.extractall(factory=Factory())
        except (ArchiveError, PasswordRequired, lzma.LZMAError, zlib.error, EOFError, OSError, ValueError,
                KeyError, IndexError, TypeError):
            continue  # a wrong password shows as a bad header, a CRC error or garbage
        try:
            for name, member in made:
                if name in files:
                    member.fh.seek(0)
                    yield name, member.fh
        finally:
            for _, m in made:
                m.fh.close()
        return
    raise NoPassword
