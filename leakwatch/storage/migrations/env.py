"""alembic's entry point: runs on the connection ``dbschema`` gives (no URL, no alembic.ini)."""

from alembic import context

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through leakwatch (leakwatch db upgrade), not the alembic command")
context.configure(connection=connection, target_metadata=config.attributes.get("target_metadata"),
                  render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
with context.begin_transaction():
    context.run_migrations()
