"""Fitted objects a run leaves in its store (e.g. the text encoder), pickled and written atomically.

The store folder is trusted local data written by InterestLens itself; never load a store you did
not create, as unpickling runs code.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from interestlens.tools.atomic import atomic_write_bytes
from interestlens.tools.errors import StoreError

ARTIFACT_DIR = "artifacts"


def save_artifact(store_dir: Path, name: str, obj: Any) -> Path:
    """Pickle ``obj`` into ``<store>/artifacts/<name>.pkl`` atomically."""
    return atomic_write_bytes(Path(store_dir) / ARTIFACT_DIR / f"{name}.pkl",
                              pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def load_artifact(store_dir: Path, name: str) -> Any:
    """Load an artifact saved by ``save_artifact``; ``StoreError`` when missing or unreadable."""
    path = Path(store_dir) / ARTIFACT_DIR / f"{name}.pkl"
    if not path.is_file():
        raise StoreError(f"{store_dir}: no {name} in this store; run `interestlens run` first")
    try:
        return pickle.loads(path.read_bytes())
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as err:
        raise StoreError(f"{path}: unreadable ({err})") from err
