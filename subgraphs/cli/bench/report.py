"""The benchmark's results as goals, a markdown table and a chart."""

from __future__ import annotations

from pathlib import Path

from .scenarios import SCENARIOS

SUBGRAPH_MEMORY_LIMIT_MB = 150
ROUTER_MEMORY_LIMIT_MB = 500
GRAPHQL_SCENARIOS = ("dashboard.router", "doctor-day.router", "appointments.subgraph-graphql")
TITLES = {scenario.name: scenario.title for scenario in SCENARIOS}
NOTES = {scenario.name: scenario.note for scenario in SCENARIOS if scenario.note}


def cell(result: dict, scenario: str, n: int, concurrency: int = 1) -> dict | None:
    for item in result.get("cells", []):
        if item["scenario"] == scenario and item["n"] == n and item["concurrency"] == concurrency:
            return item
    return None


def _counts(item: dict | None, key: str) -> float | None:
    if not item or not item.get("counts"):
        return None
    value = item["counts"]["per_request"].get(key)
    return None if value is None else round(value, 3)


def goals(result: dict) -> dict:
    sizes = result["meta"]["sizes"]
    out: dict = {}

    # 1. SQL statements and subgraph fetches per request do not grow with the list.
    constant = {}
    for scenario in GRAPHQL_SCENARIOS:
        rows = {}
        for n in sizes:
            item = cell(result, scenario, n)
            rows[str(n)] = {
                "sql_per_request": _counts(item, "sql"),
                "graphql_fetches_per_request": _counts(item, "graphql_fetches"),
                "service_calls_per_request": _counts(item, "calls"),
            }
        values = [tuple(row.values()) for row in rows.values()]
        known = all(None not in value[:2] for value in values) and bool(values)
        constant[scenario] = {"by_n": rows, "identical": known and len(set(values)) == 1}
    out["counts_constant"] = {
        "goal": "SQL statements and subgraph fetches per request identical at every n, for every GraphQL scenario",
        "scenarios": constant,
        "met": all(item["identical"] for item in constant.values()),
    }

    # 2. The dashboard through the router against the naive REST client, n = 100.
    graph, naive = cell(result, "dashboard.router", 100), cell(result, "dashboard.rest-naive", 100)
    if graph and naive:
        ratio = naive["latency_ms"]["p50"] / graph["latency_ms"]["p50"]
        out["dashboard_vs_naive_rest"] = {
            "goal": "dashboard through the router at n=100 at least 3x faster (p50) than naive REST",
            "router_p50_ms": graph["latency_ms"]["p50"],
            "naive_rest_p50_ms": naive["latency_ms"]["p50"],
            "speedup": round(ratio, 2),
            "met": ratio >= 3,
        }

    # 3. GraphQL against REST on one subgraph, 100 rows: CPU of the service process.
    gql, rest = cell(result, "appointments.subgraph-graphql", 100), cell(result, "appointments.subgraph-rest", 100)
    if gql and rest:
        gql_cpu, rest_cpu = gql["cpu_ms_per_op"]["appointments"], rest["cpu_ms_per_op"]["appointments"]
        ratio = gql_cpu / rest_cpu if rest_cpu else None
        gql8, rest8 = (
            cell(result, "appointments.subgraph-graphql", 100, 8),
            cell(result, "appointments.subgraph-rest", 100, 8),
        )
        ratio8 = None
        if gql8 and rest8 and rest8["cpu_ms_per_op"]["appointments"]:
            ratio8 = round(gql8["cpu_ms_per_op"]["appointments"] / rest8["cpu_ms_per_op"]["appointments"], 2)
        out["subgraph_graphql_vs_rest_cpu"] = {
            "goal": "the subgraph's GraphQL answer for 100 appointments at most 2x the CPU of its REST route",
            "graphql_cpu_ms": gql_cpu,
            "rest_cpu_ms": rest_cpu,
            "ratio": None if ratio is None else round(ratio, 2),
            "ratio_at_8_clients": ratio8,
            "met": ratio is not None and ratio <= 2,
        }

    # 4. What the router adds over its own subgraph requests made directly (p50, one client).
    overhead = {}
    for name in ("dashboard", "doctor-day"):
        for n in sizes:
            routed, replayed = cell(result, f"{name}.router", n), cell(result, f"{name}.replayed", n)
            if routed and replayed:
                separate = (routed["latency_ms"]["p50"] - replayed["latency_ms"]["p50"]) / routed["requests_per_op"]
                row = {
                    "router_p50_ms": routed["latency_ms"]["p50"],
                    "replayed_p50_ms": replayed["latency_ms"]["p50"],
                    "added_ms_per_request_separate_cells": round(separate, 2),
                    "added_ms_per_request": round(separate, 2),
                }
                paired = replayed.get("paired")
                if paired and paired["pairs"]:
                    # The paired measurement: both sides under the same load.
                    row.update(
                        pairs=paired["pairs"],
                        paired_router_p50_ms=paired["router_p50_ms"],
                        paired_replayed_p50_ms=paired["replayed_p50_ms"],
                        added_ms_per_request=round(paired["median_difference_ms"] / paired["requests_per_op"], 2),
                    )
                # The replay is made by the bench's Python client: its own CPU for the extra requests
                # (httpx, a few ms each on a slow CPU) lands on the replayed side and hides as much of
                # the router's cost. Added back, assuming it is all on the critical path (an upper
                # estimate, as the measured difference is a lower one); the goal is judged on it.
                extra_client = (replayed["cpu_ms_per_op"]["client"] - routed["cpu_ms_per_op"]["client"]) / routed[
                    "requests_per_op"
                ]
                row["client_cpu_difference_ms_per_request"] = round(extra_client, 2)
                row["added_ms_per_request_client_corrected"] = round(row["added_ms_per_request"] + extra_client, 2)
                overhead[f"{name} n={n}"] = row
    if overhead:
        out["router_overhead"] = {
            "goal": "the router adds at most 5 ms (p50, one client) over the same subgraph requests made directly "
            "(per request: median of paired differences, and with the replaying client's own extra CPU added back)",
            "by_scenario": overhead,
            "worst_ms": max(item["added_ms_per_request_client_corrected"] for item in overhead.values()),
            "worst_measured_ms": max(item["added_ms_per_request"] for item in overhead.values()),
            "met": all(item["added_ms_per_request_client_corrected"] <= 5 for item in overhead.values()),
        }

    # 5. Memory after the load.
    memory = result.get("memory", {}).get("after_load", {})
    if memory:
        limits = {name: ROUTER_MEMORY_LIMIT_MB if name == "router" else SUBGRAPH_MEMORY_LIMIT_MB for name in memory}
        out["memory"] = {
            "goal": f"each subgraph under {SUBGRAPH_MEMORY_LIMIT_MB} MB resident after the load, the router under "
            f"{ROUTER_MEMORY_LIMIT_MB} MB",
            "rss_mb": {name: item["rss_mb"] for name, item in memory.items()},
            "peak_rss_mb": {name: item["peak_rss_mb"] for name, item in memory.items()},
            "met": all(item["rss_mb"] < limits[name] for name, item in memory.items()),
        }
    return out


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown(result: dict) -> str:
    meta = result["meta"]
    lines = [
        f"Command: `{meta['command']}`",
        "",
        f"Data set: {meta.get('dataset', {})}. Machine: {meta['cpu_model']}, {meta['cpu_count']} cores, load average "
        f"{', '.join(f'{v:.2f}' for v in meta['load_average_start'])} at the start. Python {meta['python']}, "
        f"Node {meta['node']}, Hive Gateway {meta['node_packages'].get('@graphql-hive/gateway')}, "
        f"PostgreSQL {meta.get('postgresql')}; {meta['workers_per_subgraph']} uvicorn worker(s) per subgraph; "
        f"run took {meta.get('duration_seconds')} s.",
        "",
        "| scenario | n | req/op | p50 ms | p95 ms | p99 ms | ops/s @8 | p50 ms @8 | CPU ms/op (stack) "
        "| CPU ms/op (+PG) | SQL/req | fetches/req | calls/op |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    seen = []
    for item in result.get("cells", []):
        key = (item["scenario"], item["n"])
        if key in seen:
            continue
        seen.append(key)
        one = cell(result, *key, 1) or item
        eight = cell(result, *key, 8)
        counts = one.get("counts") or {}
        per_request = counts.get("per_request", {})
        per_op = counts.get("per_op", {})
        lines.append(
            "| "
            + " | ".join(
                [
                    f"`{item['scenario']}`",
                    str(item["n"]),
                    _fmt(one["requests_per_op"], 0),
                    _fmt(one["latency_ms"]["p50"]),
                    _fmt(one["latency_ms"]["p95"]),
                    _fmt(one["latency_ms"]["p99"]),
                    _fmt(eight["throughput_ops_s"]) if eight else "–",
                    _fmt(eight["latency_ms"]["p50"]) if eight else "–",
                    _fmt(one["cpu_ms_per_op"]["stack"]),
                    _fmt(one["cpu_ms_per_op"]["stack_with_postgresql"]),
                    _fmt(per_request.get("sql"), 2),
                    _fmt(per_request.get("graphql_fetches"), 2),
                    _fmt(per_op.get("calls"), 0),
                ]
            )
            + " |"
        )
    lines += ["", "Notes:"]
    for name, note in NOTES.items():
        lines.append(f"- `{name}`: {note}.")
    lines.append(
        "- p50/p95/p99: one client; ops/s and p50 @8: eight concurrent clients. CPU: user+system time of every "
        "process of the stack (four subgraphs and the router; +PG adds the PostgreSQL backends serving this run's "
        "databases) per operation, one client. SQL/req and fetches/req: statements on the services' own engines and "
        "router-to-subgraph `/graphql` requests, per HTTP request of the client; calls/op: every request the "
        "services received per operation. n = 1,000 takes ten requests of 100 (the API caps lists at 100)."
    )
    goal_lines = _goal_lines(result.get("goals", {}))
    if goal_lines:
        lines += ["", "Goals:", *goal_lines]
    memory = result.get("memory", {}).get("after_load", {})
    if memory:
        lines += ["", "| process | RSS after load (MB) | peak RSS (MB) |", "| --- | ---: | ---: |"]
        for name, item in memory.items():
            lines.append(f"| {name} | {item['rss_mb']} | {item['peak_rss_mb']} |")
    return "\n".join(lines) + "\n"


def _goal_lines(found: dict) -> list[str]:
    lines = []
    if "counts_constant" in found:
        item = found["counts_constant"]
        detail = "; ".join(
            f"`{name}` "
            + ", ".join(
                f"n={n}: {row['sql_per_request']} SQL / {row['graphql_fetches_per_request']} fetches"
                for n, row in scenario["by_n"].items()
            )
            for name, scenario in item["scenarios"].items()
        )
        lines.append(f"- {'MET' if item['met'] else 'NOT MET'}: {item['goal']} ({detail}).")
    if "dashboard_vs_naive_rest" in found:
        item = found["dashboard_vs_naive_rest"]
        lines.append(
            f"- {'MET' if item['met'] else 'NOT MET'}: {item['goal']}: {item['speedup']}x "
            f"({item['router_p50_ms']} ms vs {item['naive_rest_p50_ms']} ms)."
        )
    if "subgraph_graphql_vs_rest_cpu" in found:
        item = found["subgraph_graphql_vs_rest_cpu"]
        lines.append(
            f"- {'MET' if item['met'] else 'NOT MET'}: {item['goal']}: {item['ratio']}x "
            f"({item['graphql_cpu_ms']} vs {item['rest_cpu_ms']} CPU ms per request; {item['ratio_at_8_clients']}x "
            "at 8 clients)."
        )
    if "router_overhead" in found:
        item = found["router_overhead"]
        detail = "; ".join(
            f"{name}: +{row['added_ms_per_request']} ms measured, +{row['added_ms_per_request_client_corrected']} ms "
            "corrected"
            for name, row in item["by_scenario"].items()
        )
        lines.append(f"- {'MET' if item['met'] else 'NOT MET'}: {item['goal']} ({detail}).")
    if "memory" in found:
        item = found["memory"]
        detail = ", ".join(f"{name} {mb} MB" for name, mb in item["rss_mb"].items())
        lines.append(f"- {'MET' if item['met'] else 'NOT MET'}: {item['goal']} ({detail}).")
    return lines


def chart(result: dict, path: Path) -> str | None:
    """Latency (p50, one client) against list size, one line per scenario; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    series: dict[str, list[tuple[int, float]]] = {}
    for item in result.get("cells", []):
        if item["concurrency"] == 1:
            series.setdefault(item["scenario"], []).append((item["n"], item["latency_ms"]["p50"]))
    figure, axis = plt.subplots(figsize=(9, 5.5), dpi=110)
    for name, points in series.items():
        points.sort()
        style = "--" if (".rest" in name or "replayed" in name) else "-"
        axis.plot([p[0] for p in points], [p[1] for p in points], style, marker="o", label=name)
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("list size n (rows per screen; 1,000 = ten requests of 100)")
    axis.set_ylabel("p50 latency per operation, ms (one client)")
    axis.set_title("Latency against list size")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return str(path)
