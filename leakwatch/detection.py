"""The detection layer's entry: the record matcher and the watch-term matcher, built from settings.

One place, so that the composition root (``app``) and the scan workers (``parallel``) build the same
matcher without importing each other.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from leakwatch.detectors import build_detectors
from leakwatch.fingerprints import Index
from leakwatch.matcher import MatchOptions, TextMatcher
from leakwatch.settings import Settings
from leakwatch.terms import TermMatcher, load_terms


def text_matcher(settings: Settings, index: Index) -> TextMatcher:
    return TextMatcher(index, build_detectors(settings.default_region),
                       MatchOptions(settings.proximity, settings.name_threshold))


def term_matcher(settings: Settings, engine: Engine) -> TermMatcher:
    return TermMatcher(load_terms(engine), settings.term_threshold)
