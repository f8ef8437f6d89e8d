"""The results: ``latest.json`` (everything) and ``latest.md`` (tables and targets)."""

from __future__ import annotations

import json
import math
import os
from typing import Any

from benchmarks.params import BARE, EVENTSTREAM, LAYERS, OURS

RESULTS_DIR = os.path.join(os.path.dirname(__file__), "results")

#: (scenario, metric, heading) per table column.
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "fanout": [
        ("deliveries_per_s", "deliveries/s"),
        ("latency_p50_ms", "p50 ms"),
        ("latency_p99_ms", "p99 ms"),
        ("server_cpu_us_per_delivery", "server CPU µs/delivery"),
        ("client_cpu_share", "client CPU share"),
        ("lost", "lost"),
    ],
    "steady": [
        ("publish_rate", "msgs/s achieved"),
        ("latency_p50_ms", "p50 ms"),
        ("latency_p99_ms", "p99 ms"),
        ("latency_max_ms", "max ms"),
        ("server_cpu_us_per_delivery", "server CPU µs/delivery"),
        ("client_cpu_share", "client CPU share"),
        ("lost", "lost"),
    ],
    "capacity": [
        ("connections", "connections"),
        ("rss_kb_per_connection", "RSS KB/connection"),
        ("connects_per_s", "connects/s"),
        ("rss_after_mb", "RSS after (MB)"),
        ("failed", "failed"),
    ],
    "soak": [
        ("cycles", "hostile connections"),
        ("tasks_before", "tasks before"),
        ("tasks_after", "tasks after"),
        ("groups_after", "groups after"),
        ("redis_subscriptions_before", "Redis subs before"),
        ("redis_subscriptions_after", "Redis subs after"),
        ("rss_before_mb", "RSS before (MB)"),
        ("rss_after_mb", "RSS after (MB)"),
        ("lost", "lost (well-behaved)"),
    ],
    "resume": [
        ("missed", "missed"),
        ("seconds_to_all", "seconds to all"),
        ("messages_per_s", "messages/s"),
        ("lost", "lost"),
        ("duplicates", "duplicates"),
    ],
    "function_latency": [
        ("latency_p50_ms", "publish→frame p50 ms"),
        ("latency_p99_ms", "p99 ms"),
        ("latency_max_ms", "max ms"),
        ("round_trip_p50_ms", "event→frame p50 ms"),
        ("round_trip_p99_ms", "p99 ms"),
        ("round_trip_max_ms", "max ms"),
        ("events_per_s", "events/s"),
        ("server_cpu_ms_per_run", "server CPU ms/run"),
        ("inngest_dev_cpu_ms_per_run", "inngest_dev CPU ms/run"),
        ("lost", "lost"),
        ("runs_failed", "failed runs"),
    ],
}
COLUMNS["scale"] = [
    ("subscriptions", "subscriptions"),
    ("refused", "refused"),
    ("connects_per_s", "connects/s"),
    ("latency_p50_ms", "p50 ms"),
    ("latency_p99_ms", "p99 ms"),
    ("latency_max_ms", "max ms"),
    ("lost", "lost"),
    ("server_cpu_ms_per_publish", "Daphne CPU ms/publish"),
    ("client_cpu_ms_per_publish", "clients' CPU ms/publish"),
    ("server_cpu_connect_s", "Daphne CPU s connecting"),
    ("client_cpu_connect_s", "clients' CPU s connecting"),
]
COLUMNS["sse"] = COLUMNS["send_path"] = COLUMNS["steady"]
TITLES = {
    "fanout": "1. Fan-out burst",
    "steady": "2. Steady rate",
    "capacity": "3. Capacity (idle WebSocket subscriptions, one Daphne process)",
    "publish_cost": "4. Publish cost (in-process, µs per call)",
    "resume": "5. Resume",
    "approvals": "6. Approvals (PostgreSQL)",
    "soak": "7. Soak (hostile connections beside well-behaved subscribers, one process)",
    "sse": "8. SSE (ours and django-eventstream, steady rate)",
    "send_path": "9. ASGI send path (in-memory layer; the layer column names the server)",
    "function_latency": "10. From an Inngest function step's publish() to a frame in a client "
    "(served by serve_inngest(), run by manage.py inngest_dev; event→frame is the whole round "
    "trip; browser: headless Chromium running realtime.js)",
    "scale": "11. Scale: idle WebSocket subscriptions on one Daphne process, then publishes "
    "to all (one round of connections)",
    "processes": "12. Across processes (redis broker, same subscribers spread evenly)",
    "sweep": "13. Sweep (in-memory layer, one Daphne process): against subscribers, connections",
}


def fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def cell(summary: dict[str, Any], key: str) -> str:
    stats = summary.get(key)
    if not stats:
        return "-"
    if stats["min"] == stats["max"]:
        return fmt(stats["median"])
    return f"{fmt(stats['median'])} ({fmt(stats['min'])}-{fmt(stats['max'])})"


def median(results: dict[str, Any], scenario: str, layer: str, system: str, key: str) -> float:
    try:
        return float(results["scenarios"][scenario][layer][system]["summary"][key]["median"])
    except (KeyError, TypeError):
        return float("nan")


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with its measured value, per layer."""
    rows: list[dict[str, Any]] = []

    def add(name: str, layer: str, value: float, limit: float, *, at_most: bool) -> None:
        met = (
            None
            if math.isnan(value) or math.isnan(limit)
            else (value <= limit if at_most else value >= limit)
        )
        rows.append({"target": name, "layer": layer, "value": value, "limit": limit, "met": met})

    cpu = "server_cpu_us_per_delivery"
    for layer in LAYERS:
        for scenario in ("fanout", "steady"):
            ours = median(results, scenario, layer, OURS, cpu)
            bare = median(results, scenario, layer, BARE, cpu)
            es = median(results, scenario, layer, EVENTSTREAM, cpu)
            add(f"CPU/delivery ({scenario}) ≤ 0.25 x bare", layer, ours / bare, 0.25, at_most=True)
            add(
                f"CPU/delivery ({scenario}) ≤ 0.6 x eventstream",
                layer,
                ours / es,
                0.6,
                at_most=True,
            )
        rate = "deliveries_per_s"
        ratio = median(results, "fanout", layer, OURS, rate) / median(
            results, "fanout", layer, BARE, rate
        )
        add("burst deliveries/s ≥ 5 x bare", layer, ratio, 5.0, at_most=False)
        p99 = "latency_p99_ms"
        add(
            "steady p99 ≤ eventstream's (ms)",
            layer,
            median(results, "steady", layer, OURS, p99),
            median(results, "steady", layer, EVENTSTREAM, p99),
            at_most=True,
        )
        lost = median(results, "steady", layer, OURS, "lost")
        add("steady loss = 0", layer, lost, 0.0, at_most=True)
        rss = median(results, "capacity", layer, OURS, "rss_kb_per_connection")
        add("RSS per idle subscription ≤ 40 KB", layer, rss, 40.0, at_most=True)
        cost = results["scenarios"].get("publish_cost", {}).get(layer, {})
        add("publish() ≤ 1.5 x group_send", layer, cost.get("ratio", math.nan), 1.5, at_most=True)
    return rows


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Run {results['started_at']} ({'quick' if results['quick'] else 'full'}), "
        f"{results['duration_s'] / 60:.1f} min. Cells: median (min-max) of "
        f"{results['parameters']['repetitions']} repetition(s).",
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in results["machine"].items()),
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in results["versions"].items()),
        "",
        "Parameters: " + ", ".join(f"{k}={v}" for k, v in results["parameters"].items()),
        "",
        "## Goals (issue 19)",
        "",
        "| goal | target | measured | met |",
        "| --- | --- | --- | --- |",
    ]
    for row in results["goals"]:
        lines.append(f"| {row['goal']} | {row['target']} | {row['measured']} | {row['met']} |")
    lines += [
        "",
        "## Targets (round one)",
        "",
        "| target | layer | measured | limit | met |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in results["targets"]:
        met = {True: "yes", False: "**no**", None: "-"}[row["met"]]
        lines.append(
            f"| {row['target']} | {row['layer']} | {fmt(row['value'])} | {fmt(row['limit'])} "
            f"| {met} |"
        )
    for scenario, title in TITLES.items():
        data = results["scenarios"].get(scenario)
        if data is None:
            continue
        lines += ["", f"## {title}", ""]
        if scenario == "publish_cost":
            lines += _publish_cost(data)
        elif scenario == "capacity":
            lines += _table(data, COLUMNS[scenario]) + _tracemalloc(data.get("tracemalloc", {}))
        elif scenario == "approvals":
            lines += _approvals(data)
        elif scenario == "processes":
            lines += _processes(data)
        elif scenario == "sweep":
            lines += _sweep(data)
        else:
            lines += _table(data, COLUMNS[scenario])
    if results["failures"]:
        lines += ["", "## Failures", ""] + [f"- {f}" for f in results["failures"]]
    return "\n".join(lines) + "\n"


def _table(data: dict[str, Any], columns: list[tuple[str, str]]) -> list[str]:
    lines = [
        "| layer | system | " + " | ".join(h for _, h in columns) + " |",
        "| --- | --- | " + " | ".join("---" for _ in columns) + " |",
    ]
    for layer, systems in data.items():
        if layer == "tracemalloc":
            continue
        for system, result in systems.items():
            if result.get("error"):
                lines.append(f"| {layer} | {system} | error: {result['error'][:80]} |")
                continue
            cells = " | ".join(cell(result["summary"], key) for key, _ in columns)
            lines.append(f"| {layer} | {system} | {cells} |")
    return lines


def _publish_cost(data: dict[str, Any]) -> list[str]:
    lines = ["| layer | publish() µs | bare group_send µs | ratio |", "| --- | --- | --- | --- |"]
    for layer, result in data.items():
        if "error" in result:
            lines.append(f"| {layer} | error: {result['error'][:80]} | | |")
            continue
        s = result["summary"]
        lines.append(
            f"| {layer} | {cell(s, 'publish_us')} | {cell(s, 'group_send_us')} "
            f"| {fmt(result['ratio'])} |"
        )
    return lines


def _approvals(data: dict[str, Any]) -> list[str]:
    if data.get("status") != "ok":
        return [f"Status: {data.get('status')} {data.get('error', '')}".rstrip()]
    s = data["summary"]
    keys = ["decisions_per_s", "latency_p50_ms", "latency_p99_ms", "latency_max_ms", "events"]
    return [
        "| " + " | ".join(keys) + " |",
        "| " + " | ".join("---" for _ in keys) + " |",
        "| " + " | ".join(cell(s, k) for k in keys) + " |",
    ]


def _processes(data: dict[str, Any]) -> list[str]:
    from benchmarks.model import PROCESS_CPU

    lines = [
        f"Redis: {data.get('redis', '-')}. {data.get('contention', '')}. CPU per publish "
        "is net of what the same time idle costs; the first process also runs the publisher.",
        "",
        "| processes | subscribers/process | server CPU µs/delivery | CPU µs/publish by process "
        "| Redis CPU µs/publish | Redis script µs/publish | Redis idle ms/s | p50 ms | p99 ms "
        "| lost |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for n, result in data.get("counts", {}).items():
        if result.get("error"):
            lines.append(f"| {n} | error: {result['error'][:80]} |")
            continue
        s = result["summary"]
        by_process = " / ".join(cell(s, f"{PROCESS_CPU}{i}") for i in range(int(n)))
        keys = ["redis_cpu_us_per_publish", "redis_script_us_per_publish"]
        keys += ["redis_idle_cpu_ms_per_s", "latency_p50_ms", "latency_p99_ms", "lost"]
        lines.append(
            f"| {n} | {cell(s, 'subscribers_per_process')} "
            f"| {cell(s, 'server_cpu_us_per_delivery')} | {by_process} | "
            + " | ".join(cell(s, k) for k in keys)
            + " |"
        )
    fit = data.get("model") or {}
    if not fit:
        return lines
    lines += [
        "",
        "Capacity model (`benchmarks/model.py`, docs/scaling.md), fitted on "
        f"{' and '.join(str(n) for n in fit['fitted_on'])} processes with "
        f"{fit['subscribers']:,} subscribers (the other counts are predictions): per publish, "
        "the publisher "
        f"{fmt(fit['publisher_us'])} µs, each process {fmt(fit['per_process_us'])} µs, each "
        f"delivery {fmt(fit['per_delivery_us'])} µs; Redis {fmt(fit['redis_script_us'])} µs "
        f"+ {fmt(fit['redis_per_process_us'])} µs per process.",
        "",
        "| processes | server µs/publish predicted | measured | a non-publishing process "
        "predicted | measured | Redis µs/publish predicted | measured | publishes/s one "
        "Redis core carries |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in fit["checks"]:
        lines.append(
            f"| {c['processes']}{'' if c['fitted'] else ' (predicted)'} "
            f"| {fmt(c['server_predicted_us'])} "
            f"| {fmt(c['server_measured_us'])} | {fmt(c['other_predicted_us'])} "
            f"| {fmt(c['other_measured_us'])} | {fmt(c['redis_predicted_us'])} "
            f"| {fmt(c['redis_measured_us'])} | {fmt(c['redis_publishes_per_s'])} |"
        )
    return lines


def _sweep(data: dict[str, Any]) -> list[str]:
    columns = [
        ("latency_p50_ms", "p50 ms"),
        ("latency_p99_ms", "p99 ms"),
        ("server_cpu_us_per_delivery", "server CPU µs/delivery"),
        ("client_cpu_share", "client CPU share"),
        ("lost", "lost"),
    ]
    lines = [
        "| subscribers | system | msgs/s asked | " + " | ".join(h for _, h in columns) + " |",
        "| --- | --- | --- | " + " | ".join("---" for _ in columns) + " |",
    ]
    for count, systems in (data.get("delivery") or {}).items():
        for system, point in systems.items():
            head = f"| {count} | {system} | {fmt(point['rate'])} |"
            if point.get("error"):
                lines.append(f"{head} error: {point['error'][:80]} |")
                continue
            lines.append(
                f"{head} " + " | ".join(cell(point["summary"], k) for k, _ in columns) + " |"
            )
    memory = data.get("memory") or {}
    counts = sorted({pt["count"] for m in memory.values() for pt in m["points"]})
    if memory:
        lines += [
            "",
            "Resident memory per idle connection (KB), one fresh Daphne process per system, "
            "connections opened up to each count in turn:",
            "",
            "| system | " + " | ".join(f"{n:,}" for n in counts) + " |",
            "| --- | " + " | ".join("---" for _ in counts) + " |",
        ]
        for system, result in memory.items():
            if result.get("error"):
                lines.append(f"| {system} | error: {result['error'][:80]} |")
                continue
            kb = {pt["count"]: pt["rss_kb_per_connection"] for pt in result["points"]}
            lines.append(f"| {system} | " + " | ".join(fmt(kb.get(n)) for n in counts) + " |")
    return lines


def _tracemalloc(data: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for system, probe in data.items():
        lines += [
            "",
            f"Where the Python bytes of one idle `{system}` subscription go (tracemalloc, "
            f"{probe['connections']:,} connections, by file; total "
            f"{probe['total_bytes_per_connection']:,.0f} B):",
            "",
            "| file | bytes/connection | blocks/connection |",
            "| --- | --- | --- |",
        ]
        for row in probe["top"]:
            lines.append(
                f"| {row['file']} | {row['bytes_per_connection']:,.0f} "
                f"| {row['blocks_per_connection']:.1f} |"
            )
    return lines


def write(results: dict[str, Any], directory: str = RESULTS_DIR) -> tuple[str, str]:
    from benchmarks.goals import goals

    os.makedirs(directory, exist_ok=True)
    results["targets"] = targets(results)
    results["goals"] = goals(results)
    json_path = os.path.join(directory, "latest.json")
    md_path = os.path.join(directory, "latest.md")
    with open(json_path, "w") as out:
        json.dump(results, out, indent=1, default=str)
    with open(md_path, "w") as out:
        out.write(markdown(results))
    return json_path, md_path
