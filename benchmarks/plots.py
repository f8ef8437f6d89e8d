"""``python -m benchmarks report``: PNG plots of ``latest.json`` into ``docs/performance/``."""

from __future__ import annotations

import math
import os
from typing import Any

from benchmarks.params import BARE, EVENTSTREAM, OURS

PLOTS_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "docs", "performance")
LABELS = {OURS: "ours", BARE: "bare Channels consumer", EVENTSTREAM: "django-eventstream"}
COLORS = {OURS: "tab:green", BARE: "tab:red", EVENTSTREAM: "tab:blue"}


def _median(results: dict[str, Any], scenario: str, place: str, system: str, key: str) -> float:
    try:
        summary = results["scenarios"][scenario][place][system]["summary"]
        return float(summary[key]["median"])
    except (KeyError, TypeError):
        return math.nan


def _points(results: dict[str, Any], layer: str, system: str, key: str) -> list[tuple[int, float]]:
    """(subscribers, value) of the WebSocket scenarios (SSE for django-eventstream)."""
    p = results["parameters"]
    points = [
        (p["steady_subscribers"], _median(results, "steady", layer, system, key)),
        (p["fanout_subscribers"], _median(results, "fanout", layer, system, key)),
    ]
    return sorted((n, v) for n, v in points if not math.isnan(v))


def _against_subscribers(results: dict[str, Any], key: str, ylabel: str, path: str) -> None:
    import matplotlib.pyplot as plt

    layers = ("memory", "redis")
    fig, axes = plt.subplots(1, len(layers), figsize=(10, 4), sharey=True)
    for ax, layer in zip(axes, layers, strict=True):
        for system in (OURS, BARE, EVENTSTREAM):
            points = _points(results, layer, system, key)
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, marker="o", label=LABELS[system], color=COLORS[system])
        sse = _median(results, "sse", layer, OURS, key)
        if not math.isnan(sse):
            n = results["parameters"]["sse_subscribers"]
            ax.plot([n], [sse], marker="s", linestyle="", color=COLORS[OURS], label="ours, SSE")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("subscribers (100: steady rate; 1,000: burst)")
        ax.set_title(f"{layer} layer")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel(ylabel)
    axes[-1].legend(fontsize=8)
    fig.suptitle(f"{ylabel}: median of the run's repetitions, Daphne, 2 cores")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _bars(path: str, title: str, ylabel: str, bars: list[tuple[str, float, str]]) -> None:
    import matplotlib.pyplot as plt

    bars = [b for b in bars if not math.isnan(b[1])]
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.bar([b[0] for b in bars], [b[1] for b in bars], color=[b[2] for b in bars])
    for i, (_, value, _) in enumerate(bars):
        ax.annotate(f"{value:.1f}", (i, value), ha="center", va="bottom", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def draw(results: dict[str, Any], directory: str = PLOTS_DIR) -> list[str]:
    """Draw every plot the results have data for; return the files written."""
    import matplotlib

    matplotlib.use("Agg")
    os.makedirs(directory, exist_ok=True)
    written: list[str] = []

    def out(name: str) -> str:
        path = os.path.join(directory, name)
        written.append(path)
        return path

    scenarios = results["scenarios"]
    if "steady" in scenarios or "fanout" in scenarios:
        cpu = "server_cpu_us_per_delivery"
        _against_subscribers(results, cpu, "server CPU µs per delivery", out("cpu.png"))
        _against_subscribers(results, "latency_p99_ms", "p99 latency ms", out("p99.png"))
    capacity = scenarios.get("capacity", {})
    if capacity:
        names = [
            (OURS, "ours WebSocket", "tab:green"),
            ("ours-sse", "ours SSE", "tab:olive"),
            (BARE, "bare Channels", "tab:red"),
            ("floor", "Daphne floor WebSocket", "tab:gray"),
            ("floor-sse", "Daphne floor SSE", "silver"),
        ]
        key = "rss_kb_per_connection"
        bars = [(label, _median(results, "capacity", "memory", s, key), c) for s, label, c in names]
        n = results["parameters"]["capacity_connections"]
        title = f"Resident memory per idle connection, one Daphne process, {n:,} connections"
        _bars(out("memory.png"), title, "KB per connection", bars)
    transports = []
    for layer in ("memory", "redis"):
        for system in (OURS, EVENTSTREAM):
            value = _median(results, "sse", layer, system, "server_cpu_us_per_delivery")
            transports.append((f"SSE {layer}\n{LABELS[system]}", value, COLORS[system]))
    for server in scenarios.get("send_path", {}):
        for system in (OURS, BARE):
            value = _median(results, "send_path", server, system, "server_cpu_us_per_delivery")
            transports.append((f"WS {server}\n{LABELS[system]}", value, COLORS[system]))
    if any(not math.isnan(t[1]) for t in transports):
        title = "Server CPU µs per delivery, 100 subscribers x 10 msg/s"
        _bars(out("transports.png"), title, "µs per delivery", transports)
    return written
