"""Errors a user can act on.

Every error raised for bad input subclasses :class:`CorridorsError` (itself a
``ValueError``) and renders as one line that names the file, the feature and the
field at fault.  The CLI prints that line on stderr and exits with code 2;
anything else is a programming error and keeps its traceback.
"""

from __future__ import annotations

import re

__all__ = [
    "one_line",
    "CorridorsError",
    "LayerError",
    "QueryError",
    "ScenarioError",
    "TNTPError",
    "suggest",
]


# Line breaks and other control characters (including Unicode line separators) that
# input files or options may carry into a message.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` with line breaks and control characters escaped (``\\n``), so that a
    message quoting the input stays on one line of a terminal or log."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class CorridorsError(ValueError):
    """Base class of all user-facing errors of corridors.

    Its text is always one line: control characters quoted from the input are escaped.
    """

    def __str__(self) -> str:
        return one_line(super().__str__())


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
