"""``--help`` on an analyst's terminal: each paragraph wraps at the terminal's width, not at the
width the docstring was written at (typer keeps a docstring's line breaks: on 80 columns every
source line wrapped again and left a stub), while examples and lists keep their lines."""

from __future__ import annotations

import pytest

from leakwatch.cli.helptext import reflow


def test_a_paragraph_is_one_line_and_examples_keep_theirs() -> None:
    doc = """Check documents.

    Reads any text encoding; expands 7z and
    zip within limits, says ``ok``.

      leakwatch init
      leakwatch scan dump.zip

    - one item
    - another
    \f
    Not help: left
    as it is.
    """
    assert reflow(doc) == ("Check documents.\n\nReads any text encoding; expands 7z and zip within limits, says ok.\n\n"
                           "  leakwatch init\n  leakwatch scan dump.zip\n\n- one item\n- another\n"
                           "\f\nNot help: left\nas it is.")


@pytest.mark.parametrize("words, sentence", [
    (["scan"], "Reads any text encoding; expands 7z, RAR, zip, tar, cpio, ISO, gz, bz2, xz and zstd (split volumes"),
    (["fingerprints", "import"], "A column where more than half of the values fail (at least 10) is probably mapped"),
    ([], "Create the data directory, a 256-bit key (mode 0600) and the database, or upgrade the database's schema"),
    (["fingerprints", "list"], "whether the key file read holds that version with the same key (ok), a different key"),
])
def test_help_wraps_at_the_terminal_not_at_the_source(cli, words: list[str], sentence: str) -> None:  # type: ignore[no-untyped-def]
    cli.env["COLUMNS"] = "400"
    text = cli(*words, "--help", check=0).stdout
    assert sentence in text, text
