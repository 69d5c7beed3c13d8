"""Keyed fingerprints of normalised values, and the in-memory index the scanner looks them up in.

Four forms (see fingerprints/README.md for the threat model):
- global identifier fingerprints: ``MAC(subkey(dataset, kind), value)``, 8 bytes, looked up globally;
- the date blocking key: the same form for ``date``, the only low-entropy global index;
- record-scoped fingerprints: ``MAC(subkey(dataset, kind), salt + value)`` for names (as q-gram
  sequences), first initial, postcode and city, compared only against one known record;
- the known names: the set of every last name and every first name the dataset holds, in the global
  form, deduplicated and linked to no record.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
from sqlalchemy.engine import Engine

from leakwatch.detection import indexcache
from leakwatch.detection.normalise import IDENTIFIER_KINDS, qgrams, value_cache
from leakwatch.keys import Keyring, derive
from leakwatch.storage import store

GLOBAL_KINDS = IDENTIFIER_KINDS
BLOCK_KIND = "date_names"
"""Blocking key for name + birth date matching: the date and the first, or last, letters of each name."""
KNOWN_NAME_KINDS = {"last_name": "known_last_name", "first_name": "known_first_name"}
"""Per name kind, the kind of the dataset's set of known names. With no identifier, a near spelling
of a record's name that is itself a name the dataset holds, first or last, is taken for another
person's name (Julien for Julie, Dias for Diaz, the last name Gillet for the first name Gilles), not
for a typo."""
SCOPED_CODES: dict[str, int] = {"last_name": 0, "first_name": 1, "first_initial": 2, "postcode": 3, "city": 4,
                                 "date": 5, "last_name_exact": 6, "first_name_exact": 7}
"""The code byte of each record-scoped kind in a stored record blob. Written in every database:
a code never changes and is never reused; a new kind takes the next free number."""
SCOPED_KINDS = tuple(SCOPED_CODES)
_KIND_OF_CODE = {code: kind for kind, code in SCOPED_CODES.items()}
NAME_KINDS = ("last_name", "first_name")
EXACT_NAME = {"last_name": "last_name_exact", "first_name": "first_name_exact"}
"""Per name kind, its whole normal name's exact record-scoped form: a name written exactly is
confirmed with one hash, where its bigrams take one each (imports before December 2026 have none:
their names are compared by bigrams alone)."""
QGRAM_BYTES = 4
EXACT_BYTES = 8


class Hasher:
    """Keyed BLAKE2b with one derived subkey per kind of one dataset: the one writer (and reader) of
    every stored fingerprint form, for the importer and the matcher alike.

    Each kind's keyed state is made once and copied per value (a copy costs two thirds of keying
    afresh); record-scoped hashes copy a state that has already absorbed the record's salt.
    """

    def __init__(self, master: bytes, dataset: str) -> None:
        self.dataset = dataset
        kinds = (*GLOBAL_KINDS, BLOCK_KIND, *KNOWN_NAME_KINDS.values(), *SCOPED_KINDS)
        keys = {k: derive(master, dataset, k) for k in kinds}
        self._global = {k: hashlib.blake2b(key=keys[k], digest_size=8) for k in kinds}
        self._exact = {k: hashlib.blake2b(key=keys[k], digest_size=EXACT_BYTES) for k in kinds}
        self._gram = {k: hashlib.blake2b(key=keys[k], digest_size=QGRAM_BYTES) for k in kinds}
        self._headers: dict[tuple[str, int], bytes] = {}

    def global_digest(self, kind: str, value: str) -> bytes:
        """The global form: 8 bytes, stored little-endian as a uint64 (``global_fp``)."""
        h = self._global[kind].copy()
        h.update(value.encode())
        return h.digest()

    def global_fp(self, kind: str, value: str) -> int:
        return int.from_bytes(self.global_digest(kind, value), "little")

    def global_fps(self, kind: str, values: Iterable[str]) -> np.ndarray:
        """``global_fp`` of many values at once, as uint64 (one keyed state, no call per value)."""
        copy = self._global[kind].copy
        out = bytearray()
        for value in values:
            h = copy()
            h.update(value.encode())
            out += h.digest()
        return np.frombuffer(bytes(out), dtype="<u8")

    def block_digests(self, iso_date: str, last_name: str, first_name: str) -> list[bytes]:
        """The name + date blocking forms of one record (``block_keys``)."""
        state = self._global[BLOCK_KIND]
        out = []
        for key in block_keys(iso_date, last_name, first_name):
            h = state.copy()
            h.update(key.encode())
            out.append(h.digest())
        return out

    def scoped_exact(self, kind: str, salt: bytes, value: str) -> bytes:
        h = self._exact[kind].copy()
        h.update(salt + value.encode())
        return h.digest()

    def salted(self, kind: str, salt: bytes) -> hashlib.blake2b:
        """The q-gram state of one kind with a record's salt absorbed: ``gram_fps`` from it."""
        h = self._gram[kind].copy()
        h.update(salt)
        return h

    def scoped_qgrams(self, kind: str, salt: bytes, normal_name: str) -> bytes:
        """The record-scoped q-gram sequence of a normal name, packed."""
        return b"".join(gram_fps(self.salted(kind, salt), normal_name))

    def record_scoped(self, salt: bytes, values: dict[str, str]) -> bytes:
        """The packed record-scoped forms of one record (the bytes of ``encode_scoped``): from normal
        values by kind (names, ``postcode``, ``city``, ``date``), names as q-grams followed by their
        exact form (``EXACT_NAME``), the first name's initial after it, every other kind exact, in the
        order of ``values``. Called once per record by the importer: each (kind, length) header is
        packed once per process."""
        headers = self._headers
        out: list[bytes] = []

        def add(kind: str, blob: bytes) -> None:
            header = headers.get((kind, len(blob)))
            if header is None:
                header = headers[(kind, len(blob))] = _header(kind, len(blob))
            out.append(header)
            out.append(blob)

        for kind, value in values.items():
            if kind in NAME_KINDS:
                add(kind, self.scoped_qgrams(kind, salt, value))
                add(EXACT_NAME[kind], self.scoped_exact(EXACT_NAME[kind], salt, value))
                if kind == "first_name":
                    add("first_initial", self.scoped_exact("first_initial", salt, value[0]))
            else:
                add(kind, self.scoped_exact(kind, salt, value))
        return b"".join(out)


_PART_HEADER = struct.Struct("<BH")
"""A packed part's header: its kind's code and its length."""


def _header(kind: str, length: int) -> bytes:
    return _PART_HEADER.pack(SCOPED_CODES[kind], length)


def gram_fps(salted: hashlib.blake2b, normal_name: str) -> list[bytes]:
    """The keyed bigrams of a normal name (``qgrams``) from a salted state (``Hasher.salted``).
    An ASCII name's bigrams are two bytes each: the encoded name is sliced, not each bigram encoded."""
    copy = salted.copy
    out = []
    padded = f" {normal_name} ".encode()
    if padded.isascii():
        for i in range(len(padded) - 1):
            h = copy()
            h.update(padded[i : i + 2])
            out.append(h.digest())
    else:
        for gram in qgrams(normal_name):
            h = copy()
            h.update(gram.encode())
            out.append(h.digest())
    return out


@value_cache(100_000)
def name_affixes(normal_name: str) -> tuple[str, str]:
    """The letters of a normal name that blocking keys use: its first three when its first word
    has six or more letters (else two), and its last three when its last word has five or more
    (else two). In a word of four letters or more the two never overlap, so one letter replaced
    leaves one of them intact; three letters where the word allows keep strangers out of the block."""
    first_word = normal_name.split(" ", 1)[0]
    last_word = normal_name.rsplit(" ", 1)[-1]
    return (normal_name[: 3 if len(first_word) >= 6 else 2],
            normal_name[-3:] if len(last_word) >= 5 else normal_name[-2:])


def block_keys(iso_date: str, last_name: str, first_name: str) -> tuple[str, str]:
    """The name + date blocking values: the date with the first letters of each normal name, and
    with the last letters (``name_affixes``). Selective enough that at 1.4 million records a probe
    seldom meets a stranger; two keys so that one typo in a name still leaves one intact."""
    (last_head, last_tail), (first_head, first_tail) = name_affixes(last_name), name_affixes(first_name)
    return f"{iso_date}|<{last_head}|{first_head}", f"{iso_date}|>{last_tail}|{first_tail}"


def window_keys(iso_date: str, names: list[str], reach: int) -> set[str]:
    """The blocking values to probe for a date and the names written near it: each name with each
    of the next ``reach`` ones, in either order (``block_keys`` of both orders: an export may swap
    its name columns). Each name's affixes are taken once."""
    affixes = [name_affixes(n) for n in names]
    keys: set[str] = set()
    for i, (head_a, tail_a) in enumerate(affixes):
        for head_b, tail_b in affixes[i + 1 : i + 1 + reach]:
            keys.update((f"{iso_date}|<{head_a}|{head_b}", f"{iso_date}|>{tail_a}|{tail_b}",
                         f"{iso_date}|<{head_b}|{head_a}", f"{iso_date}|>{tail_b}|{tail_a}"))
    return keys


def merged_block_keys(iso_date: str, last_name: str, first_name: str) -> list[str]:
    """Head keys for names that may be a compound name written as one word ("JEANPIERRE" for
    "Jean-Pierre", "ERNSTXOTTO" with a typo on the hyphen): the stored head then came from a short
    first word (two letters), where the word as written gives three."""
    (last_head, _), (first_head, _) = name_affixes(last_name), name_affixes(first_name)
    heads_last = (last_head, last_name[:2]) if " " not in last_name and len(last_head) == 3 else (last_head,)
    heads_first = (first_head, first_name[:2]) if " " not in first_name and len(first_head) == 3 else (first_head,)
    if len(heads_last) == len(heads_first) == 1:  # both heads are two letters already: nothing merged
        return []
    return [f"{iso_date}|<{a}|{b}" for a in heads_last for b in heads_first if (a, b) != (last_head, first_head)]


def encode_scoped(parts: dict[str, bytes]) -> bytes:
    """Pack record-scoped fingerprints: per kind a code byte, a length and the bytes."""
    return b"".join(_header(k, len(v)) + v for k, v in parts.items())


def decode_scoped(blob: bytes) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    pos, end, kinds, unpack = 0, len(blob), _KIND_OF_CODE, _PART_HEADER.unpack_from
    while pos < end:
        code, length = unpack(blob, pos)
        pos += 3
        kind = kinds.get(code)
        if kind is not None:  # a kind of a later release: not compared by this one
            out[kind] = blob[pos : pos + length]
        pos += length
    return out


def split_qgrams(seq: bytes) -> list[bytes]:
    return [seq[i : i + QGRAM_BYTES] for i in range(0, len(seq), QGRAM_BYTES)]


class RecordInfo(NamedTuple):
    """What the scanner may know of one record once an identifier or date pointed at it (a tuple:
    a dump of the organisation's own records makes one per row)."""

    rec_no: int
    ref: str
    salt: bytes
    scoped: dict[str, bytes]


@dataclass
class DatasetIndex:
    """Sorted fingerprints of one dataset, per kind, with their record numbers."""

    id: int
    name: str
    purpose: str
    label: str | None
    kinds: frozenset[str]
    hasher: Hasher
    arrays: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    _engine: Engine | None = None
    _cache: dict[int, RecordInfo] = field(default_factory=dict)
    _holders: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def holds(self, kind: str, rec_no: int) -> bool:
        """Whether the record has a value of this global kind (a NIR...): read off the index's record
        numbers, one flag per record made once per process."""
        flags = self._holders.get(kind)
        if flags is None:
            arrays = self.arrays.get(kind)
            recs = arrays[1] if arrays is not None else np.zeros(0, dtype=np.int64)
            flags = np.zeros(int(recs.max()) + 1 if len(recs) else 0, dtype=bool)
            flags[recs] = True
            self._holders[kind] = flags
        return rec_no < len(flags) and bool(flags[rec_no])

    def hits(self, kind: str, fps: np.ndarray) -> dict[int, list[int]]:
        """The fingerprints held, by their position in ``fps``: the record numbers that hold each.
        Most probes of a scan miss: they cost a vectorised search and nothing after it."""
        arrays = self.arrays.get(kind)
        if arrays is None or not len(fps):
            return {}
        hashes, recs = arrays
        query = np.asarray(fps, dtype=np.uint64)
        # Sorted queries walk a large array in order: far fewer cache misses at millions of entries.
        order = np.argsort(query, kind="stable")
        ordered = query[order]
        left = np.searchsorted(hashes, ordered, side="left")
        right = np.searchsorted(hashes, ordered, side="right")
        found = np.flatnonzero(right > left)
        if not len(found):
            return {}
        lo, hi = left[found], right[found]
        out: dict[int, list[int]] = {}
        # Most fingerprints are held by one record: its number is gathered with the others' at once.
        for pos, a, b, first in zip(order[found].tolist(), lo.tolist(), hi.tolist(), recs[lo].tolist(), strict=True):
            out[pos] = [first] if b - a == 1 else recs[a:b].tolist()
        return out

    def known_names(self, phrases: list[str]) -> np.ndarray | None:
        """Per phrase, whether it is a name the dataset knows (``knows_name``), in one batch;
        None when the dataset keeps no known names (an older import): nothing can be ruled out."""
        arrays = [self.arrays.get(k) for k in KNOWN_NAME_KINDS.values()]
        if any(a is None for a in arrays):
            return None
        found = np.zeros(len(phrases), dtype=bool)
        for known, arr in zip(KNOWN_NAME_KINDS.values(), arrays, strict=True):
            assert arr is not None
            hashes = arr[0]
            if not len(hashes):
                continue
            fps = self.hasher.global_fps(known, phrases)
            i = np.minimum(np.searchsorted(hashes, fps), len(hashes) - 1)
            found |= hashes[i] == fps
        return found

    def knows_name(self, normal_name: str) -> bool:
        """Whether some record of this dataset bears this normal name, as last or as first name
        (names are matched in either order, so a first name near a last name is a name too)."""
        for known in KNOWN_NAME_KINDS.values():
            arrays = self.arrays.get(known)
            if arrays is None:
                continue
            hashes = arrays[0]
            fp = np.uint64(self.hasher.global_fp(known, normal_name))
            i = int(np.searchsorted(hashes, fp))
            if i < len(hashes) and hashes[i] == fp:
                return True
        return False

    def records(self, rec_nos: Iterable[int]) -> dict[int, RecordInfo]:
        """Records by number, fetched from the database once and cached for the process."""
        asked = set(rec_nos)
        wanted = [r for r in asked if r not in self._cache]
        if wanted and self._engine is not None:
            for rec_no, row in store.records(self._engine, self.id, wanted).items():
                if len(self._cache) > 200_000:
                    self._cache.clear()
                self._cache[rec_no] = RecordInfo(rec_no, row.ref, row.salt, decode_scoped(row.scoped))
        return {r: self._cache[r] for r in asked if r in self._cache}

    @property
    def size(self) -> int:
        return sum(len(h) for h, _ in self.arrays.values())


@dataclass
class Index:
    """Every dataset's fingerprints, loaded once per process."""

    datasets: list[DatasetIndex]

    def kinds(self) -> set[str]:
        return set().union(*(d.kinds for d in self.datasets)) if self.datasets else set()

    @property
    def empty(self) -> bool:
        return not self.datasets


def load_index(engine: Engine, keyring: Keyring, shared: Path | None = None) -> Index:
    """Every dataset's fingerprints, each with a hasher under the key version it was made with
    (check that version first: ``keycheck.verify``). With ``shared`` (a directory in the home), the
    arrays are memory-mapped from files written there by the first process to load them
    (``indexcache``), so that processes share them; the files are named after the dataset's import
    (its stamp) and key version, so a re-import or a re-keying maps new files."""
    out = []
    current = set()
    for row in store.datasets(engine):
        assert row.id is not None
        key = indexcache.stamp(row.id, row.name, row.imported_at, row.record_count, row.kinds, row.key_version)
        current.add(f"{row.id}-{key}")
        mapped = indexcache.load(shared, row.id, key) if shared is not None else None
        if mapped is not None:
            out.append(DatasetIndex(row.id, row.name, row.purpose, row.label, frozenset(row.kind_list),
                                    Hasher(keyring.secret(row.key_version), row.name), mapped, engine))
            continue
        per_kind: dict[str, tuple[list[bytes], list[bytes]]] = {}
        for chunk in store.chunks(engine, row.id):
            hs, rs = per_kind.setdefault(chunk.kind, ([], []))
            hs.append(chunk.hashes)
            rs.append(chunk.rec_nos)
        arrays = {}
        for kind, (hs, rs) in per_kind.items():
            hashes = np.frombuffer(b"".join(hs), dtype="<u8")
            recs = np.frombuffer(b"".join(rs), dtype="<u4")
            if len(hashes) > 1 and not bool(np.all(hashes[:-1] <= hashes[1:])):
                order = np.argsort(hashes, kind="stable")  # chunks are written sorted; be safe
                hashes, recs = hashes[order], recs[order]
            arrays[kind] = (hashes, recs)
        if shared is not None:
            indexcache.save(shared, row.id, key, arrays)
            arrays = indexcache.load(shared, row.id, key) or arrays  # mapped: this copy is freed
        out.append(DatasetIndex(row.id, row.name, row.purpose, row.label, frozenset(row.kind_list),
                                Hasher(keyring.secret(row.key_version), row.name), arrays, engine))
    if shared is not None:
        indexcache.prune(shared, current)
    return Index(out)
