"""Scenario files: the schema, reading and validating them (what-if changes and uncertain inputs).

A scenario is a TOML file (the bundled ones live in ``geodata/scenarios/<name>.toml``)
describing a change against the baseline network: closures (for all traffic, or only
for OD pairs between two regions), openings of planned links, new nodes and links,
changed attributes (capacity, tariff, dwell time, ferry frequency ...), model
parameters (value of time, year, route-choice method) and demand scaling.  A scenario
may name *uncertain* inputs with probability distributions for Monte Carlo sweeps.

Every key is checked (unknown keys are errors) and every error is one line naming the
file, the key and the problem, raised as :class:`corridors._errors.ScenarioError`.

File format
-----------
Top-level keys (all optional):

``name``, ``title``, ``description``, ``rationale`` (str), ``sources`` (str or list of
keys into ``SOURCES.md``), ``extends`` (a scenario name or path whose content this one
adds to), ``year`` (int, model year), ``method`` (``logit``, ``shortest``, ``ue``,
``sue``), ``compare_with`` (the scenario whose network is the baseline of the
comparison; default the unchanged network), ``on_unreachable`` (``error``: demand left without a route is an error, the
default; ``strand``: report it as stranded TEU), ``parameters`` (table of
:class:`~corridors.network.CostParameters` overrides) and the arrays of tables below.

Selectors (in ``[[close]]``, ``[[change]]``, ``[[uncertain]]``): ``nodes``, ``links``
(ids), ``countries`` (ISO3 codes or regions such as ``EU``), ``corridors`` (link
families), ``routes`` (route names), ``modes`` (``rail``, ``road``, ``ferry``),
``node_kinds`` (``port``, ``border`` ...), and ``applies_to`` (``auto``, ``nodes``,
``links``, ``both``).  Given filters are combined with AND.  With ``applies_to =
"auto"``, ``nodes``/``node_kinds`` select nodes only, ``links``/``modes``/``corridors``/
``routes`` select links only (``corridors``/``routes`` next to a node filter restrict the
nodes to the ends of those links), ``countries`` alone selects both.

``[[close]]``
    A selector, plus optional ``from``, ``to`` (regions) and ``both_ways`` (bool).  Without
    ``from``/``to`` the selected features are closed for all traffic.  With them the
    closure applies only to OD pairs from ``from`` to ``to`` (and back with
    ``both_ways``): their choice sets are generated on the network without the selected
    features (a per-segment closure), so China-Russia traffic may still cross Russia
    while China-EU traffic may not.
``[[open]]``
    ``nodes``, ``links``, ``corridors``, ``routes``, ``countries``: planned and
    under-construction features in the selection are treated as operating (the end
    nodes of an opened link are opened too).
``[[change]]``
    A selector with ``set = {attribute = value}`` and/or ``scale = {attribute = factor}``
    for link attributes (``speed_kmh``, ``running_h``, ``frequency_per_week``,
    ``tariff_usd_per_teu_km``, ``tariff_usd``, ``capacity_teu``) and node attributes
    (``dwell_h``, ``handling_usd``, ``transfer_h``, ``transfer_usd``, ``capacity_teu``).
    Scaling a null attribute leaves it null.
``[[demand]]``
    ``from``, ``to`` (a region or a node id), ``segment``, and ``scale`` (factor).
``[[add_node]]``, ``[[add_link]]``, ``add_geojson``
    New features with the properties of ``docs/DESIGN.md`` (``lon``/``lat`` for nodes,
    ``coordinates`` for links), or GeoJSON FeatureCollections (paths relative to the
    scenario file) of Point nodes and LineString links.
``[sea]``
    Year inputs of the mode choice (``corridors share --year``, ``corridors backcast``):
    ``suez = "closed"`` (every sea box goes round the Cape at the year's rate) or ``"open"``
    (Suez only); ``russia_transit_term = "off"`` (no Russia-transit term, as if EU sanctions
    were lifted) or ``"on"``.  Without a year these have no effect.
``[[uncertain]]``
    ``name`` (a slug, the column in sweep results), ``distribution`` with its
    parameters: ``uniform`` (``low``, ``high``), ``triangular`` (``low``, ``mode``,
    ``high``), ``normal`` (``mean``, ``sd``), ``lognormal`` (``median``, ``sigma`` of the
    logarithm), ``calibration`` (with ``parameter = "route_choice"``: every estimate of
    ``geodata/calibration.json`` drawn jointly from its covariance, one result column
    per parameter); optional ``min``/``max`` clip bounds (values are never below 0), and one
    target: ``parameter`` (``value_of_time_usd_per_teu_h``, ``logit_theta_per_usd`` or
    ``path_size_beta``; the draw is the value), ``attributes`` (a list of the attributes
    above, with a selector; the draw is a factor on the nominal values), or ``demand``
    (a table with ``from``, ``to``, ``segment``; the draw is a factor on the TEU).

Applying a scenario to a network is :mod:`corridors.scenario_apply`, running it
:mod:`corridors.scenarios`, sweeping it :mod:`corridors.montecarlo`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from corridors._errors import CorridorsError, ScenarioError, suggest
from corridors.limits import MAX_FACTOR, PARAMETERS, YEAR_RANGE, attribute_range, parameter_problem, range_problem
from corridors.network import CostParameters
from corridors.readers import _read_text, parse_toml

__all__ = [
    "Scenario",
    "load_scenario",
    "list_scenarios",
    "LINK_ATTRIBUTES",
    "NODE_ATTRIBUTES",
    "UNCERTAIN_PARAMETERS",
    "DISTRIBUTIONS",
]

#: Link attributes a scenario may set, scale or make uncertain.
LINK_ATTRIBUTES = ("speed_kmh", "running_h", "frequency_per_week", "tariff_usd_per_teu_km", "tariff_usd",
                   "capacity_teu")
#: Node attributes a scenario may set, scale or make uncertain.
NODE_ATTRIBUTES = ("dwell_h", "handling_usd", "transfer_h", "transfer_usd", "capacity_teu")
_POSITIVE = ("speed_kmh", "running_h", "frequency_per_week", "capacity_teu")
#: Cost parameters that may be drawn in a sweep (the draw is the value).
UNCERTAIN_PARAMETERS = ("value_of_time_usd_per_teu_h", "logit_theta_per_usd", "path_size_beta")
#: Distribution -> its parameters.
DISTRIBUTIONS = {
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "normal": ("mean", "sd"),
    "lognormal": ("median", "sigma"),
    # the route-choice estimates of geodata/calibration.json, drawn jointly (multivariate normal
    # in the fitted coordinates: log of the logit scales) with parameter = "route_choice"
    "calibration": (),
}
_SLUG = re.compile(r"^[a-z0-9_]+$")
_LINK_SLUG = re.compile(r"^[a-z0-9_-]+$")

# --------------------------------------------------------------------------- file schema

# Numbers are strict: a string ("25", "2030") is refused, not converted; NaN and inf are
# refused (TOML can write both).  Ranges come from corridors.limits, checked in _check_spec.
_Num = Annotated[float, Field(strict=True, allow_inf_nan=False)]
_Year = Annotated[int, Field(strict=True, ge=YEAR_RANGE[0], le=YEAR_RANGE[1])]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class _Selector(_Strict):
    nodes: list[str] = Field(default_factory=list)
    links: list[str] = Field(default_factory=list)
    countries: list[str] = Field(default_factory=list)
    corridors: list[str] = Field(default_factory=list)
    routes: list[str] = Field(default_factory=list)
    modes: list[str] = Field(default_factory=list)
    node_kinds: list[str] = Field(default_factory=list)
    applies_to: Literal["auto", "nodes", "links", "both"] = "auto"
    note: str | None = None

    def is_empty(self) -> bool:
        return not (self.nodes or self.links or self.countries or self.corridors or self.routes or self.modes
                    or self.node_kinds)


class _Closure(_Selector):
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    both_ways: bool = False


class _Opening(_Strict):
    nodes: list[str] = Field(default_factory=list)
    links: list[str] = Field(default_factory=list)
    countries: list[str] = Field(default_factory=list)
    corridors: list[str] = Field(default_factory=list)
    routes: list[str] = Field(default_factory=list)
    note: str | None = None


class _Change(_Selector):
    set_: dict[str, _Num] = Field(default_factory=dict, alias="set")
    scale: dict[str, _Num] = Field(default_factory=dict)


class _DemandTarget(_Strict):
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    segment: str | None = None


class _DemandChange(_DemandTarget):
    scale: _Num
    note: str | None = None


class _Uncertain(_Selector):
    name: str
    distribution: Literal["uniform", "triangular", "normal", "lognormal", "calibration"]
    low: _Num | None = None
    mode: _Num | None = None
    high: _Num | None = None
    mean: _Num | None = None
    sd: _Num | None = None
    median: _Num | None = None
    sigma: _Num | None = None
    min: _Num | None = None
    max: _Num | None = None
    parameter: str | None = None
    attributes: list[str] = Field(default_factory=list)
    demand: _DemandTarget | None = None
    sources: str | None = None


class _NewNode(_Strict):
    id: str
    name: str
    name_local: str | None = None
    kind: Literal["hub", "border", "gauge_change", "port", "junction"]
    country: str
    lon: _Num = Field(ge=-180, le=180)
    lat: _Num = Field(ge=-90, le=90)
    dwell_h: _Num = Field(default=0.0, ge=0)
    handling_usd: _Num = Field(default=0.0, ge=0)
    transfer_h: _Num | None = Field(default=None, ge=0)
    transfer_usd: _Num | None = Field(default=None, ge=0)
    capacity_teu: _Num | None = Field(default=None, gt=0)
    status: Literal["operating", "under_construction", "planned"] = "operating"
    opening_year: _Year | None = None
    sources: str = "scenario"


class _NewLink(_Strict):
    id: str
    from_: str = Field(alias="from")
    to: str
    corridor: str
    route: str
    mode: Literal["rail", "road", "ferry"]
    gauge_mm: Literal[1435, 1520] | None = None
    country: str | None = None
    coordinates: list[tuple[_Num, _Num]] = Field(min_length=2)
    speed_kmh: _Num | None = Field(default=None, gt=0)
    running_h: _Num | None = Field(default=None, gt=0)
    frequency_per_week: _Num | None = Field(default=None, gt=0)
    tariff_usd_per_teu_km: _Num | None = Field(default=None, ge=0)
    tariff_usd: _Num | None = Field(default=None, ge=0)
    capacity_teu: _Num | None = Field(default=None, gt=0)
    status: Literal["operating", "under_construction", "planned"] = "operating"
    opening_year: _Year | None = None
    oneway: bool = False
    sources: str = "scenario"


class _Sea(_Strict):
    """``[sea]``: year inputs of the mode choice (:mod:`corridors.modes`) a scenario overrides."""

    suez: Literal["open", "closed"] | None = None
    russia_transit_term: Literal["on", "off"] | None = None


class _Spec(_Strict):
    name: str | None = None
    title: str = ""
    description: str = ""
    rationale: str = ""
    sources: str | list[str] = Field(default_factory=list)
    extends: str | None = None
    compare_with: str | None = None
    year: _Year | None = None
    method: Literal["shortest", "logit", "ue", "sue"] | None = None
    on_unreachable: Literal["error", "strand"] = "error"
    parameters: dict[str, _Num] = Field(default_factory=dict)
    close: list[_Closure] = Field(default_factory=list)
    open_: list[_Opening] = Field(default_factory=list, alias="open")
    change: list[_Change] = Field(default_factory=list)
    demand: list[_DemandChange] = Field(default_factory=list)
    add_node: list[_NewNode] = Field(default_factory=list)
    add_link: list[_NewLink] = Field(default_factory=list)
    add_geojson: list[str] = Field(default_factory=list)
    uncertain: list[_Uncertain] = Field(default_factory=list)
    sea: _Sea = Field(default_factory=_Sea)


_LIST_KEYS = ("close", "open", "change", "demand", "add_node", "add_link", "add_geojson", "uncertain")


def _known_keys() -> set[str]:
    keys: set[str] = set()
    for model in (_Spec, _Closure, _Opening, _Change, _DemandChange, _Uncertain, _NewNode, _NewLink, _Sea):
        for name, info in model.model_fields.items():
            keys.add(info.alias or name)
    return keys


def _format_loc(loc: Iterable) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _validation_error(label: str, exc: ValidationError) -> ScenarioError:
    errors = exc.errors()
    err = errors[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "tagged-"))))
    kind = err["type"]
    if kind == "extra_forbidden":
        problem = f"unknown key{suggest(str(loc[-1]), _known_keys())}"
    elif kind == "missing":
        problem = "missing required key"
    else:
        problem = f"{err['msg']} (got {err.get('input')!r})"
    more = f" (+{len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return ScenarioError(f"{label}: {_format_loc(loc)}: {problem}{more}")


# --------------------------------------------------------------------------- Scenario


@dataclass(frozen=True)
class Scenario:
    """A validated scenario file.

    Attributes
    ----------
    name : str
        Short name (the file stem unless the file sets ``name``).
    spec : pydantic model
        The parsed content; see the module docstring for the keys.
    path : Path or None
        The file read (None for a scenario built from a dict).
    label : str
        How errors name the file (``geodata/scenarios/x.toml``).
    """

    name: str
    spec: Any = field(repr=False)
    path: Path | None = None
    label: str = ""

    @property
    def title(self) -> str:
        """One-line title (falls back to the name)."""
        return self.spec.title or self.name

    @property
    def description(self) -> str:
        """What the scenario changes."""
        return self.spec.description

    @property
    def rationale(self) -> str:
        """Why the scenario is worth running, with its evidence."""
        return self.spec.rationale

    @property
    def sources(self) -> tuple[str, ...]:
        """Source keys (``S301``, ``A301`` ...) into ``geodata/SOURCES.md``."""
        raw = self.spec.sources
        items = raw.split(",") if isinstance(raw, str) else raw
        return tuple(s.strip() for s in items if s.strip())

    @property
    def method(self) -> str | None:
        """Route-choice method the scenario asks for (None: the caller's default)."""
        return self.spec.method

    @property
    def year(self) -> int | None:
        """Model year the scenario asks for (None: the baseline's)."""
        return self.spec.year

    @property
    def uncertain(self) -> tuple[str, ...]:
        """Names of the uncertain inputs (columns of a sweep table)."""
        return tuple(u.name for u in self.spec.uncertain)

    def to_dict(self) -> dict[str, Any]:
        """Return the scenario as a JSON-ready dict (keys as in the file)."""
        return {"name": self.name, **self.spec.model_dump(by_alias=True, exclude_defaults=True)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, name: str = "scenario", label: str | None = None,
                  base_dir: Path | None = None) -> Scenario:
        """Validate a scenario given as a mapping (as parsed from TOML).

        Raises
        ------
        ScenarioError
            For an unknown key, a value of the wrong type or an impossible distribution.
        """
        label = label or f"scenario '{name}'"
        data = dict(data)
        if data.get("extends"):
            parent = load_scenario(str(data["extends"]), _seen=(label,))
            data = _merge(parent.spec.model_dump(by_alias=True, exclude_defaults=True), data)
        try:
            spec = _Spec.model_validate(data)
        except ValidationError as exc:
            raise _validation_error(label, exc) from None
        _check_spec(spec, label)
        path = base_dir / f"{name}.toml" if base_dir is not None else None
        return cls(name=spec.name or name, spec=spec, path=path, label=label)


def _merge(parent: dict, child: dict) -> dict:
    out = {k: v for k, v in parent.items() if k not in ("name", "title", "description", "rationale", "extends")}
    for key, value in child.items():
        if key == "extends":
            continue
        if key in _LIST_KEYS and isinstance(value, list):
            out[key] = list(out.get(key, [])) + list(value)
        elif key == "parameters" and isinstance(value, dict):
            out[key] = {**out.get(key, {}), **value}
        else:
            out[key] = value
    return out


def _check_distribution(u: _Uncertain, key: str, label: str) -> None:
    params = DISTRIBUTIONS[u.distribution]
    every = ("low", "mode", "high", "mean", "sd", "median", "sigma")
    for name in every:
        value = getattr(u, name)
        if name not in params and value is not None:
            raise ScenarioError(f"{label}: {key}.{name}: does not apply to a {u.distribution} distribution "
                                f"(it takes {', '.join(params)})")
        if name in params and value is None:
            raise ScenarioError(f"{label}: {key}.{name}: missing; a {u.distribution} distribution needs "
                                f"{', '.join(params)}")
        if value is not None and not math.isfinite(value):
            raise ScenarioError(f"{label}: {key}.{name}: must be a finite number, got {value!r}")
    if u.distribution in ("uniform", "triangular") and u.low > u.high:
        raise ScenarioError(f"{label}: {key}.low: {u.low:g} is greater than high ({u.high:g})")
    if u.distribution == "triangular" and not u.low <= u.mode <= u.high:
        raise ScenarioError(f"{label}: {key}.mode: {u.mode:g} lies outside [low, high] = [{u.low:g}, {u.high:g}]")
    if u.distribution in ("uniform", "triangular") and u.low < 0:
        raise ScenarioError(f"{label}: {key}.low: {u.low:g} is negative; factors and values must be >= 0")
    if u.distribution == "normal" and u.sd < 0:
        raise ScenarioError(f"{label}: {key}.sd: a standard deviation cannot be negative, got {u.sd:g}")
    if u.distribution == "lognormal":
        if u.median <= 0:
            raise ScenarioError(f"{label}: {key}.median: must be > 0 for a lognormal distribution, got {u.median:g}")
        if u.sigma < 0:
            raise ScenarioError(f"{label}: {key}.sigma: cannot be negative, got {u.sigma:g}")
    if u.min is not None and u.max is not None and u.min > u.max:
        raise ScenarioError(f"{label}: {key}.min: {u.min:g} is greater than max ({u.max:g})")


def _support(u: _Uncertain) -> tuple[float, float]:
    """Smallest and largest value a draw of ``u`` can take, after the clipping of
    :func:`corridors.sweep_model.sample` (``[max(0, min), max]``); normal and lognormal
    draws are taken as bounded at 6 standard deviations (one in 10^9 draws lies beyond)."""
    if u.distribution in ("uniform", "triangular"):
        lo, hi = u.low, u.high
    elif u.distribution == "normal":
        lo, hi = u.mean - 6.0 * u.sd, u.mean + 6.0 * u.sd
    else:
        try:
            lo, hi = u.median * math.exp(-6.0 * u.sigma), u.median * math.exp(6.0 * u.sigma)
        except OverflowError:
            lo, hi = 0.0, math.inf
    floor = max(0.0, u.min if u.min is not None else 0.0)
    ceiling = u.max if u.max is not None else math.inf
    return min(max(lo, floor), ceiling), min(max(hi, floor), ceiling)


def _check_support(u: _Uncertain, key: str, label: str) -> None:
    """Refuse a distribution whose draws can leave the valid range of what they set: the
    parameter's range (:data:`corridors.limits.PARAMETERS`), or for a factor on attributes
    or demand ``[0, MAX_FACTOR]`` (``[1/MAX_FACTOR, MAX_FACTOR]`` on speeds, running
    times, frequencies and capacities, which a factor 0 would make infinite)."""
    lo, hi = _support(u)
    field = "max" if u.max is not None else {"normal": "sd", "lognormal": "sigma"}.get(u.distribution, "high")
    if u.parameter is not None and u.parameter in PARAMETERS:
        _, p_lo, p_hi, lo_open, unit = PARAMETERS[u.parameter]
        what = f"{u.parameter} must be"
    elif u.parameter is None:
        positive = any(a in _POSITIVE for a in u.attributes)
        p_lo, p_hi, lo_open, unit = (1.0 / MAX_FACTOR if positive else 0.0), MAX_FACTOR, False, "(a factor)"
        what = "a factor on " + (", ".join(u.attributes) if u.attributes else "demand") + " must be"
    else:
        return  # an unknown parameter: reported by _check_spec
    if not hi <= p_hi:
        raise ScenarioError(f"{label}: {key}.{field}: draws reach {hi:g}; {what} <= {p_hi:g} {unit}".rstrip()
                            + " (narrow the distribution or clip it with 'max')")
    if lo < p_lo or (lo_open and lo == p_lo):
        low_field = "min" if u.min is not None else {"normal": "sd", "lognormal": "sigma"}.get(u.distribution, "low")
        bound = f"{'>' if lo_open else '>='} {p_lo:g}"
        raise ScenarioError(f"{label}: {key}.{low_field}: draws reach {lo:g}; {what} {bound} {unit}".rstrip()
                            + " (narrow the distribution or clip it with 'min')")


def _check_spec(spec: _Spec, label: str) -> None:
    known = set(CostParameters.__dataclass_fields__)
    for name, value in spec.parameters.items():
        if name not in known:
            raise ScenarioError(f"{label}: parameters.{name}: unknown parameter{suggest(name, known)}")
        checked = parameter_problem(name, value)  # the ranges of corridors.limits.PARAMETERS
        if checked is not None and checked[0] is not None:
            raise ScenarioError(f"{label}: parameters.{name}: {checked[0]}")
    if "year" in spec.parameters:
        raise ScenarioError(f"{label}: parameters.year: set the model year with the top-level key 'year'")
    for i, change in enumerate(spec.change):
        key = f"change[{i}]"
        if not change.set_ and not change.scale:
            raise ScenarioError(f"{label}: {key}: needs 'set' or 'scale'")
        for table, values in (("set", change.set_), ("scale", change.scale)):
            for attr, value in values.items():
                if attr not in LINK_ATTRIBUTES and attr not in NODE_ATTRIBUTES:
                    raise ScenarioError(
                        f"{label}: {key}.{table}.{attr}: unknown attribute"
                        f"{suggest(attr, LINK_ATTRIBUTES + NODE_ATTRIBUTES)}; expected one of "
                        f"{', '.join(sorted(set(LINK_ATTRIBUTES + NODE_ATTRIBUTES)))}")
                if table == "set":
                    problem = range_problem(value, *attribute_range(attr))  # the layers' table
                else:
                    problem = range_problem(value, 0.0, MAX_FACTOR, True, "(a factor)")
                if problem is not None:
                    raise ScenarioError(f"{label}: {key}.{table}.{attr}: {problem}")
    for i, d in enumerate(spec.demand):
        problem = range_problem(d.scale, 0.0, MAX_FACTOR, False, "(a factor)")
        if problem is not None:
            raise ScenarioError(f"{label}: demand[{i}].scale: {problem}")
    for i, c in enumerate(spec.close):
        if c.is_empty():
            raise ScenarioError(f"{label}: close[{i}]: closes nothing; give nodes, links, countries, corridors, "
                                "routes, modes or node_kinds")
        if c.both_ways and not (c.from_ or c.to):
            raise ScenarioError(f"{label}: close[{i}].both_ways: only applies with 'from' or 'to'")
    for i, o in enumerate(spec.open_):
        if not (o.nodes or o.links or o.countries or o.corridors or o.routes):
            raise ScenarioError(f"{label}: open[{i}]: opens nothing; give nodes, links, countries, corridors or routes")
    names: set[str] = set()
    for i, u in enumerate(spec.uncertain):
        key = f"uncertain[{i}]"
        if not _SLUG.match(u.name):
            raise ScenarioError(f"{label}: {key}.name: expected a lowercase slug [a-z0-9_], got {u.name!r}")
        if u.name in names:
            raise ScenarioError(f"{label}: {key}.name: duplicate name '{u.name}'")
        names.add(u.name)
        _check_distribution(u, key, label)
        targets = [t for t in ("parameter", "attributes", "demand") if getattr(u, t)]
        if len(targets) != 1:
            raise ScenarioError(f"{label}: {key}: needs exactly one target of parameter, attributes, demand "
                                f"(got {', '.join(targets) or 'none'})")
        if (u.distribution == "calibration") != (u.parameter == "route_choice"):
            raise ScenarioError(f"{label}: {key}: the calibration distribution draws parameter = \"route_choice\" "
                                "(the estimates and covariance of geodata/calibration.json), and only that")
        if u.parameter is not None and u.parameter not in (*UNCERTAIN_PARAMETERS, "route_choice"):
            raise ScenarioError(f"{label}: {key}.parameter: '{u.parameter}' cannot be drawn"
                                f"{suggest(u.parameter, UNCERTAIN_PARAMETERS)}; expected one of "
                                f"{', '.join(UNCERTAIN_PARAMETERS)}")
        for attr in u.attributes:
            if attr not in LINK_ATTRIBUTES and attr not in NODE_ATTRIBUTES:
                raise ScenarioError(f"{label}: {key}.attributes: unknown attribute '{attr}'"
                                    f"{suggest(attr, LINK_ATTRIBUTES + NODE_ATTRIBUTES)}")
        if not u.attributes and not u.is_empty():
            raise ScenarioError(f"{label}: {key}: a selector only applies with 'attributes'")
        if u.distribution != "calibration":  # the calibration's estimates are checked where they are read
            _check_support(u, key, label)


def _rel_label(path: Path) -> str:
    from corridors.layers import default_geodata

    try:
        shipped = default_geodata()
        return str(Path(shipped.name) / path.resolve().relative_to(shipped))
    except (CorridorsError, ValueError):
        return str(path)


def _scenario_dirs(geodata: str | Path | None) -> list[Path]:
    from corridors.layers import default_geodata

    dirs = []
    if geodata is not None:
        dirs.append(Path(geodata) / "scenarios")
    try:
        dirs.append(default_geodata() / "scenarios")
    except CorridorsError:
        here = Path(__file__).resolve().parent
        dirs += [here / "geodata" / "scenarios", here.parent / "geodata" / "scenarios"]
    return dirs


def list_scenarios(geodata: str | Path | None = None) -> list[Scenario]:
    """Return the scenarios of ``<geodata>/scenarios`` (default: the bundled ones), by name.

    A scenario of the given folder hides a bundled one of the same name.
    """
    found: dict[str, Scenario] = {}
    for folder in reversed(_scenario_dirs(geodata)):
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            found[path.stem] = load_scenario(path)
    return [found[k] for k in sorted(found)]


def load_scenario(name_or_path: str | Path | Scenario, *, geodata: str | Path | None = None,
                  _seen: tuple[str, ...] = ()) -> Scenario:
    """Read and validate a scenario file.

    Parameters
    ----------
    name_or_path : str or Path
        A path to a ``.toml`` file, or the name of a scenario in ``<geodata>/scenarios``
        or among the bundled ones (``no-eu-transit-via-russia``).
    geodata : path, optional
        Geodata folder whose ``scenarios/`` folder is searched first.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        If the file is missing, not TOML, has an unknown key, a wrong type or an impossible
        distribution (one line: file, key, problem).  Ids of nodes and links are checked
        against a network by :func:`apply_scenario`.

    Examples
    --------
    >>> from corridors.scenario_schema import load_scenario
    >>> load_scenario("no-eu-transit-via-russia").name
    'no-eu-transit-via-russia'
    """
    if isinstance(name_or_path, Scenario):
        return name_or_path
    text = str(name_or_path)
    path = Path(text)
    if not path.is_file():
        if path.suffix == ".toml" or os.sep in text or "/" in text:
            raise ScenarioError(f"{text}: scenario file not found")
        candidates = [d / f"{text}.toml" for d in _scenario_dirs(geodata)]
        hits = [c for c in candidates if c.is_file()]
        if not hits:
            names = sorted({p.stem for d in _scenario_dirs(geodata) if d.is_dir() for p in d.glob("*.toml")})
            raise ScenarioError(f"{text}: unknown scenario{suggest(text, names)}; a path to a .toml file or one of "
                                f"{', '.join(names) or '(none found)'}")
        path = hits[0]
    label = _rel_label(path)
    if label in _seen:
        raise ScenarioError(f"{label}: extends: circular 'extends' chain ({' -> '.join(_seen + (label,))})")
    problems: list = []
    text = _read_text(path, label, problems)  # the layers' reader: BOM, encoding, permissions
    if text is None:
        raise ScenarioError(str(problems[0]))
    try:
        data = parse_toml(text)  # depth-limited
    except ValueError as exc:
        raise ScenarioError(f"{label}: not valid TOML ({exc})") from None
    if data.get("extends"):
        try:
            parent = load_scenario(str(data["extends"]), geodata=geodata, _seen=_seen + (label,))
        except ScenarioError as exc:
            if "circular 'extends'" in str(exc):
                raise
            raise ScenarioError(f"{label}: extends: {exc}") from None
        data = _merge(parent.spec.model_dump(by_alias=True, exclude_defaults=True), data)
    try:
        spec = _Spec.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(label, exc) from None
    _check_spec(spec, label)
    for i, name in enumerate(spec.add_geojson):
        if not (path.parent / name).is_file():
            raise ScenarioError(f"{label}: add_geojson[{i}]: file '{name}' not found next to the scenario")
    return Scenario(name=spec.name or path.stem, spec=spec, path=path.resolve(), label=label)
