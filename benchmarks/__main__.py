"""``python -m benchmarks run [--quick] [--only fanout,steady,...]``: run, then write results."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import resource
import secrets
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

SCENARIOS = (
    "fanout",
    "steady",
    "sse",
    "send_path",
    "capacity",
    "publish_cost",
    "resume",
    "approvals",
    "soak",
    "function_latency",
    "scale",
    "processes",
    "sweep",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the scenarios and write benchmarks/results/latest.*")
    run.add_argument("--quick", action="store_true", help="a small smoke run (CI)")
    run.add_argument("--only", default="", help=f"comma-separated subset of {','.join(SCENARIOS)}")
    run.add_argument("--repetitions", type=int, help="override the repetitions")
    run.add_argument("--steady-rate", type=float, help="messages/s of the steady-rate scenario")
    run.add_argument("--out", help="results folder (default benchmarks/results)")
    draw = sub.add_parser("report", help="draw PNG plots of the results into docs/performance/")
    draw.add_argument("--results", help="results folder (default benchmarks/results)")
    args = parser.parse_args(argv)
    if args.command == "report":
        return _report(args.results)
    only = [s for s in args.only.split(",") if s] or list(SCENARIOS)
    unknown = set(only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    return _run(args, only)


def _report(folder: str | None) -> int:
    """Plots of ``latest.json``; ``latest.md`` is written again, naming them."""
    import json

    from benchmarks import plots, report

    folder = folder or report.RESULTS_DIR
    with open(os.path.join(folder, "latest.json")) as src:
        results = json.load(src)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    written = plots.draw(results)
    results["plots"] = [os.path.relpath(path, root) for path in written]
    report.write(results, folder)
    for path in results["plots"]:
        print(path)
    return 0


def _run(args: argparse.Namespace, only: list[str]) -> int:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # servers inherit it
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.server.settings")
    import django

    django.setup()

    from benchmarks import machine, report
    from benchmarks.context import Context
    from benchmarks.params import FULL, QUICK
    from benchmarks.runner import log
    from benchmarks.scenarios import (
        approvals,
        capacity,
        fanout,
        function_latency,
        processes,
        publish_cost,
        resume,
        scale,
        send_path,
        soak,
        sse,
        steady,
        sweep,
    )

    params = QUICK if args.quick else FULL
    if args.repetitions:
        params = dataclasses.replace(params, repetitions=args.repetitions)
    if args.steady_rate:
        params = dataclasses.replace(params, steady_rate=args.steady_rate)
    ctx = Context(params=params, prefix=f"bench{secrets.token_hex(4)}", quick=args.quick)
    runners: dict[str, Callable[[Context], dict[str, Any]]] = {
        "fanout": fanout.run,
        "steady": steady.run,
        "capacity": capacity.run,
        "publish_cost": publish_cost.run,
        "resume": resume.run,
        "approvals": approvals.run,
        "soak": soak.run,
        "sse": sse.run,
        "send_path": send_path.run,
        "function_latency": function_latency.run,
        "scale": scale.run,
        "processes": processes.run,
        "sweep": sweep.run,
    }
    started = time.time()
    results: dict[str, Any] = {
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine.describe(),
        "versions": machine.versions(),
        "parameters": params.as_dict(),
        "prefix": ctx.prefix,
        "scenarios": {},
    }
    log(f"benchmarks ({'quick' if args.quick else 'full'}), prefix {ctx.prefix}: {', '.join(only)}")
    try:
        for name in only:
            log(f"== {name}")
            try:
                results["scenarios"][name] = runners[name](ctx)
            except Exception as exc:
                ctx.fail(f"{name} crashed: {type(exc).__name__}: {exc}")
                log(traceback.format_exc())
    finally:
        _forget_redis_keys(ctx.prefix)
        results["duration_s"] = time.time() - started
        results["failures"] = ctx.failures
        paths = report.write(results, args.out or report.RESULTS_DIR)
        log(f"wrote {' and '.join(paths)} in {results['duration_s'] / 60:.1f} min")
    for failure in ctx.failures:
        log(f"FAILED: {failure}")
    return 1 if ctx.failures else 0


def _forget_redis_keys(prefix: str) -> None:
    """Delete what this run left in Redis (channel-layer and history keys carry its prefix)."""
    try:
        import redis

        client = redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_timeout=5)
        for _ in range(1000):  # bounded: a run leaves far fewer keys
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))[:1000]
            if not keys:
                break
            client.delete(*keys)
        client.close()
    except Exception as exc:
        print(f"could not clean up Redis keys {prefix}*: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
