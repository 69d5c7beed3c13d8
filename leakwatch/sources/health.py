"""Source health: recognise the ways a source stops without saying so, and track ok/degraded/failing.

A poll ends in one of: success (with or without new items), a transient problem (timeouts, 5xx,
429s that outlast the retries), or a fatal one (an access-denied or ban page served with 200, a
captcha, a JSON listing whose shape changed): the source will not heal by itself. Transient
problems degrade a source and make it fail after ``source_failing_after`` polls in a row; fatal
ones fail it at once. Going to failing and coming back are each reported once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OK, DEGRADED, FAILING = "ok", "degraded", "failing"


class SourceProblem(Exception):
    """A poll that did not work although HTTP said it did. ``kind`` names the failure."""

    def __init__(self, where: str, reason: str, *, kind: str, fatal: bool = True) -> None:
        if where.startswith(("http://", "https://")):
            from leakwatch.sources.http import safe_url

            where = safe_url(where)
        super().__init__(f"{where}: {reason}")
        self.kind = kind
        self.fatal = fatal


# (kind, pattern): searched in the first 64 KiB of a listing's body, lower-cased.
_BLOCK_PAGES: list[tuple[str, re.Pattern[str]]] = [
    ("access_denied", re.compile(r"does not have access\.? visit:? https?://pastebin\.com/doc_scraping_api")),
    ("access_denied", re.compile(r"<title>[^<]{0,80}(access denied|403 forbidden)[^<]{0,80}</title>")),
    ("banned", re.compile(r"your ip (address )?(has been|is) (banned|blocked|blacklisted)")),
    ("banned", re.compile(r"you have been (banned|blocked)")),
    ("banned", re.compile(r"attention required! \| cloudflare|sorry, you have been blocked")),
    ("captcha", re.compile(r"cf-chl-|cf_chl_|challenge-platform|<title>just a moment\.\.\.</title>")),
    ("captcha", re.compile(r"class=\"g-recaptcha\"|hcaptcha\.com/1/api\.js|www\.google\.com/recaptcha/api\.js")),
    ("captcha", re.compile(r"ddos-guard|checking your browser before accessing")),
]


def blocked_page(body: bytes) -> str | None:
    """The kind of block page this listing is (``access_denied``, ``banned``, ``captcha``), if any."""
    head = body[:65536].decode("utf-8", errors="replace").lower()
    for kind, pattern in _BLOCK_PAGES:
        if pattern.search(head):
            return kind
    return None


_BLOCK_REASONS = {
    "access_denied": "access denied (an IP whitelist or key lost?)",
    "banned": "the site banned or blocked us",
    "captcha": "a captcha or bot challenge answered instead of the listing",
}


def unreadable(where: str, body: bytes, problem: SourceProblem) -> SourceProblem:
    """Why a listing could not be read: a block page served in its place (fatal), else ``problem``.

    Only a listing that failed to parse is searched for block pages, so that a victim's name or a
    paste title quoting such a page never passes for one."""
    kind = blocked_page(body)
    return SourceProblem(where, _BLOCK_REASONS[kind], kind=kind) if kind is not None else problem


_PASTEBIN_DENIED = re.compile(rb"^\s*YOUR IP: \S+ DOES NOT HAVE ACCESS")


def pastebin_denied(body: bytes) -> bool:
    """Pastebin's whole answer to a scraping call from an IP that is not whitelisted."""
    return len(body) < 512 and _PASTEBIN_DENIED.match(body) is not None


@dataclass
class Health:
    state: str = OK
    reason: str = ""
    failures: int = 0


@dataclass(frozen=True)
class Transition:
    """A change worth telling an operator about: ``failing`` (with why) or ``ok`` (recovered)."""

    state: str
    reason: str


def after_poll(prev: Health, *, problem: str | None, fatal: bool, stale: str | None,
               failing_after: int) -> tuple[Health, Transition | None]:
    """The health after one poll, and the transition to report if any."""
    if problem is not None:
        failures = prev.failures + 1
        state = FAILING if fatal or failures >= failing_after else DEGRADED
        new = Health(state, problem, failures)
    elif stale is not None:
        new = Health(DEGRADED, stale, 0)
    else:
        new = Health(OK, "", 0)
    transition = None
    if new.state == FAILING and prev.state != FAILING:
        transition = Transition(FAILING, new.reason)
    elif prev.state == FAILING and new.state != FAILING:
        transition = Transition(OK, "recovered" + (f" (still degraded: {new.reason})" if new.reason else ""))
    return new, transition
