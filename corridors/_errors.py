"""Errors a user can act on.

Every error raised for bad input subclasses :class:`CorridorsError` (itself a
``ValueError``) and renders as one line that names the file, the feature and the
field at fault.  The CLI prints that line on stderr and exits with code 2;
anything else is a programming error and keeps its traceback.
"""

from __future__ import annotations

__all__ = [
    "CorridorsError",
    "LayerError",
    "QueryError",
    "ScenarioError",
    "TNTPError",
    "suggest",
]


class CorridorsError(ValueError):
    """Base class of all user-facing errors of corridors."""


class LayerError(CorridorsError):
    """A geo layer, demand table or parameter file is malformed or inconsistent."""


class QueryError(CorridorsError):
    """A query names something the model does not know (node, country, region, method)."""


class ScenarioError(CorridorsError):
    """A scenario file is malformed or describes an impossible change."""


class TNTPError(CorridorsError):
    """A TNTP network, trips or flow file is malformed."""


def suggest(word: str, choices) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""``."""
    import difflib

    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""
