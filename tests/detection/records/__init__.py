"""Tests of structured leaks read as records (issue 10)."""
