"""The array model of a Monte Carlo sweep: one scenario, a batch of draws, the kernel's formulas.

:func:`compile_model` generates nothing new: it lays the scenario network's choice sets
(:func:`corridors.assignment.route_sets`, OD-segment closures applied) out as arrays over
the graph's edges (:func:`corridors.assignment.edge_arrays`), with the edge attributes split
into the components an uncertain input can scale (running time, waiting time, dwell,
transfer time, per-km and flat tariffs, handling and transfer charges).  :func:`evaluate`
then computes, for a batch of draws, the edge times and charges, the generalised cost
(:func:`corridors.kernel.generalised_cost`, penalties included) and the route shares of
the method, exactly as :func:`corridors.assignment.assign` does for one run:

``shortest``, ``logit``
    Least cost or path-size logit (:func:`corridors.kernel.choice_shares`), all draws at once.
``sue``
    :func:`corridors.kernel.route_equilibrium` on the batch (each draw iterates on its own).
``ue``
    Bi-conjugate Frank-Wolfe on the whole graph, draw by draw
    (:func:`corridors.assignment.ue_solve`), as ``assign(method="ue")``.

A draw whose inputs are all nominal reproduces the single run: the draws' edge arrays are
the nominal ones plus the changes, so unchanged edges keep their nominal values exactly.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from corridors import kernel
from corridors._errors import ScenarioError
from corridors.assignment import choice_arrays, edge_arrays, route_key, ue_route, ue_solve
from corridors.network import Network, russia_term_active, sanctioned_route
from corridors.regions import resolve_region
from corridors.scenario_apply import _Context, _demand_matcher
from corridors.scenario_schema import LINK_ATTRIBUTES, NODE_ATTRIBUTES
from corridors.share import corridor_name, gateway_name

__all__ = ["Query", "SweepModel", "ModeBlock", "compile_model", "compile_mode_block", "evaluate", "sample"]

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


@dataclass(frozen=True)
class Query:
    """The share query recorded per draw (ISO3 codes or regions)."""

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
class SweepModel:
    """Everything a batch of draws needs, as arrays (picklable; the network only for ``ue``)."""

    pairs: tuple
    pair_index: dict
    incidence: Any  # scipy CSR, routes x edges
    starts: np.ndarray
    group: np.ndarray
    log_ps: np.ndarray
    comp: dict
    time_h: np.ndarray
    money_usd: np.ndarray
    border: np.ndarray
    transfer: np.ndarray
    capacity: np.ndarray
    gate: np.ndarray
    barrier_mask: np.ndarray
    cap_group: np.ndarray
    od_teu: np.ndarray
    params: Any
    query: np.ndarray  # route in from->to
    passes: np.ndarray
    corridor_idx: np.ndarray
    corridors: tuple
    gateway_idx: np.ndarray
    gateways: tuple
    stranded_teu: np.ndarray
    stranded_query: np.ndarray
    codes: tuple  # (through, from, to) ISO3 sets
    effects: tuple = ()
    names: tuple = ()
    network: Any = field(default=None, repr=False)
    segments: tuple = ()  # demand segments, in the order of segment_idx
    segment_idx: Any = None  # (groups,) segment of every OD pair
    asc_keys: tuple = ()  # asc:<segment>:<node> of the gateway constants
    asc_through: Any = None  # (keys, routes) 1.0 where the key's constant applies to the route
    calibration: Any = None  # geodata/calibration.json when a draw uses it
    mode: Any = None  # ModeBlock of a sweep with a model year (mode choice active)


@dataclass(frozen=True)
class ModeBlock:
    """The mode choice of a sweep with a model year (issue 11), as arrays.

    Every draw draws the mode-choice estimates (``geodata/mode_calibration.json``, around the
    parameters in use: the log mode scale from the fit's profile likelihood along its ridge,
    capped at the route scale of the land nest, then the land constant on the ridge with the
    covariance's conditional spread; A426) and one factor on the year's all-mode demand
    (lognormal, sd ``demand_all_relative_sd`` of the year, A425).  The land TEU of every
    China<->EU27 row then follow from :func:`corridors.modes.land_probability` and replace
    that row's demand in the route choice; a scenario's ``demand`` factors scale the
    all-mode demand of the rows they match.  The land composite costs are those of the
    year at nominal route costs: drawn tariffs and times move the route choice, not the
    land logsum.

    Attributes
    ----------
    column : int
        First input column of the block: one per drawn estimate (``estimates``), then the
        year's demand factor.
    land_cost, sea_cost, class_share : numpy.ndarray
        ``(rows, classes)``: land logsum and sea cost (USD/TEU), TEU share of each class.
    teu_all : numpy.ndarray
        ``(rows,)`` the year's all-mode TEU/year of every row.
    land_nominal : numpy.ndarray
        ``(rows,)`` land TEU/year at nominal inputs (the demand the route choice was laid out with).
    to_pairs, to_stranded : numpy.ndarray
        ``(rows, pairs)`` and ``(rows, stranded rows)``: 1 where a row's land TEU goes.
    """

    year: int
    column: int
    estimates: tuple
    mean: np.ndarray
    cov: np.ndarray
    coordinates: tuple
    nominal: dict
    mu_max: float
    demand_sd: float
    land_cost: np.ndarray
    sea_cost: np.ndarray
    class_share: np.ndarray
    teu_all: np.ndarray
    direction: np.ndarray  # (rows,) 0 china_europe, 1 europe_china
    land_nominal: np.ndarray
    to_pairs: np.ndarray
    pairs: np.ndarray  # pair indices fed by mode rows
    to_stranded: np.ndarray
    stranded: np.ndarray  # stranded-row indices fed by mode rows
    demand_effects: tuple = ()  # (input column, row indices) of the scenario's demand factors
    ridge: tuple = ()  # (log mode scale grid, land constant x mode scale on the fit's ridge, CDF of log mu)

    @property
    def names(self) -> tuple[str, ...]:
        """Input column names of the block."""
        return (*(f"mode_choice:{n}" for n in self.estimates), "year_demand")

    def land_teu(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(draws, rows)`` land and all-mode TEU/year of every row for a batch of inputs."""
        from corridors.modes import land_probability

        batch = inputs.shape[0]
        values = {n: np.full(batch, float(self.nominal[n])) for n in ("mode_scale_per_usd", "land_constant_usd")}
        for j, name in enumerate(self.estimates):
            values[name] = inputs[:, self.column + j]
        factor = np.repeat(inputs[:, self.column + len(self.estimates)][:, None], self.teu_all.size, axis=1)
        for column, rows in self.demand_effects:
            factor[:, rows] *= inputs[:, column][:, None]
        mu = np.minimum(values["mode_scale_per_usd"], self.mu_max)
        p = land_probability(self.land_cost[None], self.sea_cost[None], mu[:, None, None],
                             values["land_constant_usd"][:, None, None])
        all_teu = self.teu_all[None, :] * factor
        return (self.class_share[None] * p).sum(axis=2) * all_teu, all_teu

    def sample(self, seed: int, draws: int) -> np.ndarray:
        """``(draws, len(names))`` inputs of the block; draw ``i`` from ``SeedSequence(seed, spawn_key=(i, 1))``
        (a stream of its own: the scenario's inputs are drawn as without a year)."""
        out = np.zeros((draws, len(self.names)))
        k = len(self.estimates)
        for i in range(draws):
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i, 1)))
            if self.ridge:
                out[i, :k] = self.values(self._along_ridge(rng.standard_normal(2)))
            elif k:
                out[i, :k] = self.values(rng.multivariate_normal(self.mean, self.cov, method="eigh"))
            out[i, k] = math.exp(rng.normal(0.0, self.demand_sd))
        return out

    def _along_ridge(self, z: np.ndarray) -> np.ndarray:
        """``(log mu, mu k)`` of standard normal ``z``: the log mode scale from the profile
        likelihood of the fit along its ridge (``exp(-SSR / 2 s^2)``, flat in log mu, up to
        the route scale), then the constant around the ridge at that scale with the
        conditional spread of the covariance, shifted so that the nominal point is the
        parameters in use."""
        grid, best, cdf = self.ridge
        var_m, var_c, cov_mc = self.cov[0, 0], self.cov[1, 1], self.cov[0, 1]
        u = 0.5 * (1.0 + math.erf(z[0] / math.sqrt(2.0)))
        m = float(np.interp(u, cdf, grid)) if grid.size > 1 else float(self.mean[0])
        sd_c = math.sqrt(max(var_c - cov_mc ** 2 / var_m, 0.0)) if var_m > 0 else math.sqrt(var_c)
        shift = float(np.interp(m, grid, best) - np.interp(self.mean[0], grid, best))
        return np.array([m, self.mean[1] + shift + sd_c * z[1]])

    def values(self, x: np.ndarray) -> np.ndarray:
        """Parameter values of a point ``x`` in the covariance's coordinates (``log``: the
        logarithm; ``utility``: the land constant times the mode scale; else the value)."""
        out = np.array(x, dtype=float)
        for j, coord in enumerate(self.coordinates):
            if coord == "log":
                out[j] = math.exp(x[j])
        mu = dict(zip(self.estimates, out, strict=True)).get("mode_scale_per_usd", self.nominal["mode_scale_per_usd"])
        for j, coord in enumerate(self.coordinates):
            if coord == "utility":
                out[j] = x[j] / mu
        return out


def compile_mode_block(model: SweepModel, split, rows: list[dict], mode_index: list[int], year_model, tables,
                       uncertain: tuple, column: int, mode, fitted: dict | None = None) -> ModeBlock:
    """The :class:`ModeBlock` of a sweep with a model year.

    ``split`` is the year model's :class:`~corridors.modes.ModeSplit` under ``mode`` (the
    :class:`~corridors.modes.ModeParameters` in use), ``rows`` the demand rows the sweep
    model was compiled from and ``mode_index`` the split row of each (-1 for rows the mode
    choice leaves alone); ``column`` the block's first input column.  ``fitted`` (year ->
    :class:`~corridors.modes.YearModel` of the fitted years, on the baseline network) lets
    the mode scale and the land constant be drawn along the fit's ridge
    (:func:`corridors.modes.mode_ridge`).
    """
    from corridors.modes import demand_sd, load_mode_calibration, mode_ridge

    network = year_model.network
    calib = load_mode_calibration(network.geodata)
    nominal = mode.as_dict()
    names = tuple(calib["names"])
    cov = np.asarray(calib["covariance"], dtype=float)
    coordinates = tuple(calib["coordinates"])
    coord = {"log": lambda n: math.log(nominal[n]), "utility": lambda n: nominal["mode_scale_per_usd"] * nominal[n]}
    mean = np.array([coord.get(c, lambda n: float(nominal[n]))(n) for n, c in zip(names, coordinates, strict=True)])
    ridge: tuple = ()
    if fitted and coordinates == ("log", "utility") and names == ("mode_scale_per_usd", "land_constant_usd"):
        sd = math.sqrt(cov[0, 0])
        grid = np.unique(np.minimum(mean[0] + np.linspace(-5.0, 5.0, 81) * sd, math.log(network.params
                                                                                         .theta_of("eu"))))
        best, ssr = mode_ridge(fitted, tables, mode, grid)
        # profile likelihood of log mu (residual variance of the fit), as a CDF over the grid
        density = np.exp(-(ssr - ssr.min()) / (2.0 * calib["residual_sd"] ** 2))
        cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(grid))])
        ridge = (grid, best, cdf / cdf[-1] if cdf[-1] > 0 else np.linspace(0.0, 1.0, grid.size))
    n_rows = len(split.rows)
    to_pairs = np.zeros((n_rows, len(model.pairs)))
    stranded_rows = [r for r in rows if route_key(r) not in model.pair_index]
    to_stranded = np.zeros((n_rows, len(stranded_rows)))
    s = 0
    for row, m in zip(rows, mode_index, strict=True):
        pair = model.pair_index.get(route_key(row))
        if pair is None:
            if m >= 0:
                to_stranded[m, s] = 1.0
            s += 1
        elif m >= 0:
            to_pairs[m, pair] = 1.0
    demand_effects = []
    if uncertain:
        scenario, items = uncertain
        ctx = _Context(network, scenario.label)
        for (j, u), (col, _) in zip(enumerate(items), _columns(items, model.calibration), strict=True):
            if u.distribution != "calibration" and u.demand is not None:
                match = _demand_matcher(u.demand, f"uncertain[{j}].demand", ctx)
                hit = [i for i, r in enumerate(split.rows) if match({"origin": r["origin"],
                                                                     "destination": r["destination"]})]
                if hit:
                    demand_effects.append((col, np.asarray(hit, dtype=np.intp)))
    block = ModeBlock(
        year=int(year_model.year), column=column, estimates=names, mean=mean, cov=cov, coordinates=coordinates,
        nominal=nominal, mu_max=float(network.params.logit_theta_per_usd), demand_sd=demand_sd(tables, year_model.year),
        land_cost=split.land_cost, sea_cost=split.sea_cost, class_share=year_model.class_share,
        teu_all=np.array([r["teu_all"] for r in split.rows], dtype=float),
        direction=np.array([r["year_direction"] != "china_europe" for r in split.rows], dtype=np.intp),
        land_nominal=np.asarray(split.land_teu, dtype=float), to_pairs=to_pairs,
        pairs=np.flatnonzero(to_pairs.any(axis=0)), to_stranded=to_stranded,
        stranded=np.flatnonzero(to_stranded.any(axis=0)), demand_effects=tuple(demand_effects), ridge=ridge)
    return block


def _mode_draws(block: ModeBlock, inputs: np.ndarray, od_teu: np.ndarray,
                stranded: np.ndarray) -> dict[str, np.ndarray]:
    """Put the drawn land TEU of the mode-choice rows into ``od_teu`` and ``stranded`` (in place);
    return the TEU/year by mode and direction of every draw."""
    land, all_teu = block.land_teu(inputs)
    if block.pairs.size:
        od_teu[:, block.pairs] = (land @ block.to_pairs[:, block.pairs])
    if block.stranded.size:
        stranded[:, block.stranded] = (land @ block.to_stranded[:, block.stranded])
    out = {}
    for d, name in enumerate(("china_europe", "europe_china")):
        sel = block.direction == d
        out[f"land_teu:{name}"] = land[:, sel].sum(axis=1)
        out[f"sea_teu:{name}"] = all_teu[:, sel].sum(axis=1) - out[f"land_teu:{name}"]
    return out


def _edge_components(network: Network, edges: list) -> dict[str, np.ndarray]:
    """Split every edge's hours and USD into the components uncertain inputs scale."""
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


def _classify(network: Network, route, in_query: bool, codes: tuple) -> tuple[bool, str | None, str | None]:
    """(passes through, corridor name, gateway name) of a route (names only for the query)."""
    through, from_codes, _ = codes
    if not in_query:
        return route.passes_through(through), None, None
    return (route.passes_through(through), corridor_name(route),
            gateway_name(network, route.gateway(from_codes), from_codes))


def compile_model(network: Network, rows: list[dict], sets: dict, query: Query | None, uncertain: tuple,
                  *, method: str) -> SweepModel:
    """Lay a network, its demand and choice sets out as arrays for vectorised draws."""
    known = network.country_codes
    if query is None:
        codes = (frozenset(), frozenset(), frozenset())
    else:
        codes = (resolve_region(query.through, known), resolve_region(query.from_, known),
                 resolve_region(query.to, known))
    nodes = network.node_records
    # keyed by route_key: the demand mode's mask is part of the choice set
    teu_by_pair: dict[tuple, float] = {}
    stranded_rows = []
    for row in rows:
        pair = route_key(row)
        if sets.get(pair):
            teu_by_pair[pair] = teu_by_pair.get(pair, 0.0) + row["teu"]
        else:
            stranded_rows.append(row)
    pairs = tuple(sorted(teu_by_pair))
    arrays = choice_arrays(network, [sets[p] for p in pairs])
    query_mask, passes, corridor_idx, gateway_idx = [], [], [], []
    corridors: dict[str, int] = {}
    gateways: dict[str, int] = {}
    for route, g in zip(arrays.routes, arrays.group, strict=True):
        o, d = pairs[g][:2]
        in_query = nodes[o]["country"] in codes[1] and nodes[d]["country"] in codes[2]
        through, corridor, gateway = _classify(network, route, in_query, codes)
        query_mask.append(in_query)
        passes.append(through)
        corridor_idx.append(corridors.setdefault(corridor, len(corridors)) if in_query else -1)
        gateway_idx.append(gateways.setdefault(gateway, len(gateways)) if in_query else -1)
    edges = edge_arrays(network)
    incidence = arrays.incidence
    if method == "ue":
        cols = np.arange(edges.n_edges)  # the whole graph: ue may use any edge
    else:
        cols = np.unique(incidence.indices)  # only the edges of the choice sets
        incidence = incidence[:, cols].tocsr()
    used = [edges.edges[i] for i in cols]
    calibration = _calibration(network, uncertain)
    effects, names = _compile_effects(network, uncertain, used, pairs, stranded_rows, calibration)
    segment_of = {}
    for row in rows:
        segment_of.setdefault(route_key(row), str(row.get("segment")))
    segments = tuple(sorted(set(segment_of.values())))
    asc_keys = tuple(sorted({f"asc:{seg}:{node}" for seg, _, consts in network.params.segments for node, _ in consts}
                            | {n for n in (calibration or {}).get("names", ()) if n.startswith("asc:")}))
    asc_through = [[float(segment_of[pairs[g]] == key.split(":")[1] and key.split(":")[2] in r.node_ids)
                    for r, g in zip(arrays.routes, arrays.group, strict=True)] for key in asc_keys]
    if network.params.sanctions_transit_usd or "sanctions_transit_usd" in (calibration or {}).get("names", ()):
        # the sanctions-transit term is one more constant: on the eu routes it applies to that year
        active = russia_term_active(network, network.params.year)
        asc_keys = (*asc_keys, "sanctions_transit_usd")
        asc_through.append([float(sanctioned_route(r, segment_of[pairs[g]], active))
                            for r, g in zip(arrays.routes, arrays.group, strict=True)])
    asc_through = np.array(asc_through, dtype=float)
    return SweepModel(
        pairs=pairs, pair_index={p: i for i, p in enumerate(pairs)}, incidence=incidence,
        starts=arrays.starts, group=arrays.group, log_ps=arrays.log_path_size,
        comp=_edge_components(network, used), time_h=edges.time_h[cols], money_usd=edges.money_usd[cols],
        border=edges.border[cols], transfer=edges.transfer[cols], capacity=edges.capacity[cols],
        gate=edges.gate[cols], barrier_mask=edges.barrier_mask[cols], cap_group=edges.group[cols],
        od_teu=np.array([teu_by_pair[p] for p in pairs]), params=network.params,
        query=np.asarray(query_mask, dtype=bool), passes=np.asarray(passes, dtype=bool),
        corridor_idx=np.asarray(corridor_idx, dtype=np.int64), corridors=tuple(corridors),
        gateway_idx=np.asarray(gateway_idx, dtype=np.int64), gateways=tuple(gateways),
        stranded_teu=np.array([r["teu"] for r in stranded_rows]),
        stranded_query=np.array([nodes[r["origin"]]["country"] in codes[1]
                                 and nodes[r["destination"]]["country"] in codes[2] for r in stranded_rows],
                                dtype=bool),
        codes=codes, effects=effects, names=names, network=_bare(network) if method == "ue" else None,
        segments=segments, segment_idx=np.array([segments.index(segment_of[p]) for p in pairs], dtype=np.intp),
        asc_keys=asc_keys, asc_through=asc_through.reshape(len(asc_keys), len(arrays.routes)),
        calibration=calibration,
    )


def _calibration(network: Network, uncertain: tuple) -> dict | None:
    """The estimates and covariance of ``geodata/calibration.json`` if an uncertain input draws them."""
    import json

    if not uncertain or not any(u.distribution == "calibration" for u in uncertain[1]):
        return None
    path = network.geodata / "calibration.json"
    label = uncertain[0].label
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        names, values, coords = list(data["names"]), [float(v) for v in data["values"]], list(data["coordinates"])
        cov = np.asarray(data["covariance"], dtype=float).reshape(len(names), len(names))
    except FileNotFoundError:
        raise ScenarioError(f"{label}: the calibration distribution needs {path}; write it with 'corridors "
                            "calibrate --write-default'") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ScenarioError(f"{path}: not a calibration file ({type(exc).__name__}: {exc})") from None
    if not names or len(values) != len(names) or len(coords) != len(names) or not np.all(np.isfinite(cov)):
        raise ScenarioError(f"{path}: names, values, coordinates and covariance do not match")
    for name in names:
        if not name.startswith(("theta:", "asc:")) and name not in (
                "logit_theta_per_usd", "value_of_time_usd_per_teu_h", "path_size_beta", "sanctions_transit_usd"):
            raise ScenarioError(f"{path}: parameter '{name}' cannot be drawn in a sweep")
    return {"names": names, "values": values, "coordinates": coords, "covariance": cov.tolist()}


def _bare(network: Network) -> Network:
    """The network without its caches (choice sets, routing trees): what ``ue`` draws ship to workers."""
    graph = network.graph.copy()
    for key in [k for k in graph.graph if k.startswith("_")]:
        del graph.graph[key]
    return dataclasses.replace(network, graph=graph, memo=type(network.memo)())


def _columns(items: tuple, calibration: dict | None) -> list[tuple[int, str]]:
    """(first input column, column name) of every uncertain input; a calibration draw takes one
    column per estimate, named ``<name>:<parameter>``."""
    out, col = [], 0
    for u in items:
        out.append((col, u.name))
        col += len(calibration["names"]) if u.distribution == "calibration" else 1
    return out


def _compile_effects(network: Network, uncertain: tuple, edges: list, pairs: tuple, stranded_rows: list,
                     calibration: dict | None = None):
    if not uncertain:
        return (), ()
    scenario, items = uncertain
    ctx = _Context(network, scenario.label)
    graph = network.graph
    effects: list[_Effect] = []
    names: list[str] = []
    for (j, u), (column, _) in zip(enumerate(items), _columns(items, calibration), strict=True):
        key = f"uncertain[{j}]"
        if u.distribution == "calibration":
            for k, name in enumerate(calibration["names"]):
                effects.append(_Effect(column + k, "param", name))
                names.append(f"{u.name}:{name}")
            continue
        names.append(u.name)
        j = column
        if u.parameter is not None:
            effects.append(_Effect(j, "param", u.parameter))
        elif u.demand is not None:
            if u.demand.segment is not None:
                raise ctx.error(f"{key}.demand.segment", "sweeps scale demand by origin and destination only")
            match = _demand_matcher(u.demand, f"{key}.demand", ctx)
            od = np.array([match({"origin": p[0], "destination": p[1]}) for p in pairs], dtype=bool)
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
    return tuple(effects), tuple(names)


def sample(items: tuple, seed: int, draws: int, *, calibration: dict | None = None) -> np.ndarray:
    """Inputs of every draw, drawn up front: row ``i`` from ``SeedSequence(seed, spawn_key=(i,))``.

    A ``calibration`` input draws every estimate of ``calibration`` (``geodata/calibration.json``)
    jointly: multivariate normal in the fitted coordinates (the logarithm of a logit scale,
    USD for a constant), one column each.
    """
    columns = _columns(items, calibration)
    width = columns[-1][0] + (len(calibration["names"]) if items[-1].distribution == "calibration" else 1) \
        if items else 0
    out = np.zeros((draws, width))
    if calibration is not None:
        logs = np.array([c == "log" for c in calibration["coordinates"]])
        mean = np.where(logs, np.log(np.maximum(calibration["values"], 1e-300)), calibration["values"])
        cov = np.asarray(calibration["covariance"], dtype=float)
        nonneg = np.array([n == "sanctions_transit_usd" for n in calibration["names"]])
    for i in range(draws):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)))
        for (j, u), (col, _) in zip(enumerate(items), columns, strict=True):
            if u.distribution == "calibration":
                x = rng.multivariate_normal(mean, cov, method="eigh")
                # a cost term cannot change sign: a draw below zero is the term switched off
                out[i, col:col + mean.size] = np.where(logs, np.exp(np.where(logs, x, 0.0)),
                                                       np.where(nonneg, np.maximum(x, 0.0), x))
                continue
            j = col
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


def evaluate(model: SweepModel, inputs: np.ndarray, method: str) -> dict[str, np.ndarray]:
    """Outputs of a batch of draws (rows of ``inputs``): share, TEU, by corridor and gateway."""
    batch = inputs.shape[0]
    n_edges = model.time_h.size
    p = model.params
    values = {"value_of_time_usd_per_teu_h": np.full(batch, p.value_of_time_usd_per_teu_h),
              "logit_theta_per_usd": np.full(batch, p.logit_theta_per_usd),
              "path_size_beta": np.full(batch, p.path_size_beta)}
    factors: dict[str, np.ndarray] = {}
    capacity = np.broadcast_to(model.capacity, (batch, n_edges))
    od_teu = np.broadcast_to(model.od_teu, (batch, model.od_teu.size)).copy()
    stranded = np.broadcast_to(model.stranded_teu, (batch, model.stranded_teu.size)).copy()
    for eff in model.effects:
        value = inputs[:, eff.column]
        if eff.kind == "param":
            values[eff.target] = value
        elif eff.kind == "edge":
            f = factors.setdefault(eff.target, np.ones((batch, n_edges)))
            f[:, eff.index] *= (1.0 / np.maximum(value, 1e-9) if eff.inverse else value)[:, None]
        elif eff.kind == "capacity":
            if not capacity.flags.writeable:
                capacity = capacity.copy()
            capacity[:, eff.index] *= value[:, None]
        else:
            od_teu[:, eff.index[0]] *= value[:, None]
            stranded[:, eff.index[1]] *= value[:, None]
    by_mode = _mode_draws(model.mode, inputs, od_teu, stranded) if model.mode is not None else {}
    # nominal arrays plus the changes: an unchanged edge keeps its nominal value exactly
    time_h = np.broadcast_to(model.time_h, (batch, n_edges))
    money = np.broadcast_to(model.money_usd, (batch, n_edges))
    for name, f in factors.items():
        if name in _TIME:
            time_h = time_h + model.comp[name] * (f - 1.0)
        else:
            money = money + model.comp[name] * (f - 1.0)
    vot = values["value_of_time_usd_per_teu_h"]
    theta = values["logit_theta_per_usd"]
    beta = values["path_size_beta"]
    group_theta, asc = _segment_draws(model, values, batch)
    penalty = kernel.penalties(model.border, model.transfer, p.border_penalty_usd, p.transfer_penalty_usd)
    iterations = np.zeros(batch, dtype=np.int64)
    change = np.zeros(batch)
    if method == "ue":
        out = _evaluate_ue(model, time_h, money, capacity, od_teu, vot)
    else:
        if method in ("logit", "shortest"):
            gen = kernel.generalised_cost(money, time_h, vot, penalty)
            cost = np.asarray(model.incidence @ gen.T).T
            flows = kernel.choice_shares(method, cost, model.log_ps, theta, beta, model.starts, model.group,
                                         group_theta=group_theta, asc_usd=asc)
            flows = flows * od_teu[:, model.group]
        else:
            alpha, vdf_beta, queue = kernel.vdf_parameters(model.gate, capacity, vot, p)
            solved = kernel.route_equilibrium(model.incidence, money + penalty, vot[:, None] * time_h, capacity,
                                              alpha, vdf_beta, queue, od_teu, model.starts, model.group,
                                              model.log_ps, theta, beta, choice="logit", group_theta=group_theta,
                                              asc_usd=asc,
                                              barrier=kernel.vdf_barrier(model.barrier_mask & (capacity > 0), vot, p),
                                              cap_group=model.cap_group)
            flows, iterations, change = solved.flows, solved.iterations, solved.criterion
        q = model.query
        total = flows[:, q].sum(axis=1)
        through = flows[:, q & model.passes].sum(axis=1)
        out = {"share": np.divide(through, total, out=np.full(batch, np.nan), where=total > 0),
               "through_teu": through, "total_teu": total}
        for k, name in enumerate(model.corridors):
            out[f"corridor:{name}"] = flows[:, q & (model.corridor_idx == k)].sum(axis=1)
        for k, name in enumerate(model.gateways):
            out[f"gateway:{name}"] = flows[:, q & (model.gateway_idx == k)].sum(axis=1)
        out["iterations"] = iterations
        out["flow_change"] = change
    out["stranded_teu"] = stranded[:, model.stranded_query].sum(axis=1)
    out.update(by_mode)
    return out


def _segment_draws(model: SweepModel, values: dict[str, np.ndarray], batch: int):
    """``(batch, groups)`` logit scales and ``(batch, routes)`` constants of the segments, or None
    where no segment has its own (then every OD pair uses ``logit_theta_per_usd``)."""
    p = model.params
    own = {name for name, theta, _ in p.segments if theta is not None} | {
        k.split(":")[1] for k in values if k.startswith("theta:")}
    group_theta = None
    if own and model.segment_idx is not None:
        common = values["logit_theta_per_usd"]
        by_segment = np.stack([values.get(f"theta:{s}", np.full(batch, p.theta_of(s)) if s in own else common)
                               for s in model.segments], axis=1)
        group_theta = by_segment[:, model.segment_idx]
    asc = None
    if model.asc_keys:
        nominal = {f"asc:{seg}:{node}": v for seg, _, consts in p.segments for node, v in consts}
        nominal["sanctions_transit_usd"] = p.sanctions_transit_usd
        level = np.stack([values.get(k, np.full(batch, nominal.get(k, 0.0))) for k in model.asc_keys], axis=1)
        asc = level @ model.asc_through
    return group_theta, asc


def _evaluate_ue(model: SweepModel, time_h, money, capacity, od_teu, vot) -> dict[str, np.ndarray]:
    """``ue`` draw by draw: bi-conjugate Frank-Wolfe on the whole graph, as ``assign`` runs it."""
    network = model.network
    batch = time_h.shape[0]
    nodes = network.node_records
    out: dict[str, np.ndarray] = {"share": np.full(batch, np.nan), "through_teu": np.zeros(batch),
                                  "total_teu": np.zeros(batch), "iterations": np.zeros(batch, dtype=np.int64),
                                  "flow_change": np.zeros(batch)}
    for name in model.corridors:
        out[f"corridor:{name}"] = np.zeros(batch)
    for name in model.gateways:
        out[f"gateway:{name}"] = np.zeros(batch)
    seen: dict = {}
    for b in range(batch):
        pair_teu = {pair: float(t) for pair, t in zip(model.pairs, od_teu[b], strict=True) if t > 0}
        records: list = []
        params = dataclasses.replace(model.params, value_of_time_usd_per_teu_h=float(vot[b]))
        solved = ue_solve(network, pair_teu, time_h=time_h[b], money_usd=money[b], capacity=capacity[b],
                          params=params, callback=records.append)
        out["iterations"][b] = len(records)
        out["flow_change"][b] = records[-1].relative_gap if records else 0.0
        for pair, used in solved.items():
            o, d = pair[:2]
            in_query = nodes[o]["country"] in model.codes[1] and nodes[d]["country"] in model.codes[2]
            if not in_query:
                continue
            for links, share in used:
                if links not in seen:
                    seen[links] = _classify(network, ue_route(network, links), True, model.codes)
                through, corridor, gateway = seen[links]
                teu = pair_teu[pair] * share
                out["total_teu"][b] += teu
                out["through_teu"][b] += teu if through else 0.0
                for column in (f"corridor:{corridor}", f"gateway:{gateway}"):
                    out.setdefault(column, np.zeros(batch))[b] += teu
        if out["total_teu"][b] > 0:
            out["share"][b] = out["through_teu"][b] / out["total_teu"][b]
    return out

