"""Imports every module that defines tables, so that ``SQLModel.metadata`` holds them all: for the
migration tooling (``leakwatch db revision``) and the test that the models match the latest revision.
The application never imports it: migrations make the schema."""

from leakwatch import cluster  # noqa: F401
from leakwatch.detection import terms  # noqa: F401
from leakwatch.incidents import fold, notes, outbox  # noqa: F401
from leakwatch.sources import state  # noqa: F401
from leakwatch.storage import audit, store  # noqa: F401
