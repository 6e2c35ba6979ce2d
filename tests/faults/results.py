"""What each fault test saw, for the table at the end of the run."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

RESULTS: list[FaultResult] = []


@dataclass
class FaultResult:
    fault: str
    clients_saw: str
    lost: str


def record(fault: str, clients_saw: str, lost: str) -> None:
    RESULTS.append(FaultResult(fault, clients_saw, lost))


def counts(outcomes) -> str:
    """`{"201": 20, "503": 8}` as "20x 201, 8x 503", most frequent first."""
    return ", ".join(f"{count}x {outcome}" for outcome, count in Counter(outcomes).most_common())


def table() -> str:
    rows = [("fault", "what clients saw", "what was lost")] + [(r.fault, r.clients_saw, r.lost) for r in RESULTS]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    lines = [
        "| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |" for row in rows
    ]
    lines.insert(1, "| " + " | ".join("-" * width for width in widths) + " |")
    return "\n".join(lines)
