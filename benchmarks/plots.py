"""``python -m benchmarks report``: PNG plots of ``latest.json`` into ``docs/performance/``."""

from __future__ import annotations

import math
import os
from typing import Any

from benchmarks.params import BARE, EVENTSTREAM, FLOOR, OURS

PLOTS_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "docs", "performance")
LABELS = {OURS: "ours", BARE: "bare Channels consumer", EVENTSTREAM: "django-eventstream"}
#: Labels under a bar: short enough for a dozen bars side by side.
SHORT = {OURS: "ours", BARE: "bare", EVENTSTREAM: "eventstream", FLOOR: "floor"}
COLORS = {OURS: "tab:green", BARE: "tab:red", EVENTSTREAM: "tab:blue", FLOOR: "tab:gray"}


def _median(results: dict[str, Any], scenario: str, place: str, system: str, key: str) -> float:
    try:
        summary = results["scenarios"][scenario][place][system]["summary"]
        return float(summary[key]["median"])
    except (KeyError, TypeError):
        return math.nan


def _sweep_points(
    results: dict[str, Any], system: str, key: str
) -> list[tuple[int, float, float, float]]:
    """(subscribers, median, min, max) of ``key`` for ``system`` across the sweep."""
    points = []
    for count, systems in results["scenarios"]["sweep"].get("delivery", {}).items():
        stats = (systems.get(system) or {}).get("summary", {}).get(key)
        if stats:
            points.append((int(count), stats["median"], stats["min"], stats["max"]))
    return sorted(points)


def _capped(results: dict[str, Any]) -> bool:
    """Whether the bare consumer was asked for fewer deliveries/s than the others."""
    p = results["parameters"]
    return bool(p["sweep_bare_deliveries"] < p["sweep_deliveries"])


def _log_ticks(ax: Any, xs: list[int], *, y: bool = False) -> None:
    """Log axes labelled with plain numbers: x at the measured counts; y at 1, 2 and 5
    times each power of ten."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, NullLocator

    plain = FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}")
    ax.set_xticks(list(xs))
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    if y:
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=30))
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(NullFormatter())


def _against_subscribers(results: dict[str, Any], key: str, ylabel: str, path: str) -> None:
    """One line per system (median, with the repetitions' min-max as a band), log x."""
    import matplotlib.pyplot as plt

    p = results["parameters"]
    capped = _capped(results)
    fig, ax = plt.subplots(figsize=(8, 5))
    for system in (OURS, BARE, EVENTSTREAM):
        points = _sweep_points(results, system, key)
        if not points:
            continue
        xs, ys, lows, highs = zip(*points, strict=True)
        label = LABELS[system] + (" (SSE)" if system == EVENTSTREAM else " (WebSocket)")
        style = "-"
        if system == BARE and capped:
            label += f", {p['sweep_bare_deliveries']:,.0f} deliveries/s"
            style = "--"
        ax.plot(xs, ys, marker="o", linestyle=style, label=label, color=COLORS[system])
        ax.fill_between(xs, lows, highs, color=COLORS[system], alpha=0.15)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("subscribers of one channel (messages/s = deliveries/s / subscribers)")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3)
    _log_ticks(ax, list(results["parameters"]["sweep_subscribers"]), y=True)
    ax.set_title(
        f"{ylabel} against subscribers, {p['sweep_deliveries']:,.0f} deliveries/s at each count\n"
        "in-memory layer, one Daphne process, 2 cores; median, band: min-max of repetitions",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


MEMORY_LINES = (
    (OURS, "ours, WebSocket", "tab:green", "-"),
    ("ours-sse", "ours, SSE", "tab:olive", "-"),
    (BARE, "bare Channels consumer (WebSocket)", "tab:red", "-"),
    ("floor", "Daphne's floor, WebSocket", "tab:gray", "--"),
    ("floor-sse", "Daphne's floor, SSE", "silver", "--"),
)


def _memory_curves(results: dict[str, Any], path: str) -> None:
    """KB of resident memory per idle connection against connections, one line per system."""
    import matplotlib.pyplot as plt

    memory = results["scenarios"]["sweep"]["memory"]
    capacity = results["scenarios"].get("capacity", {}).get("memory", {})
    counts = list(results["parameters"]["sweep_connections"])
    fig, ax = plt.subplots(figsize=(8, 5))
    for system, label, color, style in MEMORY_LINES:
        points = (memory.get(system) or {}).get("points") or []
        xs = [pt["connections"] for pt in points]
        ys = [pt["rss_kb_per_connection"] for pt in points]
        # The capacity scenario's figure (a fresh server per repetition), hollow.
        summary = (capacity.get(system) or {}).get("summary") or {}
        if "rss_kb_per_connection" in summary and "connections" in summary:
            n = summary["connections"]["median"]
            kb = summary["rss_kb_per_connection"]["median"]
            ax.plot([n], [kb], marker="o", markerfacecolor="white", color=color, linestyle="")
            if xs:
                ax.plot([xs[-1], n], [ys[-1], kb], linestyle=":", color=color)
            counts.append(int(n))
        if points:
            ax.plot(xs, ys, marker="o", linestyle=style, label=label, color=color)
    ax.set_xscale("log")
    _log_ticks(ax, sorted(set(counts)))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("idle connections to one Daphne process")
    ax.set_ylabel("KB resident per connection")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3)
    how = "the sweep: connections opened up to each count in turn, one process"
    if capacity:
        how = "filled: " + how + "; hollow: the capacity scenario"
    ax.set_title(
        f"Resident memory per idle connection: RSS growth / connections\n{how}", fontsize=9
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _bars(path: str, title: str, ylabel: str, bars: list[tuple[str, float, str]]) -> None:
    import matplotlib.pyplot as plt

    bars = [b for b in bars if not math.isnan(b[1])]
    fig, ax = plt.subplots(figsize=(max(10.0, 1.1 * len(bars)), 4))
    ax.bar([b[0] for b in bars], [b[1] for b in bars], color=[b[2] for b in bars])
    for i, (_, value, _) in enumerate(bars):
        ax.annotate(f"{value:.1f}", (i, value), ha="center", va="bottom", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
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
    sweep = scenarios.get("sweep") or {}
    if sweep.get("delivery"):
        cpu = "server_cpu_us_per_delivery"
        _against_subscribers(results, cpu, "server CPU µs per delivery", out("cpu.png"))
        _against_subscribers(results, "latency_p99_ms", "p99 latency ms", out("p99.png"))
    capacity = scenarios.get("capacity", {})
    if any((m or {}).get("points") for m in (sweep.get("memory") or {}).values()):
        _memory_curves(results, out("memory.png"))
    elif capacity:
        names = [
            (OURS, "ours WebSocket", "tab:green"),
            ("ours-sse", "ours SSE", "tab:olive"),
            (BARE, "bare Channels", "tab:red"),
            (FLOOR, "Daphne floor WebSocket", "tab:gray"),
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
            transports.append((f"SSE {layer}\n{SHORT[system]}", value, COLORS[system]))
    for server in scenarios.get("send_path", {}):
        for system in (OURS, BARE, FLOOR):
            value = _median(results, "send_path", server, system, "server_cpu_us_per_delivery")
            transports.append((f"WS {server}\n{SHORT[system]}", value, COLORS[system]))
    if any(not math.isnan(t[1]) for t in transports):
        title = "Server CPU µs per delivery, 100 subscribers x 10 msg/s"
        _bars(out("transports.png"), title, "µs per delivery", transports)
    return written
