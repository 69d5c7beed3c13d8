"""Split volumes as leak sites publish them (``dump.7z.001``, ``dump.7z.002``...): byte-split
parts of one archive, read as one seekable stream opened from the first part. The later parts
are not scanned on their own.

RAR's own multi-volume sets (``.part1.rar``, ``.part2.rar``) are not joined: each volume carries
its own headers, so only the files that lie whole in one volume are read.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import IO

_SPLIT = re.compile(r"^(?P<stem>.+)\.(?P<n>\d{3})$")


def parts(path: Path) -> list[Path]:
    """The volumes of a split archive from its first part (``.001``); just ``[path]`` otherwise."""
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
    """``x.002`` and after, when ``x.001`` is beside it (it is read with the first)."""
    m = _SPLIT.match(path.name)
    return m is not None and int(m["n"]) > 1 and path.with_name(f"{m['stem']}.001").is_file()


def total_size(path: Path) -> int:
    return sum(p.stat().st_size for p in parts(path))


def open_volumes(path: Path) -> IO[bytes]:
    files = parts(path)
    if len(files) == 1:
        return path.open("rb")
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
