"""Sources: where leaked data surfaces. Root ``sources/*.toml`` are definitions (data); the modules
here are the drivers (code), registered by name in ``DRIVERS``, the one list of built-ins."""

from __future__ import annotations

from leakwatch.sources.registry import DRIVERS

__all__ = ["DRIVERS"]
