"""Mode choice between sea and land, nested above the land route choice (issue 11).

For every China↔EU27 demand row of ``demand.csv`` (segment ``eu``, European end in the EU27) and every cargo class
of ``geodata/years/cargo_classes.csv`` (time-sensitive and standard, each with its TEU
share and value of time):

land
    The composite cost of the land nest is the logsum of the path-size logit over the
    row's land choice set (:func:`corridors.assignment.route_sets` keyed by
    :func:`corridors.assignment.route_key`: the routes the land TEU are assigned to; the kernel's
    :func:`corridors.kernel.logit_logsums` at the ``eu`` segment's route scale, with the
    segment's constants), with the class's value of time, the rail charges lowered by the
    year's CR Express subsidy cap (A418) and, in years with ``russia_transit_term_active``, the
    Russia part of the route choice's sanctions-transit term (``sanctions_transit_usd`` of
    ``[route_choice]``, USD/TEU on routes crossing Russia or Belarus, and Iran in every year,
    A417, A423): the same route costs as the route choice.
sea
    The least generalised cost over the sea graph (the ``maritime`` layer: inland legs to a
    Chinese port, a sea lane, a European port and the land network to the destination)
    with the year's sea rate in place of the shipped lane tariff, via Suez and via the
    Cape weighted by the year's ``cape_share`` (``suez_open = 0``: the Cape only).

Binary logit at the mode scale ``mu`` (``mode_scale_per_usd``; ``mu`` must not exceed the
route scale, or the nest is inconsistent) with a land constant (``land_constant_usd``,
added to the land composite cost):
``P(land) = 1 / (1 + exp(mu (C_land + k - C_sea)))``.  The year's all-mode demand of a
direction is spread over the rows in proportion to their ``demand.csv`` TEU; the land TEU
of a row (sum over classes of share x P(land) x demand) is then assigned by the route
choice as before.  Rows with no land route (a scenario closing them) go by sea entirely,
so TEU by mode always add up to the year's demand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from corridors._errors import LayerError
from corridors.network import RUSSIA_TERM_COUNTRIES

__all__ = [
    "DIRECTION_OF",
    "ModeParameters",
    "ModeSplit",
    "load_mode_parameters",
    "year_network",
    "mode_split",
    "assign_year",
    "YearModel",
    "scenario_method",
]

#: demand.csv ``direction`` -> year-table direction.
DIRECTION_OF = {"from_china": "china_europe", "to_china": "europe_china"}
#: Countries whose crossing carries the Russia-transit term for EU cargo (A417).
RUSSIA_TRANSIT = RUSSIA_TERM_COUNTRIES
#: The demand segment the mode choice applies to (China↔EU27).
SEGMENT = "eu"


@dataclass(frozen=True)
class ModeParameters:
    """Parameters of the mode choice (``[mode_choice]`` of ``parameters.toml``).

    Attributes
    ----------
    mode_scale_per_usd : float
        Logit scale ``mu`` of the sea/land choice, per USD of composite cost per TEU; must
        not exceed the route scale of the ``eu`` segment (nest consistency).
    land_constant_usd : float
        USD per TEU added to the land composite cost (negative: land preferred beyond its cost).

    The sanctions-transit term is a route-choice parameter
    (:attr:`corridors.network.CostParameters.sanctions_transit_usd`): the land nest prices routes
    as the route choice does.
    """

    mode_scale_per_usd: float = 0.0005
    land_constant_usd: float = 0.0

    def as_dict(self) -> dict[str, float]:
        """The parameters as a plain dict."""
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


def load_mode_parameters(geodata: str | Path | None = None, overrides: dict | None = None) -> ModeParameters:
    """Read ``[mode_choice]`` of ``<geodata>/parameters.toml`` (validated), with ``overrides``.

    ``overrides`` is a (possibly nested) parameter mapping such as a ``--params`` file; keys
    that are not mode-choice parameters are ignored here.
    """
    from corridors.layers import MODE_CHOICE_PARAMETERS, check_parameters, default_geodata, parse_toml

    folder = Path(geodata) if geodata is not None else default_geodata()
    path = folder / "parameters.toml"
    values: dict[str, Any] = {}
    for label, data in ((str(path), _read_toml(path, parse_toml)), ("params", overrides or {})):
        checked, problems = check_parameters(data, label)
        if problems:
            raise LayerError(str(problems[0]))
        values.update({k: v for k, v in checked.items() if k in MODE_CHOICE_PARAMETERS})
    return ModeParameters(**values)


def _read_toml(path: Path, parse) -> dict:
    if not path.is_file():
        return {}
    try:
        return parse(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise LayerError(f"{path}: not valid TOML ({exc})") from None


def year_network(geodata=None, year: int = 2024, params: dict | None = None):
    """The land network of ``year`` (features in service that year), with ``params`` overrides.

    Raises
    ------
    LayerError
        If the year tables have no data for ``year`` (the message names the years available).
    """
    from corridors.layers import default_geodata
    from corridors.network import load_network
    from corridors.years import YearTables

    # the year alone is checked here (the tables themselves when a model reads them): a
    # command's warm start should not parse and validate every year table
    YearTables(Path(geodata) if geodata is not None else default_geodata(), {})._check_year(int(year))
    return load_network(geodata, params={**(params or {}), "year": int(year)})


def check_nest(mode: ModeParameters, route_scale: float) -> None:
    """Raise :class:`LayerError` unless ``0 < mu <= route scale`` (a consistent nest)."""
    mu = mode.mode_scale_per_usd
    if not mu > 0 or mu > route_scale * (1 + 1e-9):
        raise LayerError(
            f"parameters.toml: [mode_choice]: parameter 'mode_scale_per_usd' = {mu:g} per USD must lie in "
            f"(0, logit_theta_per_usd = {route_scale:g}]: a mode scale above the route scale makes the nested "
            "logit inconsistent"
        )


# --------------------------------------------------------------------------- year inputs


def _classes(tables, direction: str) -> list[dict]:
    return [r for r in tables.tables["cargo_classes.csv"] if r["direction"] == direction]


def sea_rates(inputs: dict[str, float]) -> dict[tuple[str, str], float]:
    """USD per TEU of the year's sea lanes by (``direction``, ``rate_region``) (A407, A415)."""
    return {
        ("westbound", "north_europe"): inputs["sea_rate_wb_usd_per_teu"],
        ("westbound", "mediterranean"): inputs["sea_rate_wb_mediterranean_usd_per_feu"] / 2.0,
        ("eastbound", "north_europe"): inputs["sea_rate_eb_usd_per_teu"],
        ("eastbound", "mediterranean"): inputs["sea_rate_eb_usd_per_teu"],
    }


def passage_weights(inputs: dict[str, float]) -> dict[str, float]:
    """Weight of the Suez and Cape sea costs in the year (``cape_share``; Suez closed: Cape only)."""
    cape = 1.0 if not inputs.get("suez_open", 1.0) else float(inputs.get("cape_share", 0.0))
    return {"suez": 1.0 - cape, "cape": cape}


# --------------------------------------------------------------------------- precomputed year


@dataclass(eq=False)
class YearModel:
    """Everything of one year and network that does not depend on the mode parameters.

    Built by :meth:`build`; :meth:`split` evaluates the mode choice for a
    :class:`ModeParameters` in microseconds, so fitting and sweeps call it many times.

    Attributes
    ----------
    year : int
    network : Network
        The land network of the year (scenario applied, if any).
    rows : list of dict
        The EU demand rows (``origin``, ``destination``, ``direction``, ``segment``,
        ``teu_all``: the year's all-mode TEU of the row).
    other_rows : list of dict
        The demand rows the mode choice leaves alone (Russia/Belarus, Central Asia).
    """

    year: int
    network: Any
    rows: list[dict]
    other_rows: list[dict]
    class_names: tuple[str, ...]
    class_share: np.ndarray  # (rows, classes)
    class_vot: np.ndarray  # (rows, classes)
    sea_cost: np.ndarray  # (rows, classes) USD/TEU
    has_land: np.ndarray  # (rows,) bool
    route_money: np.ndarray = field(repr=False)  # (routes,)
    route_time: np.ndarray = field(repr=False)
    route_penalty: np.ndarray = field(repr=False)
    land_rows: np.ndarray = field(repr=False)  # row index of every land group
    arrays: Any = field(repr=False)
    russia_active: bool = False
    inputs: dict = field(default_factory=dict, repr=False)
    group_theta: np.ndarray = field(default=None, repr=False)  # (land groups,) route scale per USD
    route_asc: np.ndarray = field(default=None, repr=False)  # (routes,) USD/TEU constants incl. the Russia term

    @classmethod
    def build(cls, network, year: int, tables=None, *, passages: dict[str, float] | None = None,
              russia_active: bool | None = None) -> YearModel:
        """Precompute the costs of ``year`` on ``network`` (its ``params.year`` should be ``year``).

        ``passages`` replaces the year's Suez/Cape weights (a scenario closing Suez gives
        ``{"suez": 0, "cape": 1}``); ``russia_active`` the year's Russia-transit flag.  A
        scenario network's ``[sea]`` table (``suez``, ``russia_transit_term``) sets them too.
        """
        from corridors.assignment import choice_arrays, route_key, segment_choice
        from corridors.network import russia_term_active as network_russia_term
        from corridors.years import load_year_tables

        key = _model_key(network, year, tables, passages, russia_active)
        cached = _cached_model(cls, network, key)
        if cached is not None:
            return cached
        tables = load_year_tables(network.geodata) if tables is None else tables
        inputs = tables.inputs(year)
        demand = tables.demand(year)
        chosen = [_mode_row(network, r) for r in network.demand_rows]
        rows_in = [r for r, c in zip(network.demand_rows, chosen, strict=True) if c]
        other = [dict(r) for r, c in zip(network.demand_rows, chosen, strict=True) if not c]
        base = {d: sum(float(r["teu"]) for r in rows_in if DIRECTION_OF[r["direction"]] == d)
                for d in DIRECTION_OF.values()}
        rows = []
        for r in rows_in:
            d = DIRECTION_OF[r["direction"]]
            weight = float(r["teu"]) / base[d] if base[d] > 0 else 0.0
            rows.append({**r, "year_direction": d, "teu_all": weight * demand[(d, "all")]})
        classes = {d: _classes(tables, d) for d in DIRECTION_OF.values()}
        names = tuple(c["class"] for c in classes["china_europe"])
        share = np.array([[c["teu_share"] for c in classes[r["year_direction"]]] for r in rows], dtype=float)
        vot = np.array([[c["vot_prior_usd_per_teu_h"] for c in classes[r["year_direction"]]] for r in rows],
                       dtype=float)

        params = network.params
        sets = _row_sets(network, rows)
        has_land = np.array([bool(sets.get(route_key(r))) for r in rows], dtype=bool)
        land_rows = np.flatnonzero(has_land)
        arrays = choice_arrays(network, [sets[route_key(rows[i])] for i in land_rows])
        money = np.array([rt.money_usd for rt in arrays.routes], dtype=float)
        time = np.array([rt.time_h for rt in arrays.routes], dtype=float)
        gen = np.array([rt.gen_cost_usd for rt in arrays.routes], dtype=float)
        penalty = gen - money - params.value_of_time_usd_per_teu_h * time
        segments = [rows[i].get("segment") for i in land_rows]
        # CR Express subsidy (A418): the shipped rail tariffs are 2025 rates, without it; a year
        # with a subsidy cap has its rail freight charges lower by that share
        rail = np.array([sum(leg["usd"] for leg in rt.legs if leg["kind"] == "link" and leg["mode"] == "rail")
                         for rt in arrays.routes], dtype=float)
        money = money - inputs["cr_express_subsidy_cap_share"] * rail

        sea_spec = _sea_spec(network)
        if passages is None and sea_spec is not None and sea_spec.suez is not None:
            passages = {"suez": 0.0, "cape": 1.0} if sea_spec.suez == "closed" else {"suez": 1.0, "cape": 0.0}
        weights = passage_weights(inputs) if passages is None else passages
        sea = _sea_costs(network, rows, vot, sea_rates(inputs), weights)
        active = network_russia_term(network, year) if russia_active is None else russia_active
        # the route choice's own scale and constants (gateway constants, sanctions-transit term)
        group_theta, asc = segment_choice(params, segments, arrays.routes, arrays.group,
                                          (params.sanctions_transit_usd, active))
        theta = np.full(len(segments), params.theta_of(SEGMENT)) if group_theta is None else group_theta
        asc = np.zeros(len(arrays.routes)) if asc is None else asc
        return _store_model(cls(year, network, rows, other, names, share, vot, sea, has_land, money, time, penalty,
                                land_rows, arrays, active, inputs, theta, asc), key)

    def land_costs(self, mode: ModeParameters, extra_usd=None) -> np.ndarray:
        """Composite cost of the land nest, ``(rows, classes)`` USD/TEU (inf: no land route).

        ``extra_usd`` (per route of the choice sets) is added to the route costs (the
        congestion of :func:`assign_year_congested`)."""
        from corridors import kernel

        params = self.network.params
        out = np.full(self.class_vot.shape, np.inf)
        if not self.land_rows.size:
            return out
        term = self.route_asc
        if extra_usd is not None:
            term = term + np.asarray(extra_usd, dtype=float)
        a = self.arrays
        vot = self.class_vot[self.land_rows][:, :, None]  # (groups, classes, 1)
        # (classes, routes): each route priced with its row's class values of time
        cost = (self.route_money + self.route_penalty + term)[None, :] + (
            vot[a.group, :, 0].T * self.route_time[None, :])
        sums = kernel.logit_logsums(cost, a.log_path_size, None, np.full(cost.shape[0], params.path_size_beta),
                                    a.starts, a.group, group_theta=self.group_theta)
        out[self.land_rows] = sums.T
        return out

    def split(self, mode: ModeParameters, extra_usd=None) -> ModeSplit:
        """The mode split of every row and class under ``mode`` (nest checked)."""
        check_nest(mode, self.network.params.theta_of(SEGMENT))
        land = self.land_costs(mode, extra_usd)
        p_land = land_probability(land, self.sea_cost, mode.mode_scale_per_usd, mode.land_constant_usd)
        teu_all = np.array([r["teu_all"] for r in self.rows], dtype=float)
        land_teu = (self.class_share * p_land).sum(axis=1) * teu_all
        return ModeSplit(self.year, self.rows, self.other_rows, self.class_names, p_land, land_teu,
                         teu_all - land_teu, land, self.sea_cost.copy())


def _sea_spec(network):
    """The ``[sea]`` table of the scenario applied to ``network`` (None without one)."""
    return getattr(getattr(getattr(network, "scenario", None), "spec", None), "sea", None)


def scenario_method(scenario, method: str | None = None) -> str:
    """Route-choice method of a scenario run in a model year: ``method`` if given, else the
    scenario's ``method``, else ``sue``.

    In a model year the sea takes what the land routes cannot carry, so a scenario is
    compared in the equilibrium that honours the declared capacities
    (:func:`assign_year_congested`) unless asked otherwise.
    """
    return method or getattr(scenario, "method", None) or "sue"


# --------------------------------------------------------------------------- cached year models

# Bump when the cached year model's layout changes (the source of the modules that compute it
# is part of the key as well, so an edit there never reuses a stale entry).
_YEAR_CACHE_VERSION = 1
#: Modules whose code shapes a precomputed year model (its costs, choice sets and sea costs).
_YEAR_MODEL_CODE = ("modes", "assignment", "routing", "kernel", "network", "years")


def _code_digest() -> str:
    import hashlib
    import importlib

    digest = hashlib.sha256()
    for name in _YEAR_MODEL_CODE:
        module = importlib.import_module(f"corridors.{name}")
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


def _model_key(network, year: int, tables, passages, russia_active) -> str | None:
    """Cache name of the year model of ``network`` and these inputs (None: not cacheable).

    Keyed on everything the model is computed from: the network's fingerprint (its geodata
    files, year tables included, and its scenario), every cost parameter, the demand rows,
    the year, the passage weights and Russia-transit flag given, the year tables passed in
    (when not the geodata's own) and the code computing it.
    """
    import hashlib

    from corridors import _cache

    if not network.fingerprint or not _cache.enabled():
        return None
    memo = network.memo.setdefault("year_model_code", {})
    if "digest" not in memo:
        memo["digest"] = _code_digest()
    own = None if tables is None else repr(sorted(tables.tables.items()))
    key = repr((_YEAR_CACHE_VERSION, memo["digest"], network.fingerprint, network.include_sea,
                sorted(network.params.as_dict().items(), key=lambda kv: kv[0]), network.demand_rows, int(year),
                None if passages is None else sorted(passages.items()), russia_active, own))
    return f"year-model-{hashlib.sha256(key.encode()).hexdigest()[:32]}"


class _LazyChoiceArrays:
    """The choice arrays of a cached year model: the layout the mode choice needs at once
    (``starts``, ``group``, ``log_path_size``), the routes and incidence only when asked for
    (rebuilt from the network's choice sets, e.g. for the congested mode choice)."""

    def __init__(self, starts, group, log_path_size, rebuild):
        self.starts, self.group, self.log_path_size = starts, group, log_path_size
        self._rebuild, self._full = rebuild, None

    def _arrays(self):
        if self._full is None:
            self._full = self._rebuild()
        return self._full

    @property
    def routes(self):
        return self._arrays().routes

    @property
    def incidence(self):
        return self._arrays().incidence


def _row_sets(network, rows: list[dict]) -> dict:
    """The land choice sets of the mode-choice rows (empty where a row has no land route).

    Keyed as the route choice keys them (:func:`corridors.assignment.route_key`: the row's
    ``mode`` masks the edges), so the land logsum is taken over the very routes the land TEU
    are then assigned to (rail rows: rail and rail ferries, no road legs)."""
    from corridors.assignment import route_key, route_sets

    return route_sets(network, {route_key(r) for r in rows}, strict=False)


def _land_arrays(network, rows: list[dict], land_rows):
    """The choice arrays of the rows with a land route, as :meth:`YearModel.build` lays them out."""
    from corridors.assignment import choice_arrays, route_key

    sets = _row_sets(network, rows)
    return choice_arrays(network, [sets[route_key(rows[i])] for i in land_rows])


def _cached_model(cls, network, key: str | None):
    """The year model stored under ``key`` (this process's memo, then the on-disk cache), on ``network``."""
    from dataclasses import fields

    from corridors import _cache

    if key is None:
        return None
    memo = network.memo.setdefault("year_models", {})
    if key in memo:
        return memo[key]
    entry = _cache.read(key)
    names = {f.name for f in fields(cls)} - {"network", "arrays"}
    if not isinstance(entry, dict) or set(entry.get("fields", {})) != names:
        return None
    state = entry["fields"]
    starts, group, log_ps = entry["arrays"]
    arrays = _LazyChoiceArrays(starts, group, log_ps,
                               lambda: _land_arrays(network, state["rows"], state["land_rows"]))
    model = cls(network=network, arrays=arrays, **state)
    memo[key] = model
    return model


def _store_model(model: YearModel, key: str | None) -> YearModel:
    """Keep ``model`` under ``key`` (memo and on-disk cache: everything but the network and routes)."""
    from dataclasses import fields

    from corridors import _cache

    if key is None:
        return model
    model.network.memo.setdefault("year_models", {})[key] = model
    state = {f.name: getattr(model, f.name) for f in fields(model) if f.name not in ("network", "arrays")}
    a = model.arrays
    _cache.write(key, {"fields": state, "arrays": (a.starts, a.group, a.log_path_size)})
    return model


def land_probability(land_cost, sea_cost, mu, land_constant_usd) -> np.ndarray:
    """``P(land) = 1 / (1 + exp(mu (C_land + k - C_sea)))``, 0 where there is no land route.

    Broadcasts: costs ``(..., rows, classes)`` USD/TEU (``inf`` land: no route), ``mu`` per
    USD and ``k`` USD/TEU scalars or shaped to broadcast (a sweep's ``(draws, 1, 1)``).
    """
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(land_cost), _expit(-mu * (land_cost + land_constant_usd - sea_cost)), 0.0)


def _expit(x: np.ndarray) -> np.ndarray:
    """The logistic function ``1 / (1 + exp(-x))``, stable for any ``x`` (as ``scipy.special.expit``,
    whose import alone costs a command-line run about 0.4 s)."""
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _mode_row(network, row: dict) -> bool:
    """True for a China↔EU27 row of the ``eu`` segment (Türkiye's rows stay land-only demand)."""
    from corridors.regions import EU27

    if row.get("segment") != SEGMENT or row.get("direction") not in DIRECTION_OF:
        return False
    end = row["destination"] if row["direction"] == "from_china" else row["origin"]
    return network.node_records[end]["country"] in EU27


def _sea_costs(network, rows: list[dict], vot: np.ndarray, rates: dict, weights: dict[str, float]) -> np.ndarray:
    """Least generalised cost via a sea lane, ``(rows, classes)`` USD/TEU."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    from corridors import kernel
    from corridors.network import _in_service, link_time_h

    if network.include_sea:
        sea_net = network
    else:
        if "sea_network" not in network.memo:  # the same records with the maritime layer in the graph
            network.memo["sea_network"] = replace(network, include_sea=True).with_changes()
        sea_net = network.memo["sea_network"]
    memo = sea_net.memo.setdefault("sea_layout", {})
    if "edges" not in memo:
        memo["edges"] = kernel.edge_arrays(sea_net.graph)
    edges = memo["edges"]
    params = network.params
    # Sea lanes come from the link records, not the graph: a DiGraph keeps one edge per port
    # pair, so the Suez and Cape lanes between two ports would overwrite each other there.
    is_lane = np.array([k == "link" and sea_net.graph.edges[e]["mode"] == "sea"
                        for k, e in zip(edges.kind, edges.edges, strict=True)], dtype=bool)
    node_index = {n: k for k, n in enumerate(edges.nodes)}
    year = params.year
    lane_info = []
    for link in sea_net.link_records.values():
        if link["mode"] != "sea" or link.get("closed") or not _in_service(link, year):
            continue
        tail = node_index.get((link["from"], "sea", "out"))
        head = node_index.get((link["to"], "sea", "in"))
        if tail is None or head is None:
            continue
        border = sea_net.node_records[link["from"]]["country"] != sea_net.node_records[link["to"]]["country"]
        lane_info.append((tail, head, link["passage"], link["direction"], link["rate_region"], link_time_h(link),
                          params.border_penalty_usd if border else 0.0))
    lane_tail = np.array([x[0] for x in lane_info], dtype=np.intp)
    lane_head = np.array([x[1] for x in lane_info], dtype=np.intp)
    lane_time = np.array([x[5] for x in lane_info], dtype=float)
    lane_money = np.array([rates[(x[3], x[4])] + x[6] for x in lane_info], dtype=float)
    fixed = edges.money_usd + kernel.penalties(edges.border, edges.transfer, params.border_penalty_usd,
                                               params.transfer_penalty_usd)
    origins = sorted({r["origin"] for r in rows})
    dests = sorted({r["destination"] for r in rows})
    o_idx = [node_index.get(("o", o), -1) for o in origins]
    d_idx = [node_index.get(("d", d), -1) for d in dests]
    o_pos = {o: k for k, o in enumerate(origins)}
    d_pos = {d: k for k, d in enumerate(dests)}
    row_o = np.array([o_pos[r["origin"]] for r in rows], dtype=np.intp)
    row_d = np.array([d_pos[r["destination"]] for r in rows], dtype=np.intp)
    n = len(edges.nodes)
    keep = ~is_lane
    out = np.full(vot.shape, np.inf)
    for c in range(vot.shape[1]):
        for vot_value in np.unique(vot[:, c]):
            weight = fixed + vot_value * edges.time_h + 1e-9  # csgraph: no zero-weight edges
            matrix = csr_matrix((weight[keep], (edges.tail[keep], edges.head[keep])), shape=(n, n))
            reach_o = _from(dijkstra, matrix, o_idx, n)
            reach_d = _from(dijkstra, matrix.T.tocsr(), d_idx, n)
            lane_cost = lane_money + vot_value * lane_time
            total = np.zeros(len(rows))
            any_open = np.zeros(len(rows), dtype=bool)
            for passage, w in weights.items():
                sel = np.array([x[2] == passage for x in lane_info], dtype=bool)
                if not sel.any():
                    continue
                via = (reach_o[row_o][:, lane_tail[sel]] + lane_cost[sel][None, :]
                       + reach_d[row_d][:, lane_head[sel]]).min(axis=1)
                if w > 0:
                    total = total + w * via
                    any_open |= np.isfinite(via)
            rows_c = vot[:, c] == vot_value
            out[rows_c, c] = np.where(any_open, total, np.inf)[rows_c]
    return out


def _from(dijkstra, matrix, sources: list[int], n: int) -> np.ndarray:
    out = np.full((len(sources), n), np.inf)
    known = [k for k, s in enumerate(sources) if s >= 0]
    if known:
        out[known] = dijkstra(matrix, directed=True, indices=[sources[k] for k in known])
    return out


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ModeSplit:
    """The mode choice of one year: TEU by mode of every China↔EU27 row.

    Attributes
    ----------
    p_land : numpy.ndarray
        ``(rows, classes)`` probability of land.
    land_teu, sea_teu : numpy.ndarray
        ``(rows,)`` TEU/year by mode; they add up to each row's ``teu_all``.
    land_cost, sea_cost : numpy.ndarray
        ``(rows, classes)`` composite land cost (logsum) and sea cost, USD/TEU.
    """

    year: int
    rows: list[dict] = field(repr=False)
    other_rows: list[dict] = field(repr=False)
    class_names: tuple[str, ...]
    p_land: np.ndarray = field(repr=False)
    land_teu: np.ndarray = field(repr=False)
    sea_teu: np.ndarray = field(repr=False)
    land_cost: np.ndarray = field(repr=False)
    sea_cost: np.ndarray = field(repr=False)

    def by_mode(self, direction: str = "china_europe") -> dict[str, float]:
        """TEU/year by mode (``land``, ``sea``, ``all``) of a direction (``china_europe``/``europe_china``)."""
        sel = np.array([r["year_direction"] == direction for r in self.rows], dtype=bool)
        land, sea = float(self.land_teu[sel].sum()), float(self.sea_teu[sel].sum())
        return {"land": land, "sea": sea, "all": land + sea}

    def demand_rows(self) -> list[dict]:
        """The demand to assign: the land TEU of the EU rows plus every other row unchanged."""
        land = [{k: v for k, v in r.items() if k not in ("teu_all", "year_direction")} | {"teu": float(t)}
                for r, t in zip(self.rows, self.land_teu, strict=True)]
        return land + [dict(r) for r in self.other_rows]


def mode_split(network, year: int, mode: ModeParameters | None = None, tables=None, **build) -> ModeSplit:
    """Mode split of ``year`` on ``network`` (see the module docstring)."""
    mode = load_mode_parameters(network.geodata) if mode is None else mode
    check_nest(mode, network.params.theta_of(SEGMENT))
    return YearModel.build(network, year, tables, **build).split(mode)


def assign_year(network, year: int, *, method: str = "logit", mode: ModeParameters | None = None, tables=None,
                on_unreachable: str = "raise", **build):
    """Mode choice of ``year``, then the route choice of its land demand.

    With ``method="sue"`` the two are solved together (:func:`assign_year_congested`).

    Returns
    -------
    (AssignmentResult, ModeSplit)
    """
    from corridors.assignment import assign

    if method == "sue":  # congestion feeds back into the mode choice
        return assign_year_congested(network, year, mode=mode, tables=tables, **build)
    split = mode_split(network, year, mode, tables, **build)
    result = assign(network, split.demand_rows(), method=method, on_unreachable=on_unreachable)
    return result, split


def sea_share(split: ModeSplit, direction: str = "china_europe") -> float:
    """Share of a direction's TEU that goes by sea (0..1)."""
    m = split.by_mode(direction)
    return m["sea"] / m["all"] if m["all"] > 0 else math.nan


# --------------------------------------------------------------------------- fitting

#: Bounds of the fitted land constant (A422); the mode scale is bounded by the route scale.
#: The two fitted years barely separate a small ``mu`` with a large constant from a larger
#: ``mu`` with a smaller one; past 50,000 USD/TEU (about 20 times the land freight rate) the
#: nest degenerates to fixed land shares that no longer respond to sea rates, the mechanism the
#: backcast tests, so the constant stops there.
FIT_BOUNDS = {"land_constant_usd": (-5e4, 5e4)}


def observed_land(tables, year: int) -> dict[str, float]:
    """The land TEU of ``year`` by direction (``demand_all_modes.csv`` mode ``land``)."""
    demand = tables.demand(year)
    return {d: demand[(d, "land")] for d in DIRECTION_OF.values()}


def fit_mode_parameters(models: dict[int, YearModel], tables, start: ModeParameters | None = None) -> tuple[
        ModeParameters, dict[str, Any]]:
    """Fit ``mu`` and the land constant to the land TEU of the fitted years (the Russia-transit
    term is a route-choice parameter, fitted by :func:`corridors.calibration.calibrate`).

    Only :data:`corridors.years.FITTED_YEARS` (2019 and 2024) may be passed: every other
    year is a prediction (raises :class:`LayerError` otherwise).  Least squares on the log
    of the land TEU by direction; ``mu`` is bounded by the route scale (nest consistency).

    Returns
    -------
    (ModeParameters, dict)
        The fitted parameters and a report (``cost``, ``residuals`` by year and direction).
    """
    from scipy.optimize import minimize_scalar

    from corridors.years import FITTED_YEARS

    extra = sorted(set(models) - set(FITTED_YEARS))
    if extra:
        raise LayerError(f"mode choice: years {extra} are predictions; fit on {list(FITTED_YEARS)} only")
    start = ModeParameters() if start is None else start
    theta = min(m.network.params.theta_of(SEGMENT) for m in models.values())
    targets = [(y, d, math.log(v)) for y in sorted(models) for d, v in observed_land(tables, y).items()]
    scale = np.array([1e-4, 1e3])

    def params_of(x) -> ModeParameters:
        mu, k = x * scale
        return ModeParameters(float(mu), float(k))

    def residuals(x):
        p = params_of(x)
        splits = {y: m.split(p) for y, m in models.items()}
        return np.array([math.log(max(splits[y].by_mode(d)["land"], 1.0)) - t for y, d, t in targets])

    # mu and the land constant trade off (a small mu with a large constant fits a constant land
    # share): least squares from one start can stop in that valley at a bound.  The profile is
    # robust: for each mu the best constant (a bounded 1-D search), then the best mu (log scale).
    lo_k, hi_k = FIT_BOUNDS["land_constant_usd"]

    def profile(log_mu: float) -> tuple[float, float]:
        mu = math.exp(log_mu)
        best = minimize_scalar(lambda k: float(np.sum(residuals(np.array([mu, k]) / scale) ** 2)),
                               bounds=(lo_k, hi_k), method="bounded", options={"xatol": 1.0})
        return float(best.fun), float(best.x)

    grid = np.linspace(math.log(theta * 1e-3), math.log(theta), 13)
    values = [profile(g)[0] for g in grid]
    i = int(np.argmin(values))
    bracket = (grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)])
    best_mu = minimize_scalar(lambda g: profile(g)[0], bounds=bracket, method="bounded", options={"xatol": 1e-3})
    mu = math.exp(float(best_mu.x))
    x = np.array([mu, profile(float(best_mu.x))[1]]) / scale
    fitted = params_of(x)
    res = residuals(x)
    # forward-difference Jacobian in x for the covariance (the profile search gives none)
    jac = np.empty((res.size, x.size))
    for j in range(x.size):
        h = 1e-6 * max(abs(x[j]), 1.0)
        step = x.copy()
        step[j] += h
        jac[:, j] = (residuals(step) - res) / h
    lo = np.array([theta * 1e-3, lo_k]) / scale
    hi = np.array([theta, hi_k]) / scale
    report = {"cost": 0.5 * float(np.sum(res ** 2)), "years": sorted(models),
              "residuals": {f"{y} {d}": float(r) for (y, d, _), r in zip(targets, res, strict=True)},
              **_fit_covariance(x, jac, fitted, scale, lo, hi, res)}
    return fitted, report


#: Relative uncertainty (standard deviation of the log) of the observed land TEU the mode
#: choice is fitted to (A426): the floor of the residual variance in the fit's covariance.
LAND_OBSERVATION_SD = 0.10
_FIT_NAMES = ("mode_scale_per_usd", "land_constant_usd")


def _fit_covariance(x, jac, fitted: ModeParameters, scale, lo, hi, res) -> dict[str, Any]:
    """Covariance of the identified mode-choice estimates (Gauss-Newton, ``s^2 (J'J)^-1``).

    Coordinates: the logarithm of ``mode_scale_per_usd`` (a positive scale), the land
    constant in utility units (``mu * land_constant_usd``, ``utility``: the figures fix the
    land level, i.e. this product, far better than the constant in USD).  ``jac`` is the
    Jacobian of the residuals in ``x`` (the values over ``scale``).  ``s^2`` is the residual
    variance, at least
    :data:`LAND_OBSERVATION_SD` squared (with four figures and two or three estimates the
    residuals alone say little).  The mode scale is weakly identified by two years, so its
    variance is large and the normal approximation rough far from the fit.  An
    estimate at a bound of :data:`FIT_BOUNDS` (or the mode scale at the route scale) is not
    identified by the figures: it is reported so and left out of the covariance.
    """
    values = np.array([getattr(fitted, n) for n in _FIT_NAMES])
    mu, k = values[0], values[1]
    # d residual / d value (x = value / scale), then to (log mu, mu k):
    # d/d log mu at fixed mu k = mu d/dmu - k d/dk;  d/d(mu k) at fixed mu = (1 / mu) d/dk
    raw = np.asarray(jac, dtype=float) / scale[None, :]
    jac = raw.copy()
    jac[:, 0] = mu * raw[:, 0] - k * raw[:, 1]
    jac[:, 1] = raw[:, 1] / mu
    values = np.array([mu, mu * k])
    at_bound = (x - lo <= 1e-6 * (hi - lo)) | (hi - x <= 1e-6 * (hi - lo))
    free = [k for k in range(len(_FIT_NAMES)) if not at_bound[k]]
    dof = max(len(res) - len(free), 1)
    sigma2 = max(float(np.sum(np.square(res))) / dof, LAND_OBSERVATION_SD ** 2)
    j = jac[:, free]
    cov = sigma2 * np.linalg.pinv(j.T @ j) if free else np.zeros((0, 0))
    return {"names": [_FIT_NAMES[k] for k in free], "values": [float(values[k]) for k in free],
            "coordinates": [("log", "utility")[k] for k in free], "covariance": cov.tolist(),
            "not_identified": [_FIT_NAMES[k] for k in range(len(_FIT_NAMES)) if at_bound[k]],
            "residual_sd": float(np.sqrt(sigma2))}


def mode_ridge(models: dict[int, YearModel], tables, mode: ModeParameters, log_mu: np.ndarray) -> np.ndarray:
    """The best land constant for each mode scale: the ridge of the mode-choice fit.

    For every ``log(mode_scale_per_usd)`` of ``log_mu``, the land constant in utility units
    (``mu * land_constant_usd``) that minimises the fit's objective (:func:`fit_mode_parameters`:
    least squares on the log land TEU by direction of the years of ``models``).  The two
    estimates are strongly correlated and the ridge is curved, so sweeps draw the mode scale
    and then the constant around this curve rather than from a straight-line (normal)
    approximation.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``(len(log_mu),)`` land constant times mode scale (dimensionless) and the sum of
        squared residuals there (the profile of the objective along the ridge).
    """
    from scipy.optimize import least_squares

    parts = []
    for year, model in sorted(models.items()):
        land = model.land_costs(mode)
        teu = np.array([r["teu_all"] for r in model.rows], dtype=float)
        for d, observed in observed_land(tables, year).items():
            sel = np.array([r["year_direction"] == d for r in model.rows], dtype=bool)
            parts.append((land[sel], model.sea_cost[sel], model.class_share[sel], teu[sel], math.log(observed)))

    def residuals(c, mu):
        return np.array([math.log(max(float(((share * land_probability(lc, sc, mu, c[0] / mu)).sum(axis=1)
                                             * teu).sum()), 1.0)) - target for lc, sc, share, teu, target in parts])

    out, ssr = np.empty(len(log_mu)), np.empty(len(log_mu))
    c = mode.mode_scale_per_usd * mode.land_constant_usd
    for i, m in enumerate(log_mu):
        solved = least_squares(residuals, [c], args=(math.exp(m),))
        c = float(solved.x[0])
        out[i], ssr[i] = c, 2.0 * float(solved.cost)
    return out, ssr


#: File of the mode-choice estimates' covariance, beside ``calibration.json`` (route choice).
MODE_CALIBRATION_FILE = "mode_calibration.json"


def write_mode_calibration(path: str | Path, fitted: ModeParameters, report: dict[str, Any]) -> Path:
    """Write the mode-choice fit (estimates, covariance) as JSON, atomically.

    Sweeps with a model year draw the mode-choice parameters from this covariance around
    the parameters in use (:func:`load_mode_calibration`).
    """
    import json

    from corridors._io import atomic_path
    from corridors.years import FITTED_YEARS

    data = {"written_by": "corridors.modes.write_mode_calibration (tools/fit_mode_choice.py)",
            "fitted_years": list(report.get("years", FITTED_YEARS)), "parameters": fitted.as_dict(),
            "residuals": report["residuals"], "residual_sd": report["residual_sd"], "names": report["names"],
            "values": report["values"], "coordinates": report["coordinates"], "covariance": report["covariance"],
            "not_identified": report["not_identified"]}
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return target


def load_mode_calibration(geodata: str | Path) -> dict[str, Any]:
    """The mode-choice covariance of ``<geodata>/mode_calibration.json`` (checked).

    Raises
    ------
    LayerError
        If the file is missing or malformed (one line naming it).
    """
    import json

    path = Path(geodata) / MODE_CALIBRATION_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        names, coords = list(data["names"]), list(data["coordinates"])
        cov = np.asarray(data["covariance"], dtype=float).reshape(len(names), len(names))
    except FileNotFoundError:
        raise LayerError(f"{path}: not found; a sweep with a model year draws the mode-choice parameters from it "
                         "(write it with tools/fit_mode_choice.py)") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LayerError(f"{path}: not a mode-choice calibration file ({type(exc).__name__}: {exc})") from None
    unknown = [n for n in names if n not in _FIT_NAMES]
    if not unknown and any(c not in ("log", "utility", "linear") for c in coords):
        unknown = [f"coordinate {c}" for c in coords if c not in ("log", "utility", "linear")]
    if unknown or len(coords) != len(names) or not np.all(np.isfinite(cov)) or (
            names and np.min(np.linalg.eigvalsh((cov + cov.T) / 2)) < -1e-9 * max(1.0, float(np.abs(cov).max()))):
        what = f"unknown parameter '{unknown[0]}'" if unknown else "names, coordinates and covariance do not match " \
            "or the covariance is not positive semi-definite"
        raise LayerError(f"{path}: {what}")
    sd = data.get("residual_sd", LAND_OBSERVATION_SD)
    if not isinstance(sd, (int, float)) or not sd > 0:
        raise LayerError(f"{path}: residual_sd must be a positive number, got {sd!r}")
    return {"names": names, "coordinates": coords, "covariance": cov, "residual_sd": float(sd)}


def demand_sd(tables, year: int) -> float:
    """Relative uncertainty (sd of the log) of ``year``'s all-mode demand (``demand_all_relative_sd``, A425)."""
    inputs = tables.inputs(year)
    if "demand_all_relative_sd" not in inputs:
        raise LayerError(f"{tables.geodata / 'years' / 'year_inputs.csv'}: year {year}: no 'demand_all_relative_sd' "
                         "row (the sweep draws the year's demand with it)")
    return float(inputs["demand_all_relative_sd"])


def scenario_year(network, scenario, year: int, **kwargs) -> dict[str, Any]:
    """A scenario against the baseline in a model year: :func:`corridors.mode_equilibrium.scenario_year`."""
    from corridors.mode_equilibrium import scenario_year as run

    return run(network, scenario, year, **kwargs)


def assign_year_congested(network, year: int, *, mode: ModeParameters | None = None, tables=None, **build):
    """Mode choice and stochastic user equilibrium (``sue``) of ``year`` solved together,
    with every declared capacity honoured (:mod:`corridors.mode_equilibrium`).

    The land composite cost includes the congestion (the kernel's volume-delay costs) and
    the capacity prices of the land routes, so the China↔EU27 boxes that do not fit on
    the land routes a scenario leaves (ferries, border posts) go by sea.

    Returns
    -------
    (AssignmentResult, ModeSplit)
    """
    from corridors import mode_equilibrium

    mode = load_mode_parameters(network.geodata) if mode is None else mode
    check_nest(mode, network.params.theta_of(SEGMENT))
    model = YearModel.build(network, year, tables, **build)
    return mode_equilibrium.solve(network, model, mode)
