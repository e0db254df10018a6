"""Validate the model against every observed figure (:mod:`corridors.observed`).

:func:`validate_model` assigns the base-year demand with :func:`corridors.assign` and
compares every figure with its model counterpart (absolute and relative error, and the
figure's caveat where it is not reproduced); :func:`corridors.report.write_report` writes the HTML report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from corridors.observed import (
    TOLERANCE,
    ObservedFigure,
    compare,
    default_observed,
    demand_for_year,
    figure_table,
    figures_for,
)

__all__ = ["ValidationResult", "validate_model", "figure_volumes"]


def figure_volumes(result, figures: Sequence[ObservedFigure]) -> list[float]:
    """Model TEU/year of every figure in an :class:`~corridors.assignment.AssignmentResult`."""
    node_records = result.network.node_records
    totals = [0.0] * len(figures)
    for flow in result.flows:
        for i, fig in enumerate(figures):
            if fig.counts(flow.route, flow.segment, node_records):
                totals[i] += flow.teu
    return totals


def segment_volumes(result, figures: Sequence[ObservedFigure]) -> dict[str, list[float]]:
    """Model TEU/year of every figure by the demand segment it comes from (they add up to
    :func:`figure_volumes`)."""
    node_records = result.network.node_records
    out: dict[str, list[float]] = {}
    for flow in result.flows:
        totals = out.setdefault(str(flow.segment), [0.0] * len(figures))
        for i, fig in enumerate(figures):
            if fig.counts(flow.route, flow.segment, node_records):
                totals[i] += flow.teu
    return dict(sorted(out.items()))


def _coverage(result, figures: Sequence[ObservedFigure]) -> list[tuple[int, int]]:
    """For every figure: (demand rows with a used route counting towards it, rows of its segments)."""
    node_records = result.network.node_records
    keys = {(f.route.origin, f.route.destination, f.segment) for f in result.flows}
    out = []
    for fig in figures:
        scope = {k for k in keys if not fig.segments or k[2] in fig.segments}
        hit = {(f.route.origin, f.route.destination, f.segment) for f in result.flows
               if f.teu > 0 and fig.counts(f.route, f.segment, node_records)}
        out.append((len(hit & scope), len(scope)))
    return out


@dataclass(frozen=True)
class ValidationResult:
    """Every observed figure against the model (see :func:`validate_model`).

    Attributes
    ----------
    rows : tuple of dict
        One per figure: ``id``, ``kind``, ``name``, ``unit``, ``observed``, ``model`` (in
        the unit), ``observed_teu``, ``model_teu``, ``abs_error`` (unit), ``rel_error``,
        ``within`` (``|rel_error| <= tolerance``), ``explanation`` and the figure's metadata.
    year : int
    method : str
        Route-choice method of the assignment.
    params : CostParameters
    tolerance : float
    headline : ShareResult
        Share of China→EU TEU through Kazakhstan.
    assignment : AssignmentResult
    observed_path : str
        Where the figures came from.
    """

    rows: tuple[dict[str, Any], ...]
    year: int
    method: str
    params: Any
    tolerance: float
    headline: Any = field(repr=False)
    assignment: Any = field(repr=False)
    observed_path: str = ""

    @property
    def n_within(self) -> int:
        """Figures reproduced within the tolerance."""
        return sum(bool(r["within"]) for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "year": self.year,
            "method": self.method,
            "tolerance": self.tolerance,
            "params": self.params.as_dict(),
            "observed": self.observed_path,
            "n_figures": len(self.rows),
            "n_within": self.n_within,
            "headline": {"through": "KAZ", "from": "CHN", "to": "EU", "share": self.headline.share,
                         "through_teu": self.headline.through_teu, "total_teu": self.headline.total_teu},
            "figures": list(self.rows),
        }

    def summary(self) -> str:
        """Plain-text table for the terminal."""
        h = self.headline
        segments = sorted({s for r in self.rows for s in r.get("model_teu_by_segment", {})})
        per_segment = ["", "model TEU/year of every figure by demand segment",
                       f"{'figure':<28}" + "".join(f" {s:>13}" for s in segments)]
        for r in self.rows:
            teu = r["model_teu_by_segment"]
            per_segment.append(f"{r['id']:<28}" + "".join(f" {teu.get(s, 0.0):>13,.0f}" for s in segments))
        return "\n".join([
            f"model ({self.method}, {self.year}) against {len(self.rows)} observed figures: {self.n_within} within "
            f"{self.tolerance:.0%}",
            figure_table(list(self.rows)),
            *(per_segment if segments else []),
            "",
            f"headline: {h.share:.1%} of China->EU land TEU passes through Kazakhstan "
            f"({h.through_teu:,.0f} of {h.total_teu:,.0f} TEU/year); the Kazakh government claims 'more than 80%'",
        ])


def validate_model(
    network,
    observed: str | Path | Sequence[ObservedFigure] | None = None,
    *,
    year: int | None = None,
    method: str = "logit",
    tolerance: float = TOLERANCE,
) -> ValidationResult:
    """Compare every observed figure with the model's assignment of the base year.

    Parameters
    ----------
    network : Network
    observed : path or sequence of ObservedFigure, optional
        Default: ``observed.csv`` in the network's geodata folder.
    year : int, optional
        Base year (default: the network's model year).
    method : str
        Route choice of :func:`corridors.assign` (default ``logit``).
    tolerance : float
        Relative error within which a figure counts as reproduced.

    Returns
    -------
    ValidationResult
    """
    from corridors.assignment import assign

    if year is not None and int(year) != network.params.year:
        network = network.with_changes(params=replace(network.params, year=int(year)))
    year = network.params.year
    figures = figures_for(network, observed, year)
    result = assign(network, demand_for_year(network, year), method=method, on_unreachable="strand")
    volumes = figure_volumes(result, figures)
    coverage = _coverage(result, figures)
    by_segment = segment_volumes(result, figures)
    rows = tuple(compare(f, v, tolerance, c) | {"model_teu_by_segment": {s: t[i] for s, t in by_segment.items()}}
                 for i, (f, v, c) in enumerate(zip(figures, volumes, coverage, strict=True)))
    headline = result.share_through("KAZ", from_="CHN", to="EU")
    path = str(observed) if isinstance(observed, str | Path) else (
        str(default_observed(network)) if observed is None else "(figures given)")
    return ValidationResult(rows=rows, year=year, method=method, params=network.params, tolerance=tolerance,
                            headline=headline, assignment=result, observed_path=path)
