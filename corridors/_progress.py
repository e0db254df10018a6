"""Progress bars for long steps (tqdm on stderr) and the switch the command line sets.

A bar shows only when stderr is a terminal (or a Jupyter kernel's), so pipes, CI logs and
files stay clean, and never after ``corridors -q``.  Modules call :func:`progress_bar` for
any loop that can take more than a few seconds (calibration, sweeps, TNTP iterations,
backcasts, building choice sets with an empty cache)::

    from corridors._progress import progress_bar

    for draw in progress_bar(draws, desc="sweep", unit="draw"):
        ...

    with progress_bar(total=n_iterations, desc="equilibrium", unit="it") as bar:
        ...
        bar.set_postfix_str(f"gap {gap:.1e}")
        bar.update()

Log records of the ``corridors`` logger go through :class:`TqdmLoggingHandler` (set up by
the CLI), which writes them above a running bar instead of through it.

tqdm is imported when a bar is made, not with this module.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["progress_bar", "progress_enabled", "set_progress", "TqdmLoggingHandler"]

#: True or False: forced on or off (``corridors -q`` sets False); None: on when stderr is a terminal.
_FORCED: bool | None = None


def set_progress(enabled: bool | None) -> None:
    """Force progress bars on or off, or (None) back to automatic.

    Parameters
    ----------
    enabled : bool or None
        False hides every bar (``corridors -q``); True shows them even when stderr is not
        a terminal; None shows them when stderr is a terminal.
    """
    global _FORCED
    _FORCED = enabled


def progress_enabled() -> bool:
    """Return whether a progress bar made now would show.

    ``CORRIDORS_PROGRESS=0`` in the environment hides bars as ``-q`` does; otherwise bars
    follow :func:`set_progress`, else whether stderr is a terminal or a Jupyter kernel's.
    """
    if os.environ.get("CORRIDORS_PROGRESS", "").strip() == "0":
        return False
    if _FORCED is not None:
        return _FORCED
    stream = sys.stderr
    if stream is None:
        return False
    # A Jupyter kernel's stderr is not a tty but is watched by a person: show bars there too.
    if type(stream).__module__.startswith("ipykernel"):
        return True
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced stream
        return False


def progress_bar(
    iterable: Iterable[Any] | None = None,
    *,
    total: float | None = None,
    desc: str | None = None,
    unit: str = "it",
    leave: bool = False,
    enabled: bool | None = None,
    **kwargs: Any,
):
    """Return a tqdm bar on stderr, disabled unless :func:`progress_enabled`.

    A disabled bar is a working no-op: iterating, ``update``, ``set_postfix_str`` and the
    context manager all work, so callers never branch on whether bars are shown.

    Parameters
    ----------
    iterable : iterable, optional
        Wrapped and returned item by item (as ``tqdm(iterable)``).
    total : float, optional
        Number of steps (default ``len(iterable)`` when it has one).
    desc : str, optional
        Label in front of the bar, e.g. "sweep".
    unit : str, default "it"
        Name of one step, e.g. "draw", "iteration".
    leave : bool, default False
        Keep the finished bar on screen (the command's summary line usually says enough).
    enabled : bool, optional
        Override the automatic choice for this bar (e.g. the ``progress=`` argument of an
        API function); ``-q`` and ``CORRIDORS_PROGRESS=0`` still hide it.  None follows
        :func:`progress_enabled`.
    **kwargs
        Passed to :class:`tqdm.tqdm`.

    Returns
    -------
    tqdm.tqdm
    """
    from tqdm import tqdm

    if enabled is None:
        show = progress_enabled()
    else:  # an explicit request still yields to -q and CORRIDORS_PROGRESS=0
        show = enabled and _FORCED is not False and os.environ.get("CORRIDORS_PROGRESS", "").strip() != "0"
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        leave=leave,
        file=sys.stderr,
        disable=not show,
        dynamic_ncols=True,
        mininterval=0.2,
        **kwargs,
    )


class TqdmLoggingHandler(logging.Handler):
    """Write log records to stderr through ``tqdm.write``, so a running bar is not torn."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)
