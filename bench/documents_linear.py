"""Time of ``documents()`` on hostile inputs at growing sizes (issue 12): flat means linear.

    .venv/bin/python bench/documents_linear.py

For each input kind, the time per MB at each size; a time per MB that grows with the size is a
super-linear path a hostile file could use to stall a scan. Prints a table; never run by the tests.
"""

from __future__ import annotations

import gzip
import io
import time
import zipfile
from collections.abc import Callable

from leakwatch.detection.documents import Limits, documents


def digits(n: int) -> bytes:
    return b"7" * n


def ats(n: int) -> bytes:
    return b"@" * n


def nested_json(n: int) -> bytes:
    depth = n // 2
    return b"[" * depth + b"]" * depth


def nested_html(n: int) -> bytes:
    depth = n // 11
    return b"<html>" + b"<div>" * depth + b"a@b.fr" + b"</div>" * depth


def gzip_lines(n: int) -> bytes:
    return gzip.compress(b"".join(b"%d;user%d@example.fr\n" % (i, i) for i in range(n // 24)), 1)


def zip_many_members(n: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(n // 2000):
            zf.writestr(f"m{i}.txt", b"x" * 1000)
    return buf.getvalue()


KINDS: dict[str, Callable[[int], bytes]] = {
    "line of digits": digits, "a run of @": ats, "nested JSON": nested_json, "nested HTML": nested_html,
    "gzip of CSV lines": gzip_lines, "zip of 1 kB members": zip_many_members,
}


def main() -> None:
    limits = Limits()
    sizes = [1_000_000, 4_000_000, 10_000_000]
    print(f"{'input':22} " + " ".join(f"{s / 1e6:>6.0f} MB s/MB" for s in sizes))
    for name, make in KINDS.items():
        cells = []
        for size in sizes:
            data = make(size)
            start = time.perf_counter()
            for _ in documents(data, "bench", limits):
                pass
            cells.append((time.perf_counter() - start) / (size / 1e6))
        print(f"{name:22} " + " ".join(f"{c:>13.4f}" for c in cells))


if __name__ == "__main__":
    main()
