"""Scenarios: what-if changes against the baseline network, and Monte Carlo sweeps.

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
``[[uncertain]]``
    ``name`` (a slug, the column in sweep results), ``distribution`` with its
    parameters: ``uniform`` (``low``, ``high``), ``triangular`` (``low``, ``mode``,
    ``high``), ``normal`` (``mean``, ``sd``), ``lognormal`` (``median``, ``sigma`` of the
    logarithm); optional ``min``/``max`` clip bounds (values are never below 0), and one
    target: ``parameter`` (``value_of_time_usd_per_teu_h``, ``logit_theta_per_usd`` or
    ``path_size_beta``; the draw is the value), ``attributes`` (a list of the attributes
    above, with a selector; the draw is a factor on the nominal values), or ``demand``
    (a table with ``from``, ``to``, ``segment``; the draw is a factor on the TEU).

Sweeps
------
:func:`sweep` generates the choice set of every OD pair once, on the scenario network,
and for every draw recomputes route costs from perturbed edge attributes (a sparse
route-edge incidence matrix times the edge costs of a batch of draws) and the route
shares (path-size logit, least cost, or an equilibrium with congestion on the fixed
choice set, using the volume-delay functions of :mod:`corridors.equilibrium`).  The
inputs of draw ``i`` come from ``numpy.random.default_rng(SeedSequence(seed,
spawn_key=(i,)))``, and draws are evaluated in fixed-size chunks, so the results depend
on the seed only, never on the number of workers or the scheduler.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import re
import time
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from corridors._errors import CorridorsError, QueryError, ScenarioError, suggest
from corridors.network import CostParameters, Network, build_graph

__all__ = [
    "Scenario",
    "ScenarioNetwork",
    "ScenarioResult",
    "SweepResult",
    "load_scenario",
    "list_scenarios",
    "apply_scenario",
    "assign_scenario",
    "run_scenario",
    "sweep",
    "LINK_ATTRIBUTES",
    "NODE_ATTRIBUTES",
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
}
_METHODS = ("shortest", "logit", "ue", "sue")
_SLUG = re.compile(r"^[a-z0-9_]+$")
_LINK_SLUG = re.compile(r"^[a-z0-9_-]+$")
_HOURS_PER_WEEK = 168.0
#: Draws per task (logit/shortest, equilibrium methods).  A draw's result does not depend
#: on the chunking; the sizes only balance task overhead against parallelism.
CHUNK_SIZE = 50
CHUNK_SIZE_EQUILIBRIUM = 10


# --------------------------------------------------------------------------- file schema


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
    set_: dict[str, float] = Field(default_factory=dict, alias="set")
    scale: dict[str, float] = Field(default_factory=dict)


class _DemandTarget(_Strict):
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    segment: str | None = None


class _DemandChange(_DemandTarget):
    scale: float
    note: str | None = None


class _Uncertain(_Selector):
    name: str
    distribution: Literal["uniform", "triangular", "normal", "lognormal"]
    low: float | None = None
    mode: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = None
    median: float | None = None
    sigma: float | None = None
    min: float | None = None
    max: float | None = None
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
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    dwell_h: float = Field(default=0.0, ge=0)
    handling_usd: float = Field(default=0.0, ge=0)
    transfer_h: float | None = Field(default=None, ge=0)
    transfer_usd: float | None = Field(default=None, ge=0)
    capacity_teu: float | None = Field(default=None, gt=0)
    status: Literal["operating", "under_construction", "planned"] = "operating"
    opening_year: int | None = None
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
    coordinates: list[tuple[float, float]] = Field(min_length=2)
    speed_kmh: float | None = Field(default=None, gt=0)
    running_h: float | None = Field(default=None, gt=0)
    frequency_per_week: float | None = Field(default=None, gt=0)
    tariff_usd_per_teu_km: float | None = Field(default=None, ge=0)
    tariff_usd: float | None = Field(default=None, ge=0)
    capacity_teu: float | None = Field(default=None, gt=0)
    status: Literal["operating", "under_construction", "planned"] = "operating"
    opening_year: int | None = None
    oneway: bool = False
    sources: str = "scenario"


class _Spec(_Strict):
    name: str | None = None
    title: str = ""
    description: str = ""
    rationale: str = ""
    sources: str | list[str] = Field(default_factory=list)
    extends: str | None = None
    compare_with: str | None = None
    year: int | None = Field(default=None, ge=1850, le=2100)
    method: Literal["shortest", "logit", "ue", "sue"] | None = None
    on_unreachable: Literal["error", "strand"] = "error"
    parameters: dict[str, float] = Field(default_factory=dict)
    close: list[_Closure] = Field(default_factory=list)
    open_: list[_Opening] = Field(default_factory=list, alias="open")
    change: list[_Change] = Field(default_factory=list)
    demand: list[_DemandChange] = Field(default_factory=list)
    add_node: list[_NewNode] = Field(default_factory=list)
    add_link: list[_NewLink] = Field(default_factory=list)
    add_geojson: list[str] = Field(default_factory=list)
    uncertain: list[_Uncertain] = Field(default_factory=list)


_LIST_KEYS = ("close", "open", "change", "demand", "add_node", "add_link", "add_geojson", "uncertain")


def _known_keys() -> set[str]:
    keys: set[str] = set()
    for model in (_Spec, _Closure, _Opening, _Change, _DemandChange, _Uncertain, _NewNode, _NewLink):
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


def _check_spec(spec: _Spec, label: str) -> None:
    known = set(CostParameters.__dataclass_fields__)
    for name, value in spec.parameters.items():
        if name not in known:
            raise ScenarioError(f"{label}: parameters.{name}: unknown parameter{suggest(name, known)}")
        if value < 0:
            raise ScenarioError(f"{label}: parameters.{name}: must be >= 0, got {value:g}")
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
                if not math.isfinite(value) or value < 0 or (value == 0 and (attr in _POSITIVE or table == "scale")):
                    bound = "> 0" if attr in _POSITIVE or table == "scale" else ">= 0"
                    raise ScenarioError(f"{label}: {key}.{table}.{attr}: must be {bound}, got {value:g}")
    for i, d in enumerate(spec.demand):
        if not math.isfinite(d.scale) or d.scale < 0:
            raise ScenarioError(f"{label}: demand[{i}].scale: must be >= 0, got {d.scale:g}")
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
        if u.parameter is not None and u.parameter not in UNCERTAIN_PARAMETERS:
            raise ScenarioError(f"{label}: {key}.parameter: '{u.parameter}' cannot be drawn"
                                f"{suggest(u.parameter, UNCERTAIN_PARAMETERS)}; expected one of "
                                f"{', '.join(UNCERTAIN_PARAMETERS)}")
        for attr in u.attributes:
            if attr not in LINK_ATTRIBUTES and attr not in NODE_ATTRIBUTES:
                raise ScenarioError(f"{label}: {key}.attributes: unknown attribute '{attr}'"
                                    f"{suggest(attr, LINK_ATTRIBUTES + NODE_ATTRIBUTES)}")
        if not u.attributes and not u.is_empty():
            raise ScenarioError(f"{label}: {key}: a selector only applies with 'attributes'")


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
    >>> from corridors.scenarios import load_scenario
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
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{label}: not valid TOML ({exc})") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{label}: not UTF-8 text ({exc.reason})") from None
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


# --------------------------------------------------------------------------- applying


@dataclass(frozen=True)
class _ODClosure:
    key: str
    from_codes: frozenset[str] | None
    to_codes: frozenset[str] | None
    both_ways: bool
    nodes: frozenset[str]
    links: frozenset[str]

    def applies(self, origin_country: str, destination_country: str) -> bool:
        def match(o: str, d: str) -> bool:
            return (self.from_codes is None or o in self.from_codes) and (self.to_codes is None or d in self.to_codes)

        return match(origin_country, destination_country) or (
            self.both_ways and match(destination_country, origin_country))


@dataclass(frozen=True)
class ScenarioNetwork(Network):
    """A :class:`~corridors.network.Network` with a scenario applied.

    Global changes are in the records and the graph.  Closures limited to OD pairs
    between two regions are kept in ``od_closures``; :meth:`for_od` returns the network
    on which an OD pair's routes are searched (this one, or one without the features
    closed to that pair).
    """

    scenario: Any = field(default=None, repr=False)
    od_closures: tuple[_ODClosure, ...] = field(default=(), repr=False)
    global_closures: tuple[str, ...] = field(default=(), repr=False)

    @functools.cached_property
    def _od_networks(self) -> dict:
        return {}

    def closures_for(self, origin: str, destination: str) -> tuple[int, ...]:
        """Indices into ``od_closures`` of the closures that apply to an OD pair."""
        oc = self.node_records[origin]["country"]
        dc = self.node_records[destination]["country"]
        return tuple(i for i, c in enumerate(self.od_closures) if c.applies(oc, dc))

    def od_network(self, closures: tuple[int, ...]) -> Network:
        """The network with the given OD closures applied (``self`` for none)."""
        if not closures:
            return self
        cache = self._od_networks
        if closures not in cache:
            nodes = set().union(*(self.od_closures[i].nodes for i in closures))
            links = set().union(*(self.od_closures[i].links for i in closures))
            node_records = {k: ({**r, "closed": True} if k in nodes else r) for k, r in self.node_records.items()}
            link_records = {k: ({**r, "closed": True} if k in links else r) for k, r in self.link_records.items()}
            fingerprint = None
            if self.fingerprint:
                fingerprint = hashlib.sha256(f"{self.fingerprint}/{closures}".encode()).hexdigest()[:32]
            cache[closures] = Network(
                geodata=self.geodata, params=self.params, graph=build_graph(node_records, link_records, self.params),
                node_records=node_records, link_records=link_records, country_names=self.country_names,
                demand_rows=self.demand_rows, fingerprint=fingerprint,
            )
        return cache[closures]

    def for_od(self, origin: str, destination: str) -> Network:
        """The network on which routes from ``origin`` to ``destination`` are searched."""
        if not self.od_closures or origin not in self.node_records or destination not in self.node_records:
            return self
        return self.od_network(self.closures_for(origin, destination))


def od_closure_note(network: Network, method: str | None = None) -> str | None:
    """A one-line note when a network's segment closures would be ignored by ``assign``.

    :func:`corridors.assignment.assign` (behind ``share``, ``route``, ``assign``) searches
    routes with :func:`corridors.routing.best_routes`, which applies a
    :class:`ScenarioNetwork`'s OD-limited closures only if it asks the network for the
    OD pair's network (``network.for_od(origin, destination)``); its ``ue`` method solves
    on the whole graph and cannot apply them.  Returns None when there is nothing to say.
    """
    if not isinstance(network, ScenarioNetwork) or not network.od_closures:
        return None
    if method != "ue":
        return None  # routing.best_routes routes each OD pair on network.for_od(...)
    keys = ", ".join(c.key for c in network.od_closures)
    return (f"note: {network.scenario.label}: {keys} apply to OD segments only, which the 'ue' method "
            f"(solved on the whole graph) cannot honour; use logit, shortest or sue")


class _Context:
    """Records being changed, with the lookups selectors need."""

    def __init__(self, network: Network, label: str):
        self.label = label
        self.nodes = {k: dict(v) for k, v in network.node_records.items()}
        self.links = {k: dict(v) for k, v in network.link_records.items()}
        self.countries = set(network.country_codes)

    def error(self, key: str, problem: str) -> ScenarioError:
        return ScenarioError(f"{self.label}: {key}: {problem}")

    def codes(self, value: str, key: str) -> frozenset[str]:
        from corridors.regions import resolve_region

        try:
            return resolve_region(value, self.countries)
        except QueryError as exc:
            raise self.error(key, str(exc)) from None

    def check_ids(self, sel: Any, key: str) -> None:
        from corridors.layers import CORRIDORS, MODES, NODE_KINDS

        corridors = {r["corridor"] for r in self.links.values()} | set(CORRIDORS)
        routes = {r["route"] for r in self.links.values()}
        checks = (
            ("nodes", self.nodes, "node"), ("links", self.links, "link"), ("corridors", corridors, "corridor"),
            ("routes", routes, "route"), ("modes", MODES, "mode"), ("node_kinds", NODE_KINDS, "node kind"),
        )
        for attr, known, what in checks:
            for value in getattr(sel, attr, ()):
                if value not in known:
                    raise self.error(f"{key}.{attr}", f"unknown {what} '{value}'{suggest(value, known)}")

    def select(self, sel: Any, key: str) -> tuple[set[str], set[str]]:
        """Return the (node ids, link ids) a selector picks (see the module docstring)."""
        self.check_ids(sel, key)
        codes: set[str] = set()
        for value in getattr(sel, "countries", ()):
            codes |= self.codes(value, f"{key}.countries")
        node_kinds = getattr(sel, "node_kinds", [])
        modes = getattr(sel, "modes", [])
        applies_to = getattr(sel, "applies_to", "auto")
        node_only = bool(sel.nodes or node_kinds)
        link_only = bool(sel.links or modes or sel.corridors or sel.routes)
        if applies_to == "auto":
            want_nodes = node_only or (bool(codes) and not link_only) or not (node_only or link_only or codes)
            want_links = (link_only and not node_only) or (bool(codes) and not node_only) or not (
                node_only or link_only or codes)
        else:
            want_nodes = applies_to in ("nodes", "both")
            want_links = applies_to in ("links", "both")

        def link_ok(link_id: str, r: dict) -> bool:
            if sel.links and link_id not in sel.links:
                return False
            if modes and r["mode"] not in modes:
                return False
            if sel.corridors and r["corridor"] not in sel.corridors:
                return False
            if sel.routes and r["route"] not in sel.routes:
                return False
            if codes:
                parts = set(str(r.get("country")).split("|")) if r.get("country") else {
                    self.nodes[r["from"]]["country"], self.nodes[r["to"]]["country"]}
                if not parts & codes:
                    return False
            return True

        nodes: set[str] = set()
        links: set[str] = set()
        if want_links:
            links = {k for k, r in self.links.items() if link_ok(k, r)}
            if sel.nodes:
                links = {k for k in links if self.links[k]["from"] in sel.nodes or self.links[k]["to"] in sel.nodes}
            if node_kinds:
                links = {k for k in links if self.nodes[self.links[k]["from"]]["kind"] in node_kinds
                         or self.nodes[self.links[k]["to"]]["kind"] in node_kinds}
        if want_nodes:
            nodes = {k for k, r in self.nodes.items()
                     if (not sel.nodes or k in sel.nodes) and (not node_kinds or r["kind"] in node_kinds)
                     and (not codes or r["country"] in codes)}
            if sel.corridors or sel.routes or sel.links or modes:
                ends = set()
                for k, r in self.links.items():
                    if link_ok(k, r):
                        ends |= {r["from"], r["to"]}
                nodes &= ends
        return nodes, links

    # -- additions ------------------------------------------------------------------------

    def add_node(self, node: _NewNode, key: str) -> None:
        if not _SLUG.match(node.id):
            raise self.error(f"{key}.id", f"expected a lowercase ASCII slug, got {node.id!r}")
        if node.id in self.nodes:
            raise self.error(f"{key}.id", f"node '{node.id}' already exists")
        if node.country not in self.countries:
            raise self.error(f"{key}.country",
                             f"unknown country '{node.country}'{suggest(node.country, self.countries)}")
        if (node.transfer_h is None) != (node.transfer_usd is None):
            raise self.error(f"{key}.transfer_usd", "transfer_h and transfer_usd must be both set or both null")
        if node.status != "operating" and node.opening_year is None:
            raise self.error(f"{key}.opening_year", f"a {node.status} node needs its expected opening year")
        record = node.model_dump()
        self.nodes[node.id] = record

    def add_link(self, link: _NewLink, key: str) -> None:
        from pyproj import Geod

        from corridors.layers import CORRIDORS

        if not _LINK_SLUG.match(link.id):
            raise self.error(f"{key}.id", f"expected a lowercase ASCII slug, got {link.id!r}")
        if link.id in self.links:
            raise self.error(f"{key}.id", f"link '{link.id}' already exists")
        for end, node_id in (("from", link.from_), ("to", link.to)):
            if node_id not in self.nodes:
                raise self.error(f"{key}.{end}", f"unknown node '{node_id}'{suggest(node_id, self.nodes)}")
        if link.corridor not in CORRIDORS:
            raise self.error(f"{key}.corridor",
                             f"unknown corridor '{link.corridor}'{suggest(link.corridor, CORRIDORS)}")
        if link.mode == "rail" and link.gauge_mm is None:
            raise self.error(f"{key}.gauge_mm", "a rail link needs gauge 1435 or 1520")
        if link.mode != "rail" and link.gauge_mm is not None:
            raise self.error(f"{key}.gauge_mm", f"a {link.mode} link has no gauge")
        if link.speed_kmh is None and link.running_h is None:
            raise self.error(f"{key}.speed_kmh", "needs speed_kmh or running_h")
        if link.tariff_usd_per_teu_km is None and link.tariff_usd is None:
            raise self.error(f"{key}.tariff_usd_per_teu_km", "needs tariff_usd_per_teu_km or tariff_usd")
        if link.status != "operating" and link.opening_year is None:
            raise self.error(f"{key}.opening_year", f"a {link.status} link needs its expected opening year")
        a, b = self.nodes[link.from_], self.nodes[link.to]
        if link.mode == "ferry":
            if link.country is not None:
                raise self.error(f"{key}.country", "a ferry leg crosses water: country must be null")
        else:
            if link.country is None:
                raise self.error(f"{key}.country", "expected an ISO3 code (or AAA|BBB for a border link)")
            parts = set(link.country.split("|"))
            if parts != {a["country"], b["country"]}:
                raise self.error(f"{key}.country", f"is {link.country} but its end nodes lie in {a['country']} "
                                 f"and {b['country']}")
        for gauge_end in (a, b):
            if link.mode == "rail" and gauge_end.get("transfer_h") is None:
                gauges = {r["gauge_mm"] for r in self.links.values() if r["mode"] == "rail"
                          and gauge_end["id"] in (r["from"], r["to"])}
                if gauges and link.gauge_mm not in gauges:
                    raise self.error(f"{key}.gauge_mm", f"meets other gauges at '{gauge_end['id']}', which has no "
                                     "gauge-change time/cost (transfer_h)")
        coords = tuple((float(x), float(y)) for x, y in link.coordinates)
        lons, lats = zip(*coords, strict=True)
        record = link.model_dump(by_alias=True, exclude={"coordinates"})
        record["coords"] = coords
        record["length_km"] = float(Geod(ellps="WGS84").line_length(lons, lats)) / 1000.0
        record["layer"] = link.corridor
        self.links[link.id] = record

    def read_geojson(self, path: Path, key: str) -> tuple[list, list]:
        """Validate a GeoJSON fragment; return ([(node, key)], [(link, key)])."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise self.error(key, f"cannot read GeoJSON {path.name} ({exc})") from None
        features = data.get("features") if isinstance(data, dict) else None
        if not isinstance(features, list):
            raise self.error(key, f"{path.name}: expected a GeoJSON FeatureCollection")
        points = [f for f in features if (f.get("geometry") or {}).get("type") == "Point"]
        lines = [f for f in features if (f.get("geometry") or {}).get("type") == "LineString"]
        if len(points) + len(lines) != len(features):
            raise self.error(key, f"{path.name}: only Point (node) and LineString (link) features are allowed")
        out: tuple[list, list] = ([], [])
        for kind, group, bucket in (("node", points, out[0]), ("link", lines, out[1])):
            for i, feature in enumerate(group):
                props = dict(feature.get("properties") or {})
                coords = feature["geometry"]["coordinates"]
                fkey = f"{key}:{kind} '{props.get('id', i)}'"
                try:
                    if kind == "node":
                        bucket.append((_NewNode.model_validate({**props, "lon": coords[0], "lat": coords[1]}), fkey))
                    else:
                        bucket.append((_NewLink.model_validate({**props, "coordinates": coords}), fkey))
                except ValidationError as exc:
                    raise _validation_error(f"{self.label}: {fkey}", exc) from None
        return out


def _scaled_demand(rows: list[dict], spec: _Spec, ctx: _Context) -> list[dict]:
    rows = [dict(r) for r in rows]
    for i, change in enumerate(spec.demand):
        match = _demand_matcher(change, f"demand[{i}]", ctx)
        hit = False
        for row in rows:
            if match(row):
                row["teu"] = row["teu"] * change.scale
                hit = True
        if not hit:
            raise ctx.error(f"demand[{i}]", "matches no row of the demand table")
    return rows


def _demand_matcher(target: Any, key: str, ctx: _Context):
    def side(value: str | None, end: str, attr: str):
        if value is None:
            return lambda row: True
        if value in ctx.nodes:
            return lambda row: row[end] == value
        codes = ctx.codes(value, f"{key}.{attr}")
        return lambda row: ctx.nodes[row[end]]["country"] in codes

    o = side(target.from_, "origin", "from")
    d = side(target.to, "destination", "to")
    segment = target.segment
    return lambda row: o(row) and d(row) and (segment is None or row.get("segment") == segment)


def apply_scenario(network: Network, scenario: Scenario | str | Path) -> ScenarioNetwork:
    """Apply a scenario's changes to a network.

    Parameters
    ----------
    network : Network
        The baseline, from :func:`corridors.load_network`.
    scenario : Scenario, or a name or path for :func:`load_scenario`

    Returns
    -------
    ScenarioNetwork
        The changed network (records, parameters, demand and graph); OD-limited closures
        are applied per OD pair by :meth:`ScenarioNetwork.for_od`.

    Raises
    ------
    ScenarioError
        For an unknown node, link, country, corridor or route, or a change that does not
        apply to the selection.
    """
    scenario = load_scenario(scenario, geodata=getattr(network, "geodata", None))
    spec = scenario.spec
    ctx = _Context(network, scenario.label)
    new_nodes = [(node, f"add_node[{i}]") for i, node in enumerate(spec.add_node)]
    new_links = [(link, f"add_link[{i}]") for i, link in enumerate(spec.add_link)]
    for i, name in enumerate(spec.add_geojson):
        base = scenario.path.parent if scenario.path is not None else Path.cwd()
        nodes, links = ctx.read_geojson(base / name, f"add_geojson[{i}]")
        new_nodes += nodes
        new_links += links
    for node, key in new_nodes:  # every node first, so that links may join any of them
        ctx.add_node(node, key)
    for link, key in new_links:
        ctx.add_link(link, key)
    for i, opening in enumerate(spec.open_):
        key = f"open[{i}]"
        sel = _Selector(nodes=opening.nodes, links=opening.links, countries=opening.countries,
                        corridors=opening.corridors, routes=opening.routes,
                        applies_to="nodes" if opening.nodes and not (opening.links or opening.corridors
                                                                       or opening.routes) else "both")
        nodes, links = ctx.select(sel, key)
        planned = lambda r: r.get("status", "operating") != "operating"  # noqa: E731
        for link_id in links:
            record = ctx.links[link_id]
            if planned(record) or opening.links:
                nodes |= {record["from"], record["to"]}
        opened = 0
        for node_id in nodes:
            if planned(ctx.nodes[node_id]):
                ctx.nodes[node_id]["status"] = "operating"
                opened += 1
        for link_id in links:
            if planned(ctx.links[link_id]):
                ctx.links[link_id]["status"] = "operating"
                opened += 1
        if not opened and not (opening.nodes or opening.links):
            raise ctx.error(key, "selects no planned or under-construction feature")
    for i, change in enumerate(spec.change):
        _apply_change(ctx, change, f"change[{i}]")
    od_closures: list[_ODClosure] = []
    global_keys: list[str] = []
    for i, closure in enumerate(spec.close):
        key = f"close[{i}]"
        nodes, links = ctx.select(closure, key)
        if not nodes and not links:
            raise ctx.error(key, "selects no node or link")
        if closure.from_ is None and closure.to is None:
            for node_id in nodes:
                ctx.nodes[node_id]["closed"] = True
            for link_id in links:
                ctx.links[link_id]["closed"] = True
            global_keys.append(key)
        else:
            od_closures.append(_ODClosure(
                key=key,
                from_codes=ctx.codes(closure.from_, f"{key}.from") if closure.from_ else None,
                to_codes=ctx.codes(closure.to, f"{key}.to") if closure.to else None,
                both_ways=closure.both_ways, nodes=frozenset(nodes), links=frozenset(links),
            ))
    params = network.params
    if spec.parameters:
        try:
            params = CostParameters.from_mapping({**params.as_dict(), **spec.parameters},
                                                 source=f"{scenario.label}: parameters")
        except CorridorsError as exc:
            raise ScenarioError(str(exc)) from None
    if spec.year is not None:
        params = dataclasses.replace(params, year=spec.year)
    demand_rows = _scaled_demand(list(network.demand_rows), spec, ctx)
    fingerprint = None
    if network.fingerprint:
        digest = hashlib.sha256(network.fingerprint.encode())
        digest.update(json.dumps(scenario.to_dict(), sort_keys=True, default=str).encode())
        for name in spec.add_geojson:
            digest.update((scenario.path.parent / name).read_bytes())
        fingerprint = digest.hexdigest()[:32]
    graph = build_graph(ctx.nodes, ctx.links, params)
    return ScenarioNetwork(
        geodata=network.geodata, params=params, graph=graph, node_records=ctx.nodes, link_records=ctx.links,
        country_names=network.country_names, demand_rows=demand_rows, fingerprint=fingerprint,
        scenario=scenario, od_closures=tuple(od_closures), global_closures=tuple(global_keys),
    )


def _apply_change(ctx: _Context, change: _Change, key: str) -> None:
    nodes, links = ctx.select(change, key)
    for table, values in (("set", change.set_), ("scale", change.scale)):
        for attr, value in values.items():
            targets = []
            if attr in LINK_ATTRIBUTES:
                targets += [ctx.links[k] for k in sorted(links)]
            if attr in NODE_ATTRIBUTES:
                targets += [ctx.nodes[k] for k in sorted(nodes)]
            if not targets:
                kind = "links" if attr not in NODE_ATTRIBUTES else "nodes" if attr not in LINK_ATTRIBUTES else \
                    "nodes or links"
                raise ctx.error(f"{key}.{table}.{attr}", f"applies to {kind}, but the selection holds none")
            for record in targets:
                if table == "set":
                    record[attr] = float(value)
                elif record.get(attr) is not None:
                    record[attr] = float(record[attr]) * float(value)
    for node_id in nodes:
        r = ctx.nodes[node_id]
        if (r.get("transfer_h") is None) != (r.get("transfer_usd") is None):
            raise ctx.error(key, f"node '{node_id}' ends up with only one of transfer_h and transfer_usd; set both")


# --------------------------------------------------------------------------- assignment


def scenario_route_sets(network: Network, od_pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list]:
    """Choice sets of OD pairs on a (scenario) network, with OD-limited closures applied.

    OD pairs are grouped by the closures that apply to them, and each group's routes are
    generated on the network without the closed features (cached like
    :func:`corridors.assignment.route_sets`).  Pairs with no route map to ``[]``.
    """
    from corridors.assignment import route_sets

    pairs = sorted(set(od_pairs))
    if not isinstance(network, ScenarioNetwork) or not network.od_closures:
        return route_sets(network, pairs, strict=False)
    groups: dict[tuple[int, ...], list[tuple[str, str]]] = {}
    for o, d in pairs:
        groups.setdefault(network.closures_for(o, d), []).append((o, d))
    sets: dict[tuple[str, str], list] = {}
    for closures, group in sorted(groups.items()):
        sets.update(route_sets(network.od_network(closures), group, strict=False))
    return sets


def _positive_rows(network: Network, demand: Any = None) -> list[dict]:
    if demand is None:
        rows = [dict(r) for r in network.demand_rows]
    elif hasattr(demand, "to_dict"):
        rows = demand.to_dict("records")
    else:
        rows = [dict(r) for r in demand]
    return [{**r, "teu": float(r["teu"])} for r in rows if float(r["teu"]) > 0]


def assign_scenario(network: Network, *, method: str = "logit", demand: Any = None):
    """Assign demand on a (scenario) network; OD-limited closures are honoured.

    Without OD-limited closures this is :func:`corridors.assignment.assign` with
    ``on_unreachable="strand"`` (demand without a route is kept in ``result.stranded``).
    With them, the choice sets come from :func:`scenario_route_sets`; ``logit`` and
    ``shortest`` are computed as :func:`~corridors.assignment.assign` does, ``ue`` and
    ``sue`` by the equilibrium with congestion on those fixed choice sets (see
    :func:`sweep`): ``sue`` is then the same model as ``assign``'s, ``ue`` differs in not
    generating new routes as costs rise.

    Returns
    -------
    AssignmentResult
    """
    from corridors.assignment import AssignmentResult, RouteFlow
    from corridors.routing import logit_probabilities, path_size

    if method not in _METHODS:
        raise QueryError(f"unknown method '{method}'; expected one of {', '.join(_METHODS)}")
    rows = _positive_rows(network, demand)
    if not (isinstance(network, ScenarioNetwork) and network.od_closures):
        # nothing OD-specific: exactly what `corridors assign` / `share` compute
        from corridors.assignment import assign

        return assign(network, rows, method=method, on_unreachable="strand")
    sets = scenario_route_sets(network, {(r["origin"], r["destination"]) for r in rows})
    usable = [r for r in rows if sets.get((r["origin"], r["destination"]))]
    stranded = tuple(r for r in rows if not sets.get((r["origin"], r["destination"])))
    if method in ("ue", "sue"):
        flows, convergence = _equilibrium_flows(network, usable, sets, method)
        return AssignmentResult(network, method, tuple(flows), stranded, tuple(convergence))
    params = network.params
    flows = []
    for row in usable:
        routes = sets[(row["origin"], row["destination"])]
        if method == "shortest" or len(routes) == 1:
            probabilities = [1.0] + [0.0] * (len(routes) - 1)
        else:
            probabilities = logit_probabilities([r.gen_cost_usd for r in routes], path_size(routes),
                                                theta=params.logit_theta_per_usd, beta=params.path_size_beta)
        for route, p in zip(routes, probabilities, strict=True):
            if p > 0:
                flows.append(RouteFlow(route, row["teu"] * p, p, row.get("segment")))
    return AssignmentResult(network, method, tuple(flows), stranded)


def _equilibrium_flows(network: Network, rows: list[dict], sets: dict, method: str):
    from corridors.assignment import RouteFlow

    model = _compile(network, rows, sets, None, ())
    out = _evaluate(model, np.zeros((1, 0)), method, route_flows=True)
    route_teu = out["route_flows"][0]
    flows = []
    routes = [r for pair in model.pairs for r in sets[pair]]
    for row in rows:
        i = model.pair_index[(row["origin"], row["destination"])]
        total = model.od_teu[i]
        for j in range(model.od_start[i], model.od_end[i]):
            share = route_teu[j] / total if total > 0 else 0.0
            if share > 1e-12:
                flows.append(RouteFlow(routes[j], row["teu"] * share, share, row.get("segment")))
    convergence = [{"method": f"{method} on fixed choice sets (corridors.scenarios)",
                    "iterations": int(out["iterations"][0]), "flow_change": float(out["flow_change"][0])}]
    return flows, convergence


# --------------------------------------------------------------------------- run


@dataclass(frozen=True)
class ScenarioResult:
    """A scenario's assignment and its comparison with the baseline.

    Attributes
    ----------
    scenario : Scenario
    result : AssignmentResult
        The scenario's assignment (``result.stranded``: demand left without a route).
    base_network : Network
        The baseline network (``baseline`` is assigned on it lazily, same method): the
        unchanged network, or that of the scenario named by ``compare_with``.
    method, through, from_, to : str
        Route choice and the share query (``through`` country, ``from_`` -> ``to``).
    baseline_name : str
        ``"baseline"`` or the name of the ``compare_with`` scenario.
    """

    scenario: Scenario
    result: Any = field(repr=False)
    base_network: Any = field(repr=False)
    method: str = "logit"
    through: str = "KAZ"
    from_: str = "CHN"
    to: str = "EU"
    baseline_name: str = "baseline"

    @functools.cached_property
    def baseline(self):
        """The baseline assignment (same method and demand table)."""
        return assign_scenario(self.base_network, method=self.method)

    @functools.cached_property
    def share(self):
        """ShareResult of the scenario for the query."""
        return self.result.share_through(self.through, from_=self.from_, to=self.to)

    @functools.cached_property
    def baseline_share(self):
        """ShareResult of the baseline for the query."""
        return self.baseline.share_through(self.through, from_=self.from_, to=self.to)

    @property
    def stranded_teu(self) -> float:
        """TEU/year of all demand left without a route."""
        return self.result.stranded_teu

    @staticmethod
    def _diff(new: dict, old: dict) -> dict[str, dict[str, float]]:
        out = {}
        for name in list(old) + [n for n in new if n not in old]:
            a = new.get(name, {}).get("teu", 0.0)
            b = old.get(name, {}).get("teu", 0.0)
            out[name] = {"baseline_teu": b, "scenario_teu": a, "change_teu": a - b}
        return dict(sorted(out.items(), key=lambda kv: -max(kv[1]["baseline_teu"], kv[1]["scenario_teu"])))

    def corridor_changes(self) -> dict[str, dict[str, float]]:
        """TEU/year from ``from_`` to ``to`` by corridor: baseline, scenario, change."""
        return self._diff(self.share.by_corridor, self.baseline_share.by_corridor)

    def gateway_changes(self) -> dict[str, dict[str, float]]:
        """TEU/year from ``from_`` to ``to`` by gateway (crossing out of ``from_``)."""
        return self._diff(self.share.by_gateway, self.baseline_share.by_gateway)

    def route_changes(self) -> dict[str, dict[str, float]]:
        """TEU/year from ``from_`` to ``to`` by corridor/route."""
        return self._diff(self.share.by_route, self.baseline_share.by_route)

    def link_changes(self, n: int = 10) -> list[dict[str, Any]]:
        """The ``n`` links whose total TEU/year (both directions, all demand) changed most."""
        new = _link_teu(self.result)
        old = _link_teu(self.baseline)
        records = {**self.base_network.link_records, **self.result.network.link_records}
        nodes = {**self.base_network.node_records, **self.result.network.node_records}
        rows = []
        for link_id in set(new) | set(old):
            a, b = new.get(link_id, 0.0), old.get(link_id, 0.0)
            if abs(a - b) < 1e-6:
                continue
            r = records[link_id]
            rows.append(dict(link_id=link_id, name=f"{nodes[r['from']]['name']}–{nodes[r['to']]['name']}",
                             corridor=r["corridor"], route=r["route"], baseline_teu=b, scenario_teu=a,
                             change_teu=a - b))
        rows.sort(key=lambda r: (-abs(r["change_teu"]), r["link_id"]))
        return rows[:n]

    def to_dict(self, n_links: int = 10) -> dict[str, Any]:
        """JSON-ready summary of the comparison."""
        return {
            "scenario": self.scenario.name,
            "title": self.scenario.title,
            "compared_with": self.baseline_name,
            "method": self.method,
            "year": self.result.network.params.year,
            "query": {"through": self.through, "from": self.from_, "to": self.to},
            "share": self.share.share,
            "baseline_share": self.baseline_share.share,
            "change_share": self.share.share - self.baseline_share.share,
            "total_teu": self.share.total_teu,
            "baseline_total_teu": self.baseline_share.total_teu,
            "through_teu": self.share.through_teu,
            "baseline_through_teu": self.baseline_share.through_teu,
            "stranded_teu": self.stranded_teu,
            "stranded": [{k: r[k] for k in ("origin", "destination", "teu") if k in r} | {"segment": r.get("segment")}
                         for r in self.result.stranded],
            "by_corridor": self.corridor_changes(),
            "by_gateway": self.gateway_changes(),
            "link_changes": self.link_changes(n_links),
            "sources": list(self.scenario.sources),
        }

    def summary(self, n_links: int = 10) -> str:
        """Plain-text comparison for the terminal."""
        s, b = self.share, self.baseline_share
        lines = [
            f"scenario {self.scenario.name}: {self.scenario.title}",
            f"method {self.method}, year {self.result.network.params.year}, compared with {self.baseline_name}",
            f"share of {self.from_} -> {self.to} TEU through {self.through}: {s.share:.1%} "
            f"({self.baseline_name} {b.share:.1%}, change {100 * (s.share - b.share):+.1f} pp)",
            f"TEU/year {self.from_} -> {self.to}: {s.total_teu:,.0f} ({self.baseline_name} {b.total_teu:,.0f}); "
            f"through {self.through}: {s.through_teu:,.0f} ({self.baseline_name} {b.through_teu:,.0f})",
        ]
        if self.result.stranded:
            lines.append(f"stranded (no route): {self.stranded_teu:,.0f} TEU/year in {len(self.result.stranded)} "
                         f"demand row(s), e.g. {self.result.stranded[0]['origin']} -> "
                         f"{self.result.stranded[0]['destination']}")
        for title, table in (("by corridor", self.corridor_changes()),
                             (f"by gateway (leaving {self.from_})", self.gateway_changes())):
            lines.append(f"{title + ':':<52} {'baseline':>12} {'scenario':>12} {'change':>12}")
            for name, row in table.items():
                lines.append(f"  {name:<50} {row['baseline_teu']:>12,.0f} {row['scenario_teu']:>12,.0f} "
                             f"{row['change_teu']:>+12,.0f}")
        changes = self.link_changes(n_links)
        if changes:
            lines.append("biggest link changes (TEU/year, all demand):")
            for row in changes:
                lines.append(f"  {row['link_id']:<34} {row['name']:<40.40} {row['baseline_teu']:>11,.0f} "
                             f"{row['scenario_teu']:>11,.0f} {row['change_teu']:>+11,.0f}")
        return "\n".join(lines)


def _link_teu(result) -> dict[str, float]:
    teu: dict[str, float] = {}
    graph = result.network.graph
    for flow in result.flows:
        for u, v in flow.route.edges:
            data = graph.edges[u, v]
            if data["kind"] == "link":
                teu[data["link_id"]] = teu.get(data["link_id"], 0.0) + flow.teu
    return teu


def _unreachable_error(network: ScenarioNetwork, scenario: Scenario, stranded: tuple[dict, ...]) -> ScenarioError:
    row = stranded[0]
    keys = list(network.global_closures) + [network.od_closures[i].key
                                            for i in network.closures_for(row["origin"], row["destination"])]
    where = " + ".join(keys) if keys else "year/open/change"
    total = sum(r["teu"] for r in stranded)
    more = f"; {len(stranded)} demand rows, {total:,.0f} TEU/year in all" if len(stranded) > 1 else ""
    return ScenarioError(
        f"{scenario.label}: {where}: leaves no route for {row['origin']} -> {row['destination']} "
        f"({row['teu']:,.0f} TEU/year){more}; set on_unreachable = \"strand\" to report it as stranded demand")


def run_scenario(scenario: Scenario | str | Path, *, network: Network | None = None,
                 geodata: str | Path | None = None, method: str | None = None, through: str = "KAZ",
                 from_: str = "CHN", to: str = "EU") -> ScenarioResult:
    """Run a scenario and compare it with the baseline.

    Parameters
    ----------
    scenario : Scenario, or a name or path
    network : Network, optional
        The baseline network (default: ``load_network(geodata)``).
    geodata : path, optional
        Geodata folder (also searched for ``scenarios/<name>.toml``).
    method : str, optional
        Route choice; default the scenario's ``method``, else ``logit``.
    through, from_, to : str
        The share query of the comparison (ISO3 codes or regions).

    Returns
    -------
    ScenarioResult
        ``.result`` (scenario assignment), ``.baseline``, ``.share``, ``.summary()``.

    Raises
    ------
    ScenarioError
        For a bad file, or a closure that leaves demand without a route unless the
        scenario sets ``on_unreachable = "strand"``.

    Examples
    --------
    >>> from corridors.scenarios import run_scenario
    >>> res = run_scenario("no-eu-transit-via-russia")
    >>> res.share.share > res.baseline_share.share
    True
    """
    from corridors.network import load_network

    base = network if network is not None else load_network(geodata)
    folder = geodata if geodata is not None else base.geodata
    scenario = load_scenario(scenario, geodata=folder)
    snet = apply_scenario(base, scenario)
    method = method or scenario.method or "logit"
    result = assign_scenario(snet, method=method)
    if result.stranded and scenario.spec.on_unreachable == "error":
        raise _unreachable_error(snet, scenario, result.stranded)
    reference, label = base, "baseline"
    if scenario.spec.compare_with:
        try:
            other = load_scenario(scenario.spec.compare_with, geodata=folder)
        except ScenarioError as exc:
            raise ScenarioError(f"{scenario.label}: compare_with: {exc}") from None
        reference, label = apply_scenario(base, other), other.name
    return ScenarioResult(scenario, result, reference, method, through, from_, to, label)


# --------------------------------------------------------------------------- sweep model

_TIME = ("run_h", "wait_h", "dwell_h", "transfer_h")
_MONEY = ("money_km", "money_flat", "handling_usd", "transfer_usd")
# attribute -> (component, edge kind, inverse?)
_EFFECTS = {
    "speed_kmh": ("run_h", "link", True),
    "running_h": ("run_h", "link", False),
    "frequency_per_week": ("wait_h", "link", True),
    "tariff_usd_per_teu_km": ("money_km", "link", False),
    "tariff_usd": ("money_flat", "link", False),
    "dwell_h": ("dwell_h", "dwell", False),
    "handling_usd": ("handling_usd", "dwell", False),
    "transfer_h": ("transfer_h", "transfer", False),
    "transfer_usd": ("transfer_usd", "transfer", False),
}
#: Defaults of the congestion functions when the parameters do not set them (see
#: :class:`~corridors.network.CostParameters`): BPR on links with a capacity, Akcelik's
#: queueing delay on nodes (gates, transfers) with a capacity.
BPR_ALPHA = 0.15
BPR_BETA = 4.0
QUEUE_PERIOD_H = 168.0
QUEUE_BETA = 0.5


@dataclass(frozen=True)
class _Query:
    through: str
    from_: str
    to: str


@dataclass(frozen=True)
class _Effect:
    column: int
    kind: str  # param, edge, capacity, demand
    target: str = ""
    index: Any = None
    inverse: bool = False


@dataclass(frozen=True)
class _Model:
    """Everything a draw needs, as arrays (picklable, no graph)."""

    pairs: tuple
    pair_index: dict
    incidence: Any  # scipy CSR, routes x edges
    comp: dict
    capacity: np.ndarray
    route_od: np.ndarray
    od_start: np.ndarray
    od_end: np.ndarray
    od_teu: np.ndarray
    log_ps: np.ndarray
    vot: float
    theta: float
    beta: float
    query: np.ndarray  # route in from->to
    passes: np.ndarray
    corridor_idx: np.ndarray
    corridors: tuple
    gateway_idx: np.ndarray
    gateways: tuple
    stranded_teu: np.ndarray
    stranded_query: np.ndarray
    effects: tuple
    names: tuple
    node_edge: np.ndarray  # dwell/transfer edges (queueing delay), else links (BPR)
    congestion: tuple  # bpr_alpha, bpr_beta, queue_period_h, queue_beta


def _edge_components(network: Network, edges: list) -> dict[str, np.ndarray]:
    comp = {name: np.zeros(len(edges)) for name in _TIME + _MONEY}
    graph = network.graph
    for e, (u, v) in enumerate(edges):
        data = graph.edges[u, v]
        kind = data["kind"]
        if kind == "link":
            r = network.link_records[data["link_id"]]
            run = float(r["running_h"]) if r.get("running_h") is not None else r["length_km"] / float(r["speed_kmh"])
            comp["run_h"][e] = run
            comp["wait_h"][e] = data["time_h"] - run
            flat = float(r.get("tariff_usd") or 0.0)
            comp["money_flat"][e] = flat
            comp["money_km"][e] = data["money_usd"] - flat
        elif kind == "dwell":
            comp["dwell_h"][e] = data["time_h"]
            comp["handling_usd"][e] = data["money_usd"]
        elif kind == "transfer":
            comp["transfer_h"][e] = data["time_h"]
            comp["transfer_usd"][e] = data["money_usd"]
    return comp


def _compile(network: Network, rows: list[dict], sets: dict, query: _Query | None, uncertain: tuple) -> _Model:
    """Turn a network, its demand and choice sets into arrays for vectorised draws."""
    from scipy.sparse import csr_matrix

    from corridors.regions import resolve_region
    from corridors.routing import path_size
    from corridors.share import gateway_name

    try:
        from corridors.share import corridor_name
    except ImportError:  # older share module: name by corridor family
        from corridors.share import CORRIDOR_NAMES

        def corridor_name(route) -> str:
            return CORRIDOR_NAMES.get(route.corridor, route.corridor)

    known = network.country_codes
    if query is None:
        through = from_codes = to_codes = frozenset()
    else:
        through = resolve_region(query.through, known)
        from_codes = resolve_region(query.from_, known)
        to_codes = resolve_region(query.to, known)
    nodes = network.node_records
    teu_by_pair: dict[tuple[str, str], float] = {}
    stranded_rows = []
    for row in rows:
        pair = (row["origin"], row["destination"])
        if sets.get(pair):
            teu_by_pair[pair] = teu_by_pair.get(pair, 0.0) + row["teu"]
        else:
            stranded_rows.append(row)
    pairs = tuple(sorted(teu_by_pair))
    edge_index: dict = {}
    edges: list = []
    indptr = [0]
    indices: list[int] = []
    route_od, log_ps, query_mask, passes, corridor_idx, gateway_idx = [], [], [], [], [], []
    corridors: dict[str, int] = {}
    gateways: dict[str, int] = {}
    od_start, od_end = [], []
    for i, pair in enumerate(pairs):
        routes = sets[pair]
        od_start.append(len(route_od))
        in_query = nodes[pair[0]]["country"] in from_codes and nodes[pair[1]]["country"] in to_codes
        for route, ps in zip(routes, path_size(routes), strict=True):
            for edge in route.edges:
                if edge not in edge_index:
                    edge_index[edge] = len(edges)
                    edges.append(edge)
                indices.append(edge_index[edge])
            indptr.append(len(indices))
            route_od.append(i)
            log_ps.append(math.log(max(ps, 1e-12)))
            query_mask.append(in_query)
            passes.append(route.passes_through(through))
            if in_query:
                corridor = corridor_name(route)
                corridor_idx.append(corridors.setdefault(corridor, len(corridors)))
                gateway = gateway_name(network, route.gateway(from_codes), from_codes)
                gateway_idx.append(gateways.setdefault(gateway, len(gateways)))
            else:
                corridor_idx.append(-1)
                gateway_idx.append(-1)
        od_end.append(len(route_od))
    incidence = csr_matrix((np.ones(len(indices)), np.asarray(indices, dtype=np.int64), np.asarray(indptr)),
                           shape=(len(route_od), len(edges)))
    comp = _edge_components(network, edges)
    capacity = np.array([float(network.graph.edges[e].get("capacity_teu") or 0.0) for e in edges])
    params = network.params
    model_kwargs = dict(
        pairs=pairs, pair_index={p: i for i, p in enumerate(pairs)}, incidence=incidence, comp=comp,
        capacity=capacity, route_od=np.asarray(route_od, dtype=np.int64), od_start=np.asarray(od_start, dtype=np.int64),
        od_end=np.asarray(od_end, dtype=np.int64), od_teu=np.array([teu_by_pair[p] for p in pairs]),
        log_ps=np.asarray(log_ps), vot=params.value_of_time_usd_per_teu_h, theta=params.logit_theta_per_usd,
        beta=params.path_size_beta, query=np.asarray(query_mask, dtype=bool), passes=np.asarray(passes, dtype=bool),
        corridor_idx=np.asarray(corridor_idx, dtype=np.int64), corridors=tuple(corridors),
        gateway_idx=np.asarray(gateway_idx, dtype=np.int64), gateways=tuple(gateways),
        stranded_teu=np.array([r["teu"] for r in stranded_rows]),
        stranded_query=np.array([nodes[r["origin"]]["country"] in from_codes
                                 and nodes[r["destination"]]["country"] in to_codes for r in stranded_rows],
                                dtype=bool),
        effects=(), names=(),
        node_edge=np.array([network.graph.edges[e]["kind"] in ("dwell", "transfer") for e in edges], dtype=bool),
        congestion=(float(getattr(params, "bpr_alpha", BPR_ALPHA)), float(getattr(params, "bpr_beta", BPR_BETA)),
                    float(getattr(params, "queue_period_h", QUEUE_PERIOD_H)),
                    float(getattr(params, "queue_beta", QUEUE_BETA))),
    )
    effects, names = _compile_effects(network, uncertain, edges, pairs, stranded_rows)
    model_kwargs.update(effects=effects, names=names)
    return _Model(**model_kwargs)


def _compile_effects(network: Network, uncertain: tuple, edges: list, pairs: tuple, stranded_rows: list):
    if not uncertain:
        return (), ()
    scenario, items = uncertain
    ctx = _Context(network, scenario.label)
    graph = network.graph
    effects: list[_Effect] = []
    for j, u in enumerate(items):
        key = f"uncertain[{j}]"
        if u.parameter is not None:
            effects.append(_Effect(j, "param", u.parameter))
        elif u.demand is not None:
            if u.demand.segment is not None:
                raise ctx.error(f"{key}.demand.segment", "sweeps scale demand by origin and destination only")
            match = _demand_matcher(u.demand, f"{key}.demand", ctx)
            od = np.array([match({"origin": o, "destination": d}) for o, d in pairs], dtype=bool)
            st = np.array([match(r) for r in stranded_rows], dtype=bool)
            if not od.any() and not st.any():
                raise ctx.error(f"{key}.demand", "matches no OD pair with demand")
            effects.append(_Effect(j, "demand", index=(np.flatnonzero(od), np.flatnonzero(st))))
        else:
            sel_nodes, sel_links = ctx.select(u, key)
            for attr in u.attributes:
                targets_links = attr in LINK_ATTRIBUTES and bool(sel_links)
                targets_nodes = attr in NODE_ATTRIBUTES and bool(sel_nodes)
                if not targets_links and not targets_nodes:
                    raise ctx.error(f"{key}.attributes", f"'{attr}' applies to "
                                    f"{'links' if attr in LINK_ATTRIBUTES else 'nodes'}, but the selection holds none")
                idx = []
                for e, (a, b) in enumerate(edges):
                    data = graph.edges[a, b]
                    if attr == "capacity_teu":
                        hit = (data["kind"] == "link" and data["link_id"] in sel_links) or (
                            data["kind"] in ("dwell", "transfer") and data["node_id"] in sel_nodes)
                    else:
                        comp, kind, _ = _EFFECTS[attr]
                        if data["kind"] != kind:
                            continue
                        if kind == "link":
                            r = network.link_records[data["link_id"]]
                            hit = data["link_id"] in sel_links and (
                                attr != "speed_kmh" or r.get("running_h") is None) and (
                                attr != "running_h" or r.get("running_h") is not None)
                        else:
                            hit = data["node_id"] in sel_nodes
                    if hit:
                        idx.append(e)
                index = np.asarray(idx, dtype=np.int64)
                if attr == "capacity_teu":
                    effects.append(_Effect(j, "capacity", index=index))
                else:
                    comp, _, inverse = _EFFECTS[attr]
                    effects.append(_Effect(j, "edge", comp, index, inverse))
    return tuple(effects), tuple(u.name for u in items)


def _sample(items: tuple, seed: int, draws: int) -> np.ndarray:
    """Inputs of every draw, drawn up front: row ``i`` from ``SeedSequence(seed, spawn_key=(i,))``."""
    out = np.zeros((draws, len(items)))
    for i in range(draws):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)))
        for j, u in enumerate(items):
            if u.distribution == "uniform":
                value = rng.uniform(u.low, u.high)
            elif u.distribution == "triangular":
                value = rng.triangular(u.low, u.mode, u.high) if u.high > u.low else u.low
            elif u.distribution == "normal":
                value = rng.normal(u.mean, u.sd)
            else:
                value = rng.lognormal(math.log(u.median), u.sigma)
            lo = max(0.0, u.min if u.min is not None else 0.0)
            hi = u.max if u.max is not None else math.inf
            out[i, j] = min(max(value, lo), hi)
    return out


def _choice(model: _Model, cost: np.ndarray, theta: np.ndarray, beta: np.ndarray, method: str) -> np.ndarray:
    """Route shares of their OD flow, draws x routes."""
    if method in ("shortest", "ue"):
        # the first least-cost route of each OD pair, for every draw at once
        low = np.minimum.reduceat(cost, model.od_start, axis=1)
        rows, cols = np.nonzero(cost <= low[:, model.route_od])
        group = rows * model.od_start.size + model.route_od[cols]
        first = np.r_[True, group[1:] != group[:-1]]
        share = np.zeros_like(cost)
        share[rows[first], cols[first]] = 1.0
        return share
    utility = -theta[:, None] * cost + beta[:, None] * model.log_ps[None, :]
    top = np.maximum.reduceat(utility, model.od_start, axis=1)
    weight = np.exp(utility - top[:, model.route_od])
    total = np.add.reduceat(weight, model.od_start, axis=1)
    return weight / total[:, model.route_od]


def _evaluate(model: _Model, inputs: np.ndarray, method: str, *, route_flows: bool = False,
              max_iter: int = 500, tol: float = 1e-4) -> dict[str, np.ndarray]:
    """Outputs of a batch of draws (rows of ``inputs``)."""
    batch = inputs.shape[0]
    n_edges = model.incidence.shape[1]
    params = {"value_of_time_usd_per_teu_h": np.full(batch, model.vot),
              "logit_theta_per_usd": np.full(batch, model.theta), "path_size_beta": np.full(batch, model.beta)}
    factors: dict[str, np.ndarray] = {}
    capacity = np.broadcast_to(model.capacity, (batch, n_edges))
    od_teu = np.broadcast_to(model.od_teu, (batch, model.od_teu.size)).copy()
    stranded = np.broadcast_to(model.stranded_teu, (batch, model.stranded_teu.size)).copy()
    for eff in model.effects:
        value = inputs[:, eff.column]
        if eff.kind == "param":
            params[eff.target] = value
        elif eff.kind == "edge":
            f = factors.setdefault(eff.target, np.ones((batch, n_edges)))
            f[:, eff.index] *= (1.0 / np.maximum(value, 1e-9) if eff.inverse else value)[:, None]
        elif eff.kind == "capacity":
            capacity = capacity.copy() if not capacity.flags.writeable else capacity
            capacity[:, eff.index] *= value[:, None]
        else:
            od_teu[:, eff.index[0]] *= value[:, None]
            stranded[:, eff.index[1]] *= value[:, None]
    time_h = np.zeros((batch, n_edges))
    money = np.zeros((batch, n_edges))
    for name in _TIME:
        time_h += model.comp[name] * factors[name] if name in factors else model.comp[name]
    for name in _MONEY:
        money += model.comp[name] * factors[name] if name in factors else model.comp[name]
    vot = params["value_of_time_usd_per_teu_h"]
    theta = params["logit_theta_per_usd"]
    beta = params["path_size_beta"]
    iterations = np.zeros(batch, dtype=np.int64)
    change = np.zeros(batch)
    if method in ("logit", "shortest"):
        gen = money + vot[:, None] * time_h
        cost = np.asarray(model.incidence @ gen.T).T
        flows = _choice(model, cost, theta, beta, method) * od_teu[:, model.route_od]
    else:
        capacity = np.ascontiguousarray(np.broadcast_to(capacity, (batch, n_edges)))
        flows, iterations, change = _equilibrium(model, money, time_h, vot, capacity, od_teu, theta, beta, method,
                                                 max_iter, tol)
    q = model.query
    total = flows[:, q].sum(axis=1)
    through = flows[:, q & model.passes].sum(axis=1)
    out = {
        "share": np.divide(through, total, out=np.full(batch, np.nan), where=total > 0),
        "through_teu": through,
        "total_teu": total,
        "stranded_teu": stranded[:, model.stranded_query].sum(axis=1),
        "iterations": iterations,
        "flow_change": change,
    }
    for k, name in enumerate(model.corridors):
        out[f"corridor:{name}"] = flows[:, q & (model.corridor_idx == k)].sum(axis=1)
    for k, name in enumerate(model.gateways):
        out[f"gateway:{name}"] = flows[:, q & (model.gateway_idx == k)].sum(axis=1)
    if route_flows:
        out["route_flows"] = flows
    return out


def _equilibrium(model: _Model, money: np.ndarray, time_h: np.ndarray, vot: np.ndarray, capacity: np.ndarray,
                 od_teu: np.ndarray, theta: np.ndarray, beta: np.ndarray, method: str, max_iter: int, tol: float):
    """Route flows at equilibrium with congestion on the fixed choice sets, for a batch of draws.

    Edge costs (USD/TEU) are ``money + value of time x hours(x)`` with the volume-delay
    functions of :mod:`corridors.equilibrium` and the congestion parameters of the
    network: BPR ``time x (1 + bpr_alpha x z ** bpr_beta)`` on links with a capacity and
    Akcelik's queueing delay ``time + queue_period_h / 4 x ((z - 1) + sqrt((z - 1) ** 2 +
    queue_beta x z))`` on node gates and transfers with a capacity, ``z = flow /
    capacity`` (both scale with the value of time, so hours are converted once).  ``ue``
    loads each OD pair on its cheapest route, ``sue`` by path-size logit; route flows are
    averaged by self-regulated averaging (as :func:`corridors.assignment.sra_step`) until each draw's
    criterion falls below ``tol`` (``sue``: flow change over demand; ``ue``: relative gap).
    Every draw is iterated on its own (a converged draw is frozen), so a draw's result does
    not depend on the other draws of its batch.

    Returns
    -------
    flows : ndarray (draws x routes), iterations : ndarray, criterion : ndarray
    """
    from corridors.assignment import sra_step

    bpr_alpha, bpr_beta, period_h, queue_beta = model.congestion
    incidence = model.incidence
    has_cap = capacity > 0
    queue = model.node_edge[None, :] & has_cap
    alpha = np.where(~model.node_edge[None, :] & has_cap, bpr_alpha, 0.0)
    inv_cap = np.divide(1.0, capacity, out=np.zeros_like(capacity), where=has_cap)

    def route_cost(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        z = x * inv_cap[rows]
        hours = time_h[rows] * (1.0 + alpha[rows] * np.power(z, bpr_beta))
        u = z - 1.0
        delay = time_h[rows] + period_h / 4.0 * (u + np.sqrt(u * u + queue_beta * z))
        hours = np.where(queue[rows], delay, hours)
        edge = money[rows] + vot[rows, None] * hours
        return np.asarray(incidence @ edge.T).T

    batch = time_h.shape[0]
    choice = "shortest" if method == "ue" else "logit"
    demand = od_teu[:, model.route_od]
    every = np.arange(batch)
    cost = route_cost(np.zeros_like(time_h), every)
    h = _choice(model, cost, theta, beta, choice) * demand
    total = np.maximum(od_teu.sum(axis=1), 1e-12)
    iterations = np.zeros(batch, dtype=np.int64)
    criterion = np.zeros(batch)
    previous = np.full(batch, np.inf)
    eta = np.ones(batch)
    active = np.ones(batch, dtype=bool)
    for k in range(1, max_iter + 1):
        rows = np.flatnonzero(active)
        if not rows.size:
            break
        x = np.asarray(incidence.T @ h[rows].T).T
        cost = route_cost(x, rows)
        aux = _choice(model, cost, theta[rows], beta[rows], choice) * demand[rows]
        if method == "ue":
            spent = (h[rows] * cost).sum(axis=1)
            least = (od_teu[rows] * np.minimum.reduceat(cost, model.od_start, axis=1)).sum(axis=1)
            change = np.divide(spent - least, spent, out=np.zeros_like(spent), where=spent > 0)
        else:
            change = np.abs(aux - h[rows]).sum(axis=1) / total[rows]
        iterations[rows] = k
        criterion[rows] = change
        if k > 1:
            eta[rows] = sra_step(eta[rows], change, previous[rows])
        previous[rows] = change
        done = change <= tol
        go = rows[~done]
        h[go] = h[go] + (aux[~done] - h[go]) / eta[go][:, None]
        active[rows[done]] = False
    return h, iterations, criterion


# --------------------------------------------------------------------------- sweep


def _evaluate_chunk(model: _Model, inputs: np.ndarray, method: str) -> dict[str, np.ndarray]:
    """Dask task: evaluate one chunk of draws (module level so workers can import it)."""
    return _evaluate(model, inputs, method)


@dataclass(frozen=True)
class SweepResult:
    """The outcome of :func:`sweep`.

    Attributes
    ----------
    scenario : Scenario
    method : str
    seed, draws : int
    through, from_, to : str
        The share query.
    table : pandas.DataFrame
        One row per draw: ``draw``, the drawn inputs (one column per uncertain name), and
        the outputs ``share``, ``through_teu``, ``total_teu``, ``stranded_teu`` (TEU/year
        from ``from_`` to ``to``), ``corridor:<name>`` and ``gateway:<name>`` (TEU/year).
    seconds : float
        Wall time of the draws (without building the model).
    runner : str
        Where the draws ran (``in-process``, ``LocalCluster(2 workers)``, a scheduler address).
    """

    scenario: Scenario
    method: str
    seed: int
    draws: int
    through: str
    from_: str
    to: str
    table: Any = field(repr=False)
    seconds: float = 0.0
    setup_seconds: float = 0.0
    runner: str = "in-process"

    @property
    def draws_per_second(self) -> float:
        """Draws evaluated per second of wall time (model building excluded)."""
        return self.draws / self.seconds if self.seconds > 0 else math.inf

    def percentiles(self, q: tuple[float, ...] = (5, 50, 95)) -> dict[str, dict[str, float]]:
        """Percentiles (p5/p50/p95 by default) of every output column."""
        outputs = [c for c in self.table.columns if c in ("share", "through_teu", "total_teu", "stranded_teu")
                   or c.startswith(("corridor:", "gateway:"))]
        out = {}
        for col in outputs:
            values = self.table[col].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            out[col] = {f"p{p:g}": (float(np.percentile(values, p)) if values.size else math.nan) for p in q}
            out[col]["mean"] = float(values.mean()) if values.size else math.nan
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no per-draw rows)."""
        return {"scenario": self.scenario.name, "method": self.method, "seed": self.seed, "draws": self.draws,
                "query": {"through": self.through, "from": self.from_, "to": self.to},
                "inputs": list(self.scenario.uncertain), "runner": self.runner, "seconds": self.seconds,
                "draws_per_second": self.draws_per_second, "percentiles": self.percentiles()}

    def summary(self) -> str:
        """p5/p50/p95 table for the terminal."""
        pct = self.percentiles()
        lines = [
            f"sweep of {self.scenario.name}: {self.draws} draws, seed {self.seed}, method {self.method}, "
            f"{self.runner}, {self.seconds:.1f} s ({self.draws_per_second:,.0f} draws/s)",
            f"{'output':<52} {'p5':>12} {'p50':>12} {'p95':>12}",
        ]
        share = pct["share"]
        lines.append(f"{'share ' + self.from_ + ' -> ' + self.to + ' through ' + self.through:<52} "
                     f"{share['p5']:>12.1%} {share['p50']:>12.1%} {share['p95']:>12.1%}")
        for col in ["through_teu", "total_teu", "stranded_teu"] + [c for c in pct if c.startswith("corridor:")]:
            if col == "stranded_teu" and pct[col]["p95"] == 0:
                continue
            row = pct[col]
            name = col.replace("corridor:", "TEU ") if col.startswith("corridor:") else col
            lines.append(f"{name:<52.52} {row['p5']:>12,.0f} {row['p50']:>12,.0f} {row['p95']:>12,.0f}")
        return "\n".join(lines)

    def to_parquet(self, path: str | Path) -> Path:
        """Write the per-draw table as Parquet (atomically), with the run in its metadata."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from corridors._io import atomic_path

        table = pa.Table.from_pandas(self.table, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[b"corridors.sweep"] = json.dumps({k: v for k, v in self.to_dict().items() if k != "percentiles"},
                                              default=str).encode()
        table = table.replace_schema_metadata(meta)
        target = Path(path)
        with atomic_path(target) as tmp:
            pq.write_table(table, tmp)
        return target


def _chunks(inputs: np.ndarray, size: int) -> list[np.ndarray]:
    return [inputs[i:i + size] for i in range(0, inputs.shape[0], size)] or [inputs]


def _run_chunks(model: _Model, chunks: list[np.ndarray], method: str, *, workers: int | None, scheduler: Any,
                processes: bool, progress: bool) -> tuple[list[dict], str]:
    from tqdm import tqdm

    bar = tqdm(total=sum(c.shape[0] for c in chunks), unit="draw", disable=not progress, leave=False,
               desc="sweep")
    if scheduler is None and workers == 0:
        results = []
        for chunk in chunks:
            results.append(_evaluate_chunk(model, chunk, method))
            bar.update(chunk.shape[0])
        bar.close()
        return results, "in-process"
    import logging

    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    own_client = True
    if scheduler is None:
        n = workers if workers is not None else min(4, os.cpu_count() or 1)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=processes, dashboard_address=None,
                               silence_logs=logging.ERROR)
        client = Client(cluster)
        runner = f"LocalCluster({n} worker{'s' if n != 1 else ''}{'' if processes else ', threads'})"
    elif isinstance(scheduler, Client):
        client, own_client = scheduler, False
        runner = f"scheduler {scheduler.scheduler.address}"
    else:
        try:
            client = Client(str(scheduler), timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise QueryError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        runner = f"scheduler {scheduler}"
    try:
        model_future = client.scatter(model, broadcast=True)
        futures = client.map(_evaluate_chunk, [model_future] * len(chunks), chunks, [method] * len(chunks),
                             pure=False)
        order = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(chunks)
        for future in as_completed(futures):
            i = order[future.key]
            results[i] = future.result()
            bar.update(chunks[i].shape[0])
        return results, runner
    finally:
        bar.close()
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()


def sweep(scenario: Scenario | str | Path, *, draws: int = 1000, seed: int = 0, method: str | None = None,
          workers: int | None = None, scheduler: Any = None, processes: bool = True, network: Network | None = None,
          geodata: str | Path | None = None, through: str = "KAZ", from_: str = "CHN", to: str = "EU",
          progress: bool = False, chunk_size: int | None = None) -> SweepResult:
    """Monte Carlo sweep over a scenario's uncertain inputs, on Dask distributed.

    The choice sets are generated once on the scenario network; every draw recomputes
    route costs from perturbed edge attributes and the route shares.  ``logit`` and
    ``shortest`` are vectorised over chunks of draws; ``ue`` and ``sue`` solve an
    equilibrium with congestion (BPR on capacities, :mod:`corridors.equilibrium`) on the
    fixed choice sets, per draw.

    Parameters
    ----------
    scenario : Scenario, or a name or path
        Must define ``[[uncertain]]`` inputs.
    draws : int
        Number of draws.
    seed : int
        Seed; the results depend on it only (never on workers or scheduler).
    method : str, optional
        ``logit`` (default unless the scenario sets one), ``shortest``, ``ue``, ``sue``.
    workers : int, optional
        Workers of the ``LocalCluster`` started for the sweep (default ``min(4, CPUs)``);
        ``0`` runs in this process without Dask.
    scheduler : str or distributed.Client, optional
        Address (``tcp://host:8786``) of a running Dask scheduler, or a client, to use
        instead of a ``LocalCluster``.
    processes : bool
        ``LocalCluster`` workers as processes (True) or threads.
    network, geodata
        Baseline network or its geodata folder (default: the shipped data).
    through, from_, to : str
        The share query recorded per draw.
    progress : bool
        Show a progress bar (tqdm) on the terminal.
    chunk_size : int, optional
        Draws per task (default :data:`CHUNK_SIZE` for logit and shortest,
        :data:`CHUNK_SIZE_EQUILIBRIUM` for ue and sue); results do not depend on it.

    Returns
    -------
    SweepResult

    Raises
    ------
    ScenarioError
        If the scenario defines no uncertain input, or is invalid.
    """
    import pandas as pd

    from corridors.network import load_network

    if draws < 1:
        raise QueryError(f"draws must be at least 1, got {draws}")
    if chunk_size is not None and chunk_size < 1:
        raise QueryError(f"chunk_size must be at least 1, got {chunk_size}")
    start = time.perf_counter()
    base = network if network is not None else load_network(geodata)
    scenario = load_scenario(scenario, geodata=geodata if geodata is not None else base.geodata)
    items = tuple(scenario.spec.uncertain)
    if not items:
        raise ScenarioError(f"{scenario.label}: uncertain: the scenario names no uncertain input; add "
                            "[[uncertain]] tables to sweep it")
    method = method or scenario.method or "logit"
    if method not in _METHODS:
        raise QueryError(f"unknown method '{method}'; expected one of {', '.join(_METHODS)}")
    snet = apply_scenario(base, scenario)
    rows = _positive_rows(snet)
    sets = scenario_route_sets(snet, {(r["origin"], r["destination"]) for r in rows})
    stranded = tuple(r for r in rows if not sets.get((r["origin"], r["destination"])))
    if stranded and scenario.spec.on_unreachable == "error":
        raise _unreachable_error(snet, scenario, stranded)
    model = _compile(snet, rows, sets, _Query(through, from_, to), (scenario, items))
    if not model.query.any() and not model.stranded_query.any():
        raise QueryError(f"no demand from {from_} to {to} in the demand table")
    inputs = _sample(items, int(seed), int(draws))
    if chunk_size is None:
        chunk_size = CHUNK_SIZE if method in ("logit", "shortest") else CHUNK_SIZE_EQUILIBRIUM
    setup = time.perf_counter() - start
    start = time.perf_counter()
    results, runner = _run_chunks(model, _chunks(inputs, chunk_size), method, workers=workers, scheduler=scheduler,
                                  processes=processes, progress=progress)
    seconds = time.perf_counter() - start
    columns: dict[str, Any] = {"draw": np.arange(draws)}
    for j, name in enumerate(model.names):
        columns[name] = inputs[:, j]
    for key in results[0]:
        if key in ("iterations", "flow_change") and method in ("logit", "shortest"):
            continue
        columns[key] = np.concatenate([r[key] for r in results])
    table = pd.DataFrame(columns)
    return SweepResult(scenario=scenario, method=method, seed=int(seed), draws=int(draws), through=through,
                       from_=from_, to=to, table=table, seconds=seconds, setup_seconds=setup, runner=runner)
