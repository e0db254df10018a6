"""Assign a demand matrix to the network and keep the routes it took.

Methods
-------
``shortest``
    All-or-nothing: every OD flow takes its least generalised-cost route.
``logit``
    Path-size logit over the k distinct least-cost routes of each OD pair: demand
    spreads over competing routes, overlapping routes are not double counted.
``ue``, ``sue``
    Capacity-constrained user equilibrium and stochastic user equilibrium, solved by
    :mod:`corridors.equilibrium` on the capacities of ``geodata/``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from corridors._errors import QueryError
from corridors.routing import Route, best_routes, logit_probabilities, path_size

__all__ = ["METHODS", "AssignmentResult", "assign", "load_demand", "route_sets"]

METHODS = ("shortest", "logit", "ue", "sue")
# Bump when the Route summary changes, so cached route sets are not reused.
_ROUTE_CACHE_VERSION = 5


def load_demand(geodata=None):
    """Return the demand table of a geodata folder as a DataFrame.

    Columns: ``origin``, ``destination`` (node ids), ``teu`` (TEU/year), ``year``,
    ``segment``, ``basis`` (assumption keys in ``SOURCES.md``).
    """
    import pandas as pd

    from corridors.network import load_network

    return pd.DataFrame(load_network(geodata).demand_rows)


def _demand_rows(network, demand) -> list[dict]:
    if demand is None:
        return list(network.demand_rows)
    if hasattr(demand, "to_dict"):
        rows = demand.to_dict("records")
    else:
        rows = [dict(r) for r in demand]
    out = []
    for i, row in enumerate(rows):
        for key in ("origin", "destination", "teu"):
            if key not in row:
                raise QueryError(f"demand row {i}: missing field '{key}'")
        network.node(row["origin"])
        network.node(row["destination"])
        try:
            teu = float(row["teu"])
        except (TypeError, ValueError):
            teu = float("nan")
        if not math.isfinite(teu) or teu < 0:
            raise QueryError(
                f"demand row {i} ({row['origin']} -> {row['destination']}): field 'teu' must be a finite number "
                f">= 0 (TEU/year), got {row['teu']!r}"
            )
        out.append({**row, "teu": teu})
    return out


def _cache_name(network, od_pairs: list[tuple[str, str]]) -> str | None:
    from corridors import _cache

    fingerprint = getattr(network, "fingerprint", None)
    if not fingerprint or not _cache.enabled():
        return None
    # Every cost and choice-set parameter shapes the routes; the logit ones do not, but
    # keying on all of them keeps the rule simple.
    key = repr((_ROUTE_CACHE_VERSION, fingerprint, sorted(network.params.as_dict().items()), sorted(od_pairs)))
    return f"routes-{hashlib.sha256(key.encode()).hexdigest()[:32]}.pickle"


def route_sets(
    network, od_pairs: Iterable[tuple[str, str]], *, strict: bool = True
) -> dict[tuple[str, str], list[Route]]:
    """Return the choice set (k distinct least-cost routes) of every OD pair.

    Route sets of an unchanged shipped network are cached on disk next to the layer
    cache, keyed by the geodata fingerprint and the cost parameters.

    Parameters
    ----------
    strict : bool
        If True an OD pair with no route raises :class:`QueryError`; otherwise it maps
        to an empty list.
    """
    pairs = sorted(set(od_pairs))
    from corridors import _cache

    # Within a process, a network keeps the choice sets it has built (calibration, scenario
    # comparisons and maps assign the same network several times).
    memo = network.__dict__.setdefault("_route_memo", {})
    if all(p in memo for p in pairs) and (not strict or all(memo[p] for p in pairs)):
        return {p: memo[p] for p in pairs}
    name = _cache_name(network, pairs)
    if name is not None:
        cached = _cache.read(name)
        if isinstance(cached, dict) and (not strict or all(cached.get(p) for p in pairs)):
            memo.update(cached)
            return cached
    sets: dict[tuple[str, str], list[Route]] = {}
    for origin, destination in pairs:
        try:
            sets[(origin, destination)] = best_routes(network, origin, destination)
        except QueryError:
            if strict:
                raise
            sets[(origin, destination)] = []
    if name is not None:
        _cache.write(name, sets)
    memo.update(sets)
    return sets


_PATH_COLUMNS = (
    "origin",
    "destination",
    "segment",
    "teu",
    "share_of_od",
    "gen_cost_usd",
    "money_usd",
    "time_h",
    "days",
    "length_km",
    "corridor",
    "route",
    "gateway",
    "countries",
    "link_ids",
    "node_ids",
)


@dataclass(frozen=True)
class RouteFlow:
    """TEU/year assigned to one route of one demand row."""

    route: Route
    teu: float
    share_of_od: float
    segment: str | None = None


@dataclass(frozen=True)
class AssignmentResult:
    """The outcome of :func:`assign`.

    Attributes
    ----------
    network : Network
    method : str
    flows : tuple of RouteFlow
        Every route used, with its TEU/year and its share of its OD flow.
    stranded : tuple of dict
        Demand rows that found no route (only with ``on_unreachable="strand"``).
    convergence : tuple of dict
        Iteration records for the equilibrium methods (empty otherwise).
    """

    network: Any = field(repr=False)
    method: str
    flows: tuple[RouteFlow, ...] = field(repr=False)
    stranded: tuple[dict, ...] = ()
    convergence: tuple[dict, ...] = field(default=(), repr=False)

    @property
    def total_teu(self) -> float:
        """Assigned TEU/year (demand less stranded)."""
        return sum(f.teu for f in self.flows)

    @property
    def stranded_teu(self) -> float:
        """TEU/year of demand with no route."""
        return sum(r["teu"] for r in self.stranded)

    @functools.cached_property
    def paths(self):
        """DataFrame, one row per (OD, route) used; see docs/DESIGN.md for columns."""
        import pandas as pd

        rows = []
        for flow in self.flows:
            r = flow.route
            origin_country = self.network.node_records[r.origin]["country"]
            rows.append(
                dict(
                    origin=r.origin,
                    destination=r.destination,
                    segment=flow.segment,
                    teu=flow.teu,
                    share_of_od=flow.share_of_od,
                    gen_cost_usd=r.gen_cost_usd,
                    money_usd=r.money_usd,
                    time_h=r.time_h,
                    days=r.days,
                    length_km=r.length_km,
                    corridor=r.corridor,
                    route=r.route,
                    gateway=r.gateway({origin_country}),
                    countries=r.countries,
                    link_ids=r.link_ids,
                    node_ids=r.node_ids,
                )
            )
        return pd.DataFrame(rows, columns=_PATH_COLUMNS)

    @functools.cached_property
    def _link_teu(self) -> dict[str, list[float]]:
        teu: dict[str, list[float]] = {}
        for flow in self.flows:
            for u, v in flow.route.edges:
                data = self.network.graph.edges[u, v]
                if data["kind"] == "link":
                    pair = teu.setdefault(data["link_id"], [0.0, 0.0])
                    pair[0 if data["direction"] == "ab" else 1] += flow.teu
        return teu

    @functools.cached_property
    def link_flows(self):
        """GeoDataFrame of every link with ``teu_ab``, ``teu_ba``, ``teu`` (TEU/year) and
        ``utilisation`` (busier direction / capacity; NaN where capacity is not set)."""
        frame = self.network.links.copy()
        ab = [self._link_teu.get(i, (0.0, 0.0))[0] for i in frame.index]
        ba = [self._link_teu.get(i, (0.0, 0.0))[1] for i in frame.index]
        frame["teu_ab"] = ab
        frame["teu_ba"] = ba
        frame["teu"] = frame["teu_ab"] + frame["teu_ba"]
        capacity = frame["capacity_teu"].astype(float)
        frame["utilisation"] = frame[["teu_ab", "teu_ba"]].max(axis=1) / capacity
        return frame

    @functools.cached_property
    def node_flows(self):
        """DataFrame of TEU/year passing each node (``teu``), indexed by node id."""
        import pandas as pd

        teu = dict.fromkeys(self.network.node_records, 0.0)
        for flow in self.flows:
            for node_id in flow.route.node_ids:
                teu[node_id] += flow.teu
        frame = pd.DataFrame({"teu": teu})
        frame["country"] = [self.network.node_records[n]["country"] for n in frame.index]
        frame["kind"] = [self.network.node_records[n]["kind"] for n in frame.index]
        return frame

    def share_through(self, through: str, *, from_: str = "CHN", to: str = "EU"):
        """Share of the TEU from ``from_`` to ``to`` whose route passes through ``through``.

        Parameters
        ----------
        through, from_, to : str
            ISO3 codes or region names (``EU``, ``EUROPE``, ``CENTRAL_ASIA`` ...).

        Returns
        -------
        ShareResult
        """
        from corridors.share import share_through

        return share_through(self, through, from_=from_, to=to)


def _equilibrium_flows(network, rows: list[dict], method: str):
    """Solve UE (bi-conjugate Frank-Wolfe) or SUE (path-size logit, averaging) on the capacities.

    Link (rail, road, ferry) capacities congest by BPR; node gates and transfers with a
    capacity (border posts, gauge-change yards, ports) by Akcelik's queueing delay.  Time
    is converted to USD with the value of time; money is a flow-independent cost.
    """
    import numpy as np

    from corridors import equilibrium as eq
    from corridors.routing import route_from_path

    graph, params = network.graph, network.params
    vot = params.value_of_time_usd_per_teu_h
    nodes = list(graph.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    edges = list(graph.edges(data=True))
    capacity = np.array([d["capacity_teu"] or 0.0 for _, _, d in edges], dtype=float)
    is_gate = np.array([d["kind"] in ("dwell", "transfer") for _, _, d in edges])
    congests = capacity > 0
    queue = congests & is_gate
    arrays = eq.LinkArrays(
        tail=[index[u] for u, _, _ in edges],
        head=[index[v] for _, v, _ in edges],
        free_cost=[vot * d["time_h"] for _, _, d in edges],
        capacity=capacity,
        alpha=np.where(queue, vot * params.queue_period_h / 4.0, np.where(congests, params.bpr_alpha, 0.0)),
        beta=np.where(queue, params.queue_beta, params.bpr_beta),
        vdf=np.where(queue, eq.QUEUE, eq.BPR),
        n_nodes=len(nodes),
        no_through=[n[0] in ("o", "d") and len(n) == 2 for n in nodes],
    )
    fixed = np.array([d["money_usd"] + d.get("penalty_usd", 0.0) for _, _, d in edges], dtype=float)
    records: list[dict] = []

    def keep(record) -> None:
        records.append(dataclasses.asdict(record))

    if method == "sue":
        return _sue_over_choice_sets(network, rows, arrays, fixed, edges, keep), records
    rows_of: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        rows_of.setdefault((row["origin"], row["destination"]), []).append(row)
    pairs = sorted(rows_of)
    origins = [index[("o", o)] for o, _ in pairs]
    destinations = [index[("d", d)] for _, d in pairs]
    demand = [sum(row["teu"] for row in rows_of[p]) for p in pairs]
    solved = eq.user_equilibrium(
        arrays,
        origins,
        destinations,
        demand,
        algorithm="bfw",
        gap=1e-5,
        max_iter=300,
        fixed_cost=fixed,
        track_paths=True,
        callback=keep,
    )
    flows: list[RouteFlow] = []
    summaries: dict[tuple[int, ...], Route] = {}
    for (origin, destination), o, d in zip(pairs, origins, destinations, strict=True):
        for used in eq.paths_for(solved, o, d, min_share=1e-6):
            route = summaries.get(used.links)
            if route is None:
                path = [nodes[i] for i in used.nodes]
                route = summaries[used.links] = route_from_path(graph, path, network.node_records, network.link_records)
            for row in rows_of[(origin, destination)]:
                flows.append(RouteFlow(route, row["teu"] * used.share, used.share, row.get("segment")))
    return flows, records


#: Self-regulated averaging (Liu, Ban, Ran and Mirchandani 2009): the step 1/eta shrinks
#: fast while the residual grows and slowly while it falls, which converges far faster
#: than the method of successive averages' 1/k.
SRA_GROW, SRA_SHRINK = 1.8, 0.3


def sra_step(eta, change, previous):
    """Next step denominator of self-regulated averaging (works on floats and arrays)."""
    import numpy as np

    return eta + np.where(change >= previous, SRA_GROW, SRA_SHRINK)


def _sue_over_choice_sets(network, rows, arrays, fixed, edges, keep, *, gap=1e-4, max_iter=500):
    """Stochastic user equilibrium: path-size logit over each OD pair's choice set, with
    link costs from the volume-delay functions, solved by self-regulated averaging.

    The choice sets are the k distinct least-cost routes at free flow (as for ``logit``),
    so with no binding capacity the result equals the ``logit`` assignment.
    """
    import time as _time

    import numpy as np
    from scipy.sparse import csr_matrix

    from corridors import equilibrium as eq

    params = network.params
    edge_index = {(u, v): i for i, (u, v, _) in enumerate(edges)}
    sets = route_sets(network, {(r["origin"], r["destination"]) for r in rows})
    routes: list[Route] = []
    od_of_route: list[int] = []
    sizes: list[float] = []
    demand: list[float] = []
    for row_no, row in enumerate(rows):
        choice = sets[(row["origin"], row["destination"])]
        routes += choice
        od_of_route += [row_no] * len(choice)
        sizes += path_size(choice)
        demand.append(row["teu"])
    od_of_route_arr = np.array(od_of_route)
    demand_arr = np.array(demand)
    cols = [edge_index[e] for r in routes for e in r.edges]
    ptr = np.cumsum([0] + [len(r.edges) for r in routes])
    incidence = csr_matrix((np.ones(len(cols)), cols, ptr), shape=(len(routes), len(edges)))
    log_size = np.log(np.maximum(sizes, 1e-12))

    def logit(route_cost):
        utility = -params.logit_theta_per_usd * route_cost + params.path_size_beta * log_size
        top = np.full(len(rows), -np.inf)
        np.maximum.at(top, od_of_route_arr, utility)
        weight = np.exp(utility - top[od_of_route_arr])
        total = np.bincount(od_of_route_arr, weights=weight, minlength=len(rows))
        return demand_arr[od_of_route_arr] * weight / total[od_of_route_arr]

    start = _time.perf_counter()
    h = logit(incidence @ eq.link_cost(arrays, np.zeros(len(edges)), fixed))
    eta, previous = 1.0, float("inf")
    for iteration in range(1, max_iter + 1):
        x = incidence.T @ h
        cost = eq.link_cost(arrays, x, fixed)
        y = logit(incidence @ cost)
        change = float(np.abs(y - h).sum() / max(h.sum(), 1e-12))
        eta = sra_step(eta, change, previous) if iteration > 1 else 1.0
        previous = change
        keep(
            eq.IterationRecord(
                iteration, float("nan"), eq.beckmann(arrays, x, fixed), _time.perf_counter() - start, 1.0 / eta,
                change,
            )
        )
        if change < gap:
            break
        h = h + (y - h) / eta
    flows = []
    for route, row_no, teu in zip(routes, od_of_route, h, strict=True):
        row = rows[row_no]
        if teu > 0:
            flows.append(RouteFlow(route, float(teu), float(teu) / row["teu"], row.get("segment")))
    return flows


def assign(network, demand=None, *, method: str = "logit", on_unreachable: str = "raise") -> AssignmentResult:
    """Assign a demand matrix to the network.

    Parameters
    ----------
    network : Network
        From :func:`corridors.load_network`.
    demand : DataFrame or iterable of dict, optional
        Rows with ``origin``, ``destination`` (node ids) and ``teu`` (TEU/year);
        defaults to the network's ``demand.csv``.
    method : {"logit", "shortest", "ue", "sue"}
        Route choice (see the module docstring).
    on_unreachable : {"raise", "strand"}
        What to do with demand that has no route: raise :class:`QueryError`, or keep it
        aside in ``result.stranded`` (scenarios that close borders use this).

    Returns
    -------
    AssignmentResult

    Examples
    --------
    >>> import corridors
    >>> result = corridors.assign(corridors.load_network(), method="shortest")
    >>> 0.0 <= result.share_through("KAZ", from_="CHN", to="EU").share <= 1.0
    True
    """
    if method not in METHODS:
        raise QueryError(f"unknown method '{method}'; expected one of {', '.join(METHODS)}")
    if on_unreachable not in ("raise", "strand"):
        raise QueryError(f"on_unreachable must be 'raise' or 'strand', got {on_unreachable!r}")
    rows = _demand_rows(network, demand)
    pairs = {(r["origin"], r["destination"]) for r in rows if r["teu"] > 0}
    if method in ("ue", "sue"):
        import networkx as nx

        sets = {p: [None] if nx.has_path(network.graph, ("o", p[0]), ("d", p[1])) else [] for p in pairs}
    else:
        sets = route_sets(network, pairs, strict=False)
    stranded = []
    usable = []
    for row in rows:
        if row["teu"] <= 0:
            continue
        if not sets.get((row["origin"], row["destination"])):
            if on_unreachable == "raise":
                raise QueryError(
                    f"demand {row['origin']} -> {row['destination']} ({row['teu']:g} TEU/year): destination "
                    f"'{row['destination']}' is unreachable from '{row['origin']}'"
                )
            stranded.append(dict(row))
        else:
            usable.append(row)
    if method in ("ue", "sue"):
        flows, convergence = _equilibrium_flows(network, usable, method)
        return AssignmentResult(network, method, tuple(flows), tuple(stranded), tuple(convergence))
    params = network.params
    flows: list[RouteFlow] = []
    for row in usable:
        routes = sets[(row["origin"], row["destination"])]
        if method == "shortest" or len(routes) == 1:
            probabilities = [1.0] + [0.0] * (len(routes) - 1)
        else:
            probabilities = logit_probabilities(
                [r.gen_cost_usd for r in routes],
                path_size(routes),
                theta=params.logit_theta_per_usd,
                beta=params.path_size_beta,
            )
        for route, p in zip(routes, probabilities, strict=True):
            if p > 0:
                flows.append(RouteFlow(route, row["teu"] * p, p, row.get("segment")))
    return AssignmentResult(network, method, tuple(flows), tuple(stranded))
