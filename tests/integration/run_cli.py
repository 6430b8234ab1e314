"""Run the CLI as a user would, in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

N_USERS = 120


def interestlens(*args, cwd=None):
    """Return the completed ``python -m interestlens ARGS`` process."""
    return subprocess.run([sys.executable, "-m", "interestlens", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=900)
