"""The test HTTP servers' base: a client that hangs up mid-reply (a size limit reached, a timeout,
a cancelled poll) is what the tests provoke, not an error to print into the run."""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer
from typing import Any


class QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):  # reset, broken pipe, aborted: expected
            return
        super().handle_error(request, client_address)
