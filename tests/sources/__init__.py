"""Tests of the sources: drivers, the shared HTTP client, health, state, the runner and the CLI."""
