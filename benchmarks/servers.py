"""Benchmark servers: Daphne child processes, their CPU time and resident memory."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

import psutil

from django_inngest_realtime.testing.daphne import DaphneServer

#: URL path subscribers connect to, per server kind (``{channel}`` / ``{token}`` filled in).
WS_PATHS = {
    "ours": "/v1/realtime/connect?token={token}",
    "bare": "/bare/connect?channel={channel}",
}
SSE_PATH = "/events/?channel={channel}"


class ServerGroup:
    """``n`` Daphne processes serving one server kind on one channel layer."""

    def __init__(self, kind: str, layer: str, n: int, prefix: str, log_dir: str) -> None:
        self.kind, self.layer = kind, layer
        env = {
            "DJANGO_SETTINGS_MODULE": "benchmarks.server.settings",
            "BENCH_SERVER": kind,
            "BENCH_LAYER": layer,
            "BENCH_PREFIX": prefix,
            "PYTHONUNBUFFERED": "1",
        }
        self.servers = [
            DaphneServer(
                "benchmarks.server.asgi:application",
                env=env,
                log_path=os.path.join(log_dir, f"daphne-{kind}-{layer}-{i}.log"),
            )
            for i in range(n)
        ]
        self.processes: list[psutil.Process] = []

    def start(self) -> ServerGroup:
        for server in self.servers:
            server.start()
            assert server.process is not None
            self.processes.append(psutil.Process(server.process.pid))
        return self

    def stop(self) -> None:
        for server in self.servers:
            try:
                server.stop()
            except Exception:
                server.kill()

    @property
    def publish_url(self) -> str:
        return f"{self.servers[0].url}/bench/publish"

    def subscriber_url(self, index: int, channel: str, token: str = "") -> str:
        """Where subscriber ``index`` connects: the servers take turns."""
        server = self.servers[index % len(self.servers)]
        if self.kind == "eventstream":
            return server.url + SSE_PATH.format(channel=channel)
        return server.ws_url + WS_PATHS[self.kind].format(channel=channel, token=token)

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the server processes."""
        total = 0.0
        for proc in self.processes:
            times = proc.cpu_times()
            total += times.user + times.system
        return total

    def rss_bytes(self) -> list[int]:
        return [proc.memory_info().rss for proc in self.processes]


@contextlib.contextmanager
def serving(kind: str, layer: str, n: int, prefix: str) -> Iterator[ServerGroup]:
    """Start the servers; stop them on the way out, whatever happened."""
    log_dir = os.environ.get("BENCH_LOG_DIR") or tempfile.mkdtemp(prefix="bench-logs-")
    group = ServerGroup(kind, layer, n, prefix, log_dir)
    try:
        yield group.start()
    finally:
        group.stop()
