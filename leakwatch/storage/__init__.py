"""Storage: the engine, sessions, tables, schema version and migrations. Imports no domain module."""
