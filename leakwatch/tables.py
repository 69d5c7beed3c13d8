"""Imports every module that defines tables, so ``create_all`` creates them all."""

import leakwatch.audit
import leakwatch.incidents
import leakwatch.outbox  # noqa: F401
from leakwatch import store, terms  # noqa: F401
from leakwatch.sources import state  # noqa: F401
