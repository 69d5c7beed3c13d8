"""The fingerprint index as memory-mapped files in the home, so that scan workers share one copy.

Each process used to read every dataset's fingerprint arrays out of the database into its own
memory (about 84 MB per process at 1.4 million records). The first process to load a dataset writes
its arrays here; every later process (the scan workers above all) maps the same files read-only, and
the operating system keeps one copy in its page cache. The files hold what the database holds
(keyed fingerprints and record numbers, no plaintext), mode 0600 in the home (0700).

A dataset's files are named after what identifies one import of it (id, name, import time, record
count, kinds): a re-import writes new files and removes the old ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

Arrays = dict[str, tuple[np.ndarray, np.ndarray]]


def stamp(*parts: object) -> str:
    """A short name for one import of one dataset."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:16]


def load(root: Path, dataset_id: int, key: str) -> Arrays | None:
    """The dataset's arrays, memory-mapped, or None when this import has no files yet (or they are unreadable)."""
    where = root / f"{dataset_id}-{key}"
    try:
        meta = json.loads((where / "kinds.json").read_text())
        hashes = np.load(where / "hashes.npy", mmap_mode="r")
        recs = np.load(where / "recs.npy", mmap_mode="r")
    except (OSError, ValueError):
        return None
    # Plain array views of the mapped memory: slicing a ``memmap`` makes a memmap object each time,
    # several times slower than a view, and a scan slices once per hit.
    hashes, recs = np.asarray(hashes), np.asarray(recs)
    return {kind: (hashes[a:b], recs[a:b]) for kind, (a, b) in meta.items()}


def save(root: Path, dataset_id: int, key: str, arrays: Arrays) -> None:
    """Write one import's arrays (atomically: a whole directory renamed into place) and remove
    the files of the dataset's earlier imports. A failure leaves the index in memory working."""
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dataset_id}-", dir=root))
        meta, pos = {}, 0
        for kind, (h, _) in arrays.items():
            meta[kind] = (pos, pos + len(h))
            pos += len(h)
        kinds = list(arrays)
        hashes = np.concatenate([arrays[k][0] for k in kinds]) if kinds else np.empty(0, "<u8")
        recs = np.concatenate([arrays[k][1] for k in kinds]) if kinds else np.empty(0, "<u4")
        for name, arr in (("hashes.npy", hashes), ("recs.npy", recs)):
            with open(os.open(tmp / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
                np.save(fh, arr)
        fd = os.open(tmp / "kinds.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(fd, "w") as fh:
            json.dump(meta, fh)
        try:
            os.rename(tmp, root / f"{dataset_id}-{key}")
        except OSError:  # another process wrote the same import first
            shutil.rmtree(tmp, ignore_errors=True)
        for old in root.glob(f"{dataset_id}-*"):
            if old.name != f"{dataset_id}-{key}":
                shutil.rmtree(old, ignore_errors=True)
    except OSError:
        return


def prune(root: Path, keep: set[str]) -> None:
    """Remove the files of datasets (or imports) no longer in the database: a deleted dataset's
    fingerprints do not stay behind in the home."""
    if not root.is_dir():
        return
    for old in root.iterdir():
        if old.name not in keep and not old.name.startswith("."):
            shutil.rmtree(old, ignore_errors=True)


def prune_except(root: Path, dataset_ids: set[int | None]) -> None:
    """Remove the files of every dataset not in ``dataset_ids`` (a deleted one), keeping the others'."""
    if not root.is_dir():
        return
    keep = {str(i) for i in dataset_ids}
    for old in root.iterdir():
        if not old.name.startswith(".") and old.name.split("-", 1)[0] not in keep:
            shutil.rmtree(old, ignore_errors=True)
