"""Blocking keys for name + birth date matching: one letter replaced in one name never loses both."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from leakwatch.detection.fingerprints import block_keys, window_keys

LETTERS = "abcdefghijklmnopqrstuvwxyz"
WORD = st.text(LETTERS, min_size=4, max_size=14)
NAME = st.lists(WORD, min_size=1, max_size=3).map(" ".join)


@given(last=NAME, first=NAME, data=st.data())
def test_one_replaced_letter_leaves_one_key_intact(last: str, first: str, data: st.DataObject) -> None:
    which = data.draw(st.sampled_from(["last", "first"]))
    name = last if which == "last" else first
    letters = [i for i, ch in enumerate(name) if ch != " "]
    i = data.draw(st.sampled_from(letters))
    other = data.draw(st.sampled_from(LETTERS).filter(lambda c: c != name[i]))
    typo = name[:i] + other + name[i + 1 :]
    keys = set(block_keys("1965-03-12", last, first))
    typed = set(block_keys("1965-03-12", typo, first) if which == "last" else block_keys("1965-03-12", last, typo))
    assert keys & typed


@given(last=NAME, first=NAME)
def test_another_birth_date_shares_no_key(last: str, first: str) -> None:
    assert not set(block_keys("1965-03-12", last, first)) & set(block_keys("1965-03-13", last, first))


@given(names=st.lists(NAME, min_size=2, max_size=6), reach=st.integers(1, 2))
def test_the_scan_probes_the_keys_the_import_stored(names: list[str], reach: int) -> None:
    """``window_keys`` (the scan's probes) writes the keys itself, for speed: they must be the
    ``block_keys`` (what the import stored) of every pair within reach, in either order."""
    stored = {key for i, a in enumerate(names) for b in names[i + 1 : i + 1 + reach]
              for key in (*block_keys("1965-03-12", a, b), *block_keys("1965-03-12", b, a))}
    assert window_keys("1965-03-12", names, reach) == stored
