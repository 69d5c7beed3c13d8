"""Real local channels for the daemon's tests: a webhook receiver (apprise ``json://``) that can be
taken down and brought back on the same port, and an SMTP sink (aiosmtpd) for ``mailto://``."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from lw_http import QuietHTTPServer


def free_port() -> int:
    """A port free a moment ago, for a server that must be told its port before it binds (the SMTP
    sink: aiosmtpd's Controller binds and then connects to a port it was given). Another process
    may take it meanwhile: servers that can bind port 0 and say which port they got do that instead."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, every: float = 0.1) -> Any:
    """Poll until ``predicate()`` is truthy; fail with the time waited."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(every)


class _QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class _LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 that tests start, stop and start again on one port. The
    port is the system's pick, bound when the object is made (``_reserve``) and listened on at
    ``start()``: its URL is known, and refused, before the start, and no other process can take it
    meanwhile (no free-port race). A restart after ``stop()`` binds that port again."""

    port: int = 0
    _server: QuietHTTPServer | None = None
    _serving = False

    def _reserve(self) -> None:
        self._server = QuietHTTPServer(("127.0.0.1", 0), _QuietHandler, bind_and_activate=False)
        self._server.server_bind()
        self.port = int(self._server.server_address[1])

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        if self._server is None:  # started again after stop(): the same port
            self._server = QuietHTTPServer(("127.0.0.1", self.port), handler)
        else:
            self._server.RequestHandlerClass = handler
            self._server.server_activate()
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self._serving = True

    def stop(self) -> None:
        if self._server is not None:
            if self._serving:
                self._server.shutdown()
            self._server.server_close()
            self._server = None
            self._serving = False


class Receiver(_LoopbackServer):
    """A webhook receiver recording POST bodies. ``stop()`` closes the port (connections refused)
    and ``start()`` reopens the same one; ``status`` other than 200 makes it answer errors."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.status = 200
        self.hang = False
        """Hold each request without answering (a channel that accepted the connection, then stalled)."""
        self.hung = 0
        self._reserve()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/"

    def start(self) -> None:
        receiver = self

        class Handler(_QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.hang:
                    receiver.hung += 1
                    deadline = time.monotonic() + 20
                    while receiver.hang and time.monotonic() < deadline:
                        time.sleep(0.05)
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if receiver.status == 200:
                    with receiver._lock:
                        receiver.bodies.append(body)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._serve(Handler)

    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(b) for b in self.bodies]


class SmtpSink:
    """A real SMTP server on 127.0.0.1 keeping every message received."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[bytes] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
                sink.messages.append(envelope.content)
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return (f"mailto://127.0.0.1:{self.port}?mode=insecure&from=leakwatch@example.org"
                "&to=soc@example.org")


def write_config(home: Path, text: str) -> None:
    (home / "config.toml").write_text(text, encoding="utf-8")


class Listing(_LoopbackServer):
    """A leak index on 127.0.0.1 for the ``json_api`` driver: ``/list.json`` lists the entries
    (title, date, url), each served as a file at its own path."""

    def __init__(self) -> None:
        self.entries: list[dict[str, str]] = []
        self.files: dict[str, bytes] = {}
        self._reserve()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/list.json"

    def publish(self, name: str, content: bytes, published: str) -> None:
        self.files[f"/{name}"] = content
        self.entries.append({"title": name, "date": published, "url": f"http://127.0.0.1:{self.port}/{name}"})

    def start(self) -> None:
        listing = self

        class Handler(_QuietHandler):
            def do_GET(self) -> None:
                body = json.dumps(listing.entries).encode() if self.path == "/list.json" \
                    else listing.files.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json" if self.path.endswith(".json")
                                 else "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._serve(Handler)


class SignedReceiver(_LoopbackServer):
    """A SOAR's webhook endpoint as docs/webhooks.md tells one to write it, written here apart from
    leakwatch's code: it checks ``Leakwatch-Signature`` (HMAC-SHA256 of ``t + "." + body`` under the
    shared secret, compared in constant time), refuses a timestamp more than ``tolerance`` seconds
    away from its clock (``clock_offset`` moves its clock: a replay ten minutes later) and a delivery
    id it has already accepted. Accepted documents are kept; refusals are counted by reason."""

    def __init__(self, secret: str, tolerance: float = 300.0) -> None:
        self.secret = secret.encode()
        self.tolerance = tolerance
        self.clock_offset = 0.0
        self.accepted: list[dict[str, Any]] = []
        self.requests: list[tuple[dict[str, str], bytes]] = []
        """Every request received, headers and raw body: what an eavesdropper would capture."""
        self.refused: list[str] = []
        self.seen: set[str] = set()
        self._reserve()
        self._lock = threading.Lock()

    def url(self, secure: bool = False) -> str:
        return f"webhook+json{'s' if secure else ''}://127.0.0.1:{self.port}/hooks/leakwatch"

    def verify(self, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        import hashlib
        import hmac

        header = headers.get("Leakwatch-Signature", "")
        fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
        if not fields.get("t", "").isdigit() or "v1" not in fields:
            return 400, "malformed signature header"
        expected = hmac.new(self.secret, fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields["v1"]):
            return 401, "bad signature"
        if abs(time.time() + self.clock_offset - int(fields["t"])) > self.tolerance:
            return 401, "stale timestamp"
        delivery = headers.get("Leakwatch-Delivery", "")
        if delivery != json.loads(body).get("id"):
            return 400, "delivery header does not match the document"
        if delivery in self.seen:
            return 409, "delivery already accepted"
        return 200, "ok"

    def start(self) -> None:
        receiver = self

        class Handler(_QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k: v for k, v in self.headers.items()}
                with receiver._lock:
                    receiver.requests.append((headers, body))
                    status, reason = receiver.verify(headers, body)
                    if status == 200:
                        receiver.seen.add(headers["Leakwatch-Delivery"])
                        receiver.accepted.append(json.loads(body))
                    else:
                        receiver.refused.append(reason)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._serve(Handler)

    def replay(self, headers: dict[str, str], body: bytes) -> int:
        """Send a captured request again, as an attacker would."""
        import urllib.error
        import urllib.request

        kept = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "host", "connection")}
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/hooks/leakwatch", data=body,
                                         headers=kept, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
