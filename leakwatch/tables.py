"""Imports every module that defines tables, so that ``SQLModel.metadata`` holds them all: for the
migration tooling (``leakwatch db revision``) and the test that the models match the latest revision.
The application never imports it: migrations make the schema."""

import leakwatch.audit
import leakwatch.cluster
import leakwatch.incidents
import leakwatch.notes
import leakwatch.outbox  # noqa: F401
from leakwatch import store, terms  # noqa: F401
from leakwatch.sources import state  # noqa: F401
