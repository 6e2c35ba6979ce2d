"""Dependency floors (docs/pitfalls.md #11): versions with known authorization bypasses never come back.

strawberry-graphql < 0.326.1: an awaitable permission class could be bypassed, and
MaxAliasesLimiter did not count aliases inside fragments. PyJWT < 2.13.0: PyJWK's algorithm
allow-list bypass, the `crit` header ignored, a partial `iss` match accepted.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
FLOORS = {"strawberry-graphql": Version("0.326.1"), "pyjwt": Version("2.13.0")}


def locked_versions() -> dict[str, Version]:
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", (ROOT / "requirements.lock").read_text(), re.MULTILINE)
    return {name.lower().replace("_", "-"): Version(pin) for name, pin in pins}


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_the_installed_version_is_at_or_above_the_floor(package):
    assert Version(version(package)) >= FLOORS[package]


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_the_lock_pins_a_version_at_or_above_the_floor(package):
    assert locked_versions()[package] >= FLOORS[package]


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_pyproject_refuses_anything_below_the_floor(package):
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    requirement = next(Requirement(d) for d in dependencies if Requirement(d).name.lower() == package)
    # The floor itself is allowed; the last version before it is not.
    assert requirement.specifier.contains(FLOORS[package])
    below = Version(f"{FLOORS[package].major}.{FLOORS[package].minor}.{max(FLOORS[package].micro - 1, 0)}")
    if FLOORS[package].micro == 0:
        below = Version(f"{FLOORS[package].major}.{FLOORS[package].minor - 1}.99")
    assert not requirement.specifier.contains(below)
