"""The subgraphs this system is made of, and where each one's parts live."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUBGRAPHS_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Subgraph:
    name: str
    port: int
    settings_class: str
    owns_tables: bool = True

    @property
    def package(self) -> str:
        return f"subgraphs.{self.name}"

    @property
    def app_factory(self) -> str:
        return f"{self.package}.app:create_app"

    @property
    def migrations_dir(self) -> Path:
        return SUBGRAPHS_DIR / self.name / "migrations"

    def settings(self, **overrides: Any):
        module = importlib.import_module(f"{self.package}.config")
        return getattr(module, self.settings_class)(**overrides)

    def schema(self):
        return importlib.import_module(f"{self.package}.graph").schema


SUBGRAPHS: dict[str, Subgraph] = {
    subgraph.name: subgraph
    for subgraph in (
        Subgraph("auth", 8001, "AuthSettings"),
        Subgraph("appointments", 8002, "AppointmentSettings"),
        Subgraph("prescriptions", 8003, "PrescriptionSettings"),
        Subgraph("admin", 8004, "AdminSettings", owns_tables=False),
    )
}


def select(names: list[str] | None) -> list[Subgraph]:
    if not names:
        return list(SUBGRAPHS.values())
    unknown = [name for name in names if name not in SUBGRAPHS]
    if unknown:
        raise SystemExit(f"unknown subgraph: {', '.join(unknown)} (known: {', '.join(SUBGRAPHS)})")
    return [SUBGRAPHS[name] for name in names]
