"""`healthcare bench --scale tiny` runs end to end and writes its JSON with every figure."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from ..e2e.stack import require_router_packages

pytestmark = pytest.mark.e2e


def _number(value) -> bool:
    return isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value))


def test_tiny_bench_writes_every_figure(tmp_path, bench_database):
    require_router_packages()
    kind, base = bench_database
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "subgraphs.cli.main",
            "bench",
            "--scale",
            "tiny",
            "--database",
            kind,
            "--database-url-base",
            base,
            "--out",
            str(out),
            "--work-dir",
            str(tmp_path / "work"),
            "--no-chart",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = json.loads((out / "bench.json").read_text())

    meta = report["meta"]
    for key in ("python", "packages", "node", "node_packages", "cpu_model", "cpu_count", "command", "dataset"):
        assert meta.get(key), key
    assert meta["node_packages"].get("@graphql-hive/gateway")

    cells = report["cells"]
    scenarios = {cell["scenario"] for cell in cells}
    assert {
        "dashboard.router",
        "dashboard.rest-naive",
        "dashboard.rest-best",
        "dashboard.replayed",
        "doctor-day.router",
        "doctor-day.replayed",
        "doctor-day.rest",
        "appointments.subgraph-graphql",
        "appointments.subgraph-rest",
    } <= scenarios
    for cell in cells:
        label = f"{cell['scenario']} n={cell['n']} c={cell['concurrency']}"
        assert cell["ops"] > 0, label
        for figure in ("p50", "p95", "p99"):
            assert _number(cell["latency_ms"][figure]), label
        assert _number(cell["throughput_ops_s"]), label
        for process in ("auth", "appointments", "prescriptions", "admin", "router", "stack"):
            assert _number(cell["cpu_ms_per_op"][process]), label
        counts = cell["counts"]["per_request"]
        for figure in ("sql", "graphql_fetches", "calls"):
            assert _number(counts[figure]), label
    assert {cell["concurrency"] for cell in cells} == {1, 8}

    memory = report["memory"]["after_load"]
    for process in ("auth", "appointments", "prescriptions", "admin", "router"):
        assert memory[process]["rss_mb"] > 0 and memory[process]["peak_rss_mb"] > 0, process
    assert set(report["goals"]) >= {
        "counts_constant",
        "dashboard_vs_naive_rest",
        "subgraph_graphql_vs_rest_cpu",
        "router_overhead",
        "memory",
    }
    assert (out / "bench.md").read_text().startswith("Command:")
