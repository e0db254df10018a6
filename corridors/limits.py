"""What the inputs may hold: the vocabularies, the valid ranges of every numeric field
and the checks of single numbers and model parameters.

The tables here are the one place where input limits are written down: the layer rules
(:mod:`corridors.layers`), the parameters, the scenarios and their distributions all check
against them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from corridors._errors import one_line, suggest

#: Corridor families, one link layer each (``geodata/links/<family>.geojson``).
#: ``maritime`` holds the sea lanes and the inland legs to the ports (issue 11); the land
#: route choice leaves it out (:func:`corridors.network.build_graph`).
CORRIDORS = ("belt_and_road", "middle_corridor", "north_south", "east_west", "maritime")
NODE_KINDS = ("hub", "border", "gauge_change", "port", "junction")
MODES = ("rail", "road", "ferry", "sea")
#: The passage a sea lane takes between Asia and Europe.
PASSAGES = ("suez", "cape")
GAUGES = (1435, 1520)
STATUSES = ("operating", "under_construction", "planned")
DEMAND_COLUMNS = ("origin", "destination", "teu", "year", "segment", "basis")
#: Optional demand columns, passed through when present: direction (``from_china``/``to_china``),
#: service (``cr_express``, ``china_central_asia``) and the mode the service runs on.
DEMAND_OPTIONAL = ("direction", "service", "mode")


#: Valid ranges of the numeric fields: name -> (required, may be null, lower, upper,
#: lower bound excluded, unit).  The bounds are sanity limits, far outside any real value
#: (the shipped layers span dwell 0-48 h, handling 0-108 USD, speeds 18-59 km/h, tariffs
#: 0.2-0.6 USD/TEU-km, capacities 15,000-1.1 million TEU/year), so that a typo such as
#: ``1e-320`` km/h or ``1e308`` TEU is caught at load and not as NaN in a result.
_NODE_NUMERIC = {
    "dwell_h": (True, False, 0.0, 8760.0, False, "hours"),
    "handling_usd": (True, False, 0.0, 1e5, False, "USD per TEU"),
    "transfer_h": (False, True, 0.0, 8760.0, False, "hours"),
    "transfer_usd": (False, True, 0.0, 1e5, False, "USD per TEU"),
    "capacity_teu": (False, True, 0.0, 1e9, True, "TEU/year"),
}
_LINK_NUMERIC = {
    "speed_kmh": (False, True, 0.5, 1000.0, False, "km/h"),
    "running_h": (False, True, 0.01, 8760.0, False, "hours"),
    "frequency_per_week": (False, True, 0.01, 10000.0, False, "departures per week"),
    "tariff_usd_per_teu_km": (False, True, 0.0, 100.0, False, "USD per TEU-km"),
    "tariff_usd": (False, True, 0.0, 1e6, False, "USD per TEU"),
    "capacity_teu": (False, True, 0.0, 1e9, True, "TEU/year"),
    # published (tariff or timetable) running distance, used instead of the drawn length
    "distance_km": (False, True, 0.0, 60000.0, True, "km"),  # sea lanes round the Cape: ~30,000
}
#: Largest TEU/year of one demand row: world container port throughput is under a billion
#: TEU a year, so a bigger row is a typo (``1e308`` would give inf totals).
MAX_DEMAND_TEU = 1e9
#: Largest ``k_routes x candidate_factor``: how deep Yen's algorithm searches per OD pair.
#: At 300 the shipped network's 584 demand rows take about 70 s of CPU to build their
#: choice sets (18 with the defaults); deeper searches are refused rather than left to
#: run for minutes or exhaust memory.
MAX_SEARCH_DEPTH = 300
#: Largest factor by which a scenario may scale an attribute or a demand (``scale`` tables
#: and drawn factors of ``[[uncertain]]``): a thousandfold change is beyond any what-if,
#: and the bound keeps every scaled value finite.
MAX_FACTOR = 1000.0
#: Years a layer, demand row or parameter file may name.
YEAR_RANGE = (1850, 2100)
#: Deepest nesting of JSON that is read (GeoJSON needs 7 levels for a MultiPolygon).
MAX_JSON_DEPTH = 64

#: The model parameters of ``parameters.toml`` (and ``--params`` files): name ->
#: (integer, lower, upper, lower bound excluded, unit).  :class:`corridors.network.CostParameters`
#: has exactly these fields and checks them with :func:`parameter_problem`.
PARAMETERS: dict[str, tuple[bool, float, float, bool, str]] = {
    "value_of_time_usd_per_teu_h": (False, 0.0, 1e4, False, "USD per TEU-hour"),
    "logit_theta_per_usd": (False, 0.0, 10.0, True, "per USD"),
    "path_size_beta": (False, 0.0, 10.0, False, ""),
    "k_routes": (True, 1, 100, False, "routes per OD pair"),
    "max_detour": (False, 1.0, 100.0, True, "x the best route's cost"),
    "max_overlap": (False, 0.0, 1.0, False, "share of the length"),
    "candidate_factor": (True, 1, 10, False, ""),
    "year": (True, YEAR_RANGE[0], YEAR_RANGE[1], False, ""),
    "bpr_alpha": (False, 0.0, 100.0, False, ""),
    "bpr_beta": (False, 0.0, 16.0, False, ""),
    "queue_period_h": (False, 0.0, 8784.0, True, "hours"),
    "queue_beta": (False, 0.0, 4.0, True, ""),
    "capacity_barrier_h": (False, 0.0, 8784.0, False, "hours"),
    "border_penalty_usd": (False, 0.0, 1e5, False, "USD per TEU"),
    "transfer_penalty_usd": (False, 0.0, 1e5, False, "USD per TEU"),
    # [mode_choice] (corridors/modes.py, A422): sea against land, nested above the route choice
    "mode_scale_per_usd": (False, 0.0, 10.0, True, "per USD"),
    "land_constant_usd": (False, -1e5, 1e5, False, "USD per TEU"),
    # [route_choice] sanctions-transit term of the eu segment (A417, A423), also in the land nest
    "sanctions_transit_usd": (False, 0.0, 5000.0, False, "USD per TEU"),
}
#: The keys of :data:`PARAMETERS` read by the mode choice (not by :class:`corridors.network.CostParameters`).
MODE_CHOICE_PARAMETERS = ("mode_scale_per_usd", "land_constant_usd")


@dataclass(frozen=True)
class Problem:
    """One validation finding: which file, which feature, which field, what is wrong."""

    file: str
    feature: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.feature is not None:
            where += f": {self.feature}"
        if self.field is not None:
            where += f": field '{self.field}'"
        return one_line(f"{where}: {self.message}")



def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None (not a number, NaN, inf, or too large a JSON integer)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _integer(value: Any) -> int | None:
    """``value`` as an int if it is integral (``2027`` or ``2027.0``, as GeoPandas writes
    integer columns with nulls), else None."""
    number = _number(value)
    if number is None or not number.is_integer():
        return None
    return int(number)


def _range_text(lo: float, hi: float, lo_open: bool, unit: str) -> str:
    unit = f" {unit}" if unit else ""
    return f"{'>' if lo_open else '>='} {lo:g} and <= {hi:g}{unit}"


def parameter_problem(key: str, value: Any) -> tuple[str, Any] | None:
    """Check one model parameter against :data:`PARAMETERS`.

    Returns
    -------
    tuple or None
        ``(message, value)``: the message of the problem (``None`` if the value is
        valid) and the value converted to ``int``/``float``; or None if ``key`` is not a
        parameter.
    """
    spec = PARAMETERS.get(key)
    if spec is None:
        return None
    integer, lo, hi, lo_open, unit = spec
    number = _number(value)
    if number is None:
        what = "an integer" if integer else "a finite number"
        return f"expected {what}, got {value!r}", value
    if integer and not number.is_integer():
        return f"expected an integer, got {value!r}", value
    converted: Any = int(number) if integer else number
    if number < lo or (lo_open and number == lo) or number > hi:
        return f"must be {_range_text(lo, hi, lo_open, unit)}, got {value!r}", value
    return None, converted

def _check_numeric(
    props: dict,
    name: str,
    label: str,
    feat: str,
    problems: list[Problem],
    *,
    required: bool,
    nullable: bool,
    lo: float = 0.0,
    hi: float = math.inf,
    lo_open: bool = False,
    unit: str = "",
) -> float | None:
    if name not in props:
        if required:
            problems.append(Problem(label, feat, name, "missing"))
        return None
    value = props[name]
    if value is None:
        if not nullable:
            problems.append(Problem(label, feat, name, "is null; a number is required"))
        return None
    number = _number(value)
    if number is None:
        problems.append(Problem(label, feat, name, f"expected a finite number, got {value!r}"))
        return None
    if number < lo or (lo_open and number == lo) or number > hi:
        problems.append(Problem(label, feat, name, f"must be {_range_text(lo, hi, lo_open, unit)}, got {value!r}"))
        return None
    return number



def check_parameters(data: Any, label: str) -> tuple[dict[str, Any], list[Problem]]:
    """Check a parameter mapping (``parameters.toml``, a ``--params`` file, a dict).

    Tables (``[cost]``, ``[route_choice]``) are flattened; every key must be one of
    :data:`PARAMETERS` and every value a finite number in its range (integers for
    ``k_routes``, ``candidate_factor`` and ``year``; ``2027.0`` counts as an integer).

    Returns
    -------
    values : dict
        The valid parameters, flattened, converted to int/float.
    problems : list of Problem
        One per bad key or value, naming ``label``, the table and the key.
    """
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    if not isinstance(data, dict):
        return values, [Problem(label, None, None, f"expected a table of parameters, got {type(data).__name__}")]
    items: list[tuple[str | None, str, Any]] = []
    for key, value in data.items():
        if isinstance(value, dict) and key not in PARAMETERS and key != "segments":
            items += [(key, sub, v) for sub, v in value.items()]
        else:
            items.append((None, key, value))
    for table, key, value in items:
        where = f"[{table}]" if table else None
        if key == "segments":
            values["segments"] = check_segments(value, label, problems)
            continue
        checked = parameter_problem(key, value)
        if checked is None:
            problems.append(Problem(label, where, None, f"unknown parameter '{key}'{suggest(key, PARAMETERS)}"))
            continue
        message, converted = checked
        if message is not None:
            problems.append(Problem(label, where, None, f"parameter '{key}': {message}"))
        elif key in values and values[key] != converted:
            problems.append(
                Problem(label, where, None, f"parameter '{key}': given twice with different values ({values[key]!r})")
            )
        else:
            values[key] = converted
    depth = values.get("k_routes", 1) * values.get("candidate_factor", 1)
    if depth > MAX_SEARCH_DEPTH:
        problems.append(Problem(label, None, None, search_depth_message(values["k_routes"],
                                                                          values["candidate_factor"])))
    return values, problems


#: Demand segments (``segment`` column of ``demand*.csv``) that may have their own route choice.
SEGMENTS = ("eu", "rus_blr", "central_asia")


def check_segments(data: Any, label: str, problems: list[Problem]) -> tuple:
    """Check ``[route_choice.segments.<segment>]`` tables; return them as
    ``((segment, logit_theta_per_usd or None, ((node, usd), ...)), ...)`` sorted by segment.

    A segment table may hold ``logit_theta_per_usd`` (range of :data:`PARAMETERS`) and a
    ``gateway_asc_usd`` table of node id -> USD per TEU (a finite number, ``|usd| <= 1e5``)
    added to the cost of that segment's routes through the node; problems are appended.
    """
    out = []
    if not isinstance(data, dict):
        problems.append(Problem(label, "[route_choice.segments]", None, "expected a table of segments"))
        return ()
    for name, table in sorted(data.items()):
        where = f"[route_choice.segments.{name}]"
        if name not in SEGMENTS:
            problems.append(Problem(label, where, None, f"unknown segment '{name}'{suggest(name, SEGMENTS)}; "
                                    f"expected one of {', '.join(SEGMENTS)}"))
            continue
        if not isinstance(table, dict):
            problems.append(Problem(label, where, None, "expected a table (logit_theta_per_usd, gateway_asc_usd)"))
            continue
        theta = None
        constants = []
        for key, value in table.items():
            if key == "logit_theta_per_usd":
                message, converted = parameter_problem(key, value)
                if message is not None:
                    problems.append(Problem(label, where, None, f"parameter '{key}': {message}"))
                else:
                    theta = converted
            elif key == "gateway_asc_usd" and isinstance(value, dict):
                for node, usd in sorted(value.items()):
                    number = _number(usd)
                    if number is None or abs(number) > 1e5:
                        problems.append(Problem(label, f"{where[:-1]}.gateway_asc_usd]", None,
                                                f"'{node}': expected a number of USD per TEU within ±1e5, "
                                                f"got {usd!r}"))
                    else:
                        constants.append((str(node), float(number)))
            else:
                problems.append(Problem(label, where, None, f"unknown key '{key}'; expected logit_theta_per_usd or "
                                        "a gateway_asc_usd table"))
        out.append((name, theta, tuple(constants)))
    return tuple(out)


def search_depth_message(k_routes: int, candidate_factor: int) -> str:
    """The message for a route search deeper than :data:`MAX_SEARCH_DEPTH`."""
    return (
        f"parameters 'k_routes' x 'candidate_factor' = {k_routes} x {candidate_factor} = "
        f"{k_routes * candidate_factor}: the route search may go at most {MAX_SEARCH_DEPTH} paths deep"
    )




def attribute_range(name: str) -> tuple[float, float, bool, str] | None:
    """The valid range of a node or link attribute: ``(lower, upper, lower bound excluded,
    unit)`` from :data:`_LINK_NUMERIC` (links first) or :data:`_NODE_NUMERIC`; None if
    ``name`` is neither."""
    spec = _LINK_NUMERIC.get(name) or _NODE_NUMERIC.get(name)
    if spec is None:
        return None
    return spec[2], spec[3], spec[4], spec[5]


def range_problem(value: float, lo: float, hi: float, lo_open: bool = False, unit: str = "") -> str | None:
    """The message for a number outside ``[lo, hi]`` (``(lo, hi]`` if ``lo_open``) or not
    finite, or None if it lies inside."""
    number = _number(value)
    if number is None:
        return f"expected a finite number, got {value!r}"
    if number < lo or (lo_open and number == lo) or number > hi:
        return f"must be {_range_text(lo, hi, lo_open, unit)}, got {value!r}"
    return None
