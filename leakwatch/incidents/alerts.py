"""Alert messages and their delivery through apprise.

A message names the incident, dataset, number of records, kinds of field, confidence, source, URL
and times, and the command that shows the refs. It never holds a leaked value, and holds refs only
for routes with ``include_refs``. Route URLs carry secrets (tokens, passwords): they are shown only
masked, and failure reasons are scrubbed of them.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from leakwatch.display import duration, printable
from leakwatch.storage.store import as_utc

if TYPE_CHECKING:
    import apprise

    from leakwatch.incidents.fold import Folded, IncidentRefRow

MAX_REFS = 200
_SEND_LOCK = threading.Lock()
"""apprise.LogCapture hooks a process-wide logger: one send at a time keeps each reason its own."""
_NOTIFY_TYPE = {"low": "INFO", "medium": "WARNING", "high": "FAILURE", "critical": "FAILURE"}
"""apprise's NotifyType by severity, by name: apprise is imported only to send or check a route."""


@dataclass(frozen=True)
class Alert:
    """One alert, before it is fanned out to routes. ``key`` makes it unique in the outbox."""

    key: str
    kind: str
    """``incident``, ``operator`` or ``test``."""
    severity: str
    title: str
    body: str
    refs_body: str = ""
    """Appended for routes with ``include_refs``."""
    incident_id: int | None = None
    event: str = ""
    """What happened, for machines: ``incident.new``, ``incident.escalated``, ``source.failing``,
    ``source.recovered`` or ``test`` (the webhook document's ``event``)."""
    data: Mapping[str, Any] | None = None
    """The facts as the webhook document carries them (``incident`` and ``sighting``, or ``source``)."""
    refs_data: tuple[Mapping[str, Any], ...] = ()
    """The refs as the webhook document carries them, for routes with ``include_refs``."""

    def text(self, include_refs: bool) -> str:
        return self.body + (f"\n\n{self.refs_body}" if include_refs and self.refs_body else "")


def _iso(value: dt.datetime | None) -> str:
    value = as_utc(value)
    if value is None:
        return "unknown"
    return value.strftime("%Y-%m-%d %H:%M:%SZ")


def incident_alert(folded: Folded, refs: Sequence[IncidentRefRow]) -> Alert:
    """The alert for a new incident or one whose severity rose. No value, refs apart."""
    inc, sighting = folded.incident, folded.sighting
    escalated = not folded.new
    what = f"{inc.records} record(s)" + (f" and {inc.canaries} canary(ies)" if inc.canaries else "")
    if inc.records or inc.canaries:
        title = f"[leakwatch] {inc.severity.upper()}: {what} of {inc.dataset} exposed (incident {inc.id})"
    else:
        title = (f"[leakwatch] {inc.severity.upper()}: watch term(s) {inc.terms.replace(',', ', ')} mentioned"
                 f" (incident {inc.id})")
    lines = [
        f"Incident {inc.id}: " + (f"severity rose from {folded.previous_severity} to {inc.severity}"
                                  if escalated else f"new, severity {inc.severity}"),
        f"Dataset: {inc.datasets.replace(',', ', ') or 'none (watch terms only)'}",
        f"Records: {inc.records} (high confidence {inc.high}, medium {inc.medium}, low {inc.low})",
    ]
    if inc.canaries:
        lines.append(f"Canaries: {inc.canaries} (planted records: treat as a confirmed leak)")
    if inc.terms:
        lines.append(f"Watch terms: {inc.terms.replace(',', ', ')}")
    if inc.hosts:
        lines.append(f"Look-alike hosts: {printable(inc.hosts.replace(',', ', '))} (defanged; not your data)")
    lines += [
        f"Field kinds: {', '.join(inc.kind_list) or 'none'}",
        f"Confidence: {inc.confidence}",
        f"Source: {sighting.source}",
        f"URL: {printable(sighting.url or sighting.item_key)}",  # attacker-chosen: control characters escaped
        f"First seen: {_iso(inc.first_seen)}",
        f"Last seen: {_iso(inc.last_seen)}",
        f"Sightings: {inc.sightings}",
    ]
    if inc.first_published is not None:
        lines.append(f"Published: {_iso(inc.first_published)}")
    if inc.detection_seconds is not None:
        lines.append(f"Detected after: {duration(inc.detection_seconds)}")
    lines += ["", f"Refs of the exposed records: leakwatch incidents show {inc.id}"]
    refs_body = ""
    if refs:
        shown = [f"{r.dataset}:{r.ref} ({r.fields.replace(',', ', ')}; {r.confidence})" for r in refs[:MAX_REFS]]
        more = inc.records + inc.canaries - len(shown)
        refs_body = "Refs:\n" + "\n".join(shown) + (f"\n... and {more} more" if more > 0 else "")
    return Alert(key=f"incident:{inc.id}:{inc.severity}", kind="incident", severity=inc.severity,
                 title=title, body="\n".join(lines), refs_body=refs_body, incident_id=inc.id,
                 event="incident.escalated" if escalated else "incident.new", data=_incident_data(folded),
                 refs_data=tuple({"dataset": r.dataset, "ref": r.ref, "type": r.type,
                                  "fields": [f for f in r.fields.split(",") if f], "confidence": r.confidence,
                                  "label": r.label} for r in refs[:MAX_REFS]))


def _incident_data(folded: Folded) -> dict[str, Any]:
    from leakwatch.incidents.fold import incident_json

    inc, x = folded.incident, folded.sighting
    incident = dict(incident_json(inc))
    incident["previous_severity"] = folded.previous_severity
    incident["show_command"] = f"leakwatch incidents show {inc.id}"
    published, seen = as_utc(x.published_at), as_utc(x.seen_at)
    sighting = {"source": x.source, "url": x.url, "key": x.item_key, "records": x.records, "canaries": x.canaries,
                "kinds": [k for k in x.kinds.split(",") if k],
                "published_at": published.isoformat() if published else None,
                "seen_at": seen.isoformat() if seen else None}
    return {"incident": incident, "sighting": sighting}


def operator_alert(source: str, state: str, reason: str, when: dt.datetime) -> Alert:
    """A source started failing or recovered."""
    if state == "ok":
        title = f"[leakwatch] source {source} recovered"
        body = f"Source {source} is working again ({reason})." if reason else f"Source {source} is working again."
    else:
        title = f"[leakwatch] source {source} is failing"
        body = (f"Source {source} is failing: {reason}\n\nNothing is being watched there until it recovers. "
                "Check it with: leakwatch doctor")
    return Alert(key=f"health:{source}:{state}:{when.isoformat()}", kind="operator",
                 severity="low" if state == "ok" else "high", title=title, body=body + f"\nAt: {_iso(when)}",
                 event="source.recovered" if state == "ok" else "source.failing",
                 data={"source": {"name": source, "state": state, "reason": reason, "at": _iso(when)}})


def test_alert(when: dt.datetime) -> Alert:
    return Alert(key=f"test:{when.isoformat()}", kind="test", severity="low",
                 title="[leakwatch] test alert",
                 body=f"This is a test of leakwatch's alert route, sent at {_iso(when)}. No action needed.",
                 event="test", data={})


# ---- route URLs ------------------------------------------------------------------------------

def _plugin(url: str) -> apprise.plugins.NotifyBase | None:  # type: ignore[name-defined]
    import apprise

    asset = apprise.AppriseAsset(storage_mode="memory")
    try:
        return apprise.Apprise.instantiate(url, asset=asset, suppress_exceptions=True)
    except Exception:
        return None


def check_url(url: str) -> str | None:
    """None when apprise (or, for ``webhook+json://``, leakwatch's signed webhook) can use the URL,
    else why not."""
    from leakwatch.incidents import webhook
    from leakwatch.settings import is_webhook

    if is_webhook(url):
        return webhook.check_url(url)
    if _plugin(url) is None:
        scheme = url.split("://", 1)[0] if "://" in url else ""
        return f"apprise cannot parse this URL (scheme {scheme!r})" if scheme else "not a URL"
    return None


_GENERIC = ("json", "jsons", "xml", "xmls", "form", "forms")


def mask_url(url: str) -> str:
    """The URL with tokens and passwords masked (apprise's privacy view), without the query. Generic
    webhooks (json://, xml://, form://) often carry a token in their path: path segments that are
    not plain lower-case words are masked too."""
    from leakwatch.incidents import webhook
    from leakwatch.settings import is_webhook

    if is_webhook(url):
        return webhook.mask_url(url)
    plugin = _plugin(url)
    if plugin is not None:
        try:
            masked = str(plugin.url(privacy=True)).split("?", 1)[0]
        except Exception:
            masked = ""
        if masked:
            scheme, _, rest = masked.partition("://")
            if scheme in _GENERIC and "/" in rest:
                host, _, path = rest.partition("/")
                path = "/".join(p if not p or webhook.PLAIN_SEGMENT.match(p) else "****" for p in path.split("/"))
                masked = f"{scheme}://{host}/{path}"
            return masked
    scheme = url.split("://", 1)[0] if "://" in url else "?"
    return f"{scheme}://****"


def _secrets(url: str) -> list[str]:
    """Parts of the URL that its masked form hides: scrubbed from any message."""
    masked = mask_url(url)
    parts = {p for p in re.split(r"[/:@?&=#]+", url) if len(p) >= 4 and p not in masked}
    return sorted(parts, key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    for secret in _secrets(url):
        text = text.replace(secret, "****")
    return text


def send(url: str, title: str, body: str, severity: str = "low", timeout: float = 20.0) -> str | None:
    """Deliver one message to one route URL. None when delivered, else the reason, one line,
    without the URL's secrets. Never raises."""
    import apprise

    from leakwatch.settings import is_webhook

    if is_webhook(url):
        return "a webhook+json route is sent signed with its route's secret (webhook.post), not by apprise"
    plugin = _plugin(url)
    if plugin is None:
        return check_url(url)
    for attr in ("socket_connect_timeout", "socket_read_timeout"):
        if hasattr(plugin, attr):
            setattr(plugin, attr, timeout)
    notifier = apprise.Apprise(asset=apprise.AppriseAsset(storage_mode="memory"))
    notifier.add(plugin)
    with _SEND_LOCK, apprise.LogCapture(level=logging.INFO, fmt="%(levelname)s %(message)s") as captured:
        try:
            ok = notifier.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT,
                                 notify_type=getattr(apprise.NotifyType, _NOTIFY_TYPE.get(severity, "INFO")))
        except Exception as exc:
            return scrub(f"{exc.__class__.__name__} while sending", url)
        logged = captured.getvalue()
    if ok:
        return None
    problems = [line.split(" ", 1)[1] for line in logged.splitlines()
                if line.startswith(("WARNING ", "ERROR ", "CRITICAL ")) and " " in line]
    reason = "; ".join(problems[-2:]) or "apprise reported a failure without a reason"
    return scrub(" ".join(reason.split())[:300], url)
