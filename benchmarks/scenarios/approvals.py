"""6. Approvals: ``decide()`` throughput on PostgreSQL, and decision-to-event latency.

Pending confirmations are created in a fresh PostgreSQL database; deciders (threads,
each with its own connection) approve them concurrently. Each decision writes its
reply to the outbox in the decision's transaction and sends it on commit to a stand-in
for Inngest's event API on 127.0.0.1, which notes when each event arrives. Latency is
from the decision's ``decided_at`` to that arrival.

Runs only when ``django_inngest_realtime.confirmations`` exists; reports
"not available" otherwise. Run by the harness as
``python -m benchmarks.scenarios.approvals DECISIONS DECIDERS``.
"""

from __future__ import annotations

import datetime
import http.server
import importlib.util
import json
import os
import queue
import sys
import threading
import time
from typing import Any

import inngest

from benchmarks.context import Context
from benchmarks.runner import log, own_database, run_child
from benchmarks.stats import percentile

#: Arrival time of each event at the stand-in event API, by event id.
arrivals: dict[str, float] = {}
#: The Inngest client the confirmations send with (``INNGEST_CLIENT`` names it).
inngest_client: inngest.Inngest | None = None


def run(ctx: Context) -> dict[str, Any]:
    if importlib.util.find_spec("django_inngest_realtime.confirmations") is None:
        log("approvals: not available (django_inngest_realtime.confirmations does not exist)")
        return {"status": "not available"}
    p = ctx.params
    env = {
        "DJANGO_SETTINGS_MODULE": "benchmarks.server.settings",
        "BENCH_SERVER": "ours",
        "BENCH_LAYER": "memory",
        "BENCH_DB": "postgres",
        "BENCH_PREFIX": ctx.prefix,
        "BENCH_INNGEST_CLIENT": "benchmarks.scenarios.approvals.inngest_client",
    }
    reps = []
    try:
        for _ in range(p.repetitions):
            args = [str(p.approvals_decisions), str(p.approvals_deciders)]
            rep = run_child("benchmarks.scenarios.approvals", args, env, timeout=600)
            log(f"approvals: {rep}")
            reps.append(rep)
            if rep["events"] != rep["decisions"]:
                ctx.fail(f"approvals: {rep['decisions'] - rep['events']} reply events missing")
    except Exception as exc:
        ctx.fail(f"approvals crashed: {exc}")
        return {"status": "error", "error": str(exc), "reps": reps}
    from benchmarks.stats import summarize

    return {"status": "ok", "reps": reps, "summary": summarize(reps)}


class _EventAPI(http.server.BaseHTTPRequestHandler):
    """``POST /e/<key>``: note each event's arrival, answer as Inngest does."""

    def do_POST(self) -> None:
        now = time.time()
        events = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        for event in events:
            arrivals[event["id"]] = now
        body = json.dumps({"ids": [e["id"] for e in events], "status": 200}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _decide_all(tokens: list[Any], deciders: int, user: Any) -> float:
    from django.db import connection

    from django_inngest_realtime.confirmations import decide

    work: queue.SimpleQueue[Any] = queue.SimpleQueue()
    for token in tokens:
        work.put(token)
    errors: list[str] = []

    def decider() -> None:
        try:
            while True:
                try:
                    token = work.get_nowait()
                except queue.Empty:
                    return
                decide(token, approved=True, user=user)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=decider) for _ in range(deciders)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} deciders failed: {errors[:3]}")
    return elapsed


def _measure(decisions: int, deciders: int) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from benchmarks.server.channels import approvals
    from django_inngest_realtime.confirmations import outbox
    from django_inngest_realtime.models import Confirmation

    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x")
    channel = approvals(id="bench").name
    expires = timezone.now() + datetime.timedelta(hours=1)
    rows = Confirmation.objects.bulk_create(
        Confirmation(
            message=f"Approve {i}?",
            channel=channel,
            topic="state",
            event_name="bench/confirmation.decided",
            expires_at=expires,
        )
        for i in range(decisions)
    )
    elapsed = _decide_all([r.token for r in rows], deciders, user)
    deadline = time.monotonic() + 30
    while len(arrivals) < decisions and time.monotonic() < deadline:
        time.sleep(0.05)
    latencies = sorted(
        arrivals[outbox.reply_event_id(c.token)] - c.decided_at.timestamp()
        for c in Confirmation.objects.filter(status="approved")
        if outbox.reply_event_id(c.token) in arrivals
    )
    return {
        "decisions": decisions,
        "deciders": deciders,
        "events": len(latencies),
        "decisions_per_s": decisions / elapsed,
        "latency_p50_ms": percentile(latencies, 50) * 1000,
        "latency_p99_ms": percentile(latencies, 99) * 1000,
        "latency_max_ms": (latencies[-1] if latencies else float("nan")) * 1000,
    }


def main() -> None:
    """Run in the importable module, where ``INNGEST_CLIENT`` finds the client."""
    importlib.import_module("benchmarks.scenarios.approvals")._main()


def _main() -> None:
    global inngest_client
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EventAPI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    inngest_client = inngest.Inngest(
        app_id="bench",
        event_api_base_url=f"http://127.0.0.1:{server.server_address[1]}",
        event_key="bench",
        is_production=False,
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.server.settings")
    import django

    django.setup()
    try:
        with own_database():
            result = _measure(int(sys.argv[1]), int(sys.argv[2]))
    finally:
        server.shutdown()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
