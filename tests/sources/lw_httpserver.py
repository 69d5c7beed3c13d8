"""A real HTTP server on 127.0.0.1 (port 0) in a thread, serving canned replies per path, for the
sources' tests. Replies can be sequences (429 then 200), slow, truncated, redirects or conditional."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from lw_http import QuietHTTPServer

DATA = Path(__file__).resolve().parent.parent / "data" / "sources"


@dataclass
class Reply:
    body: bytes | str = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    truncate: bool = False
    """Declare the full length, send half, close: a body cut in transit."""
    etag: str | None = None
    """Answer 304 to a request that sends this ETag back."""
    drip: float = 0.0
    """Send the body one byte at a time, this many seconds apart (a slow-loris server)."""

    @property
    def data(self) -> bytes:
        return self.body.encode() if isinstance(self.body, str) else self.body


Handler = Callable[[str, dict[str, str]], Reply]


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class Server:
    def __init__(self) -> None:
        self.routes: dict[str, list[Reply] | Handler] = {}
        self.requests: list[Seen] = []
        self.lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = server._reply(self.path, headers)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.etag and headers.get("if-none-match") == reply.etag:
                    self.send_response(304)
                    self.send_header("ETag", reply.etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = reply.data
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if reply.etag:
                    self.send_header("ETag", reply.etag)
                self.send_header("Content-Length", str(len(data)))
                if reply.truncate:
                    self.send_header("Connection", "close")
                self.end_headers()
                try:
                    if reply.drip:
                        for i in range(len(data)):
                            self.wfile.write(data[i : i + 1])
                            self.wfile.flush()
                            time.sleep(reply.drip)
                    else:
                        self.wfile.write(data[: len(data) // 2] if reply.truncate else data)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if reply.truncate:
                    self.close_connection = True

        self.httpd = QuietHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, *replies: Reply | Handler) -> None:
        """Replies served in order, the last one repeated; or one handler called per request."""
        if len(replies) == 1 and callable(replies[0]):
            self.routes[path] = replies[0]
        else:
            self.routes[path] = list(replies)  # type: ignore[arg-type]

    def fixture(self, path: str, name: str, **kwargs: object) -> None:
        """Serve a file of tests/data/sources, ``{base}`` replaced by this server's address."""
        text = (DATA / name).read_text(encoding="utf-8").replace("{base}", self.base)
        self.route(path, Reply(text, **kwargs))  # type: ignore[arg-type]

    def hits(self, path: str) -> int:
        with self.lock:
            return sum(1 for r in self.requests if r.path == path)

    def _reply(self, path: str, headers: dict[str, str]) -> Reply:
        with self.lock:
            self.requests.append(Seen(path, headers))
            route = self.routes.get(path, self.routes.get(path.split("?", 1)[0]))
            if route is None:
                return Reply("not found", status=404)
            if callable(route):
                return route(path, headers)
            return route.pop(0) if len(route) > 1 else route[0]

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
