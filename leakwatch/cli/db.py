"""``leakwatch db``: the database schema's version and its upgrade."""

from __future__ import annotations

import typer

from leakwatch.cli.common import JSON_OPTION, one_line_errors, out, print_json, services

app = typer.Typer(help="The database schema: its version, and the upgrade a new release may need.",
                  no_args_is_help=True)


@app.command("upgrade")
@one_line_errors
def upgrade(as_json: bool = JSON_OPTION) -> None:
    """Bring the database's schema to this release's (``leakwatch init`` runs it too). Back the
    database up first. Safe to run again: an up-to-date database is left as it is. A database made
    before schema versions existed is recognised and upgraded in place; nothing in it is lost."""
    from leakwatch.storage import dbschema, store

    settings = services().settings
    where = store.safe_url(settings.db_url)
    before, after = dbschema.upgrade(store.make_engine(settings.db_url, settings.database_busy_timeout), where)
    result = {"database": where, "from": before.revision, "to": after.revision,
              "changed": before.revision != after.revision}
    if as_json:
        print_json(result)
    elif result["changed"]:
        out.print(f"database  {where}: schema {before.revision or ('none' if before.tables else 'empty')} "
                  f"-> {after.revision}", markup=False)
    else:
        out.print(f"database  {where}: schema {after.revision}, up to date", markup=False)


@app.command("status")
@one_line_errors
def status(as_json: bool = JSON_OPTION) -> None:
    """The database's schema revision and this release's. Exit 1 when an upgrade is needed."""
    from leakwatch.storage import dbschema, store

    settings = services().settings
    where = store.safe_url(settings.db_url)
    found = dbschema.state(store.make_engine(settings.db_url, settings.database_busy_timeout), where)
    need = not found.current and not found.empty
    if as_json:
        print_json({"database": where, "revision": found.revision, "code": dbschema.HEAD,
                    "upgrade_needed": need and not found.newer, "newer": found.newer})
    else:
        verdict = ("newer than this release: upgrade leakwatch" if found.newer
                   else "run: leakwatch db upgrade" if need else "up to date")
        out.print(f"database  {where}: {found.describe()}: {verdict}", markup=False)
    raise typer.Exit(1 if need else 0)


@app.command("revision", hidden=True)
@one_line_errors
def revision(message: str = typer.Option(..., "-m", "--message", help="What the revision changes."),
             rev_id: str = typer.Option(..., "--rev-id", help="The next number: 0003, 0004...")) -> None:
    """For developers: write a new revision under leakwatch/storage/migrations/versions, compared against
    the tables' models on a scratch SQLite database upgraded to the current head. Review it, add
    its id to ``dbschema.KNOWN`` and set ``dbschema.HEAD``."""
    import tempfile

    from alembic import command
    from sqlmodel import SQLModel

    import leakwatch.storage.tables  # noqa: F401  (every table on SQLModel.metadata)
    from leakwatch.storage import dbschema, store

    with tempfile.TemporaryDirectory() as tmp:
        engine = store.make_engine(f"sqlite:///{tmp}/scratch.db")
        dbschema.upgrade(engine, "scratch")
        with engine.begin() as conn:
            script = command.revision(dbschema.alembic_config(conn, SQLModel.metadata), message=message,
                                      autogenerate=True, rev_id=rev_id)
    out.print(f"wrote {getattr(script, 'path', script)}", markup=False)
