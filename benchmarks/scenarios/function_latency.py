"""10. From a function to a browser: ``publish()`` in an Inngest function step to a frame.

The real path end to end. The benchmark servers (Daphne, ``ours``) mount an Inngest
function (``benchmarks.server.functions``) through the project's ``serve_inngest()``
endpoint; ``manage.py inngest_dev`` (the project's Inngest server double, as a dev server
in its own process) syncs it and runs it. Subscribers of the channel connect to every
server, over our WebSocket endpoint and over SSE, before anything is sent. Events are then
sent to inngest_dev's event API in a steady trickle (``function_rate`` per second, so the
figure is latency, not queueing); each starts one run whose one step stamps ``t`` (the
wall-clock time) and calls ``publish()``. Client and servers share one machine's clock.

Reported per transport: publish→frame p50 / p99 / max (from ``t`` to the frame's
arrival), event-send→frame p50 / p99 / max (from just before the event's POST to the
arrival: the whole Inngest round trip through the double and the serve endpoint), loss,
duplicates and failed runs, and the CPU the servers and inngest_dev spent per run. With
``function_browser_events``, a separate pass measures headless Chromium (Debian's
``/usr/bin/chromium`` through Playwright; skipped when either is missing) running the
app's own ``realtime.js``, which stamps each message on arrival in its callback. With
``function_plain_events``, a last pass on fresh servers with ``RUN_STATUS`` off shows what
recording each run's status adds. ``latest.json`` also keeps event-send→step (``to_step``:
the part of the round trip before ``publish()`` is called).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from typing import Any

import httpx
import psutil

import django_inngest_realtime
from benchmarks.clients import TICK, ClientSpec, Connections, Tally
from benchmarks.context import Context
from benchmarks.params import LAYERS, OURS, PROCESSES
from benchmarks.runner import log
from benchmarks.servers import ServerGroup, serving
from benchmarks.stats import percentile, summarize
from django_inngest_realtime.testing.daphne import free_port
from django_inngest_realtime.testing.inngest_server.devserver import environ

#: Subscribers measured side by side in one pass, and the separate browser pass.
TRANSPORTS = ("ws", "sse")
BROWSER = "chromium"
#: The clients of the pass with ``RUN_STATUS`` off, so its share of the round trip shows.
NO_STATUS = " (no run status)"
CHROMIUM = "/usr/bin/chromium"
REALTIME_JS = os.path.join(
    os.path.dirname(django_inngest_realtime.__file__),
    "static",
    "django_inngest_realtime",
    "realtime.js",
)


def run(ctx: Context) -> dict[str, Any]:
    """Each layer: the servers and inngest_dev up, a warm-up, then the repetitions."""
    from benchmarks.server.functions import EVENT

    p = ctx.params
    out: dict[str, Any] = {}
    for layer in LAYERS:
        reps: dict[str, list[dict[str, Any]]] = {}
        error = None
        try:
            with functions_served(ctx, layer) as (servers, dev):
                asyncio.run(_warm_up(ctx, dev, EVENT))
                for _ in range(p.repetitions):
                    passed = asyncio.run(_measure(ctx, servers, dev, EVENT, p.function_events))
                    add(reps, layer, passed)
                if p.function_browser_events and _browser_available():
                    rep = asyncio.run(_measure_browser(ctx, servers, dev, EVENT))
                    add(reps, layer, {BROWSER: rep})
            if p.function_plain_events:
                with functions_served(ctx, layer, run_status=False) as (servers, dev):
                    asyncio.run(_warm_up(ctx, dev, EVENT))
                    count = p.function_plain_events
                    passed = asyncio.run(_measure(ctx, servers, dev, EVENT, count))
                    add(reps, layer, {f"{k}{NO_STATUS}": v for k, v in passed.items()})
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            ctx.fail(f"function_latency/{layer} crashed: {error}")
            log(f"function_latency/{layer} CRASHED\n{traceback.format_exc()}")
        out[layer] = {}
        for system in (*TRANSPORTS, BROWSER, *(t + NO_STATUS for t in TRANSPORTS)):
            got = reps.get(system, [])
            if not got and (system not in TRANSPORTS or error is None):
                continue
            lost = sum(int(r["lost"]) + int(r["runs_failed"]) for r in got)
            if lost:
                ctx.fail(f"function_latency/{layer}/{system} lost {lost} messages or runs")
            out[layer][system] = {"reps": got, "summary": summarize(got), "error": error}
    return out


def add(reps: dict[str, list[dict[str, Any]]], layer: str, passed: dict[str, Any]) -> None:
    """Keep one pass's result per client, and log it."""
    for system, rep in passed.items():
        reps.setdefault(system, []).append(rep)
        log(f"function_latency/{layer}/{system}: {_brief(rep)}")


class DevServer:
    """``manage.py inngest_dev`` in a child process: its URL and its CPU time."""

    def __init__(self, url: str, process: subprocess.Popen[bytes]) -> None:
        self.url = url
        self.process = process
        self.ps = psutil.Process(process.pid)

    def cpu_seconds(self) -> float:
        times = self.ps.cpu_times()
        return float(times.user + times.system)


@contextlib.contextmanager
def functions_served(
    ctx: Context, layer: str, *, run_status: bool = True
) -> Iterator[tuple[ServerGroup, DevServer]]:
    """Our servers serving the function, and an inngest_dev that has synced it.

    The servers share a migrated SQLite file: ``realtime_middleware()`` records each run's
    status (``RUN_STATUS``, on by default) in the database, as it would in a project;
    ``run_status=False`` turns that off.
    """
    port = free_port()
    log_dir = os.environ.get("BENCH_LOG_DIR") or tempfile.mkdtemp(prefix="bench-logs-")
    with tempfile.TemporaryDirectory(prefix="bench-function-") as folder:
        env = {
            **environ(port),
            "BENCH_FUNCTIONS": "1",
            "BENCH_SQLITE": os.path.join(folder, "db.sqlite3"),
            "BENCH_LOG_DIR": log_dir,
            "BENCH_RUN_STATUS": "1" if run_status else "0",
        }
        _django(["migrate", "--skip-checks", "-v", "0"], env)
        with serving(OURS, layer, PROCESSES[layer], ctx.prefix, env=env) as servers:
            app_url = f"{servers.servers[0].url}/api/inngest"
            with inngest_dev(port, app_url, log_dir) as dev:
                yield servers, dev


def _django(args: list[str], env: dict[str, str]) -> None:
    """``python -m django ARGS`` with the benchmark servers' settings; raise if it fails."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "benchmarks.server.settings", **env}
    command = [sys.executable, "-m", "django", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")


@contextlib.contextmanager
def inngest_dev(
    port: int, app_url: str, log_dir: str, timeout: float = 60.0
) -> Iterator[DevServer]:
    """Start ``python -m django inngest_dev`` on ``port``; wait until it has synced ``app_url``."""
    from benchmarks.server.functions import FUNCTION_ID

    command = [sys.executable, "-m", "django", "inngest_dev", "--port", str(port), "-u", app_url]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.server.settings",
        "PYTHONUNBUFFERED": "1",
    }
    with open(os.path.join(log_dir, f"inngest-dev-{port}.log"), "ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"inngest_dev exited {process.returncode} (log in {log_dir})")
            with contextlib.suppress(httpx.HTTPError):
                functions = httpx.get(f"{url}/v1/functions", timeout=5).json()["data"]
                if any(f["id"].endswith(FUNCTION_ID) for f in functions):
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"inngest_dev did not sync {app_url} in {timeout:.0f} s")
            time.sleep(0.1)
        yield DevServer(url, process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


class Arrivals(Tally):
    """What each connection received: arrival time and publish time ``t``, by index."""

    def __init__(self, connections: int, expected: int) -> None:
        super().__init__(connections, expected)
        self.frames: list[dict[int, tuple[float, float]]] = [{} for _ in range(connections)]

    def feed(self, index: int, payload: bytes) -> None:
        now = time.time()
        frames = self.frames[index]
        for match in TICK.finditer(payload):
            i = int(match[1])
            if i >= self.expected:
                continue
            if i in frames:
                self.duplicates += 1
                continue
            frames[i] = (now, float(match[2]))
            self.counts[index] += 1
            if self.counts[index] == self.expected:
                self.complete += 1
                if self.complete == len(self.counts):
                    self.done.set()


async def _send_events(
    dev: DevServer, event: str, channel: str, count: int, rate: float
) -> dict[int, float]:
    """POST ``count`` events to inngest_dev's event API, ``rate`` per second; when each went."""
    sent: dict[int, float] = {}
    channel_id = channel.removeprefix("bench:")
    async with httpx.AsyncClient(base_url=dev.url, timeout=30) as http:
        started = time.monotonic()
        for i in range(count):
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent[i] = time.time()
            body = {"name": event, "data": {"channel": channel_id, "i": i}}
            (await http.post("/e/bench", json=body)).raise_for_status()
    return sent


async def _runs(dev: DevServer) -> list[dict[str, Any]]:
    """Every run inngest_dev knows of, with its status."""
    async with httpx.AsyncClient(base_url=dev.url, timeout=30) as http:
        runs: list[dict[str, Any]] = (await http.get("/v1/runs")).json()["data"]
    return runs


async def _failed(dev: DevServer) -> list[str]:
    """Why each failed run failed."""
    runs = await _runs(dev)
    return [f"{(r['error'] or {}).get('message')}" for r in runs if r["status"] == "Failed"]


async def _wait(done: list[asyncio.Event], progress: Any, idle: float, deadline: float) -> None:
    """Until every ``done`` is set, or ``progress()`` stalls ``idle`` s, or ``deadline``."""
    last, at = -1, time.monotonic()
    while not all(d.is_set() for d in done) and time.monotonic() < deadline:
        now = progress()
        if now != last:
            last, at = now, time.monotonic()
        elif time.monotonic() - at > idle:
            return
        await asyncio.sleep(0.05)


async def _warm_up(ctx: Context, dev: DevServer, event: str) -> None:
    """A few runs on a channel nobody hears: the SDK's view is built, imports are done."""
    before = len(await _runs(dev))
    await _send_events(dev, event, ctx.channel("function-warm"), 5, 20.0)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if sum(r["status"] != "Running" for r in await _runs(dev)) >= before + 5:
            failed = await _failed(dev)
            if failed:
                raise RuntimeError(f"{len(failed)} warm-up runs failed: {failed[0]}")
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the warm-up runs did not finish in 60 s")


async def _measure(
    ctx: Context, servers: ServerGroup, dev: DevServer, event: str, count: int
) -> dict[str, dict[str, Any]]:
    """One pass: WebSocket and SSE subscribers on every server, then ``count`` events."""
    p = ctx.params
    rate = p.function_rate
    channel = ctx.channel("function")
    token = ctx.token(channel)
    n = len(servers.servers)
    tallies: dict[str, Arrivals] = {}
    opened: list[Connections] = []
    try:
        for transport in TRANSPORTS:
            urls = [servers.subscriber_url(k, channel, token, transport) for k in range(n)]
            tallies[transport] = tally = Arrivals(n, count)
            connections = Connections(ClientSpec(transport, urls, count), tally)
            opened.append(connections)
            if await connections.open_all() != n:
                raise RuntimeError(
                    f"{transport} subscribers could not connect: {connections.errors}"
                )
        failed0 = len(await _failed(dev))
        cpu0, dev_cpu0 = servers.cpu_seconds(), dev.cpu_seconds()
        started = time.monotonic()
        sent = await _send_events(dev, event, channel, count, rate)
        sending = time.monotonic() - started
        await _wait(
            [t.done for t in tallies.values()],
            lambda: sum(sum(t.counts) for t in tallies.values()),
            p.idle_timeout,
            time.monotonic() + count / rate * 5 + 60,
        )
        cpu, dev_cpu = servers.cpu_seconds() - cpu0, dev.cpu_seconds() - dev_cpu0
        failures = (await _failed(dev))[failed0:]
        lost_connections = [reason for c in opened for reason in c.lost()]
    finally:
        for connections in opened:
            await connections.close_all()
    shared = {
        "events_per_s": count / sending if sending else 0.0,
        "runs_failed": len(failures),
        "server_cpu_ms_per_run": cpu / count * 1000,
        "inngest_dev_cpu_ms_per_run": dev_cpu / count * 1000,
    }
    out: dict[str, dict[str, Any]] = {}
    for transport, tally in tallies.items():
        frames = [f for per_connection in tally.frames for f in per_connection.items()]
        out[transport] = {
            **_latencies(frames, sent, n * count, tally.duplicates),
            **shared,
            "errors": (lost_connections + failures)[:5],
        }
    return out


def _latencies(
    frames: list[tuple[int, tuple[float, float]]],
    sent: dict[int, float],
    expected: int,
    duplicates: int,
) -> dict[str, Any]:
    """publish→frame and event-send→frame percentiles of ``(i, (arrival, t))`` frames."""
    publish = sorted(arrival - t for _, (arrival, t) in frames)
    trip = sorted(arrival - sent[i] for i, (arrival, _) in frames if i in sent)
    # The part of the round trip before the step's publish() call: the event API, the
    # double starting the run, the request to the serve endpoint, the SDK, the run status.
    to_step = sorted(t - sent[i] for i, (_, t) in frames if i in sent)
    nan = float("nan")
    return {
        "expected": expected,
        "delivered": len(frames),
        "lost": expected - len(frames),
        "duplicates": duplicates,
        "latency_p50_ms": percentile(publish, 50) * 1000,
        "latency_p99_ms": percentile(publish, 99) * 1000,
        "latency_max_ms": (publish[-1] if publish else nan) * 1000,
        "round_trip_p50_ms": percentile(trip, 50) * 1000,
        "round_trip_p99_ms": percentile(trip, 99) * 1000,
        "round_trip_max_ms": (trip[-1] if trip else nan) * 1000,
        "to_step_p50_ms": percentile(to_step, 50) * 1000,
        "to_step_p99_ms": percentile(to_step, 99) * 1000,
    }


def _browser_available() -> bool:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        log("function_latency: no browser pass (playwright is not installed)")
        return False
    if not shutil.which(CHROMIUM):
        log(f"function_latency: no browser pass ({CHROMIUM} does not exist)")
        return False
    return True


#: In the page: subscribe with realtime.js, stamp each message on arrival (ms, sub-ms).
_SUBSCRIBE = """token => new Promise((resolve, reject) => {
  window.benchArrivals = [];
  setTimeout(() => reject(new Error("realtime.js never went live")), 30000);
  DjangoInngestRealtime.subscribe(token, message => {
    const now = performance.timeOrigin + performance.now();
    const data = message.data || {};
    if (typeof data.i === "number") window.benchArrivals.push([data.i, data.t, now / 1000]);
  }, {onStatus: state => { if (state === "live") resolve(); }});
})"""


async def _measure_browser(
    ctx: Context, servers: ServerGroup, dev: DevServer, event: str
) -> dict[str, Any]:
    """Headless Chromium on the first server's page, subscribed through ``realtime.js``."""
    from playwright.async_api import async_playwright

    p = ctx.params
    count, rate = p.function_browser_events, p.function_rate
    channel = ctx.channel("function-browser")
    server = servers.servers[0]
    token = {"channel": channel, "topics": ["tick"], "key": ctx.token(channel)}
    token["apiBaseUrl"] = server.url + "/"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await page.goto(f"{server.url}/bench/state")  # any page of the server: its origin
            await page.add_script_tag(path=REALTIME_JS)
            await page.evaluate(_SUBSCRIBE, token)
            failed0 = len(await _failed(dev))
            cpu0, dev_cpu0 = servers.cpu_seconds(), dev.cpu_seconds()
            started = time.monotonic()
            sent = await _send_events(dev, event, channel, count, rate)
            sending = time.monotonic() - started
            received: list[Any] = []
            deadline, at = time.monotonic() + count / rate * 5 + 60, time.monotonic()
            while len(received) < count and time.monotonic() < deadline:
                got = await page.evaluate("window.benchArrivals")
                if len(got) != len(received):
                    at = time.monotonic()
                elif time.monotonic() - at > p.idle_timeout:
                    break
                received = got
                await asyncio.sleep(0.1)
            cpu, dev_cpu = servers.cpu_seconds() - cpu0, dev.cpu_seconds() - dev_cpu0
            failures = (await _failed(dev))[failed0:]
        finally:
            await browser.close()
    frames: dict[int, tuple[float, float]] = {}
    duplicates = 0
    for i, t, arrival in received:
        if int(i) in frames:
            duplicates += 1
        elif int(i) < count:
            frames[int(i)] = (float(arrival), float(t))
    return {
        **_latencies(list(frames.items()), sent, count, duplicates),
        "events_per_s": count / sending if sending else 0.0,
        "runs_failed": len(failures),
        "server_cpu_ms_per_run": cpu / count * 1000,
        "inngest_dev_cpu_ms_per_run": dev_cpu / count * 1000,
        "errors": failures[:5],
    }


def _brief(rep: dict[str, Any]) -> str:
    keys = ["delivered", "lost", "latency_p50_ms", "latency_p99_ms", "round_trip_p50_ms"]
    keys += ["round_trip_p99_ms", "runs_failed", "events_per_s"]
    return ", ".join(f"{k}={rep[k]:.4g}" for k in keys)
