"""Watch terms: names, acronyms, domains and keywords that name the organisation, matched fuzzily.

Terms are not secret: they are stored as entered. Scanning normalises a document once (entities
decoded, accents stripped, lower case, defanged domains refanged), then runs cheap passes instead of
comparing every window of the text:

- a short term (``AP-HP``, ``HEGP``) is one regex, its letters maybe split by punctuation or spaces;
- host names and e-mail domains found by one regex are checked against domain terms (exact,
  sub-domain, e-mail at the domain, look-alike within a small edit distance);
- for names and keywords, the document's distinct tokens are compared once (in C, by rapidfuzz)
  with each term's distinctive tokens; only where such an anchor occurs are phrases of the term's
  token length scored against the term;
- text cut by an ellipsis, as leak-site trackers print titles (``assistance-publique-hopit...``),
  matches when it is a long enough prefix of a term.

A finding never holds the matched text: e-mail addresses at a watched domain are only counted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import itertools
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Literal

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel, select

from leakwatch.errors import InputError
from leakwatch.models import Finding
from leakwatch.storage import audit, store

KINDS = ("org", "domain", "keyword")
MAX_TOKENS = 8
FUZZY_MIN = 8
"""Terms shorter than this (without spaces) match only exactly, after normalisation."""
ANCHOR_CUTOFF = 80.0
"""Similarity (0-100) a text token needs with a distinctive term token to be looked at closer."""
GLUED_MIN = 5
"""Letters of a token that starts or ends a term's glued form, for it to be looked at closer."""
KEY_CUTOFF = 80.0
"""Every distinctive token of a term must have a counterpart this similar in a matching phrase."""
SEGMENT = 1 << 20
"""Phrase matching tokenises the normalised text in segments of about this many characters."""

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS = _words(
    "a au aux avec ce ces cet cette dans de des du elle en est et il ils je la le les leur lui ma mais me "
    "mes moi mon ne nos notre nous on ou par pas plus pour qu que qui sa se ses son sont sur ta te tes toi "
    "ton tu un une vos votre vous y the of and to in is it that for with as was be by at this are or from "
    "an not but have has had which you we they he she his her its their our your all any can will would "
    "there what when who how"
)
"""Function words of French and English: never part of what makes a term distinctive."""
COMMON_WORDS = STOPWORDS | _words(
    "groupe societe service services centre france paris national nationale general generale public "
    "publique direction entreprise association sante hopital hopitaux clinique new group company inc ltd "
    "llc corp sa sas sarl gmbh international global system systems data network online info contact mail "
    "email www http https com org net fr eu uk de co leak leaks post files"
)
"""Frequent words of prose and company names: never an anchor; a term made only of them is refused."""

_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")
_COMBINING = re.compile(r"[\u0300-\u036f]+")
_LIGATURES = {"œ": "oe", "æ": "ae", "ø": "o", "đ": "d", "ł": "l", "ı": "i", "’": "'", "\u00a0": " "}
_REFANG = re.compile(r"[\[({]\s*(\.|dot|@|at)\s*[\])}]")
_REFANG_SCHEME = re.compile(r"h(?:xx|\*\*)p(s?)(?:\[:\]|\[://\]|:)?(?://)?")
TOKEN = re.compile(r"[a-z0-9]+")
_NON_ALNUM_TO_SPACE = bytes(c if chr(c) in "abcdefghijklmnopqrstuvwxyz0123456789" else 32 for c in range(256))
_HOST = re.compile(r"(@?)(?<![a-z0-9-])((?:[a-z0-9][a-z0-9-]{0,62}\.)+[a-z][a-z0-9-]{0,62})(?![a-z0-9-]|\.\.)")
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")
_ELLIPSIS = re.compile(r"\.{3}")
_TAIL = re.compile(r"[a-z0-9@.\-]+$")


# ---- normalising -----------------------------------------------------------------------------

@cache
def _confusables() -> dict[int, str]:
    """Letters and digits of other scripts drawn like an ASCII one (Cyrillic а and е, Greek ο...),
    each to that one: a ``str.translate`` table from Unicode's confusables (TR39), as
    confusable-homoglyphs ships them."""
    from confusable_homoglyphs.confusables import confusables_data

    table: dict[int, str] = {}
    for char, glyphs in confusables_data.items():
        if len(char) != 1 or char.isascii():
            continue
        ascii_ = [g["c"] for g in glyphs if len(g["c"]) == 1 and g["c"].isascii() and g["c"].isalnum()]
        if ascii_:
            table[ord(char)] = ascii_[0].lower()
    return table


@cache
def _confusable_chars() -> frozenset[str]:
    """The letters ``_confusables`` reads: most texts hold none once their accents are stripped."""
    return frozenset(map(chr, _confusables()))


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def fold_text(text: str, confusables: bool = True) -> str:
    """The form every text is matched in: HTML entities decoded, accents stripped, lower case,
    letters of other scripts drawn like Latin ones read as those (``Hôpitаl`` with a Cyrillic
    ``а``: a name disguised to slip past keyword filters), defanged domains and addresses
    refanged (``aphp[.]fr``, ``x(at)y``, ``hxxps://``)."""
    return _fold(text, confusables)[0]


def _fold(text: str, confusables: bool) -> tuple[str, bool]:
    """``fold_text``, and whether letters of other scripts were read as Latin ones."""
    disguised = False
    if "&" in text:
        text = _ENTITY.sub(lambda m: html.unescape(m.group()), text)
    if not text.isascii():
        for char, plain in _LIGATURES.items():
            if char in text:
                text = text.replace(char, plain)
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
        if confusables and not text.isascii() and set("".join(_NON_ASCII.findall(text))) & _confusable_chars():
            text = text.translate(_confusables())
            disguised = True
    text = _refang(text.casefold())
    if "hxxp" in text or "h**p" in text:
        text = _REFANG_SCHEME.sub(lambda m: f"http{m.group(1)}://", text)
    return text, disguised


def _refang(text: str) -> str:
    """``aphp [.] fr`` -> ``aphp.fr``, ``x(at)y`` -> ``x@y``: the bracket and the blanks around it go."""
    parts: list[str] = []
    pos = 0
    for m in _REFANG.finditer(text):
        parts.append(text[pos : m.start()].rstrip(" \t"))
        parts.append("." if m.group(1) in (".", "dot") else "@")
        pos = m.end()
        while pos < len(text) and text[pos] in " \t":
            pos += 1
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)


def tokens(text: str) -> list[str]:
    """Tokens of the folded text, runs of single letters joined (``A:P:H:P`` -> ``aphp``)."""
    out: list[str] = []
    joining = False
    for tok in TOKEN.findall(fold_text(text)):
        single = len(tok) == 1 and tok.isalpha()
        if single and joining:
            out[-1] += tok
        else:
            out.append(tok)
            joining = single
    return out


def phrase(text: str) -> str:
    """A name or keyword as space-separated tokens of its folded form."""
    return " ".join(tokens(text))


def domain(text: str) -> str:
    """A domain term in canonical form: folded, without scheme, ``www.``, leading ``@`` or path."""
    value = fold_text(text.strip())
    value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value).lstrip("@*.")
    value = value.split("/", 1)[0].split("?", 1)[0].rstrip(".")
    if "@" in value:
        value = value.rsplit("@", 1)[1]
    value = value.removeprefix("www.")
    if not _DOMAIN.match(value):
        raise InputError(f"{text.strip()!r} is not a domain name (expected e.g. example.org)")
    return value


def looks_like_domain(text: str) -> bool:
    try:
        domain(text)
    except InputError:
        return False
    return " " not in text.strip()


# ---- terms -----------------------------------------------------------------------------------

class WatchTerm(SQLModel, table=True):
    """A name, domain or keyword the analyst watches for. Plain text: terms are not secret."""

    __tablename__ = "watch_term"
    id: int | None = Field(default=None, primary_key=True)
    term: str
    kind: str
    normal: str = Field(index=True, unique=True)
    added_at: dt.datetime = Field(default_factory=store.utcnow)


@dataclass(frozen=True)
class Term:
    """A watch term prepared for matching."""

    text: str
    kind: str
    tokens: tuple[str, ...]
    spaced: str
    compact: str
    keys: tuple[str, ...]
    """Tokens a matching phrase must show: at least 3 characters, no function word."""
    anchors: tuple[str, ...]
    """The rarer keys, looked up in each document's vocabulary."""

    @property
    def exact_only(self) -> bool:
        return len(self.compact) < FUZZY_MIN

    @property
    def is_domain(self) -> bool:
        return self.kind == "domain"


def normal_form(text: str, kind: str) -> str:
    """What identifies a term in the list: its canonical domain, or its folded phrase."""
    return domain(text) if kind == "domain" else phrase(text)


def prepare(text: str, kind: str) -> Term:
    """Check a term and prepare it for matching; raises InputError with a one-line reason."""
    if kind not in KINDS:
        raise InputError(f"unknown term kind {kind!r} (known: {', '.join(KINDS)})")
    if kind == "domain":
        normal = domain(text)
        return Term(text.strip(), kind, tuple(TOKEN.findall(normal)), normal, normal, (), ())
    words = tuple(tokens(text))
    compact = "".join(words)
    if len(compact) < 3:
        raise InputError(f"term {text.strip()!r} is too short: at least 3 letters or digits")
    if len(words) > MAX_TOKENS:
        raise InputError(f"term {text.strip()!r} has more than {MAX_TOKENS} words")
    if all(t in COMMON_WORDS for t in words):
        raise InputError(f"term {text.strip()!r} is made only of common words: it would fire on "
                         "ordinary text; watch a longer or more specific name")
    keys = tuple(t for t in words if len(t) >= 3 and t not in STOPWORDS)
    anchors = tuple(t for t in keys if t not in COMMON_WORDS) or keys
    return Term(text.strip(), kind, words, " ".join(words), compact, keys, anchors)


def why_unwatched(row: WatchTerm) -> str | None:
    """Why a stored term cannot be watched (one stored by an older, laxer release, or that a later
    list of common words refuses), else None."""
    try:
        prepare(row.term, row.kind)
    except InputError as exc:
        return str(exc)
    return None


def load_terms(engine: Engine) -> tuple[list[Term], list[tuple[WatchTerm, str]]]:
    """The stored terms, prepared; and those that cannot be, with why: left out, not fatal, and
    for the caller to say (the daemon and ``scan`` log a warning, ``terms list`` and ``doctor``
    show them)."""
    with store.session(engine) as s:
        rows = list(s.exec(select(WatchTerm).order_by(WatchTerm.id)))  # type: ignore[arg-type]
    out, unwatched = [], []
    for row in rows:
        try:
            out.append(prepare(row.term, row.kind))
        except InputError as exc:
            unwatched.append((row, str(exc)))
    return out, unwatched


def list_terms(engine: Engine) -> list[WatchTerm]:
    with store.session(engine) as s:
        return list(s.exec(select(WatchTerm).order_by(WatchTerm.kind, WatchTerm.normal)))


def add_term(engine: Engine, text: str, kind: str | None) -> tuple[WatchTerm, str]:
    """Add a term (kind guessed when None: a domain if it looks like one, else org). Returns the
    row and what happened: ``added``, ``updated`` (kind changed) or ``unchanged``."""
    kind = kind or ("domain" if looks_like_domain(text) else "org")
    term = prepare(text, kind)
    normal = term.compact if kind == "domain" else term.spaced
    with store.session(engine) as s:
        row = s.exec(select(WatchTerm).where(WatchTerm.normal == normal)).first()
        if row is not None:
            if row.kind == kind:
                return row, "unchanged"
            row.kind = kind
            s.add(row)
            audit.record(s, "term_update", term_id=row.id, kind=kind)
            s.commit()
            return row, "updated"
        row = WatchTerm(term=term.text, kind=kind, normal=normal)
        s.add(row)
        s.flush()
        audit.record(s, "term_add", term_id=row.id, kind=kind)
        s.commit()
        return row, "added"


def remove_term(engine: Engine, text: str) -> WatchTerm | None:
    """Remove the term ``text`` names: same normal form, spaces and punctuation aside."""
    wanted = {phrase(text).replace(" ", "")}
    if looks_like_domain(text):
        wanted.add(domain(text))
    with store.session(engine) as s:
        for row in s.exec(select(WatchTerm)):
            if row.normal in wanted or row.normal.replace(" ", "") in wanted:
                s.delete(row)
                audit.record(s, "term_remove", term_id=row.id, kind=row.kind)
                s.commit()
                return row
    return None


# ---- matching --------------------------------------------------------------------------------

Where = Literal["text", "title"]
"""Where a term was seen: a document's text, or a title (a listing entry's, a page's)."""
How = Literal["mention", "email", "lookalike", "truncated"]
"""How it matched: the words, an e-mail domain, a look-alike domain, a title cut short."""


class TermMatcher:
    """Finds watch terms in one text at a time. Build once per process: preparation is cached."""

    def __init__(self, terms: Iterable[Term], threshold: float,
                 unwatched: Iterable[tuple[WatchTerm, str]] = ()) -> None:
        self.terms = list(terms)
        self.threshold = threshold
        self.unwatched = [(row.term, reason) for row, reason in unwatched]
        """Stored terms left out (``load_terms``): the term as stored, and why."""
        self.domains = [(i, t) for i, t in enumerate(self.terms) if t.is_domain]
        self.phrases = [(i, t) for i, t in enumerate(self.terms) if not t.is_domain and not t.exact_only]
        self.exact = [(i, exact_pattern(t.tokens), set(itertools.accumulate(map(len, t.tokens[:-1]))))
                      for i, t in enumerate(self.terms) if not t.is_domain and t.exact_only]

    def scan(self, text: str, target: str, where: Where = "text") -> list[Finding]:
        """Findings for every term in ``text``: one per term and kind of match, with the number of
        mentions and the best score. ``where`` is ``text`` or ``title``."""
        if not self.terms or not text:
            return []
        norm, disguised = _fold(text, True)
        plain = fold_text(text, confusables=False) if self.domains and disguised else norm
        hits: dict[tuple[int, How], list[float]] = defaultdict(list)
        lookalikes: dict[int, set[str]] = defaultdict(set)
        if self.domains:
            # Host names as written: a watched domain spelt with another script's letters (аphp.fr,
            # or its xn-- form) is another domain drawn like it, a look-alike, never a mention.
            self._hosts(plain, hits, lookalikes)
            if disguised:
                self._homographs(plain, hits, lookalikes)
        for i, pattern, bounds in self.exact:
            for m in pattern.finditer(norm):
                parts = [len(p) for p in TOKEN.findall(m.group())]
                splits = set(itertools.accumulate(parts[:-1]))
                if splits <= bounds or max(parts) == 1:  # "ap hp", "a.p.h.p"; not "a php", "orb is"
                    hits[i, "mention"].append(100.0)
        if self.phrases:
            self._phrases(norm, hits)
        self._truncated(norm, hits)
        return [
            Finding(type="term", target=target, term=self.terms[i].text, term_kind=self.terms[i].kind,
                    score=round(max(scores), 1), count=len(scores), fields=(where, how),
                    hosts=_defanged(lookalikes[i]) if how == "lookalike" else ())
            for (i, how), scores in sorted(hits.items())
        ]

    # -- domains --

    def _hosts(self, norm: str, hits: dict[tuple[int, How], list[float]], lookalikes: dict[int, set[str]]) -> None:
        for (at, host), n in Counter(_HOST.findall(norm)).items():
            drawn = _skeleton(_unpunycode(host)) if "xn--" in host else host
            for i, term in self.domains:
                found = _domain_match(drawn, term.compact)
                if found is None:
                    continue
                how, score = found
                if drawn != host:  # an internationalised name drawn like the watched one
                    how = "lookalike"
                if how == "mention" and at:
                    how = "email"
                elif how == "lookalike":
                    lookalikes[i].add(host)
                hits[i, how].extend([score] * n)

    def _homographs(self, plain: str, hits: dict[tuple[int, How], list[float]],
                    lookalikes: dict[int, set[str]]) -> None:
        """Host names written with letters of other scripts, read as the Latin ones they are drawn
        like: each a look-alike of the watched domain it then reads as, named in its xn-- form."""
        for host, n in Counter(m for m in _IDN_HOST.findall(plain) if not m.isascii()).items():
            drawn = _skeleton(host)
            if not drawn.isascii() or not _DOMAIN.match(drawn):
                continue
            for i, term in self.domains:
                found = _domain_match(drawn, term.compact)
                if found is not None:
                    lookalikes[i].add(_punycode(host))
                    hits[i, "lookalike"].extend([found[1]] * n)

    # -- names and keywords --

    def _phrases(self, norm: str, hits: dict[tuple[int, How], list[float]]) -> None:
        vocab: set[bytes] = set()
        for a, b in _segments(norm):  # bytes.translate + split: a third of the time of TOKEN.findall
            vocab.update(norm[a:b].encode().translate(_NON_ALNUM_TO_SPACE).split())
        anchors = self._anchors({t.decode() for t in vocab})
        if not anchors:
            return
        pattern = re.compile(r"(?<![a-z0-9])(?:" + "|".join(map(re.escape, sorted(anchors, key=len, reverse=True)))
                             + r")(?![a-z0-9])")
        reach = 2 * max(len(self.terms[i].spaced) for ids in anchors.values() for i in ids) + 16
        last_end: dict[int, int] = {}
        scores: dict[tuple[int, tuple[str, ...]], float] = {}  # dumps repeat the same phrases
        for m in pattern.finditer(norm):
            lo = max(0, m.start() - reach)
            while lo > 0 and norm[lo - 1].isalnum():  # never start inside a token
                lo -= 1
            spans = [(t.start(), t.end()) for t in TOKEN.finditer(norm, lo, m.end() + reach)]
            tokens = [norm[a:b] for a, b in spans]
            idx = next(k for k, (a, _) in enumerate(spans) if a == m.start())
            for i in anchors[m.group()]:
                done = last_end.get(i, -1)
                if m.start() < done:
                    continue
                first = next((k for k, (a, _) in enumerate(spans) if a >= done), idx)
                best = self._best_window(i, tokens, idx, first, scores)
                if best is not None:
                    score, end = best
                    hits[i, "mention"].append(score)
                    last_end[i] = spans[end - 1][1]

    def _anchors(self, vocab: set[str]) -> dict[str, list[int]]:
        """Tokens of this document worth a closer look, and the terms they may belong to."""
        by_len: dict[int, list[str]] = defaultdict(list)
        for tok in vocab:
            by_len[len(tok)].append(tok)
        anchors: dict[str, list[int]] = defaultdict(list)

        def near(tok: str) -> Iterator[str]:
            if tok in vocab:
                yield tok
            if len(tok) < 5:
                return
            lo, hi = math.ceil(len(tok) * 2 / 3), len(tok) * 3 // 2
            choices = [t for n in range(lo, hi + 1) for t in by_len.get(n, ())]
            for match, _, _ in process.extract(tok, choices, scorer=fuzz.ratio, score_cutoff=ANCHOR_CUTOFF,
                                               limit=None):
                if match != tok:
                    yield match

        long_tokens = [tok for tok in vocab if len(tok) >= GLUED_MIN]
        for i, term in self.phrases:
            seeds = {*term.anchors, term.compact} if term.anchors else {term.compact, term.tokens[0]}
            for seed in seeds:
                for tok in near(seed):
                    if i not in anchors[tok]:
                        anchors[tok].append(i)
            if len(term.tokens) > 1:
                # Words glued in parts ("aaaaabbbb bbbbbb" for "aaa aab bbb bbb bbb"): no token is
                # one of the term's words, but one is the start or the end of its glued form.
                for tok in long_tokens:
                    if (term.compact.startswith(tok) or term.compact.endswith(tok)) and i not in anchors[tok]:
                        anchors[tok].append(i)
        return anchors

    def _best_window(self, i: int, tokens: list[str], idx: int, start_min: int,
                     scores: dict[tuple[int, tuple[str, ...]], float]) -> tuple[float, int] | None:
        """The best-scoring phrase around token ``idx``: up to the term's length + 1 tokens, whose
        letters are about as many as the term's (glued or spaced-out forms included)."""
        term = self.terms[i]
        k = len(term.tokens)
        lo, hi = 0.7 * len(term.compact), 1.3 * len(term.compact) + 1
        best: tuple[float, int] | None = None
        for n in range(1, k + 2):
            for s in range(max(start_min, idx - n + 1), idx + 1):
                if s + n > len(tokens):
                    break
                window = tuple(tokens[s : s + n])
                if not lo <= sum(map(len, window)) <= hi:
                    continue
                score = scores.get((i, window))
                if score is None:
                    score = scores[i, window] = self._score(term, window)
                if score >= self.threshold and (best is None or score > best[0]):
                    best = (score, s + n)
        return best

    def _score(self, term: Term, window: tuple[str, ...]) -> float:
        compact = "".join(window)
        spaced = " ".join(window)
        score = max(fuzz.ratio(spaced, term.spaced), fuzz.ratio(compact, term.compact))
        if score < self.threshold and len(window) > 1:
            score = fuzz.token_sort_ratio(spaced, term.spaced)  # "Hopitaux de Paris, Assistance Publique"
        if score < self.threshold:
            return 0.0
        for key in term.keys:  # each distinctive word must be there: "Versailles" is not "Marseille"
            if max(fuzz.ratio(key, w) for w in window) < KEY_CUTOFF and (
                    len(window) >= len(term.tokens) or fuzz.partial_ratio(key, compact) < KEY_CUTOFF):
                return 0.0
        return score

    # -- truncated titles --

    def _truncated(self, norm: str, hits: dict[tuple[int, How], list[float]]) -> None:
        longest = max(len(t.spaced) for t in self.terms) + 16
        starts = {t.compact[:3] for t in self.terms}
        for m in _ELLIPSIS.finditer(norm):
            p = m.start()
            if p and norm[p - 1] == ".":
                continue  # the tail of a longer run of dots
            head = norm[max(0, p - longest) : p].rsplit("\n", 1)[-1].rstrip()
            tokens = TOKEN.findall(head)
            if not any(tok[:3] in starts for tok in tokens):
                continue
            tail = _TAIL.search(head)
            for i, term in enumerate(self.terms):
                found = self._prefix(term, tokens, tail.group() if tail else "")
                if found is not None:
                    hits[i, found[0]].append(found[1])

    def _prefix(self, term: Term, tokens: list[str], tail: str) -> tuple[How, float] | None:
        if term.is_domain:
            tail = tail.rsplit("@", 1)[-1].strip(".-")
            labels = tail.split(".")
            for j in range(len(labels)):
                part = ".".join(labels[j:])
                if part == term.compact:
                    return "mention", 100.0
                if "." in part and len(part) >= _min_prefix(term.compact) and term.compact.startswith(part) \
                        and len(part) > term.compact.index(".") + 1:
                    return "truncated", 100.0
            return None
        need = _min_prefix(term.compact)
        for j in range(1, min(len(tokens), len(term.tokens) + 1) + 1):
            cand = "".join(tokens[-j:])
            if len(cand) >= len(term.compact):
                break
            if len(cand) < need:
                continue
            score = fuzz.ratio(cand, term.compact[: len(cand)])
            if score >= self.threshold:
                return "truncated", round(score, 1)
        return None


def exact_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """A short term as a whole word, its letters maybe split by up to two separators (three
    between its words): ``ap hp`` finds ``AP-HP``, ``A.P.-H.P.``, ``a p h p``, ``aphp`` (and ``a php``,
    which the caller rejects: splits must fall between the term's words or between every letter).
    The first letter comes first in the pattern, so the regex engine searches for it as a literal."""
    inner, between = r"[^a-z0-9]{0,2}", r"[^a-z0-9]{0,3}"
    body = between.join(inner.join(map(re.escape, word)) for word in words)
    return re.compile(re.escape(body[0]) + r"(?<![a-z0-9].)" + body[1:] + r"(?![a-z0-9])")


def _min_prefix(compact: str) -> int:
    """How much of a term a truncated title must show to name it: 60 %, and 5 characters."""
    return max(5, math.ceil(0.6 * len(compact)))


MAX_HOSTS = 20
"""Look-alike hosts named per finding; a document listing more says how many in ``count``."""


_IDN_HOST = re.compile(r"(?<![\w.-])((?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63})(?![\w-])")
"""A host name in any script (``аphp.fr``); only those with a letter outside ASCII are read by it."""


def _skeleton(host: str) -> str:
    """``host`` with each letter of another script drawn like a Latin one read as that one."""
    return host.translate(_confusables())


def _punycode(host: str) -> str:
    """The xn-- form of a host name: plain ASCII, safe to show and to look up."""
    return ".".join(label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
                    for label in host.split("."))


def _unpunycode(host: str) -> str:
    """A host name with its xn-- labels decoded (those that do not decode are left as they are)."""
    labels = []
    for label in host.split("."):
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError):
                label = label[4:].encode("ascii").decode("punycode")
        labels.append(label)
    return ".".join(labels)


def _defanged(hosts: set[str]) -> tuple[str, ...]:
    """Host names as an analyst can paste them without making a link: ``aphp-login[.]com``."""
    return tuple(h.replace(".", "[.]") for h in sorted(hosts)[:MAX_HOSTS])


def _domain_match(host: str, watched: str) -> tuple[How, float] | None:
    """How ``host`` relates to a watched domain: itself or a sub-domain (``mention``, 100), or a
    look-alike: a small edit away, another top-level domain, the watched name embedded in a longer
    host (``aphp.fr.example.com``) or hyphenated (``aphp-login.com``)."""
    if host == watched or host.endswith("." + watched):
        return "mention", 100.0
    labels = host.split(".")
    w_labels = watched.split(".")
    name = w_labels[0]
    n = len(w_labels)
    if len(labels) < n or len(name) < 4:
        return None
    reg = labels[-n:]
    suffix = ".".join(reg)
    score = round(max(Levenshtein.normalized_similarity(suffix, watched) * 100,
                      fuzz.partial_ratio(watched, host)), 1)
    allowed = 1 if len(watched) < 10 else 2
    if (Levenshtein.distance(suffix, watched, score_cutoff=allowed) <= allowed and reg[-1].isalpha()
            and len(reg[0]) >= 4 and reg[0][0] == name[0]):
        return "lookalike", score  # a typo away: aphq.fr, aphpp.fr
    if name in COMMON_WORDS:
        return None
    if reg[0] == name and reg[-1].isalpha():
        return "lookalike", score  # the same name under another suffix: aphp.com
    if f".{watched}." in f".{host}":
        return "lookalike", score  # embedded: aphp.fr.example.com
    if "-" in reg[0] and name in reg[0].split("-"):
        return "lookalike", score  # hyphenated: aphp-login.com
    return None


def _segments(text: str) -> Iterator[tuple[int, int]]:
    """Cut points at whitespace, about SEGMENT characters apart."""
    start = 0
    while start < len(text):
        end = min(len(text), start + SEGMENT)
        if end < len(text):
            cut = max(text.rfind(" ", start, end), text.rfind("\n", start, end))
            end = cut + 1 if cut > start else end
        yield start, end
        start = end
