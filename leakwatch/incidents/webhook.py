"""Signed webhooks for a SOAR: ``webhook+json://host[:port]/path`` (HTTP) and ``webhook+jsons://``
(HTTPS) route URLs.

Each alert is POSTed as a versioned JSON document (``docs/webhook-incident.v1.schema.json``,
explained in ``docs/webhooks.md``). The body is signed with HMAC-SHA256 under the route's
``secret``, the timestamp inside the signature, as Stripe does::

    Leakwatch-Signature: t=1764512345,v1=<hex HMAC-SHA256(secret, "1764512345." + body)>

A receiver recomputes it, compares in constant time, refuses a timestamp older than a few minutes
and remembers the ``Leakwatch-Delivery`` ids it accepted: a captured request can neither be altered
nor replayed. The body is written once, when the alert is queued in the outbox; each attempt signs it
afresh with the time of sending, so a delivery retried an hour later is not refused as stale.

Below ``alerts`` (which asks this module about ``webhook+json`` URLs): nothing here imports it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from leakwatch import log
from leakwatch.settings import WEBHOOK_SCHEMES

VERSION = 1
SIGNATURE_HEADER = "Leakwatch-Signature"
DELIVERY_HEADER = "Leakwatch-Delivery"
ALREADY_ACCEPTED = 409
"""What a receiver answers to a delivery id it already holds (docs/webhooks.md): delivered."""
EVENT_HEADER = "Leakwatch-Event"
SCHEMA_URL = "https://github.com/leakwatch/leakwatch/blob/main/docs/webhook-incident.v1.schema.json"
PLAIN_SEGMENT = re.compile(r"^[a-z][a-z-]{0,15}$")
"""A URL path segment shown as it is in a masked URL; any other may be a token."""


class Message(Protocol):
    """What a document is made of (``alerts.Alert`` is one)."""

    @property
    def key(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def event(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def data(self) -> Mapping[str, Any] | None: ...
    @property
    def refs_data(self) -> tuple[Mapping[str, Any], ...]: ...


def target(url: str) -> str:
    """The http(s) URL a ``webhook+json(s)://`` route posts to."""
    parts = urlsplit(url)
    return urlunsplit((WEBHOOK_SCHEMES[parts.scheme.lower()], parts.netloc, parts.path or "/", parts.query, ""))


def check_url(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError as exc:
        return f"not a valid webhook URL: {exc}"
    if not parts.hostname:
        return "webhook URL without a host"
    return None


def mask_url(url: str) -> str:
    """Scheme, host and port, and the path with anything but plain words masked (tokens); no query."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return f"{url.split('://', 1)[0]}://****"
    path = "/".join(p if not p or PLAIN_SEGMENT.match(p) else "****" for p in parts.path.split("/"))
    return f"{parts.scheme}://{host}{port}{path}"


def scrub(text: str, url: str) -> str:
    """The text without the parts of the URL that its masked form hides."""
    masked = mask_url(url)
    for secret in sorted({p for p in re.split(r"[/:@?&=#]+", url) if len(p) >= 4 and p not in masked},
                         key=len, reverse=True):
        text = text.replace(secret, "****")
    return text


def document(alert: Message, include_refs: bool, created_at: str) -> dict[str, Any]:
    """The JSON document of one alert (schema version 1). No leaked value; refs only with
    ``include_refs``."""
    doc: dict[str, Any] = {
        "$schema": SCHEMA_URL, "version": VERSION, "id": alert.key, "event": alert.event or alert.kind,
        "created_at": created_at, "severity": alert.severity, "title": alert.title, "text": alert.body,
    }
    doc.update(dict(alert.data or {}))
    if include_refs and alert.kind == "incident":
        doc["refs"] = [dict(r) for r in alert.refs_data]
        total = 0
        if isinstance(alert.data, Mapping):
            inc = alert.data.get("incident", {})
            total = int(inc.get("records", 0)) + int(inc.get("counts", {}).get("canaries", 0))
        doc["refs_truncated"] = max(0, total - len(alert.refs_data))
    return doc


def body(alert: Message, include_refs: bool, created_at: str) -> str:
    return json.dumps(document(alert, include_refs, created_at), ensure_ascii=False, separators=(",", ":"))


def signature(secret: str, payload: bytes, timestamp: int) -> str:
    """The ``Leakwatch-Signature`` header value for a body sent at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def post(url: str, secret: str, payload: str, delivery: str, event: str, timeout: float) -> str | None:
    """POST one signed document. None when the receiver answered 2xx, else the reason in one line,
    without the URL's secrets. Never raises."""
    import httpx

    from leakwatch import __version__

    data = payload.encode()
    headers = {"Content-Type": "application/json", "User-Agent": f"leakwatch/{__version__}",
               SIGNATURE_HEADER: signature(secret, data, int(time.time())), DELIVERY_HEADER: delivery,
               EVENT_HEADER: event}
    try:
        response = httpx.post(target(url), content=data, headers=headers, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        return scrub(f"{exc.__class__.__name__}: {' '.join(str(exc).split())}"[:300], url)
    except Exception as exc:  # a malformed URL, a proxy misconfigured: a reason, not a crash
        return scrub(f"{exc.__class__.__name__} while sending", url)
    if 200 <= response.status_code < 300:
        return None
    if response.status_code == ALREADY_ACCEPTED:
        # docs/webhooks.md tells receivers to answer 409 to a delivery id they already hold: the
        # second send of an alert whose first reached the receiver just before a crash. Delivered;
        # said in the log, since a receiver answering 409 to everything would otherwise go unseen.
        log.warning("alert_already_accepted", delivery=delivery, status=response.status_code)
        return None
    return f"the receiver answered HTTP {response.status_code}"
