"""Split volumes as leak sites publish them, opened from the first part; the later parts are not
scanned on their own.

- ``dump.7z.001``, ``dump.7z.002``... are byte-split parts of one file: read as one seekable stream.
- ``dump.part1.rar``, ``dump.part2.rar``... are RAR volumes, each with its own headers: libarchive
  is handed the list of file names and switches volumes itself.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import IO

_SPLIT = re.compile(r"^(?P<stem>.+)\.(?P<n>\d{3})$")
_RAR = re.compile(r"^(?P<stem>.+)\.part(?P<n>\d+)\.rar$", re.IGNORECASE)


def _rar_name(m: re.Match[str], n: int) -> str:
    return f"{m['stem']}.part{n:0{len(m['n'])}d}.rar"


def parts(path: Path) -> list[Path]:
    """The volumes of a split archive from its first part (``.001``, ``.part1.rar``); just
    ``[path]`` otherwise."""
    r = _RAR.match(path.name)
    if r is not None and int(r["n"]) == 1:
        found = [path]
        while (nxt := path.with_name(_rar_name(r, len(found) + 1))).is_file():
            found.append(nxt)
        return found
    m = _SPLIT.match(path.name)
    if m is None or int(m["n"]) != 1:
        return [path]
    found = [path]
    n = 2
    while (nxt := path.with_name(f"{m['stem']}.{n:03d}")).is_file():
        found.append(nxt)
        n += 1
    return found


def is_later_volume(path: Path) -> bool:
    """``x.002`` or ``x.part2.rar`` and after, when the first part is beside it (it is read with it)."""
    r = _RAR.match(path.name)
    if r is not None:
        return int(r["n"]) > 1 and path.with_name(_rar_name(r, 1)).is_file()
    m = _SPLIT.match(path.name)
    return m is not None and int(m["n"]) > 1 and path.with_name(f"{m['stem']}.001").is_file()


def total_size(path: Path) -> int:
    return sum(p.stat().st_size for p in parts(path))


class RarVolumes(io.FileIO):
    """The first volume of a RAR set, carrying the names of all (``archives`` opens them by name)."""

    volume_paths: list[str]


def open_volumes(path: Path) -> IO[bytes]:
    files = parts(path)
    if len(files) == 1:
        return path.open("rb")
    if _RAR.match(path.name):
        first = RarVolumes(path, "rb")
        first.volume_paths = [str(f) for f in files]
        return first
    return io.BufferedReader(_Joined(files), buffer_size=1024 * 1024)


class _Joined(io.RawIOBase):
    """Several files read as one, seekable."""

    def __init__(self, files: list[Path]) -> None:
        self.handles = []
        try:
            for f in files:
                self.handles.append(f.open("rb"))
        except OSError:
            self.close()
            raise
        self.sizes = [os.fstat(h.fileno()).st_size for h in self.handles]
        self.total = sum(self.sizes)
        self.pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.total}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
        start = 0
        for h, size in zip(self.handles, self.sizes, strict=True):
            if self.pos < start + size:
                h.seek(self.pos - start)
                data = h.read(min(len(buf), start + size - self.pos))
                buf[: len(data)] = data
                self.pos += len(data)
                return len(data)
            start += size
        return 0

    def close(self) -> None:
        for h in getattr(self, "handles", []):
            h.close()
        super().close()
