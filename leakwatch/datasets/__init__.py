"""Datasets: the protected records' schemas, their import into keyed fingerprints, canaries, key checks."""
