"""12. Across processes: one, two and four Daphne processes on the ``redis`` broker.

The same ``processes_subscribers`` subscribers of one channel, spread evenly over the
processes, and a steady publish rate from inside the first process, on a Redis of the
scenario's own (a ``redis-server`` on a free port, so its CPU is this scenario's alone;
the shared one, with that said, when ``redis-server`` is not installed). Reports, per
process count: server CPU per delivery summed over the processes; each process's CPU per
publish (the first also runs the publisher); Redis's CPU per publish (``INFO cpu``, user
+ system: the script, ``PUBLISH`` to every process's pub/sub connection, the socket
writes) and the script's own time (``INFO commandstats``); latency p50 / p99 and loss.
CPU per publish is net of idle: what Redis and each process spend in
:data:`IDLE_SECONDS` with every subscriber connected and nothing published, scaled to
the time of the messages, is taken off. Then :mod:`benchmarks.model` fitted on every
count but the smallest, its predictions beside every measured count.

Two cores here: past two server processes (with Redis and the clients beside them) the
processes take turns on the cores, so what four show is contention, not scaling.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from typing import Any

import redis

from benchmarks import model
from benchmarks.context import Context
from benchmarks.delivery import Meter, measure
from benchmarks.params import OURS
from benchmarks.runner import compare, log
from benchmarks.scenarios.fanout import warm_up
from benchmarks.servers import ServerGroup
from django_inngest_realtime.testing.redis import RedisProcess

SHARED_REDIS = "redis://127.0.0.1:6379/0"
#: Seconds with every subscriber connected and nothing published, before the messages.
IDLE_SECONDS = 2.0
CONTENTION = (
    "2 cores: past 2 server processes (with Redis and the clients) they share the cores; "
    "this measures contention, not scaling"
)


@contextlib.contextmanager
def _redis() -> Iterator[tuple[str, bool]]:
    """A private Redis's URL (and ``True``), or the shared one's when there is none."""
    if not shutil.which("redis-server"):
        yield SHARED_REDIS, False
        return
    server = RedisProcess().start()
    try:
        yield server.url, True
    finally:
        server.stop()


def _meter(client: Any, servers: ServerGroup) -> Meter:
    """Redis's CPU and its script's time, each server process's CPU, and the clock."""

    def read() -> dict[str, float]:
        cpu = client.info("cpu")
        script = client.info("commandstats").get("cmdstat_evalsha", {})
        times = [proc.cpu_times() for proc in servers.processes]
        return {
            "clock_s": time.monotonic(),
            "redis_cpu_s": cpu["used_cpu_user"] + cpu["used_cpu_sys"],
            "redis_script_s": script.get("usec", 0) / 1e6,
            **{f"cpu_s_{i}": t.user + t.system for i, t in enumerate(times)},
        }

    return read


def run(ctx: Context) -> dict[str, Any]:
    p = ctx.params
    publishes = round(p.processes_rate * p.processes_seconds)
    out: dict[str, Any] = {"counts": {}, "contention": CONTENTION}
    with _redis() as (url, private):
        out["redis"] = "private" if private else "shared (its CPU includes other clients')"
        client = redis.Redis.from_url(url, socket_timeout=10)

        def one(servers: ServerGroup) -> dict[str, Any]:
            result = measure(
                ctx,
                servers,
                subscribers=p.processes_subscribers,
                messages=publishes,
                rate=p.processes_rate,
                deadline=p.processes_seconds * 10 + 60,
                meters=(_meter(client, servers),),
                idle_seconds=IDLE_SECONDS,
            )
            n = len(servers.processes)
            busy, idle = result.pop("clock_s"), result.pop("idle_clock_s")

            def net(key: str) -> float:
                """CPU seconds under load, less what the same time idle costs."""
                return result.pop(key) - result.pop(f"idle_{key}") / idle * busy

            redis_idle = result["idle_redis_cpu_s"] / idle
            result.update(
                processes=n,
                subscribers_per_process=p.processes_subscribers / n,
                redis_cpu_us_per_publish=net("redis_cpu_s") / publishes * 1e6,
                redis_idle_cpu_ms_per_s=redis_idle * 1000,
                redis_script_us_per_publish=result.pop("redis_script_s") / publishes * 1e6,
                server_cpu_us_per_publish=result["server_cpu_s"] / publishes * 1e6,
            )
            result.pop("idle_redis_script_s")
            idle_cpu = [result[f"idle_cpu_s_{i}"] / idle for i in range(n)]
            result["server_idle_cpu_ms_per_s"] = sum(idle_cpu) * 1000
            for i in range(n):
                result[f"{model.PROCESS_CPU}{i}"] = net(f"cpu_s_{i}") / publishes * 1e6
            return result

        try:
            for n in p.processes_counts:
                by_layer = compare(
                    ctx,
                    f"processes/{n}",
                    (OURS,),
                    one,
                    processes={"redis": n},
                    warm_up=lambda servers: warm_up(ctx, servers),
                    layers=("redis",),
                    env={"BENCH_REDIS_URL": url},
                )
                out["counts"][str(n)] = by_layer["redis"][OURS]
        finally:
            client.close()
    summaries = {int(n): r["summary"] for n, r in out["counts"].items() if r["summary"]}
    out["model"] = model.fit(summaries, p.processes_subscribers)
    for check in out["model"].get("checks", []):
        log(
            f"processes/model: {check['processes']} process(es): server "
            f"{check['server_predicted_us']:.0f} µs/publish predicted, "
            f"{check['server_measured_us']:.0f} measured; Redis "
            f"{check['redis_predicted_us']:.1f} predicted, "
            f"{check['redis_measured_us']:.1f} measured"
        )
    return out
