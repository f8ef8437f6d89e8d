"""Running a scenario for each layer and system: servers up, repetitions, summaries, errors."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from benchmarks.context import Context
from benchmarks.params import LAYERS, OURS, PROCESSES
from benchmarks.servers import ServerGroup, serving
from benchmarks.stats import summarize

Measure = Callable[[ServerGroup], dict[str, Any]]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def compare(
    ctx: Context,
    scenario: str,
    systems: Sequence[str],
    measure: Measure,
    *,
    processes: dict[str, int] = PROCESSES,
    fresh_servers: bool = False,
    warm_up: Measure | None = None,
    layers: Sequence[str] = LAYERS,
    server: str = "daphne",
    env: dict[str, str] | None = None,
    repetitions: int | None = None,
) -> dict[str, Any]:
    """``measure`` each system on each layer ``repetitions`` times; loss by us is a failure.

    ``fresh_servers`` starts new servers for every repetition (for memory measurements);
    ``warm_up`` runs once on new servers before anything is measured; ``server`` names
    the ASGI server (``servers.SERVERS``); ``env`` is more environment for the servers;
    ``repetitions`` overrides the run's.
    """
    repetitions = repetitions or ctx.params.repetitions
    out: dict[str, Any] = {}
    for layer in layers:
        out[layer] = {}
        for system in systems:
            label = f"{scenario}/{layer}/{system}"
            if server != "daphne":
                label = f"{scenario}/{server}/{layer}/{system}"
            reps: list[dict[str, Any]] = []
            error = None
            try:
                rounds = repetitions if fresh_servers else 1
                per_round = 1 if fresh_servers else repetitions
                for _ in range(rounds):
                    n = processes[layer]
                    with serving(system, layer, n, ctx.prefix, server, env) as servers:
                        if warm_up is not None:
                            warm_up(servers)
                        for _ in range(per_round):
                            rep = measure(servers)
                            reps.append(rep)
                            log(f"{label}: {_brief(rep)}")
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                ctx.fail(f"{label} crashed: {error}")
                log(f"{label} CRASHED\n{traceback.format_exc()}")
            lost = sum(int(r.get("lost", 0)) for r in reps)
            if system == OURS and lost:
                ctx.fail(f"{label} lost {lost} messages")
            out[layer][system] = {"reps": reps, "summary": summarize(reps), "error": error}
    return out


def _brief(rep: dict[str, Any]) -> str:
    keys = [k for k, v in rep.items() if isinstance(v, int | float) and not isinstance(v, bool)]
    return ", ".join(f"{k}={rep[k]:.4g}" for k in keys[:9])


def run_child(module: str, args: Sequence[str], env: dict[str, str], timeout: float) -> Any:
    """Run ``python -m module args`` and return the JSON it prints last."""
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{module} exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def own_database() -> Iterator[None]:
    """In a scenario's child process: a database of its own (the settings' PostgreSQL, a
    test database), created now and dropped after, with what the broker holds open on it."""
    from django.db import connection

    from django_inngest_realtime.brokers import reset_broker

    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        yield
    finally:
        reset_broker()  # the broker's database thread and its connection
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)
