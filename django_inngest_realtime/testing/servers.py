"""ASGI servers other than Daphne, run as child processes like ``DaphneServer``."""

from __future__ import annotations

import sys

from django_inngest_realtime.testing.daphne import DaphneServer


class UvicornServer(DaphneServer):
    """``tests.asgi:application`` (or another app) under uvicorn, which implements the ASGI
    ``websocket.http.response`` extension that Daphne lacks."""

    server_name = "uvicorn"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--lifespan",
            "off",
            "--log-level",
            "warning",
            self.application,
        ]


class HypercornServer(DaphneServer):
    """Under Hypercorn, which implements ``websocket.http.response`` too."""

    server_name = "Hypercorn"

    def command(self) -> list[str]:
        bind = ["--bind", f"127.0.0.1:{self.port}", "--log-level", "warning"]
        return [sys.executable, "-m", "hypercorn", *bind, self.application]
