"""Incidents: folding findings into incidents, the outbox and its alerts, notes and hand-off."""
