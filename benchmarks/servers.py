"""Benchmark servers: Daphne child processes, their CPU time and resident memory."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

import psutil

from django_inngest_realtime.testing.daphne import DaphneServer
from django_inngest_realtime.testing.servers import HypercornServer, UvicornServer

#: ASGI servers a scenario may run the systems under; ``daphne-asgi`` is Daphne with
#: direct writes off, so every frame takes the ASGI send path.
SERVERS: dict[str, type[DaphneServer]] = {
    "daphne": DaphneServer,
    "daphne-asgi": DaphneServer,
    "uvicorn": UvicornServer,
    "hypercorn": HypercornServer,
}

#: URL path subscribers connect to, per server kind (``{channel}`` / ``{token}`` filled in).
WS_PATHS = {
    "ours": "/v1/realtime/connect?token={token}",
    "bare": "/bare/connect?channel={channel}",
    "floor": "/floor/ws?channel={channel}",
}
#: URL path of the SSE subscribers, per server kind.
SSE_PATHS = {
    "ours": "/v1/realtime/sse?token={token}",
    "eventstream": "/events/?channel={channel}",
    "floor": "/floor/sse",
}


class ServerGroup:
    """``n`` server processes (Daphne by default) serving one server kind on one channel
    layer."""

    def __init__(
        self,
        kind: str,
        layer: str,
        n: int,
        prefix: str,
        log_dir: str,
        server: str = "daphne",
        env: dict[str, str] | None = None,
    ) -> None:
        #: ``ours-sse``, ``floor-sse``: the server kind, its subscribers over SSE.
        self.system = kind
        kind, _, self.variant = kind.partition("-")
        self.kind, self.layer, self.server = kind, layer, server
        extra, env = (
            env,
            {
                "DJANGO_SETTINGS_MODULE": "benchmarks.server.settings",
                "BENCH_SERVER": kind,
                "BENCH_LAYER": layer,
                "BENCH_PREFIX": prefix,
                "PYTHONUNBUFFERED": "1",
            },
        )
        if server == "daphne-asgi":
            env["BENCH_DIRECT_WRITES"] = "0"
        env.update(extra or {})
        self.servers = [
            SERVERS[server](
                "benchmarks.server.asgi:application",
                env=env,
                log_path=os.path.join(log_dir, f"{server}-{kind}-{layer}-{i}.log"),
            )
            for i in range(n)
        ]
        self.processes: list[psutil.Process] = []
        self.workers: list[psutil.Process] = []

    def start(self) -> ServerGroup:
        for server in self.servers:
            server.start()
            assert server.process is not None
            parent = psutil.Process(server.process.pid)
            self.processes.append(parent)
            # Hypercorn serves from a worker process it starts: its CPU counts too.
            self.workers += parent.children(recursive=True)
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

    def transport(self) -> str:
        """How this kind's subscribers connect by default: django-eventstream has SSE only."""
        return "sse" if self.kind == "eventstream" or self.variant == "sse" else "ws"

    def subscriber_url(
        self, index: int, channel: str, token: str = "", transport: str | None = None
    ) -> str:
        """Where subscriber ``index`` connects (``ws`` or ``sse``): the servers take turns."""
        server = self.servers[index % len(self.servers)]
        if (transport or self.transport()) == "sse":
            return server.url + SSE_PATHS[self.kind].format(channel=channel, token=token)
        return server.ws_url + WS_PATHS[self.kind].format(channel=channel, token=token)

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the server processes."""
        total = 0.0
        for proc in self.processes + self.workers:
            times = proc.cpu_times()
            total += times.user + times.system
        return total

    def rss_bytes(self) -> list[int]:
        return [proc.memory_info().rss for proc in self.processes]


@contextlib.contextmanager
def serving(
    kind: str,
    layer: str,
    n: int,
    prefix: str,
    server: str = "daphne",
    env: dict[str, str] | None = None,
) -> Iterator[ServerGroup]:
    """Start the servers; stop them on the way out, whatever happened."""
    log_dir = os.environ.get("BENCH_LOG_DIR") or tempfile.mkdtemp(prefix="bench-logs-")
    group = ServerGroup(kind, layer, n, prefix, log_dir, server, env)
    try:
        yield group.start()
    finally:
        group.stop()
