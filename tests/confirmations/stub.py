"""A stand-in for Inngest's Event API: a real HTTP server that records events.

``down()`` closes the listening socket (connections are refused, as when Inngest is
unreachable); ``up()`` listens again on the same port.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class EventStub:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        #: When set, every request is answered with this status and nothing is recorded.
        self.failing_status: int | None = None
        self.port = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        if self._server is not None:
            return
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if stub.failing_status is not None:
                    self.send_response(stub.failing_status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                with stub._lock:
                    stub.events.extend(body)
                reply = json.dumps({"ids": [e.get("id", "") for e in body], "status": 200})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply.encode())

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def down(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        assert self._thread is not None
        self._thread.join()
        self._server = self._thread = None

    def reset(self) -> None:
        with self._lock:
            self.events.clear()

    def received(self, event_id: str | None = None) -> list[dict[str, Any]]:
        """Events received so far (with this id, when given)."""
        with self._lock:
            return [e for e in self.events if event_id is None or e.get("id") == event_id]
