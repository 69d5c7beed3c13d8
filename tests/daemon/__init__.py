"""Tests of the daemon: incidents, outbox, alerts, CLI and the daemon end to end."""
