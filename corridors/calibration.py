"""Calibrate the route choice to observed volumes (:mod:`corridors.observed`).

Calibration
-----------
The choice set (the ``k_routes`` distinct least-cost routes of every OD pair) is built
once with :func:`corridors.assignment.route_sets`.  An evaluation of the objective only
recomputes each route's generalised cost, ``money_usd + value_of_time x time_h +
border_penalty x crossings + transfer_penalty x transfers`` (USD per TEU), and the
path-size logit shares (as :func:`corridors.routing.logit_probabilities`, vectorised over
all OD pairs), so it costs microseconds.  Because the value of time and the penalties also
decide which routes are the k cheapest, the choice set is rebuilt at their fitted values
and the fit repeated until the choice set no longer changes (an outer fixed-point loop,
usually two rounds); the logit scale and the path-size weight need no rebuild.

The objective is weighted least squares on log volumes::

    S(p) = sum_i w_i * (ln(1 + m_i(p)) - ln(1 + o_i))**2

with ``o_i`` the observed TEU/year, ``m_i`` the model's TEU/year under the figure's
mapping and ``w_i`` the figure's ``weight`` (0 = reported, not fitted).  It is minimised
by :func:`scipy.optimize.least_squares` (trust-region reflective, bounds) in
log-parameter space (the logit scale and the value of time; the path-size weight and the
penalties as they are) from a fixed grid of starting points inside the bounds, so the
result never depends on the parameters the network was loaded with.

Route costs and shares come from :mod:`corridors.kernel` (the same formulas as
:func:`corridors.assignment.assign`); :mod:`corridors.validation` compares the calibrated
model with every figure, :mod:`corridors.report` writes parameter files and HTML.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from corridors._errors import QueryError, suggest
from corridors.observed import (
    ObservedFigure,
    compare,
    demand_for_year,
    figure_table,
    figures_for,
)

__all__ = [
    "DEFAULT_BOUNDS",
    "DEFAULT_FIT",
    "ChoiceSet",
    "CalibrationResult",
    "build_choice_set",
    "calibrate",
    "format_se",
]

#: Parameters fitted by default: the logit scale of every demand segment (``theta:<segment>``)
#: and the gateway constants the shipped parameters declare (``asc:<segment>:<node>``).
DEFAULT_FIT = ("segments",)

#: Bounds of a segment's logit scale (as the common one, A203) and of a gateway constant (A215).
SEGMENT_THETA_BOUNDS = (1.0e-4, 1.0e-2)
ASC_BOUNDS = (-2000.0, 2000.0)

#: Bounds of the fitted parameters; see geodata/SOURCES.md, A202 (value of time) and A203 (logit scale).
#: The two penalties can be fitted once :class:`~corridors.network.CostParameters` has them (USD per
#: TEU added to the generalised cost of every border-crossing link and of every gauge or mode
#: transfer); until then asking to fit them is an error.
DEFAULT_BOUNDS: dict[str, tuple[float, float]] = {
    "logit_theta_per_usd": (1.0e-4, 1.0e-2),
    "value_of_time_usd_per_teu_h": (0.5, 30.0),
    "path_size_beta": (0.0, 2.0),
    "border_penalty_usd": (0.0, 1000.0),
    "transfer_penalty_usd": (0.0, 1000.0),
    "sanctions_transit_usd": (0.0, 5000.0),
}

#: Parameters that change route costs but not which routes exist: no choice set is rebuilt for them.
_ROUTE_INDEPENDENT = frozenset({"logit_theta_per_usd", "path_size_beta", "sanctions_transit_usd"})

#: Parameters fitted on a log scale (strictly positive); the others are fitted as they are.
_LOG_SCALE = frozenset({"logit_theta_per_usd", "value_of_time_usd_per_teu_h"})
_ALIASES = {"theta": "logit_theta_per_usd", "vot": "value_of_time_usd_per_teu_h", "beta": "path_size_beta",
            "border": "border_penalty_usd", "transfer": "transfer_penalty_usd", "sanctions": "sanctions_transit_usd"}


@dataclass(frozen=True)
class ChoiceSet:
    """The routes of every demand row as flat arrays, for fast re-evaluation.

    Routes of one demand row are contiguous; ``starts[g]`` is the first route of row ``g``.

    Attributes
    ----------
    rows : tuple of dict
        Demand rows with at least one route (origin, destination, teu, segment).
    routes : tuple of Route
        All routes, row after row.
    group : numpy.ndarray
        Row index of every route.
    starts : numpy.ndarray
        Index of the first route of every row.
    teu : numpy.ndarray
        TEU/year of every row.
    money_usd, time_h : numpy.ndarray
        Money (USD per TEU) and time (hours) of every route.
    log_path_size : numpy.ndarray
        ``ln PS`` of every route within its choice set.
    incidence : numpy.ndarray
        ``(figures, routes)``: 1.0 where the route's TEU count towards the figure.
    figures : tuple of ObservedFigure
    value_of_time_usd_per_teu_h : float
        Value of time the routes were enumerated with.
    stranded_teu : float
        TEU/year of demand rows with no route.
    crossings, transfers : numpy.ndarray
        Border crossings and gauge/mode transfers of every route (for the penalties).
    russia_active : bool
        Whether the Russia part of the sanctions-transit term applies in the year of the rows.
    """

    rows: tuple[dict, ...]
    routes: tuple[Any, ...] = field(repr=False)
    group: Any = field(repr=False)
    starts: Any = field(repr=False)
    teu: Any = field(repr=False)
    money_usd: Any = field(repr=False)
    time_h: Any = field(repr=False)
    log_path_size: Any = field(repr=False)
    incidence: Any = field(repr=False)
    figures: tuple[ObservedFigure, ...] = ()
    value_of_time_usd_per_teu_h: float = 0.0
    stranded_teu: float = 0.0
    crossings: Any = field(default=None, repr=False)
    transfers: Any = field(default=None, repr=False)
    russia_active: bool = False

    @property
    def signature(self) -> tuple:
        """The routes (physical links) of every OD pair: equal signatures, equal choice sets."""
        return tuple(sorted({(r.origin, r.destination, r.link_ids) for r in self.routes}))

    @property
    def row_segments(self) -> tuple:
        """Demand segment of every row (None where the row has none)."""
        return tuple(r.get("segment") for r in self.rows)

    def through(self, segment: str, node: str):
        """1.0 for the routes of ``segment``'s rows that pass ``node``, else 0.0 (memoised)."""
        import numpy as np

        memo = self.__dict__.setdefault("_through", {})
        if (segment, node) not in memo:
            segs = self.row_segments
            memo[segment, node] = np.array([float(segs[g] == segment and node in r.node_ids)
                                            for r, g in zip(self.routes, self.group, strict=True)])
        return memo[segment, node]

    def sanctioned_routes(self):
        """1.0 for the routes the sanctions-transit term applies to in this year, else 0.0 (memoised)."""
        import numpy as np

        from corridors.network import sanctioned_route

        if "_sanctioned" not in self.__dict__:
            segs = self.row_segments
            self.__dict__["_sanctioned"] = np.array([float(sanctioned_route(r, segs[g], self.russia_active))
                                                     for r, g in zip(self.routes, self.group, strict=True)])
        return self.__dict__["_sanctioned"]

    def probabilities(self, theta: float, vot: float, beta: float, *, border_penalty: float = 0.0,
                      transfer_penalty: float = 0.0, group_theta=None, asc_usd=None):
        """Path-size logit shares of every route within its demand row.

        Parameters
        ----------
        theta : float
            Logit scale, per USD.
        vot : float
            Value of time, USD per TEU-hour.
        beta : float
            Path-size weight.
        border_penalty, transfer_penalty : float
            USD per TEU added per border crossing and per gauge/mode transfer.
        group_theta, asc_usd : numpy.ndarray, optional
            Logit scale per row and constants per route (:func:`corridors.kernel.logit_shares`).

        Returns
        -------
        numpy.ndarray
            Shares (0..1), summing to 1 over the routes of each row.
        """
        from corridors import kernel

        cost = kernel.generalised_cost(self.money_usd, self.time_h, vot, kernel.penalties(
            self.crossings, self.transfers, border_penalty, transfer_penalty))
        return kernel.logit_shares(cost, self.log_path_size, theta, beta, self.starts, self.group,
                                   group_theta=group_theta, asc_usd=asc_usd)

    def volumes(self, theta: float, vot: float, beta: float, **penalties: Any):
        """Model TEU/year of every figure under the given route-choice parameters."""
        flows = self.teu[self.group] * self.probabilities(theta, vot, beta, **penalties)
        return self.incidence @ flows


def build_choice_set(network, figures: Sequence[ObservedFigure], rows: Sequence[dict] | None = None) -> ChoiceSet:
    """Enumerate the routes of every demand row once and lay them out as arrays.

    Parameters
    ----------
    network : Network
        Its parameters (value of time, ``k_routes``, ``max_detour``) decide the routes.
    figures : sequence of ObservedFigure
    rows : sequence of dict, optional
        Demand rows (default: those of the network's model year).

    Returns
    -------
    ChoiceSet
    """
    import numpy as np

    from corridors.assignment import route_key, route_sets
    from corridors.network import russia_term_active
    from corridors.routing import path_size

    rows = demand_for_year(network) if rows is None else [r for r in rows if r["teu"] > 0]
    sets = route_sets(network, {route_key(r) for r in rows}, strict=False)
    kept: list[dict] = []
    routes: list[Any] = []
    group: list[int] = []
    starts: list[int] = []
    log_ps: list[float] = []
    crossings: list[int] = []
    transfers: list[int] = []
    edges = network.graph.edges
    incidence: list[list[bool]] = []
    stranded = 0.0
    sizes_of: dict[tuple, list[float]] = {}
    for row in rows:
        key = route_key(row)
        choice = sets.get(key) or []
        if not choice:
            stranded += row["teu"]
            continue
        if key not in sizes_of:
            sizes_of[key] = path_size(choice)
        starts.append(len(routes))
        for route, size in zip(choice, sizes_of[key], strict=True):
            routes.append(route)
            group.append(len(kept))
            log_ps.append(math.log(max(size, 1e-12)))
            crossings.append(len(route.crossings))
            transfers.append(sum(1 for u, v in route.edges if edges[u, v].get("kind") == "transfer"))
            incidence.append([f.counts(route, row.get("segment"), network.node_records) for f in figures])
        kept.append(row)
    if not kept:
        raise QueryError("no demand row has a route; nothing to calibrate")
    return ChoiceSet(
        rows=tuple(kept), routes=tuple(routes), group=np.array(group, dtype=np.intp),
        starts=np.array(starts, dtype=np.intp), teu=np.array([r["teu"] for r in kept], dtype=float),
        money_usd=np.array([r.money_usd for r in routes], dtype=float),
        time_h=np.array([r.time_h for r in routes], dtype=float), log_path_size=np.array(log_ps, dtype=float),
        incidence=np.array(incidence, dtype=float).reshape(len(routes), len(figures)).T.copy(),
        figures=tuple(figures), value_of_time_usd_per_teu_h=network.params.value_of_time_usd_per_teu_h,
        stranded_teu=stranded, crossings=np.array(crossings, dtype=float), transfers=np.array(transfers, dtype=float),
        russia_active=russia_term_active(network, network.params.year),
    )


# ---------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CalibrationResult:
    """The outcome of :func:`calibrate`.

    Attributes
    ----------
    params : CostParameters
        The calibrated parameters (the others as loaded).
    fitted : dict
        Fitted parameter name -> value.
    start : dict
        Parameter values the network was loaded with (for comparison; not the start of
        the search, which is a fixed grid inside ``bounds``).
    bounds : dict
        Parameter name -> (lower, upper).
    year : int
        Base year of the observed figures and the demand.
    figures : tuple of ObservedFigure
    model_teu : tuple of float
        TEU/year of every figure at the optimum (on the final choice set).
    start_teu : tuple of float
        TEU/year of every figure with the parameters the network was loaded with.
    objective : float
        ``S`` at the optimum (weighted sum of squared log errors).
    start_objective : float
        ``S`` with the parameters the network was loaded with.
    evaluations : int
        Objective (residual vector) evaluations, all rounds and starts.
    rounds : int
        Rounds of the outer loop (choice set rebuilt at the fitted value of time).
    converged : bool
        True if the last round's choice set equals the one before (fixed point reached).
    message : str
        The optimiser's message of the last round.
    elasticities : dict
        Parameter -> figure id -> d ln(model) / d ln(parameter), by central differences
        at ±10 % of the parameter.
    objective_pm10 : dict
        Parameter -> (S at -10 %, S at +10 %).
    rel_std_error : dict
        Parameter -> approximate standard error ``sqrt(diag(s² (JᵀJ)⁻¹))``: of the
        log-parameter, i.e. relative, for the logit scale and the value of time; in the
        parameter's own unit for the path-size weight and the penalties (USD/TEU); NaN if
        the figures do not determine it.
    runtime_s : float
        Wall-clock seconds of the whole calibration (route enumeration included).
    n_routes, n_rows : int
        Size of the final choice set.
    stranded_teu : float
        TEU/year of demand with no route.
    in_fit : tuple of bool
        Per figure: used in the fit (weight > 0 and counted by some route).
    warnings : tuple of str
        One line each; the first names every parameter that is not identified.
    not_identified : tuple of str
        Fitted parameters the figures do not determine (at a bound, or no standard
        error); they keep their shipped values.
    covariance_names, covariance :
        The identified parameters and the covariance ``s² (JᵀJ)⁻¹`` of their fitted
        coordinates (log of the logit scales and the value of time, USD for constants).
    by_segment : dict
        Segment -> model TEU of every figure from that segment's demand.
    """

    params: Any
    fitted: dict[str, float]
    start: dict[str, float]
    bounds: dict[str, tuple[float, float]]
    year: int
    figures: tuple[ObservedFigure, ...]
    model_teu: tuple[float, ...]
    start_teu: tuple[float, ...]
    objective: float
    start_objective: float
    evaluations: int
    rounds: int
    converged: bool
    message: str
    elasticities: dict[str, dict[str, float]]
    objective_pm10: dict[str, tuple[float, float]]
    rel_std_error: dict[str, float]
    runtime_s: float
    n_routes: int
    n_rows: int
    stranded_teu: float = 0.0
    in_fit: tuple[bool, ...] = ()
    warnings: tuple[str, ...] = ()
    not_identified: tuple[str, ...] = ()
    covariance_names: tuple[str, ...] = ()
    covariance: list = field(default_factory=list)
    by_segment: dict[str, tuple[float, ...]] = field(default_factory=dict)

    def table(self) -> list[dict[str, Any]]:
        """One dict per figure: observed and model in the figure's unit and in TEU, errors, and
        ``in_fit`` (False for weight 0 and for figures no route of the choice set counts towards)."""
        out = []
        in_fit = self.in_fit or (True,) * len(self.figures)
        for fig, model, before, used in zip(self.figures, self.model_teu, self.start_teu, in_fit, strict=True):
            out.append(compare(fig, model) | {"model_before_teu": before, "in_fit": used})
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "year": self.year,
            "fitted": self.fitted,
            "start": self.start,
            "bounds": {k: list(v) for k, v in self.bounds.items()},
            "params": self.params.as_dict(),
            "objective": self.objective,
            "start_objective": self.start_objective,
            "evaluations": self.evaluations,
            "rounds": self.rounds,
            "converged": self.converged,
            "message": self.message,
            "elasticities": self.elasticities,
            "objective_pm10": {k: list(v) for k, v in self.objective_pm10.items()},
            "rel_std_error": {k: (None if math.isnan(v) else v) for k, v in self.rel_std_error.items()},
            "runtime_s": self.runtime_s,
            "n_routes": self.n_routes,
            "n_rows": self.n_rows,
            "stranded_teu": self.stranded_teu,
            "warnings": list(self.warnings),
            "not_identified": list(self.not_identified),
            "covariance": {"names": list(self.covariance_names), "matrix": self.covariance},
            "by_segment": {k: list(v) for k, v in self.by_segment.items()},
            "figures": self.table(),
        }

    def summary(self) -> str:
        """Plain-text report for the terminal."""
        lines = [
            f"calibrated {', '.join(self.fitted)} on {sum(self.in_fit)} observed figures "
            f"of {self.year} ({self.n_rows} demand rows, {self.n_routes} routes): objective {self.start_objective:.4f}"
            f" -> {self.objective:.4f}; {self.rounds} round(s), {'converged' if self.converged else 'NOT converged'}"
            f", {self.evaluations} evaluations, {self.runtime_s:.2f} s",
            "",
            f"{'parameter':<30} {'loaded':>12} {'calibrated':>12} {'bounds':>22} {'s.e.':>10}",
        ]
        for name, value in self.fitted.items():
            lo, hi = self.bounds[name]
            se = self.rel_std_error.get(name, math.nan)
            lines.append(f"{name:<30} {self.start[name]:>12.6g} {value:>12.6g} {f'[{lo:g}, {hi:g}]':>22} "
                         f"{format_se(name, se):>10}")
        lines += [f"warning: {w}" for w in self.warnings]
        lines += ["", figure_table(self.table(), before=True)]
        if self.by_segment:
            segs = list(self.by_segment)
            head = f"{'figure':<24} {'observed':>11} {'model':>11} {'error':>8}" + "".join(f" {s:>12}" for s in segs)
            lines += ["", "fit per segment: model TEU/year of every figure by the demand segment it comes from", head]
            for i, row in enumerate(self.table()):
                err = row.get("rel_error")
                err_text = "-" if err is None or (isinstance(err, float) and math.isnan(err)) else f"{err:+.1%}"
                lines.append(f"{row['id']:<24} {row['observed_teu']:>11,.0f} {row['model_teu']:>11,.0f} "
                             f"{err_text:>8}" + "".join(f" {self.by_segment[s][i]:>12,.0f}" for s in segs))
        lines += ["",
                  "sensitivity: elasticity d ln(model) / d ln(parameter) at ±10 %; objective at -10 % / +10 %"]
        head = f"{'figure':<28}" + "".join(f" {_short(n):>12}" for n in self.fitted)
        lines.append(head)
        for fig in self.figures:
            lines.append(f"{fig.id:<28}" + "".join(f" {self.elasticities[n][fig.id]:>12.3f}" for n in self.fitted))
        lines.append(f"{'objective -10 % / +10 %':<28}" + "".join(
            f" {self.objective_pm10[n][0]:>5.3f}/{self.objective_pm10[n][1]:<6.3f}" for n in self.fitted))
        return "\n".join(lines)


def format_se(name: str, se: float) -> str:
    """Standard error as text: relative for log-scale parameters, in the parameter's unit otherwise."""
    if math.isnan(se):
        return "-"
    return f"{se:.0%}" if _is_log(name) else f"±{se:.3g}"


def _short(name: str) -> str:
    return {v: k for k, v in _ALIASES.items()}.get(name, name)


def _is_log(name: str) -> bool:
    return name in _LOG_SCALE or name.startswith("theta:")


def _bounds_of(name: str, limits: dict[str, tuple[float, float]]) -> tuple[float, float]:
    if name in limits:
        return limits[name]
    return SEGMENT_THETA_BOUNDS if name.startswith("theta:") else ASC_BOUNDS


def _segment_names(params, rows: Sequence[dict]) -> tuple[str, ...]:
    """``theta:<segment>`` of every segment with demand, and the declared gateway constants."""
    from corridors.layers import SEGMENTS

    segments = sorted({r.get("segment") for r in rows if r.get("segment") in SEGMENTS})
    names = [f"theta:{s}" for s in segments]
    names += [f"asc:{seg}:{node}" for seg, _, consts in params.segments if seg in segments for node, _ in consts]
    if "eu" in segments and getattr(params, "sanctions_transit_usd", 0.0) > 0.0:
        names.append("sanctions_transit_usd")  # declared (non-zero) in parameters.toml: fitted with the segments
    return tuple(names)


def _resolve_fit(fit: Iterable[str], params_type: type | None = None, params=None,
                 rows: Sequence[dict] = ()) -> tuple[str, ...]:
    names = []
    from corridors.layers import SEGMENTS

    for name in fit:
        name = _ALIASES.get(name.strip(), name.strip())
        if name == "segments":
            # without demand of a known segment, the common scale plays their part
            found = _segment_names(params, rows) or ("logit_theta_per_usd",)
            names += [n for n in found if n not in names]
            continue
        if name.startswith(("theta:", "asc:")):
            parts = name.split(":")
            if parts[1] not in SEGMENTS or len(parts) != (2 if parts[0] == "theta" else 3):
                raise QueryError(f"cannot fit '{name}': expected theta:<segment> or asc:<segment>:<node> with a "
                                 f"segment of {', '.join(SEGMENTS)}")
            if name not in names:
                names.append(name)
            continue
        if name not in DEFAULT_BOUNDS:
            raise QueryError(f"cannot fit parameter '{name}'{suggest(name, list(DEFAULT_BOUNDS) + list(_ALIASES))}; "
                             f"expected some of {', '.join(_ALIASES)}, segments, theta:<segment>, "
                             "asc:<segment>:<node>")
        from corridors.network import CostParameters

        if name not in (params_type or CostParameters).__dataclass_fields__:
            raise QueryError(f"cannot fit '{name}': it is not a model parameter yet (CostParameters has no such "
                             "field; see docs/calibration.md)")
        if name not in names:
            names.append(name)
    if not names:
        raise QueryError("nothing to fit")
    return tuple(names)


def _to_x(name: str, value: float) -> float:
    return math.log(value) if _is_log(name) else value


def _from_x(name: str, x: float) -> float:
    return math.exp(x) if _is_log(name) else x


def _base_values(params, rows: Sequence[dict]) -> dict[str, float]:
    """Every parameter the objective reads, at the loaded values (segment keys only where declared)."""
    base = {n: float(getattr(params, n)) for n in DEFAULT_BOUNDS if hasattr(params, n)}
    for seg, theta, consts in getattr(params, "segments", ()):
        if theta is not None:
            base[f"theta:{seg}"] = float(theta)
        base.update({f"asc:{seg}:{node}": float(v) for node, v in consts})
    return base


def shipped_value(name: str, base: dict[str, float]) -> float:
    """The loaded value of a fitted parameter (a segment without its own scale: the common one)."""
    if name in base:
        return base[name]
    return base["logit_theta_per_usd"] if name.startswith("theta:") else 0.0


class _Objective:
    """Weighted log residuals of the fitted figures on one choice set."""

    def __init__(self, choice: ChoiceSet, names: tuple[str, ...], base: dict[str, float]):
        import numpy as np

        self.choice = choice
        self.names = names
        self.base = base
        weights = np.array([f.weight for f in choice.figures], dtype=float)
        # A figure no route of the choice set counts towards is zero whatever the parameters:
        # it carries no information about them and is left out of the fit (and reported).
        self.reachable = choice.incidence.any(axis=1)
        self.fitted = (weights > 0) & self.reachable
        self.sqrt_w = np.sqrt(weights[self.fitted])
        self.log_obs = np.log1p([f.observed_teu for f in choice.figures])[self.fitted]
        self.calls = 0

    def params(self, x) -> dict[str, float]:
        values = dict(self.base)
        for name, xi in zip(self.names, x, strict=True):
            values[name] = _from_x(name, float(xi))
        return values

    def segment_arrays(self, values: dict[str, float]):
        """Per-row logit scale and per-route constants, or (None, None) without segment keys."""
        import numpy as np

        keys = [k for k in values if k.startswith(("theta:", "asc:"))]
        sanctions = values.get("sanctions_transit_usd", 0.0)
        if not keys and not sanctions:
            return None, None
        common = values["logit_theta_per_usd"]
        if not hasattr(self, "_seg_index"):
            segs = self.choice.row_segments
            self._seg_names = sorted({str(x) for x in segs})
            self._seg_index = np.array([self._seg_names.index(str(x)) for x in segs], dtype=np.intp)
        thetas = np.array([values.get(f"theta:{n}", common) for n in self._seg_names])
        asc = None
        for key in keys:
            if key.startswith("asc:") and values[key] != 0.0:
                _, seg, node = key.split(":")
                term = values[key] * self.choice.through(seg, node)
                asc = term if asc is None else asc + term
        if sanctions:
            term = sanctions * self.choice.sanctioned_routes()
            asc = term if asc is None else asc + term
        return thetas[self._seg_index], asc

    def volumes(self, values: dict[str, float]):
        group_theta, asc = self.segment_arrays(values)
        return self.choice.volumes(values["logit_theta_per_usd"], values["value_of_time_usd_per_teu_h"],
                                   values["path_size_beta"], border_penalty=values.get("border_penalty_usd", 0.0),
                                   transfer_penalty=values.get("transfer_penalty_usd", 0.0),
                                   group_theta=group_theta, asc_usd=asc)

    def residuals(self, x):
        import numpy as np

        self.calls += 1
        model = self.volumes(self.params(x))[self.fitted]
        return self.sqrt_w * (np.log1p(model) - self.log_obs)

    def value(self, values: dict[str, float]) -> float:
        import numpy as np

        model = self.volumes(values)[self.fitted]
        return float(np.sum((self.sqrt_w * (np.log1p(model) - self.log_obs)) ** 2))


def _fit_once(objective: _Objective, bounds: dict[str, tuple[float, float]]):
    """Minimise from a fixed grid of starts (quartiles of each bound); return the best."""
    import itertools

    import numpy as np
    from scipy.optimize import least_squares

    lower = np.array([_to_x(n, _bounds_of(n, bounds)[0]) for n in objective.names])
    upper = np.array([_to_x(n, _bounds_of(n, bounds)[1]) for n in objective.names])
    # A grid of starts (quartiles of each bound) for up to three parameters; beyond that
    # (3^n starts would cost too much) the midpoint and the two joint quartiles.
    if len(objective.names) <= 3:
        grid = [np.linspace(lo, hi, 5)[1:4] for lo, hi in zip(lower, upper, strict=True)]
        starts = list(itertools.product(*grid))
    else:
        starts = [lower + q * (upper - lower) for q in (0.5, 0.25, 0.75)]
    from corridors._progress import progress_bar

    starts = progress_bar(starts, total=len(starts), desc="calibrate", unit="start")
    best = None
    for start in starts:
        result = least_squares(objective.residuals, np.array(start), bounds=(lower, upper), method="trf",
                               x_scale="jac", xtol=1e-10, ftol=1e-12, gtol=1e-10, max_nfev=400)
        if best is None or result.cost < best.cost - 1e-12:
            best = result
    return best


def calibrate(
    network,
    observed: str | Path | Sequence[ObservedFigure] | None = None,
    *,
    year: int | None = None,
    fit: Iterable[str] = DEFAULT_FIT,
    bounds: dict[str, tuple[float, float]] | None = None,
    max_rounds: int = 5,
) -> CalibrationResult:
    """Fit the route-choice parameters to observed volumes.

    Parameters
    ----------
    network : Network
        From :func:`corridors.load_network`; its demand rows of ``year`` are assigned.
    observed : path or sequence of ObservedFigure, optional
        Default: ``observed.csv`` in the network's geodata folder.
    year : int, optional
        Base year (default: the network's model year).  Only observed figures and
        demand rows of this year are used.
    fit : iterable of str
        Parameters to fit: any of ``logit_theta_per_usd`` (``theta``),
        ``value_of_time_usd_per_teu_h`` (``vot``), ``path_size_beta`` (``beta``), and, once the
        network's parameters have them, ``border_penalty_usd`` (``border``) and
        ``transfer_penalty_usd`` (``transfer``).
    bounds : dict, optional
        Name -> (lower, upper); default :data:`DEFAULT_BOUNDS` (see SOURCES.md A202-A204).
    max_rounds : int
        Maximum rounds of the outer loop that rebuilds the choice set at the fitted value
        of time.

    Returns
    -------
    CalibrationResult

    Raises
    ------
    LayerError
        If the observed-figures file is malformed.
    QueryError
        If nothing can be fitted (no demand, no figure with a weight, unknown parameter).

    Examples
    --------
    >>> import corridors
    >>> from corridors.calibration import calibrate
    >>> result = calibrate(corridors.load_network())  # doctest: +SKIP
    >>> result.params.logit_theta_per_usd  # doctest: +SKIP
    """
    import numpy as np

    clock = time.perf_counter()
    if year is not None and int(year) != network.params.year:
        network = network.with_changes(params=replace(network.params, year=int(year)))
    year = network.params.year
    loaded = network.params
    figures = figures_for(network, observed, year)
    rows = demand_for_year(network, year)
    names = _resolve_fit(fit, type(network.params), loaded, rows)
    limits = {**DEFAULT_BOUNDS, **(bounds or {})}
    for name in names:
        lo, hi = _bounds_of(name, limits)
        if not (lo < hi) or (_is_log(name) and lo <= 0):
            raise QueryError(f"bounds of '{name}': expected 0 < lower < upper, got ({lo}, {hi})")
    if not any(f.weight > 0 for f in figures):
        raise QueryError(f"no observed figure of {year} has a weight > 0; nothing to fit")
    base = _base_values(loaded, rows)

    choice = build_choice_set(network, figures, rows)
    start_objective_fn = _Objective(choice, names, base)
    start_teu = tuple(float(v) for v in start_objective_fn.volumes(base))
    start_value = start_objective_fn.value(base)

    evaluations = 0
    rounds = 0
    converged = False
    seen = [choice.signature]
    free = names
    not_identified: dict[str, str] = {}
    while True:
        rounds += 1
        objective = _Objective(choice, free, base)
        result = _fit_once(objective, limits)
        evaluations += objective.calls
        values = objective.params(result.x)
        # A parameter the fit drives to a bound is not determined by the figures: report it,
        # keep its shipped value and fit the others again (once; the loop never grows).
        while free and (stuck := {n: at for n in free if (at := _at_bound(n, values[n], limits))}):
            not_identified.update({n: f"runs to its {at} bound" for n, at in stuck.items()})
            for n in stuck:
                base[n] = shipped_value(n, base)
            free = tuple(n for n in free if n not in stuck)
            values = dict(base)
            if free:
                objective = _Objective(choice, free, base)
                result = _fit_once(objective, limits)
                evaluations += objective.calls
                values = objective.params(result.x)
        if not free:
            objective = _Objective(choice, names, base)
            converged = True
            break
        if all(_route_independent(n) for n in free):
            converged = True  # the routes do not depend on the logit scales, beta or the constants
            break
        # The k cheapest routes depend on the cost parameters: rebuild them at the fitted values.
        rebuilt = network.with_changes(params=_apply(loaded, values, free))
        new_choice = build_choice_set(rebuilt, figures, rows)
        if new_choice.signature == choice.signature:
            converged = True
            break
        choice = new_choice
        if new_choice.signature in seen or rounds >= max_rounds:
            # A cycle or too many rounds: fit once more on the routes of the last fitted value.
            objective = _Objective(choice, free, base)
            result = _fit_once(objective, limits)
            evaluations += objective.calls
            values = objective.params(result.x)
            break
        seen.append(new_choice.signature)
    # A direction of the parameters along which the figures do not change (a null vector of
    # the Jacobian) is not identified: the parameter loading most on it keeps its shipped
    # value and the others are fitted again, until the Jacobian has full rank.
    while free:
        flat = _unidentified(np.asarray(result.jac, dtype=float), free)
        if flat is None:
            break
        not_identified[flat] = "the figures do not change along it (no standard error)"
        base[flat] = shipped_value(flat, base)
        free = tuple(n for n in free if n != flat)
        values = dict(base)
        objective = _Objective(choice, free or names, base)
        if free:
            result = _fit_once(objective, limits)
            evaluations += objective.calls
            values = objective.params(result.x)
    model = objective.volumes(values)
    best = objective.value(values)
    params = _apply(loaded, values, free)
    elasticities: dict[str, dict[str, float]] = {}
    pm10: dict[str, tuple[float, float]] = {}
    for name in names:
        lo_values, hi_values = dict(values), dict(values)
        step = 0.1 * values[name] if values[name] != 0 else 0.1
        lo_values[name] = values[name] - step
        hi_values[name] = values[name] + step
        m_lo, m_hi = objective.volumes(lo_values), objective.volumes(hi_values)
        denom = math.log((values[name] + step) / (values[name] - step)) if values[name] != 0 else 2 * step
        elasticities[name] = {f.id: float((math.log(a + 1.0) - math.log(b + 1.0)) / denom)
                              for f, a, b in zip(figures, m_hi, m_lo, strict=True)}
        pm10[name] = (objective.value(lo_values), objective.value(hi_values))

    se = {n: math.nan for n in names}
    covariance: list[list[float]] = []
    if free:
        jac = np.asarray(result.jac, dtype=float)
        n_obs, n_par = jac.shape
        if n_obs > n_par:
            s2 = 2.0 * float(result.cost) / max(n_obs - n_par, 1)
            cov = np.linalg.pinv(jac.T @ jac) * s2
            covariance = cov.tolist()
            se.update({n: float(math.sqrt(max(cov[i, i], 0.0))) for i, n in enumerate(free)})
    warnings = []
    if not_identified:
        warnings.append("not identified by the fitted figures: " + "; ".join(
            f"{n} ({why}), kept at {shipped_value(n, base):.6g}" for n, why in not_identified.items()))
        params = _apply(params, {n: shipped_value(n, base) for n in not_identified}, tuple(not_identified))
        values.update({n: shipped_value(n, base) for n in not_identified})
        model, best = objective.volumes(values), objective.value(values)
    for name in free:
        if name not in not_identified and not (se[name] < 1.0 if _is_log(name) else se[name] < abs(values[name])):
            warnings.append(f"{name} is poorly determined by these figures (s.e. {format_se(name, se[name])})")
    for fig, used in zip(figures, objective.fitted, strict=True):
        if fig.weight > 0 and not used:
            warnings.append(f"figure '{fig.id}': no route of the choice set counts towards it; left out of the fit")
    return CalibrationResult(
        in_fit=tuple(bool(u) for u in objective.fitted), warnings=tuple(warnings),
        params=params, fitted={n: values[n] for n in names}, start={n: shipped_value(n, _base_values(loaded, rows))
                                                                    for n in names},
        bounds={n: tuple(_bounds_of(n, limits)) for n in names}, year=year, figures=tuple(figures),
        model_teu=tuple(float(v) for v in model), start_teu=start_teu, objective=best,
        start_objective=start_value, evaluations=evaluations, rounds=rounds, converged=converged,
        message=str(result.message) if free else "nothing identified", elasticities=elasticities,
        objective_pm10=pm10, rel_std_error=se,
        runtime_s=time.perf_counter() - clock, n_routes=len(choice.routes), n_rows=len(choice.rows),
        stranded_teu=choice.stranded_teu, not_identified=tuple(not_identified),
        covariance_names=tuple(free) if covariance else (), covariance=covariance,
        by_segment=_by_segment(objective, values),
    )


def _unidentified(jac, names: tuple[str, ...]) -> str | None:
    """The parameter loading most on a null direction of the Jacobian ``(figures, parameters)``, or None."""
    import numpy as np

    if jac.size == 0:
        return None
    scale = np.linalg.norm(jac, axis=0)
    if not np.all(np.isfinite(scale)):
        return names[int(np.argmax(~np.isfinite(scale)))]
    top = float(scale.max())
    if top == 0.0:
        return names[0]
    weak = scale < 1e-8 * top
    if weak.any():
        return names[int(np.argmax(weak))]
    _, sv, vt = np.linalg.svd(jac / scale, full_matrices=True)
    if sv.size == len(names) and sv[-1] > 1e-8 * sv[0]:
        return None
    null = vt[-1]
    return names[int(np.argmax(np.abs(null)))]


def _route_independent(name: str) -> bool:
    return name in _ROUTE_INDEPENDENT or name.startswith(("theta:", "asc:"))


def _at_bound(name: str, value: float, limits: dict[str, tuple[float, float]]) -> str | None:
    lo, hi = _bounds_of(name, limits)
    tol = 1e-4 * (_to_x(name, hi) - _to_x(name, lo))
    x = _to_x(name, value)
    return "lower" if x <= _to_x(name, lo) + tol else "upper" if x >= _to_x(name, hi) - tol else None


def _apply(params, values: dict[str, float], names: Iterable[str]):
    """``params`` with the named values: dataclass fields replaced, segment keys written to ``segments``."""
    fields = {n: values[n] for n in names if not n.startswith(("theta:", "asc:"))}
    segment = {n: values[n] for n in names if n.startswith(("theta:", "asc:"))}
    params = replace(params, **fields) if fields else params
    return params.with_segment_values(segment) if segment else params


def _by_segment(objective: _Objective, values: dict[str, float]) -> dict[str, tuple[float, ...]]:
    """Model TEU of every figure from the demand of each segment (they add up to the figure)."""
    import numpy as np

    choice = objective.choice
    group_theta, asc = objective.segment_arrays(values)
    shares = choice.probabilities(values["logit_theta_per_usd"], values["value_of_time_usd_per_teu_h"],
                                  values["path_size_beta"], border_penalty=values.get("border_penalty_usd", 0.0),
                                  transfer_penalty=values.get("transfer_penalty_usd", 0.0),
                                  group_theta=group_theta, asc_usd=asc)
    flows = choice.teu[choice.group] * shares
    segs = np.array([str(s) for s in choice.row_segments])[choice.group]
    return {str(s): tuple(float(v) for v in choice.incidence @ np.where(segs == s, flows, 0.0))
            for s in sorted(set(segs.tolist()))}
