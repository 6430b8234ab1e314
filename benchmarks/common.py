"""Helpers shared by the benchmark scripts: machine line, peak memory, table printing."""

from __future__ import annotations

import os
import platform
import resource
import subprocess


def commit() -> str:
    """Return the short git commit of the working tree, or 'unknown'."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> str:
    """Return a one-line description of this machine."""
    return f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"


def peak_mb() -> float:
    """Return this process's peak resident memory in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_table(rows: list[dict]) -> None:
    """Print rows as an aligned plain-text table."""
    if not rows:
        return
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row[c]).ljust(widths[c]) for c in columns))
