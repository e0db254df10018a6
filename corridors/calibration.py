"""Calibrate the route choice to observed volumes, and validate the model against them.

Observed figures
----------------
``geodata/observed.csv`` lists the published figures the model is compared with, one per
row, each with its year, unit, definition, source and reliability, and with a *mapping*
that says which model output measures the same thing (columns in :data:`OBSERVED_COLUMNS`):

``measure = through``
    TEU/year (both directions unless the segments say otherwise) of the demand
    ``segments`` listed (all segments when empty) whose route passes at least one of the
    ``nodes`` (a border station pair such as ``alashankou|dostyk``; any node when empty)
    and every one of the ``countries`` (no condition when empty).
``measure = transit``
    As ``through``, but only routes whose origin and destination both lie outside all
    of the ``countries``: the transit traffic of those countries (``KAZ``; or
    ``KAZ|RUS|BLR`` for traffic in transit through all three, as ERAI counts it).

The observed value is converted to TEU with ``teu_per_unit`` (TEU per train for train
counts, TEU per tonne for tonnages; 1 for TEU), so that like is compared with like.

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

Validation
----------
:func:`validate_model` assigns the base-year demand with :func:`corridors.assign` and
compares every figure with its model counterpart (absolute and relative error, and the
figure's caveat where it is not reproduced); :func:`write_report` writes the HTML report.
"""

from __future__ import annotations

import csv
import html
import io
import math
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from corridors._errors import LayerError, QueryError, suggest

__all__ = [
    "OBSERVED_COLUMNS",
    "DEFAULT_BOUNDS",
    "DEFAULT_FIT",
    "TOLERANCE",
    "ObservedFigure",
    "ChoiceSet",
    "CalibrationResult",
    "ValidationResult",
    "read_observed",
    "build_choice_set",
    "calibrate",
    "validate_model",
    "figure_volumes",
    "params_toml",
    "update_parameters_file",
    "report_html",
    "write_report",
]

OBSERVED_COLUMNS = (
    "id", "kind", "name", "year", "value", "unit", "teu_per_unit", "measure", "segments", "nodes", "countries",
    "weight", "reliability", "definition", "caveat", "sources",
)
KINDS = ("gateway", "total", "corridor", "transit")
UNITS = ("TEU", "trains", "t")
MEASURES = ("through", "transit")
RELIABILITY = ("strong", "derived", "weak")

#: Relative error within which a model figure counts as reproduced.
TOLERANCE = 0.15

#: Parameters fitted by default (CostParameters field names).
DEFAULT_FIT = ("logit_theta_per_usd", "value_of_time_usd_per_teu_h")

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
}

#: Parameters that change route costs but not which routes exist: no choice set is rebuilt for them.
_ROUTE_INDEPENDENT = frozenset({"logit_theta_per_usd", "path_size_beta"})

#: Parameters fitted on a log scale (strictly positive); the others are fitted as they are.
_LOG_SCALE = frozenset({"logit_theta_per_usd", "value_of_time_usd_per_teu_h"})
_ALIASES = {"theta": "logit_theta_per_usd", "vot": "value_of_time_usd_per_teu_h", "beta": "path_size_beta",
            "border": "border_penalty_usd", "transfer": "transfer_penalty_usd"}
_SLUG = re.compile(r"^[a-z0-9_]+$")
_ISO3 = re.compile(r"^[A-Z]{3}$")


# ---------------------------------------------------------------------------
# Observed figures
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ObservedFigure:
    """One published figure and the model output that measures the same thing.

    Attributes
    ----------
    id : str
        Slug, unique in the file.
    kind : str
        ``gateway`` (one border crossing), ``total`` (a national aggregate), ``corridor``
        or ``transit``; the report draws the ``gateway`` figures as bars.
    name : str
        Short label.
    year : int
        Year the figure describes.
    value : float
        The published value, in ``unit``.
    unit : str
        ``TEU``, ``trains`` or ``t`` (tonnes).
    teu_per_unit : float
        TEU per unit (TEU per train, TEU per tonne; 1 for TEU).
    measure : str
        ``through`` or ``transit`` (see the module docstring).
    segments, nodes, countries : tuple of str
        Filters of the mapping: the route's demand segment is one of ``segments``, the
        route passes one of ``nodes`` and all of ``countries``; empty means no condition.
    weight : float
        Weight in the calibration objective (0: reported only).
    reliability : str
        ``strong``, ``derived`` or ``weak`` (as in the facts file).
    definition : str
        What the figure counts (trains or TEU, direction, which OD pairs).
    caveat : str
        Why the model may not reproduce it (definition mismatch, data conflict), or "".
    sources : str
        Keys into ``geodata/SOURCES.md``.
    """

    id: str
    kind: str
    name: str
    year: int
    value: float
    unit: str
    teu_per_unit: float
    measure: str
    segments: tuple[str, ...]
    nodes: tuple[str, ...]
    countries: tuple[str, ...]
    weight: float
    reliability: str
    definition: str
    caveat: str
    sources: str

    @property
    def observed_teu(self) -> float:
        """The observed value in TEU/year."""
        return self.value * self.teu_per_unit

    def to_unit(self, teu: float) -> float:
        """Convert a model volume (TEU/year) to the figure's unit."""
        return teu / self.teu_per_unit

    def counts(self, route, segment: str | None, node_country: dict[str, dict]) -> bool:
        """True if TEU of ``segment`` on ``route`` count towards this figure."""
        if self.segments and segment not in self.segments:
            return False
        if self.nodes and not any(n in self.nodes for n in route.node_ids):
            return False
        if self.countries and not all(c in route.countries for c in self.countries):
            return False
        if self.measure == "transit":
            ends = (node_country[route.origin]["country"], node_country[route.destination]["country"])
            if any(c in self.countries for c in ends):
                return False
        return True


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split("|") if part.strip())


def read_observed(path: str | Path, *, network=None, year: int | None = None) -> list[ObservedFigure]:
    """Read and validate an observed-figures table (``geodata/observed.csv``).

    Parameters
    ----------
    path : path
        CSV file with the columns :data:`OBSERVED_COLUMNS`.
    network : Network, optional
        If given, node ids, country codes and segments are checked against it.
    year : int, optional
        Keep only the figures of this year.

    Returns
    -------
    list of ObservedFigure

    Raises
    ------
    LayerError
        One line naming the file, the row (line number and id) and the field at fault.
    """
    path = Path(path)
    label = str(path)
    if not path.is_file():
        raise LayerError(f"{label}: observed-figures file not found")
    nodes = set(network.node_records) if network is not None else None
    countries = set(network.country_codes) if network is not None else None
    segments = {r.get("segment") for r in network.demand_rows} if network is not None else None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise LayerError(f"{label}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    figures: list[ObservedFigure] = []
    seen: set[str] = set()
    with io.StringIO(text, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in OBSERVED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise LayerError(f"{label}: missing column '{missing[0]}' (expected {', '.join(OBSERVED_COLUMNS)})")
        for line_no, row in enumerate(reader, start=2):
            ident = (row.get("id") or "").strip()
            where = f"{label}: row {line_no} ('{ident}')"

            def fail(column: str, expected: str, value: Any = None, hint: str = "", row: dict = row,
                     where: str = where) -> LayerError:
                got = row.get(column) if value is None else value
                return LayerError(f"{where}: field '{column}': expected {expected}, got {got!r}{hint}")

            if None in row or any(v is None for v in row.values()):
                raise LayerError(f"{where}: wrong number of fields (expected {len(OBSERVED_COLUMNS)})")
            if not _SLUG.match(ident):
                raise fail("id", "a lowercase slug [a-z0-9_]+")
            if ident in seen:
                raise fail("id", "a unique id (this one is repeated)")
            seen.add(ident)
            kind = row["kind"].strip()
            if kind not in KINDS:
                raise fail("kind", "one of " + ", ".join(KINDS), hint=suggest(kind, KINDS))
            try:
                fig_year = int(row["year"])
            except ValueError:
                raise fail("year", "a year such as 2024") from None
            numbers: dict[str, float] = {}
            for column, lower, strict in (("value", 0.0, True), ("teu_per_unit", 0.0, True), ("weight", 0.0, False)):
                try:
                    number = float(row[column])
                except ValueError:
                    number = math.nan
                ok = math.isfinite(number) and (number > lower if strict else number >= lower)
                if not ok:
                    raise fail(column, f"a number {'>' if strict else '>='} {lower:g}")
                numbers[column] = number
            unit = row["unit"].strip()
            if unit not in UNITS:
                raise fail("unit", "one of " + ", ".join(UNITS), hint=suggest(unit, UNITS))
            if unit == "TEU" and numbers["teu_per_unit"] != 1.0:
                raise fail("teu_per_unit", "1 for a figure in TEU")
            measure = row["measure"].strip()
            if measure not in MEASURES:
                raise fail("measure", "one of " + ", ".join(MEASURES), hint=suggest(measure, MEASURES))
            fig_nodes = _split(row["nodes"])
            for node in fig_nodes:
                if nodes is not None and node not in nodes:
                    raise fail("nodes", "node ids of nodes.geojson", node, suggest(node, nodes))
            fig_countries = _split(row["countries"])
            for code in fig_countries:
                if not _ISO3.match(code) or (countries is not None and code not in countries):
                    raise fail("countries", "ISO3 codes of the model", code,
                               suggest(code, countries) if countries else "")
            if measure == "transit" and not fig_countries:
                raise fail("countries", "at least one ISO3 code for measure 'transit'")
            fig_segments = _split(row["segments"])
            for segment in fig_segments:
                if segments is not None and segment not in segments:
                    raise fail("segments", "segments of the demand tables", segment, suggest(segment, segments))
            reliability = row["reliability"].strip()
            if reliability not in RELIABILITY:
                raise fail("reliability", "one of " + ", ".join(RELIABILITY), hint=suggest(reliability, RELIABILITY))
            for column in ("name", "definition", "sources"):
                if not row[column].strip():
                    raise fail(column, "a non-empty text")
            figure = ObservedFigure(
                id=ident, kind=kind, name=row["name"].strip(), year=fig_year, value=numbers["value"], unit=unit,
                teu_per_unit=numbers["teu_per_unit"], measure=measure, segments=fig_segments, nodes=fig_nodes,
                countries=fig_countries, weight=numbers["weight"], reliability=reliability,
                definition=row["definition"].strip(), caveat=row["caveat"].strip(), sources=row["sources"].strip(),
            )
            if year is None or figure.year == year:
                figures.append(figure)
    if not figures:
        raise LayerError(f"{label}: no observed figures" + (f" for year {year}" if year is not None else ""))
    return figures


def default_observed(network) -> Path:
    """The observed-figures file of a network's geodata folder."""
    return Path(network.geodata) / "observed.csv"


def demand_for_year(network, year: int | None = None) -> list[dict]:
    """The demand rows of ``year`` (default: the network's model year).

    Raises
    ------
    QueryError
        If no demand row has that year.
    """
    year = network.params.year if year is None else int(year)
    rows = [r for r in network.demand_rows if int(r.get("year", year)) == year and r["teu"] > 0]
    if not rows:
        years = sorted({int(r["year"]) for r in network.demand_rows})
        raise QueryError(f"no demand rows for year {year} (demand years: {', '.join(map(str, years)) or 'none'})")
    return rows


# ---------------------------------------------------------------------------
# Choice sets as arrays
# ---------------------------------------------------------------------------


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

    @property
    def signature(self) -> tuple:
        """The routes (physical links) of every OD pair: equal signatures, equal choice sets."""
        return tuple(sorted({(r.origin, r.destination, r.link_ids) for r in self.routes}))

    def probabilities(self, theta: float, vot: float, beta: float, *, border_penalty: float = 0.0,
                      transfer_penalty: float = 0.0):
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

        Returns
        -------
        numpy.ndarray
            Shares (0..1), summing to 1 over the routes of each row.
        """
        from corridors import kernel

        cost = kernel.generalised_cost(self.money_usd, self.time_h, vot, kernel.penalties(
            self.crossings, self.transfers, border_penalty, transfer_penalty))
        return kernel.logit_shares(cost, self.log_path_size, theta, beta, self.starts, self.group)

    def volumes(self, theta: float, vot: float, beta: float, **penalties: float):
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

    from corridors.assignment import route_sets
    from corridors.routing import path_size

    rows = demand_for_year(network) if rows is None else [r for r in rows if r["teu"] > 0]
    sets = route_sets(network, {(r["origin"], r["destination"]) for r in rows}, strict=False)
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
    sizes_of: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        key = (row["origin"], row["destination"])
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

    def table(self) -> list[dict[str, Any]]:
        """One dict per figure: observed and model in the figure's unit and in TEU, errors, and
        ``in_fit`` (False for weight 0 and for figures no route of the choice set counts towards)."""
        out = []
        in_fit = self.in_fit or (True,) * len(self.figures)
        for fig, model, before, used in zip(self.figures, self.model_teu, self.start_teu, in_fit, strict=True):
            out.append(_compare(fig, model) | {"model_before_teu": before, "in_fit": used})
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
                         f"{_format_se(name, se):>10}")
        lines += [f"warning: {w}" for w in self.warnings]
        lines += ["", _figure_table(self.table(), before=True), "",
                  "sensitivity: elasticity d ln(model) / d ln(parameter) at ±10 %; objective at -10 % / +10 %"]
        head = f"{'figure':<28}" + "".join(f" {_short(n):>12}" for n in self.fitted)
        lines.append(head)
        for fig in self.figures:
            lines.append(f"{fig.id:<28}" + "".join(f" {self.elasticities[n][fig.id]:>12.3f}" for n in self.fitted))
        lines.append(f"{'objective -10 % / +10 %':<28}" + "".join(
            f" {self.objective_pm10[n][0]:>5.3f}/{self.objective_pm10[n][1]:<6.3f}" for n in self.fitted))
        return "\n".join(lines)


def _format_se(name: str, se: float) -> str:
    """Standard error as text: relative for log-scale parameters, in the parameter's unit otherwise."""
    if math.isnan(se):
        return "-"
    return f"{se:.0%}" if name in _LOG_SCALE else f"±{se:.3g}"


def _short(name: str) -> str:
    return {v: k for k, v in _ALIASES.items()}.get(name, name)


def _compare(fig: ObservedFigure, model_teu: float, tolerance: float = TOLERANCE,
             coverage: tuple[int, int] | None = None) -> dict[str, Any]:
    observed = fig.observed_teu
    error = model_teu - observed
    relative = error / observed
    within = abs(relative) <= tolerance
    if within:
        explanation = f"within {tolerance:.0%}"
    else:
        explanation = fig.caveat or f"outside {tolerance:.0%}; no definitional reason recorded"
        if coverage is not None and coverage[0] == 0:
            explanation += (f" [Model: none of the {coverage[1]} demand rows it could count has a route through it "
                            "in its choice set.]")
    extra = {} if coverage is None else {"rows_with_route": coverage[0], "rows_in_scope": coverage[1]}
    return extra | {
        "id": fig.id, "kind": fig.kind, "name": fig.name, "year": fig.year, "unit": fig.unit,
        "observed": fig.value, "model": fig.to_unit(model_teu), "observed_teu": observed, "model_teu": model_teu,
        "abs_error_teu": error, "abs_error": fig.to_unit(error), "rel_error": relative, "within": within,
        "weight": fig.weight, "reliability": fig.reliability, "definition": fig.definition, "caveat": fig.caveat,
        "explanation": explanation, "sources": fig.sources,
    }


def _figure_table(rows: list[dict], *, before: bool = False) -> str:
    head = f"{'figure':<28} {'unit':>7} {'observed':>12} {'model':>12} {'abs error':>12} {'rel':>8}  {'w':>4}"
    if before:
        head += f" {'before (TEU)':>13}"
    lines = [head]
    for row in rows:
        line = (f"{row['id']:<28} {row['unit']:>7} {row['observed']:>12,.0f} {row['model']:>12,.0f} "
                f"{row['abs_error']:>+12,.0f} {row['rel_error']:>+8.1%}  {row['weight']:>4g}")
        if before:
            line += f" {row['model_before_teu']:>13,.0f}"
        if not row["within"]:
            line += "  *"
        if row.get("in_fit") is False and row["weight"] > 0:
            line += "  (no route counts towards it: left out of the fit)"
        lines.append(line)
    if not all(row["within"] for row in rows):
        lines.append(f"  * outside {TOLERANCE:.0%}; see the caveat in observed.csv / the validation report")
    return "\n".join(lines)


def _resolve_fit(fit: Iterable[str], params_type: type | None = None) -> tuple[str, ...]:
    names = []
    for name in fit:
        name = _ALIASES.get(name.strip(), name.strip())
        if name not in DEFAULT_BOUNDS:
            raise QueryError(f"cannot fit parameter '{name}'{suggest(name, list(DEFAULT_BOUNDS) + list(_ALIASES))}; "
                             f"expected some of {', '.join(_ALIASES)}")
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
    return math.log(value) if name in _LOG_SCALE else value


def _from_x(name: str, x: float) -> float:
    return math.exp(x) if name in _LOG_SCALE else x


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

    def volumes(self, values: dict[str, float]):
        return self.choice.volumes(values["logit_theta_per_usd"], values["value_of_time_usd_per_teu_h"],
                                   values["path_size_beta"], border_penalty=values.get("border_penalty_usd", 0.0),
                                   transfer_penalty=values.get("transfer_penalty_usd", 0.0))

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

    lower = np.array([_to_x(n, bounds[n][0]) for n in objective.names])
    upper = np.array([_to_x(n, bounds[n][1]) for n in objective.names])
    grid = [np.linspace(lo, hi, 5)[1:4] for lo, hi in zip(lower, upper, strict=True)]
    best = None
    for start in itertools.product(*grid):
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
    names = _resolve_fit(fit, type(network.params))
    limits = {**DEFAULT_BOUNDS, **(bounds or {})}
    for name in names:
        lo, hi = limits[name]
        if not (lo < hi) or (name in _LOG_SCALE and lo <= 0):
            raise QueryError(f"bounds of '{name}': expected 0 < lower < upper, got ({lo}, {hi})")
    if year is not None and int(year) != network.params.year:
        network = network.with_changes(params=replace(network.params, year=int(year)))
    year = network.params.year
    figures = _figures(network, observed, year)
    if not any(f.weight > 0 for f in figures):
        raise QueryError(f"no observed figure of {year} has a weight > 0; nothing to fit")
    rows = demand_for_year(network, year)
    loaded = network.params
    base = {n: float(getattr(loaded, n)) for n in DEFAULT_BOUNDS if hasattr(loaded, n)}

    choice = build_choice_set(network, figures, rows)
    start_objective_fn = _Objective(choice, names, base)
    start_teu = tuple(float(v) for v in start_objective_fn.volumes(base))
    start_value = start_objective_fn.value(base)

    evaluations = 0
    rounds = 0
    converged = False
    seen = [choice.signature]
    while True:
        rounds += 1
        objective = _Objective(choice, names, base)
        result = _fit_once(objective, limits)
        evaluations += objective.calls
        values = objective.params(result.x)
        if set(names) <= _ROUTE_INDEPENDENT:
            converged = True  # the routes do not depend on theta or beta
            break
        # The k cheapest routes depend on the cost parameters: rebuild them at the fitted values.
        rebuilt = network.with_changes(params=replace(loaded, **{n: values[n] for n in names}))
        new_choice = build_choice_set(rebuilt, figures, rows)
        if new_choice.signature == choice.signature:
            converged = True
            break
        choice = new_choice
        if new_choice.signature in seen or rounds >= max_rounds:
            # A cycle or too many rounds: fit once more on the routes of the last fitted value.
            objective = _Objective(choice, names, base)
            result = _fit_once(objective, limits)
            evaluations += objective.calls
            values = objective.params(result.x)
            break
        seen.append(new_choice.signature)
    model = objective.volumes(values)
    best = objective.value(values)
    params = replace(loaded, **{n: values[n] for n in names})

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

    jac = np.asarray(result.jac, dtype=float)
    n_obs, n_par = jac.shape
    se = {n: math.nan for n in names}
    if n_obs > n_par:
        s2 = 2.0 * float(result.cost) / max(n_obs - n_par, 1)
        info = jac.T @ jac
        if np.linalg.matrix_rank(info) == n_par:
            cov = np.linalg.inv(info) * s2
            se = {n: float(math.sqrt(max(cov[i, i], 0.0))) for i, n in enumerate(names)}
    warnings = []
    for name in names:
        lo, hi = limits[name]
        tol = 1e-6 * (_to_x(name, hi) - _to_x(name, lo))
        x = _to_x(name, values[name])
        at = "lower" if x <= _to_x(name, lo) + tol else "upper" if x >= _to_x(name, hi) - tol else None
        if at:
            warnings.append(f"{name} = {values[name]:.6g} is at its {at} bound: the figures would move it "
                            "further, so the bound, not the figures, sets it")
        elif not (se[name] < 1.0 if name in _LOG_SCALE else se[name] < abs(values[name])):
            warnings.append(f"{name} is poorly determined by these figures (s.e. "
                            f"{'undefined' if math.isnan(se[name]) else _format_se(name, se[name])})")
    for fig, used in zip(figures, objective.fitted, strict=True):
        if fig.weight > 0 and not used:
            warnings.append(f"figure '{fig.id}': no route of the choice set counts towards it; left out of the fit")
    return CalibrationResult(
        in_fit=tuple(bool(u) for u in objective.fitted), warnings=tuple(warnings),
        params=params, fitted={n: values[n] for n in names}, start={n: base[n] for n in names},
        bounds={n: tuple(limits[n]) for n in names}, year=year, figures=tuple(figures),
        model_teu=tuple(float(v) for v in model), start_teu=start_teu, objective=best,
        start_objective=start_value, evaluations=evaluations, rounds=rounds, converged=converged,
        message=str(result.message), elasticities=elasticities, objective_pm10=pm10, rel_std_error=se,
        runtime_s=time.perf_counter() - clock, n_routes=len(choice.routes), n_rows=len(choice.rows),
        stranded_teu=choice.stranded_teu,
    )


def _figures(network, observed, year: int) -> list[ObservedFigure]:
    if observed is None or isinstance(observed, str | Path):
        path = default_observed(network) if observed is None else Path(observed)
        return read_observed(path, network=network, year=year)
    figures = [f for f in observed if f.year == year]
    if not figures:
        raise QueryError(f"no observed figures for year {year}")
    return figures


def params_toml(result: CalibrationResult, *, header: str | None = None) -> str:
    """A parameter file (TOML) with the calibrated values, readable by ``--params``.

    Only the value of time and the route-choice parameters are written (the fitted ones and
    the choice-set settings the fit assumed: ``path_size_beta``, ``k_routes``,
    ``max_detour``, ``max_overlap``, ``candidate_factor``); everything else keeps the values
    of ``geodata/parameters.toml``.
    """
    p = result.params
    lines = [
        "# Route-choice parameters calibrated by `corridors calibrate` to the observed volumes of "
        f"{result.year}",
        f"# (objective {result.objective:.4f}, was {result.start_objective:.4f}; "
        f"{sum(t['within'] for t in result.table())}/{len(result.figures)} figures within {TOLERANCE:.0%}).",
        "# Use with: corridors share --params FILE (also scenario, sweep).",
    ]
    if header:
        lines += [f"# {line}" for line in header.splitlines()]
    lines += [
        "",
        "[cost]",
        f"value_of_time_usd_per_teu_h = {p.value_of_time_usd_per_teu_h:.6g}",
        "",
        "[route_choice]",
        f"logit_theta_per_usd = {p.logit_theta_per_usd:.6g}",
    ]
    # The choice-set settings the fit assumed, so that the file reproduces it.
    for name in ("path_size_beta", "k_routes", "max_detour", "max_overlap", "candidate_factor"):
        if hasattr(p, name):
            value = getattr(p, name)
            lines.append(f"{name} = {value}" if isinstance(value, int) else f"{name} = {value:.6g}")
    lines.append("")
    return "\n".join(lines)


def update_parameters_file(path: str | Path, values: dict[str, float]) -> Path:
    """Rewrite some parameter values of a TOML parameter file in place.

    Comments, sections and every other key are kept; a key that is not in the file yet is
    appended in a ``[calibration]`` section.  The result is checked to parse as model
    parameters before it replaces the file (atomically).

    Parameters
    ----------
    path : path
        E.g. ``geodata/parameters.toml``.
    values : dict
        Parameter name -> value (units as in :class:`~corridors.network.CostParameters`).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    LayerError
        If the file is missing or the result would not be valid parameters.
    """
    import tomllib

    from corridors._io import atomic_path
    from corridors.network import CostParameters

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LayerError(f"{path}: parameter file not found") from None
    missing = []
    for name, value in values.items():
        number = str(int(value)) if isinstance(value, int) and not isinstance(value, bool) else f"{value:.6g}"
        pattern = re.compile(rf"^(\s*{re.escape(name)}\s*=\s*)[^#\n]*?(\s*(?:#.*)?)$", re.MULTILINE)
        text, count = pattern.subn(lambda m, n=number: m.group(1) + n + m.group(2), text, count=1)
        if not count:
            missing.append(f"{name} = {number}")
    if missing:
        header = re.search(r"^\[calibration\][ \t]*\n", text, flags=re.MULTILINE)
        if header:
            text = text[:header.end()] + "\n".join(missing) + "\n" + text[header.end():]
        else:
            text = text.rstrip("\n") + "\n\n[calibration]\n" + "\n".join(missing) + "\n"
    try:
        CostParameters.from_mapping(tomllib.loads(text), source=str(path))
    except tomllib.TOMLDecodeError as exc:  # pragma: no cover - we only write numbers
        raise LayerError(f"{path}: rewriting would give invalid TOML ({exc})") from None
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def figure_volumes(result, figures: Sequence[ObservedFigure]) -> list[float]:
    """Model TEU/year of every figure in an :class:`~corridors.assignment.AssignmentResult`."""
    node_records = result.network.node_records
    totals = [0.0] * len(figures)
    for flow in result.flows:
        for i, fig in enumerate(figures):
            if fig.counts(flow.route, flow.segment, node_records):
                totals[i] += flow.teu
    return totals


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
        return "\n".join([
            f"model ({self.method}, {self.year}) against {len(self.rows)} observed figures: {self.n_within} within "
            f"{self.tolerance:.0%}",
            _figure_table(list(self.rows)),
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
    figures = _figures(network, observed, year)
    result = assign(network, demand_for_year(network, year), method=method, on_unreachable="strand")
    volumes = figure_volumes(result, figures)
    coverage = _coverage(result, figures)
    rows = tuple(_compare(f, v, tolerance, c) for f, v, c in zip(figures, volumes, coverage, strict=True))
    headline = result.share_through("KAZ", from_="CHN", to="EU")
    path = str(observed) if isinstance(observed, str | Path) else (
        str(default_observed(network)) if observed is None else "(figures given)")
    return ValidationResult(rows=rows, year=year, method=method, params=network.params, tolerance=tolerance,
                            headline=headline, assignment=result, observed_path=path)


# ---------------------------------------------------------------------------
# HTML report
# ---------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1300px;color:#222;
padding:0 1em}
td.text{font-size:.85em;min-width:16em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.88em;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.miss td{background:#fff4e5}
.ok{color:#1a7f37}.bad{color:#b35900}
.note{color:#555;font-size:.9em}
iframe{width:100%;height:620px;border:1px solid #ccc}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _bar_chart(rows: Sequence[dict]) -> str:
    """Inline SVG: observed vs model TEU/year, one pair of bars per gateway figure."""
    gates = [r for r in rows if r["kind"] == "gateway"]
    if not gates:
        return "<p class='note'>No gateway figures to chart.</p>"
    top = max(max(r["observed_teu"], r["model_teu"]) for r in gates) or 1.0
    bar, gap, label_w, chart_w = 14, 12, 230, 560
    height = len(gates) * (2 * bar + gap) + 40
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' role='img' width='{label_w + chart_w + 120}' "
             f"height='{height}' aria-label='Observed and model TEU per year by gateway'>",
             "<style>text{font:12px system-ui,sans-serif}</style>"]
    y = 10
    for r in gates:
        parts.append(f"<text x='{label_w - 8}' y='{y + bar + 4}' text-anchor='end'>{_esc(r['name'])}</text>")
        for value, colour, what in ((r["observed_teu"], "#7f8c8d", "observed"), (r["model_teu"], "#2e86c1", "model")):
            width = max(chart_w * value / top, 0.5)
            parts.append(f"<rect x='{label_w}' y='{y}' width='{width:.1f}' height='{bar}' fill='{colour}'>"
                         f"<title>{_esc(r['name'])}, {what}: {value:,.0f} TEU/year</title></rect>")
            parts.append(f"<text x='{label_w + width + 4:.1f}' y='{y + bar - 3}'>{value:,.0f}</text>")
            y += bar
        y += gap
    parts.append(f"<rect x='{label_w}' y='{y + 6}' width='12' height='10' fill='#7f8c8d'/>"
                 f"<text x='{label_w + 16}' y='{y + 15}'>observed (TEU/year)</text>"
                 f"<rect x='{label_w + 160}' y='{y + 6}' width='12' height='10' fill='#2e86c1'/>"
                 f"<text x='{label_w + 176}' y='{y + 15}'>model (TEU/year)</text></svg>")
    return "".join(parts)


def report_html(validation: ValidationResult, *, map_page: str | None = None, map_note: str = "",
                calibration: CalibrationResult | None = None) -> str:
    """A self-contained HTML validation report (every value HTML-escaped).

    Parameters
    ----------
    validation : ValidationResult
    map_page : str, optional
        A complete HTML page (the flow map) embedded with ``<iframe srcdoc>``.
    map_note : str
        Shown instead of (or under) the map.
    calibration : CalibrationResult, optional
        Adds the fitted parameters and their sensitivity.
    """
    v = validation
    h = v.headline
    p = v.params
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>corridors: model validation {v.year}</title><style>{_CSS}</style></head><body>",
        f"<h1>Model validation against observed volumes, {v.year}</h1>",
        f"<p>Route choice <b>{_esc(v.method)}</b>; value of time {p.value_of_time_usd_per_teu_h:.4g} USD/TEU-h, "
        f"logit scale {p.logit_theta_per_usd:.4g} per USD, path-size weight {p.path_size_beta:.3g}, "
        f"{p.k_routes} routes per OD pair. Observed figures: <code>{_esc(v.observed_path)}</code>.</p>",
        f"<p><b>{v.n_within} of {len(v.rows)}</b> figures are reproduced within {v.tolerance:.0%}. "
        f"Headline: <b>{h.share:.1%}</b> of China→EU land TEU passes through Kazakhstan "
        f"({h.through_teu:,.0f} of {h.total_teu:,.0f} TEU/year), against the Kazakh government's claim of "
        "“more than 80%” (no published method).</p>",
        "<h2>Model and observed TEU per gateway</h2>",
        _bar_chart(v.rows),
        "<h2>Every observed figure</h2>",
        "<table><thead><tr><th>figure</th><th>unit</th><th class='n'>observed</th><th class='n'>model</th>"
        "<th class='n'>abs. error</th><th class='n'>rel. error</th><th class='n'>weight</th><th>reliability</th>"
        "<th>definition (what is counted)</th><th>assessment</th><th>sources</th></tr></thead><tbody>",
    ]
    for r in v.rows:
        cls = "" if r["within"] else " class='miss'"
        mark = "ok" if r["within"] else "bad"
        out.append(
            f"<tr{cls}><td>{_esc(r['name'])}<br><code>{_esc(r['id'])}</code></td><td>{_esc(r['unit'])}</td>"
            f"<td class='n'>{r['observed']:,.0f}</td><td class='n'>{r['model']:,.0f}</td>"
            f"<td class='n'>{r['abs_error']:+,.0f}</td><td class='n {mark}'>{r['rel_error']:+.1%}</td>"
            f"<td class='n'>{r['weight']:g}</td><td>{_esc(r['reliability'])}</td><td class='text'>"
            f"{_esc(r['definition'])}</td><td class='text {mark}'>{_esc(r['explanation'])}</td>"
            f"<td>{_esc(r['sources']).replace(',', ', ')}</td></tr>"
        )
    out.append("</tbody></table>")
    if calibration is not None:
        c = calibration
        out.append("<h2>Calibration</h2>")
        out.append(f"<p>Objective (weighted squared log errors) {c.start_objective:.4f} → {c.objective:.4f}; "
                   f"{c.rounds} round(s), {'converged' if c.converged else 'not converged'}, "
                   f"{c.evaluations} evaluations, {c.runtime_s:.2f} s.</p>")
        out.append("<table><thead><tr><th>parameter</th><th class='n'>before</th><th class='n'>calibrated</th>"
                   "<th class='n'>bounds</th><th class='n'>s.e.</th><th class='n'>objective at −10 % / +10 %"
                   "</th></tr></thead><tbody>")
        for name, value in c.fitted.items():
            se = c.rel_std_error.get(name, math.nan)
            lo, hi = c.bounds[name]
            a, b = c.objective_pm10[name]
            out.append(f"<tr><td>{_esc(name)}</td><td class='n'>{c.start[name]:.4g}</td>"
                       f"<td class='n'>{value:.4g}</td><td class='n'>[{lo:g}, {hi:g}]</td>"
                       f"<td class='n'>{_esc(_format_se(name, se))}</td>"
                       f"<td class='n'>{a:.4f} / {b:.4f}</td></tr>")
        out.append("</tbody></table>")
        if c.warnings:
            out.append("<ul>" + "".join(f"<li class='bad'>{_esc(w)}</li>" for w in c.warnings) + "</ul>")
    out.append("<h2>Flow map</h2>")
    if map_page:
        out.append(f"<iframe title='Assigned flows' srcdoc=\"{_esc(map_page)}\"></iframe>")
    if map_note:
        out.append(f"<p class='note'>{_esc(map_note)}</p>")
    out.append("<p class='note'>Generated by corridors validate-model. Trains are converted to TEU with the "
               "stated TEU-per-train assumption of each figure; see geodata/observed.csv and geodata/SOURCES.md "
               "(section “Observed volumes and calibration”).</p></body></html>")
    return "\n".join(out)


def write_report(validation: ValidationResult, path: str | Path, *, with_map: bool = True,
                 calibration: CalibrationResult | None = None) -> Path:
    """Write the HTML validation report atomically; embed the flow map if available.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from corridors._io import atomic_path

    map_page = None
    note = ""
    if with_map:
        try:
            from corridors import maps

            m = maps.flow_map(validation.assignment, "KAZ", "CHN", "EU")
            map_page = maps.map_html(m)
        except (ImportError, AttributeError) as exc:  # maps module absent or without flow_map
            note = f"Flow map not available ({exc}); run 'corridors map' separately."
    else:
        note = "Flow map left out (--no-map)."
    page = report_html(validation, map_page=map_page, map_note=note, calibration=calibration)
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return target
