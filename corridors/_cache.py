"""A small on-disk cache of pickled results (validated layers, route sets).

The cache lives under ``$CORRIDORS_CACHE_DIR`` (default ``$XDG_CACHE_HOME/corridors`` or
``~/.cache/corridors``); ``CORRIDORS_NO_CACHE=1`` turns it off.  Entries are keyed by the
caller (a hash of every input); an unreadable or stale entry is simply recomputed, and a
read-only home is no reason to fail.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

__all__ = ["cache_dir", "enabled", "read", "write"]


def enabled() -> bool:
    """False when ``CORRIDORS_NO_CACHE`` is set."""
    return not os.environ.get("CORRIDORS_NO_CACHE")


def cache_dir() -> Path:
    """The cache folder."""
    env = os.environ.get("CORRIDORS_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "corridors"


def read(name: str) -> Any | None:
    """The cached object called ``name``, or None if absent or unreadable."""
    try:
        with (cache_dir() / name).open("rb") as handle:
            return pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None


def write(name: str, value: Any) -> None:
    """Store ``value`` as ``name`` (atomically: temporary file, then rename)."""
    path = cache_dir() / name
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass
