"""Assign a demand matrix to the network and keep the routes it took.

Methods
-------
``shortest``
    All-or-nothing: every OD flow takes its least generalised-cost route.
``logit``
    Path-size logit over the complete choice set of each OD pair (every distinct
    combination of gateways within the detour limit, :func:`corridors.routing.best_routes`):
    demand spreads over competing routes, overlapping routes are not double counted.
``ue``
    Capacity-constrained user equilibrium by bi-conjugate Frank-Wolfe on the whole graph
    (:mod:`corridors.class_ue` on the engine of :mod:`corridors.equilibrium`).
``sue``
    Stochastic user equilibrium: path-size logit over the same choice sets as ``logit``,
    with congestion, solved by self-regulated averaging (:func:`corridors.kernel.route_equilibrium`).

Costs, volume-delay functions and choice probabilities come from :mod:`corridors.kernel`.
OD-segment closures of the network (``network.od_closures``) and the demand's ``mode``
(rail demand uses rail links, rail ferries and the rail layers only,
:data:`corridors.network.MODE_LINKS`) are honoured by every method: the choice sets are
generated without the closed edges, and ``ue`` gives each class of OD pairs (closures and
mode) its own cost mask.  Demand with no route is reported or stranded the same way by
every method (``on_unreachable``).
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
from corridors.routing import Route, best_routes, path_size

__all__ = ["METHODS", "AssignmentResult", "RouteFlow", "assign", "load_demand", "route_sets", "edge_arrays",
           "ChoiceArrays", "choice_arrays", "route_key"]

METHODS = ("shortest", "logit", "ue", "sue")
# Bump when the Route summary or the cached entry's layout changes, so cached route sets
# are not reused.
_ROUTE_CACHE_VERSION = 7


def load_demand(geodata=None):
    """Return the demand table of a geodata folder as a DataFrame.

    Columns: ``origin``, ``destination`` (node ids), ``teu`` (TEU/year), ``year``,
    ``segment``, ``basis`` (assumption keys in ``SOURCES.md``).
    """
    import pandas as pd

    from corridors.network import load_network

    return pd.DataFrame(load_network(geodata).demand_rows)


def route_key(row: dict) -> tuple:
    """The choice-set key of a demand row: ``(origin, destination)``, or
    ``(origin, destination, mode)`` when the row's ``mode`` restricts the edges it may use
    (:func:`corridors.network.route_mode`).  Rows with equal keys share a choice set."""
    from corridors.network import route_mode

    mode = route_mode(row.get("mode"))
    return (row["origin"], row["destination"]) if mode is None else (row["origin"], row["destination"], mode)


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

    fingerprint = network.fingerprint
    if not fingerprint or not _cache.enabled():
        return None
    # Every cost and choice-set parameter shapes the routes; the logit ones do not, but
    # keying on all of them keeps the rule simple (the segment scales and constants, which
    # calibration rewrites, are left out: they never change a route).
    params = sorted((k, v) for k, v in network.params.as_dict().items() if k != "segments")
    key = repr((_ROUTE_CACHE_VERSION, fingerprint, params, sorted(od_pairs)))
    return f"routes-{hashlib.sha256(key.encode()).hexdigest()[:32]}.pickle"


def route_sets(
    network, od_pairs: Iterable[tuple], *, strict: bool = True
) -> dict[tuple, list[Route]]:
    """Return the choice set (:func:`corridors.routing.best_routes`) of every OD pair.

    Route sets of an unchanged shipped network are cached on disk next to the layer
    cache, keyed by the geodata fingerprint and the cost parameters.

    Parameters
    ----------
    od_pairs : iterable of tuple
        ``(origin, destination)`` or ``(origin, destination, mode)`` keys
        (:func:`route_key` of the demand rows); the answer is keyed the same way.
    strict : bool
        If True an OD pair with no route raises :class:`QueryError`; otherwise it maps
        to an empty list.
    """
    pairs = sorted(set(od_pairs))
    from corridors import _cache

    # Within a process, a network keeps the choice sets it has built (calibration, scenario
    # comparisons and maps assign the same network several times).
    memo = network.memo.setdefault("routes", {})
    if all(p in memo for p in pairs) and (not strict or all(memo[p] for p in pairs)):
        return {p: memo[p] for p in pairs}
    name = _cache_name(network, pairs)
    if name is not None:
        cached = _unpack_sets(network, _cache.read(name))
        if cached is not None and (not strict or all(cached.get(p) for p in pairs)):
            memo.update(cached)
            return cached
    from corridors._progress import progress_bar

    sets: dict[tuple[str, str], list[Route]] = {}
    # shown only on a terminal and for the first build: later runs read the cache
    for key in progress_bar(pairs, desc="choice sets", unit="OD pair"):
        try:
            sets[key] = best_routes(network, key[0], key[1], mode=key[2] if len(key) > 2 else None)
        except QueryError:
            if strict:
                raise
            sets[key] = []
    if name is not None:
        _cache.write(name, _pack_sets(network, sets))
    memo.update(sets)
    return sets


def _pack_sets(network, sets: dict[tuple, list[Route]]) -> dict[str, Any]:
    """The cache entry of some choice sets: the routes with their path sizes.

    The routes of a network share a few hundred distinct legs and a few thousand graph
    edges among hundreds of thousands of uses; giving every use the same object lets the
    pickle store each once (a quarter of the size, and several times faster to load).
    """
    legs: dict[int, dict] = {}
    edges: dict[tuple, tuple] = {}

    def shared(route: Route) -> Route:
        # routes from route_from_path already share their legs and edge tuples (one object per
        # graph edge); this keeps routes made otherwise compact too, without hashing each leg
        if all(legs.setdefault(id(leg), leg) is leg for leg in route.legs) and all(
                edges.setdefault(e, e) is e for e in route.edges):
            return route
        return dataclasses.replace(route, edges=tuple(edges.setdefault(e, e) for e in route.edges))

    sizes = _path_sizes(network, sets)  # memoised for the sets in hand, which the caller uses next
    return {"sets": {key: [shared(r) for r in choice] for key, choice in sets.items()},
            "path_size": {key: sizes[id(choice)][1] for key, choice in sets.items()}}


def _unpack_sets(network, entry: Any) -> dict[tuple, list[Route]] | None:
    """The choice sets of a cache entry (None if it is not one), their path sizes memoised."""
    if not isinstance(entry, dict) or not isinstance(entry.get("sets"), dict):
        return None
    sets, sizes = entry["sets"], entry.get("path_size") or {}
    memo = network.memo.setdefault("path_size", {})
    for key, choice in sets.items():
        if len(sizes.get(key, ())) == len(choice):
            memo[id(choice)] = (choice, sizes[key])
    return sets


def _path_sizes(network, sets: dict[tuple, list[Route]]) -> dict[int, tuple[list[Route], list[float]]]:
    """Path sizes of every choice set, memoised on the network by the set's identity."""
    memo = network.memo.setdefault("path_size", {})
    for choice in sets.values():
        entry = memo.get(id(choice))
        if entry is None or entry[0] is not choice:
            memo[id(choice)] = (choice, path_size(choice))
    return memo


_PATH_COLUMNS = (
    "origin",
    "destination",
    "segment",
    "direction",
    "service",
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
    direction: str | None = None
    service: str | None = None


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
        """DataFrame, one row per (demand row, route) used; see docs/DESIGN.md for columns.

        ``segment``, ``direction`` and ``service`` are those of the demand row (None where
        the demand has no such column)."""
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
                    direction=flow.direction,
                    service=flow.service,
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

    @functools.cached_property
    def route_flows(self):
        """GeoDataFrame, one row per OD route used, with its TEU/year and LineString.

        Columns: those of :func:`corridors.share.routes_frame` (origin, destination, names,
        corridor, gateway out of the origin's country, countries, days, USD/TEU, km, link
        ids), ``segment``, ``teu`` (TEU/year), ``share_of_od`` (0..1) and ``geometry``
        (joined from the link geometries, EPSG:4326).
        """
        from corridors.share import routes_frame  # noqa: PLC0415

        extra = [{"segment": f.segment, "teu": f.teu, "share_of_od": f.share_of_od} for f in self.flows]
        return routes_frame(self.network, [f.route for f in self.flows], extra)

    def gis_layers(self) -> dict[str, Any]:
        """The assignment as three GIS layers, ready for :func:`corridors._io.write_layers`.

        Returns
        -------
        dict of str -> geopandas.GeoDataFrame
            ``links``: every link with its attributes, ``teu_ab``, ``teu_ba``, ``teu``
            (TEU/year) and ``utilisation``; ``nodes``: every node with ``teu`` (TEU/year
            passing it); ``routes``: one LineString per OD route used (see
            :attr:`route_flows`).  All in EPSG:4326, a plain 0..n-1 index (no ``index``
            column when written), whole-number columns with gaps as nullable integers,
            no list or tuple columns.
        """
        links = self.link_flows.drop(columns=["coords"], errors="ignore")
        nodes = self.network.nodes.copy()
        nodes["teu"] = self.node_flows["teu"].reindex(nodes["id"]).to_numpy()
        return {name: _gis_frame(frame) for name, frame in
                (("links", links), ("nodes", nodes), ("routes", self.route_flows))}

    def __repr__(self) -> str:
        return (
            f"<AssignmentResult {self.method}: {self.total_teu:,.0f} TEU/year on {len(self.flows):,} routes"
            f"{f', {self.stranded_teu:,.0f} TEU/year stranded' if self.stranded else ''}>"
        )

    def _repr_html_(self) -> str:
        from corridors.share import html_card  # noqa: PLC0415

        busiest = self.link_flows.sort_values("teu", ascending=False).head(10)
        busiest = busiest[["from", "to", "corridor", "mode", "teu_ab", "teu_ba", "teu", "utilisation"]]
        lines = [f"method {self.method}: {self.total_teu:,.0f} TEU/year assigned on {len(self.flows):,} routes "
                 f"({self.network.params.year})"]
        if self.stranded:
            lines.append(f"stranded (no route): {self.stranded_teu:,.0f} TEU/year in {len(self.stranded)} rows")
        if self.convergence:
            lines.append(f"{len(self.convergence)} equilibrium iterations")
        return html_card("AssignmentResult", lines, [("busiest links (TEU/year)", busiest)])

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
        from corridors.share import share_through  # noqa: PLC0415  (analysis on a result; see share.py)

        return share_through(self, through, from_=from_, to=to)


def _gis_frame(frame):
    """A GeoDataFrame with field types GIS programs read well (see ``gis_layers``)."""
    import numpy as np

    out = frame.reset_index(drop=True).to_crs("EPSG:4326")
    for column in out.columns:
        if column == out.geometry.name:
            continue
        values = out[column]
        if values.dtype == object:
            present = values.dropna()
            if len(present) and all(isinstance(v, (bool, np.bool_)) for v in present):
                out[column] = values.astype("boolean")
            elif len(present) and any(isinstance(v, (list, tuple, dict, set)) for v in present):
                out[column] = [None if v is None else " ".join(map(str, v)) for v in values]
        elif values.dtype.kind == "f" and values.notna().any():
            finite = values.dropna()
            if (finite == finite.round()).all() and finite.abs().max() < 2**53 and column not in _FLOAT_FIELDS:
                out[column] = values.astype("Int64")
    return out


#: Fields that are measured quantities, kept as floats even when every value is whole.
_FLOAT_FIELDS = frozenset({"teu", "teu_ab", "teu_ba", "utilisation", "share_of_od", "length_km", "time_h",
                           "money_usd", "gen_cost_usd", "days", "speed_kmh", "running_h", "dwell_h",
                           "handling_usd", "transfer_h", "transfer_usd", "tariff_usd", "tariff_usd_per_teu_km",
                           "distance_km", "distance_nm"})


def edge_arrays(network):
    """The network's graph as :class:`corridors.kernel.EdgeArrays` (built once per network)."""
    from corridors import kernel

    if "edge_arrays" not in network.memo:
        network.memo["edge_arrays"] = kernel.edge_arrays(network.graph)
    return network.memo["edge_arrays"]


@dataclass(frozen=True)
class ChoiceArrays:
    """Choice sets of demand groups as flat arrays (routes of one group contiguous).

    Attributes
    ----------
    routes : tuple of Route
    starts, group : numpy.ndarray of int
        First route of every group; group of every route.
    log_path_size : numpy.ndarray
        ``ln PS`` of every route within its group.
    incidence : scipy.sparse.csr_matrix
        ``(routes, edges)`` over :func:`edge_arrays` (built on first use).
    """

    routes: tuple
    starts: Any
    group: Any
    log_path_size: Any
    _incidence: Any = field(repr=False)

    @property
    def incidence(self):
        """``(routes, edges)`` incidence matrix (scipy CSR)."""
        return self._incidence.matrix()


def choice_arrays(network, choice_sets: list[list[Route]], *, path_sizes: bool = True) -> ChoiceArrays:
    """Lay out one choice set per group (e.g. per demand row) for the kernel.

    Path sizes are computed once per choice set and network (``path_sizes=False``: all 1).
    """
    import numpy as np

    from corridors import kernel

    index = edge_arrays(network).index
    memo = network.memo.setdefault("path_size", {})
    routes: list[Route] = []
    starts, group, sizes = [], [], []
    for g, choice in enumerate(choice_sets):
        starts.append(len(routes))
        routes += choice
        group += [g] * len(choice)
        if not path_sizes:
            sizes += [1.0] * len(choice)
            continue
        # choice sets are shared lists from route_sets: key by identity, keep the list alive
        entry = memo.get(id(choice))
        if entry is None or entry[0] is not choice:
            entry = memo[id(choice)] = (choice, path_size(choice))
        sizes += entry[1]
    return ChoiceArrays(tuple(routes), np.asarray(starts, dtype=np.intp), np.asarray(group, dtype=np.intp),
                        kernel.log_path_sizes(sizes), _Incidence(routes, index))


class _Incidence:
    """The route x edge incidence matrix, built on first use (``sue`` and sweeps need it)."""

    def __init__(self, routes: list, index: dict):
        self._routes, self._index, self._matrix = routes, index, None

    def matrix(self):
        if self._matrix is None:
            import numpy as np
            from scipy.sparse import csr_matrix

            cols = [self._index[e] for r in self._routes for e in r.edges]
            ptr = np.cumsum([0] + [len(r.edges) for r in self._routes])
            self._matrix = csr_matrix((np.ones(len(cols)), cols, ptr), shape=(len(self._routes), len(self._index)))
        return self._matrix


def segment_choice(params, segments, routes, group, sanctions: tuple[float, bool] = (0.0, False)) -> tuple[Any, Any]:
    """Per-group logit scales and per-route constants of the demand segments.

    Parameters
    ----------
    params : CostParameters
    segments : sequence of str or None
        Demand segment of every group (OD group of the choice arrays).
    routes : sequence of Route
    group : numpy.ndarray
        Group of every route.
    sanctions : (float, bool)
        The sanctions-transit term of the model year, USD per TEU, and whether its Russia part
        is active (:meth:`corridors.network.Network.sanctions_term`).

    Returns
    -------
    group_theta : numpy.ndarray or None
        ``(groups,)`` logit scale per USD; None if no segment has its own (then the kernel
        uses ``logit_theta_per_usd`` everywhere, as before segments).
    asc_usd : numpy.ndarray or None
        ``(routes,)`` USD per TEU: the segment's gateway constants of the nodes the route
        passes, plus the sanctions-transit term; None if there are none.
    """
    import numpy as np

    from corridors.network import sanctioned_route

    group_theta = None
    if params.segments:
        group_theta = np.array([params.theta_of(s) for s in segments], dtype=float)
    consts = {s: params.asc_of(s) for s in set(segments)} if params.segments else {}
    asc = None
    if any(consts.values()):
        asc = np.array([sum(v for n, v in consts[segments[g]].items() if n in r.node_ids)
                        for r, g in zip(routes, group, strict=True)], dtype=float)
    usd, russia_active = sanctions
    if usd:
        term = usd * np.array([sanctioned_route(r, segments[g], russia_active)
                               for r, g in zip(routes, group, strict=True)], dtype=float)
        asc = term if asc is None else asc + term
    return group_theta, asc


def _choice_flows(network, rows: list[dict], sets: dict, method: str) -> tuple[list, list]:
    """``shortest``, ``logit`` and ``sue`` over the choice sets of the demand rows."""
    import numpy as np

    from corridors import kernel

    params = network.params
    arrays = choice_arrays(network, [sets[route_key(r)] for r in rows],
                           path_sizes=method != "shortest")
    teu = np.array([r["teu"] for r in rows], dtype=float)
    group_theta, asc = segment_choice(params, [r.get("segment") for r in rows], arrays.routes, arrays.group,
                                      network.sanctions_term())
    records: list[dict] = []
    if method in ("shortest", "logit"):
        cost = np.array([r.gen_cost_usd for r in arrays.routes], dtype=float)
        shares = kernel.choice_shares(method, cost, arrays.log_path_size, params.logit_theta_per_usd,
                                      params.path_size_beta, arrays.starts, arrays.group, group_theta=group_theta,
                                      asc_usd=asc)
        flows = teu[arrays.group] * shares
    else:
        arrays, flows, records, _ = _sue_solve(network, rows, sets, arrays, teu)
    out = []
    for route, g, f, p in zip(arrays.routes, arrays.group, flows, flows / teu[arrays.group], strict=True):
        if f > 0:
            row = rows[g]
            out.append(RouteFlow(route, float(f), float(p), row.get("segment"), row.get("direction"),
                                 row.get("service")))
    return out, records


#: Rounds of route-set growth in ``sue``: each adds the cheapest route at the congested costs.
_SUE_ROUNDS = 8


def _sue_solve(network, rows: list[dict], sets: dict, arrays: ChoiceArrays, teu):
    """Stochastic user equilibrium of the demand ``rows`` over their choice sets, grown
    until no declared capacity is overloaded.

    Returns
    -------
    tuple
        ``(arrays, route flows, records, sets)``: the final :class:`ChoiceArrays`, TEU/year
        per route, the iteration records of the last solve and the grown choice sets
        (keyed by :func:`route_key`).
    """
    import time

    import numpy as np

    from corridors import kernel

    params = network.params
    edges = edge_arrays(network)
    vot = params.value_of_time_usd_per_teu_h
    alpha, beta, queue = kernel.vdf_parameters(edges.gate, edges.capacity, vot, params)
    barrier = kernel.vdf_barrier(edges.barrier_mask, vot, params).reshape(-1)
    fixed = edges.money_usd + kernel.penalties(edges.border, edges.transfer, params.border_penalty_usd,
                                               params.transfer_penalty_usd)
    segments = [r.get("segment") for r in rows]
    sets = dict(sets)
    start = time.perf_counter()
    for _ in range(_SUE_ROUNDS):
        group_theta, asc = segment_choice(params, segments, arrays.routes, arrays.group, network.sanctions_term())
        solved = kernel.route_equilibrium(
            arrays.incidence, fixed[None, :], (vot * edges.time_h)[None, :], edges.capacity[None, :], alpha,
            beta, queue, teu[None, :], arrays.starts, arrays.group, arrays.log_path_size,
            params.logit_theta_per_usd, params.path_size_beta, choice="logit", history=True,
            group_theta=group_theta, asc_usd=asc, barrier=barrier, cap_group=edges.group)
        flows = solved.flows[0]
        # A choice set without a route around a full gateway cannot respect its capacity:
        # add every OD pair's cheapest route at the congested costs and solve again.
        x = np.asarray(arrays.incidence.T @ flows).ravel()
        load = kernel.group_load(x, edges.group)[0]
        if not np.any((barrier > 0) & (load > edges.capacity)):
            break
        cost = fixed + kernel.vdf_cost(x, vot * edges.time_h, edges.capacity, alpha[0], beta[0], queue[0],
                                       barrier, edges.group)
        if not _add_cheapest_routes(network, sets, cost):
            break
        arrays = choice_arrays(network, [sets[route_key(r)] for r in rows])
    seconds = time.perf_counter() - start
    records = [dict(iteration=r["iteration"], relative_gap=math.nan, beckmann=r["beckmann"], seconds=seconds,
                    step=r["step"], flow_change=r["flow_change"]) for r in solved.history]
    return arrays, flows, records, sets


def sue_choice_sets(network, rows: list[dict], sets: dict) -> dict:
    """The choice sets ``sue`` ends with for the demand ``rows``.

    ``sets`` (keyed by :func:`route_key`) plus the cheapest routes at congested costs that
    the declared capacities called for.  A sweep over ``sue`` draws compiles these, so that
    a nominal draw is ``assign(method="sue")``'s.
    """
    import numpy as np

    rows = [r for r in rows if r["teu"] > 0 and sets.get(route_key(r))]
    if not rows:
        return dict(sets)
    arrays = choice_arrays(network, [sets[route_key(r)] for r in rows])
    return {**sets, **_sue_solve(network, rows, sets, arrays, np.array([r["teu"] for r in rows], dtype=float))[3]}


def _add_cheapest_routes(network, sets: dict, cost) -> bool:
    """Add to every choice set its OD pair's cheapest route at the edge costs ``cost``.

    ``cost`` is USD/TEU per edge of :func:`edge_arrays`; the OD-segment closures and the
    demand mode of every key (:func:`route_key`) are respected.  Returns True if any route
    was new.
    """
    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    from corridors.network import route_mode
    from corridors.routing import route_from_path

    edges = edge_arrays(network)
    node_index = {n: i for i, n in enumerate(edges.nodes)}
    n = len(edges.nodes)
    # csgraph treats explicit zeros as missing edges: free edges get a negligible cost
    weight = np.maximum(np.asarray(cost, dtype=float), 1e-9)
    by_class: dict[tuple, list[tuple]] = {}
    for key in sets:
        if sets[key]:
            mode = route_mode(key[2]) if len(key) > 2 else None
            by_class.setdefault((network.closures_for(key[0], key[1]), mode), []).append(key)
    added = False
    for (closures, mode), keys in sorted(by_class.items(), key=lambda kv: repr(kv[0])):
        shut = network.closed_edges(closures, mode)
        keep = np.ones(edges.n_edges, dtype=bool)
        if shut:
            keep[[edges.index[e] for e in shut]] = False
        matrix = csr_matrix((weight[keep], (edges.tail[keep], edges.head[keep])), shape=(n, n))
        origins = sorted({k[0] for k in keys})
        _, pred = dijkstra(matrix, directed=True, indices=[node_index[("o", o)] for o in origins],
                           return_predecessors=True)
        row_of = {o: i for i, o in enumerate(origins)}
        for key in sorted(keys):
            src, dst = node_index[("o", key[0])], node_index[("d", key[1])]
            row = pred[row_of[key[0]]]
            if row[dst] < 0:
                continue
            path = [dst]
            while path[-1] != src:
                path.append(int(row[path[-1]]))
            route = route_from_path(network.graph, [edges.nodes[i] for i in reversed(path)], network.node_records,
                                    network.link_records)
            if all(r.edges != route.edges for r in sets[key]):
                sets[key] = [*sets[key], route]
                added = True
    return added


def ue_solve(network, pair_teu: dict[tuple, float], *, time_h=None, money_usd=None, capacity=None,
             params=None, gap: float = 1e-5, max_iter: int = 300, callback=None):
    """Bi-conjugate Frank-Wolfe user equilibrium of OD pairs on the network's graph.

    Every class of OD pairs with the same OD-segment closures and demand mode routes on its
    own cost mask (:mod:`corridors.class_ue`); ``pair_teu`` is keyed by :func:`route_key`.
    ``time_h``, ``money_usd`` and ``capacity`` (per edge of :func:`edge_arrays`) and
    ``params`` replace the network's (a sweep's draw).

    Returns
    -------
    dict
        Key of ``pair_teu`` -> list of ``(edge indices, share)``, largest share first.
    """
    import numpy as np

    from corridors import class_ue, kernel
    from corridors import equilibrium as eq

    edges = edge_arrays(network)
    params = network.params if params is None else params
    time_h = edges.time_h if time_h is None else time_h
    money_usd = edges.money_usd if money_usd is None else money_usd
    capacity = edges.capacity if capacity is None else capacity
    vot = params.value_of_time_usd_per_teu_h
    alpha, beta, queue = kernel.vdf_parameters(edges.gate, capacity, vot, params)
    arrays = eq.LinkArrays(tail=edges.tail, head=edges.head, free_cost=vot * time_h, capacity=capacity, alpha=alpha,
                           beta=beta, vdf=np.where(queue, kernel.QUEUE, kernel.BPR), n_nodes=len(edges.nodes),
                           no_through=edges.zone, group=edges.group,
                           barrier=kernel.vdf_barrier((capacity > 0) & edges.barrier_mask, vot, params))
    fixed = money_usd + kernel.penalties(edges.border, edges.transfer, params.border_penalty_usd,
                                         params.transfer_penalty_usd)
    node_index = {n: i for i, n in enumerate(edges.nodes)}
    by_class: dict[tuple, list[tuple]] = {}
    for pair in sorted(pair_teu):
        mode = pair[2] if len(pair) > 2 else ""
        by_class.setdefault((network.closures_for(pair[0], pair[1]), mode), []).append(pair)
    classes, keys = [], []
    for (closures, mode), pairs in sorted(by_class.items()):
        closed = None
        shut = network.closed_edges(closures, mode or None)
        if shut:
            closed = np.zeros(edges.n_edges, dtype=bool)
            closed[[edges.index[e] for e in shut]] = True
        classes.append(class_ue.ClassDemand([node_index[("o", p[0])] for p in pairs],
                                            [node_index[("d", p[1])] for p in pairs],
                                            [pair_teu[p] for p in pairs], closed))
        keys.append(pairs)
    solved = class_ue.class_user_equilibrium(arrays, classes, fixed_cost=fixed, gap=gap, max_iter=max_iter,
                                             callback=callback)
    out = {}
    for result, pairs in zip(solved, keys, strict=True):
        for pair in pairs:
            used = eq.paths_for(result, node_index[("o", pair[0])], node_index[("d", pair[1])], min_share=1e-6)
            out[pair] = [(u.links, u.share) for u in used]
    return out


def ue_route(network, links: tuple[int, ...]) -> Route:
    """The :class:`Route` of a path given as edge indices of :func:`edge_arrays` (memoised)."""
    from corridors.routing import route_from_path

    memo = network.memo.setdefault("ue_routes", {})
    if links not in memo:
        edges = edge_arrays(network).edges
        path = [edges[links[0]][0]] + [edges[i][1] for i in links]
        memo[links] = route_from_path(network.graph, path, network.node_records, network.link_records)
    return memo[links]


def _ue_flows(network, rows: list[dict]) -> tuple[list, list]:
    rows_of: dict[tuple, list[dict]] = {}
    for row in rows:
        rows_of.setdefault(route_key(row), []).append(row)
    records: list[dict] = []
    solved = ue_solve(network, {p: sum(r["teu"] for r in rs) for p, rs in rows_of.items()},
                      callback=lambda rec: records.append(dataclasses.asdict(rec)))
    flows: list[RouteFlow] = []
    for pair, used in solved.items():
        for links, share in used:
            route = ue_route(network, links)
            for row in rows_of[pair]:
                flows.append(RouteFlow(route, row["teu"] * share, share, row.get("segment"), row.get("direction"),
                                       row.get("service")))
    return flows, records


def assign(network, demand=None, *, method: str = "logit", on_unreachable: str = "raise") -> AssignmentResult:
    """Assign a demand matrix to the network.

    Parameters
    ----------
    network : Network
        From :func:`corridors.load_network` (or a scenario's network).
    demand : DataFrame or iterable of dict, optional
        Rows with ``origin``, ``destination`` (node ids) and ``teu`` (TEU/year);
        defaults to the network's ``demand.csv``.
    method : {"logit", "shortest", "ue", "sue"}
        Route choice (see the module docstring).
    on_unreachable : {"raise", "strand"}
        What to do with demand that has no route (closed or out-of-service node, closure):
        raise :class:`QueryError`, or keep it aside in ``result.stranded`` (its TEU in
        ``result.stranded_teu``).  The same for every method.

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
    from corridors.routing import reachable

    if method not in METHODS:
        raise QueryError(f"unknown method '{method}'; expected one of {', '.join(METHODS)}")
    if on_unreachable not in ("raise", "strand"):
        raise QueryError(f"on_unreachable must be 'raise' or 'strand', got {on_unreachable!r}")
    rows = _demand_rows(network, demand)
    pairs = {route_key(r) for r in rows if r["teu"] > 0}
    if method == "ue":
        sets = None
        ok = reachable(network, pairs)
    else:
        sets = route_sets(network, pairs, strict=False)
        ok = {p: bool(sets.get(p)) for p in pairs}
    stranded = []
    usable = []
    for row in rows:
        if row["teu"] <= 0:
            continue
        if not ok[route_key(row)]:
            if on_unreachable == "raise":
                raise QueryError(
                    f"demand {row['origin']} -> {row['destination']} ({row['teu']:g} TEU/year): destination "
                    f"'{row['destination']}' is unreachable from '{row['origin']}'"
                )
            stranded.append(dict(row))
        else:
            usable.append(row)
    if not usable:
        flows, convergence = [], []
    elif method == "ue":
        flows, convergence = _ue_flows(network, usable)
    else:
        flows, convergence = _choice_flows(network, usable, sets, method)
    return AssignmentResult(network, method, tuple(flows), tuple(stranded), tuple(convergence))
