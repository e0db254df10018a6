"""Mode choice between sea and land, nested above the land route choice (issue 11).

For every China↔EU27 demand row of ``demand.csv`` (segment ``eu``, European end in the EU27) and every cargo class
of ``geodata/years/cargo_classes.csv`` (time-sensitive and standard, each with its TEU
share and value of time):

land
    The composite cost of the land nest is the logsum of the path-size logit over the
    row's land choice set (:func:`corridors.assignment.route_sets`, the kernel's
    :func:`corridors.kernel.logit_logsums` at the route scale ``logit_theta_per_usd``),
    with the class's value of time, the rail charges lowered by the year's CR Express subsidy
    cap (A418) and, in years with ``russia_transit_term_active``, the Russia-transit term
    (USD/TEU) on routes crossing Russia or Belarus (A417).
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

__all__ = [
    "DIRECTION_OF",
    "ModeParameters",
    "ModeSplit",
    "load_mode_parameters",
    "year_network",
    "mode_split",
    "assign_year",
    "YearModel",
    "russia_term_active",
    "scenario_method",
]

#: demand.csv ``direction`` -> year-table direction.
DIRECTION_OF = {"from_china": "china_europe", "to_china": "europe_china"}
#: Countries whose crossing carries the Russia-transit term for EU cargo (A417).
RUSSIA_TRANSIT = frozenset({"RUS", "BLR"})
#: The demand segment the mode choice applies to (China↔EU27).
SEGMENT = "eu"


@dataclass(frozen=True)
class ModeParameters:
    """Parameters of the mode choice (``[mode_choice]`` of ``parameters.toml``).

    Attributes
    ----------
    mode_scale_per_usd : float
        Logit scale ``mu`` of the sea/land choice, per USD of composite cost per TEU; must
        not exceed the route scale ``logit_theta_per_usd`` (nest consistency).
    land_constant_usd : float
        USD per TEU added to the land composite cost (negative: land preferred beyond its cost).
    russia_transit_usd : float
        USD per TEU added to EU land routes crossing Russia or Belarus in the years the
        Russia-transit term is active (2022 on).
    """

    mode_scale_per_usd: float = 0.0005
    land_constant_usd: float = 0.0
    russia_transit_usd: float = 500.0

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
    from corridors.network import load_network
    from corridors.years import load_year_tables

    load_year_tables(geodata)._check_year(int(year))
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
    route_russia: np.ndarray = field(repr=False)  # (routes,) 1.0 if RUS or BLR is crossed
    land_rows: np.ndarray = field(repr=False)  # row index of every land group
    arrays: Any = field(repr=False)
    russia_active: bool = False
    inputs: dict = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, network, year: int, tables=None, *, passages: dict[str, float] | None = None,
              russia_active: bool | None = None) -> YearModel:
        """Precompute the costs of ``year`` on ``network`` (its ``params.year`` should be ``year``).

        ``passages`` replaces the year's Suez/Cape weights (a scenario closing Suez gives
        ``{"suez": 0, "cape": 1}``); ``russia_active`` the year's Russia-transit flag.  A
        scenario network's ``[sea]`` table (``suez``, ``russia_transit_term``) sets them too.
        """
        from corridors.assignment import choice_arrays, route_sets
        from corridors.years import load_year_tables

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
        sets = route_sets(network, {(r["origin"], r["destination"]) for r in rows}, strict=False)
        has_land = np.array([bool(sets.get((r["origin"], r["destination"]))) for r in rows], dtype=bool)
        land_rows = np.flatnonzero(has_land)
        arrays = choice_arrays(network, [sets[(rows[i]["origin"], rows[i]["destination"])] for i in land_rows])
        money = np.array([rt.money_usd for rt in arrays.routes], dtype=float)
        time = np.array([rt.time_h for rt in arrays.routes], dtype=float)
        gen = np.array([rt.gen_cost_usd for rt in arrays.routes], dtype=float)
        penalty = gen - money - params.value_of_time_usd_per_teu_h * time
        russia = np.array([bool(RUSSIA_TRANSIT & set(rt.countries)) for rt in arrays.routes], dtype=float)
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
        active = russia_term_active(network, year, tables) if russia_active is None else russia_active
        return cls(year, network, rows, other, names, share, vot, sea, has_land, money, time, penalty, russia,
                   land_rows, arrays, active, inputs)

    def land_costs(self, mode: ModeParameters, extra_usd=None) -> np.ndarray:
        """Composite cost of the land nest, ``(rows, classes)`` USD/TEU (inf: no land route).

        ``extra_usd`` (per route of the choice sets) is added to the route costs (the
        congestion of :func:`assign_year_congested`)."""
        from corridors import kernel

        params = self.network.params
        out = np.full(self.class_vot.shape, np.inf)
        if not self.land_rows.size:
            return out
        term = mode.russia_transit_usd * self.route_russia if self.russia_active else 0.0
        if extra_usd is not None:
            term = term + np.asarray(extra_usd, dtype=float)
        a = self.arrays
        vot = self.class_vot[self.land_rows][:, :, None]  # (groups, classes, 1)
        # (classes, routes): each route priced with its row's class values of time
        cost = (self.route_money + self.route_penalty + term)[None, :] + (
            vot[a.group, :, 0].T * self.route_time[None, :])
        sums = kernel.logit_logsums(cost, a.log_path_size, np.full(cost.shape[0], params.logit_theta_per_usd),
                                    np.full(cost.shape[0], params.path_size_beta), a.starts, a.group)
        out[self.land_rows] = sums.T
        return out

    def split(self, mode: ModeParameters, extra_usd=None) -> ModeSplit:
        """The mode split of every row and class under ``mode`` (nest checked)."""
        from scipy.special import expit

        check_nest(mode, self.network.params.logit_theta_per_usd)
        land = self.land_costs(mode, extra_usd)
        with np.errstate(invalid="ignore"):
            p_land = np.where(np.isfinite(land), expit(-mode.mode_scale_per_usd * (
                land + mode.land_constant_usd - self.sea_cost)), 0.0)
        teu_all = np.array([r["teu_all"] for r in self.rows], dtype=float)
        land_teu = (self.class_share * p_land).sum(axis=1) * teu_all
        return ModeSplit(self.year, self.rows, self.other_rows, self.class_names, p_land, land_teu,
                         teu_all - land_teu, land, self.sea_cost.copy())


def _sea_spec(network):
    """The ``[sea]`` table of the scenario applied to ``network`` (None without one)."""
    return getattr(getattr(getattr(network, "scenario", None), "spec", None), "sea", None)


def russia_term_active(network, year: int, tables=None) -> bool:
    """Whether the Russia-transit term (A417) applies to ``network`` in ``year``.

    The year's ``russia_transit_term_active`` input (2022 on), unless the scenario applied
    to ``network`` sets ``[sea] russia_transit_term`` (``"off"``: ``eu-sanctions-lifted``).
    Every cost that carries the term (the land nest of the mode choice) asks here, so the
    scenario's switch reaches all of them.
    """
    sea_spec = _sea_spec(network)
    if sea_spec is not None and sea_spec.russia_transit_term is not None:
        return sea_spec.russia_transit_term == "on"
    from corridors.years import load_year_tables

    tables = load_year_tables(network.geodata) if tables is None else tables
    return bool(tables.inputs(int(year))["russia_transit_term_active"])


def scenario_method(scenario, method: str | None = None) -> str:
    """Route-choice method of a scenario run in a model year: ``method`` if given, else the
    scenario's ``method``, else ``sue``.

    In a model year the sea takes what the land routes cannot carry, so a scenario is
    compared in the equilibrium that honours the declared capacities
    (:func:`assign_year_congested`) unless asked otherwise.
    """
    return method or getattr(scenario, "method", None) or "sue"


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
    check_nest(mode, network.params.logit_theta_per_usd)
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

#: Bounds of the fitted mode-choice parameters (A422; the Russia-transit term: A417).
FIT_BOUNDS = {"land_constant_usd": (-1e5, 1e5), "russia_transit_usd": (0.0, 3000.0)}


def observed_land(tables, year: int) -> dict[str, float]:
    """The land TEU of ``year`` by direction (``demand_all_modes.csv`` mode ``land``)."""
    demand = tables.demand(year)
    return {d: demand[(d, "land")] for d in DIRECTION_OF.values()}


def fit_mode_parameters(models: dict[int, YearModel], tables, start: ModeParameters | None = None) -> tuple[
        ModeParameters, dict[str, Any]]:
    """Fit ``mu``, the land constant and the Russia-transit term to the land TEU of the fitted years.

    Only :data:`corridors.years.FITTED_YEARS` (2019 and 2024) may be passed: every other
    year is a prediction (raises :class:`LayerError` otherwise).  Least squares on the log
    of the land TEU by direction; ``mu`` is bounded by the route scale (nest consistency).

    Returns
    -------
    (ModeParameters, dict)
        The fitted parameters and a report (``cost``, ``residuals`` by year and direction).
    """
    from scipy.optimize import least_squares

    from corridors.years import FITTED_YEARS

    extra = sorted(set(models) - set(FITTED_YEARS))
    if extra:
        raise LayerError(f"mode choice: years {extra} are predictions; fit on {list(FITTED_YEARS)} only")
    start = ModeParameters() if start is None else start
    theta = min(m.network.params.logit_theta_per_usd for m in models.values())
    targets = [(y, d, math.log(v)) for y in sorted(models) for d, v in observed_land(tables, y).items()]
    scale = np.array([1e-4, 1e3, 1e3])

    def params_of(x) -> ModeParameters:
        mu, k, r = x * scale
        return ModeParameters(float(mu), float(k), float(r))

    def residuals(x):
        p = params_of(x)
        splits = {y: m.split(p) for y, m in models.items()}
        return np.array([math.log(max(splits[y].by_mode(d)["land"], 1.0)) - t for y, d, t in targets])

    lo = np.array([theta * 1e-3, FIT_BOUNDS["land_constant_usd"][0], FIT_BOUNDS["russia_transit_usd"][0]]) / scale
    hi = np.array([theta, FIT_BOUNDS["land_constant_usd"][1], FIT_BOUNDS["russia_transit_usd"][1]]) / scale
    x0 = np.clip(np.array([min(start.mode_scale_per_usd, theta), start.land_constant_usd, start.russia_transit_usd])
                 / scale, lo, hi)
    solved = least_squares(residuals, x0, bounds=(lo, hi), x_scale=1.0)
    fitted = params_of(solved.x)
    res = residuals(solved.x)
    report = {"cost": float(solved.cost), "years": sorted(models),
              "residuals": {f"{y} {d}": float(r) for (y, d, _), r in zip(targets, res, strict=True)}}
    return fitted, report


def scenario_year(network, scenario, year: int, *, method: str | None = None, mode: ModeParameters | None = None,
                  tables=None, through: str = "KAZ", from_: str = "CHN", to: str = "EU") -> dict[str, Any]:
    """A scenario against the baseline in a model year, both with the mode choice.

    ``network`` is the year's baseline (:func:`year_network`); the scenario is applied to it
    (its ``[sea]`` table changes the year inputs).  Demand the scenario leaves without a land
    route goes by sea, so nothing is stranded.  ``method``: see :func:`scenario_method`
    (default ``sue``, where the declared capacities are honoured: :func:`assign_year_congested`).

    Returns
    -------
    dict
        ``year``, ``name`` (the scenario), ``method``, and for ``baseline`` and ``scenario``:
        ``by_mode`` (both directions), ``share`` (of the land TEU ``from_`` -> ``to`` through
        ``through``), ``land_teu`` of that query, ``stranded_teu``, ``eu_land_via_russia_teu``
        (China↔EU27 land TEU through Russia or Belarus), ``max_ferry_utilisation`` and
        ``utilisation`` (load / capacity of every declared capacity,
        ``link:<id>:<ab|ba>`` or ``node:<id>``); ``change`` (relative change of China->EU27
        land TEU); ``diversion``: the China↔EU27 land TEU the scenario moves off Russia and
        Belarus (``off_russia_teu``), how many of all China↔EU27 TEU go to sea instead
        (``to_sea_teu``, ``to_sea_share`` of those moved) and the largest utilisation of a
        capacity whose load the scenario raised (``max_raised_utilisation``).
    """
    from corridors.mode_equilibrium import capacity_utilisation, eu_land_via_russia
    from corridors.scenarios import apply_scenario, load_scenario

    scenario = load_scenario(scenario, geodata=network.geodata)
    mode = load_mode_parameters(network.geodata) if mode is None else mode
    method = scenario_method(scenario, method)
    out: dict[str, Any] = {"year": int(year), "name": scenario.name, "method": method}
    for key, net in (("baseline", network), ("scenario", apply_scenario(network, scenario))):
        result, split = assign_year(net, year, method=method, mode=mode, tables=tables, on_unreachable="strand")
        share = result.share_through(through, from_=from_, to=to)
        ferries = result.link_flows
        ferries = ferries[(ferries["mode"] == "ferry") & ferries["capacity_teu"].notna()]
        out[key] = {"by_mode": {d: split.by_mode(d) for d in DIRECTION_OF.values()}, "share": share.share,
                    "land_teu": share.total_teu, "stranded_teu": result.stranded_teu,
                    "eu_land_via_russia_teu": eu_land_via_russia(result),
                    "max_ferry_utilisation": float(ferries["utilisation"].max()) if len(ferries) else 0.0,
                    "utilisation": capacity_utilisation(result)}
    before = out["baseline"]["by_mode"]["china_europe"]["land"]
    after = out["scenario"]["by_mode"]["china_europe"]["land"]
    out["change"] = after / before - 1.0 if before > 0 else math.nan
    base, scen = out["baseline"], out["scenario"]
    off = base["eu_land_via_russia_teu"] - scen["eu_land_via_russia_teu"]
    to_sea = sum(scen["by_mode"][d]["sea"] - base["by_mode"][d]["sea"] for d in DIRECTION_OF.values())
    raised = [u for name, u in scen["utilisation"].items() if u > base["utilisation"].get(name, 0.0) + 1e-9]
    out["diversion"] = {"off_russia_teu": off, "to_sea_teu": to_sea,
                        "to_sea_share": to_sea / off if off > 0 else math.nan,
                        "max_raised_utilisation": max(raised, default=0.0)}
    return out


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
    check_nest(mode, network.params.logit_theta_per_usd)
    model = YearModel.build(network, year, tables, **build)
    return mode_equilibrium.solve(network, model, mode)
