"""What a fuzz run did, per service: operations, examples sent, failures found."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class FuzzReport:
    kind: str
    service: str
    backend: str
    operations: set[str] = field(default_factory=set)
    examples: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def add_failure(self, text: str) -> None:
        # One line per distinct failure is enough to find it; the count tells how often.
        if text not in self.failures:
            self.failures.append(text)

    def summary(self) -> str:
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(self.statuses.items()))
        return (
            f"{self.kind} fuzz {self.service} ({self.backend}): {len(self.operations)} operations, "
            f"{self.examples} examples, failures: {len(self.failures)} [{statuses}]"
        )

    def save(self) -> None:
        """Appends the summary to $FUZZ_REPORT (a JSON-lines file), when set."""
        target = os.environ.get("FUZZ_REPORT")
        if not target:
            return
        line = {
            "kind": self.kind,
            "service": self.service,
            "backend": self.backend,
            "operations": len(self.operations),
            "examples": self.examples,
            "failures": len(self.failures),
            "statuses": dict(sorted(self.statuses.items())),
        }
        with Path(target).open("a") as out:
            out.write(json.dumps(line) + "\n")
