"""Run a project under Daphne in a child process, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from types import TracebackType


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DaphneServer:
    """``with DaphneServer("myproject.asgi:application") as server: server.url``.

    The child inherits the environment (plus ``env``), so it uses the same settings
    module and services as the test; its output goes to ``log_path`` when given.
    Another ASGI server is a subclass with its own :meth:`command` and ``server_name``.
    """

    #: The server's name in error messages.
    server_name = "Daphne"

    def __init__(
        self,
        application: str,
        *,
        port: int | None = None,
        env: dict[str, str] | None = None,
        log_path: str | None = None,
        startup_timeout: float = 30.0,
        args: list[str] | None = None,
    ) -> None:
        self.application = application
        self.port = port or free_port()
        self.env = {**os.environ, **(env or {})}
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        #: More command-line options for Daphne (``["--websocket_timeout", "60"]``...).
        self.args = list(args or [])
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """The child process's command line (a subclass may run another ASGI server)."""
        return [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(self.port),
            *self.args,
            self.application,
        ]

    def start(self) -> DaphneServer:
        """Start the server and wait until it accepts connections."""
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            self.command(),
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.server_name} exited with code {self.process.returncode} while starting "
                    f"{self.application} (log: {self.log_path or 'not kept'})."
                )
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"{self.server_name} did not listen on port {self.port} within "
            f"{self.startup_timeout} s."
        )

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), then kill if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def kill(self) -> None:
        """Kill at once, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def restart(self) -> DaphneServer:
        """Stop, then start again on the same port."""
        self.stop()
        return self.start()

    def __enter__(self) -> DaphneServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
