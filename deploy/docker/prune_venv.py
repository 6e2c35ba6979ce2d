"""Remove from a virtual environment every distribution the installed project does not need at run time.

The image installs `requirements.lock` whole (it is the only lock, and `pip --require-hashes`
checks every file against it), and that lock also pins the `test` extra: pytest, linters,
validators. This script walks the project's run-time requirements (no extras) through the
installed distributions' metadata and uninstalls everything outside that closure, pip
included, so the runtime image carries only what `healthcare serve` imports.

Usage (in the builder stage): python prune_venv.py healthcare-supergraph
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

try:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
except ImportError:  # pragma: no cover - packaging is pinned in the lock; pip's copy is the fallback
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.utils import canonicalize_name

ALWAYS_REMOVED = {"pip", "setuptools", "wheel"}


def runtime_closure(root: str) -> set[str]:
    """Names of `root` and of every distribution it needs, with the extras asked for on the way."""
    installed = {canonicalize_name(dist.metadata["Name"]): dist for dist in metadata.distributions()}
    needed: set[str] = set()
    pending: list[tuple[str, frozenset[str]]] = [(canonicalize_name(root), frozenset())]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        name, extras = pending.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        dist = installed.get(name)
        if dist is None:
            raise SystemExit(f"prune_venv: {name} is required but not installed")
        needed.add(name)
        for line in dist.requires or []:
            requirement = Requirement(line)
            wanted = requirement.marker is None or any(
                requirement.marker.evaluate({"extra": extra}) for extra in (extras or {""})
            )
            if wanted:
                pending.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return needed


def main(root: str) -> int:
    needed = runtime_closure(root)
    installed = {canonicalize_name(dist.metadata["Name"]) for dist in metadata.distributions()}
    extra = sorted((installed - needed) - ALWAYS_REMOVED)
    if extra:
        print(f"prune_venv: removing {len(extra)} distributions not needed at run time: {' '.join(extra)}")
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", *extra], check=True)  # noqa: S603
    # pip last: it is what uninstalls the others.
    tools = sorted(ALWAYS_REMOVED & installed - needed)
    if tools:
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", *tools], check=True)  # noqa: S603
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "healthcare-supergraph"))
