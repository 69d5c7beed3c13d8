"""leakwatch: finds which of an organisation's records surface in leaks, holding only keyed fingerprints."""

__version__ = "0.1.0"
