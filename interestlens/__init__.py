"""InterestLens: find, explain and track user-interest segments in behaviour data.

``from interestlens import Assistant`` is the Python API; names load lazily so that
``interestlens --help`` imports no heavy library.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
__all__ = ["Assistant", "InterestLensError", "RunResult", "Settings"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("interestlens.agent"), name)
    raise AttributeError(f"module 'interestlens' has no attribute {name!r}")
