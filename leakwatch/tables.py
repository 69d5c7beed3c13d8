"""Imports every module that defines tables, so ``create_all`` creates them all."""

from leakwatch import store  # noqa: F401
