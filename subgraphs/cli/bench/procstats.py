"""CPU time and memory of processes, read from /proc (Linux), without psutil."""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name may hold spaces and parentheses: split after its last ')'.
    return raw[raw.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of `pid` so far (its threads included, children not)."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    # After the name: state(0) ppid(1) ... utime(11) stime(12)
    return (int(fields[11]) + int(fields[12])) / _TICKS


def memory_kib(pid: int) -> dict[str, int]:
    """{'rss': current resident KiB, 'peak': high-water mark KiB} from /proc/PID/status."""
    found: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                found["rss"] = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                found["peak"] = int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return found


def tree(root: int) -> list[int]:
    """`root` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is None:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def cpu_of(groups: dict[str, list[int]]) -> dict[str, dict[int, float]]:
    """Per group, per pid, CPU seconds so far."""
    out: dict[str, dict[int, float]] = {}
    for name, pids in groups.items():
        out[name] = {}
        for pid in pids:
            seconds = cpu_seconds(pid)
            if seconds is not None:
                out[name][pid] = seconds
    return out


def cpu_delta_ms(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU milliseconds spent per group between two `cpu_of` readings (a pid new in `after` counts whole)."""
    spent: dict[str, float] = {}
    for name, pids in after.items():
        total = 0.0
        for pid, seconds in pids.items():
            total += seconds - before.get(name, {}).get(pid, 0.0)
        spent[name] = total * 1000
    return spent
