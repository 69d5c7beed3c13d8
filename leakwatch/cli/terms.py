"""``terms add|list|remove``: the names, domains and keywords that name your organisation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from leakwatch.cli.common import JSON_OPTION, err, fail, one_line_errors, out, print_json, services
from leakwatch.display import printable
from leakwatch.errors import InputError

if TYPE_CHECKING:
    from leakwatch.detection import terms

app = typer.Typer(help="Watch terms: names, acronyms, domains and keywords to find in leaks (not secret).",
                  no_args_is_help=True)


def _row_json(row: terms.WatchTerm) -> dict[str, object]:
    from leakwatch.detection import terms

    problem = terms.why_unwatched(row)
    return {"term": row.term, "kind": row.kind, "normal": row.normal, "added_at": row.added_at.isoformat(),
            "watched": problem is None, **({"problem": problem} if problem else {})}


@app.command("add")
@one_line_errors
def add(
    term: str = typer.Argument(..., help="A name, acronym, domain or keyword, as people write it."),
    kind: str | None = typer.Option(None, "--kind", "-k", metavar="org|domain|keyword",
                                    help="What the term is (default: domain if it looks like one, else org)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Watch a term. Matching ignores case, accents, punctuation and spacing; a domain also matches
    defanged (aphp[.]fr, hxxps://), as a sub-domain, in e-mail addresses (counted, never printed)
    and as look-alike domains. Terms made only of common words are refused."""
    from leakwatch.detection import terms

    if kind is not None and kind not in terms.KINDS:
        raise InputError(f"--kind must be one of {', '.join(terms.KINDS)}, not {kind!r}")
    row, what = terms.add_term(services().engine, term, kind)
    if as_json:
        print_json({**_row_json(row), "result": what})
        return
    if what == "unchanged":
        out.print(f"already watched: {printable(row.term)} ({row.kind})")
    else:
        out.print(f"{what}: {printable(row.term)} ({row.kind})")
    prepared = terms.prepare(row.term, row.kind)
    if not prepared.is_domain and prepared.exact_only:
        err.print(f"leakwatch: note: {row.term!r} is short: it matches only exactly (case, accents and "
                  "punctuation aside)", markup=False)


@app.command("list")
@one_line_errors
def list_(as_json: bool = JSON_OPTION) -> None:
    """Watched terms, by kind."""
    from leakwatch.detection import terms

    rows = terms.list_terms(services().engine)
    if as_json:
        for row in rows:
            print_json(_row_json(row))
        return
    if not rows:
        err.print("no watch term yet: leakwatch terms add TERM [--kind org|domain|keyword]", markup=False)
        return
    table = Table()
    for column in ("term", "kind", "matched as", "added (UTC)", "watched"):
        table.add_column(column)
    unwatched = 0
    for row in rows:
        problem = terms.why_unwatched(row)
        unwatched += problem is not None
        table.add_row(printable(row.term), row.kind, printable(row.normal), row.added_at.strftime("%Y-%m-%d %H:%M"),
                      "yes" if problem is None else f"NO: {printable(problem)}")
    out.print(table)
    if unwatched:
        err.print(f"leakwatch: warning: {unwatched} term(s) not watched (see the last column): remove them "
                  "and add a longer or more specific term", markup=False)


@app.command("remove")
@one_line_errors
def remove(term: str = typer.Argument(..., help="The term, written in any of the forms it matches."),
           as_json: bool = JSON_OPTION) -> None:
    """Stop watching a term."""
    from leakwatch.detection import terms

    row = terms.remove_term(services().engine, term)
    if row is None:
        raise fail(f"no watch term matching {term!r} (see: leakwatch terms list)")
    if as_json:
        print_json({**_row_json(row), "result": "removed"})
        return
    out.print(f"removed: {printable(row.term)} ({row.kind})")
