"""Benchmark parameters: the full run and the ``--quick`` smoke run."""

from __future__ import annotations

import dataclasses

#: Systems compared: our transport, the two baselines, and the server's own floor (a no-op
#: ASGI application).
OURS, BARE, EVENTSTREAM, FLOOR = "ours", "bare", "eventstream", "floor"
LAYERS = ("memory", "redis")
#: Daphne processes per layer: the in-memory layer is one process by nature.
PROCESSES = {"memory": 1, "redis": 2}


@dataclasses.dataclass(frozen=True)
class Params:
    repetitions: int
    client_processes: int
    # 1. Fan-out burst
    fanout_subscribers: int
    fanout_messages: dict[str, int]
    # 2. Steady rate
    steady_subscribers: int
    steady_rate: float
    steady_seconds: float
    # 3. Capacity
    capacity_connections: int
    capacity_concurrency: int
    # 4. Publish cost
    publish_calls: int
    publish_blocks: int
    # Seconds without progress after which a delivery round stops waiting (and counts loss)
    idle_timeout: float
    # 5. Resume
    resume_missed: int
    # 6. Approvals
    approvals_decisions: int
    approvals_deciders: int
    # 7. Soak
    soak_cycles: int
    soak_concurrency: int
    soak_subscribers: int
    soak_messages: int
    # 8. SSE
    sse_subscribers: int
    sse_rate: float
    sse_seconds: float
    # 10. Function to client: events (one run each) at a steady rate; the browser pass and
    # the pass with run status off
    function_events: int
    function_rate: float
    function_browser_events: int
    function_plain_events: int
    # 11. Scale in one process: idle subscriptions, then publishes one second apart
    scale_subscriptions: int
    scale_publishes: int
    # 12. Across processes (redis broker): Daphne process counts, subscribers in all
    processes_counts: tuple[int, ...]
    processes_subscribers: int
    processes_rate: float
    processes_seconds: float
    # 13. Sweep: delivery against subscribers, memory against connections
    sweep_subscribers: tuple[int, ...]
    sweep_deliveries: float  # per second at every count: messages/s = this / subscribers
    sweep_seconds: float
    sweep_bare_deliveries: float  # the bare consumer's, capped to this many per second
    sweep_connections: tuple[int, ...]

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


FULL = Params(
    # Two: with the thirteen scenarios, three repetitions took the full run well past its
    # 40-minute budget on 2 cores. Cells are medians (of two: their mean) with min-max.
    repetitions=2,
    client_processes=2,
    fanout_subscribers=1000,
    # The brief's burst: 2,000 messages to 1,000 subscribers (2 M deliveries), for us and
    # django-eventstream. The bare consumer (~2,500 deliveries/s here) would need about
    # 15 minutes per repetition, so it gets 40 messages. Deliveries/s and CPU per delivery
    # are rates; latency is compared between equal bursts only.
    fanout_messages={OURS: 2000, BARE: 40, EVENTSTREAM: 2000},
    steady_subscribers=100,
    steady_rate=500.0,  # the brief: 50,000 deliveries/s
    steady_seconds=20.0,
    capacity_connections=5000,
    capacity_concurrency=50,
    publish_calls=2000,
    publish_blocks=5,
    idle_timeout=8.0,
    resume_missed=1000,
    approvals_decisions=400,
    approvals_deciders=8,
    soak_cycles=5000,
    soak_concurrency=50,
    soak_subscribers=20,
    soak_messages=400,
    sse_subscribers=100,
    sse_rate=10.0,
    sse_seconds=15.0,
    function_events=300,
    function_rate=10.0,
    function_browser_events=100,
    function_plain_events=100,
    scale_subscriptions=10_000,
    scale_publishes=3,
    processes_counts=(1, 2, 4),
    processes_subscribers=1000,
    processes_rate=20.0,  # 20,000 deliveries/s: 50,000 starved the publisher on a loaded machine
    processes_seconds=10.0,
    # About 6 minutes in all. 5,000 connections are the capacity scenario's; the sweep
    # stops at 2,000 (five systems up to 5,000 took another 3 minutes).
    sweep_subscribers=(10, 100, 1000),
    sweep_deliveries=10000.0,
    sweep_seconds=3.0,
    sweep_bare_deliveries=1000.0,
    sweep_connections=(250, 500, 1000, 2000),
)

QUICK = Params(
    repetitions=1,
    client_processes=2,
    fanout_subscribers=100,
    fanout_messages={OURS: 100, BARE: 30, EVENTSTREAM: 100},
    steady_subscribers=20,
    steady_rate=50.0,
    steady_seconds=2.0,
    capacity_connections=200,
    capacity_concurrency=50,
    publish_calls=300,
    publish_blocks=2,
    idle_timeout=4.0,
    resume_missed=200,
    approvals_decisions=40,
    approvals_deciders=4,
    soak_cycles=250,
    soak_concurrency=25,
    soak_subscribers=5,
    soak_messages=40,
    sse_subscribers=20,
    sse_rate=10.0,
    sse_seconds=2.0,
    function_events=20,
    function_rate=10.0,
    function_browser_events=10,
    function_plain_events=0,  # its own servers: too slow to start for the smoke run
    scale_subscriptions=500,
    scale_publishes=2,
    processes_counts=(1, 2, 4),
    processes_subscribers=100,
    processes_rate=50.0,
    processes_seconds=2.0,
    sweep_subscribers=(10, 50),
    sweep_deliveries=2000.0,
    sweep_seconds=1.0,
    sweep_bare_deliveries=1000.0,
    sweep_connections=(100,),
)
