"""The detection layer's entry: the record matcher and the watch-term matcher, built from settings.

One place, so that the composition root (``app``) and the scan workers (``parallel``) build the same
matcher without importing each other.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from leakwatch.detection.detectors import build_detectors
from leakwatch.detection.fingerprints import Index
from leakwatch.detection.matcher import MatchOptions, TextMatcher
from leakwatch.detection.terms import TermMatcher, load_terms
from leakwatch.settings import Settings


def text_matcher(settings: Settings, index: Index) -> TextMatcher:
    return TextMatcher(index, build_detectors(settings.default_region),
                       MatchOptions(settings.proximity, settings.name_threshold))


def term_matcher(settings: Settings, engine: Engine) -> TermMatcher:
    terms, unwatched = load_terms(engine)
    return TermMatcher(terms, settings.term_threshold, unwatched)
