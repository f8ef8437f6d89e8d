"""The goals of issue 19 ("Performance, round two"), each with its target, what the run
measured and whether it was met; a goal the run did not measure says so."""

from __future__ import annotations

import math
from typing import Any

from benchmarks.params import BARE, EVENTSTREAM, FLOOR, OURS

CPU, P99, LOST = "server_cpu_us_per_delivery", "latency_p99_ms", "lost"


def _summary(results: dict[str, Any], *path: str) -> dict[str, Any] | None:
    node: Any = results["scenarios"]
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node.get("summary") if isinstance(node, dict) else None


def _median(summary: dict[str, Any] | None, key: str) -> float:
    if not summary or key not in summary:
        return math.nan
    return float(summary[key]["median"])


def _verdict(checks: list[bool | None]) -> str:
    if not checks or any(c is None for c in checks):
        return "not measured"
    return "met" if all(checks) else "**not met**"


def _part(check: bool | None) -> str:
    """One part of a goal's verdict, in words."""
    return {True: "met", False: "not met", None: "not measured"}[check]


def _at_most(value: float, limit: float) -> bool | None:
    return None if math.isnan(value) or math.isnan(limit) else value <= limit


def _compare(
    results: dict[str, Any], scenario: str, where: list[str], baseline: str, ratio: float
) -> tuple[list[str], list[bool | None]]:
    """Ours against ``baseline`` in each of ``where`` (layers, or servers), and the
    server's floor where the scenario measured it (what the server alone costs)."""
    parts: list[str] = []
    checks: list[bool | None] = []
    for place in where:
        ours = _summary(results, scenario, place, OURS)
        base = _summary(results, scenario, place, baseline)
        ours_cpu, base_cpu = _median(ours, CPU), _median(base, CPU)
        cpu = ours_cpu / base_cpu
        p99, base_p99 = _median(ours, P99), _median(base, P99)
        lost = _median(ours, LOST)
        part = (
            f"{place}: {cpu:.2f}x ({ours_cpu:.1f} / {base_cpu:.1f} µs), "
            f"p99 {p99:.1f} / {base_p99:.1f} ms, lost {lost:.0f}"
        )
        floor = _median(_summary(results, scenario, place, FLOOR), CPU)
        if not math.isnan(floor):
            floor_ratio = floor / base_cpu
            part += f"; the server's floor {floor:.1f} µs ({floor_ratio:.2f}x)"
            if floor_ratio > ratio:
                part += f", above {ratio:g}x by itself"
        parts.append(part)
        checks += [_at_most(cpu, ratio), _at_most(p99, base_p99), _at_most(lost, 0.0)]
    return parts, checks


def goals(results: dict[str, Any]) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []

    parts, checks = _compare(results, "sse", ["memory", "redis"], EVENTSTREAM, 0.4)
    p = results["parameters"]
    shape = f"{p['sse_subscribers']} subscribers x {p['sse_rate']:g} msg/s"
    rows.append(
        {
            "goal": f"1. SSE vs django-eventstream ({shape})",
            "target": "CPU/delivery ≤ 0.4x eventstream, p99 ≤ eventstream's, no loss "
            "(local and redis)",
            "measured": "; ".join(parts),
            "met": _verdict(checks),
        }
    )
    servers = list((results["scenarios"].get("send_path") or {}).keys())
    parts, checks = _compare(results, "send_path", servers, BARE, 0.2)
    rows.append(
        {
            "goal": f"2. ASGI send path vs a bare Channels consumer ({shape})",
            "target": "CPU/delivery ≤ 0.2x bare, p99 no worse (uvicorn, hypercorn, "
            "Daphne without direct writes)",
            "measured": "; ".join(parts) if servers else "-",
            "met": _verdict(checks) if servers else "not measured",
        }
    )
    capacity = (results["scenarios"].get("capacity") or {}).get("memory", {})

    def rss(system: str) -> float:
        return _median((capacity.get(system) or {}).get("summary"), "rss_kb_per_connection")

    ws, sse = rss(OURS), rss("ours-sse")
    floor_ws, floor_sse, bare = rss("floor"), rss("floor-sse"), rss(BARE)
    connections = _median((capacity.get(OURS) or {}).get("summary"), "connections")
    rows.append(
        {
            "goal": "3. Memory per idle subscription, one Daphne process",
            "target": "≤ 24 KB WebSocket, ≤ 16 KB SSE at 5,000 connections (the full run)",
            "measured": (
                f"at {connections:,.0f}: WebSocket {ws:.1f} KB (floor {floor_ws:.1f}, bare "
                f"{bare:.1f}; {_part(_at_most(ws, 24.0))}); SSE {sse:.1f} KB (floor "
                f"{floor_sse:.1f}; {_part(_at_most(sse, 16.0))})"
            ),
            "met": _verdict([_at_most(ws, 24.0), _at_most(sse, 16.0)]),
        }
    )
    rows += [_scale(results), _processes(results), _function_latency(results)]
    plots = results.get("plots") or []
    curves = {"cpu.png", "p99.png", "memory.png"}
    drawn = (
        curves <= {path.rsplit("/", 1)[-1] for path in plots} and "sweep" in results["scenarios"]
    )
    rows.append(
        {
            "goal": "7. Plots (`python -m benchmarks report`)",
            "target": "PNG curves in docs/performance/: CPU/delivery and p99 against "
            "subscribers (ours, bare, eventstream), memory per connection against connections",
            "measured": ", ".join(plots) if plots else "drawn by `python -m benchmarks report`",
            "met": "met" if drawn else "not measured",
        }
    )
    return rows


def _unmeasured(goal: str, target: str) -> dict[str, str]:
    return {"goal": goal, "target": target, "measured": "not in this run", "met": "not measured"}


def _scale(results: dict[str, Any]) -> dict[str, str]:
    """Goal 4: every connection accepted, every publish at every subscriber within 1 s."""
    row = _unmeasured(
        "4. 10,000 subscriptions in one process",
        "all connect; a publish reaches all in 1 s (clients' CPU apart)",
    )
    s = _summary(results, "scale", "memory", OURS)
    if not s:
        return row
    count, refused = _median(s, "subscriptions"), _median(s, "refused")
    lost, worst = _median(s, "lost"), _median(s, "latency_max_ms")
    publishes = results["parameters"]["scale_publishes"]
    row["measured"] = (
        f"{count:,.0f} connected, {refused:.0f} refused ({_median(s, 'connects_per_s'):.0f}/s); "
        f"{publishes} publishes to all: p50 {_median(s, 'latency_p50_ms'):.0f} / p99 "
        f"{_median(s, 'latency_p99_ms'):.0f} / max {worst:.0f} ms, lost {lost:.0f}; Daphne CPU "
        f"{_median(s, 'server_cpu_ms_per_publish'):.0f} ms per publish, the clients' "
        f"{_median(s, 'client_cpu_ms_per_publish'):.0f} ms (connecting: Daphne "
        f"{_median(s, 'server_cpu_connect_s'):.1f} s, clients "
        f"{_median(s, 'client_cpu_connect_s'):.1f} s)"
    )
    met = _verdict([_at_most(refused, 0.0), _at_most(lost, 0.0), _at_most(worst, 1000.0)])
    if met == "met" and count < 10_000:
        met = f"met at {count:,.0f} only"
    row["met"] = met
    return row


def _processes(results: dict[str, Any]) -> dict[str, str]:
    """Goal 5: reported per process count, with the capacity model's check."""
    row = _unmeasured(
        "5. 1 / 2 / 4 Daphne processes on redis",
        "CPU/delivery, Redis CPU/publish, p99, loss; the model checked",
    )
    data = results["scenarios"].get("processes")
    if not data:
        return row
    parts, lost = [], 0.0
    for n, result in data["counts"].items():
        s = result.get("summary")
        if not s:
            parts.append(f"{n}: error")
            continue
        lost += _median(s, LOST)
        parts.append(
            f"{n}: {_median(s, CPU):.1f} µs/delivery, Redis "
            f"{_median(s, 'redis_cpu_us_per_publish'):.0f} µs/publish, p99 "
            f"{_median(s, P99):.0f} ms, lost {_median(s, LOST):.0f}"
        )
    fitted_on = " and ".join(str(n) for n in (data.get("model") or {}).get("fitted_on", []))
    for check in (data.get("model") or {}).get("checks", []):
        if not check["fitted"]:
            parts.append(
                f"model (fitted on {fitted_on}) for {check['processes']}: server "
                f"{check['server_predicted_us']:.0f} predicted / "
                f"{check['server_measured_us']:.0f} measured µs/publish, Redis "
                f"{check['redis_predicted_us']:.0f} / {check['redis_measured_us']:.0f}"
            )
    parts.append(data.get("contention", ""))
    row["measured"] = "; ".join(parts)
    complete = all(r.get("summary") for r in data["counts"].values()) and data.get("model")
    row["met"] = "reported" if complete and lost == 0 else "**not met**"
    return row


def _function_latency(results: dict[str, Any]) -> dict[str, str]:
    """Goal 6: p50 / p99 of publish→frame (and event→frame) per layer and client; reported
    when every client got every message and no run failed."""
    data = results["scenarios"].get("function_latency") or {}
    parts: list[str] = []
    checks: list[bool | None] = []
    for layer, clients in data.items():
        cells = []
        for client, result in clients.items():
            if "run status" in client:  # the extra pass, in the scenario's table
                continue
            s = result.get("summary") or {}
            if result.get("error") or not s:
                cells.append(f"{client} error: {result.get('error')}")
                checks.append(None)
                continue
            lost = _median(s, LOST) + _median(s, "runs_failed")
            cells.append(
                f"{client} {_median(s, 'latency_p50_ms'):.1f} / {_median(s, P99):.1f} ms "
                f"(event→frame {_median(s, 'round_trip_p50_ms'):.0f} / "
                f"{_median(s, 'round_trip_p99_ms'):.0f} ms), lost {lost:.0f}"
            )
            checks.append(_at_most(lost, 0.0))
        parts.append(f"{layer}: " + "; ".join(cells))
    verdict = _verdict(checks)
    return {
        "goal": "6. Function step publish() to a browser frame",
        "target": "p50 / p99 publish→frame reported (through serve_inngest() and inngest_dev), "
        "no loss",
        "measured": " · ".join(parts) if parts else "not in this run",
        "met": "reported" if verdict == "met" else verdict,
    }
